"""confrt apply end to end: classes, parameters, warnings, redaction, reports, exit codes."""
import json
import os

import yaml
from engine_support import make_site

MOTD = '''
from confrt.engine.module import Param

DOC = "message of the day"
PARAMS = [
    Param("message", str, "hello", "the text"),
    Param("copies", int, 1, "how many lines"),
    Param("path", str, required=True, doc="where"),
    Param("token", str, None, "a secret", sensitive=True),
]

def declare(params, facts, ctx):
    body = "\\n".join([params["message"]] * params["copies"]) + "\\n"
    if params["token"]:
        body += "token=" + params["token"] + "\\n"
    return [ctx.resource("file", params["path"], content=body, mode="0644")]
'''

EXTRA = '''
DOC = "another module"
PARAMS = []

def declare(params, facts, ctx):
    return [ctx.resource("file", ctx.params.get("p", "/nonexistent-dir/never"), content="x")]
'''


def apply_error(run_confrt, env):
    """The one error line of an apply that must fail (exit 1)."""
    result = run_confrt("apply", env=env)
    assert result.returncode == 1, result.stdout
    return result.stderr.strip()


def site(tmp_path, data, layers=None):
    return make_site(tmp_path, data, modules={"motd": MOTD, "extra": EXTRA}, layers=layers)


def test_classes_parameters_and_detailed_exit_codes(tmp_path, run_confrt):
    target = tmp_path / "motd"
    env = site(tmp_path, {"classes": ["motd"], "motd::path": str(target), "motd::copies": 2})
    result = run_confrt("apply", "--detailed-exitcodes", env=env)
    assert result.returncode == 2, result.stderr
    assert target.read_text() == "hello\nhello\n"
    assert f"file[{target}]/ensure: defined content as {{sha256}}" in result.stdout
    result = run_confrt("apply", "--detailed-exitcodes", env=env)
    assert result.returncode == 0 and "0 changed" in result.stdout
    summary = yaml.safe_load((tmp_path / "state" / "last_run_summary.yaml").read_text())
    assert summary["resources"]["total"] == 1 and summary["resources"]["changed"] == 0
    assert set(summary["time"]) >= {"startup", "facts", "compile", "apply", "total", "file"}
    parts = sum(summary["time"][k] for k in ("startup", "lock", "facts", "compile", "apply"))
    assert parts <= summary["time"]["total"]
    report = json.loads((tmp_path / "state" / "last_run_report.json").read_text())
    assert report["resource_statuses"][f"file[{target}]"]["status"] == "unchanged"


def test_noop_pending_changes_exit_2_and_change_nothing(tmp_path, run_confrt):
    target = tmp_path / "motd"
    env = site(tmp_path, {"classes": ["motd"], "motd::path": str(target)})
    result = run_confrt("apply", "--noop", "--detailed-exitcodes", env=env)
    assert result.returncode == 2 and not target.exists()
    assert result.stdout.splitlines()[0].endswith("(noop)")
    assert "+hello" in result.stdout
    summary = yaml.safe_load((tmp_path / "state" / "last_noop_summary.yaml").read_text())
    assert summary["noop_pending"] is True and summary["resources"]["out_of_sync"] == 1
    assert not (tmp_path / "state" / "last_run_summary.yaml").exists()  # a noop leaves the last real run's


def test_failure_exit_codes(tmp_path, run_confrt):
    env = site(tmp_path, {"classes": ["motd", "extra"], "motd::path": str(tmp_path / "m")})
    result = run_confrt("apply", "--detailed-exitcodes", env=env)
    assert result.returncode == 6, result.stderr
    assert "file[/nonexistent-dir/never]: failed: cannot create /nonexistent-dir/never: /nonexistent-dir does not exist" in result.stderr
    assert run_confrt("apply", "--detailed-exitcodes", env=env).returncode == 4
    assert run_confrt("apply", env=env).returncode == 1


def test_unknown_class_names_the_data_file(tmp_path, run_confrt):
    env = site(tmp_path, {"classes": ["motd"], "motd::path": str(tmp_path / "m")},
               layers={"local.yaml": {"classes": ["mtod"]}})
    assert apply_error(run_confrt, env) == (f"confrt: error: {tmp_path}/data/local.yaml: classes: unknown class 'mtod' "
                                     f"(no module of that name; did you mean 'motd'?)")
    assert not (tmp_path / "m").exists()


def test_knockout_removes_a_class(tmp_path, run_confrt):
    env = site(tmp_path, {"classes": ["motd", "extra"], "motd::path": str(tmp_path / "m")},
               layers={"local.yaml": {"classes": ["--extra"]}})
    result = run_confrt("apply", "--detailed-exitcodes", env=env)
    assert result.returncode == 2, result.stderr
    assert "nonexistent" not in result.stdout + result.stderr


def test_type_error_names_key_value_type_and_changes_nothing(tmp_path, run_confrt):
    env = site(tmp_path, {"classes": ["motd", "resources"], "motd::path": str(tmp_path / "m"),
                          "motd::copies": "two",
                          "resources::file": {str(tmp_path / "other"): {"content": "x"}}})
    assert apply_error(run_confrt, env) == (f"confrt: error: {tmp_path}/data/common.yaml: motd::copies: "
                                     f"expected an integer, got 'two'")
    assert not (tmp_path / "other").exists()


def test_missing_required_parameter(tmp_path, run_confrt):
    result = run_confrt("apply", env=site(tmp_path, {"classes": ["motd"]}))
    assert "motd::path: required parameter of module motd has no value in the data" in result.stderr


def test_unknown_parameter_warns_with_did_you_mean(tmp_path, run_confrt):
    env = site(tmp_path, {"classes": ["motd"], "motd::path": str(tmp_path / "m"), "motd::mesage": "hi",
                          "extra::whatever": 1, "notincluded::x": 1})
    result = run_confrt("apply", env=env)
    assert result.returncode == 0, result.stderr
    assert (f"confrt: warning: {tmp_path}/data/common.yaml: motd::mesage: not a parameter of module motd "
            f"(did you mean 'motd::message'?)") in result.stderr
    assert "extra::" not in result.stderr  # a module that is not included: its keys may wait for it
    # no module of that name reads the key: a typo or a key of another tool (issue 15)
    assert f"confrt: warning: {tmp_path}/data/common.yaml: notincluded::x: no module named 'notincluded'\n" \
        in result.stderr


def test_sensitive_parameter_value_is_redacted_everywhere(tmp_path, run_confrt):
    target = tmp_path / "m"
    env = site(tmp_path, {"classes": ["motd"], "motd::path": str(target), "motd::token": "tok-s3cret-42"})
    result = run_confrt("apply", "--noop", env=env)
    assert result.returncode == 0
    assert "tok-s3cret" not in result.stdout + result.stderr
    assert f"file[{target}]/ensure: defined content as [redacted] {{sha256}}" in result.stdout
    run_confrt("apply", env=env)
    state = tmp_path / "state"
    for name in os.listdir(state):
        if os.path.isfile(state / name):
            assert b"tok-s3cret" not in (state / name).read_bytes(), name
    assert "tok-s3cret-42" in target.read_text()


def test_sensitive_key_from_lookup_options(tmp_path, run_confrt):
    target = tmp_path / "f"
    env = site(tmp_path, {"classes": ["resources"],
                          "lookup_options": {"resources::file": {"sensitive": True}},
                          "resources::file": {str(target): {"content": "pa55word\n"}}})
    result = run_confrt("apply", "--noop", env=env)
    assert "pa55word" not in result.stdout and "[redacted]" in result.stdout


def test_resources_module_from_data_with_relationships(tmp_path, run_confrt):
    d = tmp_path / "app"
    env = site(tmp_path, {"classes": ["resources"],
                          "resources::file": {str(d / "conf"): {"content": "a\n", "notify": "exec[mark]"}},
                          "resources::directory": {str(d): {"mode": "0700"}},
                          "resources::exec": {"mark": {"command": ["touch", str(tmp_path / "marked")],
                                                       "refreshonly": True}}})
    result = run_confrt("apply", env=env)
    assert result.returncode == 0, result.stderr
    assert (d / "conf").read_text() == "a\n" and (tmp_path / "marked").exists()
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"directory[{d}]/ensure") and lines[2].startswith("exec[mark]/refresh")


def test_resources_module_bad_entry_names_the_file(tmp_path, run_confrt):
    env = site(tmp_path, {"classes": ["resources"], "resources::file": {"/tmp/x": "oops"}})
    assert apply_error(run_confrt, env) == (f"confrt: error: {tmp_path}/data/common.yaml: resources::file: /tmp/x: "
                                     f"expected a mapping of attributes, got 'oops'")
    env = site(tmp_path, {"classes": ["resources"], "resources::file": {"/tmp/x": {"mode": 644}}})
    assert apply_error(run_confrt, env) == (f"confrt: error: {tmp_path}/data/common.yaml: resources::file: file[/tmp/x]: "
                                     f"mode: expected an octal mode string like '0644', got 644")


def test_extra_data_layer_and_tags(tmp_path, run_confrt):
    env = site(tmp_path, {"classes": ["motd"], "motd::path": str(tmp_path / "m")})
    extra = tmp_path / "extra.yaml"
    extra.write_text(yaml.safe_dump({"motd::message": "from --data"}))
    result = run_confrt("apply", "--data", str(extra), "--tags", "nothing", env=env)
    assert result.returncode == 0 and not (tmp_path / "m").exists()
    result = run_confrt("apply", "--data", str(extra), "--tags", "motd", env=env)
    assert (tmp_path / "m").read_text() == "from --data\n"


def test_module_bugs_are_one_line_compile_errors(tmp_path, run_confrt):
    crashy = "PARAMS = []\n\ndef declare(params, facts, ctx):\n    return [{}['missing']]\n"
    sloppy = "def declare(params, facts, ctx):\n    return [('file', '/tmp/x')]\n"
    env = make_site(tmp_path, {"classes": ["crashy"]}, modules={"crashy": crashy, "sloppy": sloppy})
    assert apply_error(run_confrt, env) == (f"confrt: error: {tmp_path}/modules/crashy/module.py: module crashy failed: "
                                     f"line 4: KeyError: 'missing'")
    env = make_site(tmp_path, {"classes": ["sloppy"]}, modules={"crashy": crashy, "sloppy": sloppy})
    result = run_confrt("apply", env=env)
    assert "module sloppy returned ('file', '/tmp/x'), not a resource (use ctx.resource())" in result.stderr


def test_missing_source_is_a_compile_error(tmp_path, run_confrt):
    env = site(tmp_path, {"classes": ["resources"],
                          "resources::file": {str(tmp_path / "a"): {"content": "x"},
                                              str(tmp_path / "b"): {"source": str(tmp_path / "nope")}}})
    result = run_confrt("apply", env=env)
    assert result.returncode == 1
    assert f"file[{tmp_path}/b]: source: {tmp_path}/nope: no such file" in result.stderr
    assert not (tmp_path / "a").exists()


def test_module_data_gives_defaults_below_the_hierarchy(tmp_path, run_confrt):
    target = tmp_path / "m"
    env = site(tmp_path, {"classes": ["motd"], "motd::path": str(target)})
    (tmp_path / "modules" / "motd" / "data").mkdir()
    (tmp_path / "modules" / "motd" / "data" / "common.yaml").write_text("motd::message: from module data\n"
                                                                      "motd::copies: 3\n")
    (tmp_path / "data" / "common.yaml").write_text(yaml.safe_dump(
        {"classes": ["motd"], "motd::path": str(target), "motd::copies": 1}))
    result = run_confrt("apply", env=env)
    assert result.returncode == 0, result.stderr
    assert target.read_text() == "from module data\n"


def test_a_refresh_survives_a_run_killed_before_delivering_it(tmp_path, run_confrt):
    conf, killed, reloaded = tmp_path / "conf", tmp_path / "killed", tmp_path / "reloaded"
    env = site(tmp_path, {"classes": ["resources"],
                          "resources::file": {str(conf): {"content": "a\n", "notify": "exec[reload]"}},
                          "resources::exec": {
                              "kill-the-run": {"command": ["/bin/sh", "-c", f"touch {killed}; kill -9 $PPID"],
                                               "creates": str(killed), "require": f"file[{conf}]"},
                              "reload": {"command": ["touch", str(reloaded)], "refreshonly": True,
                                         "require": "exec[kill-the-run]"}}})
    first = run_confrt("apply", env=env)
    assert first.returncode == -9 and conf.exists() and not reloaded.exists()
    second = run_confrt("apply", env=env)
    assert second.returncode == 0, second.stderr
    assert f"exec[reload]/refresh: triggered refresh from file[{conf}]" in second.stdout
    assert reloaded.exists() and not (tmp_path / "state" / "pending_refresh.json").exists()


def test_module_directories_are_declared_with_their_folders_up_to_the_base_system():
    """ctx.directories: each path and every folder above it that the base system may lack, outermost
    first and each once (a fresh host has no /etc/confrt: lifetime and glidein write below it)."""
    from types import SimpleNamespace

    from confrt.engine.module import ModuleContext

    ctx = ModuleContext(SimpleNamespace(name="m", path=None), {}, {})
    made = ctx.directories("/etc/confrt/glidein/pre.d", "/etc/confrt/glidein/post.d", "/usr/libexec/confrt",
                           "/etc/confrt", "/etc", require="package[x]")
    assert [r.title for r in made] == ["/etc/confrt", "/etc/confrt/glidein", "/etc/confrt/glidein/pre.d",
                                       "/etc/confrt/glidein/post.d", "/usr/libexec/confrt"]
    assert all(r.type == "directory" and r.attrs == {"mode": "0755", "require": "package[x]"} for r in made)
    assert [r.title for r in ctx.directories("relative/x", "")] == ["relative/x", "."]  # refused by the type

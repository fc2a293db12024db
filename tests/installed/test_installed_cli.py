"""confrt's commands through the console script of a fresh venv, on temp sites (issue 13: every
compile crashed outside this machine's own python3 while the in-process tests passed)."""
import json
import os
import subprocess

from installed_support import built_tree, make_site, summary, write_yaml


def tree_state(root):
    """{path: (mode, content)} of every file and folder below root."""
    state = {}
    for directory, dirs, files in os.walk(root):
        for name in dirs + files:
            path = os.path.join(directory, name)
            content = None
            if os.path.isfile(path):
                with open(path, "rb") as handle:
                    content = handle.read()
            state[path] = (os.lstat(path).st_mode, content)
    return state


def test_the_venv_starts_bare(installed):
    # the lane's premise: only the venv's own site-packages, and no importlib.util imported at
    # start-up (this machine's pyenv python3 imports it from a .pth hook, which hid issue 13)
    code = ("import json, sys; import confrt; print(json.dumps({'site': [p for p in sys.path if 'site-packages' in p],"
            " 'preloaded': 'importlib.util' in sys.modules, 'confrt': confrt.__file__}))")
    probe = subprocess.run([os.path.join(installed.bin, "python"), "-c", code], env=installed.env(), cwd="/",
                           capture_output=True, text=True, timeout=60)
    assert probe.returncode == 0, probe.stderr
    seen = json.loads(probe.stdout)
    site = os.path.join(installed.venv, "lib")
    assert seen["site"] and all(path.startswith(site + "/") for path in seen["site"]), seen
    assert not seen["preloaded"] and seen["confrt"].startswith(site + "/"), seen


def test_packaged_defaults_preview(installed, tmp_path):
    # the packaged hierarchy (hiera_config names no file) with this run's state kept in tmp_path
    config = make_site(tmp_path, {}, hiera_config=str(tmp_path / "absent" / "hiera.yaml"))
    result = installed.run("apply", "--noop", "--config", config)
    assert result.returncode == 0, result.stdout + result.stderr
    assert summary(result.stdout) == (0, 0, 0)
    assert result.stdout.rstrip().endswith("(noop)")


def test_resources_converge_then_drift_is_reported_not_repaired(installed, tmp_path):
    managed = tmp_path / "managed"
    data = {"classes": ["resources"],
            "resources::directory": {str(managed): {"mode": "0750"}},
            "resources::file": {str(managed / "motd"): {"content": "managed by confrt\n", "mode": "0640"}},
            "resources::link": {str(managed / "current"): {"target": "motd"}}}
    config = make_site(tmp_path / "site", data)
    first = installed.run("apply", "--detailed-exitcodes", "--config", config)
    assert first.returncode == 2, first.stdout + first.stderr
    assert summary(first.stdout) == (3, 3, 0)
    assert (managed / "motd").read_text() == "managed by confrt\n"
    assert oct(os.stat(managed / "motd").st_mode & 0o777) == "0o640"
    assert os.readlink(managed / "current") == "motd"

    again = installed.run("apply", "--detailed-exitcodes", "--config", config)
    assert again.returncode == 0, again.stdout + again.stderr
    assert summary(again.stdout) == (3, 0, 0)

    (managed / "motd").write_text("edited by hand\n")
    before = tree_state(managed)
    drift = installed.run("apply", "--noop", "--detailed-exitcodes", "--config", config)
    assert drift.returncode == 2, drift.stdout + drift.stderr
    assert summary(drift.stdout) == (3, 1, 0)
    assert "-edited by hand" in drift.stdout and "+managed by confrt" in drift.stdout
    assert tree_state(managed) == before
    assert not (tmp_path / "site" / "state" / "backup").exists()


def test_boot_run_noop_compiles_with_the_userdata_it_would_write(installed, tmp_path):
    target = tmp_path / "from-userdata.txt"
    userdata = write_yaml(str(tmp_path / "ud"), "#cloud-config\nconfrt:\n  classes: [resources]\n"
                          f"  resources::file: {{{target}: {{content: \"hello\\n\"}}}}\n"
                          "  site::db_password: hunter2\n")
    config = make_site(tmp_path / "site", {"classes": []}, levels=("%{confrt.local_data}", "common.yaml"),
                       userdata={"sources": [f"file:{userdata}"]}, run={"log_dir": str(tmp_path / "log"),
                                                                          "splaylimit": 3600})
    run = installed.run("run", "--boot", "--noop", "--no-splay", "--config", config, timeout=60)
    assert run.returncode == 2, run.stdout + run.stderr
    assert f"would write {tmp_path / 'site' / 'local.yaml'}" in run.stdout
    assert f"file[{target}]/ensure" in run.stdout and summary(run.stdout) == (1, 1, 0)
    assert not (tmp_path / "site" / "local.yaml").exists() and not target.exists()

    show = installed.run("userdata", "show", "--config", config)
    assert show.returncode == 0, show.stderr
    assert show.stdout.startswith(f"# source: file:{userdata}\n")
    assert "classes:" in show.stdout and str(target) in show.stdout
    assert "hunter2" not in show.stdout and "[redacted]" in show.stdout


def test_lookup_facts_and_modules(installed, wheel, tmp_path):
    config = make_site(tmp_path, {"site::greeting": "hello from the site"})
    lookup = installed.run("lookup", "site::greeting", "--explain", "--config", config)
    assert lookup.returncode == 0, lookup.stderr
    assert f'Path "{tmp_path / "data" / "common.yaml"}"' in lookup.stdout
    assert 'Result: "hello from the site"' in lookup.stdout

    every = installed.run("facts", "--json", "--config", config)
    assert every.returncode == 0, every.stderr
    facts = json.loads(every.stdout)
    assert facts["os"]["family"] and facts["kernel"] == "Linux"
    family = installed.run("facts", "os.family", "--config", config)
    assert family.returncode == 0, family.stderr
    assert family.stdout.strip() == facts["os"]["family"]
    plain = installed.run("facts", "--config", config)
    assert plain.returncode == 0 and "kernel" in plain.stdout, plain.stderr

    listed = installed.run("modules", "list", "--config", config)
    assert listed.returncode == 0, listed.stderr
    rows = dict(line.split(None, 1) for line in listed.stdout.splitlines())
    modules = os.path.join(built_tree(wheel), "modules")
    shipped = sorted(name for name in os.listdir(modules) if os.path.isfile(os.path.join(modules, name, "module.py")))
    assert sorted(rows) == shipped
    # each from the venv's own copy, none from the source tree
    assert all(row.rstrip().endswith(f"/site-packages/confrt/_modules/{name}]") and installed.venv in row
               for name, row in rows.items()), listed.stdout


def test_a_data_file_that_is_not_yaml_is_one_error_line(installed, tmp_path):
    config = make_site(tmp_path, "classes: [resources\nresources::file: {\n")
    bad = str(tmp_path / "data" / "common.yaml")
    for argv in (["apply", "--noop"], ["lookup", "classes"]):
        result = installed.run(*argv, "--config", config)
        assert result.returncode == 1, result.stdout + result.stderr
        lines = result.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"confrt: error: {bad}"), result.stderr
        assert result.stdout == ""

"""first_boot module: its commands run by `confrt run` after the apply, once per instance, as their
user, output logged and exit status in the report; bad entries are compile errors."""
import os
import signal
import time

import pytest
import yaml
from node_modules_support import compile_data
from run_site import make_run_site, read, summary

from confrt.errors import CompileError

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="runuser (the commands' user switch) needs root")


@pytest.mark.parametrize("commands, problem", [
    ([{"user": "panda"}], "first_boot::commands[0]: command: expected a shell command"),
    ([{"command": "true"}, {"user": "Bad User", "command": "true"}], "first_boot::commands[1]: user: 'Bad User'"),
    ([{"command": "true", "when": "boot"}], "first_boot::commands[0]: unknown field 'when'"),
    ([{"command": "true", "background": "yes"}], "first_boot::commands[0]: background: expected true or false"),
    ([42], "first_boot::commands[0]: expected a mapping with user and command, got int"),
])
def test_bad_entries_name_the_file_and_index(tmp_path, commands, problem):
    with pytest.raises(CompileError) as error:
        compile_data(tmp_path, {"classes": ["first_boot"], "first_boot::commands": commands})
    assert "common.yaml: " + problem in str(error.value)


def test_the_module_declares_nothing_and_publishes_the_commands(tmp_path):
    from confrt.config import load_config
    from confrt.engine.run import compile_catalog
    from confrt.facts import Facts
    from engine_support import make_site

    env = make_site(str(tmp_path / "site"), {"classes": ["first_boot"], "first_boot::commands": [
        {"user": "panda", "command": "runPanda -t 1", "background": True}, "date"]})
    facts = Facts.static({})
    catalog, _ = compile_catalog(load_config(env["CONFRT_CONFIG"]), facts)
    assert len(catalog) == 0
    assert facts.get("first_boot") == {"timeout": 600, "background_check": 3, "commands": [
        {"name": "01-panda", "user": "panda", "command": "runPanda -t 1", "background": True},
        {"name": "02-root", "user": "root", "command": "date", "background": False}]}


def _site(tmp_path, commands, **params):
    common = {"classes": ["first_boot"], "first_boot::commands": commands}
    common.update({f"first_boot::{key}": value for key, value in params.items()})
    return make_run_site(tmp_path, common=common)


@needs_root
def test_each_command_runs_once_after_the_apply_as_its_user_with_its_status(tmp_path, run_confrt):
    out = tmp_path / "out"
    env, paths = _site(tmp_path, [
        {"user": "root", "command": f"echo \"$(id -un) $HOME $0\" >> {out}; echo said hello"},
        {"user": "root", "command": "exit 3"},
        {"user": "nobody", "command": f"touch {out}.nobody"}])
    first = run_confrt("run", "--boot", env=env)
    assert first.returncode == 4, first.stdout + first.stderr
    assert read(out).split()[:2] == ["root", "/root"] and read(out).split()[2].endswith("sh")  # a login shell
    step = summary(paths)["steps"]["first_boot_commands"]
    assert step == {"status": "failed", "failed": ["02-root", "03-nobody"], "commands": {
        "01-root": {"user": "root", "background": False, "exit": 0},
        "02-root": {"user": "root", "background": False, "exit": 3},
        "03-nobody": {"user": "nobody", "background": False, "exit": 1}}}
    # nobody's login shell is nologin: the command runs in the user's login shell, as su - did
    assert not os.path.exists(f"{out}.nobody") and "first-boot command 03-nobody: This account" in first.stdout
    assert "confrt: first-boot command 01-root: said hello" in first.stdout
    assert "confrt: first-boot command 02-root (as root): exited 3" in first.stderr
    log = read(os.path.join(paths["log"], "run.log"))
    assert "first-boot command 01-root: said hello" in log

    second = run_confrt("run", "--boot", env=env)
    assert second.returncode == 0, second.stdout + second.stderr
    assert len(read(out).splitlines()) == 1
    assert "first_boot_commands" not in summary(paths).get("steps", {})


@needs_root
def test_noop_names_the_commands_and_runs_none(tmp_path, run_confrt):
    out = tmp_path / "out"
    env, paths = _site(tmp_path, [{"command": f"touch {out}"}])
    result = run_confrt("run", "--boot", "--noop", env=env)
    assert "confrt: would run the first-boot commands 01-root (noop)" in result.stdout
    assert not out.exists()
    assert summary(paths, noop=True)["steps"]["first_boot_commands"] == {"status": "skipped", "reason": "noop",
                                                                         "commands": ["01-root"]}
    run_confrt("run", "--boot", env=env)
    assert out.exists()


@needs_root
def test_a_command_past_its_timeout_is_killed_with_its_children(tmp_path, run_confrt):
    pids = tmp_path / "pids"
    env, paths = _site(tmp_path, [{"command": f"sleep 60 & echo $! > {pids}; sleep 60"}], timeout=1)
    started = time.monotonic()
    result = run_confrt("run", "--boot", env=env)
    assert time.monotonic() - started < 30
    assert result.returncode == 4
    step = summary(paths)["steps"]["first_boot_commands"]["commands"]["01-root"]
    assert step["error"] == "timed out after 1s (first_boot::timeout): killed"
    child = int(read(pids))
    time.sleep(0.2)
    assert not _alive(child)


@needs_root
def test_a_background_command_is_left_running_and_an_early_failure_is_reported(tmp_path, run_confrt):
    marker = tmp_path / "agent"
    env, paths = _site(tmp_path, [
        {"command": f"echo agent up; echo $$ > {marker}; exec sleep 120", "background": True},
        {"command": "echo no such thing >&2; exit 127", "background": True}], background_check=1)
    result = run_confrt("run", "--boot", env=env)
    commands = summary(paths)["steps"]["first_boot_commands"]["commands"]
    pid = commands["01-root"]["running"]
    try:
        assert _alive(pid) and _alive(int(read(marker)))
        assert commands["02-root"] == {"user": "root", "background": True, "exit": 127}
        assert result.returncode == 4
        assert read(os.path.join(paths["log"], "first_boot-01-root.log")) == "agent up\n"
        assert read(os.path.join(paths["log"], "first_boot-02-root.log")) == "no such thing\n"
        assert f"first-boot command 01-root (as root): running in the background (pid {pid})" in result.stdout
    finally:
        for process in (int(read(marker)) if marker.exists() else None, pid):  # the agent, then runuser
            if process:
                os.kill(process, signal.SIGKILL)


def _alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().split(") ")[1][0] != "Z"
    except OSError:
        return False


def test_amiconfig_contextualization_command_compiles(tmp_path):
    """seed 001's context ISO: `contextualization_command = panda:'/cvmfs/.../runPanda -m ... -t 1'`."""
    from userdata_helpers import decode

    data = decode(b"[cernvm]\nusers = panda:atlas:\ncontextualization_command = panda:'/cvmfs/sft.cern.ch/lcg/"
                  b"external/experimental/panda-pilot/runPanda -m /tmp/eos/atlas/vm/copilot -t 1'\n").data
    data["classes"] = ["first_boot"]
    catalog, warnings = compile_data(tmp_path, yaml.safe_load(yaml.safe_dump(data)))
    assert warnings == [] and len(catalog) == 0

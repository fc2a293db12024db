"""exec: argv without a shell, creates/unless/onlyif, environment, cwd, timeout, user, returns."""
import os
import pwd

import pytest
from engine_support import apply_catalog, catalog_of, res

from confrt.errors import CompileError


def run_one(tmp_path, noop=False, **attrs):
    return apply_catalog(catalog_of(res("exec", "cmd", **attrs)), tmp_path / "state", noop=noop)


def test_argv_is_not_split_by_a_shell(tmp_path):
    out = tmp_path / "out"
    run_one(tmp_path, command=["/bin/sh", "-c", 'printf "%s" "$0" > "$1"', "a b;c", str(out)])
    assert out.read_text() == "a b;c"


def test_string_command_needs_shell(tmp_path):
    with pytest.raises(CompileError, match=r"exec\[cmd\]: command: a string needs shell: true"):
        catalog_of(res("exec", "cmd", command="echo hi"))
    run_one(tmp_path, command=f"echo hi > {tmp_path}/out", shell=True)
    assert (tmp_path / "out").read_text() == "hi\n"


def test_creates_unless_onlyif(tmp_path):
    marker = tmp_path / "m"
    touch = ["touch", str(marker)]
    report = run_one(tmp_path, command=touch, creates=str(marker))
    assert marker.exists() and report.summary()["resources"]["changed"] == 1
    assert run_one(tmp_path, command=touch, creates=str(marker)).summary()["resources"]["changed"] == 0
    os.remove(marker)
    assert run_one(tmp_path, command=touch, unless=["true"]).summary()["resources"]["changed"] == 0
    assert run_one(tmp_path, command=touch, onlyif=["false"]).summary()["resources"]["changed"] == 0
    assert not marker.exists()
    report = run_one(tmp_path, noop=True, command=touch, onlyif=["true"])
    assert "exec[cmd]/executed: ran touch " in report.out.getvalue() and not marker.exists()
    run_one(tmp_path, command=touch, onlyif=["true"])
    assert marker.exists()


def test_environment_cwd_returns_and_failure_output(tmp_path):
    run_one(tmp_path, command=["/bin/sh", "-c", 'echo "$GREETING" > here'], environment={"GREETING": "hi"},
            cwd=str(tmp_path))
    assert (tmp_path / "here").read_text() == "hi\n"
    assert run_one(tmp_path, command=["/bin/sh", "-c", "exit 3"], returns=[0, 3]).summary()["resources"]["failed"] == 0
    report = run_one(tmp_path, command=["/bin/sh", "-c", "echo first; echo the reason >&2; exit 4"])
    assert "exec[cmd]: failed: /bin/sh -c echo first; echo the reason >&2; exit 4 exited 4: the reason" \
        in report.err.getvalue()


def test_timeout(tmp_path):
    report = run_one(tmp_path, command=["sleep", "5"], timeout=0.2)
    assert "timed out after 0.2s" in report.err.getvalue()


def test_sensitive_command_is_redacted(tmp_path):
    report = run_one(tmp_path, noop=True, command=["echo", "s3cret-token"], sensitive=["command"])
    assert "s3cret" not in report.out.getvalue() and "ran [redacted]" in report.out.getvalue()
    report = run_one(tmp_path, command=["/bin/sh", "-c", "echo s3cret-token >&2; exit 1"], sensitive=True)
    assert "s3cret" not in report.err.getvalue() and "command exited 1" in report.err.getvalue()


@pytest.mark.skipif(os.geteuid() != 0, reason="running as another user needs root")
def test_user(tmp_path):
    name = pwd.getpwnam("nobody").pw_name
    is_nobody = ["/bin/sh", "-c", f'test "$(id -un)" = {name}']
    assert run_one(tmp_path, command=is_nobody, user="nobody").summary()["resources"]["failed"] == 0
    assert run_one(tmp_path, command=is_nobody).summary()["resources"]["failed"] == 1

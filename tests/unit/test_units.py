"""cron/: the cron file, the systemd units and the logrotate file, checked by the real tools."""
import configparser
import os
import re
import shlex
import shutil
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CRON = os.path.join(REPO, "cron")
UNITS = ("confrt-boot.service", "confrt.service", "confrt.timer")
CONFRT = "/usr/bin/confrt"

# field name, lowest, highest value of the five cron time fields
CRON_FIELDS = [("minute", 0, 59), ("hour", 0, 23), ("day of month", 1, 31), ("month", 1, 12),
               ("day of week", 0, 7)]
CRON_SPECIALS = {"@reboot", "@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"}


def read(name):
    with open(os.path.join(CRON, name)) as handle:
        return handle.read()


def _check_cron_field(text, name, low, high):
    for part in text.split(","):
        match = re.fullmatch(r"(\*|(\d+)(?:-(\d+))?)(?:/(\d+))?", part)
        assert match, f"cron {name} field {text!r} is not cron syntax"
        numbers = [int(n) for n in match.group(2, 3) if n is not None]
        assert all(low <= n <= high for n in numbers), f"cron {name} {text!r} outside {low}-{high}"
        assert match.group(4) is None or int(match.group(4)) > 0


def cron_jobs(text):
    """[(schedule, user, command)] of an /etc/cron.d file; asserts every line is well formed."""
    jobs = []
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*\s*=.*", stripped):
            continue  # environment setting
        words = stripped.split(None, 6)
        if words[0].startswith("@"):
            assert words[0] in CRON_SPECIALS, f"line {number}: unknown {words[0]}"
            schedule, rest = words[0], stripped.split(None, 2)[1:]
        else:
            assert len(words) == 7, f"line {number}: needs 5 time fields, a user and a command"
            for field, (name, low, high) in zip(words[:5], CRON_FIELDS):
                _check_cron_field(field, name, low, high)
            schedule, rest = " ".join(words[:5]), words[5:]
        assert len(rest) == 2, f"line {number}: needs a user and a command"
        jobs.append((schedule, rest[0], rest[1]))
    return jobs


def command_argv(command):
    """The argv of the first command of a shell command line (up to a pipe or redirection)."""
    lexer = shlex.shlex(command, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    argv = []
    for word in lexer:
        if set(word) <= set("|&;<>()") or re.fullmatch(r"\d", word):
            break
        argv.append(word)
    return argv


def confrt_parser_with_run():
    sys.path.insert(0, REPO)
    from confrt import cli

    assert "run" in cli.COMMANDS, "the cron file and the units call `confrt run`"
    return cli.build_parser()


def unit(name):
    parser = configparser.ConfigParser(strict=False, interpolation=None, delimiters=("=",))
    parser.optionxform = str
    parser.read_string(read(name))
    return parser


def test_cron_file_is_valid_cron_d_syntax_with_boot_and_hourly_jobs():
    jobs = cron_jobs(read("confrt.cron"))
    assert [user for _, user, _ in jobs] == ["root", "root"]
    by_argv = {tuple(command_argv(command)): schedule for schedule, _, command in jobs}
    assert by_argv[(CONFRT, "run", "--boot")] == "@reboot"
    hourly = by_argv[(CONFRT, "run")]
    minute, *rest = hourly.split()
    assert hourly == "@hourly" or (minute.isdigit() and rest == ["*"] * 4)


def test_cron_checker_rejects_malformed_lines():
    with pytest.raises(AssertionError, match="needs 5 time fields"):
        cron_jobs("0 * * * /usr/bin/confrt run\n")
    with pytest.raises(AssertionError, match="outside 0-59"):
        cron_jobs("75 * * * * root /usr/bin/confrt run\n")
    with pytest.raises(AssertionError, match="unknown @rebot"):
        cron_jobs("@rebot root /usr/bin/confrt run --boot\n")


def test_command_argv_stops_at_shell_operators():
    assert command_argv("/usr/bin/confrt run --boot 2>&1 | logger -t confrt") == [CONFRT, "run", "--boot"]
    assert command_argv("/usr/bin/confrt run >/dev/null") == [CONFRT, "run"]


def test_unit_semantics():
    boot = unit("confrt-boot.service")
    assert "network-online.target" in boot["Unit"]["Wants"].split()
    assert "network-online.target" in boot["Unit"]["After"].split()
    assert boot["Service"]["Type"] == "oneshot"
    assert boot["Service"]["ExecStart"].split() == [CONFRT, "run", "--boot"]
    assert boot["Install"]["WantedBy"] == "multi-user.target"
    hourly = unit("confrt.service")
    assert hourly["Service"]["ExecStart"].split() == [CONFRT, "run"]
    assert "confrt-boot.service" in hourly["Unit"]["After"].split()
    assert not hourly.has_section("Install"), "the hourly service is started by the timer only"
    for service in (boot, hourly):
        # confrt's detailed exit code 2 means "changes applied", not a failure
        assert "2" in service["Service"]["SuccessExitStatus"].split()
    timer = unit("confrt.timer")
    assert timer["Timer"]["OnCalendar"] == "hourly"
    assert timer["Timer"].get("Unit", "confrt.service") == "confrt.service"
    assert "RandomizedDelaySec" not in timer["Timer"], "confrt splays by instance-id itself"
    assert timer["Install"]["WantedBy"] == "timers.target"


def test_cron_and_unit_commands_parse_with_confrt_cli():
    parser = confrt_parser_with_run()
    commands = [command_argv(command) for _, _, command in cron_jobs(read("confrt.cron"))]
    commands += [unit(name)["Service"]["ExecStart"].split() for name in UNITS[:2]]
    for argv in commands:
        assert argv[0] == CONFRT
        args = parser.parse_args(argv[1:])
        assert args.command == "run"
        assert getattr(args, "boot", False) == ("--boot" in argv)


@pytest.fixture
def units_with_real_binary(tmp_path):
    """The units in tmp_path, ExecStart pointing at a launcher of this source tree's confrt."""
    launcher = tmp_path / "confrt"
    launcher.write_text(f"#!/bin/sh\nPYTHONPATH={shlex.quote(REPO)} exec {shlex.quote(sys.executable)} "
                        f"-m confrt \"$@\"\n")
    launcher.chmod(0o755)
    for name in UNITS:
        (tmp_path / name).write_text(read(name).replace(CONFRT, str(launcher)))
    return tmp_path


def systemd_analyze_verify(paths):
    if not shutil.which("systemd-analyze"):
        pytest.skip("systemd-analyze not installed (Debian package systemd)")
    env = dict(os.environ, SYSTEMD_LOG_COLOR="0")
    return subprocess.run(["systemd-analyze", "verify", *map(str, paths)], capture_output=True, text=True,
                          env=env, timeout=120)


def test_systemd_analyze_verify_accepts_the_units(units_with_real_binary):
    result = systemd_analyze_verify([units_with_real_binary / name for name in UNITS])
    assert result.returncode == 0, result.stderr
    ours = [line for line in (result.stdout + result.stderr).splitlines() if "confrt" in line]
    assert ours == [], "systemd-analyze warns about the confrt units"


def test_systemd_analyze_verify_is_effective_here(units_with_real_binary):
    # Guards the test above against a systemd-analyze that verifies nothing in this environment.
    timer = units_with_real_binary / "confrt.timer"
    timer.write_text(timer.read_text().replace("OnCalendar=hourly", "OnCalendar=every hour"))
    (units_with_real_binary / "confrt").unlink()
    result = systemd_analyze_verify([timer, units_with_real_binary / "confrt.service"])
    assert result.returncode != 0
    assert "OnCalendar" in result.stderr or "calendar" in result.stderr
    assert "not executable" in result.stderr


def test_logrotate_rotates_the_run_logs(tmp_path):
    if not shutil.which("logrotate"):
        pytest.skip("logrotate not installed (Debian package logrotate)")
    if os.geteuid() != 0:
        pytest.skip("the logrotate file creates root-owned logs: needs root")
    log_dir = tmp_path / "log"
    log_dir.mkdir(mode=0o750)
    (log_dir / "run.log").write_text("first run\n")
    (log_dir / "other.txt").write_text("not a log\n")
    config = tmp_path / "confrt.logrotate"
    text = read("confrt.logrotate")
    assert "/var/log/confrt/*.log" in text
    config.write_text(text.replace("/var/log/confrt/", f"{log_dir}/"))
    result = subprocess.run(["logrotate", "-f", "-s", str(tmp_path / "state"), str(config)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert (log_dir / "run.log.1").read_text() == "first run\n"  # delaycompress: newest kept plain
    created = (log_dir / "run.log").stat()
    assert created.st_size == 0 and oct(created.st_mode & 0o777) == oct(0o640)
    assert sorted(os.listdir(log_dir)) == ["other.txt", "run.log", "run.log.1"]

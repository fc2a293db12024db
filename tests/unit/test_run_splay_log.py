"""`confrt run`: the per-host splay and the run log (file, syslog, secrets)."""
import io
import logging
import os
import socket
import statistics

import pytest
import yaml
from run_site import make_run_site, read, write_yaml

from confrt import runner
from confrt.config import load_config
from confrt.util.log import LOG_FILE, LoggedStream, close_run_log, open_run_log, output_is_collected


def test_splay_is_stable_per_host_and_within_the_limit():
    assert runner.splay_seconds("i-0abc123", 600) == runner.splay_seconds("i-0abc123", 600)
    assert runner.splay_seconds("i-0abc123", 600) != runner.splay_seconds("i-0abc124", 600)
    assert runner.splay_seconds("i-0abc123", 0) == 0
    assert runner.splay_seconds("i-0abc123", 1) == 0


def test_the_default_splay_spreads_a_fleet_over_the_hour(tmp_path):
    """10,000 instance-ids through the real function and the default limit: the busiest minute of the
    hour carries at most 1.3x the hourly mean (the old default, 600 s, gave 6.2x)."""
    (tmp_path / "confrt.yaml").write_text("{}\n")
    limit = load_config(str(tmp_path / "confrt.yaml")).run["splaylimit"]
    per_minute = [0] * 60
    for n in range(10000):
        per_minute[runner.splay_seconds(f"i-{n:017x}", limit) // 60] += 1
    assert max(per_minute) <= 1.3 * 10000 / 60, per_minute
    assert limit <= 3600 - 120  # a run started late in the hour still ends before the next one


def test_splay_spreads_a_fleet_evenly():
    offsets = [runner.splay_seconds(f"i-{n:017x}", 600) for n in range(12000)]
    assert min(offsets) >= 0 and max(offsets) < 600
    buckets = [0] * 10  # one per minute of the 10-minute window: 1200 hosts each when even
    for offset in offsets:
        buckets[offset // 60] += 1
    assert all(1000 < count < 1400 for count in buckets), buckets
    assert len(set(offsets)) > 590  # nearly every second of the window is used
    assert 270 < statistics.mean(offsets) < 330


@pytest.fixture
def site(tmp_path):
    env, paths = make_run_site(tmp_path, run={"splaylimit": 300})
    return load_config(paths["confrt.yaml"]), paths


def run_in_process(config, **options):
    slept, out, err = [], io.StringIO(), io.StringIO()
    code = runner.run(config, sleep=slept.append, out=out, err=err, syslog_socket=None, **options)
    return code, slept, out.getvalue()


def test_hourly_run_waits_the_splay_of_the_instance_id_the_boot_run_fetched(tmp_path):
    seed = tmp_path / "seed"
    write_yaml(seed / "meta-data", {"instance-id": "i-0fleet42"})
    write_yaml(seed / "user-data", {"role": "worker"})
    _, paths = make_run_site(tmp_path, run={"splaylimit": 300}, sources=[f"nocloud:{seed}"])
    config = load_config(paths["confrt.yaml"])
    assert run_in_process(config, boot=True)[:2] == (0, [])
    code, slept, out = run_in_process(config)
    assert code == 0
    assert slept == [runner.splay_seconds("i-0fleet42", 300)] and slept[0] > 0
    assert f"waiting the {slept[0]}s splay of this host" in out


def test_hourly_run_without_instance_id_splays_by_hostname(site):
    config, _ = site
    expected = runner.splay_seconds(socket.gethostname(), 300)
    assert run_in_process(config)[1] == ([expected] if expected else [])


def test_boot_runs_and_no_splay_do_not_wait(site):
    config, _ = site
    assert run_in_process(config, boot=True)[1] == []
    assert run_in_process(config, splay=False)[1] == []


def test_run_log_file_gets_every_line_and_no_secret(tmp_path, run_confrt):
    secret = "tok3n-s3cret-9f8e7d"
    target = tmp_path / "token"
    env, paths = make_run_site(tmp_path, common={"lookup_options": {"resources::file": {"sensitive": True}}},
                               sources=[f"file:{tmp_path}/user-data"])

    def userdata(token):
        (tmp_path / "user-data").write_text(yaml.safe_dump(
            {"classes": ["resources"], "resources::file": {str(target): {"content": token + "\n"}}}))

    userdata(secret)
    noop = run_confrt("run", "--boot", "--noop", env=env)
    assert noop.returncode == 2, noop.stderr
    assert run_confrt("run", "--boot", env=env).returncode == 2
    assert read(target) == secret + "\n"
    userdata(secret + "-rotated")
    assert run_confrt("run", "--boot", env=env).returncode == 2
    log_path = os.path.join(paths["log"], LOG_FILE)
    assert oct(os.stat(log_path).st_mode & 0o777) == oct(0o640)
    log = read(log_path)
    assert log.count("confrt: boot run started") == 3
    assert f"file[{target}]/content" in log and "(noop)" in log
    assert "confrt: 1 resources, 1 changed" in log
    state = "".join(read(os.path.join(paths["state"], name))
                    for name in ("last_run_report.json", "last_run_summary.yaml"))
    assert secret not in log and secret not in state


def test_fatal_errors_reach_the_run_log(tmp_path, run_confrt):
    env, paths = make_run_site(tmp_path, common={"classes": ["no_such_module"]})
    result = run_confrt("run", "--boot", env=env)
    assert result.returncode == 1
    assert "unknown class 'no_such_module'" in result.stderr
    assert "ERROR" in read(os.path.join(paths["log"], LOG_FILE))
    assert "unknown class 'no_such_module'" in read(os.path.join(paths["log"], LOG_FILE))


def test_an_unwritable_log_dir_is_a_warning_not_a_failed_run(tmp_path, run_confrt):
    (tmp_path / "a-file").write_text("")
    env, _ = make_run_site(tmp_path, run={"log_dir": str(tmp_path / "a-file" / "log")})
    result = run_confrt("run", "--boot", env=env)
    assert result.returncode == 0, result.stderr
    assert f"confrt: warning: {tmp_path}/a-file/log: cannot write the run log" in result.stderr


@pytest.fixture
def syslog_socket(tmp_path):
    """A datagram socket standing in for /dev/log."""
    path = str(tmp_path / "log.sock")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    server.bind(path)
    server.settimeout(10)
    yield path, server
    server.close()


def test_syslog_gets_the_lines_when_nothing_collects_the_output(tmp_path, syslog_socket):
    path, server = syslog_socket
    with open(tmp_path / "out.txt", "w") as plain_file:
        logger = open_run_log(str(tmp_path / "log"), path, stream=plain_file)
        LoggedStream(plain_file, logger, logging.INFO).write("\x1b[36mfile[/x]/content: changed\x1b[0m\n")
        close_run_log(logger)
    message = server.recv(4096).decode()
    daemon_info = 3 * 8 + 6
    assert message.startswith(f"<{daemon_info}>confrt[{os.getpid()}]: file[/x]/content: changed")
    assert read(tmp_path / "log" / LOG_FILE).rstrip().endswith("INFO file[/x]/content: changed")


def test_no_syslog_when_a_pipe_or_the_journal_collects_the_output(tmp_path, syslog_socket, monkeypatch):
    path, server = syslog_socket
    read_end, write_end = os.pipe()
    with os.fdopen(write_end, "w") as pipe, os.fdopen(read_end):
        assert output_is_collected(pipe)
        logger = open_run_log(str(tmp_path / "log"), path, stream=pipe)
        assert [type(handler).__name__ for handler in logger.handlers] == ["FileHandler"]
        close_run_log(logger)
    with open(tmp_path / "out.txt", "w") as plain_file:
        assert not output_is_collected(plain_file)
        st = os.fstat(plain_file.fileno())
        monkeypatch.setenv("JOURNAL_STREAM", f"{st.st_dev}:{st.st_ino}")
        assert output_is_collected(plain_file)
    assert not output_is_collected(io.StringIO())


def test_logged_stream_logs_whole_lines_and_passes_text_through():
    records = []

    class Collect(logging.Handler):
        def emit(self, record):
            records.append((record.levelno, record.getMessage()))

    logger = logging.getLogger("confrt.test-logged-stream")
    logger.propagate = False
    logger.addHandler(Collect())
    logger.setLevel(logging.INFO)
    out = io.StringIO()
    stream = LoggedStream(out, logger, logging.ERROR)
    stream.write("first ")
    assert records == []
    stream.write("line\nsecond\nthi")
    assert records == [(logging.ERROR, "first line"), (logging.ERROR, "second")]
    assert out.getvalue() == "first line\nsecond\nthi" and not stream.isatty()

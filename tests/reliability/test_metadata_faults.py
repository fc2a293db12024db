"""`confrt run --boot` against a metadata server on 127.0.0.1 that fails in every way we know.

A good answer first writes local_data (role worker: a file from the role's
data). Then the server is unreachable, silent, slow, drip-feeding, answering
garbage or errors: each run must end within its bound (userdata.total_timeout
plus one request timeout, plus the run's own work) with the failure bit set,
the last good local_data untouched and applied. The client-level faults (401
refresh, IMDSv1 fallback, a blackhole port) are in tests/unit/test_userdata_ec2.py.
"""
import http.server
import os
import socket
import subprocess
import threading
import time

import pytest
import yaml
from reliability_support import confrt_process, process_env
from run_site import make_run_site, read, summary, write_yaml

TIMEOUT, TOTAL_TIMEOUT = 1, 2
#: what the run may take besides the metadata service: start-up, compile, apply, report
RUN_SLACK = 15
GOOD_USERDATA = yaml.safe_dump({"role": "worker", "classes": ["resources"]}).encode()
GARBAGE = {"garbage": bytes(range(256)) * 16, "drip-body": b"x" * 200, "endless-body": b"y" * (1 << 20)}


class FaultyMetadataServer:
    """IMDSv2 on 127.0.0.1 whose answers `fault` spoils (None: good answers)."""

    def __init__(self):
        self.fault = None
        self.stop = threading.Event()
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_PUT(self):
                self.answer(b"token")

            def do_GET(self):
                if self.path == "/latest/user-data":
                    self.answer(GOOD_USERDATA)
                elif self.path == "/latest/meta-data/instance-id":
                    self.answer(b"i-0123456789abcdef0")
                else:
                    self.send_error(404)

            def answer(self, body):
                fault = server.fault
                if fault not in ("slow", "drip-headers") and not self.path.endswith("user-data"):
                    fault = None  # these spoil only the user-data answer
                if fault == "slow":
                    server.stop.wait(60)
                elif fault == "drip-headers":
                    self.wfile.write(b"HTTP/1.1 200 OK\r\n")
                    return self.drip(b"X-Padding: " + b"x" * 200)
                elif fault == "error":
                    return self.send_error(500)
                elif fault in GARBAGE:
                    body = GARBAGE[fault]
                repeat = 200 if fault == "endless-body" else 1
                self.send_response(200)
                self.send_header("Content-Length", str(len(body) * repeat))
                self.end_headers()
                if fault == "drip-body":
                    return self.drip(body)
                for _ in range(repeat):
                    self.wfile.write(body)

            def drip(self, data):
                """One byte every half request timeout: no single read ever times out."""
                for byte in data:
                    if server.stop.wait(TIMEOUT / 2):
                        return
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_port}"
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()

    def close(self):
        self.stop.set()
        self.httpd.shutdown()
        self.httpd.server_close()


def _listener():
    """A bound, listening socket that never answers (the kernel completes the handshakes)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    return sock


@pytest.fixture
def site(tmp_path):
    """A site whose boot run already took good userdata from the server; yields (run, paths, server)."""
    server = FaultyMetadataServer()
    motd = str(tmp_path / "motd")
    env, paths = make_run_site(tmp_path, roles={"worker": {"resources::file": {motd: {"content": "worker\n"}}}},
                               sources=["ec2"])
    config = yaml.safe_load(read(paths["confrt.yaml"]))
    config["userdata"].update(ec2_url=server.url, timeout=TIMEOUT, total_timeout=TOTAL_TIMEOUT)
    write_yaml(paths["confrt.yaml"], config)
    env = process_env(env)

    def run(*args):
        return subprocess.run(confrt_process("run", "--boot", *args), env=env, capture_output=True, text=True,
                              timeout=300)

    first = run()
    assert first.returncode == 2, first.stderr
    paths["motd"] = motd
    yield run, paths, server, config
    server.close()


FAULTS = ["refused", "silent", "slow", "drip-headers", "drip-body", "endless-body", "garbage", "error"]


@pytest.mark.parametrize("fault", FAULTS)
def test_run_ends_within_its_bound_on_the_last_good_local_data(site, fault):
    run, paths, server, config = site
    good = read(paths["local.yaml"])
    os.unlink(paths["motd"])  # drift the apply must still repair
    listener = None
    if fault in ("refused", "silent"):
        listener = _listener()
        port = listener.getsockname()[1]
        if fault == "refused":
            listener.close()
        config["userdata"]["ec2_url"] = f"http://127.0.0.1:{port}"
        write_yaml(paths["confrt.yaml"], config)
    server.fault = fault
    try:
        started = time.monotonic()
        result = run("--debug")
        elapsed = time.monotonic() - started
    finally:
        if listener is not None:
            listener.close()
    assert elapsed < TOTAL_TIMEOUT + TIMEOUT + RUN_SLACK, f"{fault}: the run took {elapsed:.1f}s"
    assert result.returncode == 6, result.stderr  # the motd again + the userdata failure
    assert "internal error" not in result.stderr and "Traceback" not in result.stderr, result.stderr
    assert read(paths["local.yaml"]) == good
    assert read(paths["motd"]) == "worker\n"
    step = summary(paths)["steps"]["userdata"]
    assert step["status"] == "failed" and step["kept_local_data"] == paths["local.yaml"], step
    assert "\n" not in step["error"] and "internal error" not in step["error"], step
    assert f"keeping the last good {paths['local.yaml']}" in result.stderr

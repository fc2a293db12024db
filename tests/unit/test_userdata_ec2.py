"""The ec2 datasource against a real HTTP metadata server on 127.0.0.1."""
import http.server
import socket
import threading

import pytest
import yaml
from userdata_helpers import write_config

from confrt.errors import UserdataError
from confrt.userdata.sources import NoDatasourceError, SourceAbsent, fetch, from_ec2

USERDATA = b"#cloud-config\nconfrt:\n  classes: [cvmfs]\n"
META = {
    "/latest/meta-data/instance-id": b"i-0123456789abcdef0",
    "/latest/meta-data/local-hostname": b"ip-10-0-0-1.ec2.internal",
    "/latest/meta-data/public-keys/0/openssh-key": b"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA test@ec2\n",
    "/latest/meta-data/block-device-mapping/": b"ami\nephemeral0\nroot",
    "/latest/meta-data/block-device-mapping/ami": b"/dev/xvda",
    "/latest/meta-data/block-device-mapping/ephemeral0": b"sdb",
    "/latest/meta-data/block-device-mapping/root": b"/dev/xvda",
}


class MetadataServer:
    """IMDS on 127.0.0.1: token flow, stale tokens, IMDSv1-only, missing user-data, slow answers."""

    def __init__(self, token_status=200, userdata=USERDATA, stale_once=False, delay=None, address=("127.0.0.1", 0)):
        self.token_status = token_status
        self.userdata = userdata
        self.stale_once = stale_once
        self.delay = delay
        self.tokens_issued = 0
        self.requests = []
        self.release = threading.Event()
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _send(self, status, body=b""):
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_PUT(self):
                server.requests.append(("PUT", self.path, {k.lower(): v for k, v in self.headers.items()}))
                if server.delay:
                    server.release.wait(server.delay)
                if self.path != "/latest/api/token" or server.token_status != 200:
                    return self._send(server.token_status if self.path == "/latest/api/token" else 404)
                server.tokens_issued += 1
                self._send(200, f"token-{server.tokens_issued}".encode())

            def do_GET(self):
                server.requests.append(("GET", self.path, {k.lower(): v for k, v in self.headers.items()}))
                if server.token_status == 200:
                    if self.headers.get("X-aws-ec2-metadata-token") != f"token-{server.tokens_issued}":
                        return self._send(401)
                    if server.stale_once:
                        server.stale_once = False
                        return self._send(401)
                if self.path == "/latest/user-data":
                    return self._send(404) if server.userdata is None else self._send(200, server.userdata)
                if self.path in META:
                    return self._send(200, META[self.path])
                self._send(404)

        self.httpd = http.server.ThreadingHTTPServer(address, Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://{address[0]}:{self.httpd.server_port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()


def _settings(url, timeout=2, total_timeout=10):
    return {"sources": ["ec2"], "ec2_url": url, "timeout": timeout, "total_timeout": total_timeout,
            "max_size": 1 << 20}


@pytest.fixture(autouse=True)
def _dead_proxy(monkeypatch):
    """An environment proxy that would break every request: the metadata client must ignore it."""
    for name in ("http_proxy", "HTTP_PROXY"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)


def test_imdsv2_token_flow_fetches_userdata_and_metadata():
    with MetadataServer() as server:
        fetched = from_ec2(_settings(server.url), None)
    assert fetched.raw == USERDATA
    assert fetched.metadata == {
        "instance_id": "i-0123456789abcdef0",
        "local_hostname": "ip-10-0-0-1.ec2.internal",
        "public_keys": ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA test@ec2"],
        "block_device_mapping": {"ami": "/dev/xvda", "ephemeral0": "sdb", "root": "/dev/xvda"},
    }
    method, path, headers = server.requests[0]
    assert (method, path) == ("PUT", "/latest/api/token")
    assert headers["x-aws-ec2-metadata-token-ttl-seconds"] == "21600"
    assert server.tokens_issued == 1
    assert all(h.get("x-aws-ec2-metadata-token") == "token-1" for m, _, h in server.requests if m == "GET")


def test_stale_token_401_refreshes_the_token_once():
    with MetadataServer(stale_once=True) as server:
        fetched = from_ec2(_settings(server.url), None)
    assert fetched.raw == USERDATA
    assert server.tokens_issued == 2


@pytest.mark.parametrize("status", [403, 404, 405])
def test_refused_token_call_falls_back_to_imdsv1(status):
    with MetadataServer(token_status=status) as server:
        fetched = from_ec2(_settings(server.url), None)
    assert fetched.raw == USERDATA
    assert fetched.metadata["instance_id"] == "i-0123456789abcdef0"
    gets = [h for m, _, h in server.requests if m == "GET"]
    assert gets and not any("x-aws-ec2-metadata-token" in h for h in gets)


def test_token_server_error_is_a_userdata_error():
    with MetadataServer(token_status=500) as server, pytest.raises(UserdataError, match="HTTP 500"):
        from_ec2(_settings(server.url), None)


def test_missing_userdata_404_is_no_userdata_not_an_error():
    with MetadataServer(userdata=None) as server:
        fetched = from_ec2(_settings(server.url), None)
    assert fetched.raw is None
    assert fetched.metadata["instance_id"] == "i-0123456789abcdef0"


def test_slow_server_counts_as_absent_and_the_next_source_is_tried(tmp_path):
    other = tmp_path / "ud"
    other.write_bytes(b"a: 1\n")
    with MetadataServer(delay=30) as server:
        settings = _settings(server.url, timeout=0.3, total_timeout=1)
        fetched = fetch(settings, ["ec2", f"file:{other}"])
    assert fetched.source == f"file:{other}"
    assert len(server.requests) == 1  # the token call timed out; nothing was retried


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_refused_connection_is_absent_with_the_reason():
    with pytest.raises(NoDatasourceError, match="ec2: .*refused"):
        fetch(_settings(f"http://127.0.0.1:{_free_port()}"))


def test_dead_endpoint_is_given_up_after_one_attempt_within_the_bound():
    """A port that accepts connections but never answers: one attempt, then the source is absent."""
    with socket.socket() as blackhole:
        blackhole.bind(("127.0.0.1", 0))
        blackhole.listen(16)
        url = f"http://127.0.0.1:{blackhole.getsockname()[1]}"
        with pytest.raises(SourceAbsent, match="timed out"):
            from_ec2(_settings(url, timeout=0.2, total_timeout=0.5), None)
        blackhole.settimeout(0)
        accepted = 0
        try:
            while True:
                blackhole.accept()[0].close()
                accepted += 1
        except BlockingIOError:
            pass
    assert accepted == 1


def test_garbage_speaking_endpoint_is_absent_not_a_traceback():
    """Something on the port that is not HTTP (answers garbage and hangs up)."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(4)

        def answer_garbage():
            for _ in range(2):
                try:
                    connection, _ = listener.accept()
                except OSError:
                    return
                with connection:
                    connection.recv(1024)
                    connection.sendall(b"SSH-2.0-OpenSSH_9.2\r\n")

        thread = threading.Thread(target=answer_garbage, daemon=True)
        thread.start()
        with pytest.raises(SourceAbsent):
            from_ec2(_settings(f"http://127.0.0.1:{listener.getsockname()[1]}"), None)


def test_exhausted_total_timeout_makes_no_request():
    with MetadataServer() as server:
        with pytest.raises(SourceAbsent, match="total_timeout"):
            from_ec2(_settings(server.url, total_timeout=0), None)
    assert server.requests == []


def test_fetch_command_writes_local_data_with_metadata_keys(tmp_path, run_confrt):
    with MetadataServer() as server:
        config = write_config(tmp_path, sources=["ec2"], ec2_url=server.url, timeout=2)
        result = run_confrt("userdata", "fetch", "--config", config)
    assert result.returncode == 0, result.stderr
    data = yaml.safe_load((tmp_path / "data" / "local.yaml").read_text())
    assert data["classes"] == ["cvmfs"]
    assert data["confrt::instance_id"] == "i-0123456789abcdef0"
    assert data["sshkeys::metadata_keys"] == ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA test@ec2"]
    assert data["ephemeral_disk::block_device_mapping"]["ephemeral0"] == "sdb"
    assert data["confrt::userdata_source"] == "ec2"


def test_an_empty_source_list_tries_nothing(run_confrt, tmp_path):
    """userdata.sources: [] (bare metal) means no source, not the default ones (EC2 among them)."""
    config = tmp_path / "confrt.yaml"
    config.write_text(yaml.safe_dump({"userdata": {"sources": []}, "statedir": str(tmp_path / "state"),
                                      "local_data": str(tmp_path / "local.yaml")}))
    result = run_confrt("userdata", "fetch", "--config", config, env={"http_proxy": ""})
    assert result.returncode == 1
    assert result.stderr.strip() == "confrt: error: userdata.sources is empty: no source to fetch userdata from"

"""sshkeys module: keys per user with options, root's metadata key, the VM owner's key (local or https)."""
import http.server
import shutil
import ssl
import subprocess
import threading

import pytest
from node_modules_support import compile_data, of_type

from confrt.errors import CompileError


def keygen(tmp_path, name, kind="ed25519"):
    """(type, base64) of a fresh key made by ssh-keygen."""
    if shutil.which("ssh-keygen") is None:
        pytest.skip("ssh-keygen (Debian openssh-client) is not installed")
    path = tmp_path / f"key-{name}"
    subprocess.run(["ssh-keygen", "-q", "-t", kind, "-N", "", "-C", name, "-f", str(path)], check=True)
    fields = (tmp_path / f"key-{name}.pub").read_text().split()
    return fields[0], fields[1]


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    """Made once for the module: the tests only read them."""
    folder = tmp_path_factory.mktemp("keys")
    return {name: keygen(folder, name) for name in ("alice", "backup", "meta", "owner")}


def test_keys_per_user_with_options_and_exclusive(tmp_path, keys):
    alice, backup = keys["alice"], keys["backup"]
    catalog, warnings = compile_data(tmp_path, {"classes": ["sshkeys"], "sshkeys::exclusive": True, "sshkeys::keys": {
        "alice": [f"{alice[0]} {alice[1]} alice@laptop",
                  f'from="10.0.0.0/8",command="echo a, b" {backup[0]} {backup[1]} backup key'],
        "bob": {"type": backup[0], "key": backup[1], "options": ["no-pty"]},
    }})
    found = of_type(catalog, "ssh_authorized_key")
    assert list(found) == ["alice@laptop", "backup key", f"ssh-ed25519-{found_hash(found)}"]
    assert found["alice@laptop"]["user"] == "alice" and found["alice@laptop"]["key"] == alice[1]
    assert found["backup key"]["options"] == ['from="10.0.0.0/8"', 'command="echo a, b"']
    bob = [r for r in found.values() if r["user"] == "bob"][0]
    assert bob["options"] == ["no-pty"] and bob["exclusive"] is True
    assert warnings == []


def found_hash(found):
    return [t for t in found if t.startswith("ssh-ed25519-")][0].split("-")[-1]


def test_root_key_from_metadata_unless_disabled(tmp_path, keys):
    meta = keys["meta"]
    data = {"classes": ["sshkeys"], "sshkeys::metadata_keys": [f"{meta[0]} {meta[1]} my-keypair"]}
    catalog, _ = compile_data(tmp_path, data)
    key = catalog.get("ssh_authorized_key[my-keypair]")
    assert key["user"] == "root" and key["key"] == meta[1]
    data["sshkeys::root_from_metadata"] = False
    catalog, _ = compile_data(tmp_path, data)
    assert of_type(catalog, "ssh_authorized_key") == {}


def test_same_comment_for_two_users_is_told_apart(tmp_path, keys):
    line = " ".join(keys["alice"]) + " shared"
    catalog, _ = compile_data(tmp_path, {"classes": ["sshkeys"], "sshkeys::keys": {"alice": [line], "bob": [line]}})
    assert {t: r["user"] for t, r in of_type(catalog, "ssh_authorized_key").items()} == \
        {"shared": "alice", "shared@bob": "bob"}


@pytest.mark.parametrize("entry, problem", [
    ("ssh-ed25519 AAAAC3NzaC1lZDI1 x", "not an SSH public key blob"),
    ("ssh-foo AAAA x", "unknown key type 'ssh-foo'"),
    ("ssh-rsa {ed} x", "the key is of type 'ssh-ed25519', not 'ssh-rsa'"),
    ({"type": "ssh-ed25519", "kye": "x"}, "unknown field 'kye'"),
])
def test_bad_key_is_one_line_naming_file_key_user(tmp_path, keys, entry, problem):
    if isinstance(entry, str):
        entry = entry.replace("{ed}", keys["alice"][1])
    with pytest.raises(CompileError) as error:
        compile_data(tmp_path, {"classes": ["sshkeys"], "sshkeys::keys": {"alice": [entry]}})
    message = str(error.value)
    assert "common.yaml: sshkeys::keys: alice[0]: " in message and problem in message
    assert "\n" not in message


def test_owner_key_from_local_directory_via_cmdline_fact(tmp_path, keys):
    owner = keys["owner"]
    key_dir = tmp_path / "ssh_public_keys"
    key_dir.mkdir()
    (key_dir / "authorized_keys.jdoe").write_text(f"# the owner\n{owner[0]} {owner[1]} jdoe@vgrid\n")
    data = {"classes": ["sshkeys"], "sshkeys::key_directory": str(key_dir), "sshkeys::exclusive": True}
    catalog, warnings = compile_data(tmp_path, data, facts={"cmdline": {"vgrid_username": "jdoe"}})
    key = catalog.get("ssh_authorized_key[jdoe@vgrid]")
    assert key["user"] == "root" and key["key"] == owner[1] and key["exclusive"] is True
    assert warnings == []


def test_owner_name_from_the_cmdline_must_be_a_user_name(tmp_path):
    with pytest.raises(CompileError, match=r"fact cmdline.vgrid_username: '\.\./etc': not a user name"):
        compile_data(tmp_path, {"classes": ["sshkeys"]}, facts={"cmdline": {"vgrid_username": "../etc"}})


# -- the key repository over https ---------------------------------------------------------------

def openssl(*args):
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    subprocess.run(["openssl", *args], check=True, capture_output=True)


@pytest.fixture(scope="module")
def certificates(tmp_path_factory):
    """A test CA and a server certificate for 127.0.0.1 signed by it."""
    d = tmp_path_factory.mktemp("pki")
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=confrt test CA",
            "-keyout", str(d / "ca.key"), "-out", str(d / "ca.pem"))
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
            "-keyout", str(d / "server.key"), "-out", str(d / "server.csr"))
    (d / "ext.cnf").write_text("subjectAltName=IP:127.0.0.1\n")
    openssl("x509", "-req", "-in", str(d / "server.csr"), "-CA", str(d / "ca.pem"), "-CAkey", str(d / "ca.key"),
            "-CAcreateserial", "-days", "2", "-extfile", str(d / "ext.cnf"), "-out", str(d / "server.pem"))
    return d


class KeyServer:
    """Serves files {path: bytes} over http or https on 127.0.0.1; records the paths asked for."""

    def __init__(self, files, certificates=None):
        self.files, self.requests = files, []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                server.requests.append(self.path)
                body = server.files.get(self.path)
                self.send_response(200 if body is not None else 404)
                self.end_headers()
                self.wfile.write(body if body is not None else b"not found\n")

            def log_message(self, *args):
                pass

        self.httpd = http.server.HTTPServer(("127.0.0.1", 0), Handler)
        scheme = "http"
        if certificates is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(str(certificates / "server.pem"), str(certificates / "server.key"))
            self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
            scheme = "https"
        self.url = f"{scheme}://127.0.0.1:{self.httpd.server_address[1]}/keys/authorized_keys."
        # a short poll: stop() waits for it (the default 0.5 s was most of each https test's time)
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02},
                                       daemon=True)
        self.thread.start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def https_server(certificates, keys):
    owner = keys["owner"]
    server = KeyServer({"/keys/authorized_keys.jdoe": f"{owner[0]} {owner[1]} jdoe@repo\n".encode()}, certificates)
    yield server
    server.stop()


def repo_data(tmp_path, url, **more):
    data = {"classes": ["sshkeys"], "sshkeys::key_directory": str(tmp_path / "no-such-dir"),
            "sshkeys::key_repository_url": url, "sshkeys::cache_dir": str(tmp_path / "cache"),
            "sshkeys::owner": "jdoe", "sshkeys::exclusive": True}
    data.update({f"sshkeys::{k}": v for k, v in more.items()})
    return data


def test_owner_key_over_https_verified_and_cached(tmp_path, https_server, certificates, keys):
    data = repo_data(tmp_path, https_server.url, repository_ca_file=str(certificates / "ca.pem"))
    catalog, warnings = compile_data(tmp_path, data)
    assert https_server.requests == ["/keys/authorized_keys.jdoe"] and warnings == []
    key = catalog.get("ssh_authorized_key[jdoe@repo]")
    assert key["user"] == "root" and key["key"] == keys["owner"][1] and key["exclusive"] is True
    cache = catalog.get(f"file[{tmp_path / 'cache' / 'authorized_keys.jdoe'}]")
    assert cache["content"] == f"{keys['owner'][0]} {keys['owner'][1]} jdoe@repo\n"


def test_untrusted_certificate_keeps_existing_keys(tmp_path, https_server, keys):
    meta = keys["meta"]
    data = repo_data(tmp_path, https_server.url, metadata_keys=[f"{meta[0]} {meta[1]} meta"])
    catalog, warnings = compile_data(tmp_path, data)  # the system CAs do not know the test CA
    assert len(warnings) == 1 and "CERTIFICATE_VERIFY_FAILED" in warnings[0]
    assert "keeping the existing keys of root" in warnings[0]
    assert catalog.get("ssh_authorized_key[jdoe@repo]") is None
    assert catalog.get("ssh_authorized_key[meta]")["exclusive"] is False  # nothing of root's is removed


def test_fetch_failure_uses_the_cached_key(tmp_path, https_server, certificates, keys):
    cache = tmp_path / "cache"
    cache.mkdir()
    owner = keys["owner"]
    (cache / "authorized_keys.jdoe").write_text(f"{owner[0]} {owner[1]} jdoe@cached\n")
    https_server.files.clear()  # the repository answers 404 now
    data = repo_data(tmp_path, https_server.url, repository_ca_file=str(certificates / "ca.pem"))
    catalog, warnings = compile_data(tmp_path, data)
    assert "HTTP 404" in warnings[0] and "using the key cached in" in warnings[0]
    assert catalog.get("ssh_authorized_key[jdoe@cached]")["exclusive"] is True


def test_bad_content_from_the_repository_is_a_fetch_failure(tmp_path, https_server, certificates):
    https_server.files["/keys/authorized_keys.jdoe"] = b"<html>login page</html>\n"
    data = repo_data(tmp_path, https_server.url, repository_ca_file=str(certificates / "ca.pem"))
    catalog, warnings = compile_data(tmp_path, data)
    assert "line 1: unknown key type" in warnings[0] and of_type(catalog, "ssh_authorized_key") == {}


def test_plain_http_refused_unless_allowed(tmp_path, keys):
    owner = keys["owner"]
    server = KeyServer({"/keys/authorized_keys.jdoe": f"{owner[0]} {owner[1]} jdoe@http\n".encode()})
    try:
        with pytest.raises(CompileError, match="sshkeys::key_repository_url: plain http is refused"):
            compile_data(tmp_path, repo_data(tmp_path, server.url))
        assert server.requests == []
        catalog, _ = compile_data(tmp_path, repo_data(tmp_path, server.url, allow_insecure_repository=True))
        assert catalog.get("ssh_authorized_key[jdoe@http]")["user"] == "root"
    finally:
        server.stop()


def test_no_owner_no_lookup(tmp_path):
    catalog, warnings = compile_data(tmp_path, {"classes": ["sshkeys"]}, facts={"cmdline": {"quiet": True}})
    assert len(catalog) == 0 and warnings == []

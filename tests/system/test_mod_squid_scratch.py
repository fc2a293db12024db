"""squid module in a scratch system: Debian's squid configured by confrt caches a local origin.

Everything runs in a private network namespace (only lo): the origin is a small
HTTP server on an address of its own (10.77.0.1, on lo: squid refuses loopback
destinations) that allows caching, and the second fetch through the proxy must
be a HIT. A request for the metadata address (169.254.169.254, served there too,
as a cloud serves the instance's userdata) is refused. A bad acl then fails
`squid -k parse` (validate_cmd): the file and the running squid keep the old
configuration.
"""
import time

import pytest

ORIGIN = '''
import http.server

class Origin(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = ("payload of " + self.path + "\\n").encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "public, max-age=3600")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass

import sys, threading
servers = [http.server.HTTPServer((address, int(port)), Origin)
           for address, port in (item.split(":") for item in sys.argv[1:])]
for server in servers[1:]:
    threading.Thread(target=server.serve_forever, daemon=True).start()
servers[0].serve_forever()
'''

FETCH = '''
import sys, urllib.error, urllib.request
opener = urllib.request.build_opener(urllib.request.ProxyHandler({"http": "http://127.0.0.1:3128"}))
try:
    with opener.open(sys.argv[1], timeout=20) as response:
        print(response.headers.get("X-Cache", "no X-Cache header"))
        print(response.read().decode().strip())
except urllib.error.HTTPError as exc:
    print(f"refused {exc.code}")
    print(exc.headers.get("X-Squid-Error", ""))
'''
ORIGIN_ADDRESS = "10.77.0.1"
METADATA = "169.254.169.254"

DATA = {"classes": ["squid"], "squid::user": "proxy", "squid::cache_dir_size": 200,
        "squid::localnet": ["10.0.0.0/8"]}


def wait_for_port(system, port, limit=60.0, address="127.0.0.1"):
    """Wait until something listens on address:port inside (a daemon's start-up, not a timing check)."""
    probe = ("import socket, sys; s = socket.socket(); s.settimeout(1); "
             f"sys.exit(s.connect_ex(('{address}', {port})))")
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if system.run(["python3", "-c", probe]).returncode == 0:
            return
        time.sleep(0.2)
    pytest.fail(f"nothing listens on 127.0.0.1:{port} inside the scratch system after {limit}s")


def serve_origin(system):
    """The origin (ORIGIN_ADDRESS:8081) and the metadata address (METADATA:80), served inside."""
    system.run(["ip", "addr", "add", f"{ORIGIN_ADDRESS}/32", "dev", "lo"], check=True)
    system.run(["ip", "addr", "add", f"{METADATA}/32", "dev", "lo"], check=True)
    system.write_file("/root/origin.py", ORIGIN)
    system.sh(f"python3 /root/origin.py {ORIGIN_ADDRESS}:8081 {METADATA}:80 >/dev/null 2>&1 &")
    wait_for_port(system, 8081, address=ORIGIN_ADDRESS)
    wait_for_port(system, 80, address=METADATA)


def fetch(system, url):
    result = system.run(["python3", "-c", FETCH, url])
    assert result.returncode == 0, result.stderr
    x_cache, body = result.stdout.splitlines()
    return x_cache, body


def test_squid_caches_and_a_bad_acl_keeps_the_running_config(offline_scratch):
    system = offline_scratch
    if not system.exists("/usr/sbin/squid"):
        pytest.skip("Debian's squid is not installed (tests/debian-packages.txt)")
    serve_origin(system)

    first = system.noop_then_apply(DATA)
    noop, touched = first.noop, first.touched
    assert noop.returncode == 2 and touched == [], (noop.stdout, noop.stderr, touched)
    assert first.returncode == 2, first.stdout + first.stderr
    assert "exec[squid -z /var/spool/squid]" in first.stdout and "service[squid]/ensure" in first.stdout
    config = system.read_text("/etc/squid/squid.conf")
    assert "cache_dir ufs /var/spool/squid 200 16 256" in config
    assert system.exists("/var/spool/squid/00")
    wait_for_port(system, 3128)

    url = f"http://{ORIGIN_ADDRESS}:8081/cvmfs/atlas.cern.ch/.cvmfspublished"
    x_cache, body = fetch(system, url)
    assert x_cache.startswith("MISS") and body == "payload of /cvmfs/atlas.cern.ch/.cvmfspublished"
    x_cache, body = fetch(system, url)
    assert x_cache.startswith("HIT"), x_cache
    assert body == "payload of /cvmfs/atlas.cern.ch/.cvmfspublished"

    # the instance's metadata and userdata, and this host's own services, are never fetched for a client
    for forbidden in (f"http://{METADATA}/latest/user-data", "http://127.0.0.1:8081/cvmfs/atlas.cern.ch/x"):
        refused, error = fetch(system, forbidden)
        assert refused == "refused 403" and error.startswith("ERR_ACCESS_DENIED"), (forbidden, refused, error)
    trace = system.run(["python3", "-c", "import http.client; c = http.client.HTTPConnection('127.0.0.1', 3128, "
                        f"timeout=20); c.request('TRACE', '{url}'); print(c.getresponse().status)"])
    assert trace.stdout.strip() == "403", trace.stdout + trace.stderr  # TRACE: refused, never forwarded
    direct = system.run(["python3", "-c", "import urllib.request; print(urllib.request.urlopen("
                         f"'http://{METADATA}/latest/user-data', timeout=10).read().decode().strip())"])
    assert direct.stdout.strip() == "payload of /latest/user-data"  # it was there to be read

    again = system.apply()
    assert again.returncode == 0 and "0 changed" in again.stdout, again.stdout + again.stderr

    bad = system.apply(dict(DATA, **{"squid::localnet": ["10.0.0.0/33"]}))
    assert bad.returncode == 4, bad.stdout + bad.stderr
    assert "validate_cmd rejected the new content" in bad.stderr
    assert "10.0.0.0/33" not in system.read_text("/etc/squid/squid.conf")
    assert system.read_text("/etc/squid/squid.conf") == config
    x_cache, _ = fetch(system, url)
    assert x_cache.startswith("HIT"), "the running squid lost its cache or configuration"

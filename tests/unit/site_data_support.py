"""A site data repository served by a real git server on 127.0.0.1, commits signed with ssh keys.

- Keys(root): ssh ed25519 keys `alice` (in allowed_signers) and `mallory` (not), made by ssh-keygen.
- SiteRepo(root, keys): a work repository whose commits (`commit(files, signer=...)`) are signed with
  `git -c gpg.format=ssh -c user.signingkey=KEY commit -S` and pushed (forced) to a bare one.
- GitDaemon(base): `git daemon --inetd` behind a socket on 127.0.0.1 (port chosen by the kernel);
  `silent = True` makes it accept connections and never answer; `stop()` closes the port.
- HttpGit(base, token): `git http-backend` behind a small HTTP server that wants HTTP Basic auth
  with the token and records every Authorization header it saw.
- site_config(root, url, ...): confrt.yaml + hiera.yaml whose site levels read the checkout.
"""
import base64
import os
import socket
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import yaml
from run_site import make_run_site, write_yaml

GIT_ENV = {"GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull, "GIT_AUTHOR_NAME": "Site Admin",
           "GIT_AUTHOR_EMAIL": "admin@example.org", "GIT_COMMITTER_NAME": "Site Admin",
           "GIT_COMMITTER_EMAIL": "admin@example.org", "LC_ALL": "C"}


def git(*args, cwd=None, check=True, env=None):
    result = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=60,
                            env=dict(os.environ, **GIT_ENV, **(env or {})))
    if check and result.returncode != 0:
        raise AssertionError(f"git {' '.join(args)}: {result.stderr}")
    return result.stdout.strip()


class Keys:
    def __init__(self, root):
        self.root = str(root)
        os.makedirs(self.root, exist_ok=True)
        for name in ("alice", "mallory"):
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", self.key(name)],
                           check=True, capture_output=True, timeout=30)
        self.allowed_signers = os.path.join(self.root, "allowed_signers")
        with open(self.key("alice") + ".pub") as handle:
            with open(self.allowed_signers, "w") as out:
                out.write(f"alice@example.org {handle.read()}")

    def key(self, name):
        return os.path.join(self.root, name)


class SiteRepo:
    """The site's repository: `work` (where commits are made) pushed to `served/site.git`."""

    def __init__(self, root, keys):
        self.keys = keys
        self.base = os.path.join(str(root), "served")
        self.bare = os.path.join(self.base, "site.git")
        self.work = os.path.join(str(root), "work")
        git("init", "-q", "--bare", "-b", "main", self.bare)
        git("init", "-q", "-b", "main", self.work)

    def commit(self, files, signer="alice", message="site data", branch="main"):
        """Replace the work tree's files by `files` ({path: YAML data or text}), commit (signed by
        `signer`, None: unsigned), push to `branch` of the served repository; -> the commit id."""
        git("rm", "-q", "-r", "--ignore-unmatch", ".", cwd=self.work)
        for path, content in files.items():
            full = os.path.join(self.work, path)
            os.makedirs(os.path.dirname(full), exist_ok=True)
            with open(full, "w") as handle:
                handle.write(content if isinstance(content, str) else yaml.safe_dump(content))
        git("add", "-A", cwd=self.work)
        sign = ["-c", "gpg.format=ssh", "-c", f"user.signingkey={self.keys.key(signer)}"] if signer else []
        git(*sign, "commit", "-q", "--allow-empty", *(["-S"] if signer else []), "-m", message, cwd=self.work)
        return self.push(branch)

    def push(self, branch="main"):
        git("push", "-q", "--force", self.bare, f"HEAD:refs/heads/{branch}", cwd=self.work)
        return git("rev-parse", "HEAD", cwd=self.work)

    def reset(self, commit):
        """Move the work branch back to `commit` (the next commit rewrites history once pushed)."""
        git("reset", "-q", "--hard", commit, cwd=self.work)


class GitDaemon:
    """git:// on 127.0.0.1: each connection is handed to `git daemon --inetd`."""

    def __init__(self, base):
        self.base = base
        self.silent = False
        self.held = []
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.port = self.listener.getsockname()[1]
        self.url = f"git://127.0.0.1:{self.port}/site.git"
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            if self.silent:
                self.held.append(connection)  # accepted, never answered
                continue
            subprocess.Popen(["git", "daemon", "--inetd", "--export-all", "--informative-errors",
                              f"--base-path={self.base}"], stdin=connection, stdout=connection,
                             stderr=subprocess.DEVNULL, env=dict(os.environ, **GIT_ENV))
            connection.close()

    def stop(self):
        close_listener(self.listener, self.thread)
        for connection in self.held:
            connection.close()


class HttpGit:
    """Smart HTTP (git http-backend as CGI) on 127.0.0.1, behind Basic auth `user:token`."""

    def __init__(self, base, user, token):
        self.base = base
        self.expected = "Basic " + base64.b64encode(f"{user}:{token}".encode()).decode()
        self.seen = []
        self.delay = 0  # seconds each request waits before it is answered
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/site.git"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def _handler(self):
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                self._backend()

            def do_POST(self):
                self._backend()

            def _backend(self):
                time.sleep(outer.delay)
                auth = self.headers.get("Authorization")
                outer.seen.append(auth)
                if auth != outer.expected:
                    self.send_response(401)
                    self.send_header("WWW-Authenticate", 'Basic realm="site"')
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                path, _, query = self.path.partition("?")
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                env = dict(os.environ, GIT_PROJECT_ROOT=outer.base, GIT_HTTP_EXPORT_ALL="1", PATH_INFO=path,
                           QUERY_STRING=query, REQUEST_METHOD=self.command, REMOTE_USER="site",
                           CONTENT_TYPE=self.headers.get("Content-Type", ""), CONTENT_LENGTH=str(len(body)),
                           HTTP_CONTENT_ENCODING=self.headers.get("Content-Encoding", ""),
                           GIT_PROTOCOL=self.headers.get("Git-Protocol", ""), **GIT_ENV)
                result = subprocess.run(["git", "http-backend"], input=body, capture_output=True, env=env,
                                        timeout=60)
                head, _, payload = result.stdout.partition(b"\r\n\r\n")
                headers = [line.split(":", 1) for line in head.decode().split("\r\n") if ":" in line]
                status = next((value.strip() for name, value in headers if name.lower() == "status"), "200 OK")
                self.send_response(int(status.split()[0]))
                for name, value in headers:
                    if name.lower() != "status":
                        self.send_header(name, value.strip())
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        return Handler

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def silent_http_server():
    """(url, stop): an HTTP port that accepts connections and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held = []

    def hold():
        while True:
            try:
                held.append(listener.accept()[0])
            except OSError:
                return

    thread = threading.Thread(target=hold, daemon=True)
    thread.start()

    def stop():
        close_listener(listener, thread)
        for connection in held:
            connection.close()

    return f"http://127.0.0.1:{listener.getsockname()[1]}/site.git", stop


def close_listener(listener, thread):
    """Stop a listening socket whose thread waits in accept(): shutdown() wakes it, and only once it
    has returned is the descriptor closed (closed under it, its number could be reused by the next
    test's listener while accept() still waits on it)."""
    try:
        listener.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    thread.join(5)
    listener.close()


def closed_port_url():
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    return f"git://127.0.0.1:{port}/site.git"


def site_config(root, url, allowed_signers, site_data=None, build_time=None):
    """run_site's site under root (confrt.yaml, no userdata source), its hierarchy local_data, then the
    site data levels (%{confrt.site_data}/roles/<role>.yaml, .../common.yaml), then the build-time
    data/common.yaml. -> (env, paths); paths["site"] is site_data's directory."""
    env, paths = make_run_site(root, common=build_time)
    write_yaml(paths["hiera.yaml"], {
        "version": 5, "defaults": {"datadir": "data", "data_hash": "yaml_data"},
        "hierarchy": [{"name": "local_data", "path": "%{confrt.local_data}"},
                      {"name": "site: role", "path": "%{confrt.site_data}/roles/%{role}.yaml"},
                      {"name": "site: common", "path": "%{confrt.site_data}/common.yaml"},
                      {"name": "build time", "path": "common.yaml"}]})
    settings = {"url": url, "allowed_signers": allowed_signers, "timeout": 2, "total_timeout": 10}
    set_site_data(paths, **dict(settings, **(site_data or {})))
    paths["site"] = os.path.join(paths["state"], "site_data")
    return env, paths


def served_site(root, keys):
    """A SiteRepo under root/git served by a GitDaemon, and a node under root/node fetching from it:
    (repo, daemon, env, paths); paths["motd"] is a file the tests' data manages."""
    repo = SiteRepo(os.path.join(str(root), "git"), keys)
    daemon = GitDaemon(repo.base)
    env, paths = site_config(os.path.join(str(root), "node"), daemon.url, keys.allowed_signers)
    paths["motd"] = os.path.join(str(root), "motd")
    return repo, daemon, env, paths


def set_site_data(paths, **settings):
    """Change keys of confrt.yaml's site_data section."""
    with open(paths["confrt.yaml"]) as handle:
        config = yaml.safe_load(handle)
    config.setdefault("site_data", {}).update(settings)
    write_yaml(paths["confrt.yaml"], config)


def in_use(paths):
    """The commit the `current` link names (None: no link)."""
    try:
        return os.path.basename(os.readlink(os.path.join(paths["site"], "current")))
    except FileNotFoundError:
        return None


def wait_for(predicate, seconds=10):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False

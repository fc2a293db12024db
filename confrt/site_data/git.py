"""git for the site data: argv lists, an environment of confrt's own, every call bounded, no secret shown.

git runs with none of the host's git configuration (GIT_CONFIG_NOSYSTEM, GIT_CONFIG_GLOBAL) and
none of its GIT_* variables; its settings come through GIT_CONFIG_COUNT/KEY/VALUE, so the token
header is in git's environment (readable by root only), never on a command line. A command runs
in a session of its own and past its timeout the whole session is killed (git's helpers too);
when confrt itself is killed, git gets SIGKILL from the kernel (PR_SET_PDEATHSIG). Messages are
git's, with the URL's user:password and the token replaced by [redacted].
"""
import base64
import math
import os
import re
import shlex
import signal
import subprocess
import tempfile

from confrt.site_data import SiteDataError
from confrt.util.redaction import REDACTED

#: seconds for a git command that does not touch the network (rev-parse, log, read-tree)
LOCAL_TIMEOUT = 120
FETCHED = "refs/confrt/fetched"
ALLOWED_PROTOCOLS = "file:git:http:https:ssh"
_PASSED_ENV = ("PATH", "HOME", "http_proxy", "https_proxy", "HTTPS_PROXY", "no_proxy", "NO_PROXY", "all_proxy")
_USERINFO = re.compile(r"(?<=://)[^/@\s]+@")


def redacted_url(url):
    """The URL as shown: user:password@ replaced by [redacted]@."""
    return _USERINFO.sub(f"{REDACTED}@", url)


class Signature:
    """What git says of a commit's signature: status (%G?), signer (%GS), key (%GK), kind (ssh, pgp,
    x509 or None)."""

    def __init__(self, status, signer, key, kind):
        self.status, self.signer, self.key, self.kind = status, signer, key, kind

    def problem(self, settings):
        """None when the site's signers vouch for the commit, else why not (one phrase)."""
        if self.kind is None:
            return "not signed"
        if self.kind == "ssh":
            if self.status == "G" and self.signer:
                return None
            if self.status == "U":
                return f"signed by a key not in {settings['allowed_signers']} ({self.key})"
        elif self.kind == "pgp":
            if not settings["gnupg_home"]:
                return "signed with GnuPG and site_data.gnupg_home is not set (ssh signatures only)"
            if self.status in ("G", "U"):  # U: in the site's own keyring, whose keys are the signers
                return None
        else:
            return f"signed with {self.kind}, which is not accepted"
        reasons = {"B": "bad signature", "E": "the signature cannot be checked (unknown key?)",
                   "N": "the signature cannot be checked (is ssh-keygen installed?)",
                   "X": "expired signature", "Y": "signed by an expired key", "R": "signed by a revoked key"}
        return reasons.get(self.status, f"signature not good ({self.status})") + (f" ({self.key})" if self.key else "")

    def describe(self):
        return self.signer or self.key or "?"


class Git:
    """git commands on one bare repository (`git_dir`) for the `site_data` settings."""

    def __init__(self, settings, git_dir):
        self.settings = settings
        self.git_dir = git_dir
        self.url, userinfo = _split_credentials(settings["url"])
        self._secrets = [secret for secret in (userinfo, userinfo.partition(":")[2]) if secret]
        self._config = self._base_config()
        if userinfo:  # sent as a header from git's environment: a command line is readable by every user
            from urllib.parse import unquote

            user, _, password = userinfo.partition(":")
            self._secrets.append(unquote(password))
            self._basic_auth(f"{unquote(user)}:{unquote(password)}")

    def _base_config(self):
        settings = self.settings
        config = [
            ("core.hooksPath", os.devnull), ("gc.auto", "0"), ("maintenance.auto", "false"),
            ("transfer.fsckObjects", "true"), ("fetch.recurseSubmodules", "false"),
            ("init.defaultBranch", "main"), ("credential.helper", ""),
            ("http.lowSpeedLimit", "1"), ("http.lowSpeedTime", str(math.ceil(settings["timeout"]))),
            ("gpg.ssh.allowedSignersFile", settings["allowed_signers"]),
            ("gpg.program", "gpg" if settings["gnupg_home"] else "false"), ("gpg.x509.program", "false"),
        ]
        if settings["revoked_signers"]:
            config.append(("gpg.ssh.revocationFile", settings["revoked_signers"]))
        return config

    def use_token(self):
        """Read site_data.token_file (once) and send it as HTTP Basic auth to site_data.url only."""
        path = self.settings["token_file"]
        if not path or not self.url.startswith(("https://", "http://")):
            return
        try:
            with open(path, encoding="utf-8") as handle:
                token = handle.read().strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise SiteDataError(f"site_data.token_file: cannot read {path}: "
                           f"{getattr(exc, 'strerror', None) or 'not UTF-8 text'}") from None
        if not token:
            raise SiteDataError(f"site_data.token_file: {path} is empty")
        self._secrets.append(token)
        self._basic_auth(f"{self.settings['token_user']}:{token}")

    def _basic_auth(self, userinfo):
        """HTTP Basic auth for site_data.url only (http.<url>.extraHeader: no other host, no redirect)."""
        basic = base64.b64encode(userinfo.encode()).decode()
        self._secrets.append(basic)
        self._config = [(key, value) for key, value in self._config if key != f"http.{self.url}.extraHeader"]
        self._config.append((f"http.{self.url}.extraHeader", f"Authorization: Basic {basic}"))

    def redact(self, text):
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        return _USERINFO.sub(f"{REDACTED}@", text)

    def environment(self, extra=None):
        env = {name: os.environ[name] for name in _PASSED_ENV if name in os.environ}
        env.setdefault("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
        env.setdefault("HOME", "/")
        env.update({"LC_ALL": "C", "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull,
                    "GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "false", "GIT_ALLOW_PROTOCOL": ALLOWED_PROTOCOLS,
                    "GIT_SSH_COMMAND": self._ssh_command(), "GIT_CONFIG_COUNT": str(len(self._config))})
        for index, (key, value) in enumerate(self._config):
            env[f"GIT_CONFIG_KEY_{index}"], env[f"GIT_CONFIG_VALUE_{index}"] = key, value
        if self.settings["gnupg_home"]:
            env["GNUPGHOME"] = self.settings["gnupg_home"]
        env.update(extra or {})
        return env

    def _ssh_command(self):
        settings = self.settings
        seconds = math.ceil(settings["timeout"])
        argv = ["ssh", "-o", "BatchMode=yes", "-o", f"ConnectTimeout={seconds}",
                "-o", f"ServerAliveInterval={max(1, seconds // 3)}", "-o", "ServerAliveCountMax=3"]
        if settings["ssh_key"]:
            argv += ["-i", settings["ssh_key"], "-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none"]
        if settings["known_hosts"]:
            argv += ["-o", f"UserKnownHostsFile={settings['known_hosts']}", "-o", "StrictHostKeyChecking=yes"]
        return " ".join(shlex.quote(word) for word in argv)

    def run(self, args, timeout=LOCAL_TIMEOUT, setting=None, env=None):
        """git --git-dir=DIR args; -> stdout. SiteDataError (one redacted line) when it fails or times out
        (`setting`: the confrt.yaml key that bounds it, named in the message)."""
        argv = ["git", f"--git-dir={self.git_dir}", *args]
        returncode, out, err = run_bounded(argv, timeout, self.environment(env))
        if returncode == 0:
            return out
        if returncode is None:
            raise SiteDataError(f"git {args[0]} timed out after {timeout:g}s" + (f" ({setting})" if setting else ""))
        raise SiteDataError(f"git {args[0]}: {self.redact(_one_line(err) or f'exited {returncode}')}")

    def init(self):
        self.run(["init", "--quiet", "--bare"])

    def fetch(self, ref):
        """Fetch `ref` of the URL into FETCHED; -> the commit id it names."""
        self.run(["fetch", "--quiet", "--no-tags", "--no-write-fetch-head", "--end-of-options", self.url,
                  f"+{ref}:{FETCHED}"], timeout=self.settings["total_timeout"], setting="site_data.total_timeout")
        return self.run(["rev-parse", "--verify", "--end-of-options", f"{FETCHED}^{{commit}}"]).strip()

    def repack(self):
        """All objects into one pack, the old packs removed (what gc would do; gc.auto is off)."""
        self.run(["repack", "-a", "-d", "-q"])

    def signature(self, commit):
        out = self.run(["log", "-1", "--no-show-signature", "--format=%G?%x00%GS%x00%GK", commit, "--"])
        status, signer, key = (out.rstrip("\n").split("\0") + ["", ""])[:3]
        return Signature(status, signer, key, self._signature_kind(commit))

    def _signature_kind(self, commit):
        header = self.run(["cat-file", "commit", commit]).split("\n\n", 1)[0]
        for line in header.splitlines():
            if line.startswith(("gpgsig ", "gpgsig-sha256 ")):
                armor = line.split(" ", 1)[1]
                return {"-----BEGIN SSH SIGNATURE-----": "ssh", "-----BEGIN PGP SIGNATURE-----": "pgp",
                        "-----BEGIN SIGNED MESSAGE-----": "x509"}.get(armor.strip(), "an unknown format")
        return None

    def is_ancestor(self, old, new):
        """True when `old` is `new` or an ancestor of it; False otherwise (or when `old` is unknown here)."""
        argv = ["git", f"--git-dir={self.git_dir}", "merge-base", "--is-ancestor", old, new]
        return run_bounded(argv, LOCAL_TIMEOUT, self.environment())[0] == 0

    def check_out(self, commit, directory, index_file):
        """Write the commit's files into `directory` (which exists, empty), with a private index."""
        self.run([f"--work-tree={directory}", "read-tree", "-u", "--reset", commit],
                 env={"GIT_INDEX_FILE": index_file})


def _split_credentials(url):
    """(url, "user:password") of an http(s) URL holding a password, else (url, "")."""
    match = _USERINFO.search(url)
    if not match or not url.startswith(("https://", "http://")) or ":" not in match.group(0):
        return url, ""
    return url[:match.start()] + url[match.end():], match.group(0)[:-1]


def _one_line(text):
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return " ".join(re.sub(r"^(fatal|error): ", "", line) for line in lines)[:400]


def _die_with_parent():
    """The child's preexec: SIGKILL when confrt dies (a killed run leaves no git behind)."""
    if _PRCTL is not None:
        _PRCTL(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def _load_prctl():
    try:
        import ctypes

        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError, ImportError):
        return None


_PRCTL = _load_prctl()


def run_bounded(argv, timeout, env):
    """(returncode or None when it timed out, stdout, stderr). The command runs in a session of its
    own, output into temp files (a helper left behind cannot hold the run up); past `timeout` the
    whole session is killed."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        try:
            process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=env, cwd="/",
                                       start_new_session=True, preexec_fn=_die_with_parent)
        except OSError as exc:
            return 127, "", f"cannot run {argv[0]}: {exc.strerror}"
        try:
            returncode = process.wait(timeout)
        except subprocess.TimeoutExpired:
            returncode = None
            try:
                os.killpg(process.pid, signal.SIGKILL)  # its helpers (git-remote-http, ssh) too
            except OSError:
                pass
            process.wait()
        out.seek(0)
        err.seek(0)
        return returncode, out.read().decode("utf-8", "replace"), err.read().decode("utf-8", "replace")

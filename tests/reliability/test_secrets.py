"""Secrets through a whole node's life, in a scratch copy of this machine (tests/system/scratch.py).

Userdata (MIME: a glideinWMS part carrying the pilot proxy, a YAML part with the HTCondor pool
password and an IDTOKEN) goes through `confrt run --boot`, noop and real, with --debug, then the
secrets are rotated and it runs again (so replaced secret files are backed up). Afterwards:
no secret in any command's stdout or stderr, and every file anywhere in the scratch system that
holds one (the run log and reports included, /run and /tmp too) is closed to group and others and
owned by root, but for the proxy in the pilot's home, which is the pilot user's; a replaced secret
file is not backed up.

test_an_interpolated_secret_stays_secret (issue 14 §3): a value marked sensitive in lookup_options,
built into other keys (interpolation, alias), rendered by a template, held by files' contents and
quoted by a failure, through lookup, --explain, modules show, apply --noop, the run and a rotation:
in no output, report, log, backup, parse cache entry or noop diff.
"""
import base64
import subprocess
import gzip
import os
import sys
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText

import pytest
import yaml

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "system"))
from scratch import start_or_skip  # noqa: E402

USERDATA = "/root/user-data"
PILOT_HOME = "/home/glidein_pilot"
#: where the node's data sends each secret; other files holding one must be root's alone
DESTINATIONS = {f"{PILOT_HOME}/pilot_proxy": (0o600, "glidein_pilot")}


class Secrets:
    def __init__(self, generation):
        self.proxy_line = f"ProxySecret{generation}Qm9ndXM="
        self.password = f"PoolPassword-{generation}-9f8e7d"
        self.token = f"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJjb25kb3IifQ.TokenSignature{generation}x7"
        self.proxy = f"-----BEGIN CERTIFICATE-----\n{self.proxy_line}\n-----END CERTIFICATE-----\n"

    def strings(self):
        return [self.password, self.token, self.proxy_line]

    def userdata(self):
        """A MIME multipart: the glideinWMS pilot (ini####args####proxy) and the HTCondor secrets."""
        ini = ("[glidein_startup]\nargs = -v std -name reliability\nwebbase = http://127.0.0.1:9/factory\n"
               "proxy_file_name = pilot_proxy\n\n[vm_properties]\nmax_lifetime = 999999999\n"
               "disable_shutdown = True\n")
        glidein = (base64.b64encode(ini.encode()) + b"####-slots 1####"
                   + base64.b64encode(gzip.compress(self.proxy.encode()))).decode()
        condor = {"classes": ["condor"], "condor::roles": ["execute"], "condor::collector_host": "cm.example.org",
                  "condor::pool_password": self.password, "condor::tokens": {"pool": self.token},
                  "condor::manage_package": False, "condor::manage_service": False,
                  "glidein::shutdown_when_done": False, "lifetime::shutdown_command": ["true"]}
        message = MIMEMultipart()
        message.attach(MIMEText(glidein, "plain"))
        message.attach(MIMEText(yaml.safe_dump(condor), "x-yaml"))
        return message.as_bytes()


@pytest.fixture
def node(tmp_path_factory):
    system = start_or_skip(str(tmp_path_factory.getbasetemp()))
    system.write_file("/etc/confrt/confrt.yaml", yaml.safe_dump({"userdata": {"sources": [f"file:{USERDATA}"]}}))
    yield system
    system.teardown()


def upper_path(scratch, path):
    """Where the overlay keeps a file the scratch system wrote."""
    mount = max((point for point in scratch.uppers if path == point or path.startswith(point.rstrip("/") + "/")),
                key=len)
    return os.path.join(scratch.uppers[mount], os.path.relpath(path, mount))


def files_holding(scratch, secrets):
    """{path: (mode, owner, group)} of every file the scratch system wrote that holds a secret."""
    paths = set()
    for path, description in scratch.changes().items():
        if description.startswith("file "):
            with open(upper_path(scratch, path), "rb") as handle:
                data = handle.read()
            if any(secret.encode() in data for secret in secrets):
                paths.add(path)
    patterns = [arg for secret in secrets for arg in ("-e", secret)]
    found = scratch.run(["grep", "-rlF", *patterns, "/run", "/tmp"])  # tmpfs: not in the overlay
    paths.update(found.stdout.split())
    return {path: scratch.stat(path) for path in sorted(paths)}


def test_secrets_never_leak_and_stay_root_only(node):
    first, second = Secrets(1), Secrets(2)
    secrets = first.strings() + second.strings()
    outputs = []

    def confrt(*args):
        result = node.confrt(*args, "--debug")
        outputs.append((args, result.stdout + result.stderr))
        assert "internal error" not in result.stderr and "Traceback" not in result.stderr, result.stderr
        return result

    for generation in (first, second):
        node.write_file(USERDATA, generation.userdata(), mode=0o600)
        confrt("userdata", "show")
        assert confrt("run", "--boot", "--noop").returncode in (2, 6)
        applied = confrt("run", "--boot")
        assert applied.returncode == 2, applied.stdout + applied.stderr
        assert confrt("run", "--boot").returncode == 0
        confrt("apply", "--noop", "--detailed-exitcodes")
        confrt("modules", "show", "condor")
        confrt("modules", "show", "glidein")
    assert node.read_text("/etc/condor/tokens.d/pool") == second.token + "\n"
    assert node.read_text(f"{PILOT_HOME}/pilot_proxy") == second.proxy
    for args, output in outputs:
        leaked = [secret for secret in secrets if secret in output]
        assert not leaked, f"confrt {' '.join(args)} printed {leaked}"
    holding = files_holding(node, secrets)
    for path, (mode, owner, group) in holding.items():
        wanted_mode, wanted_owner = DESTINATIONS.get(path, (None, "root"))
        assert mode & 0o077 == 0 and owner == wanted_owner, f"{path} holds a secret: {mode:04o} {owner}:{group}"
        assert wanted_mode is None or mode == wanted_mode, path
    # the scan found what it had to: the destinations, local_data; no backup of a rotated secret
    assert {"/etc/condor/tokens.d/pool", f"{PILOT_HOME}/pilot_proxy", "/etc/confrt/data/local.yaml",
            "/var/lib/confrt/glidein/pilot_proxy", USERDATA} <= set(holding), holding
    assert not [path for path in holding if path.startswith("/var/lib/confrt/backup/")], holding
    assert not [path for path in holding if path.startswith(("/var/log", "/tmp", "/run"))], holding


BAD_SECRETS = [  # (data, a compile error expected); interpolation that finds nothing gives '' as in Hiera
    ({"condor::pool_password": ["S3cret-in-a-list"]}, True),
    ({"condor::pool_password": {"key": "S3cret-in-a-map"}}, True),
    ({"condor::pool_password": 31415926}, True),
    ({"condor::pool_password": "S3cret-%{nosuch("}, False),
    ({"condor::pool_password": "S3cret-%{lookup('nosuch')}"}, False),
    ({"condor::tokens": {"pool": ["S3cret-token-in-a-list"]}}, True),
    ({"condor::tokens": {"bad name!": "S3cret-token-bad-name"}}, True),
    ({"condor::tokens": "S3cret-token-not-a-map"}, True),
    ({"condor::tokens": {"pool": {"nested": "S3cret-nested"}}}, True),
]


@pytest.mark.parametrize("bad, fails", BAD_SECRETS, ids=[str(index) for index in range(len(BAD_SECRETS))])
def test_a_malformed_secret_is_never_quoted(tmp_path, bad, fails):
    from reliability_support import confrt_process, process_env
    from run_site import make_run_site

    secret = "31415926" if "31415926" in str(bad) else "S3cret"
    data = dict({"classes": ["condor"], "condor::roles": ["execute"], "condor::collector_host": "cm.example.org",
                 "condor::manage_package": False, "condor::manage_service": False}, **bad)
    env, _ = make_run_site(tmp_path, common=data)
    result = subprocess.run(confrt_process("apply", "--noop", "--debug"), env=process_env(env), capture_output=True,
                            text=True, timeout=120)
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr, result.stderr
    assert secret not in result.stdout + result.stderr, result.stdout + result.stderr
    if fails:
        assert result.returncode == 1 and result.stderr.startswith("confrt: error: "), result.stderr
        assert len(result.stderr.splitlines()) == 1, result.stderr


SITE_MODULE = """\
from confrt.engine.module import Param

PARAMS = [Param("dsn", str, None, "the service's DSN"), Param("api_token", str, None, "its token"),
          Param("token_alias", str, None, "the token again"), Param("conf", str, None, "where to write")]


def declare(params, facts, ctx):
    return [ctx.resource("file", params["conf"], content=ctx.template("site.conf.j2", dsn=params["dsn"]))]
"""


def test_an_interpolated_secret_stays_secret(tmp_path):
    from reliability_support import confrt_process, process_env
    from run_site import make_run_site

    tree, cache = tmp_path / "tree", tmp_path / "cache"
    tree.mkdir()
    module = tmp_path / "modules" / "site"
    (module / "templates").mkdir(parents=True)
    (module / "module.py").write_text(SITE_MODULE)
    (module / "templates" / "site.conf.j2").write_text("dsn = {{ dsn }}\n")
    (tmp_path / "token.j2").write_text("token={{ token }}\n")

    def data(secret):
        return {
            "classes": ["resources", "site"],
            "lookup_options": {"site::api_token": {"sensitive": True}},
            "site::api_token": secret,
            "site::dsn": "https://svc/?token=%{lookup('site::api_token')}",
            "site::token_alias": "%{alias('site::api_token')}",
            "site::conf": f"{tree}/site.conf",
            "resources::file": {
                f"{tree}/dsn.conf": {"content": "dsn=%{lookup('site::dsn')}\n"},
                f"{tree}/token.conf": {"template": f"{tmp_path}/token.j2",
                                       "template_vars": {"token": "%{lookup('site::token_alias')}"}},
                f"{tree}/owned.conf": {"content": "x\n", "owner": "%{lookup('site::token_alias')}"},
            },
        }

    env, paths = make_run_site(tmp_path / "site", common=data("FirstS3cret-4f1a"))
    config = yaml.safe_load(open(paths["confrt.yaml"]))
    config["modulepath"].insert(0, str(tmp_path / "modules"))
    with open(paths["confrt.yaml"], "w") as handle:
        yaml.safe_dump(config, handle)
    env = process_env(dict(env, CONFRT_PARSE_CACHE=str(cache), NO_COLOR="1"))
    outputs = []

    def confrt(*args):
        result = subprocess.run(confrt_process(*args, "--debug"), env=env, capture_output=True, text=True, timeout=120)
        assert "internal error" not in result.stderr and "Traceback" not in result.stderr, result.stderr
        outputs.append((args, result.stdout + result.stderr))
        return result

    for secret in ("FirstS3cret-4f1a", "SecondS3cret-9c2b"):
        with open(os.path.join(paths["data"], "common.yaml"), "w") as handle:
            yaml.safe_dump(data(secret), handle)
        for key in ("site::dsn", "site::token_alias", "site::api_token", "resources::file"):
            assert confrt("lookup", key).returncode == 0
            assert confrt("lookup", key, "--explain").returncode == 0
            assert confrt("lookup", key, "--render-as", "json").returncode == 0
        assert confrt("modules", "show", "site").returncode == 0
        assert confrt("apply", "--noop").returncode == 1  # owned.conf: no such user
        assert "(noop)" in outputs[-1][1] and "[redacted]" in outputs[-1][1]
        assert confrt("run", "--no-splay").returncode == 6  # changes, and owned.conf failed
    assert (tree / "dsn.conf").read_text() == "dsn=https://svc/?token=SecondS3cret-9c2b\n"
    assert (tree / "token.conf").read_text() == "token=SecondS3cret-9c2b\n"
    assert (tree / "site.conf").read_text() == "dsn = https://svc/?token=SecondS3cret-9c2b\n"
    secrets = ["FirstS3cret-4f1a", "SecondS3cret-9c2b"]
    for args, output in outputs:
        assert not [secret for secret in secrets if secret in output], f"confrt {' '.join(args)} printed it:\n{output}"
    destinations = {str(tree / name) for name in ("dsn.conf", "token.conf", "site.conf")}
    source = os.path.join(paths["data"], "common.yaml")
    holding = {}
    for folder, _, names in os.walk(tmp_path):
        for name in names:
            path = os.path.join(folder, name)
            with open(path, "rb") as handle:
                text = handle.read()
            found = [secret for secret in secrets if secret.encode() in text]
            if found:
                holding[path] = found
    # the data file holds the secret and its parse cache entry its text (as private: 0600), and only
    # the files the data sends it to hold it; never the report, the run log, a backup, a value built from it
    entry = str(cache / source.replace("%", "%25").replace("/", "%2F"))
    assert set(holding) == destinations | {source, entry}, holding
    with open(entry, "rb") as handle:
        assert b"https://svc/?token=S" not in handle.read()
    assert os.stat(entry).st_mode & 0o077 == 0
    assert os.path.exists(os.path.join(paths["state"], "last_run_report.json"))
    assert os.path.exists(os.path.join(paths["log"], "run.log"))

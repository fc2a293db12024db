"""No clear secret in the userdata (issue 18 §2): `confrt userdata build` and `confrt submit` encrypt
the sensitive keys of the data they embed for the image's public key (hiera-eyaml PKCS7), the node
keeps them encrypted in local_data and decrypts them when looked up; a value the node cannot
decrypt fails the userdata step and keeps the last good local_data. The key pairs are the fixture's,
made by the real `eyaml createkeys` (tests/fixtures/data/eyaml). Needs the openssl command."""
import base64
import gzip
import json
import os
import shutil
import subprocess

import pytest
import yaml
from userdata_helpers import MAX_SIZE, STATEDIR, write_config

from confrt.userdata.secrets import local_data_keys, sensitive_keys

EYAML = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fixtures", "data", "eyaml", "run")
KEYS = os.path.join(EYAML, "keys")
OTHER = os.path.join(EYAML, "other")  # another key pair: cannot open what KEYS' public key encrypted
PUBLIC_KEY = os.path.join(KEYS, "public_key.pkcs7.pem")

POOL = "Pool-pa55-4-the-grid"
TOKEN = "eyJhbGciOiJIUzI1NiIsImtpZCI6IlBPT0wifQ.eyJzdWIiOiJjb25kb3JAcG9vbCJ9.c2lnbmF0dXJlLW9mLXRva2Vu"
TOKEN2 = "eyJhbGciOiJFUzI1NiJ9.c2Vjb25kLXRva2Vu.c2lnLXR3bw"
PEM = "-----BEGIN KEY-----\nc2l0ZS1zZWNyZXQta2V5\n-----END KEY-----\n"   # ends in a newline: kept
DB = "db-Pa55w0rd"
SECRETS = (POOL, TOKEN, TOKEN2, PEM.splitlines()[1], DB)
DATA = {
    "classes": ["condor"],
    "condor::roles": ["execute"],
    "condor::collector_host": "cm.example.org",
    "condor::pool_password": POOL,                                # Param(sensitive=True)
    "condor::tokens": {"pool_token": TOKEN, "second": TOKEN2},   # a dict: each leaf string
    "site::tls_key": PEM,                                         # lookup_options ^regex below
    "site::db": {"user": "atlas", "password": DB, "port": 5432},  # lookup_options exact name
    "site::motd": "plain text, not a secret",
    "lookup_options": {"^site::tls_": {"sensitive": True}, "site::db": {"sensitive": True}},
}
ENCRYPTED = ("condor::pool_password", "condor::tokens", "site::tls_key", "site::db")

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="the openssl command is not installed")


def decode(raw, local_data=None):
    """confrt's decoding of userdata built with write_config's local_data (tmp/data/local.yaml)."""
    from confrt.userdata.formats import decode_userdata

    if local_data is None:
        entries = yaml.safe_load(gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw)["write_files"]
        local_data = entries[0]["path"]
    return decode_userdata(raw, local_data, STATEDIR, MAX_SIZE)


def layers(raw):
    """Every text a reader of the userdata gets out of it: the bytes, gunzipped, each write_files
    entry's content base64-decoded, and confrt's own decoding of it (data and files)."""
    found = [raw]
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
        found.append(raw)
    for entry in yaml.safe_load(raw)["write_files"]:
        assert entry["encoding"] == "b64"
        found.append(base64.b64decode(entry["content"]))
    decoded = decode(raw)
    found.append(json.dumps(decoded.data).encode())
    found.extend(item.content for item in decoded.files)
    return found


def assert_no_clear_secret(raw, secrets=SECRETS, decoded=True):
    for layer in layers(raw) if decoded else [raw]:
        for secret in secrets:
            secret = secret.encode()
            assert secret not in layer
            for shift in range(3):  # the secret's base64 at each alignment, its edges cut off
                assert base64.b64encode(b"\0" * shift + secret)[4:-4] not in layer


def eyaml_site(tmp_path, keys=KEYS):
    """A confrt.yaml whose hierarchy reads local_data as the packaged one does (eyaml), with `keys`."""
    hiera = tmp_path / "hiera.yaml"
    hiera.write_text(yaml.safe_dump({"version": 5, "defaults": {"datadir": ".", "data_hash": "yaml_data"},
                                     "hierarchy": [{"name": "local_data", "path": "%{confrt.local_data}",
                                                    "lookup_key": "eyaml_lookup_key", "options": {
                                                        "pkcs7_private_key": os.path.join(keys, "private_key.pkcs7.pem"),
                                                        "pkcs7_public_key": os.path.join(keys, "public_key.pkcs7.pem")}}]}))
    config = write_config(tmp_path)
    settings = yaml.safe_load(config.read_text())
    settings["hiera_config"] = str(hiera)
    config.write_text(yaml.safe_dump(settings))
    return config


def for_node(userdata, built_in, node):
    """The userdata built in tmp dir `built_in`, its local_data path that of a node site in `node`."""
    return userdata.read_bytes().replace(str(built_in / "data" / "local.yaml").encode(),
                                         str(node / "data" / "local.yaml").encode())


def build(run_confrt, tmp_path, data=DATA, *options, config=None):
    datafile = tmp_path / "worker-data.yaml"
    datafile.write_text(yaml.safe_dump(data))
    out = tmp_path / "worker.userdata"
    result = run_confrt("userdata", "build", datafile, "-o", out, "--config", config or write_config(tmp_path),
                        *options)
    return result, out


def test_sensitive_values_are_encrypted_per_leaf_and_no_clear_secret_remains(run_confrt, tmp_path):
    result, out = build(run_confrt, tmp_path, DATA, "--public-key", PUBLIC_KEY, "--gzip")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    raw = out.read_bytes()
    assert_no_clear_secret(raw)
    data = decode(raw).data
    assert data["condor::pool_password"].startswith("ENC[PKCS7,")
    assert sorted(data["condor::tokens"]) == ["pool_token", "second"]     # token file names stay
    assert all(value.startswith("ENC[PKCS7,") for value in data["condor::tokens"].values())
    assert data["site::db"]["user"].startswith("ENC[PKCS7,") and data["site::db"]["port"] == 5432
    for key in set(DATA) - set(ENCRYPTED):
        assert data[key] == DATA[key], key


def test_the_node_reads_back_exactly_what_was_built(run_confrt, tmp_path):
    result, out = build(run_confrt, tmp_path, DATA, "--public-key", PUBLIC_KEY)
    assert result.returncode == 0, result.stderr
    node = tmp_path / "node"
    node.mkdir()
    config = eyaml_site(node)
    (node / "userdata").write_bytes(for_node(out, tmp_path, node))
    fetched = run_confrt("userdata", "fetch", "--source", f"file:{node / 'userdata'}", "--config", config)
    assert fetched.returncode == 0, fetched.stderr
    local = (node / "data" / "local.yaml").read_bytes()
    assert_no_clear_secret(local, decoded=False)              # local_data keeps the ENC values
    assert_no_clear_secret((fetched.stdout + fetched.stderr).encode(), decoded=False)
    for key in ENCRYPTED + ("site::motd", "classes"):
        looked_up = run_confrt("lookup", key, "--render-as", "json", "--show-sensitive", "--config", config)
        assert looked_up.returncode == 0, looked_up.stderr
        assert json.loads(looked_up.stdout) == DATA[key], key
    hidden = run_confrt("lookup", "condor::tokens", "--config", config)
    assert TOKEN not in hidden.stdout and "redacted" in hidden.stdout


@pytest.mark.skipif(shutil.which("eyaml") is None, reason="hiera-eyaml is not installed (Debian package hiera-eyaml)")
def test_the_real_eyaml_decrypts_what_build_encrypts(run_confrt, tmp_path):
    result, out = build(run_confrt, tmp_path, DATA, "--public-key", PUBLIC_KEY)
    assert result.returncode == 0, result.stderr
    value = decode(out.read_bytes()).data["condor::tokens"]["pool_token"]
    clear = subprocess.run(["eyaml", "decrypt", "-s", value, "--pkcs7-private-key", os.path.join(KEYS, "private_key.pkcs7.pem"),
                            "--pkcs7-public-key", PUBLIC_KEY], capture_output=True, text=True, timeout=60)
    assert clear.returncode == 0, clear.stderr
    assert clear.stdout.strip() == TOKEN


def test_which_keys_are_sensitive(tmp_path):
    from confrt.config import load_config
    from confrt.engine.plugins import modules

    found = modules(load_config(str(write_config(tmp_path))))
    data = {
        "condor::pool_password": "a",           # Param(sensitive=True)
        "condor::tokens": {"t": "b"},           # Param(sensitive=True) and the module data's lookup_options
        "condor::collector_host": "c",          # a plain parameter
        "site::api_key": "d",                   # an exact name in the data's lookup_options
        "other::secret_x": "e",                 # a ^regex there
        "site::plain": "f",
        "nomodule": "g",
        "lookup_options": {"site::api_key": {"sensitive": True}, "^other::secret_": {"sensitive": True},
                           "condor::pool_password": {"sensitive": False}},   # cannot unmark a sensitive Param
    }
    assert sensitive_keys(data, "d.yaml", found) == ["condor::pool_password", "condor::tokens", "site::api_key",
                                                      "other::secret_x"]


def test_sensitive_keys_and_no_public_key_is_one_line_and_nothing_is_written(run_confrt, tmp_path):
    # the default: the public key of the level reading local_data (packaged: /etc/confrt/keys/...)
    result, out = build(run_confrt, tmp_path, DATA, config=eyaml_site(tmp_path, keys=str(tmp_path / "no-keys")))
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("confrt: error: "), result.stderr
    assert lines[0] == (f"confrt: error: {tmp_path / 'worker-data.yaml'}: condor::pool_password: sensitive, and no "
                        f"public key to encrypt it: {tmp_path / 'no-keys' / 'public_key.pkcs7.pem'}: No such file "
                        f"or directory; give --public-key FILE (the image's eyaml public key) or --clear-secrets "
                        f"to send it in clear")
    assert not out.exists()
    missing = run_confrt("userdata", "build", tmp_path / "worker-data.yaml", "-o", out,
                         "--config", write_config(tmp_path), "--public-key", tmp_path / "absent.pem")
    assert missing.returncode == 1 and not out.exists()
    assert missing.stderr.strip() == f"confrt: error: --public-key {tmp_path / 'absent.pem'}: No such file or directory"


def test_clear_secrets_sends_them_in_clear_and_says_which(run_confrt, tmp_path):
    both, out = build(run_confrt, tmp_path, DATA, "--clear-secrets", "--public-key", PUBLIC_KEY)
    assert both.returncode == 2 and "not allowed with argument" in both.stderr and not out.exists()
    result, out = build(run_confrt, tmp_path, DATA, "--clear-secrets")
    assert result.returncode == 0, result.stderr
    assert ("condor::pool_password, condor::tokens, site::db, site::tls_key: sensitive, sent in clear "
            "(--clear-secrets)") in result.stderr
    assert POOL not in result.stderr
    assert decode(out.read_bytes()).data["condor::pool_password"] == POOL


def test_data_without_secrets_needs_no_key_and_is_embedded_as_written(run_confrt, tmp_path):
    data = "# the site's own comment\nclasses: [condor]\ncondor::collector_host: cm.example.org\n"
    datafile = tmp_path / "plain.yaml"
    datafile.write_text(data)
    result = run_confrt("userdata", "build", datafile, "--config", write_config(tmp_path))
    assert result.returncode == 0 and result.stderr == ""
    content = yaml.safe_load(result.stdout)["write_files"][0]["content"]
    assert base64.b64decode(content).decode() == data


def test_what_is_already_encrypted_stays_and_numbers_are_named(run_confrt, tmp_path):
    from confrt.data.eyaml import Pkcs7Keys

    made_before = Pkcs7Keys(public_key=PUBLIC_KEY).encrypt(POOL, "test")
    data = {"condor::pool_password": made_before, "site::pin": 1234, "site::unmarked_password": "x",
            "site::db": {"port": 5432, "password": 1234},
            "lookup_options": {"site::pin": {"sensitive": True}, "site::db": {"sensitive": True}}}
    result, out = build(run_confrt, tmp_path, data, "--public-key", PUBLIC_KEY)
    assert result.returncode == 0, result.stderr
    decoded = decode(out.read_bytes()).data
    assert decoded["condor::pool_password"] == made_before
    assert "site::pin: a number stays in clear (only strings are encrypted: quote it)" in result.stderr
    assert "site::db at password: a number stays in clear" in result.stderr and " at port" not in result.stderr
    assert decoded["site::db"] == {"port": 5432, "password": 1234}
    assert ("site::unmarked_password: looks like a secret, but nothing marks it sensitive, so it goes in clear"
            in result.stderr)


def test_a_value_the_node_cannot_decrypt_fails_the_fetch_and_keeps_local_data(run_confrt, tmp_path):
    result, out = build(run_confrt, tmp_path, DATA, "--public-key", PUBLIC_KEY)
    assert result.returncode == 0, result.stderr
    node = tmp_path / "node"
    node.mkdir()
    config = eyaml_site(node, keys=OTHER)   # this image's key pair is not the one built for
    (node / "data").mkdir()
    previous = b"classes: [condor]\ncondor::collector_host: old.example.org\n"
    (node / "data" / "local.yaml").write_bytes(previous)
    (node / "userdata").write_bytes(for_node(out, tmp_path, node))
    fetched = run_confrt("userdata", "fetch", "--source", f"file:{node / 'userdata'}", "--config", config)
    assert fetched.returncode == 1
    assert fetched.stderr.splitlines() == [
        f"confrt: error: local_data key 'condor::pool_password': cannot decrypt: the private key "
        f"{os.path.join(OTHER, 'private_key.pkcs7.pem')} does not open it (wrong key pair)"]
    assert "ENC[" not in fetched.stderr
    assert (node / "data" / "local.yaml").read_bytes() == previous
    assert not (node / "state").exists()     # nothing else written either


def test_encrypted_values_and_no_eyaml_level_reading_local_data_fail_the_fetch(run_confrt, tmp_path):
    result, out = build(run_confrt, tmp_path, DATA, "--public-key", PUBLIC_KEY)
    assert result.returncode == 0, result.stderr
    hiera = tmp_path / "plain-hiera.yaml"
    hiera.write_text(yaml.safe_dump({"version": 5, "hierarchy": [
        {"name": "local", "path": "%{confrt.local_data}", "datadir": "."}]}))
    config = write_config(tmp_path)
    config.write_text(config.read_text() + f"hiera_config: {hiera}\n")
    fetched = run_confrt("userdata", "fetch", "--source", f"file:{out}", "--config", config)
    assert fetched.returncode == 1
    assert fetched.stderr.strip() == (f"confrt: error: local_data key 'condor::pool_password': holds an ENC[...] "
                                      f"value, but no eyaml_lookup_key level of {hiera} reads "
                                      f"{tmp_path / 'data' / 'local.yaml'} (the packaged hierarchy's does)")
    assert not (tmp_path / "data" / "local.yaml").exists()


def test_the_packaged_hierarchy_reads_local_data_with_the_image_key_pair(tmp_path):
    from confrt.config import load_config

    config = load_config(str(write_config(tmp_path)))
    keys, hiera = local_data_keys(config)
    assert hiera.endswith("hiera.yaml") and os.path.dirname(hiera) != str(tmp_path)
    assert (keys.private_key, keys.public_key) == ("/etc/confrt/keys/private_key.pkcs7.pem",
                                                   "/etc/confrt/keys/public_key.pkcs7.pem")


NODE_TYPE = {"ami": "ami-0123456789abcdef0", "instance_type": "m5.large", "data": "worker-data.yaml",
             "access_key_file": "ec2_access", "secret_key_file": "ec2_secret",
             "ec2_url": "https://ec2.us-east-1.amazonaws.com"}


def submit_dir(tmp_path, extra=""):
    (tmp_path / "ec2_access").write_text("AKIAIOSFODNN7EXAMPLE\n")
    (tmp_path / "ec2_secret").write_text("not-a-real-secret\n")
    (tmp_path / "ec2_secret").chmod(0o600)
    (tmp_path / "worker-data.yaml").write_text(yaml.safe_dump(DATA))
    (tmp_path / "worker.yaml").write_text(yaml.safe_dump(NODE_TYPE) + extra)
    return tmp_path / "worker.yaml"


def test_submit_encrypts_for_the_node_types_public_key_and_rewrites_only_on_change(run_confrt, tmp_path):
    shutil.copy(PUBLIC_KEY, tmp_path / "image.pem")
    node = submit_dir(tmp_path, "public_key: image.pem\n")
    out = tmp_path / "out"
    first = run_confrt("submit", node, "-o", out, "--config", write_config(tmp_path))
    assert first.returncode == 0, first.stderr
    userdata = out / "worker.userdata"
    raw = userdata.read_bytes()
    assert_no_clear_secret(raw)
    assert decode(raw).data["condor::pool_password"].startswith("ENC[PKCS7,")
    # each encryption is new ciphertext: a rerun keeps the file while the input and key are the same
    again = run_confrt("submit", node, "-o", out, "--config", write_config(tmp_path))
    assert again.returncode == 0 and f"unchanged {userdata}" in again.stdout
    assert userdata.read_bytes() == raw
    stamp = (out / ".worker.userdata.stamp").read_bytes()
    assert oct(os.stat(out / ".worker.userdata.stamp").st_mode & 0o777) == oct(0o600)
    assert POOL.encode() not in stamp
    (tmp_path / "worker-data.yaml").write_text(yaml.safe_dump(dict(DATA, **{"condor::pool_password": "new-Pool-pa55-2"})))
    changed = run_confrt("submit", node, "-o", out, "--config", write_config(tmp_path))
    assert changed.returncode == 0 and f"wrote {userdata}" in changed.stdout
    assert_no_clear_secret(userdata.read_bytes(), SECRETS + ("new-Pool-pa55-2",))
    shutil.copy(os.path.join(OTHER, "public_key.pkcs7.pem"), tmp_path / "image.pem")   # a new image key
    rekeyed = run_confrt("submit", node, "-o", out, "--config", write_config(tmp_path))
    assert rekeyed.returncode == 0 and f"wrote {userdata}" in rekeyed.stdout


def test_submit_without_a_public_key_names_the_node_type_key(run_confrt, tmp_path):
    node = submit_dir(tmp_path)
    out = tmp_path / "out"
    result = run_confrt("submit", node, "-o", out, "--config", eyaml_site(tmp_path, keys=str(tmp_path / "no-keys")))
    assert result.returncode == 1
    assert len(result.stderr.splitlines()) == 1
    assert f"give public_key: FILE in {node} (the image's eyaml public key) or clear_secrets: true" in result.stderr
    assert not out.exists()
    bad = submit_dir(tmp_path, "public_key: absent.pem\n")
    missing = run_confrt("submit", bad, "-o", out, "--config", write_config(tmp_path))
    assert missing.returncode == 1 and f"{bad}: public_key: {tmp_path / 'absent.pem'}: no such file" in missing.stderr
    both = submit_dir(tmp_path, f"public_key: {PUBLIC_KEY}\nclear_secrets: true\n")
    refused = run_confrt("submit", both, "-o", out, "--config", write_config(tmp_path))
    assert refused.returncode == 1 and refused.stderr.strip() == (
        f"confrt: error: {both}: clear_secrets: true contradicts public_key (give one of them)")
    assert not out.exists()
    clear = submit_dir(tmp_path, "clear_secrets: true\n")
    sent = run_confrt("submit", clear, "-o", out, "--config", write_config(tmp_path))
    assert sent.returncode == 0 and "sent in clear (clear_secrets: true)" in sent.stderr


@pytest.mark.parametrize("options, problem", [
    ({"site::db": {"sensitive": "true"}}, "'site::db': sensitive: expected true or false, got 'true'"),
    ({"^site::(": {"sensitive": True}}, "'^site::(': bad regular expression"),
    ({"site::db": {"merge": "deeper"}}, "lookup_options for 'site::db'"),
    ({"%{facts.role}::db": {"sensitive": True}}, "'%{facts.role}::db': sensitive: a name interpolated on the node"),
])
def test_lookup_options_the_node_would_refuse_are_refused_before_anything_is_sent(run_confrt, tmp_path, options,
                                                                                   problem):
    """A quoted `sensitive: "true"` read as not sensitive sent site::db in clear, and only then did the node
    refuse the data: build reads lookup_options as the data store does, and stops."""
    data = {"classes": [], "site::db": "s3cret-value-123", "lookup_options": options}
    result, out = build(run_confrt, tmp_path, data, "--clear-secrets")
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 1 and len(lines) == 1, result.stderr
    assert lines[0].startswith(f"confrt: error: {tmp_path / 'worker-data.yaml'}: ") and problem in lines[0], lines[0]
    assert not out.exists() and "s3cret-value-123" not in result.stdout + result.stderr


def test_a_key_the_data_file_marks_sensitive_is_encrypted_whatever_a_modules_regex_comes_first(run_confrt,
                                                                                                 tmp_path):
    """The data file says ^vault::.*_key$ is sensitive; the module's data has a ^vault:: regex (a merge
    only) that comes first in the merged order. Build sent vault::db_key in clear: a data file's own
    `sensitive: true` must not be undone by a regex its author does not see (and the node marks the
    value sensitive anyway once it decrypts it)."""
    modules = tmp_path / "modules"
    (modules / "vault" / "data").mkdir(parents=True)
    (modules / "vault" / "module.py").write_text('DOC = "test"\nPARAMS = []\n\n\ndef declare(params, facts, ctx):\n'
                                                 '    return []\n')
    (modules / "vault" / "data" / "common.yaml").write_text(yaml.safe_dump(
        {"lookup_options": {"^vault::": {"merge": "deep"}}}))
    config = write_config(tmp_path)
    settings = yaml.safe_load(config.read_text())
    settings["modulepath"] = [str(modules)]
    config.write_text(yaml.safe_dump(settings))
    data = {"classes": [], "vault::db_key": DB, "lookup_options": {"^vault::.*_key$": {"sensitive": True}}}
    result, out = build(run_confrt, tmp_path, data, "--public-key", PUBLIC_KEY, config=config)
    assert result.returncode == 0, result.stderr
    assert_no_clear_secret(out.read_bytes(), (DB,))
    assert decode(out.read_bytes()).data["vault::db_key"].startswith("ENC[PKCS7,")

"""hiera-eyaml in the data store (eyaml_lookup_key levels) and `confrt eyaml`, on the fixture
tests/fixtures/data/eyaml (made by the real eyaml; tests/compat compares with it and Puppet).
Only openssl is needed here."""
import os
import shutil
import subprocess

import pytest
import yaml

import confrt.data.eyaml as eyaml
from confrt.data import DataStore
from confrt.errors import DataError
from confrt.facts import Facts

FIXTURE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fixtures", "data", "eyaml")
RUN = os.path.join(FIXTURE, "run")
KEYS = os.path.join(RUN, "keys")
FACTS = {"networking": {"fqdn": "wn1.example.org", "hostname": "wn1"}}
# every clear text of the fixture: none may ever appear where a secret must not
CLEAR = ["pool-s3cret", "eyJhbGciOiJIUzI1NiIs", "db-pa55", "atlas-pw", "tok-one", "tok-two", "line one",
         "pw-wn1", "node-secret", "never-shown"]

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="the openssl command is not installed")


@pytest.fixture
def store(monkeypatch):
    monkeypatch.chdir(RUN)   # the fixture's key paths are relative: to the working directory
    return DataStore(os.path.join(FIXTURE, "hiera.yaml"), Facts.static(FACTS))


@pytest.fixture
def openssl_calls(monkeypatch):
    calls = []
    real = eyaml.run_openssl

    def counting(argv, data, where):
        calls.append(argv[:2])
        return real(argv, data, where)

    monkeypatch.setattr(eyaml, "run_openssl", counting)
    return calls


@pytest.mark.parametrize("key, clear", [
    ("condor::pool_password", "pool-s3cret"),
    ("db", {"user": "atlas", "password": "db-pa55", "url": "postgres://atlas:atlas-pw@db.example.org/atlas"}),
    ("tokens", ["tok-one", "plain-token", "tok-two"]),
    ("multiline", "line one\nline two"),             # one trailing newline removed, as Puppet
    ("interpolated", "pw-wn1"),                      # %{...} in a clear text is interpolated, as Puppet
    ("per_node", {"wn1": "node-secret"}),
    ("looks_encrypted", "ENC[not base64!]"),
    ("htcondor::idtoken", "eyJhbGciOiJIUzI1NiIsImtpZCI6IlBPT0wifQ.eyJpc3MiOiJjbS5leGFtcGxlLm9yZyJ9.c2lnbmF0dXJl"),
])
def test_values_are_decrypted_where_they_stand(store, key, clear):
    assert store.lookup(key) == clear


def test_decrypted_values_and_values_built_from_them_are_sensitive(store):
    for key in ("condor::pool_password", "db", "derived", "aliased", "from_site", "plain_here", "plain", "vo_list"):
        store.lookup(key)
    for key in ("condor::pool_password", "db", "db.user", "derived", "aliased", "from_site"):
        assert store.is_sensitive(key), key
    for key in ("plain_here", "plain", "vo_list"):
        assert not store.is_sensitive(key), key


def test_only_the_values_looked_up_are_decrypted_once(store, openssl_calls):
    assert store.lookup("plain_here") == "not a secret"
    assert store.lookup("plain_in_wrong") == "readable"      # a level whose keys cannot open its secrets
    assert store.lookup("plain_in_missing") == "readable"    # a level whose private key file is missing
    assert openssl_calls == []
    store.lookup("db")
    store.lookup("db.password")
    assert openssl_calls == [["smime", "-decrypt"]] * 2      # password and url, each once


def test_explain_redacts_every_value_of_a_secret(store):
    text = store.explain("from_site")
    assert "[redacted]" in text and not any(clear in text for clear in CLEAR)
    assert '"not a secret"' in store.explain("plain_here")


@pytest.mark.parametrize("key, message", [
    ("wrong_pair", "wrong.eyaml: key 'wrong_pair': cannot decrypt: the private key other/private_key.pkcs7.pem "
                   f"({RUN}/other/private_key.pkcs7.pem) does not open it (wrong key pair)"),
    ("needs_missing_key", "missing.eyaml: key 'needs_missing_key': cannot decrypt: pkcs7_private_key "
                          f"keys/no_such_key.pkcs7.pem ({RUN}/keys/no_such_key.pkcs7.pem): No such file or directory"),
    ("truncated", "broken.eyaml: key 'truncated': cannot decrypt: the ENC block is corrupt or truncated "
                  "(not PKCS#7 enveloped data)"),
    ("not_base64", "broken.eyaml: key 'not_base64': cannot decrypt: the ENC block is corrupt or truncated "
                   "(not base64)"),
    ("gpg_scheme", "broken.eyaml: key 'gpg_scheme': encryption scheme GPG: not supported (only PKCS7)"),
    ("second_block_bad", "broken.eyaml: key 'second_block_bad' (ENC block 2 of 2): cannot decrypt: the ENC block "
                         "is corrupt or truncated"),
])
def test_bad_values_and_keys_are_one_line_naming_file_key_and_key_file(store, key, message):
    with pytest.raises(DataError) as caught:
        store.lookup(key)
    text = str(caught.value)
    assert message in text and "\n" not in text
    assert "MII" not in text and "ENC[" not in text and "never-shown" not in text


def test_key_file_that_is_not_a_key_or_not_a_file(tmp_path, monkeypatch):
    monkeypatch.chdir(RUN)
    (tmp_path / "junk.pem").write_text("not a key\n")
    token = yaml.safe_load(open(os.path.join(FIXTURE, "data", "secrets.eyaml")))["condor::pool_password"]
    for private, public, problem in [
        (str(tmp_path / "junk.pem"), f"{KEYS}/public_key.pkcs7.pem", "pkcs7_private_key ") ,
        (f"{KEYS}/private_key.pkcs7.pem", str(tmp_path / "junk.pem"), "pkcs7_public_key "),
        (str(tmp_path), f"{KEYS}/public_key.pkcs7.pem", f"pkcs7_private_key {tmp_path}: not a regular file"),
        (None, f"{KEYS}/public_key.pkcs7.pem", "pkcs7_private_key is not set"),
    ]:
        with pytest.raises(DataError, match="^f: key 'k': cannot decrypt: " + problem):
            eyaml.decrypt_value(token, eyaml.Pkcs7Keys(private, public), "f: key 'k'")


def test_eyaml_from_defaults_with_options_naming_facts(tmp_path):
    """lookup_key and options in `defaults` serve every level without a data_hash of its own;
    option values interpolate variables (as Puppet), a level's own options replace them."""
    (tmp_path / "data").mkdir()
    shutil.copy(os.path.join(FIXTURE, "data", "secrets.eyaml"), tmp_path / "data")
    (tmp_path / "data" / "plain.yaml").write_text("db: {user: plain}\n")
    (tmp_path / "hiera.yaml").write_text(yaml.safe_dump({
        "version": 5,
        "defaults": {"lookup_key": "eyaml_lookup_key",
                     "options": {"pkcs7_private_key": "%{keys}/private_key.pkcs7.pem",
                                 "pkcs7_public_key": "%{keys}/public_key.pkcs7.pem"}},
        "hierarchy": [{"name": "plain", "path": "plain.yaml", "data_hash": "yaml_data"},
                      {"name": "secrets", "path": "secrets.eyaml"}]}))
    store = DataStore(str(tmp_path / "hiera.yaml"), Facts.static(dict(FACTS, keys=KEYS)))
    assert store.lookup("db", merge="deep")["password"] == "db-pa55"
    assert store.lookup("db.user") == "plain"


def eyaml_site(root, common, keys_dir=KEYS):
    """A confrt site whose top level is the fixture's secrets.eyaml (absolute key paths) and then
    `common` (plain YAML); modules: the packaged ones."""
    from confrt.paths import packaged_modules

    root = str(root)
    os.makedirs(os.path.join(root, "data"))
    shutil.copy(os.path.join(FIXTURE, "data", "secrets.eyaml"), os.path.join(root, "data"))
    with open(os.path.join(root, "data", "common.yaml"), "w") as handle:
        yaml.safe_dump(common, handle)
    with open(os.path.join(root, "hiera.yaml"), "w") as handle:
        yaml.safe_dump({"version": 5, "defaults": {"datadir": "data", "data_hash": "yaml_data"}, "hierarchy": [
            {"name": "secrets", "lookup_key": "eyaml_lookup_key", "path": "secrets.eyaml",
             "options": {"pkcs7_private_key": f"{keys_dir}/private_key.pkcs7.pem",
                         "pkcs7_public_key": f"{keys_dir}/public_key.pkcs7.pem"}},
            {"name": "common", "path": "common.yaml"}]}, handle)
    config = {"hiera_config": os.path.join(root, "hiera.yaml"), "statedir": os.path.join(root, "state"),
              "local_data": os.path.join(root, "local.yaml"), "facts_dir": os.path.join(root, "facts.d"),
              "modulepath": [packaged_modules()]}
    with open(os.path.join(root, "confrt.yaml"), "w") as handle:
        yaml.safe_dump(config, handle)
    return {"CONFRT_CONFIG": os.path.join(root, "confrt.yaml"), "CONFRT_PARSE_CACHE": os.path.join(root, "cache")}


def files_under(*directories):
    for directory in directories:
        for base, _, names in os.walk(directory):
            for name in names:
                yield os.path.join(base, name)


def test_lookup_prints_secrets_redacted_and_the_parse_cache_never_holds_them(tmp_path, run_confrt):
    env = eyaml_site(tmp_path, {"plain": "common value", "derived": "pw=%{lookup('db.password')}"})
    for key in ("db", "derived", "condor::pool_password"):
        result = run_confrt("lookup", key, env=env)
        assert result.returncode == 0 and "[redacted]" in result.stdout
        assert not any(clear in result.stdout + result.stderr for clear in CLEAR)
    shown = run_confrt("lookup", "derived", "--show-sensitive", "--render-as", "json", env=env)
    assert shown.stdout.strip() == '"pw=db-pa55"'
    assert run_confrt("lookup", "plain", env=env).stdout.strip() == "common value"
    cached = [open(path, "rb").read() for path in files_under(tmp_path / "cache")]
    assert any(b"ENC[PKCS7," in entry for entry in cached)  # the eyaml file's entry: its ciphertext only
    assert not any(clear.encode() in entry for entry in cached for clear in CLEAR)


def test_apply_writes_clear_values_into_files_and_prints_none(tmp_path, run_confrt):
    conf, token = tmp_path / "etc" / "db.conf", tmp_path / "etc" / "pool"
    env = eyaml_site(tmp_path, {"classes": ["resources"], "resources::file": {
        str(conf): {"content": "user=%{lookup('db.user')}\npassword=%{lookup('db.password')}\n"},
        str(token): {"content": "%{lookup('condor::pool_password')}\n", "mode": "0600"}}})
    (tmp_path / "etc").mkdir()
    noop = run_confrt("apply", "--noop", env=env)
    real = run_confrt("apply", env=env)
    again = run_confrt("apply", "--detailed-exitcodes", env=env)
    shown = run_confrt("modules", "show", "resources", env=env)
    for result in (noop, real, again, shown):
        assert result.returncode == 0, result.stderr
        assert not any(clear in result.stdout + result.stderr for clear in CLEAR), result.stdout
    assert "[redacted]" in noop.stdout and "[redacted]" in real.stdout and "[redacted]" in shown.stdout
    assert conf.read_text() == "user=atlas\npassword=db-pa55\n"
    assert token.read_text() == "pool-s3cret\n"
    assert "0 changed" in again.stdout
    for path in files_under(tmp_path / "state", tmp_path / "cache"):
        content = open(path, "rb").read()
        assert not any(clear.encode() in content for clear in CLEAR), path


def test_bad_key_file_fails_the_apply_before_any_change(tmp_path, run_confrt):
    target = tmp_path / "pool"
    env = eyaml_site(tmp_path, {"classes": ["resources"], "resources::file": {
        str(target): {"content": "%{lookup('condor::pool_password')}\n"}}}, keys_dir=str(tmp_path / "nokeys"))
    result = run_confrt("apply", env=env)
    assert result.returncode == 1 and not target.exists()
    assert result.stderr.splitlines() == [
        f"confrt: error: {tmp_path}/data/secrets.eyaml: key 'condor::pool_password': cannot decrypt: "
        f"pkcs7_private_key {tmp_path}/nokeys/private_key.pkcs7.pem: No such file or directory"]


# -- confrt eyaml

def test_createkeys_encrypt_decrypt(tmp_path, run_confrt):
    made = run_confrt("eyaml", "createkeys", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    private, public = tmp_path / "keys" / "private_key.pkcs7.pem", tmp_path / "keys" / "public_key.pkcs7.pem"
    assert (private.stat().st_mode & 0o777, public.stat().st_mode & 0o777) == (0o600, 0o644)
    certificate = subprocess.run(["openssl", "x509", "-in", str(public), "-noout", "-subject", "-issuer",
                                  "-serial", "-ext", "basicConstraints"], capture_output=True, text=True)
    assert certificate.stdout.split("\n")[:3] == ["subject=", "issuer=", "serial=01"]   # as eyaml's
    assert "critical" in certificate.stdout and "CA:TRUE" in certificate.stdout
    again = run_confrt("eyaml", "createkeys", cwd=tmp_path)
    assert again.returncode == 1 and "exists; not overwritten" in again.stderr

    text = "two\nlines"
    block = run_confrt("eyaml", "encrypt", "--stdin", "-o", "block", "-l", "k", input=text, cwd=tmp_path)
    lines = block.stdout.splitlines()
    assert lines[0] == "k: >" and lines[1].startswith("  ENC[PKCS7,MII") and lines[-1].endswith("]")
    assert all(len(line) == 62 for line in lines[1:-1])      # 60 characters a line, indented 2, as eyaml
    (tmp_path / "s.eyaml").write_text(block.stdout)
    decrypted = run_confrt("eyaml", "decrypt", "-f", "s.eyaml", cwd=tmp_path)
    assert decrypted.stdout == "k: |\n  two\n  lines\n"
    string = run_confrt("eyaml", "encrypt", "-s", "one", "-o", "string", cwd=tmp_path).stdout.strip()
    assert run_confrt("eyaml", "decrypt", "-s", f"a={string}", cwd=tmp_path).stdout == "a=one\n"
    wrong = run_confrt("eyaml", "decrypt", "-s", string, "--pkcs7-private-key", f"{KEYS}/private_key.pkcs7.pem",
                       "--pkcs7-public-key", f"{KEYS}/public_key.pkcs7.pem", cwd=tmp_path)
    assert wrong.returncode == 1 and len(wrong.stderr.splitlines()) == 1
    assert "does not open it (wrong key pair)" in wrong.stderr and "MII" not in wrong.stderr


def test_eyaml_bad_input_is_one_line(tmp_path, run_confrt):
    for argv, message in [
        (["encrypt", "-s", "x"], "--string: cannot encrypt: pkcs7_public_key ./keys/public_key.pkcs7.pem"),
        (["decrypt", "-f", "nothere"], "nothere: cannot read: No such file or directory"),
        (["decrypt", "-s", "ENC[PKCS7,MIIBeQ=]"], "the ENC block is corrupt or truncated (not base64)"),
    ]:
        result = run_confrt("eyaml", *argv, cwd=tmp_path)
        assert result.returncode == 1 and len(result.stderr.splitlines()) == 1, result.stderr
        assert message in result.stderr

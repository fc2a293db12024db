"""Submit to node without a clear secret (issue 18 §2), in the scratch system: `confrt userdata build`
encrypts the condor pool password and token for the image's public key, so the userdata holds
neither in any encoding; a VM booted from it (NoCloud seed, the packaged hierarchy, the key pair in
/etc/confrt/keys) writes the scrambled pool password file and the token file, and keeps only
ciphertext in local_data. Userdata built for another image's key fails the boot run's userdata step
with one line naming the key; the last good local_data stays. Key pairs made by `confrt eyaml
createkeys` and by the real `eyaml createkeys` (Debian package hiera-eyaml)."""
import base64
import gzip
import shutil
import subprocess

import pytest
import yaml

SEED = "/var/lib/cloud/seed/nocloud"
KEYS = "/etc/confrt/keys"
LOCAL_DATA = "/etc/confrt/data/local.yaml"
POOL = "Scratch-pool-Pa55"
TOKEN = "eyJhbGciOiJIUzI1NiIsImtpZCI6IlBPT0wifQ.eyJzdWIiOiJjb25kb3JAc2NyYXRjaCJ9.c2NyYXRjaC1zaWduYXR1cmU"


def node_data(collector="cm.example.org"):
    return {"classes": ["condor"], "condor::roles": ["execute"], "condor::collector_host": collector,
            "condor::manage_package": False, "condor::manage_service": False,   # no HTCondor needed
            "condor::pool_password": POOL, "condor::tokens": {"pool_token": TOKEN}}


def make_keys(maker, run_confrt, directory):
    """(private key, public key) made in `directory` by `maker`: confrt or the real eyaml."""
    private, public = directory / "keys" / "private_key.pkcs7.pem", directory / "keys" / "public_key.pkcs7.pem"
    if maker == "eyaml":
        if shutil.which("eyaml") is None:
            pytest.skip("hiera-eyaml is not installed (Debian package hiera-eyaml)")
        made = subprocess.run(["eyaml", "createkeys"], cwd=directory, capture_output=True, text=True, timeout=120)
    else:
        made = run_confrt("eyaml", "createkeys", "--pkcs7-private-key", private, "--pkcs7-public-key", public)
    assert made.returncode == 0, made.stderr
    return private, public


def build(run_confrt, tmp_path, data, public_key):
    """Userdata made on the submit side (this host, confrt's defaults for the node's paths)."""
    (tmp_path / "worker-data.yaml").write_text(yaml.safe_dump(data))
    (tmp_path / "confrt.yaml").write_text(f"statedir: {tmp_path / 'state'}\n")
    out = tmp_path / "worker.userdata"
    built = run_confrt("userdata", "build", tmp_path / "worker-data.yaml", "--public-key", public_key, "--gzip",
                       "-o", out, "--config", tmp_path / "confrt.yaml")
    assert built.returncode == 0, built.stderr
    return out.read_bytes()


def decoded_layers(raw):
    """The userdata and everything inside it: gunzipped, each write_files content base64-decoded."""
    text = gzip.decompress(raw)
    parts = [base64.b64decode(entry["content"]) for entry in yaml.safe_load(text)["write_files"]]
    return [raw, text] + parts


def assert_no_secret(*texts):
    for text in texts:
        text = text.encode() if isinstance(text, str) else text
        for secret in (POOL, TOKEN):
            assert secret.encode() not in text
            assert base64.b64encode(secret.encode())[:-4] not in text


def boot(scratch, userdata, instance_id):
    scratch.write_file(f"{SEED}/meta-data", f"instance-id: {instance_id}\n")
    scratch.write_file(f"{SEED}/user-data", userdata)
    return scratch.confrt("run", "--boot")


def scrambled(password):
    """HTCondor's simple_scramble (XOR DE AD BE EF), as condor_store_cred writes the POOL file."""
    key = bytes([0xDE, 0xAD, 0xBE, 0xEF])
    return bytes(byte ^ key[i % 4] for i, byte in enumerate(password.encode()))


@pytest.mark.parametrize("maker", ["confrt", "eyaml"])
def test_boot_from_encrypted_userdata_writes_the_secrets_and_a_wrong_key_keeps_the_last_good_data(
        scratch, run_confrt, tmp_path, maker):
    private, public = make_keys(maker, run_confrt, tmp_path)
    userdata = build(run_confrt, tmp_path, node_data(), public)
    assert_no_secret(*decoded_layers(userdata))

    # the image: its key pair in /etc/confrt/keys (private 0600 root), the packaged hierarchy
    scratch.write_file("/etc/confrt/confrt.yaml", yaml.safe_dump({"userdata": {"sources": [f"nocloud:{SEED}"]}}))
    scratch.write_file(f"{KEYS}/private_key.pkcs7.pem", private.read_bytes(), mode=0o600)
    scratch.write_file(f"{KEYS}/public_key.pkcs7.pem", public.read_bytes(), mode=0o644)
    first = boot(scratch, userdata, "i-secrets-0001")
    assert first.returncode == 2, first.stdout + first.stderr
    assert scratch.read_file("/etc/condor/passwords.d/POOL") == scrambled(POOL)
    assert scratch.stat("/etc/condor/passwords.d/POOL") == (0o600, "root", "root")
    assert scratch.read_text("/etc/condor/tokens.d/pool_token") == TOKEN + "\n"
    assert scratch.stat("/etc/condor/tokens.d/pool_token") == (0o600, "root", "root")
    local = scratch.read_file(LOCAL_DATA)
    assert b"ENC[PKCS7," in local
    summary = scratch.read_text("/var/lib/confrt/last_run_summary.yaml")
    assert_no_secret(local, first.stdout, first.stderr, scratch.read_text("/var/log/confrt/run.log"), summary)
    again = boot(scratch, userdata, "i-secrets-0001")
    assert again.returncode == 0, again.stdout + again.stderr

    # userdata built for another image's key: the step fails naming the key, the rest still applies
    other_private, other_public = make_keys("confrt", run_confrt, tmp_path / "other")
    foreign = build(run_confrt, tmp_path, node_data("cm2.example.org"), other_public)
    wrong = boot(scratch, foreign, "i-secrets-0001")
    assert wrong.returncode == 4, wrong.stdout + wrong.stderr
    errors = [line for line in wrong.stderr.splitlines() if "userdata" in line]
    assert errors == [f"confrt: userdata: local_data key 'condor::pool_password': cannot decrypt: the "
                      f"private key {KEYS}/private_key.pkcs7.pem does not open it (wrong key pair); keeping the "
                      f"last good {LOCAL_DATA}"], wrong.stderr
    assert scratch.read_file(LOCAL_DATA) == local
    steps = yaml.safe_load(scratch.read_text("/var/lib/confrt/last_run_summary.yaml"))["steps"]
    assert steps["userdata"]["status"] == "failed" and steps["userdata"]["kept_local_data"] == LOCAL_DATA
    assert "cm.example.org" in scratch.read_text("/etc/condor/config.d/10-confrt-roles.conf")
    assert scratch.read_file("/etc/condor/passwords.d/POOL") == scrambled(POOL)
    assert "ENC[" not in wrong.stdout + wrong.stderr
    assert_no_secret(wrong.stdout, wrong.stderr, scratch.read_text("/var/log/confrt/run.log"))

"""`confrt eyaml` against the real hiera-eyaml tool (Debian package hiera-eyaml): each reads
what the other writes, with keys either one made. The data store's eyaml levels are compared
with `puppet lookup` in test_puppet_lookup.py (fixture set `eyaml`)."""
import os
import shutil
import subprocess

import pytest

EYAML = shutil.which("eyaml")
FIXTURE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fixtures", "data", "eyaml")

pytestmark = [
    pytest.mark.compat,
    pytest.mark.skipif(EYAML is None, reason="the eyaml tool is not installed (Debian package hiera-eyaml)"),
]


def eyaml(*args, cwd, input=None):
    result = subprocess.run([EYAML, *args], capture_output=True, text=True, cwd=cwd, input=input, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout


def keys_of(directory):
    return ["--pkcs7-private-key", f"{directory}/keys/private_key.pkcs7.pem",
            "--pkcs7-public-key", f"{directory}/keys/public_key.pkcs7.pem"]


def test_each_reads_what_the_other_encrypts_with_keys_either_made(tmp_path, run_confrt):
    theirs, ours = tmp_path / "theirs", tmp_path / "ours"
    theirs.mkdir()
    ours.mkdir()
    eyaml("createkeys", cwd=theirs)
    assert run_confrt("eyaml", "createkeys", cwd=ours).returncode == 0
    clear = "p@ss word\nsecond line"
    for directory in (theirs, ours):
        # confrt encrypts (string and block forms in one file), eyaml decrypts
        string = run_confrt("eyaml", "encrypt", "--stdin", "-o", "string", "-l", "one", *keys_of(directory),
                            input=clear).stdout
        block = run_confrt("eyaml", "encrypt", "-s", "blocky", "-o", "block", "-l", "two", *keys_of(directory)).stdout
        (directory / "ours.eyaml").write_text(string + block)
        assert eyaml("decrypt", "-f", "ours.eyaml", *keys_of(directory), cwd=directory) == \
            "one: |\n  p@ss word\n  second line\ntwo: blocky\n"
        # eyaml encrypts, confrt decrypts
        text = eyaml("encrypt", "-o", "examples", "-l", "k", "--stdin", *keys_of(directory), cwd=directory,
                     input=clear)
        (directory / "theirs.eyaml").write_text(text)
        decrypted = run_confrt("eyaml", "decrypt", "-f", "theirs.eyaml", *keys_of(directory), cwd=directory)
        assert decrypted.stdout == eyaml("decrypt", "-f", "theirs.eyaml", *keys_of(directory), cwd=directory)
        assert decrypted.stdout.count("p@ss word\n  second line") == 2


def test_certificates_alike(tmp_path, run_confrt):
    """confrt's createkeys makes the certificate eyaml makes: same fields, same extensions."""
    def described(directory):
        text = subprocess.run(["openssl", "x509", "-in", f"{directory}/keys/public_key.pkcs7.pem", "-noout",
                               "-text"], capture_output=True, text=True).stdout
        keep = ("Version", "Serial", "Signature Algorithm", "Issuer", "Subject:", "Public-Key", "CA:",
                "X509v3", "DirName", "serial:")
        return [line.strip() for line in text.splitlines() if line.strip().startswith(keep)]

    (tmp_path / "theirs").mkdir()
    (tmp_path / "ours").mkdir()
    eyaml("createkeys", cwd=tmp_path / "theirs")
    run_confrt("eyaml", "createkeys", cwd=tmp_path / "ours")
    assert described(tmp_path / "ours") == described(tmp_path / "theirs")


def test_the_fixture_was_encrypted_by_eyaml(run_confrt):
    """Both tools decrypt tests/fixtures/data/eyaml/data/secrets.eyaml alike (the store's own
    reading of it is compared with puppet lookup in test_puppet_lookup.py)."""
    run = os.path.join(FIXTURE, "run")
    path = os.path.join(FIXTURE, "data", "secrets.eyaml")
    ours = run_confrt("eyaml", "decrypt", "-f", path, cwd=run)
    assert ours.returncode == 0, ours.stderr
    assert ours.stdout == eyaml("decrypt", "-f", path, cwd=run)

"""amiconfig userdata through decode and compile: what the real tools (openssl, squid) read back."""
import base64
import shutil
import subprocess

import pytest
from mod_support import compile_site, write_files
from userdata_helpers import decode

from confrt.errors import UserdataError


def _public_key(tmp_path):
    """A real RSA public key in PEM, made by openssl."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed (needed to make and check a real public key)")
    private = tmp_path / "key.pem"
    subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048",
                    "-out", str(private)], check=True, capture_output=True)
    return subprocess.run(["openssl", "pkey", "-in", str(private), "-pubout"], check=True,
                          capture_output=True, text=True).stdout


def _compiled_keys(tmp_path, userdata):
    data = decode(userdata).data
    catalog = compile_site(tmp_path, dict(data, **{"cvmfs::manage_package": False}))
    return write_files(catalog, tmp_path / "root", "/etc/cvmfs")


@pytest.mark.parametrize("form", ["bare body", "base64 of the whole PEM"])
def test_extra_repository_key_survives_decode_and_compile(tmp_path, form):
    pem = _public_key(tmp_path)
    body = "".join(pem.strip().splitlines()[1:-1])  # what CernVM examples carry
    field = body if form == "bare body" else base64.b64encode(pem.encode()).decode()
    userdata = (f"[cernvm]\nrepositories = atlas\n"
                f"extra_repositories = west-life.egi.eu|s1.example.org|{field}\n").encode()
    etc = _compiled_keys(tmp_path, userdata)
    written = f"{etc}/keys/west-life.egi.eu.pub"
    check = subprocess.run(["openssl", "pkey", "-pubin", "-in", written, "-noout"], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    again = subprocess.run(["openssl", "pkey", "-pubin", "-in", written, "-pubout"], capture_output=True, text=True)
    assert again.stdout == pem


def test_extra_repository_key_that_is_not_base64_is_one_line(tmp_path):
    with pytest.raises(UserdataError, match=r"extra_repositories: west-life.egi.eu: bad base64"):
        decode(b"[cernvm]\nextra_repositories = west-life.egi.eu|s1.example.org|not*base64\n")

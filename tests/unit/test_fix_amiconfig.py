"""amiconfig userdata through decode and compile: what the real tools (openssl, squid) read back."""
import base64
import shutil
import subprocess

import pytest
from mod_support import compile_site, write_files
from userdata_helpers import decode

from confrt.errors import UserdataError


@pytest.fixture(scope="module")
def public_key(tmp_path_factory):
    """A real RSA public key in PEM, made by openssl (once: an RSA key takes a while)."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed (needed to make and check a real public key)")
    private = tmp_path_factory.mktemp("key") / "key.pem"
    subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048",
                    "-out", str(private)], check=True, capture_output=True)
    return subprocess.run(["openssl", "pkey", "-in", str(private), "-pubout"], check=True,
                          capture_output=True, text=True).stdout


def _compiled_keys(tmp_path, userdata):
    data = decode(userdata).data
    catalog = compile_site(tmp_path, dict(data, **{"cvmfs::manage_package": False}))
    return write_files(catalog, tmp_path / "root", "/etc/cvmfs")


@pytest.mark.parametrize("form", ["bare body", "base64 of the whole PEM"])
def test_extra_repository_key_survives_decode_and_compile(tmp_path, form, public_key):
    pem = public_key
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


def test_squid_sizes_without_units_get_amiconfig_units_and_squid_parses_them(tmp_path):
    from test_mod_squid import CONF, squid_parse

    userdata = (b"[amiconfig]\nplugins = squid\n[squid]\nbackends = stratum1.example.org\ncache_mem = 4096\n"
                b"maximum_object_size_in_memory = 32kb\ncache_dir = /var/spool/squid\ncache_dir_size = 50 GB\n")
    data = decode(userdata).data
    assert (data["squid::cache_mem"], data["squid::maximum_object_size_in_memory"],
            data["squid::cache_dir_size"]) == ("4096 MB", "32 KB", 51200)
    catalog = compile_site(tmp_path, dict(data, **{"squid::user": "proxy"}))
    code, processed, output = squid_parse(catalog.get(f"file[{CONF}]")["content"], tmp_path)
    assert code == 0, output
    for directive in ("cache_mem 4096 MB", "maximum_object_size_in_memory 32 KB",
                      "cache_dir ufs /var/spool/squid 51200 16 256"):
        assert directive in processed, (directive, processed)


def test_bare_maximum_object_size_in_memory_is_kilobytes():
    data = decode(b"[amiconfig]\nplugins = squid\n[squid]\nmaximum_object_size_in_memory = 512\ncache_mem = 128 mb\n").data
    assert (data["squid::maximum_object_size_in_memory"], data["squid::cache_mem"]) == ("512 KB", "128 MB")


@pytest.mark.parametrize("value", ["4 TB", "lots"])
def test_squid_size_that_is_no_size_is_skipped_with_a_warning(value):
    """Passed on, it failed the whole run's compile (issue 14 §4): the squid module's default is kept."""
    decoded = decode(f"[amiconfig]\nplugins = squid\n[squid]\ncache_mem = {value}\ncache_dir = /srv/squid\n".encode())
    assert "squid::cache_mem" not in decoded.data and decoded.data["squid::cache_dir"] == "/srv/squid"
    assert decoded.warnings == [f"userdata: [squid] cache_mem: expected a size (a number, in MB unless it names "
                                f"bytes, KB, MB or GB), got {value!r}, skipped"]


@pytest.mark.parametrize("value", ["50 KB", "big"])
def test_cache_dir_size_not_in_megabytes_is_one_line(value):
    with pytest.raises(UserdataError, match=r"\[squid\] cache_dir_size: expected a size in MB"):
        decode(f"[amiconfig]\nplugins = squid\n[squid]\ncache_dir_size = {value}\n".encode())

"""confrt userdata build: cloud-init's schema validator and a round trip through confrt's own parser.
(The encryption of sensitive keys: test_userdata_secrets.py.)"""
import gzip
import os
import shutil
import subprocess

import pytest
import yaml
from userdata_helpers import LOCAL_DATA, decode, write_config

from confrt.errors import UserdataError
from confrt.userdata.build import EC2_LIMIT, build_userdata

DATA = "# site data\nclasses: [condor, cvmfs]\ncondor::roles: [execute]\ncondor::pool_password: pw123\n"
# a key pair made by the real `eyaml createkeys` (tests/fixtures/data/eyaml)
KEYS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fixtures", "data", "eyaml", "run",
                    "keys")
PUBLIC_KEY = os.path.join(KEYS, "public_key.pkcs7.pem")


@pytest.fixture
def datafile(tmp_path):
    path = tmp_path / "local.yaml"
    path.write_text(DATA)
    return path


def _cloud_init_schema(path):
    if shutil.which("cloud-init") is None:
        pytest.skip("cloud-init is not installed (Debian package cloud-init)")
    return subprocess.run(["cloud-init", "schema", "--config-file", str(path)],
                          capture_output=True, text=True, timeout=120)


def test_built_userdata_is_valid_for_cloud_init_and_round_trips(tmp_path, datafile, run_confrt):
    extra = tmp_path / "token"
    extra.write_bytes(b"\x00binary token\xff")
    filemap = tmp_path / "filemap.yaml"
    (tmp_path / "files").mkdir()
    (tmp_path / "files" / "condor.conf").write_text("DAEMON_LIST = MASTER, STARTD\n")
    filemap.write_text("/etc/condor/config.d/50site.conf: files/condor.conf\n")
    out = tmp_path / "userdata.txt"
    result = run_confrt("userdata", "build", str(datafile), "--file", f"/etc/condor/tokens.d/pool={extra}",
                        "--filemap", str(filemap), "-o", str(out), "--config", write_config(tmp_path),
                        "--public-key", PUBLIC_KEY)
    assert result.returncode == 0, result.stderr
    assert os.stat(out).st_mode & 0o777 == 0o600
    raw = out.read_bytes()
    assert raw.startswith(b"#cloud-config\n")
    schema = _cloud_init_schema(out)
    assert schema.returncode == 0, schema.stdout + schema.stderr
    config = yaml.safe_load(raw)
    assert all(e["encoding"] == "b64" and e["permissions"] == "0600" and e["owner"] == "root:root"
               for e in config["write_files"])
    decoded = decode(raw.replace(str(tmp_path / "data" / "local.yaml").encode(), LOCAL_DATA.encode()))
    secret = decoded.data.pop("condor::pool_password")
    assert secret.startswith("ENC[PKCS7,") and "pw123" not in raw.decode()
    from confrt.data.eyaml import Pkcs7Keys, decrypt_value

    keys = Pkcs7Keys(os.path.join(KEYS, "private_key.pkcs7.pem"), PUBLIC_KEY)
    assert decrypt_value(secret, keys, "test") == ("pw123", True)
    assert decoded.data == {key: value for key, value in yaml.safe_load(DATA).items() if key != "condor::pool_password"}
    assert {f.path: f.content for f in decoded.files} == {
        "/etc/condor/tokens.d/pool": b"\x00binary token\xff",
        "/etc/condor/config.d/50site.conf": b"DAEMON_LIST = MASTER, STARTD\n",
    }
    assert all(f.mode == 0o600 for f in decoded.files)


def test_gzip_when_asked_still_decodes(datafile):
    raw = build_userdata(str(datafile), LOCAL_DATA, compress=True)
    assert raw[:2] == b"\x1f\x8b"
    assert decode(raw).data == yaml.safe_load(DATA)


def test_over_16k_is_gzipped_automatically(tmp_path, datafile):
    big = tmp_path / "big"
    big.write_text("x = 1\n" * 4000)
    raw = build_userdata(str(datafile), LOCAL_DATA, [("/etc/big.conf", str(big))])
    assert raw[:2] == b"\x1f\x8b" and len(raw) <= EC2_LIMIT
    unpacked = tmp_path / "unpacked.yaml"
    unpacked.write_bytes(gzip.decompress(raw))
    assert len(unpacked.read_bytes()) > EC2_LIMIT
    schema = _cloud_init_schema(unpacked)
    assert schema.returncode == 0, schema.stdout + schema.stderr
    assert decode(raw).files[0].content == big.read_bytes()


def test_too_big_even_gzipped_is_refused(tmp_path, datafile, run_confrt):
    noise = tmp_path / "noise"
    noise.write_bytes(os.urandom(20000))
    out = tmp_path / "out"
    result = run_confrt("userdata", "build", str(datafile), "--file", f"/etc/noise={noise}", "-o", str(out),
                        "--config", write_config(tmp_path), "--public-key", PUBLIC_KEY)
    assert result.returncode == 1
    assert "even gzipped, over EC2's 16384-byte limit" in result.stderr
    assert not out.exists()


@pytest.mark.parametrize("content,message", [
    ("- a list\n", "expected a YAML mapping"),
    ("a: [broken\n", "invalid YAML"),
])
def test_bad_data_file_is_refused(tmp_path, content, message):
    path = tmp_path / "bad.yaml"
    path.write_text(content)
    with pytest.raises(Exception) as info:
        build_userdata(str(path), LOCAL_DATA)
    assert message in str(info.value) and str(path) in str(info.value)


def test_bad_file_options_are_refused(datafile, tmp_path):
    with pytest.raises(UserdataError, match="must be absolute"):
        build_userdata(str(datafile), LOCAL_DATA, [("etc/x", str(datafile))])
    with pytest.raises(UserdataError, match="cannot read an extra file"):
        build_userdata(str(datafile), LOCAL_DATA, [("/etc/x", str(tmp_path / "missing"))])
    from confrt.userdata.build import parse_file_option

    with pytest.raises(UserdataError, match="TARGET=SOURCE"):
        parse_file_option("/etc/x")


def test_build_to_stdout(datafile, run_confrt, tmp_path):
    result = run_confrt("userdata", "build", str(datafile), "--config", write_config(tmp_path), "--clear-secrets")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("#cloud-config\n")
    assert "pw123" not in result.stdout  # the data is base64 in write_files, not plain text

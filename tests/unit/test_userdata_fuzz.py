"""Property-based fuzzing of the format detector and parsers: a UserdataError or a result, never a
traceback; and a failed refresh never leaves a half-written or changed local_data."""
import base64
import gzip
import os
import tempfile

import pytest
import yaml
from userdata_helpers import FIXTURES, decode

from confrt.errors import UserdataError

hypothesis = pytest.importorskip("hypothesis", reason="hypothesis is not installed (pip install .[test])")
from hypothesis import HealthCheck, assume, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

FUZZ = settings(max_examples=int(os.environ.get("CONFRT_FUZZ_EXAMPLES", "300")), deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
SAMPLES = sorted(n for n in os.listdir(FIXTURES)
                 if os.path.isfile(os.path.join(FIXTURES, n)) and ".expected." not in n)
# samples without write_files, so a mutation cannot ask for a file outside the test's directory
WRITE_SAFE = [n for n in SAMPLES if not n.startswith(("cloud-config-write", "mime"))]
FRAGMENTS = [
    "#cloud-config", "#!/bin/sh", "exit", "[cernvm]", "[CONDOR]", "[glidein_startup]", "[vm_properties]",
    "[amiconfig]", "plugins = cernvm squid", "disabled_plugins = squid", "repositories = atlas",
    "users = a:b:c", "lowport = 9600", "lowport = x", "disable_shutdown = True", "max_lifetime = 10",
    "proxy_file_name = p", "key: value", "classes: [a, b]", "classes: a", "- item", "write_files:",
    "- path: /nonexistent/fuzz", "  encoding: gz+b64", "  content: H4sIAAAAAAAA", "  permissions: 0o777",
    "confrt: {a: 1}", "Content-Type: multipart/mixed; boundary=\"b\"", "MIME-Version: 1.0", "--b", "--b--",
    "Content-Transfer-Encoding: base64", "Content-Type: text/x-shellscript", "####", "aGVsbG8=",
    "W2dsaWRlaW5fc3RhcnR1cF0K", "%%%", "{", "}", ":", "'", '"', "\t", "", "  continuation",
    "#cloud-boothook", "## template: jinja", "\x1f\x8b",
]


def _decode_or_userdata_error(raw):
    try:
        decoded = decode(raw)
    except UserdataError as exc:
        assert str(exc) and "\n" not in str(exc)
        return None
    assert isinstance(decoded.data, dict)
    yaml.safe_dump(decoded.data)  # what local_data would be is always representable
    return decoded


@FUZZ
@given(st.binary(max_size=2048))
def test_arbitrary_bytes(raw):
    _decode_or_userdata_error(raw)


@FUZZ
@given(st.lists(st.sampled_from(FRAGMENTS), max_size=25), st.sampled_from(["\n", "\r\n", " "]))
def test_fragment_soup(fragments, newline):
    _decode_or_userdata_error(newline.join(fragments).encode())


@FUZZ
@given(st.lists(st.sampled_from(FRAGMENTS), max_size=15), st.sampled_from(["b64", "gzip", "glidein"]))
def test_wrapped_fragment_soup(fragments, wrapping):
    inner = "\n".join(fragments).encode()
    if wrapping == "b64":
        raw = base64.b64encode(inner) + b"####arg"
    elif wrapping == "gzip":
        raw = gzip.compress(inner)
    else:
        raw = base64.b64encode(inner) + b"####arg####" + base64.b64encode(gzip.compress(inner))
    _decode_or_userdata_error(raw)


def _mutate(data, edits):
    data = bytearray(data)
    for position, kind, byte in edits:
        if not data:
            break
        at = position % len(data)
        if kind == "flip":
            data[at] = byte
        elif kind == "cut":
            del data[at:]
        elif kind == "insert":
            data.insert(at, byte)
        else:
            del data[at]
    return bytes(data)


EDITS = st.lists(st.tuples(st.integers(0, 1 << 16), st.sampled_from(["flip", "cut", "insert", "delete"]),
                           st.integers(0, 255)), min_size=1, max_size=6)


def _sample(name):
    with open(os.path.join(FIXTURES, name), "rb") as handle:
        return handle.read()


@FUZZ
@given(st.sampled_from(SAMPLES), EDITS, st.booleans())
def test_mutated_corpus(name, edits, gzipped):
    raw = _sample(name)
    raw = gzip.compress(raw) if gzipped else raw
    _decode_or_userdata_error(_mutate(raw, edits))


@settings(max_examples=120, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(WRITE_SAFE), EDITS)
def test_failed_refresh_never_touches_local_data(name, edits):
    from confrt.config import load_config
    from confrt.userdata.local import apply_writes, plan_writes
    from confrt.userdata.refresh import fetch_and_decode

    with tempfile.TemporaryDirectory() as tmp:
        config_path = os.path.join(tmp, "confrt.yaml")
        userdata = os.path.join(tmp, "ud")
        with open(config_path, "w") as handle:
            yaml.safe_dump({"statedir": os.path.join(tmp, "state"), "local_data": os.path.join(tmp, "local.yaml"),
                            "userdata": {"sources": [f"file:{userdata}"]}}, handle)
        config = load_config(config_path)
        previous = b"# previous\nclasses: [previous]\n"
        with open(config.local_data, "wb") as handle:
            handle.write(previous)
        with open(userdata, "wb") as handle:
            handle.write(_mutate(_sample(name), edits))
        try:
            fetched, decoded = fetch_and_decode(config)
        except UserdataError:
            with open(config.local_data, "rb") as handle:
                assert handle.read() == previous
            assert sorted(os.listdir(tmp)) == ["confrt.yaml", "local.yaml", "ud"]
            return
        assume(all(f.path.startswith(tmp + os.sep) for f in decoded.files))
        apply_writes(config, plan_writes(config, fetched, decoded))
        with open(config.local_data, "rb") as handle:
            written = yaml.safe_load(handle.read())
        assert isinstance(written, dict) and written["confrt::userdata_source"] == f"file:{userdata}"
        assert not [n for n in os.listdir(tmp) if n.startswith(".confrt-")]


@FUZZ
@given(st.sampled_from(["context.sh", "ini"]), st.text(max_size=400))
def test_text_parsers(parser, text):
    from confrt.userdata.ini import parse_ini
    from confrt.userdata.sources import parse_context_sh

    try:
        result = {"context.sh": parse_context_sh, "ini": parse_ini}[parser](text, parser)
    except UserdataError as exc:
        assert "\n" not in str(exc)
        return
    assert isinstance(result, dict)
    assert all(isinstance(key, str) for key in result)

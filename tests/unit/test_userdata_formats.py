"""Format detection and parsers against the corpus in tests/fixtures/userdata and broken inputs."""
import base64
import gzip
import os

import pytest
import yaml
from confrt_testing import REPO
from userdata_helpers import FIXTURES, decode, summary

from confrt.errors import UserdataError

SAMPLES = sorted(n for n in os.listdir(FIXTURES)
                 if os.path.isfile(os.path.join(FIXTURES, n)) and ".expected." not in n)


def _read(name):
    with open(os.path.join(FIXTURES, name), "rb") as handle:
        return handle.read()


def _expected(name):
    with open(os.path.join(FIXTURES, name.rsplit(".", 1)[0] + ".expected.yaml")) as handle:
        return yaml.safe_load(handle)


@pytest.mark.parametrize("name", SAMPLES)
def test_corpus_sample_decodes_to_expected(name):
    assert summary(decode(_read(name))) == _expected(name)


@pytest.mark.parametrize("name", SAMPLES)
def test_corpus_sample_gzipped_decodes_the_same(name):
    assert summary(decode(gzip.compress(_read(name)))) == _expected(name)


def test_corpus_covers_every_format():
    from confrt.userdata.formats import FORMATS, YAML_MAPPING

    seen = set()
    for name in SAMPLES:
        raw = _read(name)
        seen.add(next(f.name for f in FORMATS + [YAML_MAPPING] if f.detect(raw)))
    assert seen >= {"mime", "cloud-config", "script", "glidein", "ini", "yaml"}


def test_amiconfig_section_names_are_case_insensitive():
    lower = decode(b"[cernvm]\nrepositories = atlas\n").data
    assert decode(b"[CernVM]\nRepositories = atlas\n").data == lower == {
        "cvmfs::repositories": ["atlas"], "classes": ["cvmfs"]}


def test_amiconfig_disabled_plugin_becomes_a_knockout():
    data = decode(b"[amiconfig]\nplugins = squid\ndisabled_plugins = rootsshkeys\n[squid]\n").data
    assert data["classes"] == ["squid", "--sshkeys"]


def test_script_without_exit_keeps_ini_lines_as_script():
    raw = b"#!/bin/sh\necho x\n[cernvm]\nrepositories = atlas\n"
    decoded = decode(raw)
    assert decoded.data == {}
    assert decoded.scripts[0].content == raw


def test_cloud_config_local_data_entry_and_confrt_key_merge_classes():
    content = base64.b64encode(b"classes: [a, b]\nx::y: 1\n").decode()
    raw = (f"#cloud-config\nwrite_files:\n- path: /etc/confrt/data/local.yaml\n  encoding: b64\n"
           f"  content: {content}\nconfrt:\n  classes: [b, c]\n  x::y: 2\n").encode()
    assert decode(raw).data == {"classes": ["a", "b", "c"], "x::y": 2}


def test_glidein_extra_args_keep_quotes_for_shell_splitting():
    ini = base64.b64encode(b"[glidein_startup]\nargs = -v\n").decode()
    data = decode(f"{ini}####-name 'two words'".encode()).data
    assert data["glidein::args"] == "-v -name 'two words'"
    assert "glidein::proxy_file" not in data


def test_glidein_proxy_name_cannot_escape_statedir():
    ini = base64.b64encode(b"[glidein_startup]\nproxy_file_name = ../../etc/passwd\n").decode()
    proxy = base64.b64encode(gzip.compress(b"x")).decode()
    with pytest.raises(UserdataError, match="proxy_file_name"):
        decode(f"{ini}####a####{proxy}".encode())


def _cloud_config_with(entry):
    return ("#cloud-config\nwrite_files:\n- path: /etc/x\n" + entry).encode()


BAD = [
    ("bad base64 in write_files", _cloud_config_with("  encoding: b64\n  content: '@@not base64@@'\n"),
     "write_files[0]: bad base64"),
    ("broken gzip", gzip.compress(b"classes: [a]\n" * 50)[:-20], "broken gzip"),
    ("gzip of garbage", b"\x1f\x8b" + b"garbage", "broken gzip"),
    ("invalid YAML", b"classes: [a\nfoo: : bar\n", "invalid YAML"),
    ("YAML not a mapping", b"- just\n- a list\n", "expected a YAML mapping"),
    ("glidein ini without sections", base64.b64encode(b"args = x\n") + b"####args", "before the first [section]"),
    ("glidein bad base64", b"bm90IGJhc2U2NA####args####%%%", "bad base64"),
    ("glidein broken proxy gzip", base64.b64encode(b"[glidein_startup]\n") + b"####a####"
     + base64.b64encode(b"\x1f\x8bjunk"), "broken gzip"),
    ("ini line without value", b"[cernvm]\nrepositories\n", "expected 'key = value'"),
    ("unknown write_files encoding", _cloud_config_with("  encoding: rot13\n  content: x\n"), "unknown 'rot13'"),
    ("relative write_files path", b"#cloud-config\nwrite_files:\n- path: etc/x\n", "absolute path"),
    ("bad permissions", _cloud_config_with("  permissions: rw-r--r--\n"), "octal mode"),
    ("classes not a list", b"classes: cvmfs\n", "classes: expected a list"),
    ("not UTF-8", b"\xff\xfe\x00garbage", "not UTF-8"),
    ("cloud-boothook", b"#cloud-boothook\necho hi\n", "not supported"),
    ("MIME without boundary", b"Content-Type: multipart/mixed\n\nno parts\n", "broken MIME"),
    ("MIME part bad base64", b'Content-Type: multipart/mixed; boundary="b"\n\n--b\n'
     b"Content-Type: text/plain\nContent-Transfer-Encoding: base64\n\n@@@@\n--b--\n", "bad base64"),
    ("bad amiconfig integer", b"[amiconfig]\nplugins = condor\n[condor]\nlowport = low\n", "expected an integer"),
    ("bad glidein bool", base64.b64encode(b"[vm_properties]\ndisable_shutdown = maybe\n") + b"####x",
     "expected true or false"),
]


@pytest.mark.parametrize("label,raw,message", BAD, ids=[b[0] for b in BAD])
def test_bad_input_is_one_line_userdata_error(label, raw, message):
    with pytest.raises(UserdataError) as info:
        decode(raw)
    text = str(info.value)
    assert message in text
    assert "\n" not in text and text.startswith("userdata")


def test_oversize_input_and_gzip_bomb_are_refused():
    with pytest.raises(UserdataError, match="over userdata.max_size"):
        decode(b"a: " + b"x" * 2000, max_size=1000)
    with pytest.raises(UserdataError, match="beyond the size limit"):
        decode(gzip.compress(b"a: " + b"x" * 100000), max_size=1000)


def test_nesting_is_bounded():
    raw = b"a: 1\n"
    for _ in range(12):
        raw = gzip.compress(raw)
    with pytest.raises(UserdataError, match="nested more than"):
        decode(raw)


def test_secret_values_never_appear_in_errors():
    raw = b"[amiconfig]\nplugins = condor\n[condor]\ncondor_secret = hunter2secret\nlowport = hunter2secret\n"
    with pytest.raises(UserdataError) as info:
        decode(raw)
    assert "lowport" in str(info.value)
    secret = b"#cloud-config\nwrite_files:\n- path: /etc/x\n  encoding: b64\n  content: 'hunter2secret!'\n"
    with pytest.raises(UserdataError) as info:
        decode(secret)
    assert "hunter2" not in str(info.value)


def test_plugin_format_and_source_through_the_engine_hooks(monkeypatch):
    from confrt.engine import plugins
    from confrt.engine.hookspecs import hookimpl
    from confrt.userdata import formats
    from confrt.userdata.decoded import Decoded
    from confrt.userdata.sources import Fetched, fetch

    class ShoutPlugin:
        @hookimpl
        def confrt_userdata_formats(self):
            return [formats.Format("shout", lambda raw: raw.startswith(b"SHOUT "),
                                   lambda raw, context, what: Decoded({"said": raw[6:].decode()}))]

        @hookimpl
        def confrt_userdata_sources(self):
            return {"shoutbox": lambda settings, argument: Fetched("shoutbox", b"SHOUT " + argument.encode())}

    plugins.reset()
    monkeypatch.setattr(formats, "_plugin_formats", None)
    try:
        plugins.plugin_manager().register(ShoutPlugin())
        fetched = fetch({"sources": []}, ["shoutbox:hello"])
        assert decode(fetched.raw).data == {"said": "hello"}
        assert decode(b"a: 1").data == {"a": 1}
        with pytest.raises(UserdataError, match="unknown source 'nosuch'"):
            fetch({"sources": []}, ["nosuch"])
    finally:
        plugins.reset()


def test_amiconfig_condor_without_master_is_a_manager():
    data = decode(b"[amiconfig]\nplugins = condor\n[condor]\ncondor_secret = s\nuid_domain = example.org\n").data
    assert data == {"classes": ["condor"], "condor::roles": ["manager"], "condor::pool_password": "s",
                    "condor::uid_domain": "example.org", "condor::lowport": 9600, "condor::highport": 9700}


def test_a_built_in_format_decodes_without_loading_the_plugins():
    """Plugin formats are tried only after the built-in ones: `confrt userdata show` of
    #cloud-config does not pay for pluggy and every built-in plugin."""
    import subprocess
    import sys

    probe = ("import sys; from confrt.userdata.formats import decode_userdata; "
             "decoded = decode_userdata(b'#cloud-config\\nconfrt: {classes: [a]}\\n', '/x/local.yaml', '/x', 4096); "
             "print(decoded.data, 'pluggy' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, cwd=REPO)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["{'classes':", "['a']}", "False"]

"""The Facts object: laziness, layers (built-in < facts_dir < overrides), names and files."""
import json
import subprocess
import sys

import pytest
from confrt_testing import REPO

from confrt.errors import ConfrtError, FactError
from confrt.facts import Facts


def exploding(name):
    def compute():
        raise AssertionError(f"fact {name} was computed but nobody asked for it")

    return compute


def test_static_holds_only_its_values():
    facts = Facts.static({"os": {"family": "RedHat"}, "role": "worker"})
    assert facts.names() == ["os", "role"]
    assert facts.get("os.family") == "RedHat"
    assert facts["role"] == "worker"
    assert facts.get("networking.fqdn") is None
    assert facts.get("osfamily") is None  # legacy aliases are built-ins too
    assert facts.to_dict() == {"os": {"family": "RedHat"}, "role": "worker"}


def test_static_dotted_names_build_structures():
    facts = Facts.static({"os.family": "Debian", "os.release.major": "12"})
    assert facts["os"] == {"family": "Debian", "release": {"major": "12"}}
    assert facts.get("os.release.major") == "12"


def test_get_walks_dicts_and_list_indexes():
    facts = Facts.static({"processors": {"models": ["EPYC", "Xeon"]}, "flag": False, "zero": 0})
    assert facts.get("processors.models.1") == "Xeon"
    assert facts.get("processors.models.2", "none") == "none"
    assert facts.get("processors.models.x", "none") == "none"
    assert facts.get("processors.count.deeper", "none") == "none"
    assert facts.get("flag") is False
    assert facts.get("zero") == 0
    assert "flag" in facts and "zero" in facts
    assert "processors.models.0" in facts
    assert "processors.cores" not in facts


def test_quoted_segments_hold_dots():
    facts = Facts.static({"cmdline": {"random.trust_cpu": "1"},
                          "networking": {"interfaces": {"eth0.100": {"ip": "10.0.0.5"}}}})
    assert facts.get('cmdline."random.trust_cpu"') == "1"
    assert facts.get("networking.interfaces.'eth0.100'.ip") == "10.0.0.5"


def test_getitem_is_top_level_and_raises_keyerror():
    facts = Facts.static({"os": {"family": "Debian"}})
    assert facts["os"] == {"family": "Debian"}
    with pytest.raises(KeyError):
        facts["os.family"]
    with pytest.raises(KeyError):
        facts["nosuch"]


def test_a_fact_is_computed_once_and_only_when_asked():
    calls = []
    facts = Facts.static({})
    facts.register("site", lambda: calls.append(1) or {"name": "bnl"})
    facts.register("expensive", exploding("expensive"))
    assert calls == []
    assert facts.get("site.name") == "bnl"
    assert facts.get("site.name") == "bnl"
    assert facts["site"] == {"name": "bnl"}
    assert calls == [1]
    assert facts.names() == ["expensive", "site"]


def test_register_replaces_a_builtin_and_drops_its_cache():
    facts = Facts.static({})
    facts.register("role", lambda: "worker")
    assert facts.get("role") == "worker"
    facts.register("role", lambda: "manager")
    assert facts.get("role") == "manager"


def test_asking_os_family_computes_nothing_else(tmp_path):
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc/os-release").write_text("ID=rocky\nVERSION_ID=9.3\n")
    facts = Facts(root=str(tmp_path))
    for name in facts.names():
        if name not in ("os", "osfamily"):
            facts.register(name, exploding(name))
    assert facts.get("os.family") == "RedHat"
    assert facts.get("osfamily") == "RedHat"


def test_os_family_and_fqdn_import_no_probe_modules():
    """Asking os.family or networking.fqdn must not load psutil nor the interface/disk probes."""
    script = (
        "import sys\n"
        "from confrt.facts import Facts\n"
        "facts = Facts()\n"
        "print(facts.get('os.family'), facts.get('networking.fqdn'), facts.get('hostname'))\n"
        "print(sorted(m for m in sys.modules if m == 'psutil' or m.startswith('confrt.facts.')))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True,
                         text=True, check=True).stdout.splitlines()
    facts = Facts()
    assert out[0] == f"{facts.get('os.family')} {facts.get('networking.fqdn')} {facts.get('hostname')}"
    assert out[1] == "['confrt.facts.names', 'confrt.facts.networking', 'confrt.facts.os_release']"


def test_fqdn_shortcut_agrees_with_the_whole_networking_fact():
    cheap = Facts()
    names = [cheap.get("networking.hostname"), cheap.get("networking.fqdn"), cheap.get("domain")]
    whole = Facts()
    networking = whole["networking"]
    assert names == [networking["hostname"], networking["fqdn"], networking.get("domain")]


def test_fqdn_shortcut_yields_to_overrides_and_plugins(tmp_path):
    assert Facts(overrides={"networking": {"fqdn": "wn1.example.org"}}).get("networking.fqdn") \
        == "wn1.example.org"
    assert Facts(overrides={"networking": {"ip": "10.0.0.1"}}).get("networking.fqdn") is None
    assert Facts(overrides={"networking.fqdn": "wn2.example.org"}).get("fqdn") == "wn2.example.org"
    facts = Facts()
    facts.register("networking", lambda: {"fqdn": "plugin.example.org"})
    assert facts.get("networking.fqdn") == "plugin.example.org"


def test_overrides_win_over_builtins_and_aliases_follow(tmp_path):
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc/os-release").write_text("ID=debian\nVERSION_ID=12\n")
    facts = Facts(overrides={"os.family": "RedHat", "kernel": "Plan9"}, root=str(tmp_path))
    assert facts.get("os.family") == "RedHat"
    assert facts.get("osfamily") == "RedHat"
    assert facts.get("os.name") == "Debian"  # the rest of the built-in fact stays
    assert facts.get("kernel") == "Plan9"


def test_plain_override_replaces_the_whole_fact(tmp_path):
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc/os-release").write_text("ID=debian\nVERSION_ID=12\n")
    facts = Facts(overrides={"os": {"family": "Suse"}}, root=str(tmp_path))
    assert facts["os"] == {"family": "Suse"}
    assert facts.get("os.name") is None


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_facts_dir_files_in_name_order_and_overrides_on_top(tmp_path):
    facts_dir = tmp_path / "facts.d"
    write(facts_dir / "10-site.yaml", "site: bnl\nrole: worker\ndatacenter: {room: 1, rack: 7}\n")
    write(facts_dir / "20-role.json", json.dumps({"role": "manager", "datacenter.rack": 9}))
    write(facts_dir / "30-more.yml", "cluster: atlas\n")
    write(facts_dir / "notes.txt", "ignored: yes\n")
    write(facts_dir / ".hidden.yaml", "hidden: yes\n")
    facts = Facts(facts_dir=str(facts_dir), overrides={"cluster": "cms"})
    assert facts.get("site") == "bnl"
    assert facts.get("role") == "manager"
    assert facts.get("datacenter") == {"room": 1, "rack": 9}
    assert facts.get("cluster") == "cms"
    assert facts.get("ignored") is None and facts.get("hidden") is None
    assert {"site", "role", "datacenter", "cluster", "os", "networking"} <= set(facts.names())


def test_a_later_plain_value_drops_earlier_dotted_patches(tmp_path):
    facts_dir = tmp_path / "facts.d"
    write(facts_dir / "a.yaml", "os.family: Gentoo\n")
    facts = Facts(facts_dir=str(facts_dir), overrides={"os": {"name": "Rocky"}})
    assert facts["os"] == {"name": "Rocky"}


def test_external_facts_beat_builtins(tmp_path):
    facts_dir = tmp_path / "facts.d"
    write(facts_dir / "x.yaml", "processors: {count: 64}\n")
    facts = Facts(facts_dir=str(facts_dir))
    assert facts.get("processors.count") == 64
    assert facts.get("processorcount") == 64


def test_missing_facts_dir_is_empty():
    facts = Facts(facts_dir="/nonexistent/facts.d")
    assert "site" not in facts


@pytest.mark.parametrize("name, text, message", [
    ("bad.yaml", "a: [1, 2\n", "bad.yaml:2:1: invalid YAML"),
    ("bad.json", '{"a": 1,}', "bad.json:1:9: invalid JSON"),
    ("list.yaml", "- a\n- b\n", "list.yaml: expected a mapping of fact names, got a list"),
    ("scalar.json", '"x"', "scalar.json: expected a mapping of fact names, got a string"),
    ("keys.yaml", "1: one\n", "keys.yaml: 1: fact names must be non-empty strings"),
])
def test_bad_facts_dir_file_is_one_line_naming_it(tmp_path, name, text, message):
    facts_dir = tmp_path / "facts.d"
    write(facts_dir / "00-good.yaml", "good: 1\n")
    write(facts_dir / name, text)
    facts = Facts(facts_dir=str(facts_dir))
    with pytest.raises(FactError) as error:
        facts.get("good")
    assert message in str(error.value)
    assert str(facts_dir / name) in str(error.value)
    assert "\n" not in str(error.value)
    assert isinstance(error.value, ConfrtError)


def test_load_file_yaml_json_empty_and_unreadable(tmp_path):
    assert Facts.load_file(write(tmp_path / "f.yaml", "os: {family: RedHat}\n")) == {
        "os": {"family": "RedHat"}}
    assert Facts.load_file(write(tmp_path / "f.json", '{"os.family": "Debian"}')) == {
        "os.family": "Debian"}
    assert Facts.load_file(write(tmp_path / "empty.yaml", "")) == {}
    with pytest.raises(FactError, match="missing.yaml: cannot read: No such file"):
        Facts.load_file(tmp_path / "missing.yaml")
    (tmp_path / "latin1.yaml").write_bytes(b"name: caf\xe9\n")
    with pytest.raises(FactError, match="latin1.yaml: not UTF-8 text"):
        Facts.load_file(tmp_path / "latin1.yaml")


def test_to_dict_is_a_copy_and_skips_unknown_values(tmp_path):
    facts = Facts.static({"a": {"b": [1]}})
    facts.register("nothing", lambda: None)
    result = facts.to_dict()
    assert result == {"a": {"b": [1]}}
    result["a"]["b"].append(2)
    assert facts.get("a.b") == [1]


def test_for_config_reads_facts_dir_and_facts_file(tmp_path):
    from confrt.config import load_config

    write(tmp_path / "facts.d/site.yaml", "site: bnl\nrole: worker\n")
    config_file = write(tmp_path / "confrt.yaml", f"facts_dir: {tmp_path / 'facts.d'}\n")
    overrides = write(tmp_path / "node.json", '{"role": "submit"}')
    facts = Facts.for_config(load_config(str(config_file)), str(overrides))
    assert (facts.get("site"), facts.get("role")) == ("bnl", "submit")


def test_live_system_facts_have_the_documented_shape():
    """The real host: every documented name resolves with the right type."""
    facts = Facts()
    assert isinstance(facts.get("kernel"), str) and facts.get("kernelrelease")
    assert facts.get("processors.count") >= 1
    assert facts.get("processorcount") == facts.get("processors.count")
    assert facts.get("memory.system.total_bytes") >= facts.get("memory.system.available_bytes") > 0
    assert isinstance(facts.get("networking.hostname"), str)
    assert facts.get("hostname") == facts.get("networking.hostname")
    assert facts.get("fqdn") == facts.get("networking.fqdn")
    assert "lo" in facts.get("networking.interfaces")
    assert facts.get("networking.interfaces.lo.ip") == "127.0.0.1"
    assert facts.get("uptime_seconds") >= 0
    assert isinstance(facts.get("is_virtual"), bool)
    assert facts.get("virtual")
    assert "/" in facts.get("mountpoints")
    assert facts.get("mountpoints./.size_bytes") > 0
    assert isinstance(facts.get("cmdline"), dict)
    assert isinstance(facts.get("disks"), dict)
    json.dumps(facts.to_dict())


def test_in_one_layer_dotted_names_patch_the_plain_value_whatever_the_order():
    facts = Facts.static({"os.family": "RedHat", "os": {"name": "Rocky"}})
    assert facts["os"] == {"name": "Rocky", "family": "RedHat"}


def test_load_file_json_errors(tmp_path):
    with pytest.raises(FactError, match="missing.json: cannot read: No such file"):
        Facts.load_file(tmp_path / "missing.json")
    (tmp_path / "latin1.json").write_bytes(b'{"name": "caf\xe9"}')
    with pytest.raises(FactError, match="latin1.json: not UTF-8 text"):
        Facts.load_file(tmp_path / "latin1.json")
    assert Facts.load_file(write(tmp_path / "empty.json", "\n")) == {}  # as an empty YAML file


def test_register_a_dotted_leaf_like_the_confrt_facts_hook_asks():
    calls = []
    facts = Facts.static({})
    facts.register("site.rack", lambda: calls.append("rack") or "r12")
    facts.register("site.room", lambda: calls.append("room") or 3)
    facts.register("site.rack", lambda: calls.append("rack2") or "r13")
    assert calls == []
    assert "site" in facts.names()
    assert facts.get("site.rack") == "r13"
    assert facts["site"] == {"rack": "r13", "room": 3}
    assert sorted(calls) == ["rack2", "room"]


def test_plugin_leaves_extend_a_builtin_and_yield_to_external_facts(tmp_path):
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc/os-release").write_text("ID=rocky\nVERSION_ID=9.3\n")
    facts = Facts(root=str(tmp_path))
    facts.register("os.support_end", lambda: "2032-05-31")
    assert facts.get("os.name") == "Rocky"
    assert facts.get("os.support_end") == "2032-05-31"
    overridden = Facts(root=str(tmp_path), overrides={"os": {"name": "Given"}})
    overridden.register("os.support_end", lambda: "2032-05-31")
    assert overridden["os"] == {"name": "Given"}


def test_trusted_and_clientcert_like_puppet_apply():
    facts = Facts(overrides={"networking.fqdn": "WN042.usatlas.BNL.gov"})
    assert facts["trusted"] == {"authenticated": "local", "certname": "wn042.usatlas.bnl.gov",
                                "domain": "usatlas.bnl.gov", "extensions": {}, "hostname": "wn042"}
    assert facts.get("clientcert") == "wn042.usatlas.bnl.gov"
    assert Facts(overrides={"trusted": {"certname": "given"}}).get("clientcert") == "given"
    assert Facts.static({}).get("trusted.certname") is None


def test_a_dotted_override_answers_without_computing_the_fact():
    facts = Facts(overrides={"networking.fqdn": "wn1.example.org", "os.release": {"full": "9.3"},
                             "os.release.major": "9"})
    facts.register("networking", exploding("networking"))
    facts.register("os", exploding("os"))
    assert facts.get("networking.fqdn") == "wn1.example.org"
    assert facts.get("clientcert") == "wn1.example.org"
    assert facts.get("os.release") == {"full": "9.3", "major": "9"}
    assert facts.get("os.release.major") == "9"
    with pytest.raises(AssertionError, match="fact os was computed"):
        facts.get("os.family")  # not covered by the override: the built-in value is needed

"""services module: each named service enabled and kept running; lists of all levels combined."""
import pytest
from node_modules_support import compile_data, of_type

from confrt.errors import CompileError


def test_each_service_is_enabled_and_running(tmp_path):
    """amiconfig's `[cernvm] services = ntpd` (seed 001's Perl example) arrives as services::enabled."""
    catalog, warnings = compile_data(tmp_path, {"classes": ["services"], "services::enabled": ["ntpd", "autofs",
                                                                                               "ntpd"]})
    found = of_type(catalog, "service")
    assert list(found) == ["ntpd", "autofs"]
    assert all(r["ensure"] == "running" and r["enable"] is True for r in found.values())
    assert warnings == []


def test_levels_combine_and_a_knockout_removes_one(tmp_path):
    from engine_support import make_site

    from confrt.config import load_config
    from confrt.engine.run import compile_catalog
    from confrt.facts import Facts

    env = make_site(str(tmp_path / "site"), {"classes": ["services"], "services::enabled": ["chronyd", "autofs"]},
                    layers={"local.yaml": {"services::enabled": ["ntpd", "--autofs"]}})
    catalog, _ = compile_catalog(load_config(env["CONFRT_CONFIG"]), Facts.static({}), warn=lambda m: None)
    assert sorted(of_type(catalog, "service")) == ["chronyd", "ntpd"]


def test_a_bad_name_names_file_and_index(tmp_path):
    with pytest.raises(CompileError) as error:
        compile_data(tmp_path, {"classes": ["services"], "services::enabled": ["ntpd", "not a service"]})
    assert "common.yaml: services::enabled[1]: " in str(error.value)

"""tcpbuffers module: CernVM's defaults, per-key overrides through the hash merge, only_raise."""
import pytest
from node_modules_support import compile_data, of_type

from confrt.errors import CompileError

CERNVM = {
    "net.core.netdev_max_backlog": "30000",
    "net.core.rmem_max": "16777216",
    "net.core.wmem_max": "16777216",
    "net.ipv4.tcp_rmem": "4096 87380 16777216",
    "net.ipv4.tcp_sack": "1",
    "net.ipv4.tcp_timestamps": "1",
    "net.ipv4.tcp_wmem": "4096 65536 16777216",
}


def test_defaults_are_cernvms_values_only_raised_in_one_file(tmp_path):
    catalog, warnings = compile_data(tmp_path, {"classes": ["tcpbuffers"]})
    found = of_type(catalog, "sysctl")
    assert {key: r["value"] for key, r in found.items()} == CERNVM
    assert {r["file"] for r in found.values()} == {"/etc/sysctl.d/60-confrt-tcpbuffers.conf"}
    assert all(r["only_raise"] for r in found.values()) and warnings == []


def test_one_key_overridden_dropped_or_allowed_lower(tmp_path):
    catalog, _ = compile_data(tmp_path, {"classes": ["tcpbuffers"], "tcpbuffers::sysctls": {
        "net.core.rmem_max": 33554432,
        "net.ipv4.tcp_timestamps": {"value": 0, "only_raise": False},
        "net.core.netdev_max_backlog": None,
        "net.ipv4.tcp_rmem": "4096\t87380   33554432",
    }})
    found = of_type(catalog, "sysctl")
    assert "net.core.netdev_max_backlog" not in found
    assert found["net.core.rmem_max"]["value"] == "33554432"
    assert found["net.ipv4.tcp_rmem"]["value"] == "4096 87380 33554432"
    assert found["net.ipv4.tcp_timestamps"]["value"] == "0"
    assert found["net.ipv4.tcp_timestamps"]["only_raise"] is False
    assert found["net.core.wmem_max"]["value"] == "16777216"  # the defaults of other keys stay


@pytest.mark.parametrize("sysctls, problem", [
    ({"net core rmem": 1}, "net core rmem: expected a sysctl key"),
    ({"net.core.rmem_max": "1\n2"}, "net.core.rmem_max: expected a sysctl value on one line"),
    ({"net.core.rmem_max": {"value": 1, "only_raise": "yes"}}, "net.core.rmem_max: expected true or false"),
    ({"net.core.rmem_max": {"valeu": 1}}, "net.core.rmem_max: expected a value or a mapping"),
])
def test_bad_setting_names_file_and_key(tmp_path, sysctls, problem):
    with pytest.raises(CompileError) as error:
        compile_data(tmp_path, {"classes": ["tcpbuffers"], "tcpbuffers::sysctls": sysctls})
    assert "common.yaml: tcpbuffers::sysctls: " + problem in str(error.value)

"""sysctl: values, only_raise arithmetic, the shared sysctl.d file, and a noop against the live kernel."""
import pytest
from engine_support import apply_catalog, catalog_of, res

from confrt.errors import CompileError
from confrt.resources.sysctl import _with_setting, normalise_value, proc_path, raised_value


def test_values_are_normalised():
    assert normalise_value(" 4096\t87380  16777216\n") == "4096 87380 16777216"
    assert normalise_value(30000) == "30000"
    with pytest.raises(ValueError):
        normalise_value("1\nkernel.panic = 0")


def test_only_raise_keeps_larger_live_fields():
    assert raised_value("16777216", "33554432") == "33554432"
    assert raised_value("16777216", "212992") == "16777216"
    assert raised_value("4096 87380 16777216", "4096 131072 6291456") == "4096 131072 16777216"
    assert raised_value("bbr", "cubic") == "bbr"  # not numbers: the wanted value


def test_setting_line_replaces_only_its_key():
    text = "# tuning\nnet.core.rmem_max = 1\nnet/core/wmem_max=5\n"
    assert _with_setting(text, "net.core.rmem_max", "16777216") == \
        "# tuning\nnet.core.rmem_max = 16777216\nnet/core/wmem_max=5\n"
    assert _with_setting(text, "net.core.wmem_max", "7") == "# tuning\nnet.core.rmem_max = 1\nnet.core.wmem_max = 7\n"
    assert _with_setting(None, "vm.swappiness", "10") == "vm.swappiness = 10\n"
    assert _with_setting(text, "net.core.rmem_max", "1") == text


def test_bad_key_is_a_compile_error():
    with pytest.raises(CompileError, match=r"sysctl\[rmem max\]: name: expected a sysctl key"):
        catalog_of(res("sysctl", "rmem max", value=1))


def test_noop_reads_the_live_value_and_reports_file_and_value(tmp_path):
    with open(proc_path("kernel.pid_max")) as handle:
        live = handle.read().strip()
    conf = tmp_path / "90-test.conf"
    report = apply_catalog(catalog_of(res("sysctl", "kernel.pid_max", value=int(live) - 1, file=str(conf))),
                           tmp_path / "state", noop=True)
    changes = {c["property"]: c for c in report.statuses["sysctl[kernel.pid_max]"]["changes"]}
    assert changes["value"]["old"] == live and changes["value"]["new"] == str(int(live) - 1)
    assert "content" in changes and not conf.exists()
    # only_raise: a lower wanted value leaves the live one, and the file records the live one
    report = apply_catalog(catalog_of(res("sysctl", "kernel.pid_max", value=1, only_raise=True, file=str(conf))),
                           tmp_path / "state", noop=True)
    changes = report.statuses["sysctl[kernel.pid_max]"]["changes"]
    assert [c["property"] for c in changes] == ["content"]


def test_unknown_key_fails_the_resource(tmp_path):
    report = apply_catalog(catalog_of(res("sysctl", "net.core.no_such_key", value=1, file=str(tmp_path / "x"))),
                           tmp_path / "state", noop=True)
    assert "this kernel has no sysctl net.core.no_such_key" in report.statuses["sysctl[net.core.no_such_key]"]["failure"]


def test_noop_of_two_keys_in_one_file_shows_what_the_real_run_writes(tmp_path):
    conf = tmp_path / "60-tcp.conf"
    catalog = catalog_of(res("sysctl", "kernel.pid_max", value=1, only_raise=True, file=str(conf)),
                         res("sysctl", "kernel.threads-max", value=1, only_raise=True, file=str(conf)))
    noop = apply_catalog(catalog, tmp_path / "state", noop=True)
    messages = [c["message"] for entry in noop.statuses.values() for c in entry["changes"]]
    assert messages == [f"created {conf}", f"content of {conf} changed"] and not conf.exists()

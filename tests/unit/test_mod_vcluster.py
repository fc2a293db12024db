"""vcluster module: vc-out.xml (frontend, compute, old forms) -> hosts, resolv.conf, hostname, key, interfaces."""
import os
import shutil

import pytest
from node_modules_support import compile_data, content, of_type

from confrt.errors import CompileError

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fixtures", "vcluster")
KEY = "AAAAC3NzaC1lZDI1NTE5AAAAIJ0AZ9ipl7v+8FZ7WM3kF9t6hIRQV0lGZ1ZPq0Qj0U3v"


def interfaces(*pairs):
    return {"networking": {"interfaces": {name: {"mac": mac} for name, mac in pairs}}}


def compile_vc(tmp_path, fixture, family="RedHat", nics=(), **data):
    facts = dict(interfaces(*nics), os={"family": family})
    values = {"classes": ["vcluster"], "vcluster::vc_out": os.path.join(FIXTURES, fixture),
              "vcluster::machinefile": "/tmp/machinefile"}
    values.update({f"vcluster::{k}": v for k, v in data.items()})
    return compile_data(tmp_path, values, facts=facts)


def hosts(catalog):
    return [r["line"] for r in of_type(catalog, "line").values() if r["path"] == "/etc/hosts"]


def test_frontend(tmp_path):
    catalog, warnings = compile_vc(tmp_path, "frontend.xml",
                                   nics=[("eth0", "52:54:00:aa:00:01"), ("eth1", "52:54:00:BB:00:01")])
    assert hosts(catalog) == ["192.0.2.10\tfe.cluster.example.org", "10.1.0.1\tfe.local fe",
                              "10.1.0.2\tcompute-0.local compute-0", "10.1.0.3\tcompute-1.local compute-1"]
    line = catalog.get("line[hosts 10.1.0.2]")
    assert line["match"] == r"^10[.]1[.]0[.]2\s"
    assert content(catalog, "/etc/resolv.conf").splitlines()[1:] == ["search local", "nameserver 8.8.8.8",
                                                                      "nameserver 8.8.4.4"]
    assert content(catalog, "/tmp/machinefile") == "compute-0\n" * 2 + "compute-1\n" * 3
    assert content(catalog, "/etc/hostname") == "fe.cluster.example.org\n"
    key = catalog.get("ssh_authorized_key[root@fe.cluster.example.org]")
    assert key["user"] == "root" and key["key"] == KEY and key["type"] == "ssh-ed25519"
    public = content(catalog, "/etc/sysconfig/network-scripts/ifcfg-eth0").splitlines()
    private = content(catalog, "/etc/sysconfig/network-scripts/ifcfg-eth1").splitlines()
    assert "GATEWAY=192.0.2.1" in public and "DEFROUTE=no" not in public and "MTU=1500" in public
    assert "DEFROUTE=no" in private and not any(x.startswith("GATEWAY") for x in private)
    assert {"DEVICE=eth1", "IPADDR=10.1.0.1", "NETMASK=255.255.0.0", "BOOTPROTO=none", "ONBOOT=yes", "MTU=9000",
            "HWADDR=52:54:00:bb:00:01"} <= set(private)
    # network-scripts may be missing (NetworkManager makes it): declared, so the files never fail for it
    ifcfg = "file[/etc/sysconfig/network-scripts/ifcfg-eth0]"
    assert "directory[/etc/sysconfig/network-scripts]" in catalog.requires[ifcfg]
    assert warnings == []


def test_compute_debian_interfaces_d(tmp_path):
    catalog, warnings = compile_vc(tmp_path, "compute.xml", family="Debian", nics=[("ens3", "52:54:00:bb:00:03")])
    assert hosts(catalog) == ["10.1.0.3\tcompute-1.local compute-1", "10.1.0.1\tfe.cluster.example.org fe"]
    assert content(catalog, "/etc/hostname") == "compute-1.local\n"
    assert catalog.get("file[/tmp/machinefile]") is None
    assert content(catalog, "/etc/network/interfaces.d/ens3").splitlines()[1:] == [
        "auto ens3", "iface ens3 inet static", "\taddress 10.1.0.3", "\tnetmask 255.255.0.0", "\tmtu 9000",
        "\thwaddress ether 52:54:00:BB:00:03", "\tgateway 10.1.0.1"]
    assert content(catalog, "/etc/resolv.conf").splitlines()[1:] == ["search local", "nameserver 10.1.0.1"]
    assert warnings == []


def test_old_forms(tmp_path):
    catalog, warnings = compile_vc(tmp_path, "frontend-old.xml", nics=[("eth0", "52:54:00:cc:00:01")])
    assert hosts(catalog) == ["198.51.100.5\tfe.old.example.org", "10.2.0.1\tfe.local fe",
                              "10.2.0.2\tvm-a.local vm-a", "10.2.0.3\tvm-b.local vm-b"]
    assert content(catalog, "/tmp/machinefile") == "vm-a\n" * 4 + "vm-b\n"
    assert content(catalog, "/etc/hostname") == "fe.old.example.org\n"
    assert "GATEWAY=198.51.100.1" in content(catalog, "/etc/sysconfig/network-scripts/ifcfg-eth0")
    assert warnings == ["module vcluster: no interface has MAC 52:54:00:dd:00:01 (<private> of fe.old.example.org)"]
    assert catalog.get("ssh_authorized_key[pragma_boot cluster key]")["key"] == KEY
    catalog, _ = compile_vc(tmp_path / "c", "compute-old.xml", nics=[("eth0", "52:54:00:dd:00:02")])
    assert hosts(catalog) == ["10.2.0.2\tvm-a.local vm-a", "10.2.0.1\tfe.old.example.org fe"]
    assert content(catalog, "/etc/hostname") == "vm-a.local\n"
    assert "GATEWAY=10.2.0.1" in content(catalog, "/etc/sysconfig/network-scripts/ifcfg-eth0")


def test_switches_and_missing_file(tmp_path):
    catalog, _ = compile_vc(tmp_path, "compute.xml", manage_hostname=False, manage_resolv_conf=False,
                            manage_interfaces=False, key_user="")
    assert {r.type for r in catalog.order} == {"line"}
    catalog, warnings = compile_vc(tmp_path / "none", "no-such.xml")
    assert len(catalog) == 0 and "no-such.xml: not found; this is not a pragma_boot" in warnings[0]


def test_agrees_with_the_hostname_module(tmp_path):
    facts = {"os": {"family": "Debian"}}
    catalog, _ = compile_data(tmp_path, {"classes": ["vcluster", "hostname"], "hostname::name": "compute-1.local",
                                         "vcluster::vc_out": os.path.join(FIXTURES, "compute.xml")}, facts=facts)
    assert content(catalog, "/etc/hostname") == "compute-1.local\n"
    with pytest.raises(CompileError, match=r"file\[/etc/hostname\] is declared twice"):
        compile_data(tmp_path / "x", {"classes": ["vcluster", "hostname"], "hostname::name": "other",
                                      "vcluster::vc_out": os.path.join(FIXTURES, "compute.xml")}, facts=facts)


@pytest.mark.parametrize("text, problem", [
    ("<vc><frontend>", "line 1: not well-formed XML"),
    ("<cluster/>", "expected <vc> with a <frontend>"),
    ('<vc><frontend name="x" gw="1.2.3.4"/></vc>', "<frontend> has no fqdn"),
    ('<vc><frontend fqdn="f" name="f" gw="g"/><compute><node name="n" ip="1.1.1.1" cpus="many"/></compute></vc>',
     "<node name='n'> cpus: expected a positive integer, got 'many'"),
])
def test_bad_vc_out_is_a_compile_error_naming_the_file(tmp_path, text, problem):
    path = tmp_path / "vc-out.xml"
    path.write_text(text)
    with pytest.raises(CompileError) as error:
        compile_data(tmp_path, {"classes": ["vcluster"], "vcluster::vc_out": str(path)})
    assert str(error.value) == f"{path}: {problem}"


def test_fixture_keys_are_real(tmp_path):
    if shutil.which("ssh-keygen") is None:
        pytest.skip("ssh-keygen is not installed")
    import subprocess

    (tmp_path / "k.pub").write_text(f"ssh-ed25519 {KEY} x\n")
    assert subprocess.run(["ssh-keygen", "-l", "-f", str(tmp_path / "k.pub")], capture_output=True).returncode == 0

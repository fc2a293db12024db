"""pragma_boot's own vc-out.xml example (seed 002; pragma_boot doc/README-old.rst, "vc-out.xml file
example for a frontend"): its frontend is named only by <public fqdn=...>, as the first vc-out-parser
read it (name = the fqdn's first label); confrt said "<frontend> has no name"."""
import os

from node_modules_support import compile_data, content, of_type

FIXTURE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fixtures", "vcluster",
                       "pragma-readme-frontend.xml")


def test_frontend_named_by_its_public_fqdn(tmp_path):
    facts = {"os": {"family": "RedHat"}, "networking": {"interfaces": {
        "eth0": {"mac": "7a:77:6e:40:00:09"}, "eth1": {"mac": "7a:77:6e:40:00:10"}}}}
    catalog, warnings = compile_data(tmp_path, {"classes": ["vcluster"], "vcluster::vc_out": FIXTURE,
                                                "vcluster::machinefile": "/tmp/machinefile"}, facts=facts)
    assert warnings == []
    # vc-out-parser: private `ip\tname.local name`, public `ip\tfqdn`, each node `ip\tname.local name`
    assert [r["line"] for r in of_type(catalog, "line").values() if r["path"] == "/etc/hosts"] == [
        "123.123.123.123\tsomehost.ucsd.edu", "10.1.1.1\tsomehost.local somehost",
        "10.1.0.254\thosted-vm-0-1-0.local hosted-vm-0-1-0", "10.1.0.253\thosted-vm-0-0-0.local hosted-vm-0-0-0"]
    assert content(catalog, "/etc/hostname") == "somehost.ucsd.edu\n"
    assert content(catalog, "/tmp/machinefile") == "hosted-vm-0-1-0\n" * 2 + "hosted-vm-0-0-0\n" * 2
    public = content(catalog, "/etc/sysconfig/network-scripts/ifcfg-eth1").splitlines()
    assert "GATEWAY=123.123.123.1" in public and "IPADDR=123.123.123.123" in public
    assert catalog.get("ssh_authorized_key[root@somehost.ucsd.edu]")["user"] == "root"

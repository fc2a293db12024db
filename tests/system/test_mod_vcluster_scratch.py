"""vcluster in the scratch system: a compute node's vc-out.xml applied twice (the key lands once)."""
import os

import yaml
from node_support import converge

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fixtures", "vcluster")


def test_compute_node(scratch):
    with open(os.path.join(FIXTURES, "compute.xml")) as handle:
        scratch.write_file("/root/vc-out.xml", handle.read())
    # the interface pragma_boot gave this VM, as the networking fact would list it
    scratch.write_file("/etc/confrt/facts.d/nic.yaml", yaml.safe_dump(
        {"networking": {"interfaces": {"ens3": {"mac": "52:54:00:bb:00:03"}}}, "os": {"family": "Debian"}}))
    hosts_before = scratch.read_text("/etc/hosts")
    converge(scratch, {"classes": ["vcluster"]})
    hosts = scratch.read_text("/etc/hosts")
    assert hosts.startswith(hosts_before.rstrip("\n"))  # the other lines are kept
    assert "10.1.0.3\tcompute-1.local compute-1\n" in hosts and "10.1.0.1\tfe.cluster.example.org fe\n" in hosts
    assert scratch.read_text("/etc/resolv.conf").splitlines()[1:] == ["search local", "nameserver 10.1.0.1"]
    assert scratch.run(["hostname"]).stdout.strip() == "compute-1.local"
    assert scratch.read_text("/etc/hostname") == "compute-1.local\n"
    keys = scratch.read_text("/root/.ssh/authorized_keys")
    assert keys.count("root@fe.cluster.example.org") == 1
    interface = scratch.read_text("/etc/network/interfaces.d/ens3")
    assert "iface ens3 inet static" in interface and "\tgateway 10.1.0.1" in interface
    # a reboot runs it again: still one key (the old script appended it at every boot)
    result = scratch.apply(None)
    assert result.returncode == 0 and scratch.read_text("/root/.ssh/authorized_keys").count("root@fe") == 1

"""The userdata translation's data keys (confrt/userdata) compile in the node modules, unwarned."""
import os

import yaml
from node_modules_support import compile_data, of_type

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fixtures", "userdata")
NODE_MODULES = ("accounts", "hostname", "ephemeral_disk", "tcpbuffers", "sshkeys", "glidein", "lifetime")


def expected_data(name):
    with open(os.path.join(FIXTURES, name)) as handle:
        return yaml.safe_load(handle)["data"]


def test_glidein_userdata(tmp_path):
    data = expected_data("glidein-ini-args-proxy.expected.yaml")
    proxy = tmp_path / "pilot_proxy"
    proxy.write_text("proxy\n")
    data["glidein::proxy_file"] = str(proxy)
    catalog, warnings = compile_data(tmp_path, data)
    assert warnings == []
    assert catalog.get("file[/home/glidein_pilot/pilot_proxy]")["source"] == str(proxy)
    assert catalog.get("service[confrt-glidein-pilot]") and catalog.get("service[confrt-lifetime]")


def test_amiconfig_userdata(tmp_path):
    data = {key: value for key, value in expected_data("amiconfig-all-sections.expected.yaml").items()
            if key.split("::")[0] in NODE_MODULES}
    data["classes"] = ["accounts", "hostname", "ephemeral_disk", "tcpbuffers", "sshkeys"]
    data["sshkeys::metadata_keys"] = ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJ0AZ9ipl7v+8FZ7WM3kF9t6hIRQV0lGZ1ZPq0Qj0U3v key"]
    catalog, warnings = compile_data(tmp_path, data)
    assert warnings == []
    users = of_type(catalog, "user")
    assert users["alice"]["gid"] == "users" and users["alice"]["password"].startswith("$6$")
    assert catalog.get("file[/etc/hostname]")["content"] == "node01.example.org\n"
    assert catalog.get("sysctl[net.ipv4.tcp_rmem]")["value"] == "4096 87380 16777216"
    assert catalog.get("ssh_authorized_key[key]")["user"] == "root"

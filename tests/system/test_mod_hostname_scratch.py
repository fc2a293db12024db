"""hostname in the scratch system (its own UTS namespace, no systemd: `hostname NAME` runs)."""
from node_support import converge


def test_name_persistent_and_running(scratch):
    first = converge(scratch, {"classes": ["hostname"], "hostname::name": "wn042.example.org"})
    assert "exec[hostname]/executed: ran hostname wn042.example.org" in first.stdout
    assert "hostnamectl" not in first.stdout  # systemd is not PID 1 in the scratch system
    assert scratch.read_text("/etc/hostname") == "wn042.example.org\n"
    assert scratch.run(["hostname"]).stdout.strip() == "wn042.example.org"

"""A bare-metal host (no userdata) in the scratch system, with the default paths, takes its data from a
signed git repository (git daemon on the host's 127.0.0.1) through the hierarchy documented in the
packaged hiera/hiera.yaml: a noop previews the first commit without making site_data's directory,
the boot run applies the commit's node, role and common data; a noop previews the next commit and changes nothing of the host or of /var/lib/confrt/site_data; the
hourly run takes it; `confrt site-data status` names it and its signer."""
import os
import sys

import pytest
import yaml

from scratch import CONFRT_STATE, REPO, diff_changes

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "unit"))

from site_data_support import GitDaemon, Keys, SiteRepo  # noqa: E402

SITE = "/var/lib/confrt/site_data"
EXAMPLE = '  # - name: "Site data from git'


def documented_hierarchy():
    """The packaged hiera.yaml with its site-data-from-git example uncommented."""
    with open(os.path.join(REPO, "hiera", "hiera.yaml")) as handle:
        lines = handle.read().splitlines(keepends=True)
    start = next(index for index, line in enumerate(lines) if line.startswith(EXAMPLE))
    for index in range(start, start + 8):
        assert lines[index].startswith("  # "), lines[index]
        lines[index] = "  " + lines[index][4:]
    return "".join(lines)


def site_files(fqdn, generation):
    return {"common.yaml": {"classes": ["resources"], "lookup_options": {"resources::file": {"merge": "deep"}},
                            "resources::file": {"/etc/motd": {"content": f"common {generation}\n"}}},
            "roles/worker.yaml": {"resources::file": {"/etc/motd": {"content": f"worker {generation}\n"}}},
            f"nodes/{fqdn}.yaml": {"resources::file": {"/etc/issue.net": {"content": f"{fqdn} {generation}\n"}}}}


@pytest.fixture
def served(tmp_path):
    keys = Keys(tmp_path / "keys")
    repo = SiteRepo(tmp_path / "git", keys)
    daemon = GitDaemon(repo.base)
    yield keys, repo, daemon
    daemon.stop()


def site_state(system):
    return {path: state for path, state in system.changes().items() if path.startswith(SITE)}


def test_a_bare_metal_host_follows_the_signed_site_repository(scratch, served):
    keys, repo, daemon = served
    with open(keys.allowed_signers) as handle:
        scratch.write_file("/etc/confrt/site_data/allowed_signers", handle.read())
    scratch.write_file("/etc/confrt/confrt.yaml", yaml.safe_dump(
        {"userdata": {"sources": []}, "site_data": {"url": daemon.url, "timeout": 5, "total_timeout": 30}}))
    scratch.write_file("/etc/confrt/hiera.yaml", documented_hierarchy())
    scratch.write_file("/etc/confrt/facts.d/role.yaml", "role: worker\n")
    fqdn = scratch.confrt("facts", "networking.fqdn", check=True).stdout.strip()
    first = repo.commit(site_files(fqdn, 1))

    preview = scratch.confrt("run", "--boot", "--noop")  # a fresh host: nothing made under site_data
    assert preview.returncode == 2, preview.stdout + preview.stderr
    assert f"would take commit {first}" in preview.stdout and "+worker 1" in preview.stdout
    assert not scratch.exists(SITE)
    boot = scratch.confrt("run", "--boot")
    assert boot.returncode == 2, boot.stdout + boot.stderr
    assert f"confrt: site data: took commit {first} of main, signed by alice@example.org" in boot.stdout
    assert scratch.read_text("/etc/motd") == "worker 1\n"  # the role level over common
    assert scratch.read_text("/etc/issue.net") == f"{fqdn} 1\n"  # the node level
    assert scratch.run(["readlink", f"{SITE}/current"]).stdout.strip() == f"checkouts/{first}"
    assert scratch.stat(SITE)[0] == 0o700
    summary = yaml.safe_load(scratch.read_text("/var/lib/confrt/last_run_summary.yaml"))
    assert summary["version"]["config"] == first and summary["steps"]["site_data"]["status"] == "ok"
    explain = scratch.confrt("lookup", "resources::file", "--explain", check=True).stdout
    assert f"{SITE}/checkouts/{first}/nodes/{fqdn}.yaml" in explain

    second = repo.commit(site_files(fqdn, 2))
    before, site_before = scratch.changes(), site_state(scratch)
    noop = scratch.confrt("run", "--noop", "--no-splay")
    assert noop.returncode == 2, noop.stdout + noop.stderr
    assert f"would take commit {second}" in noop.stdout and "+worker 2" in noop.stdout
    assert diff_changes(before, scratch.changes(), ignore=CONFRT_STATE + ("/var/log/confrt",)) == []
    assert site_state(scratch) == site_before
    assert not scratch.run(["sh", "-c", "ls -d /tmp/confrt-site-data-* 2>/dev/null"]).stdout

    hourly = scratch.confrt("run", "--no-splay")
    assert hourly.returncode == 2, hourly.stdout + hourly.stderr
    assert scratch.read_text("/etc/motd") == "worker 2\n"
    status = yaml.safe_load(scratch.confrt("site-data", "status", check=True).stdout)
    assert status["in_use"]["commit"] == second and status["in_use"]["signer"] == "alice@example.org"
    assert status["last_fetch"]["status"] == "ok"

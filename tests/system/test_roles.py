"""The packaged roles in a scratch Debian system: one image, the role chosen by the runtime data.

For each role, with only `role: <name>` (and the pool's central manager) in
local_data (what userdata writes) and the packaged hierarchy:
`confrt apply --noop` lists the full plan and changes nothing, `confrt apply`
converges with 0 failures, and a second apply changes nothing.
"""
import pytest
import yaml
from node_support import skip_unless_debian_with_packages_of
from scratch import change_lines

#: Resources the plan of each role must hold (a sample of each module's work).
PLAN = {
    "worker": ["file[/etc/condor/config.d/10-confrt-roles.conf]", "file[/etc/condor/config.d/30-confrt-slots.conf]",
               "file[/usr/libexec/confrt/condor-last-run]", "file[/etc/cvmfs/default.local]",
               "file[/etc/auto.master.d/cvmfs.autofs]", "file[/etc/vomses/atlas]", "file[/etc/profile.d/osg.sh]",
               "file[/etc/profile.d/atlas.sh]", "file[/etc/profile.d/atlas.csh]",
               "sysctl[user.max_user_namespaces]"],
    "manager": ["file[/etc/condor/config.d/10-confrt-roles.conf]", "file[/etc/condor/config.d/05-confrt-security.conf]"],
    "submit": ["file[/etc/condor/config.d/10-confrt-roles.conf]"],
    "squid": ["file[/etc/squid/squid.conf]", "service[squid]"],
}
ROLE_LINE = {"worker": "use ROLE : Execute", "manager": "use ROLE : CentralManager", "submit": "use ROLE : Submit"}


def changed_resources(output):
    """'file[/etc/x]' of every 'file[/etc/x]/content: ...' change line."""
    return {line.split("]/", 1)[0] + "]" for line in change_lines(output)}


@pytest.mark.parametrize("role", sorted(PLAN))
def test_role_plans_converges_and_stays_converged(offline_scratch, role):
    system = offline_scratch
    skip_unless_debian_with_packages_of(system, role)
    system.run(["rm", "-rf", "/etc/confrt"], check=True)  # only the packaged hierarchy
    local = {"role": role, "condor::collector_host": "cm.example.org"}
    system.write_file("/etc/confrt/data/local.yaml", yaml.safe_dump(local))

    first = system.noop_then_apply()  # the noop changes nothing and lists what the apply then does
    planned = changed_resources(first.noop.stdout)
    assert set(PLAN[role]) <= planned, (sorted(planned), first.noop.stdout)
    assert " 0 failed" in first.stdout.splitlines()[-1]
    done = changed_resources(first.stdout)
    assert planned == done, (sorted(planned ^ done), first.stdout)
    if role in ROLE_LINE:
        assert ROLE_LINE[role] in system.read_text("/etc/condor/config.d/10-confrt-roles.conf")

    again = system.confrt("apply", "--detailed-exitcodes")
    assert again.returncode == 0, again.stdout + again.stderr
    assert " 0 changed, 0 failed" in again.stdout.splitlines()[-1]

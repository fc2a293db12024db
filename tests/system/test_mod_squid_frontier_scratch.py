"""squid module where the OSG repository is enabled, in a scratch system: frontier-squid installed by
dnf, its customize.sh written by confrt, squid.conf made by the package's start script from it.

frontier-squid itself cannot be had here (it is not in Debian): the RPM installed is built here with
frontier-squid's file layout (its spec: customize.sh %config(noreplace), squid.conf.frontierdefault,
squid.conf a %ghost, /etc/init.d/frontier-squid, the squid user made in %post) and a start script
doing what frontier-squid's does at start and reload: make squid.conf from squid.conf.frontierdefault
through customize.sh when either is newer (SQUID_CUSTOMIZE=false skips that), and refuse a squid.conf
without its two logfile_rotate lines. The repository is named `osg`, as OSG's osg.repo names it; the
squid program is Debian's. The host is Debian, so os.family comes from --facts, as on an EL9 host.

Before: confrt wrote squid.conf and installed plain squid everywhere; with frontier-squid, the
package's start script would have replaced confrt's squid.conf with its own default."""
import os

import pytest
from rpm_support import EL_FACTS, build_repo, el_host
from test_mod_squid_scratch import METADATA, ORIGIN_ADDRESS, fetch, serve_origin, wait_for_port

HERE = os.path.dirname(os.path.abspath(__file__))
FRONTIER_DEFAULT = os.path.join(HERE, "..", "fixtures", "squid", "squid.conf.frontierdefault")
REPO_INSIDE = "/srv/confrt-osg-repo"
FACTS_INSIDE = EL_FACTS
DATA = {"classes": ["squid"], "squid::cache_dir_size": 200, "squid::localnet": ["10.0.0.0/8"]}

START_SCRIPT = r"""#!/bin/bash
### BEGIN INIT INFO
# Provides:          frontier-squid
# Required-Start:    $network $remote_fs
# Required-Stop:     $network $remote_fs
# Default-Start:     2 3 4 5
# Default-Stop:      0 1 6
# Short-Description: frontier-squid (confrt's test model of the package's start script)
### END INIT INFO
ETC=/etc/squid
CONF=$ETC/squid.conf
[ -f /etc/sysconfig/frontier-squid ] && . /etc/sysconfig/frontier-squid
make_conf() {
    if [ "${SQUID_CUSTOMIZE:-true}" != false ] && { [ ! -f $CONF ] || [ $ETC/customize.sh -nt $CONF ] ||
            [ $ETC/squid.conf.frontierdefault -nt $CONF ]; }; then
        $ETC/customize.sh < $ETC/squid.conf.frontierdefault > $CONF.new || return 1
        [ -f $CONF ] && mv -f $CONF $CONF.old
        mv -f $CONF.new $CONF
    fi
    if [ "$(grep -c '^logfile_rotate' $CONF)" -lt 2 ]; then
        echo "frontier-squid: $CONF lacks the two required logfile_rotate entries" >&2
        return 1
    fi
}
running() { /usr/sbin/squid -k check -f $CONF >/dev/null 2>&1; }
case "$1" in
    start) make_conf || exit 1; running || /usr/sbin/squid -f $CONF ;;
    stop) running || exit 0; /usr/sbin/squid -k interrupt -f $CONF
          for i in $(seq 100); do running || exit 0; sleep 0.2; done; exit 1 ;;
    reload) make_conf || exit 1; /usr/sbin/squid -k reconfigure -f $CONF ;;
    restart) "$0" stop && "$0" start ;;
    status) [ -f $CONF ] && running || exit 3 ;;
    *) echo "usage: $0 start|stop|reload|restart|status" >&2; exit 2 ;;
esac
"""


def spec():
    with open(FRONTIER_DEFAULT) as handle:
        default = handle.read()
    return f"""\
Name: frontier-squid
Version: 5.9
Release: 2.1
Summary: The Frontier distribution of the Squid proxy caching server (confrt test build)
License: GPL
BuildArch: noarch
AutoReqProv: no
%description
The file layout and start-up of OSG's frontier-squid, around the host's squid.
%install
mkdir -p $RPM_BUILD_ROOT/etc/squid $RPM_BUILD_ROOT/etc/init.d $RPM_BUILD_ROOT/var/cache/squid
cat > $RPM_BUILD_ROOT/etc/squid/squid.conf.frontierdefault <<'CONFRT_TEST_EOF'
{default}CONFRT_TEST_EOF
printf '#!/bin/bash\\n# the package default: no change\\ncat\\n' > $RPM_BUILD_ROOT/etc/squid/customize.sh
cat > $RPM_BUILD_ROOT/etc/init.d/frontier-squid <<'CONFRT_TEST_EOF'
{START_SCRIPT}CONFRT_TEST_EOF
chmod 755 $RPM_BUILD_ROOT/etc/squid/customize.sh $RPM_BUILD_ROOT/etc/init.d/frontier-squid
touch $RPM_BUILD_ROOT/etc/squid/squid.conf $RPM_BUILD_ROOT/etc/squid/squid.conf.old
%post -p <lua>
-- in Lua: a shell scriptlet would need /bin/sh in the rpm database, which Debian's dpkg holds
os.execute("getent group squid >/dev/null || groupadd -r squid")
os.execute("getent passwd squid >/dev/null || useradd -r -g squid -d /var/lib/squid -s /sbin/nologin squid")
os.execute("mkdir -p /var/log/squid /var/cache/squid && chown squid:squid /var/log/squid /var/cache/squid")
%files
%config(noreplace) /etc/squid/customize.sh
/etc/squid/squid.conf.frontierdefault
/etc/init.d/frontier-squid
%ghost /etc/squid/squid.conf
%ghost /etc/squid/squid.conf.old
%ghost /var/cache/squid
"""


@pytest.fixture(scope="module")
def frontier_repo(tmp_path_factory):
    """{relative path: bytes} of a dnf repository holding frontier-squid-5.9-2.1.noarch."""
    return build_repo(tmp_path_factory.mktemp("frontier-squid-rpm"), spec())


@pytest.fixture
def osg_host(offline_scratch, frontier_repo):
    system = offline_scratch
    if not system.exists("/usr/sbin/squid"):
        pytest.skip("Debian's squid is not installed (tests/debian-packages.txt)")
    el_host(system, frontier_repo, "osg", REPO_INSIDE)
    serve_origin(system)
    return system


def test_frontier_squid_runs_confrts_configuration_and_keeps_it_over_restarts(osg_host):
    system = osg_host
    noop = system.apply(DATA, "--noop", "--facts", FACTS_INSIDE)
    assert noop.returncode == 2 and " 0 failed" in noop.stdout.splitlines()[-1], noop.stdout + noop.stderr
    assert "package[frontier-squid]" in noop.stdout and not system.exists("/etc/squid/customize.sh")

    first = system.apply(None, "--facts", FACTS_INSIDE)
    assert first.returncode == 2 and " 0 failed" in first.stdout.splitlines()[-1], first.stdout + first.stderr
    assert system.run(["rpm", "-q", "frontier-squid"]).returncode == 0
    assert "exec[squid -z /var/cache/squid]" in first.stdout and "service[frontier-squid]/ensure" in first.stdout
    wait_for_port(system, 3128)
    config = system.read_text("/etc/squid/squid.conf")  # made by the package's start script
    assert config.startswith("# A model of frontier-squid's")  # the package's lines come first
    assert [line for line in config.splitlines() if line.startswith("logfile_rotate")] == [
        "logfile_rotate 1", "logfile_rotate 0"]
    assert [line for line in config.splitlines() if line.startswith("cache_dir")] == [
        "cache_dir ufs /var/cache/squid 200 16 256"]
    assert [line for line in config.splitlines() if line.startswith("acl localnet")] == ["acl localnet src 10.0.0.0/8"]
    assert system.exists("/var/cache/squid/00")

    url = f"http://{ORIGIN_ADDRESS}:8081/cvmfs/atlas.cern.ch/.cvmfspublished"
    assert fetch(system, url)[0].startswith("MISS")
    assert fetch(system, url)[0].startswith("HIT")
    refused, error = fetch(system, f"http://{METADATA}/latest/user-data")
    assert refused == "refused 403" and error.startswith("ERR_ACCESS_DENIED"), (refused, error)

    again = system.apply(None, "--facts", FACTS_INSIDE)
    assert again.returncode == 0 and "0 changed" in again.stdout, again.stdout + again.stderr

    # the package's own restart makes squid.conf again from customize.sh: confrt's settings stay
    system.run(["touch", "/etc/squid/squid.conf.frontierdefault"], check=True)  # as an upgrade of the package
    assert system.run(["/etc/init.d/frontier-squid", "restart"]).returncode == 0
    assert system.read_text("/etc/squid/squid.conf") == config
    wait_for_port(system, 3128)
    assert fetch(system, url)[0].startswith("HIT")

    # new data: the script changes, the reload makes squid.conf from it; a bad acl changes nothing
    wider = dict(DATA, **{"squid::localnet": ["10.0.0.0/8", "192.168.0.0/16"]})
    changed = system.noop_then_apply(wider, "--facts", FACTS_INSIDE)
    assert changed.returncode == 2 and "service[frontier-squid]" in changed.stdout, changed.stdout
    assert "acl localnet src 192.168.0.0/16" in system.read_text("/etc/squid/squid.conf")
    script = system.read_text("/etc/squid/customize.sh")
    bad = system.apply(dict(DATA, **{"squid::localnet": ["10.0.0.0/33"]}), "--facts", FACTS_INSIDE)
    assert bad.returncode == 4 and "validate_cmd rejected the new content" in bad.stderr, bad.stdout + bad.stderr
    assert system.read_text("/etc/squid/customize.sh") == script
    assert fetch(system, url)[0].startswith("HIT"), "the running squid lost its cache or configuration"

"""The CernVM contextualization page's own examples (/work/shared/seeds/001) through `confrt run --boot`
in the scratch system, checked as amiconfig would have left the node: the EC2 userdata of its Perl
script (script run, user made, ntpd started and enabled, the environment in sh and tcsh login
shells) and its context ISO made with `mkisofs -o context.iso $tmpdir` (root's key, the PanDA pilot
started once as panda)."""
import base64
import os
import shutil
import subprocess

import pytest
import yaml

from scratch import diff_changes

#: "Perl script to start EC2 instance": `my $user_data = qq{...};` (it starts with a newline)
PERL_USERDATA = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fixtures", "userdata",
                             "amiconfig-perl-qq.txt")

#: An ntpd init script as the CernVM image had one (a sleep stands in for the daemon).
NTPD_INIT = """#!/bin/sh
### BEGIN INIT INFO
# Provides:          ntpd
# Required-Start:    $remote_fs
# Required-Stop:     $remote_fs
# Default-Start:     2 3 4 5
# Default-Stop:      0 1 6
# Short-Description: stand-in NTP daemon
### END INIT INFO
PIDFILE=/run/ntpd.pid
running() { [ -f $PIDFILE ] && kill -0 "$(cat $PIDFILE)" 2>/dev/null; }
case "$1" in
  start) running || { setsid sleep 3600 </dev/null >/dev/null 2>&1 & echo $! > $PIDFILE; } ;;
  stop) running && kill "$(cat $PIDFILE)"; rm -f $PIDFILE ;;
  restart) "$0" stop; "$0" start ;;
  status) running ;;
  *) exit 3 ;;
esac
"""
OWN_STATE = ("/var/lib/confrt", "/var/log/confrt", "/var/cache/confrt")


def _boot_site(scratch, source):
    scratch.write_file("/etc/confrt/confrt.yaml", yaml.safe_dump({"userdata": {"sources": [source]}}))
    scratch.write_file("/etc/confrt/data/os/Debian.yaml", yaml.safe_dump({"cvmfs::manage_package": False,
                                                                         "cvmfs::manage_autofs": False}))


def _summary(scratch):
    return yaml.safe_load(scratch.read_text("/var/lib/confrt/last_run_summary.yaml"))


def test_perl_example_userdata(scratch):
    if not shutil.which("update-rc.d") or not shutil.which("tcsh"):
        pytest.skip("needs update-rc.d (init-system-helpers) and tcsh (tests/debian-packages.txt)")
    scratch.write_file("/etc/init.d/ntpd", NTPD_INIT, mode=0o755)
    with open(PERL_USERDATA, "rb") as handle:
        scratch.write_file("/root/user-data", handle.read())
    _boot_site(scratch, "file:/root/user-data")
    before = scratch.changes()
    preview = scratch.confrt("run", "--boot", "--noop")
    assert preview.returncode == 2, preview.stdout + preview.stderr
    assert "confrt: would run the first-boot scripts 01-userdata-script (noop)" in preview.stdout
    assert diff_changes(before, scratch.changes(), ignore=OWN_STATE) == []
    first = scratch.confrt("run", "--boot")
    assert first.returncode == 2, first.stdout + first.stderr
    assert "warning" not in first.stderr, first.stderr

    assert scratch.run(["cat", "/tmp/done"]).stdout == "Done\n"                       # the script, as root
    assert scratch.run(["id", "-nG", "testcms"]).stdout.split() == ["cms"]           # users = testcms:cms:...
    assert scratch.run(["getent", "passwd", "testcms"]).stdout.split(":")[6].strip() == "/bin/bash"
    assert scratch.run(["service", "ntpd", "status"]).returncode == 0               # services = ntpd: started
    assert scratch.run(["sh", "-c", "ls /etc/rc2.d/S*ntpd"]).returncode == 0         # ... and at boot
    login = scratch.run(["runuser", "-l", "testcms", "-c", 'echo "$CMS_SITECONFIG $CMS_ROOT"'])
    assert login.stdout == "EC2 /opt/cms\n", login.stderr                          # environment, bash login
    scratch.run(["chsh", "-s", "/bin/tcsh", "testcms"], check=True)
    login = scratch.run(["runuser", "-l", "testcms", "-c", 'echo "$CMS_SITECONFIG $CMS_ROOT"'])
    assert login.stdout == "EC2 /opt/cms\n", login.stderr                          # ... and tcsh login
    scratch.run(["chsh", "-s", "/bin/bash", "testcms"], check=True)

    scratch.run(["service", "ntpd", "stop"], check=True)
    again = scratch.confrt("run", "--boot")
    assert again.returncode == 2, again.stdout + again.stderr  # ntpd started again, nothing else
    assert "service[ntpd]/ensure" in again.stdout and scratch.run(["service", "ntpd", "status"]).returncode == 0
    assert scratch.run(["cat", "/tmp/done"]).stdout == "Done\n"
    third = scratch.confrt("run", "--boot")
    assert third.returncode == 0, third.stdout + third.stderr


#: "CDROM image generation": the $tmpdir.user_data heredoc (quoted 'EOF': $x509_cert stays literal)
ISO_USERDATA = os.path.join(os.path.dirname(PERL_USERDATA), "amiconfig-context-iso-page.txt")
PILOT = "/cvmfs/sft.cern.ch/lcg/external/experimental/panda-pilot/runPanda"


def _context_iso(tmp_path, root_key):
    """The page's create_context_iso.sh, step by step: root.pub, context.sh, prolog.sh, then
    `mkisofs -o context.iso $tmpdir` (no -R, no -J: ISO 9660 level-1 names, CONTEXT.SH;1)."""
    mkisofs = shutil.which("mkisofs") or shutil.which("genisoimage")
    if not mkisofs or not shutil.which("xorriso"):
        pytest.skip("needs genisoimage and xorriso (tests/debian-packages.txt)")
    tmpdir = tmp_path / "ctx"
    tmpdir.mkdir()
    (tmpdir / "root.pub").write_text(root_key + "\n")
    with open(ISO_USERDATA, "rb") as handle:
        user_data64 = base64.b64encode(handle.read()).decode()
    (tmpdir / "context.sh").write_text(f'# Context variables used by amiconfig\nROOT_PUBKEY=root.pub\n'
                                       f'EC2_USER_DATA="{user_data64}"\nONE_CONTEXT_PATH="/var/lib/amiconfig"\n')
    (tmpdir / "prolog.sh").touch()
    iso = tmp_path / "context.iso"
    subprocess.run([mkisofs, "-quiet", "-o", str(iso), str(tmpdir)], check=True, capture_output=True, timeout=60)
    listing = subprocess.run(["isoinfo", "-l", "-i", str(iso)], capture_output=True, text=True).stdout
    assert "CONTEXT.SH;1" in listing or not shutil.which("isoinfo")
    return iso.read_bytes()


def _descendants(scratch, pid):
    """[(user, args)] of pid and the processes below it, parents first."""
    table = [line.split(None, 3) for line in scratch.run(["ps", "-e", "-o", "pid=,ppid=,user=,args="]).stdout.splitlines()]
    found, wanted = [], {str(pid)}
    for row in sorted(table, key=lambda row: int(row[0])):
        if row[0] in wanted or row[1] in wanted:
            wanted.add(row[0])
            found.append((row[2], row[3]))
    return found


def test_context_iso_example(scratch, tmp_path):
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "root@submit", "-f",
                    str(tmp_path / "key")], check=True, timeout=60)
    root_key = (tmp_path / "key.pub").read_text().strip()
    scratch.write_file("/root/context.iso", _context_iso(tmp_path, root_key))
    scratch.write_file(PILOT, '#!/bin/sh\necho "pilot $(id -un) $*"\nexec sleep 300\n', mode=0o755)
    _boot_site(scratch, "context:/root/context.iso")
    scratch.write_file("/etc/confrt/data/common.yaml", "first_boot::background_check: 1\n")
    first = scratch.confrt("run", "--boot")
    assert first.returncode == 2, first.stdout + first.stderr
    assert first.stderr.splitlines() == ["confrt: warning: userdata: [cernvm] x509-cert: not supported, skipped"]

    assert root_key in scratch.read_text("/root/.ssh/authorized_keys")              # rootsshkeys, by default
    assert scratch.run(["id", "-nG", "panda"]).stdout.split() == ["atlas"]
    pilot = _summary(scratch)["steps"]["first_boot_commands"]["commands"]["01-panda"]
    assert pilot["user"] == "panda" and pilot["background"] is True
    # the reported pid is runuser's; below it the pilot runs, as panda
    assert _descendants(scratch, pilot["running"]) == [
        ("root", f"runuser -l panda -c {PILOT} -m /tmp/eos/atlas/vm/copilot -t 1"),
        ("panda", f"-sh -c {PILOT} -m /tmp/eos/atlas/vm/copilot -t 1"), ("panda", "sleep 300")]
    assert scratch.read_text("/var/log/confrt/first_boot-01-panda.log") == \
        "pilot panda -m /tmp/eos/atlas/vm/copilot -t 1\n"

    second = scratch.confrt("run", "--boot")
    assert second.returncode == 0, second.stdout + second.stderr
    assert "first_boot_commands" not in _summary(scratch).get("steps", {})         # once per instance
    assert scratch.read_text("/var/log/confrt/first_boot-01-panda.log").count("\n") == 1

"""metadata_lock: the rules checked by nft and iptables-restore themselves, then applied for real in a
network namespace of the test's own (unshare --net): loaded, converged, repaired, knocked out."""
import os
import shutil
import subprocess
import sys

import pytest
import yaml
from engine_support import make_site
from mod_support import assert_compile_error, compile_site, content
from test_units import systemd_analyze_verify

from confrt_testing import REPO, confrt_env

ROOT = os.geteuid() == 0


def lock_data(tmp_path, **more):
    return dict({"classes": ["metadata_lock"], "metadata_lock::allowed_users": ["nobody"],
                 "metadata_lock::rules_dir": str(tmp_path / "rules"),
                 "metadata_lock::unit": str(tmp_path / "confrt-metadata-lock.service")}, **more)


def need(*tools):
    missing = [tool for tool in tools if not shutil.which(tool)]
    if missing or not ROOT:
        pytest.skip(f"needs root and {', '.join(missing) or 'these tools'} (Debian packages nftables, iptables)")


def in_netns(argv, **kwargs):
    """argv in a new, empty network namespace (nothing it loads reaches this machine's filter)."""
    return subprocess.run(["unshare", "--net", "--", *argv], capture_output=True, text=True, timeout=120, **kwargs)


def test_the_rules_say_what_the_parameters_say(tmp_path):
    catalog = compile_site(tmp_path, lock_data(tmp_path, **{"metadata_lock::addresses": ["169.254.169.254"]}))
    ruleset = content(catalog, str(tmp_path / "rules" / "ruleset.nft"))
    assert "ip daddr 169.254.169.254 meta skuid != { 0, nobody } reject" in ruleset and "ip6 daddr" not in ruleset
    assert "-A confrt-metadata-lock -m owner --uid-owner nobody -j RETURN" in content(
        catalog, str(tmp_path / "rules" / "rules.v4"))
    assert "-d " not in content(catalog, str(tmp_path / "rules" / "rules.v6"))


def test_nft_and_iptables_restore_accept_the_rules(tmp_path):
    need("nft", "iptables-restore", "ip6tables-restore")
    catalog = compile_site(tmp_path, lock_data(tmp_path))
    for name in ("ruleset.nft", "rules.v4", "rules.v6"):
        (tmp_path / name).write_text(content(catalog, str(tmp_path / "rules" / name)))
    checked = in_netns(["nft", "-c", "-f", str(tmp_path / "ruleset.nft")])
    assert checked.returncode == 0, checked.stderr
    for tool, name in (("iptables-restore", "rules.v4"), ("ip6tables-restore", "rules.v6")):
        with open(tmp_path / name) as rules:
            tested = in_netns([tool, "--test", "--noflush"], stdin=rules)
        assert tested.returncode == 0, tested.stderr


def test_systemd_analyze_verify_accepts_the_unit(tmp_path):
    catalog = compile_site(tmp_path, lock_data(tmp_path))
    unit = tmp_path / "confrt-metadata-lock.service"
    unit.write_text(content(catalog, str(unit)))
    result = systemd_analyze_verify([unit])
    assert result.returncode == 0, result.stderr
    assert [line for line in result.stderr.splitlines() if "metadata-lock" in line] == []


@pytest.mark.parametrize("key, value, problem", [
    ("addresses", ["169.254.169.999"], "'169.254.169.999' is not an IP address"),
    ("addresses", [], "expected at least one address"),
    ("allowed_users", ["bad user"], "'bad user' is not a user name or uid"),
    ("allowed_users", [True], "True is not a user name or uid"),
])
def test_bad_parameters_are_one_line(run_confrt, tmp_path, key, value, problem):
    assert_compile_error(run_confrt, tmp_path, lock_data(tmp_path, **{f"metadata_lock::{key}": value}),
                         f"metadata_lock::{key}: {problem}")


def netns_script(tmp_path, steps, path=None):
    """Run `steps` (a shell script using $C for confrt apply --detailed-exitcodes) in a new network
    namespace; returns its output. $C prints each run's exit code after its output."""
    env = make_site(tmp_path, lock_data(tmp_path))
    script = tmp_path / "steps.sh"
    script.write_text(f'C() {{ "{sys.executable}" -m confrt apply --detailed-exitcodes "$@" 2>&1 && echo rc=0 || echo "rc=$?"; }}\n'
                      + steps)
    variables = confrt_env(env)
    if path:
        variables["PATH"] = path
    result = in_netns(["sh", "-e", str(script)], env=variables, cwd=REPO)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def runs(output):
    """[(changes line, exit code)] of each $C run in netns_script's output."""
    lines = output.splitlines()
    return [(lines[i - 1], line) for i, line in enumerate(lines) if line.startswith("rc=")]


def test_nft_loaded_converged_repaired_and_knocked_out_alone(tmp_path):
    need("nft", "unshare")
    knocked = tmp_path / "knocked.yaml"
    knocked.write_text(yaml.safe_dump({"classes": ["--metadata_lock"]}))
    output = netns_script(tmp_path, f"""
nft add table inet site; nft add chain inet site output '{{ type filter hook output priority 0; }}'
nft add rule inet site output ip daddr 10.1.1.1 drop
C; nft list table inet confrt_metadata_lock
C
nft add rule inet confrt_metadata_lock output ip daddr 10.9.9.9 accept
C --noop; C; C
C --data {knocked} --noop; nft list tables; C --data {knocked}; C --data {knocked}
nft list ruleset
""")
    (first, first_rc), (second, second_rc), (noop, noop_rc), (repair, repair_rc), (third, third_rc), \
        (knock_noop, knock_noop_rc), (knock, knock_rc), (again, again_rc) = runs(output)
    assert first_rc == "rc=2" and "ip daddr 169.254.169.254 meta skuid != { 0, 65534 } reject" in output
    assert " 0 changed, 0 failed" in second and second_rc == "rc=0"
    assert "1 would change" in noop and noop_rc == "rc=2"            # the tampered table, in noop
    assert "1 changed" in repair and repair_rc == "rc=2" and third_rc == "rc=0"
    assert knock_noop_rc == "rc=2" and "table inet confrt_metadata_lock" in output.split(knock_noop)[1]
    assert knock_rc == "rc=2" and again_rc == "rc=0"
    final = output.split(again)[1]
    assert "confrt_metadata_lock" not in final and "ip daddr 10.1.1.1 drop" in final  # the site's table stays
    assert not (tmp_path / "rules").exists() and not (tmp_path / "confrt-metadata-lock.service").exists()


def test_iptables_when_there_is_no_nft(tmp_path):
    need("iptables", "ip6tables", "unshare")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("iptables", "ip6tables", "iptables-restore", "ip6tables-restore", "unshare", "sh"):
        os.symlink(shutil.which(tool), bin_dir / tool)
    output = netns_script(tmp_path, "C; iptables -S; ip6tables -S; C\n", path=f"{bin_dir}:/usr/bin:/bin")
    (_, first_rc), (second, second_rc) = runs(output)
    assert first_rc == "rc=2" and second_rc == "rc=0", output
    assert "-A OUTPUT -j confrt-metadata-lock" in output
    assert "-A confrt-metadata-lock -d 169.254.169.254/32 -j REJECT" in output
    assert "-A confrt-metadata-lock -d fd00:ec2::254/128 -j REJECT" in output


def test_neither_nft_nor_iptables_is_a_clear_failure(tmp_path):
    need("unshare")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    os.symlink(shutil.which("sh"), bin_dir / "sh")
    output = netns_script(tmp_path, "C || true\n", path=f"{bin_dir}:/usr/bin:/bin")
    assert "neither nft nor iptables/ip6tables found: install nftables" in output
    assert runs(output)[0][1] == "rc=6"

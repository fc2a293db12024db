"""SELinux file contexts on EL (issue 16): a CVMFS cache or a squid cache_dir outside the packages'
default paths is given its file context (`semanage fcontext`) and labels (`restorecon`) as a
resource. This Debian host has no SELinux: the facts say RedHat with SELinux enabled and
`semanage`/`restorecon` are fakes on PATH that keep their state in files and log each call, so the
tests check the commands a run gives, a noop's (read-only) included, and that a second run gives
none that change anything."""
import os
import shutil
import tempfile
import textwrap

import pytest
import yaml
from engine_support import make_site
from mod_support import FACTS, compile_site, scratch_disk

SEMANAGE = r'''#!/bin/sh
# fake semanage fcontext: rules in $FAKE_SELINUX/rules, one "SPEC all files system_u:object_r:TYPE:s0" a line
echo "semanage $*" >> "$FAKE_SELINUX/log"
rules="$FAKE_SELINUX/rules"; touch "$rules"
[ "$1" = fcontext ] || exit 1; shift
case "$1" in
  -l) cat "$rules" ;;
  -a|-m) [ "$2" = -t ] || exit 1
         grep -v -F -x -e "$(grep -F "$4 " "$rules" | head -n 1)" "$rules" > "$rules.new"; mv "$rules.new" "$rules"
         echo "$4 all files system_u:object_r:$3:s0" >> "$rules" ;;
  *) exit 1 ;;
esac
'''
RESTORECON = r'''#!/bin/sh
# fake restorecon: a path is labelled once `restorecon -R PATH` ran after its rule was added
echo "restorecon $*" >> "$FAKE_SELINUX/log"
for last; do :; done
if [ "$1" = -n ]; then
  grep -q -F -x "$last" "$FAKE_SELINUX/labelled" 2>/dev/null || echo "Would relabel $last from default_t"
else
  echo "$last" >> "$FAKE_SELINUX/labelled"
fi
'''
EL_SELINUX = {"os.family": "RedHat", "os.name": "Rocky", "os.selinux.enabled": True}


@pytest.fixture
def fake_selinux(tmp_path):
    bin_dir, state = tmp_path / "fakebin", tmp_path / "selinux"
    bin_dir.mkdir()
    state.mkdir()
    for name, text in (("semanage", SEMANAGE), ("restorecon", RESTORECON)):
        (bin_dir / name).write_text(textwrap.dedent(text))
        (bin_dir / name).chmod(0o755)
    facts = tmp_path / "facts.yaml"
    facts.write_text(yaml.safe_dump(EL_SELINUX))
    env = {"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "FAKE_SELINUX": str(state)}
    return env, state, facts


def calls(state):
    log = state / "log"
    lines = log.read_text().splitlines() if log.exists() else []
    log.write_text("")
    return lines


def changing(lines):
    return [line for line in lines if not line.startswith(("semanage fcontext -l", "restorecon -n"))]


@pytest.fixture
def base():
    """A folder right below /tmp, mode 0755: the module declares every folder above its config_dir up to
    the base system's, and a folder of pytest's (0700) must not be among them."""
    from pathlib import Path

    path = Path(tempfile.mkdtemp(prefix="confrt-selinux-", dir="/tmp"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def cvmfs_site(base, cache):
    return {"classes": ["cvmfs"], "cvmfs::manage_package": False, "cvmfs::manage_autofs": False,
            "cvmfs::mount": "none", "cvmfs::config_dir": str(base / "cvmfs-config"),
            "cvmfs::cache_base": str(cache), "cvmfs::http_proxy": "http://squid.example.org:3128"}


def test_cvmfs_cache_off_the_default_path_gets_its_file_context(tmp_path, base, run_confrt, fake_selinux):
    """Before: nothing labelled the cache on the scratch disk: on an enforcing EL9 host CVMFS could not
    mount. Now: made, its rule added, restored; the noop runs only the read-only checks; idempotent."""
    env, state, facts = fake_selinux
    cache = base / "cvmfs-cache"
    env.update(make_site(tmp_path / "site", cvmfs_site(base, cache)))
    noop = run_confrt("apply", "--noop", "--detailed-exitcodes", "--facts", facts, env=env)
    assert noop.returncode == 2, noop.stdout + noop.stderr
    assert (f"selinux_fcontext[{cache}]/seltype: file context {cache}(/.*)? none -> cvmfs_cache_t; {cache} "
            f"relabelled (noop)") in noop.stdout
    assert changing(calls(state)) == [] and not cache.exists()

    real = run_confrt("apply", "--detailed-exitcodes", "--facts", facts, env=env)
    assert real.returncode == 2, real.stdout + real.stderr
    assert changing(calls(state)) == [f"semanage fcontext -a -t cvmfs_cache_t {cache}(/.*)?",
                                      f"restorecon -R {cache}"]
    assert cache.is_dir()
    again = run_confrt("apply", "--detailed-exitcodes", "--facts", facts, env=env)
    assert again.returncode == 0, again.stdout + again.stderr
    assert changing(calls(state)) == []

    # labels lost (a file system made again, a relabel gone wrong): restored, the rule kept
    (state / "labelled").write_text("")
    fixed = run_confrt("apply", "--detailed-exitcodes", "--facts", facts, env=env)
    assert fixed.returncode == 2 and f"selinux_fcontext[{cache}]/labels: {cache} relabelled to cvmfs_cache_t" \
        in fixed.stdout, fixed.stdout + fixed.stderr
    assert changing(calls(state)) == [f"restorecon -R {cache}"]


def selinux_refs(catalog):
    return {ref: resource["seltype"] for ref, resource in catalog.resources.items()
            if ref.startswith("selinux_fcontext[")}


EL_FACTS = dict(FACTS, os=dict(FACTS["os"], selinux={"enabled": True, "enforced": True}),
                ephemeral_disk=scratch_disk(600000))


@pytest.mark.parametrize("module, data, path, seltype", [
    ("cvmfs", {}, "/scratch/cvmfs", "cvmfs_cache_t"),
    ("squid", {"squid::user": "squid"}, "/scratch/squid", "squid_cache_t"),
])
def test_caches_on_the_scratch_disk_are_labelled_on_el_only(tmp_path, module, data, path, seltype):
    catalog = compile_site(tmp_path / "el", dict({"classes": [module]}, **data), EL_FACTS)
    assert selinux_refs(catalog) == {f"selinux_fcontext[{path}]": seltype}
    users = [r for r in catalog.resources.values() if r.type == "exec"
             and f"selinux_fcontext[{path}]" in r.relations.get("require", [])]
    assert users, "the cache is labelled before the software uses it"
    # not on Debian, not without SELinux, not on the packages' own default paths
    debian = dict(EL_FACTS, os=dict(EL_FACTS["os"], family="Debian"))
    disabled = dict(EL_FACTS, os=dict(FACTS["os"], selinux={"enabled": False}))
    default = {k: v for k, v in EL_FACTS.items() if k != "ephemeral_disk"}
    for name, facts in (("debian", debian), ("disabled", disabled), ("default", default)):
        assert selinux_refs(compile_site(tmp_path / name, dict({"classes": [module]}, **data), facts)) == {}, name

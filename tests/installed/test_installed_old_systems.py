"""Issue 15's proof as users install confrt: the old systems' own examples fed to the venv's console
script, run from / with a bare environment, in the scratch system. The cases are the system tests'
own: CernVM's contextualization page (the Perl qq{} userdata, the mkisofs context ISO), glideinWMS
debug mode's end, pragma_boot's compute node, VGrid's owner change, and BNL's write_files data layer."""
import base64

import pytest
import test_glidein_vm_end_scratch as glidein
import test_mod_vcluster_scratch as vcluster
import test_old_systems_scratch as old_systems
import test_vgrid_owner_scratch as vgrid
import yaml
from scratch import start_or_skip


class InstalledScratch:
    """The scratch system, but its confrt() is the installed console script (no PYTHONPATH, no source tree)."""

    def __init__(self, system, installed):
        self._system = system
        self._installed = installed

    def __getattr__(self, name):
        return getattr(self._system, name)

    def confrt(self, *args, env=None, **kwargs):
        return self._system.run([self._installed.confrt, *args], env=dict(self._installed.env(), **(env or {})),
                                cwd="/", **kwargs)


@pytest.fixture
def installed_scratch(installed, tmp_path_factory):
    system = start_or_skip(str(tmp_path_factory.getbasetemp()))
    yield InstalledScratch(system, installed)
    system.teardown()


def test_perl_example_userdata(installed_scratch):
    old_systems.test_perl_example_userdata(installed_scratch)


def test_context_iso_example(installed_scratch, tmp_path):
    old_systems.test_context_iso_example(installed_scratch, tmp_path)


def test_glidein_debug_mode_ends_ten_minutes_after_boot(installed_scratch):
    glidein.test_debug_mode_without_disable_shutdown_ends_ten_minutes_after_boot(installed_scratch)


def test_pragma_boot_compute_node(installed_scratch):
    vcluster.test_compute_node(installed_scratch)


def test_vgrid_owner_change(installed_scratch, tmp_path):
    vgrid.test_owner_change_leaves_only_the_new_owners_key(installed_scratch, tmp_path)


def test_bnl_hiera_local_yaml_is_the_data_layer(installed_scratch):
    """BNL provisioning toolkit (seed 004), step 4: generate-userdata's write_files entry creating
    /etc/hiera/local.yaml (b64, root:root, 0600) is the runtime data layer of the boot run."""
    data = {"classes": ["resources"], "resources::file": {"/etc/bnl-node": {"content": "atlas worker\n"}}}
    content = base64.b64encode(yaml.safe_dump(data).encode()).decode()
    installed_scratch.write_file("/root/ud", (
        f"#cloud-config\nwrite_files:\n- encoding: b64\n  owner: root:root\n  path: /etc/hiera/local.yaml\n"
        f"  permissions: '0600'\n  content: {content}\n").encode())
    installed_scratch.write_file("/etc/confrt/confrt.yaml", yaml.safe_dump({"userdata": {"sources": ["file:/root/ud"]}}))
    first = installed_scratch.confrt("run", "--boot", "--no-splay")
    assert first.returncode == 2, first.stdout + first.stderr
    assert installed_scratch.read_text("/etc/bnl-node") == "atlas worker\n"
    again = installed_scratch.confrt("run", "--boot", "--no-splay")
    assert again.returncode == 0, again.stdout + again.stderr

"""The old systems' own examples (/work/shared/seeds, the documents their users read), decoded as
the old system read them (issue 15): CernVM amiconfig (001), glideinWMS (000), BNL provisioning
toolkit (004). Each test quotes its example's source."""
import base64
import os

import pytest
import yaml
from userdata_helpers import FIXTURES, LOCAL_DATA, MAX_SIZE, decode, write_config

from confrt.errors import UserdataError

# -- CernVM amiconfig (seed 001: "CernVM contextualization on Amazon EC2") ---------------------

#: The page's "Perl script to start EC2 instance": `my $user_data = qq{ ... };`, so the text starts
#: with the newline after `qq{` (tests/fixtures/userdata/amiconfig-perl-qq.txt holds it verbatim).
with open(os.path.join(FIXTURES, "amiconfig-perl-qq.txt"), "rb") as _handle:
    PERL_QQ_USERDATA = _handle.read()

#: The page's create_context_iso.sh: the heredoc written to $tmpdir.user_data ('EOF' is quoted, so
#: `$x509_cert` stays as it is), verbatim in tests/fixtures/userdata/amiconfig-context-iso-page.txt.
with open(os.path.join(FIXTURES, "amiconfig-context-iso-page.txt"), "rb") as _handle:
    CONTEXT_ISO_USERDATA = _handle.read()
ROOT_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJ0AZ9ipl7v+8FZ7WM3kF9t6hIRQV0lGZ1ZPq0Qj0U3v root@submit"


def test_perl_qq_userdata_starting_with_a_newline_is_the_script_and_the_cernvm_section():
    """amiconfig's script runner strips blank lines before looking for `#!`; the old confrt read the
    text as YAML: 'expected a YAML mapping, got str'."""
    assert PERL_QQ_USERDATA.startswith(b"\n#!/bin/sh\n")
    decoded = decode(PERL_QQ_USERDATA)
    assert [s.content for s in decoded.scripts] == [b"#!/bin/sh\necho Done > /tmp/done\nexit\n"]
    assert decoded.data == {
        "cvmfs::organisations": ["cms"], "cvmfs::repositories": ["cms"],
        "accounts::users": {"testcms": {"group": "cms", "password": "12345678"}}, "accounts::shell": "/bin/bash",
        "services::enabled": ["ntpd"], "environment::variables": {"CMS_SITECONFIG": "EC2", "CMS_ROOT": "/opt/cms"},
        "classes": ["cvmfs", "accounts", "environment", "services"]}
    assert decoded.warnings == []


def test_blank_lines_before_a_bare_ini_or_yaml_change_nothing():
    assert decode(b"\n\n[cernvm]\nrepositories = cms\n").data["cvmfs::repositories"] == ["cms"]
    assert decode(b"\n \n\nclasses: [a]\n").data == {"classes": ["a"]}


def test_context_iso_userdata_runs_the_pilot_as_panda_in_the_background():
    """CernVM's init script ran the command as `su - panda -c "cmd > /dev/null 2>&1 &"`; the quotes
    around it made `su -c` look for a program named by the whole line: confrt drops them."""
    decoded = decode(CONTEXT_ISO_USERDATA)
    assert decoded.data["first_boot::commands"] == [{
        "user": "panda", "background": True,
        "command": "/cvmfs/sft.cern.ch/lcg/external/experimental/panda-pilot/runPanda -m /tmp/eos/atlas/vm/copilot -t 1"}]
    assert decoded.data["classes"] == ["cvmfs", "accounts", "first_boot"]
    assert decoded.warnings == ["userdata: [cernvm] x509-cert: not supported, skipped"]


def test_a_command_keeps_quotes_inside_it():
    decoded = decode(b"[cernvm]\ncontextualization_command = alice:echo \"a b\" 'c'\n")
    assert decoded.data["first_boot::commands"][0]["command"] == "echo \"a b\" 'c'"


def _context_volume(root, names):
    """A context volume as the kernel (map=normal: lower case) or xorriso (upper case, version
    stripped) shows a level-1 ISO made by the page's `mkisofs -o context.iso $tmpdir`."""
    context = (f"# Context variables used by amiconfig\nROOT_PUBKEY=root.pub\nEC2_USER_DATA=\""
               f"{base64.b64encode(CONTEXT_ISO_USERDATA).decode()}\"\nONE_CONTEXT_PATH=\"/var/lib/amiconfig\"\n")
    root.mkdir()
    (root / names[0]).write_text(context)
    (root / names[1]).write_text(ROOT_KEY + "\n")
    (root / names[2]).write_text("")
    return root


@pytest.mark.parametrize("names", [
    ("CONTEXT.SH", "ROOT.PUB", "PROLOG.SH"),            # xorriso -extract
    ("CONTEXT.SH;1", "ROOT.PUB;1", "PROLOG.SH;1"),      # mounted with map=off
    ("context.sh", "root.pub", "prolog.sh"),            # mounted (map=normal)
])
def test_context_volume_with_iso_level_1_names(tmp_path, names):
    from confrt.config import userdata_defaults
    from confrt.userdata.sources import fetch

    root = _context_volume(tmp_path / "volume", names)
    fetched = fetch(userdata_defaults(), [f"context:{root}"])
    assert fetched.raw == CONTEXT_ISO_USERDATA
    assert fetched.metadata == {"public_keys": [ROOT_KEY]}


def _show(tmp_path, run_confrt, source, **userdata):
    """`confrt userdata show --source SOURCE` -> (the local_data it prints, stderr)."""
    config = write_config(tmp_path, **userdata)
    result = run_confrt("userdata", "show", "--config", config, "--source", source)
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout), result.stderr


def test_root_pubkey_of_the_context_iso_selects_sshkeys(tmp_path, run_confrt):
    """rootsshkeys is one of amiconfig's two default plugins: the ISO's ROOT_PUBKEY reached root's
    authorized_keys with no class named; the old confrt wrote sshkeys::metadata_keys and no class."""
    root = _context_volume(tmp_path / "volume", ("CONTEXT.SH", "ROOT.PUB", "PROLOG.SH"))
    data, _ = _show(tmp_path, run_confrt, f"context:{root}")
    assert data["sshkeys::metadata_keys"] == [ROOT_KEY]
    assert data["classes"] == ["cvmfs", "accounts", "first_boot", "sshkeys"]


def test_an_image_without_rootsshkeys_leaves_root_alone(tmp_path, run_confrt):
    root = _context_volume(tmp_path / "volume", ("context.sh", "root.pub", "prolog.sh"))
    data, _ = _show(tmp_path, run_confrt, f"context:{root}", amiconfig_plugins=["cernvm"])
    assert data["sshkeys::metadata_keys"] == [ROOT_KEY] and "sshkeys" not in data["classes"]


def test_rootsshkeys_disabled_by_the_userdata_or_the_image(tmp_path, run_confrt):
    userdata = tmp_path / "ud"
    userdata.write_bytes(b"[amiconfig]\ndisabled_plugins = rootsshkeys\n[cernvm]\nrepositories = cms\n")
    assert decode(userdata.read_bytes()).amiconfig_plugins == {"cernvm"}
    assert "rootsshkeys" not in decode(b"[cernvm]\nrepositories = cms\n", settings={
        "amiconfig_disabled_plugins": ["rootsshkeys"]}).amiconfig_plugins


def test_plain_yaml_userdata_adds_no_class_for_the_metadata_key(tmp_path):
    from confrt.userdata.local import local_data_of
    from confrt.userdata.sources import Fetched

    fetched = Fetched("ec2", b"classes: [hostname]\n", {"public_keys": [ROOT_KEY]})
    assert local_data_of(decode(fetched.raw), fetched)["classes"] == ["hostname"]
    fetched = Fetched("ec2", b"[cernvm]\nrepositories = cms\n", {"public_keys": [ROOT_KEY]})
    assert local_data_of(decode(fetched.raw), fetched)["classes"] == ["cvmfs", "sshkeys"]


#: The page's "Specific plugin options", [condor] and [squid] as listed there.
CONDOR_SECTION = (b"[condor]\nhostname = wn1.example.org\ncondor_master = cm.example.org\ncondor_secret = s3cret\n"
                  b"collector_name = CernVM\ncondor_user = condor\ncondor_group = condor\ncondor_dir = /scratch/condor\n")


def test_a_section_of_a_plugin_not_enabled_is_skipped_saying_how_to_enable_it():
    """amiconfig ran only cernvm and rootsshkeys unless [amiconfig] plugins (or default.cfg) named
    more; the old confrt configured condor from the section alone."""
    decoded = decode(CONDOR_SECTION + b"[squid]\ncvmfs_server = cernvm-webfs.cern.ch\n")
    assert decoded.data == {}
    assert decoded.warnings == [
        "userdata: [condor]: amiconfig plugin condor is not enabled, section skipped (enable it with "
        "`plugins = condor` under [amiconfig], or for the image in confrt.yaml userdata.amiconfig_plugins)",
        "userdata: [squid]: amiconfig plugin squid is not enabled, section skipped (enable it with "
        "`plugins = squid` under [amiconfig], or for the image in confrt.yaml userdata.amiconfig_plugins)"]


@pytest.mark.parametrize("how", ["userdata", "image"])
def test_condor_options_the_old_answer_skipped(how):
    raw = (b"[amiconfig]\nplugins = condor\n" if how == "userdata" else b"") + CONDOR_SECTION
    settings = {"amiconfig_plugins": ["cernvm", "rootsshkeys", "condor"]} if how == "image" else None
    decoded = decode(raw, settings=settings)
    assert decoded.data == {
        "classes": ["condor", "hostname"], "condor::roles": ["execute"], "condor::collector_host": "cm.example.org",
        "hostname::name": "wn1.example.org", "condor::execute_dir": "/scratch/condor/lib/condor/execute",
        "condor::pool_password": "s3cret", "condor::collector_name": "CernVM",
        # what amiconfig wrote when the section did not say: the host's domain, ports 9600-9700
        "condor::uid_domain": "%{networking.domain}", "condor::lowport": 9600, "condor::highport": 9700}
    assert decoded.warnings == []  # condor_user/group = condor: the package's account, nothing to do


def test_image_disabled_plugins_win_over_the_userdata():
    decoded = decode(b"[amiconfig]\nplugins = condor\n" + CONDOR_SECTION,
                     settings={"amiconfig_disabled_plugins": ["condor"]})
    assert "condor::roles" not in decoded.data and "not enabled" in decoded.warnings[0]


def test_condor_hostname_loses_to_a_hostname_section_and_other_accounts_are_dropped():
    decoded = decode(b"[amiconfig]\nplugins = condor hostname\n[condor]\nhostname = a.example.org\n"
                     b"condor_user = cvmfs\n[hostname]\nhostname = b.example.org\n")
    assert decoded.data["hostname::name"] == "b.example.org"
    assert decoded.warnings == ['userdata: [condor] condor_user = cvmfs: dropped: the daemons run as the '
                                'HTCondor package\'s condor account (README "Userdata")']


def test_condor_dir_must_be_absolute():
    with pytest.raises(UserdataError, match=r"\[condor\] condor_dir: expected an absolute path, got '~condor/condor'"):
        decode(b"[amiconfig]\nplugins = condor\n[condor]\ncondor_dir = ~condor/condor\n")


def test_storage_options_of_the_space_daemon_are_dropped_with_the_reason():
    """The page's [storage] example."""
    decoded = decode(b"[amiconfig]\nplugins = storage\n[storage]\n# disable the spacedaemon\ndaemon = False\n"
                     b"# size in GB\npre-allocated-space = 20\n# list of ':' seperated dirs\n"
                     b"relocate-paths = /srv/rmake-builddir:/srv/mysql\n")
    assert decoded.data == {"classes": ["ephemeral_disk"],
                            "ephemeral_disk::relocate_paths": ["/srv/rmake-builddir", "/srv/mysql"]}
    assert [w.split(": dropped: ")[0] for w in decoded.warnings] == [
        "userdata: [storage] daemon", "userdata: [storage] pre-allocated-space"]
    assert all("first-write penalty" in w for w in decoded.warnings)


# -- glideinWMS VM pilot (seed 000: gwms-cloud-vms README) -------------------------------------

#: The README's "example ini file".
GLIDEIN_INI = b"""[glidein_startup]
args = blah
proxy_file_name = pilot_proxy
webbase= na

[vm_properties]
max_lifetime = 43200
contextualization_type = EC2
disable_shutdown = True
"""


@pytest.mark.parametrize("wrap", [False, True])
def test_base64_ini_without_the_separator_names_the_problem(tmp_path, run_confrt, wrap):
    """`[Base64 encoded blob]####[additional arguments]` with the #### and the arguments left out:
    the old pilot failed on it as an ini, the old confrt said 'expected a YAML mapping, got str'."""
    userdata = tmp_path / "ud"
    userdata.write_bytes(base64.encodebytes(GLIDEIN_INI) if wrap else base64.b64encode(GLIDEIN_INI))
    config = write_config(tmp_path)
    result = run_confrt("userdata", "fetch", "--config", config, "--source", f"file:{userdata}")
    assert result.returncode == 1
    assert result.stderr == ("confrt: error: userdata: a base64-encoded glideinWMS ini without the `####` "
                             "separator: expected base64(ini)####extra args[####base64(gzip(proxy))], or the "
                             "plain ini (debug mode)\n")
    assert not (tmp_path / "data" / "local.yaml").exists()


def test_base64_tarball_without_the_separator_names_the_problem():
    """`base64(tar.gz)####extra args` (tests/fixtures/userdata/glidein-tarball-args.txt) with the
    #### and the arguments cut off."""
    with open(os.path.join(FIXTURES, "glidein-tarball-args.txt"), "rb") as handle:
        blob = handle.read().split(b"####")[0]
    with pytest.raises(UserdataError, match=r"^userdata: a base64 glideinWMS tarball \(glidein_userdata inside\) "
                                            r"without the `####` separator: expected base64\(tar.gz\)####extra args$"):
        decode(blob)


def test_base64_of_anything_else_is_still_not_a_mapping():
    with pytest.raises(UserdataError, match="expected a YAML mapping, got str"):
        decode(base64.b64encode(b"[cernvm]\nrepositories = cms\n"))


# -- BNL provisioning toolkit (seed 004: provisioning-toolkit README) --------------------------

def _cloud_config(path, data):
    content = base64.b64encode(yaml.safe_dump(data).encode()).decode()
    return (f"#cloud-config\nwrite_files:\n- encoding: b64\n  owner: root:root\n  path: {path}\n"
            f"  permissions: '0600'\n  content: {content}\n").encode()


def test_hiera_local_yaml_written_by_write_files_is_the_data_layer(tmp_path, run_confrt):
    """Step 4: "include as a write_files entry creating /etc/hiera/loca[l].yaml", as
    generate-userdata writes it (b64, root:root, 0600); later images wrote /etc/hiera/userdata.yaml."""
    for path in ("/etc/hiera/local.yaml", "/etc/hiera/userdata.yaml"):
        userdata = tmp_path / "ud"
        userdata.write_bytes(_cloud_config(path, {"classes": ["hostname"], "hostname::name": "wn1.example.org"}))
        data, stderr = _show(tmp_path, run_confrt, f"file:{userdata}")
        assert data["classes"] == ["hostname"] and data["hostname::name"] == "wn1.example.org", path
        assert "# file:" not in stderr and stderr == ""


def test_data_at_a_path_nothing_reads_is_written_with_a_warning(tmp_path, run_confrt):
    """The README's own spelling, /etc/hiera/loca.yaml: Puppet never read it, nor does confrt."""
    userdata = tmp_path / "ud"
    userdata.write_bytes(_cloud_config("/etc/hiera/loca.yaml", {"classes": ["hostname"]}))
    config = write_config(tmp_path)
    result = run_confrt("userdata", "show", "--config", config, "--source", f"file:{userdata}")
    assert result.returncode == 0
    assert "# file: /etc/hiera/loca.yaml" in result.stdout
    assert result.stderr == (
        "confrt: warning: userdata: write_files[0]: /etc/hiera/loca.yaml looks like data (classes or "
        f"module::key keys) but no data level reads it: write it to {tmp_path}/data/local.yaml (or a path of "
        "userdata.legacy_local_data) to make it the data layer\n")


def test_data_written_into_the_hierarchy_or_plain_files_give_no_warning():
    from confrt.paths import packaged_hiera_config
    from confrt.userdata.formats import decode_userdata

    for path, data in (("/etc/confrt/data/roles/worker.yaml", {"classes": ["condor"]}),
                       ("/etc/motd.yaml", {"greeting": "hello"})):
        decoded = decode_userdata(_cloud_config(path, data), LOCAL_DATA, "/var/lib/confrt", MAX_SIZE, None,
                                  packaged_hiera_config())
        assert decoded.warnings == [] and [f.path for f in decoded.files] == [path]


def test_legacy_paths_are_a_setting(tmp_path, run_confrt):
    userdata = tmp_path / "ud"
    userdata.write_bytes(_cloud_config("/etc/hiera/local.yaml", {"classes": ["hostname"]}))
    data, stderr = _show(tmp_path, run_confrt, f"file:{userdata}", legacy_local_data=[])
    assert "classes" not in data and "looks like data" in stderr
    config = write_config(tmp_path, legacy_local_data=["etc/hiera/local.yaml"])
    result = run_confrt("userdata", "show", "--config", config, "--source", f"file:{userdata}")
    assert result.returncode == 1
    assert result.stderr == (f"confrt: error: {config}: userdata.legacy_local_data[0]: expected an absolute "
                             "path, got 'etc/hiera/local.yaml'\n")


def test_amiconfig_plugin_setting_is_checked(tmp_path, run_confrt):
    config = write_config(tmp_path, amiconfig_plugins=["cernvm", "root ssh keys"])
    result = run_confrt("userdata", "show", "--config", config, "--source", f"file:{os.devnull}")
    assert result.returncode == 1
    assert result.stderr == (f"confrt: error: {config}: userdata.amiconfig_plugins[1]: expected an amiconfig "
                             "plugin name, got 'root ssh keys'\n")

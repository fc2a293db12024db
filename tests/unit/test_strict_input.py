"""Issue 14 §4: where silence hid a mistake, an error (or a warning naming what was skipped):
a non-boolean `sensitive`, a key given twice in any YAML confrt reads, a resource that requires
itself, a relative statedir/local_data/facts_dir/log_dir, glideinWMS userdata that is `####...`,
bad amiconfig values, and the condor pool password written into a directory that failed."""
import os

import pytest
import yaml
from engine_support import catalog_of, res
from run_site import make_run_site
from test_data_store import one_file
from userdata_helpers import decode

from confrt.errors import CompileError, DataError, UserdataError

# -- sensitive: true or false, nothing else


@pytest.mark.parametrize("value", ["true", "yes", 1, None])
def test_lookup_options_sensitive_must_be_a_boolean(tmp_path, value):
    """Taken as false, the value was printed: 'true' looked like a secret kept."""
    store = one_file(tmp_path, {"lookup_options": {"site::token": {"sensitive": value}}, "site::token": "S3cret"})
    with pytest.raises(DataError) as caught:
        store.lookup("site::token")
    assert str(caught.value) == (f"{tmp_path}/data/common.yaml: lookup_options: 'site::token': sensitive: expected "
                                 f"true or false, got {value!r}")


def test_lookup_options_sensitive_booleans_are_taken(tmp_path):
    store = one_file(tmp_path, {"lookup_options": {"a": {"sensitive": True}, "b": {"sensitive": False}},
                                "a": 1, "b": 2})
    assert (store.lookup("a"), store.is_sensitive("a"), store.is_sensitive("b")) == (1, True, False)


@pytest.mark.parametrize("value, problem", [
    ("true", "got 'true'"), ("yes", "got 'yes'"), (1, "got 1"), (["content", "contnt"], "got 'contnt' (did you mean "
                                                                                        "'content'?)")])
def test_a_resources_sensitive_must_be_a_boolean_or_attribute_names(value, problem):
    with pytest.raises(CompileError) as caught:
        catalog_of(res("file", "/tmp/x", content="S3cret", sensitive=value))
    assert str(caught.value).endswith(f"file[/tmp/x]: sensitive: expected true, false or names of attributes of "
                                      f"file, {problem}")
    assert "S3cret" not in str(caught.value)


@pytest.mark.parametrize("value, marked", [(True, True), (False, False), ("content", True), (["mode"], False)])
def test_a_resources_sensitive_as_documented(value, marked):
    resource = catalog_of(res("file", "/tmp/x", content="S3cret", mode="0600", sensitive=value)).get("file[/tmp/x]")
    assert ("content" in resource.sensitive) is marked


# -- a key given twice, in each YAML file confrt reads


def site_with(tmp_path):
    env, paths = make_run_site(tmp_path / "site", common={"classes": ["resources"]},
                               sources=[f"file:{tmp_path}/site/user-data"])
    return env, paths


TWICE = "classes: [resources]\nresources::file:\n  /tmp/a: {content: a}\nx: 1\nresources::file:\n  /tmp/b: {}\n"


@pytest.mark.parametrize("which", ["data", "hiera.yaml", "confrt.yaml", "facts.d", "userdata"])
def test_a_key_given_twice_is_an_error_naming_it_and_both_lines(run_confrt, tmp_path, which):
    """PyYAML kept the last block silently: every file of the first resources::file was gone."""
    env, paths = site_with(tmp_path)
    command = ["lookup", "classes"]
    if which == "data":
        path = os.path.join(paths["data"], "common.yaml")
        text = TWICE
    elif which == "hiera.yaml":
        path = paths["hiera.yaml"]
        text = ("version: 5\ndefaults: {datadir: data}\nhierarchy:\n  - name: common\n    path: common.yaml\n"
                "x: 1\nhierarchy: []\n")
    elif which == "confrt.yaml":
        path = paths["confrt.yaml"]
        text = open(path).read() + "x: 1\nstatedir: /tmp/elsewhere\n"
    elif which == "facts.d":
        os.makedirs(paths["facts.d"])
        path = os.path.join(paths["facts.d"], "site.yaml")
        text = "role: worker\nx: 1\nrole: squid\n"
    else:
        path, command = "userdata", ["userdata", "show"]
        with open(f"{tmp_path}/site/user-data", "w") as handle:
            handle.write(TWICE)
        text = TWICE
    if path != "userdata":
        with open(path, "w") as handle:
            handle.write(text)
    result = run_confrt(*command, env=env)
    lines = result.stderr.splitlines()
    assert result.returncode == 1 and len(lines) == 1, result.stderr
    key = {"hiera.yaml": "hierarchy", "confrt.yaml": "statedir", "facts.d": "role"}.get(which, "resources::file")
    first, second = [number for number, line in enumerate(text.splitlines(), 1) if line.startswith(key + ":")]
    assert lines[0] == (f"confrt: error: {path}:{second}:1: invalid YAML: duplicate key '{key}' (first at line "
                        f"{first}; the first would be dropped)")


# -- a resource that requires itself


@pytest.mark.parametrize("kind", ["require", "before", "notify", "subscribe"])
def test_a_resource_related_to_itself_is_a_cycle(kind):
    with pytest.raises(CompileError) as caught:
        catalog_of(res("file", "/tmp/x", content="x", **{kind: "file[/tmp/x]"}))
    assert str(caught.value) == (f"module test: file[/tmp/x]: {kind}: dependency cycle: file[/tmp/x] -> file[/tmp/x] "
                                 f"(a resource cannot {kind} itself)")


# -- a NUL byte, which no path, name or command can hold


@pytest.mark.parametrize("type_name, title, attrs, name", [
    ("file", "/tmp/a\0b", {"content": "x"}, "path"),
    ("file", "/tmp/a", {"content": "x", "owner": "ro\0ot"}, "owner"),
    ("exec", "x", {"command": ["/bin/true\0"]}, "command"),
    ("link", "/tmp/l", {"target": "/a\0b"}, "target"),
])
def test_a_nul_byte_in_an_attribute_is_a_compile_error(type_name, title, attrs, name):
    """Each failed (or crashed) at apply with 'ValueError: embedded null byte'."""
    with pytest.raises(CompileError, match=f": {name}: holds a NUL character"):
        catalog_of(res(type_name, title, **attrs))


def test_a_nul_byte_in_content_is_content():
    assert catalog_of(res("file", "/tmp/a", content="a\0b")).get("file[/tmp/a]")["content"] == "a\0b"


# -- settings naming a place: absolute


@pytest.mark.parametrize("setting", ["statedir", "local_data", "facts_dir", "hiera_config", "run.log_dir"])
def test_a_relative_path_setting_is_an_error(run_confrt, tmp_path, setting):
    """State landed under the working directory: / under systemd, root's home under cron."""
    env, paths = site_with(tmp_path)
    config = yaml.safe_load(open(paths["confrt.yaml"]))
    section, _, key = setting.rpartition(".")
    (config[section] if section else config)[key] = "relative/place"
    with open(paths["confrt.yaml"], "w") as handle:
        yaml.safe_dump(config, handle)
    result = run_confrt("lookup", "classes", env=env, cwd=str(tmp_path))
    assert result.returncode == 1, result.stderr
    assert result.stderr.startswith(f"confrt: error: {paths['confrt.yaml']}: {setting}: expected an absolute path, "
                                    f"got 'relative/place'"), result.stderr
    assert not (tmp_path / "relative").exists()


# -- glideinWMS userdata that starts with ####


@pytest.mark.parametrize("raw", [b"####", b"####-slots 4####", b"  ####\n", b"####-v std####H4sIAAAA\n"])
def test_glidein_userdata_without_its_first_field_is_an_error(run_confrt, tmp_path, raw):
    """It decoded as an empty YAML comment: local_data became the metadata alone, exit 0."""
    with pytest.raises(UserdataError, match="glideinWMS userdata whose first field .* is empty"):
        decode(raw)
    env, paths = site_with(tmp_path)
    with open(paths["local.yaml"], "w") as handle:
        handle.write("classes: [resources]\nprevious: true\n")
    with open(f"{tmp_path}/site/user-data", "wb") as handle:
        handle.write(raw)
    result = run_confrt("userdata", "fetch", env=env)
    assert result.returncode == 1 and "first field" in result.stderr, result.stderr
    assert open(paths["local.yaml"]).read() == "classes: [resources]\nprevious: true\n"


def test_yaml_userdata_with_a_banner_of_hashes_is_still_yaml():
    assert decode(b"#### site data ####\nclasses: [cvmfs]\n").data == {"classes": ["cvmfs"]}


# -- bad amiconfig values: a warning naming section and option, the option skipped


@pytest.mark.parametrize("section, option, value, key, problem", [
    ("squid", "cache_mem", "lots", "squid::cache_mem", "expected a size"),
    ("tcpbuffers", "net.core.rmem_max", "-5", "tcpbuffers::sysctls", "expected whole numbers >= 0"),
    ("tcpbuffers", "net.ipv4.tcp_rmem", "4096 lots 16777216", "tcpbuffers::sysctls", "expected whole numbers"),
    ("hostname", "hostname", "bad host name!", "hostname::name", "'bad host name!' is not a host name"),
    ("condor", "hostname", "bad host name!", "hostname::name", "'bad host name!' is not a host name"),
    ("storage", "swap", "huge", "ephemeral_disk::swap", "expected true, false or a size in MB, got 'huge'"),
    ("storage", "swap", "0", "ephemeral_disk::swap", "expected true, false or a size in MB, got '0'"),
])
def test_a_bad_amiconfig_value_is_skipped_with_a_warning(section, option, value, key, problem):
    """Passed on, each failed the whole run's compile, or (rmem_max = -5) went to sysctl."""
    raw = f"[amiconfig]\nplugins = {section}\n[{section}]\n{option} = {value}\n".encode()
    decoded = decode(raw)
    assert key not in decoded.data, decoded.data
    warnings = [line for line in decoded.warnings if f"[{section}] {option}: " in line]
    assert len(warnings) == 1 and problem in warnings[0] and warnings[0].endswith(", skipped"), decoded.warnings


def test_good_amiconfig_values_still_pass():
    raw = (b"[amiconfig]\nplugins = squid tcpbuffers hostname storage\n[squid]\ncache_mem = 4096\n"
           b"[tcpbuffers]\nnet.ipv4.tcp_rmem = 4096  87380 16777216\n[hostname]\nhostname = wn-1.example.org\n"
           b"[storage]\nswap = 2048\n")
    data = decode(raw).data
    assert (data["squid::cache_mem"], data["tcpbuffers::sysctls"], data["hostname::name"],
            data["ephemeral_disk::swap"]) == ("4096 MB", {"net.ipv4.tcp_rmem": "4096 87380 16777216"},
                                              "wn-1.example.org", 2048)


def test_a_bad_amiconfig_user_entry_is_skipped_alone_never_quoting_its_password():
    decoded = decode(b"[cernvm]\nusers = a:b,good:users:pw1,Bad:x:S3cretPw,panda:atlas:\n")
    assert decoded.data["accounts::users"] == {"good": {"group": "users", "password": "pw1"},
                                               "panda": {"group": "atlas"}}
    assert decoded.warnings == [
        "userdata: [cernvm] users: entry 1 (user 'a', 2 fields): expected user:group:password (names of lower case "
        "letters, digits, '_', '-', '.'), entry skipped",
        "userdata: [cernvm] users: entry 3 (user 'Bad', 3 fields): expected user:group:password (names of lower "
        "case letters, digits, '_', '-', '.'), entry skipped"]


# -- condor: the pool password is written only into its directory


def test_the_pool_password_exec_requires_its_directory(tmp_path):
    """It ran even when the directory failed (wrong mode, a file in its place)."""
    from mod_support import compile_site

    catalog = compile_site(tmp_path, {"classes": ["condor"], "condor::roles": ["execute"],
                                      "condor::collector_host": "cm.example.org", "condor::manage_package": False,
                                      "condor::manage_service": False, "condor::pool_password": "S3cret-pw",
                                      "condor::password_file": "/etc/condor/pw/POOL"})
    assert "directory[/etc/condor/pw]" in catalog.requires["exec[condor pool password /etc/condor/pw/POOL]"]


def test_a_secret_held_by_a_relation_marks_no_metaparameter(tmp_path):
    """A module's sensitive value inside a `require` marked `require` sensitive, which the strict
    `sensitive` check then refused as no attribute."""
    from confrt.config import load_config
    from confrt.engine.run import compile_catalog
    from confrt.facts import Facts
    from engine_support import make_site

    module = """
        from confrt.engine.module import Param
        PARAMS = [Param("token", str, None, "a token", sensitive=True)]
        def declare(params, facts, ctx):
            return [ctx.resource("exec", f"register {params['token']}", command=["true"]),
                    ctx.resource("file", "/tmp/confrt-test/token", content=f"t={params['token']}\\n",
                                 require=f"exec[register {params['token']}]")]
    """
    env = make_site(tmp_path / "site", {"classes": ["m"], "m::token": "abc123"}, modules={"m": module})
    catalog, _ = compile_catalog(load_config(env["CONFRT_CONFIG"]), Facts.static({}))
    assert "content" in catalog.get("file[/tmp/confrt-test/token]").sensitive

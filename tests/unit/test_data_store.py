"""DataStore: hierarchy forms, interpolation, lookup_options, module data, errors."""
import json
import os

import pytest
import yaml
from confrt_testing import REPO

from confrt.data import DataStore
from confrt.errors import DataError, LookupNotFound
from confrt.facts import Facts

FACTS = {"os": {"family": "Debian", "release": {"major": "12"}}, "role": "worker",
         "networking": {"fqdn": "n1.example.org"}, "services": ["squid", "condor"], "pool": "cms"}


def make_store(tmp_path, hierarchy, files, facts=FACTS, defaults=None, **kwargs):
    """Write hiera.yaml + data files under tmp_path and open a DataStore on them."""
    config = {"version": 5, "hierarchy": hierarchy}
    if defaults:
        config["defaults"] = defaults
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "hiera.yaml").write_text(yaml.safe_dump(config))
    for name, content in files.items():
        path = tmp_path / "data" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content if isinstance(content, str) else yaml.safe_dump(content))
    return DataStore(str(tmp_path / "hiera.yaml"), Facts.static(facts), **kwargs)


COMMON = [{"name": "common", "path": "common.yaml"}]


def one_file(tmp_path, data, **kwargs):
    return make_store(tmp_path, COMMON, {"common.yaml": data}, **kwargs)


# -- hierarchy forms

def test_path_interpolates_facts_and_first_found_wins(tmp_path):
    store = make_store(tmp_path, [
        {"name": "os", "path": "os/%{facts.os.family}.yaml"},
        {"name": "common", "path": "common.yaml"},
    ], {"os/Debian.yaml": {"a": "debian"}, "os/RedHat.yaml": {"a": "redhat"}, "common.yaml": {"a": "c", "b": 2}})
    assert store.lookup("a") == "debian"
    assert store.lookup("b") == 2


def test_default_hierarchy_is_common_yaml_in_data(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "common.yaml").write_text("k: v\n")
    (tmp_path / "hiera.yaml").write_text("version: 5\n")
    assert DataStore(str(tmp_path / "hiera.yaml"), Facts.static({})).lookup("k") == "v"


def test_paths_and_per_level_datadir(tmp_path):
    store = make_store(tmp_path, [
        {"name": "several", "paths": ["roles/%{role}.yaml", "pools/%{::pool}.yaml"]},
        {"name": "site", "datadir": "site", "path": "common.yaml"},
    ], {"roles/worker.yaml": {"a": "role"}, "pools/cms.yaml": {"a": "pool", "b": "pool"}})
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "common.yaml").write_text("c: site\n")
    assert [store.lookup(k) for k in "abc"] == ["role", "pool", "site"]


def test_defaults_datadir_and_absolute_paths(tmp_path):
    other = tmp_path / "elsewhere.yaml"
    other.write_text("x: absolute\n")
    store = make_store(tmp_path, [{"name": "abs", "path": str(other)}, {"name": "c", "path": "c.yaml"}],
                       {}, defaults={"datadir": "mydata"})
    (tmp_path / "mydata").mkdir()
    (tmp_path / "mydata" / "c.yaml").write_text("y: mydata\n")
    assert store.lookup("x") == "absolute" and store.lookup("y") == "mydata"


def test_glob_and_globs_read_matches_in_sorted_order(tmp_path):
    store = make_store(tmp_path, [
        {"name": "g", "glob": "conf.d/*.yaml"},
        {"name": "gs", "globs": ["more/%{role}-*.yaml"]},
    ], {"conf.d/20-b.yaml": {"a": "20", "l": ["b"]}, "conf.d/10-a.yaml": {"a": "10", "l": ["a"]},
        "more/worker-1.yaml": {"l": ["w"]}, "more/other-1.yaml": {"l": ["o"]}})
    assert store.lookup("a") == "10"
    assert store.lookup("l", merge="unique") == ["a", "b", "w"]


def test_mapped_paths_one_file_per_array_element(tmp_path):
    store = make_store(tmp_path, [
        {"name": "services", "mapped_paths": ["services", "svc", "services/%{svc}.yaml"]},
    ], {"services/squid.yaml": {"ports": [3128]}, "services/condor.yaml": {"ports": [9618]}})
    assert store.lookup("ports", merge="unique") == [3128, 9618]


def test_level_with_undefined_variable_is_skipped(tmp_path):
    store = make_store(tmp_path, [
        {"name": "node", "path": "nodes/%{trusted.certname}.yaml"},
        {"name": "cluster", "path": "%{cluster}common.yaml"},
        {"name": "common", "path": "common.yaml"},
    ], {"nodes/.yaml": {"a": ["empty name"]}, "common.yaml": {"a": ["common"]}})
    # %{cluster} undefined: the level is skipped rather than reading common.yaml twice.
    assert store.lookup("a", merge="unique") == ["common"]
    assert "Skipped: undefined variable trusted.certname" in store.explain("a")
    assert [os.path.basename(path) for path, _ in store.origins("a")] == ["common.yaml"]
    assert store.keys() == {"a"}


def test_missing_files_are_skipped(tmp_path):
    store = make_store(tmp_path, [{"name": "gone", "path": "nope.yaml"}] + COMMON, {"common.yaml": {"a": 1}})
    assert store.lookup("a") == 1


def test_json_data_backend(tmp_path):
    store = make_store(tmp_path, [{"name": "j", "path": "c.json", "data_hash": "json_data"}],
                       {"c.json": json.dumps({"a": {"b": [1, 2]}})})
    assert store.lookup("a.b.1") == 2


def test_variables_win_over_facts_and_name_local_data(tmp_path):
    local = tmp_path / "local.yaml"
    local.write_text("a: from local\n")
    store = make_store(tmp_path, [{"name": "local", "path": "%{confrt.local_data}"}] + COMMON,
                       {"common.yaml": {"a": "common", "r": "%{role}"}},
                       variables={"confrt": {"local_data": str(local)}, "role": "override"})
    assert store.lookup("a") == "from local"
    assert store.lookup("r") == "override"


# -- keys, defaults, not found

def test_dotted_key_digs_into_merged_value(tmp_path):
    store = one_file(tmp_path, {"h": {"list": ["x", "y"], "n": None}})
    assert store.lookup("h.list.1") == "y"
    assert store.lookup("h.n") is None
    assert store.lookup("h.absent", default="d") == "d"


def test_not_found_is_one_line_and_default_is_returned(tmp_path):
    store = one_file(tmp_path, {"a": 1})
    with pytest.raises(LookupNotFound, match=r"^no value found for key 'b' in the hierarchy of .*hiera.yaml$"):
        store.lookup("b")
    assert store.lookup("b", default=None) is None


def test_lookup_options_is_not_a_key(tmp_path):
    store = one_file(tmp_path, {"lookup_options": {"a": {"merge": "deep"}}, "a": 1})
    assert store.lookup("lookup_options", default="none") == "none"
    assert store.keys() == {"a"}


def test_returned_values_are_copies(tmp_path):
    store = one_file(tmp_path, {"a": {"l": [1]}})
    store.lookup("a")["l"].append(2)
    assert store.lookup("a") == {"l": [1]}


# -- interpolation

def test_interpolation_functions(tmp_path):
    store = one_file(tmp_path, {
        "fam": "%{facts.os.family}-%{os.release.major}-%{::role}-%{scope('pool')}",
        "via_lookup": "x%{lookup('fam')}", "via_hiera": "%{hiera('num')}!",
        "num": 5, "list": [1, "two"], "typed": "%{alias('list')}", "aliased_num": "%{alias('num')}",
        "lit": "100%{literal('%')} %{literal('%')}{facts.os.family}", "undef": "[%{facts.nope}][%{lookup('nokey')}]",
        "empty": "a%{}b%{::}c", "in_keys": {"%{role}": "%{pool}"}, "bools": "%{lookup('flag')}", "flag": True,
    })
    assert store.lookup("fam") == "Debian-12-worker-cms"
    assert store.lookup("via_lookup") == "xDebian-12-worker-cms"
    assert store.lookup("via_hiera") == "5!"
    assert store.lookup("typed") == [1, "two"]
    assert store.lookup("aliased_num") == 5
    assert store.lookup("lit") == "100% %{facts.os.family}"
    assert store.lookup("undef") == "[][]"
    assert store.lookup("empty") == "abc"
    assert store.lookup("in_keys") == {"worker": "cms"}
    assert store.lookup("bools") == "true"


def test_alias_must_be_the_whole_string(tmp_path):
    store = one_file(tmp_path, {"a": "x %{alias('b')}", "b": [1]})
    with pytest.raises(DataError, match=r"common.yaml: key 'a': %\{alias\('b'\)\} must be the whole string"):
        store.lookup("a")


def test_unknown_function_is_an_error(tmp_path):
    store = one_file(tmp_path, {"a": "%{eval('b')}"})
    with pytest.raises(DataError, match=r"unknown interpolation function eval\(\)"):
        store.lookup("a")


def test_functions_not_allowed_in_hiera_paths(tmp_path):
    store = make_store(tmp_path, [{"name": "x", "path": "%{lookup('a')}.yaml"}], {})
    with pytest.raises(DataError, match=r"hierarchy level 'x': interpolation function lookup\(\) is not allowed"):
        store.lookup("a")


def test_interpolation_loops_are_reported(tmp_path):
    store = one_file(tmp_path, {"a": "%{lookup('b')}", "b": "x%{hiera('c')}", "c": "%{alias('a')}",
                                "self": "%{lookup('self')}"})
    with pytest.raises(DataError, match=r"key 'c': interpolation loop: a -> b -> c -> a$"):
        store.lookup("a")
    with pytest.raises(DataError, match=r"interpolation loop: self -> self"):
        store.lookup("self")


def test_interpolated_lookup_uses_lookup_options_merge(tmp_path):
    store = make_store(tmp_path, [{"name": "top", "path": "top.yaml"}] + COMMON, {
        "top.yaml": {"l": ["t"], "lookup_options": {"l": {"merge": "unique"}}},
        "common.yaml": {"l": ["c"], "copy": "%{alias('l')}"},
    })
    assert store.lookup("copy") == ["t", "c"]


# -- lookup_options

def lookup_options_store(tmp_path):
    return make_store(tmp_path, [{"name": "top", "path": "top.yaml"}] + COMMON, {
        "top.yaml": {"lookup_options": {"^h_": {"merge": "deep"}, "h_exact": {"merge": "first"}},
                     "h_deep": {"a": {"x": 1}}, "h_exact": {"a": {"x": 1}}, "arr": ["top"],
                     "password": "s3cret"},
        "common.yaml": {"lookup_options": {"arr": {"merge": {"strategy": "unique"}},
                                           "password": {"sensitive": True},
                                           "h_exact": {"merge": "hash"}},
                        "h_deep": {"a": {"y": 2}}, "h_exact": {"a": {"y": 2}}, "arr": ["common"]},
    })


def test_lookup_options_regex_exact_and_hash_merged_across_levels(tmp_path):
    store = lookup_options_store(tmp_path)
    assert store.lookup("h_deep") == {"a": {"y": 2, "x": 1}}       # regex from top.yaml
    assert store.lookup("h_exact") == {"a": {"x": 1}}              # exact beats regex; top beats common
    assert store.lookup("arr") == ["top", "common"]                # options from common.yaml apply
    assert store.lookup("arr", merge="first") == ["top"]           # an explicit merge wins


def test_lookup_options_sensitive_is_redacted_in_explain(tmp_path):
    store = lookup_options_store(tmp_path)
    assert store.is_sensitive("password") and not store.is_sensitive("arr")
    assert store.lookup("password") == "s3cret"
    text = store.explain("password")
    assert "s3cret" not in text and "[redacted]" in text


def test_a_value_built_from_a_sensitive_one_is_sensitive(tmp_path):
    store = one_file(tmp_path, {"lookup_options": {"site::api_token": {"sensitive": True}},
                                "site::api_token": "tok-s3cret",
                                "site::dsn": "https://svc/?token=%{lookup('site::api_token')}",
                                "site::copy": "%{alias('site::dsn')}", "site::url": "https://svc/"})
    assert store.lookup("site::copy") == "https://svc/?token=tok-s3cret"
    assert store.is_sensitive("site::dsn") and store.is_sensitive("site::copy")
    assert not store.is_sensitive("site::url")
    text = store.explain("site::dsn")
    assert "tok-s3cret" not in text and "[redacted]" in text


def test_bad_lookup_options_are_clear_errors(tmp_path):
    store = one_file(tmp_path, {"lookup_options": {"a": {"merge": "weird"}}, "a": 1})
    with pytest.raises(DataError, match=r"lookup_options for 'a': unknown merge strategy 'weird'"):
        store.lookup("a")
    store = one_file(tmp_path / "x", {"lookup_options": ["a"]})
    with pytest.raises(DataError, match=r"common.yaml: lookup_options: expected a hash"):
        store.lookup("a")


def test_wrong_merge_names_file_and_key(tmp_path):
    store = make_store(tmp_path, [{"name": "top", "path": "top.yaml"}] + COMMON,
                       {"top.yaml": {"k": {"a": 1}}, "common.yaml": {"k": ["x"]}})
    with pytest.raises(DataError, match=r"top.yaml: key 'k': a unique merge needs arrays or scalars"):
        store.lookup("k", merge="unique")


# -- module data layer

def module_store(tmp_path):
    moddir = tmp_path / "modules" / "htcondor" / "data"
    moddir.mkdir(parents=True)
    (moddir / "common.yaml").write_text(yaml.safe_dump({
        "lookup_options": {"htcondor::daemons": {"merge": "unique"}, "^htcondor::conf": {"merge": "deep"}},
        "htcondor::daemons": ["MASTER"], "htcondor::config": {"a": 1, "b": 1},
        "htcondor::port": 9618, "other": "ignored",
    }))
    return make_store(tmp_path, COMMON, {"common.yaml": {
        "htcondor::daemons": ["STARTD"], "htcondor::config": {"b": 2}, "other": "common"}},
        module_data={"htcondor": str(moddir)})


def test_module_data_is_the_lowest_layer_with_its_own_options(tmp_path):
    store = module_store(tmp_path)
    assert store.lookup("htcondor::port") == 9618
    assert store.lookup("htcondor::daemons") == ["STARTD", "MASTER"]
    assert store.lookup("htcondor::config") == {"a": 1, "b": 2}
    assert store.lookup("other") == "common"
    assert "htcondor::port" in store.keys()


def test_module_options_must_stay_in_the_module_namespace(tmp_path):
    moddir = tmp_path / "m" / "data"
    moddir.mkdir(parents=True)
    (moddir / "common.yaml").write_text("lookup_options:\n  other::x: {merge: deep}\nm::a: 1\n")
    store = one_file(tmp_path, {}, module_data={"m": str(moddir)})
    with pytest.raises(DataError, match=r"'other::x': module data may only set options for keys starting with 'm::'"):
        store.lookup("m::a")


def test_origins_list_raw_values_highest_first(tmp_path):
    store = module_store(tmp_path)
    origins = store.origins("htcondor::daemons")
    assert [(os.path.basename(path), value) for path, value in origins] == [
        ("common.yaml", ["STARTD"]), ("common.yaml", ["MASTER"])]
    assert origins[1][0].endswith("modules/htcondor/data/common.yaml")


# -- bad files

def test_bad_yaml_is_one_line_with_file_line_column(tmp_path):
    store = one_file(tmp_path, "a: 1\nb: [unclosed\nc: 3\n")
    with pytest.raises(DataError) as caught:
        store.lookup("a")
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(str(tmp_path / "data" / "common.yaml") + ":3:")


def test_bad_json_is_one_line_with_position(tmp_path):
    store = make_store(tmp_path, [{"name": "j", "path": "c.json", "data_hash": "json_data"}],
                       {"c.json": '{"a": 1,\n "b": }'})
    with pytest.raises(DataError, match=r"c.json:2:7: invalid JSON"):
        store.lookup("a")


def test_empty_json_is_empty_and_non_utf8_json_names_the_byte(tmp_path):
    store = make_store(tmp_path, [{"name": "j", "path": "c.json", "data_hash": "json_data"}, *COMMON],
                       {"c.json": " \n", "common.yaml": "a: 1\n"})
    assert store.lookup("a") == 1
    (tmp_path / "data" / "c.json").write_bytes(b'{"a": "caf\xe9"}')
    store = DataStore(str(tmp_path / "hiera.yaml"), Facts.static(FACTS))
    with pytest.raises(DataError, match=r"c.json: not UTF-8 text \(byte 10\)"):
        store.lookup("a")


def test_data_file_must_hold_a_mapping(tmp_path):
    store = one_file(tmp_path, "- a\n- b\n")
    with pytest.raises(DataError, match=r"common.yaml: expected a mapping at the top, got list"):
        store.lookup("a")


@pytest.mark.parametrize("config, message", [
    ("version: 4\n", "version: must be 5"),
    ("version: 5\nhierarchy:\n  - name: x\n", r"hierarchy\[0\] \(x\): needs exactly one of path"),
    ("version: 5\nhierarchy:\n  - name: x\n    path: a\n    glob: b\n", "needs exactly one of"),
    ("version: 5\nhierarchy:\n  - {name: x, path: a, lookup_key: hocon_lookup}\n", "lookup_key: 'hocon_lookup' not"),
    ("version: 5\nhierarchy:\n  - {name: x, path: a, lookup_key: eyaml_lookup_key, data_hash: yaml_data}\n",
     r"\(x\): data_hash and lookup_key: only one of them"),
    ("version: 5\nhierarchy:\n  - {name: x, path: a, lookup_key: eyaml_lookup_key, options: {gpg_gnupghome: /g}}\n",
     "options.gpg_gnupghome: not supported for eyaml_lookup_key"),
    ("version: 5\nhierarchy:\n  - {name: x, path: a, lookup_key: eyaml_lookup_key, options: {pkcs7_public_key: 1}}\n",
     "options.pkcs7_public_key: expected a file path"),
    ("version: 5\ndefaults: {options: {path: /x}}\n", "defaults.options.path: reserved by Puppet"),
    ("version: 5\nhierarchy:\n  - {name: x, path: a, data_dig: hocon}\n", "data_dig: not supported"),
    ("version: 5\nhierarchy:\n  - {name: x, path: a, data_hash: hocon_data}\n", "'hocon_data' not supported"),
    ("version: 5\nhierarchy:\n  - {name: x, path: a}\n  - {name: x, path: b}\n", "name 'x' is used twice"),
    ("version: 5\nhierachy: []\n", "hierachy: unknown key"),
    ("version: 5\nhierarchy:\n  - {name: m, mapped_paths: [a, b]}\n", "mapped_paths: expected"),
])
def test_bad_hiera_yaml(tmp_path, config, message):
    (tmp_path / "hiera.yaml").write_text(config)
    with pytest.raises(DataError, match=message):
        DataStore(str(tmp_path / "hiera.yaml"), Facts.static({}))


# -- explain and caching

def test_explain_shows_levels_paths_merge_and_result(tmp_path):
    store = make_store(tmp_path, [
        {"name": "os", "path": "os/%{facts.os.family}.yaml"}, {"name": "gone", "path": "gone.yaml"},
    ] + COMMON, {"os/Debian.yaml": {"l": ["--a", "d"]}, "common.yaml": {"l": ["a", "c"], "x": 1}})
    text = store.explain("l", merge={"strategy": "deep", "knockout_prefix": "--"})
    assert "Merge strategy: deep (knockout_prefix='--') (requested)" in text
    assert 'Hierarchy entry "os"' in text and 'Original path: "os/%{facts.os.family}.yaml"' in text
    assert str(tmp_path / "data" / "os" / "Debian.yaml") in text
    assert "Path not found" in text
    assert 'Result: ["c", "d"]' in text
    assert "No such key" in store.explain("x", merge="unique")
    assert "No value found" in store.explain("nokey")


def test_each_file_is_parsed_once(tmp_path, monkeypatch):
    store = make_store(tmp_path, [{"name": "top", "path": "top.yaml"}] + COMMON,
                       {"top.yaml": {"a": 1}, "common.yaml": {"a": 2, "b": 3}})
    import confrt.util.yamlfile as yamlfile

    reads = []
    original = yamlfile.load_yaml_file
    monkeypatch.setattr(yamlfile, "load_yaml_file", lambda path, text=None: reads.append(path) or original(path, text))
    for _ in range(3):
        store.lookup("a", merge="unique")
        store.lookup("b")
    assert sorted(os.path.basename(p) for p in reads) == ["common.yaml", "top.yaml"]


def test_lookup_options_may_interpolate_without_recursing(tmp_path):
    store = one_file(tmp_path, {"lookup_options": {"l": {"merge": "%{lookup('strategy')}"}},
                                "strategy": "unique", "l": ["a", "a"]})
    assert store.lookup("l") == ["a"]


def test_deepmerge_is_imported_only_for_a_deep_merge(tmp_path):
    import subprocess
    import sys

    one_file(tmp_path, {"h": {"a": 1}, "l": [1]})
    script = (
        "import sys\n"
        "from confrt.data import DataStore\n"
        "from confrt.facts import Facts\n"
        f"store = DataStore({str(tmp_path / 'hiera.yaml')!r}, Facts.static({{}}))\n"
        "store.lookup('h'); store.lookup('l', merge='unique'); store.lookup('h', merge='hash')\n"
        "before = 'deepmerge' in sys.modules\n"
        "store.lookup('h', merge='deep')\n"
        "print(before, 'deepmerge' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert result.stdout.split() == ["False", "True"], result.stderr


# -- in memory (confrt run's candidate local_data)

def test_in_memory_content_is_read_in_place_of_the_file(tmp_path, monkeypatch):
    """The level reading a path gets the in-memory content (a new local_data not written yet), parsed
    as that file would be, with errors naming the path; the parse cache serves it only for that text."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("CONFRT_PARSE_CACHE", str(cache))
    local = str(tmp_path / "data" / "local.yaml")
    hierarchy = [{"name": "local", "path": "local.yaml"}, {"name": "common", "path": "common.yaml"}]
    files = {"local.yaml": {"a": "on disk"}, "common.yaml": {"a": "common", "b": "common"}}
    store = make_store(tmp_path, hierarchy, files, in_memory={local: b"a: in memory\nb: '%{facts.pool}'\n"})
    assert (store.lookup("a"), store.lookup("b")) == ("in memory", "cms")
    assert store.origins("a")[0] == (local, "in memory")
    assert make_store(tmp_path, hierarchy, files).lookup("a") == "on disk"
    os.unlink(local)  # read from memory whether the file is there or not
    assert make_store(tmp_path, hierarchy, files, in_memory={local: b"a: new\n"}).lookup("a") == "new"
    assert make_store(tmp_path, hierarchy, files).lookup("a") == "on disk"
    assert any(cache.rglob("*"))
    with pytest.raises(DataError, match=rf"^{local}:2:1: invalid YAML"):
        make_store(tmp_path, hierarchy, files, in_memory={local: b"a: [unclosed\n"}).lookup("a")
    with pytest.raises(DataError, match=rf"^{local}: not UTF-8 text"):
        make_store(tmp_path, hierarchy, files, in_memory={local: b"a: \xff\n"}).lookup("a")

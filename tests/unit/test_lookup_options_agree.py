"""The data store and `userdata build` (sensitive_keys: what to encrypt) read lookup_options one way
(confrt/data/lookup_options.py): a key's options are its exact name's, else the first '^regex''s in
the merged hash's order (Hiera 5); `userdata show` (redact: what to hide) hides at least that."""
import pytest
import yaml

from confrt.data import DataStore
from confrt.facts import Facts
from confrt.userdata.redact import redact
from confrt.userdata.secrets import sensitive_keys
from confrt.util.redaction import REDACTED


class DataOnlyModule:
    """A module with no parameters, only data (<data_dir>/common.yaml)."""

    def __init__(self, data_dir):
        self.data_dir = data_dir

    def param(self, name):
        return None


def write(path, data):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return str(path)


def store_over(tmp_path, data, module_data=None):
    """A store whose one level is `data`, with the module data {module: lookup_options}."""
    write(tmp_path / "hiera.yaml", {"version": 5, "hierarchy": [{"name": "local", "path": "local.yaml"}]})
    write(tmp_path / "data" / "local.yaml", data)
    dirs = {}
    for module, options in (module_data or {}).items():
        dirs[module] = str(tmp_path / "modules" / module / "data")
        write(tmp_path / "modules" / module / "data" / "common.yaml", {"lookup_options": options})
    return DataStore(str(tmp_path / "hiera.yaml"), Facts.static({}), module_data=dirs), dirs


def test_userdata_build_takes_the_module_datas_regex_first_as_the_store_does(tmp_path):
    """The module data's ^regex comes first in the merged hash (the lowest file's order): build
    took the data file's first, found no `sensitive` there and sent vault::db_key in clear, while
    the node's store marks it sensitive."""
    data = {"vault::db_key": "s3cret", "lookup_options": {"^vault::": {"merge": "deep"}}}
    store, dirs = store_over(tmp_path, data, {"vault": {"^vault::.*_key$": {"sensitive": True}}})
    assert store.is_sensitive("vault::db_key")
    assert sensitive_keys(data, "local.yaml", {"vault": DataOnlyModule(dirs["vault"])}) == ["vault::db_key"]


CASES = [  # (lookup_options, key, sensitive by Hiera 5's rule)
    ({"site::a": {"sensitive": True}}, "site::a", True),
    ({"site::a": {"sensitive": False}, "^site::": {"sensitive": True}}, "site::a", False),  # the exact name's
    ({"^site::a": {"sensitive": True}}, "site::ab", True),
    ({"^site::a": {"merge": "deep"}, "^site::": {"sensitive": True}}, "site::ab", False),  # the first regex's
    ({"^site::": {"sensitive": True}, "^site::a": {"merge": "deep"}}, "site::ab", True),
    ({"b$": {"sensitive": True}}, "site::ab", False),   # not a regex: no leading ^
    ({"^.*b$": {"sensitive": True}}, "site::ab", True),
]


@pytest.mark.parametrize("options,key,sensitive", CASES)
def test_store_build_and_show_agree_on_which_key_is_sensitive(tmp_path, options, key, sensitive):
    data = {key: "v", "lookup_options": options}
    store, _ = store_over(tmp_path, data)
    expected = store.is_sensitive(key)
    assert expected == sensitive
    assert (key in sensitive_keys(data, "local.yaml", {})) == expected
    assert redact(data)[key] == REDACTED or not expected  # show may hide more (it sees one file)


def test_userdata_show_hides_what_the_node_may_mark_sensitive_whatever_the_order_of_its_regexes(tmp_path):
    """show sees the userdata's lookup_options only, not the module data or the levels below, whose
    order of names comes first on the node: there ^vault::.*_key$ (the module data names it too)
    comes before ^vault::, and vault::db_key is sensitive. show must hide it, as it did."""
    data = {"vault::db_key": "s3cret",
            "lookup_options": {"^vault::": {"merge": "deep"}, "^vault::.*_key$": {"sensitive": True}}}
    store, _ = store_over(tmp_path, data, {"vault": {"^vault::.*_key$": {"merge": "first"}}})
    assert store.is_sensitive("vault::db_key")
    assert redact(data)["vault::db_key"] == REDACTED

"""Interpolation is bounded as YAML reading is (issue 14 §2): a chain of %{lookup()} deeper than
MAX_NESTED_LOOKUPS, %{alias()} that nests or multiplies values past the YAML limits (the same bomb
without YAML aliases), %{lookup()} that grows a text past MAX_TEXT, and data nested and interpolated
past Python's own recursion limit are each one DataError naming the file and key, at once."""
import time

import pytest
from test_data_store import one_file

from confrt.data.store import MAX_NESTED_LOOKUPS
from confrt.errors import DataError
from confrt.util.yamlfile import MAX_DEPTH, MAX_TEXT, MAX_VALUES


def refused(store, key):
    start = time.perf_counter()
    with pytest.raises(DataError) as caught:
        store.lookup(key)
    assert time.perf_counter() - start < 2
    return str(caught.value)


def chain(length, value="end"):
    """k0 -> k1 -> ... -> k<length>: each a %{lookup()} of the next."""
    data = {f"k{n}": f"%{{lookup('k{n + 1}')}}" for n in range(length)}
    data[f"k{length}"] = value
    return data


def test_a_3000_step_lookup_chain_is_refused_naming_file_key_and_chain(tmp_path):
    store = one_file(tmp_path, chain(3000))
    problem = refused(store, "k0")
    path = tmp_path / "data" / "common.yaml"
    assert problem == (f"{path}: key 'k{MAX_NESTED_LOOKUPS}': interpolation nested more than {MAX_NESTED_LOOKUPS} "
                       f"lookups deep: k0 -> k1 -> k2 -> ... -> k{MAX_NESTED_LOOKUPS - 1} -> k{MAX_NESTED_LOOKUPS} "
                       f"-> k{MAX_NESTED_LOOKUPS + 1}")


def test_a_chain_within_the_limit_is_followed(tmp_path):
    assert one_file(tmp_path, chain(MAX_NESTED_LOOKUPS, "end")).lookup("k0") == "end"


def test_an_alias_bomb_made_by_interpolation_is_refused(tmp_path):
    """YAML has no alias here: each key's value holds %{alias()} of the one before, nine times; the
    values are shared, not copied, until something prints or copies them."""
    data = {"k0": ["x"] * 9}
    for level in range(1, 10):
        data[f"k{level}"] = [f"%{{alias('k{level - 1}')}}"] * 9
    store = one_file(tmp_path, data)
    assert len(store.lookup("k5")) == 9  # 9**6 strings: within MAX_VALUES
    problem = refused(store, "k9")
    assert problem.endswith(f"key 'k6': %{{alias()}} makes a value of more than {MAX_VALUES:,} values")


def test_alias_that_nests_past_the_depth_limit_is_refused(tmp_path):
    deep = "x"
    for _ in range(MAX_DEPTH - 10):
        deep = [deep]
    data = {"a": deep, "b": [[[[[[[[[["%{alias('a')}"]]]]]]]]]], "c": [[[[[[[[[[["%{alias('a')}"]]]]]]]]]]]}
    store = one_file(tmp_path, data)
    assert store.lookup("b")  # MAX_DEPTH deep
    assert refused(store, "c").endswith(f"key 'c': %{{alias()}} makes a value nested more than {MAX_DEPTH} "
                                        f"levels deep")


def test_a_text_doubled_by_lookups_is_refused(tmp_path):
    data = {"s0": "x" * 64}
    for level in range(1, 30):
        data[f"s{level}"] = f"%{{lookup('s{level - 1}')}}" * 9
    store = one_file(tmp_path, data)
    assert len(store.lookup("s5")) == 64 * 9 ** 5
    assert refused(store, "s29").endswith(f"interpolation makes a text of more than {MAX_TEXT:,} characters")


def test_data_nested_and_interpolated_past_pythons_limit_is_an_error_not_a_recursion_error(tmp_path):
    """Each step of the chain is a value 49 lists deep: within every limit alone, past Python's
    recursion limit together."""
    data = {}
    for step in range(20):
        value = f"%{{lookup('k{step + 1}')}}"
        for _ in range(MAX_DEPTH - 1):
            value = [value]
        data[f"k{step}"] = value
    data["k20"] = "end"
    problem = refused(one_file(tmp_path, data), "k0")
    assert problem.endswith("data and interpolation nested too deeply to follow"), problem
    assert str(tmp_path / "data" / "common.yaml") in problem

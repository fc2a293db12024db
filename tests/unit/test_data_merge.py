"""Merge strategies and knockout (confrt.data.merge); found values are listed highest first."""
import pytest

from confrt.data.merge import Merge
from confrt.errors import DataError


def merge(strategy, *values, **options):
    found = [(f"level{i}.yaml", value) for i, value in enumerate(values)]
    return Merge.parse(dict(options, strategy=strategy), "test").merge(found, "key")


def test_first_takes_the_highest_level():
    assert merge("first", [1], [2]) == [1]


def test_unique_lists_higher_levels_first_flattened_and_deduplicated():
    assert merge("unique", ["a", ["b"]], ["c", "a"], "d") == ["a", "b", "c", "d"]


def test_unique_keeps_one_and_true_apart():
    assert merge("unique", [1, True], [1.0, 1]) == [1, True, 1.0]


def test_unique_always_gives_an_array():
    assert merge("unique", "x") == ["x"]


def test_unique_rejects_a_hash_naming_the_file():
    with pytest.raises(DataError, match=r"level1.yaml: key 'key': a unique merge needs arrays or scalars"):
        merge("unique", ["a"], {"b": 1})


def test_unique_knockout_removes_from_every_lower_level_and_drops_markers():
    result = merge("unique", ["--x", "top"], ["mid", "y"], ["x", "--y", "z"], ["x", "y"],
                   knockout_prefix="--")
    # --x (top) removes x from both lower levels; --y (3rd) removes y only below it.
    assert result == ["top", "mid", "y", "z"]


def test_unique_knockout_marker_alone_in_a_single_level_is_dropped():
    assert merge("unique", ["--x", "a"], knockout_prefix="--") == ["a"]


def test_unique_without_prefix_keeps_markers_literally():
    assert merge("unique", ["--x"], ["x"]) == ["--x", "x"]


def test_bare_prefix_removes_everything_lower():
    assert merge("unique", ["--", "a"], ["b"], ["c"], knockout_prefix="--") == ["a"]
    assert merge("deep", ["--", "a"], ["b"], ["c"], knockout_prefix="--") == ["a"]


def test_hash_merge_is_shallow_and_higher_wins():
    assert merge("hash", {"a": {"x": 1}, "b": 1}, {"a": {"y": 2}, "c": 3}) == {"a": {"x": 1}, "b": 1, "c": 3}


def test_hash_merge_knockout_value_removes_the_key():
    assert merge("hash", {"a": "--", "b": 2}, {"a": 1, "c": 3}, knockout_prefix="--") == {"b": 2, "c": 3}


def test_hash_merge_rejects_an_array():
    with pytest.raises(DataError, match=r"level0.yaml: key 'key': a hash merge needs hashes, found an array"):
        merge("hash", ["a"], {"b": 1})


def test_deep_merge_recurses_and_appends_arrays_lower_first():
    high = {"a": {"x": 1, "list": ["h"]}, "s": "high"}
    low = {"a": {"y": 2, "list": ["l", "h"]}, "s": "low", "t": 1}
    assert merge("deep", high, low) == {"a": {"y": 2, "list": ["l", "h"], "x": 1}, "s": "high", "t": 1}


def test_deep_merge_does_not_change_the_inputs():
    high, low = {"a": ["--x"]}, {"a": ["x", "y"]}
    merge("deep", high, low, knockout_prefix="--")
    assert high == {"a": ["--x"]} and low == {"a": ["x", "y"]}


def test_deep_knockout_reaches_every_lower_level():
    result = merge("deep", {"l": ["--x"]}, {"l": ["m"]}, {"l": ["x", "b"]}, knockout_prefix="--")
    assert result == {"l": ["b", "m"]}


def test_deep_knockout_of_a_hash_key_at_depth():
    result = merge("deep", {"h": {"gone": "--", "new": 1}}, {"h": {"gone": {"deep": 1}, "kept": 2}},
                   knockout_prefix="--")
    assert result == {"h": {"kept": 2, "new": 1}}


def test_deep_markers_vanish_even_without_a_lower_value():
    assert merge("deep", {"h": {"l": ["--x", "a"], "k": "--"}}, knockout_prefix="--") == {"h": {"l": ["a"]}}


def test_deep_sort_merged_arrays():
    assert merge("deep", {"l": ["b", "c"]}, {"l": ["d", "a"]}, sort_merged_arrays=True) == {"l": ["a", "b", "c", "d"]}


def test_deep_merge_hash_arrays_merges_by_index():
    result = merge("deep", [{"a": 1}, {"b": 2}, {"c": 3}], [{"x": 1}, {"y": 2}], merge_hash_arrays=True)
    assert result == [{"x": 1, "a": 1}, {"y": 2, "b": 2}, {"c": 3}]


def test_deep_type_conflict_higher_wins():
    assert merge("deep", {"a": "scalar"}, {"a": {"b": 1}}) == {"a": "scalar"}


def test_deep_null_above_keeps_the_lower_value_at_any_depth():
    assert merge("deep", None, {"a": 1}, {"b": 2}) == {"b": 2, "a": 1}
    assert merge("deep", {"a": None, "h": {"x": None, "y": 1}}, {"a": [1], "h": {"x": 2}}) == \
        {"a": [1], "h": {"x": 2, "y": 1}}


def test_deep_null_or_false_below_gives_the_higher_value_as_written():
    assert merge("deep", ["a", "a"], None) == ["a", "a"]
    assert merge("deep", {"f": {"x": 1}}, {"f": False}) == {"f": {"x": 1}}


def test_deep_value_that_meets_no_other_keeps_its_repeats():
    assert merge("deep", ["a", "b", "a"]) == ["a", "b", "a"]
    assert merge("deep", {"other": 1}, {"low": ["d", "d"]}) == {"low": ["d", "d"], "other": 1}


def test_deep_key_new_to_the_lower_level_is_merged_with_itself():
    # deep_merge's way: its arrays (at any hash depth) lose their repeats, arrays in arrays do not
    assert merge("deep", {"l": ["n", "n"], "h": {"l": ["m", "m"]}, "a": [["k", "k"]]}, {}) == \
        {"l": ["n"], "h": {"l": ["m"]}, "a": [["k", "k"]]}


def test_deep_hash_over_a_scalar():
    assert merge("deep", {}, "plain") == "plain"
    assert merge("deep", {"h": [1, 1], "i": [2, 2]}, "plain") == {"h": [1, 1], "i": [2]}


def test_hash_merge_names_a_null_value():
    with pytest.raises(DataError, match=r"level0.yaml: key 'key': a hash merge needs hashes, found null"):
        merge("hash", None, {"b": 1})


@pytest.mark.parametrize("bad, message", [
    ("shallow", "unknown merge strategy 'shallow'"),
    ({"strategy": "deep", "knockout": "--"}, "unknown merge option 'knockout'"),
    ({"strategy": "deep", "knockout_prefix": ""}, "merge option knockout_prefix: bad value"),
    (["deep"], "merge must be a strategy name or a hash"),
])
def test_bad_merge_requests_are_one_line_errors(bad, message):
    with pytest.raises(DataError, match=message):
        Merge.parse(bad, "lookup_options for 'k'")


# -- properties (hypothesis, in the test extra: without it only these two tests are skipped,
#    where a module-level importorskip would silently skip every test of this file)

def hypothesis_levels():
    """(hypothesis, its strategies, a strategy for 1-4 levels of words and knockout markers)."""
    hypothesis = pytest.importorskip("hypothesis", reason="hypothesis is in the test extra")
    st = hypothesis.strategies
    words = st.sampled_from(["a", "b", "c", "--a", "--b", "--"])
    return hypothesis, st, st.lists(st.lists(words, max_size=5), min_size=1, max_size=4)


def test_knockout_markers_never_survive_and_knocked_values_only_come_from_above():
    hypothesis, st, levels_strategy = hypothesis_levels()

    @hypothesis.given(levels_strategy, st.sampled_from(["unique", "deep"]))
    def check(levels, strategy):
        result = merge(strategy, *levels, knockout_prefix="--")
        assert not any(item.startswith("--") for item in result)
        for value in ("a", "b", "c"):
            # a value survives exactly when some level holds it and no level above that one knocks it out
            holders = [i for i, level in enumerate(levels) if value in level]
            expected = any(not any(("--" + value) in above or "--" in above for above in levels[:i])
                           for i in holders)
            assert (value in result) == expected

    check()


def test_unique_and_deep_hold_the_same_elements():
    hypothesis, _, levels_strategy = hypothesis_levels()

    @hypothesis.given(levels_strategy)
    def check(levels):
        unique = merge("unique", *levels, knockout_prefix="--")
        deep = merge("deep", *levels, knockout_prefix="--")
        # the same elements; a deep merge keeps the repeats of a value that met no other (as Puppet)
        assert set(unique) == set(deep) and len(unique) == len(set(unique))

    check()

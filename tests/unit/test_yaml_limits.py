"""What PyYAML is given is bounded (util/yamlfile, README "Limits"): an alias bomb, a document
nested past MAX_DEPTH (libyaml's composer crashed the process at some 100,000 levels), one
holding itself, one over MAX_TEXT, and a key given twice in a mapping are each one DataError
naming the file and line, in well under a second; JSON files are bounded the same way."""
import json
import subprocess
import sys
import time

import pytest
from confrt_testing import REPO, confrt_env

from confrt.errors import DataError
from confrt.util import yamlfile
from confrt.util.yamlfile import MAX_DEPTH, MAX_TEXT, MAX_VALUES, load_json_file, load_yaml, load_yaml_file, measure

#: 9 levels of 9 aliases: some 300 bytes that PyYAML expands to 387,420,489 strings
ALIAS_BOMB = 'a: &a ["x","x","x","x","x","x","x","x","x"]\n' + "".join(
    f"{name}: &{name} [{', '.join(['*' + previous] * 9)}]\n" for previous, name in zip("abcdefgh", "bcdefghi"))


def refused(text, source="data.yaml"):
    """The DataError's text, and how long the refusal took."""
    start = time.perf_counter()
    with pytest.raises(DataError) as caught:
        load_yaml(text, source)
    return str(caught.value), time.perf_counter() - start


def test_an_alias_bomb_is_refused_at_once_naming_file_line_and_alias():
    problem, seconds = refused(ALIAS_BOMB)
    assert problem == ("data.yaml:7:8: YAML over confrt's limits: more than 1,000,000 values once aliases "
                       "are expanded (alias '*f')")
    assert seconds < 1


def test_aliases_within_the_limit_are_read_as_before():
    six = "".join(line for line in ALIAS_BOMB.splitlines(keepends=True)[:5])  # 9**5 strings
    assert len(load_yaml(six)["e"][8][8][8][8]) == 9
    defaults = "defaults: &d {mode: '0644', owner: root}\nfiles:\n" + "".join(
        f"  /f{n}: {{<<: *d, group: g{n}}}\n" for n in range(2000))
    files = load_yaml(defaults)["files"]
    assert files["/f1999"] == {"mode": "0644", "owner": "root", "group": "g1999"}


@pytest.mark.parametrize("style", ["flow", "block"])
def test_nesting_up_to_the_limit_is_read_and_one_more_level_is_refused(style):
    def nested(levels):
        if style == "flow":
            return "x: " + "{k: " * (levels - 1) + "1" + "}" * (levels - 1) + "\n"
        return "".join("  " * level + "k:\n" for level in range(levels - 1)).replace("k:", "x:", 1) + \
            "  " * (levels - 1) + "k: 1\n"

    value = load_yaml(nested(MAX_DEPTH))["x"]
    assert measure(value)[0] == MAX_DEPTH - 1
    problem, _ = refused(nested(MAX_DEPTH + 1))
    assert "YAML over confrt's limits: nested more than 50 levels deep" in problem
    assert problem.startswith("data.yaml:")


def test_a_document_nested_200000_deep_is_refused_not_a_crash(tmp_path):
    """libyaml's composer recursed in C: the process died of SIGSEGV (no error line at all)."""
    path = tmp_path / "deep.yaml"
    path.write_text("deep: " + "[" * 200000 + "]" * 200000 + "\n")
    script = ("import sys\nfrom confrt.util.yamlfile import load_yaml_file\n"
              "try:\n    load_yaml_file(sys.argv[1])\nexcept Exception as exc:\n    print(exc)\n")
    result = subprocess.run([sys.executable, "-c", script, str(path)], capture_output=True, text=True, timeout=60,
                            cwd=REPO, env=confrt_env({"CONFRT_PARSE_CACHE": "off"}))
    assert result.returncode == 0, result
    assert result.stdout == f"{path}:1:56: YAML over confrt's limits: nested more than 50 levels deep\n"


@pytest.mark.parametrize("text, alias", [("a: &a [*a]\n", "a"), ("a: &x {b: [1, *x]}\n", "x"),
                                         ("- &l [&m [*l]]\n", "l")])
def test_a_structure_that_holds_itself_is_refused(text, alias):
    problem, _ = refused(text)
    assert f"alias '*{alias}' inside the collection it names (a structure that holds itself)" in problem


def test_a_text_over_the_size_limit_is_refused_before_parsing():
    problem, seconds = refused("#" * MAX_TEXT + "\nx: 1\n")
    assert problem == f"data.yaml: {MAX_TEXT + 6:,} characters of YAML, over confrt's limit of {MAX_TEXT:,}"
    assert seconds < 1


def test_more_values_than_the_limit_are_refused_without_aliases(monkeypatch):
    monkeypatch.setattr(yamlfile, "MAX_VALUES", 1000)
    assert len(load_yaml("[" + ", ".join(["1"] * 998) + "]")) == 998
    problem, _ = refused("[" + ", ".join(["1"] * 1000) + "]")
    assert problem == "data.yaml:1:2999: YAML over confrt's limits: more than 1,000 values"


def test_a_key_given_twice_names_the_key_and_both_lines():
    problem, _ = refused("classes: [a]\nresources::file:\n  /a: {}\nx: 1\nresources::file:\n  /b: {}\n")
    assert problem == ("data.yaml:5:1: invalid YAML: duplicate key 'resources::file' (first at line 2; the first "
                       "would be dropped)")
    problem, _ = refused("top:\n  inner:\n    a: 1\n    b: 2\n    a: 3\n")
    assert problem == "data.yaml:5:5: invalid YAML: duplicate key 'a' (first at line 3; the first would be dropped)"
    problem, _ = refused("{1: a, true: b}")  # the same key to Python (True == 1): one would be dropped
    assert "duplicate key 'True' (first at line 1" in problem


def test_keys_that_differ_and_merge_keys_are_no_duplicates():
    text = ("base: &b {mode: '0644', owner: root}\n"
            "file: {<<: *b, mode: '0600'}\n"               # a merged key set again: allowed, as in YAML 1.1
            "two: {<<: [*b, {owner: adm}], group: g}\n"
            "kinds: {1: int, '1': str, 2.5: float}\n"
            "same_in_two: [{a: 1}, {a: 2}]\n")
    data = load_yaml(text)
    assert data["file"] == {"mode": "0600", "owner": "root"}
    assert data["two"] == {"mode": "0644", "owner": "root", "group": "g"}
    assert data["kinds"] == {1: "int", "1": "str", 2.5: "float"}


def test_a_file_that_passed_before_is_checked_again_after_the_upgrade(tmp_path, monkeypatch):
    """The parse cache's FORMAT changed: an entry written by a confrt without the limits (its data
    as PyYAML gave it) is not believed for a text that is refused now."""
    from confrt.util import parse_cache

    monkeypatch.setenv("CONFRT_PARSE_CACHE", str(tmp_path / "cache"))
    path = tmp_path / "dup.yaml"
    path.write_text("x: 1\nx: 2\n")
    monkeypatch.setattr(parse_cache, "FORMAT", parse_cache.FORMAT - 1)
    monkeypatch.setattr(parse_cache, "_header", None)
    monkeypatch.setattr(yamlfile, "load_yaml", lambda text, source: {"x": 2})  # the old reader's result
    assert load_yaml_file(str(path)) == {"x": 2}
    monkeypatch.setattr(yamlfile, "load_yaml", lambda text, source: pytest.fail("the entry was not cached"))
    assert load_yaml_file(str(path)) == {"x": 2}  # the old confrt's entry is there, and it believed it
    monkeypatch.undo()
    monkeypatch.setenv("CONFRT_PARSE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(parse_cache, "_header", None)
    with pytest.raises(DataError, match="duplicate key 'x'"):
        load_yaml_file(str(path))


def test_json_is_bounded_too(tmp_path):
    shallow, deep, deeper = (tmp_path / name for name in ("shallow.json", "deep.json", "deeper.json"))
    shallow.write_text(json.dumps({"k": [[[1]]]}))
    deep.write_text("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1))
    deeper.write_text("[" * 200000 + "]" * 200000)  # json's own recursion limit: a RecursionError
    assert load_json_file(str(shallow)) == {"k": [[[1]]]}
    for path in (deep, deeper):
        with pytest.raises(DataError) as caught:
            load_json_file(str(path))
        assert str(caught.value) == f"{path}: JSON over confrt's limits: nested more than 50 levels deep"


def test_measure_counts_shared_values_where_they_appear_without_walking_them_each_time():
    leaf = ["x"] * 9
    value = leaf
    for _ in range(8):
        value = [value] * 9
    start = time.perf_counter()
    depth, count = measure(value)
    assert time.perf_counter() - start < 0.5
    assert count > MAX_VALUES
    assert measure({"a": [1, {"b": 2}], "c": "d"}) == (3, 9)  # 2 hashes, 1 list, 3 keys, 3 scalars
    loop = []
    loop.append(loop)
    assert measure(loop)[0] > MAX_DEPTH

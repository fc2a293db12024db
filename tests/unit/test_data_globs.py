"""hiera.yaml globs matched as Ruby's Dir.glob (confrt.data.globs); tests/compat checks them
against `puppet lookup` itself."""
import os

import pytest

from confrt.data.globs import expand_braces, ruby_glob


@pytest.mark.parametrize("pattern, expanded", [
    ("a{b,c{d,e}}f", ["abf", "acdf", "acef"]),
    ("vo/{cms,atlas}.yaml", ["vo/cms.yaml", "vo/atlas.yaml"]),   # the order written, not sorted
    ("{a}", ["a"]),                                               # one alternative (bash keeps "{a}")
    ("x{1..3}", ["x1..3"]),                                       # no ranges (bash: x1 x2 x3)
    ("{,a/}m", ["m", "a/m"]),
    ("a{b", ["a{b"]),
    ("{a,a}", ["a", "a"]),
    (r"a\{b,c}", [r"a\{b,c}"]),
])
def test_braces_expand_as_ruby_does(pattern, expanded):
    assert expand_braces(pattern) == expanded


@pytest.fixture
def tree(tmp_path):
    for name in ["A.yaml", "_u.yaml", "a.yaml", "b.yaml", "a/m.yaml", "a/b/n.yaml", "a/b/c/o.yaml",
                 ".dot.yaml", "x/.hid/q.yaml", "x/y.yaml", "elsewhere/l.yaml"]:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("k: v\n")
    os.symlink(tmp_path / "elsewhere", tmp_path / "lnk")
    return tmp_path


def relative(root, paths):
    return [os.path.relpath(path, root) for path in paths]


def test_double_star_walks_each_directory_in_name_order(tree):
    # a directory's files come where its name sorts: a/... before a.yaml; no hidden files;
    # never through the symbolic link lnk
    assert relative(tree, ruby_glob(f"{tree}/**/*.yaml")) == [
        "A.yaml", "_u.yaml", "a/b/c/o.yaml", "a/b/n.yaml", "a/m.yaml", "a.yaml", "b.yaml",
        "elsewhere/l.yaml", "x/y.yaml"]


def test_a_link_named_in_the_pattern_is_followed(tree):
    assert relative(tree, ruby_glob(f"{tree}/lnk/*.yaml")) == ["lnk/l.yaml"]
    assert relative(tree, ruby_glob(f"{tree}/*/l.yaml")) == ["elsewhere/l.yaml", "lnk/l.yaml"]


def test_alternatives_are_globbed_in_the_order_written(tree):
    assert relative(tree, ruby_glob(f"{tree}/{{b,a}}.yaml")) == ["b.yaml", "a.yaml"]
    assert relative(tree, ruby_glob(f"{tree}/{{x,a}}/**/*.yaml")) == [
        "x/y.yaml", "a/b/c/o.yaml", "a/b/n.yaml", "a/m.yaml"]


def test_a_last_double_star_is_one_level(tree):
    assert relative(tree, ruby_glob(f"{tree}/a/**")) == ["a/b", "a/m.yaml"]

"""Catalog: identity, checks, edges, cycles, order."""
import pytest
from engine_support import catalog_of, res

from confrt.errors import CompileError
from confrt.resources.base import Resource


def refs(catalog):
    return [r.ref for r in catalog.order]


def test_duplicate_with_different_attributes_names_both_declarers():
    a = Resource("file", "/etc/motd", {"content": "a"}, module="motd")
    b = Resource("file", "/etc/motd", {"content": "b"}, declared_by="/etc/confrt/data/common.yaml: resources::file")
    with pytest.raises(CompileError) as error:
        catalog_of(a, b)
    message = str(error.value)
    assert "file[/etc/motd] is declared twice" in message
    assert "module motd" in message and "/etc/confrt/data/common.yaml" in message


def test_identical_duplicate_is_one_resource():
    catalog = catalog_of(res("file", "/tmp/x", content="a"), res("file", "/tmp/x", content="a"))
    assert refs(catalog) == ["file[/tmp/x]"]


def test_two_titles_same_path_is_an_error():
    with pytest.raises(CompileError, match="manage the same path '/tmp/x'"):
        catalog_of(res("file", "one", path="/tmp/x"), res("file", "/tmp/x"))


def test_unknown_attribute_suggests_the_right_one():
    with pytest.raises(CompileError, match=r"file\[/tmp/x\]: unknown attribute 'contnet' \(did you mean 'content'\?\)"):
        catalog_of(res("file", "/tmp/x", contnet="a"))


def test_wrong_type_names_attribute_value_and_type():
    with pytest.raises(CompileError, match=r"file\[/tmp/x\]: mode: expected an octal mode string like '0644', got 420"):
        catalog_of(res("file", "/tmp/x", mode=420))
    with pytest.raises(CompileError, match=r"exec\[x\]: refreshonly: expected true or false, got 'yes'"):
        catalog_of(res("exec", "x", command=["true"], refreshonly="yes"))


def test_missing_required_and_unknown_type():
    with pytest.raises(CompileError, match=r"exec\[x\]: missing required attribute 'command'"):
        catalog_of(res("exec", "x"))
    with pytest.raises(CompileError, match=r"unknown resource type 'fiel' \(did you mean 'file'\?\)"):
        catalog_of(res("fiel", "/tmp/x"))


def test_relationship_to_undeclared_resource():
    with pytest.raises(CompileError, match=r"file\[/tmp/x\]: require: exec\[nope\] is not in the catalog"):
        catalog_of(res("file", "/tmp/x", require="exec[nope]"))


def test_cycle_is_printed():
    with pytest.raises(CompileError) as error:
        catalog_of(res("exec", "a", command=["true"], require="exec[c]"),
                   res("exec", "b", command=["true"], require="exec[a]"),
                   res("exec", "c", command=["true"], require="exec[b]"))
    assert str(error.value) == "dependency cycle: exec[a] -> exec[b] -> exec[c] -> exec[a]"


def test_order_follows_edges_then_declaration():
    catalog = catalog_of(
        res("exec", "last", command=["true"], subscribe="file[/tmp/a/f]"),
        res("file", "/tmp/a/f", content="x"),
        res("exec", "first", command=["true"], before=["directory[/tmp/a]"]),
        res("directory", "/tmp/a"),
        res("exec", "free", command=["true"]),
    )
    assert refs(catalog) == ["exec[first]", "directory[/tmp/a]", "file[/tmp/a/f]", "exec[last]", "exec[free]"]
    assert catalog.requires["file[/tmp/a/f]"] == ["directory[/tmp/a]"]  # autorequire of the parent
    assert catalog.notifies == {"file[/tmp/a/f]": ["exec[last]"]}


def test_references_are_case_insensitive_on_the_type_and_tags_include_module():
    catalog = catalog_of(res("exec", "a", command=["true"], tags=["Web"]),
                         res("exec", "b", command=["true"], require="Exec[a]"))
    assert catalog.requires["exec[b]"] == ["exec[a]"]
    assert catalog.get("exec[a]").tags == {"exec", "test", "web"}


def test_errors_about_sensitive_values_do_not_show_them():
    with pytest.raises(CompileError) as error:
        catalog_of(res("exec", "x", command=["true"], environment="TOKEN=abc123", sensitive=["environment"]))
    assert str(error.value) == "module test: exec[x]: environment: expected a mapping, got [redacted]"

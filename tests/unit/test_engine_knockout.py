"""declare_absent(): a module that undoes itself when its class is knocked out ('--name')."""
from engine_support import make_site

from confrt.config import load_config
from confrt.engine.run import compile_catalog
from confrt.facts import Facts

UNDOER = '''
from confrt.engine.module import Param

PARAMS = [Param("path", str, "/x", "the file")]


def declare(params, facts, ctx):
    return [ctx.resource("file", params["path"], content="on\\n")]


def declare_absent(params, facts, ctx):
    return [ctx.resource("file", params["path"], ensure="absent")]
'''
PLAIN = '''
def declare(params, facts, ctx):
    return [ctx.resource("file", "/plain", content="on\\n")]
'''


def compiled(tmp_path, data, layers=None):
    env = make_site(tmp_path, data, modules={"undoer": UNDOER, "plain": PLAIN}, layers=layers)
    catalog, compiler = compile_catalog(load_config(env["CONFRT_CONFIG"]), Facts.static({}))
    return {ref: resource.get("ensure") for ref, resource in catalog.resources.items()}, compiler


def test_a_knocked_out_class_declares_its_undoing_with_its_parameters(tmp_path):
    path = str(tmp_path / "lock")
    resources, compiler = compiled(tmp_path, {"classes": ["undoer", "plain"], "undoer::path": path},
                                   layers={"top.yaml": {"classes": ["--undoer", "--plain"]}})
    assert compiler.classes == [] and compiler.knocked_out == ["undoer"]
    assert resources == {f"file[{path}]": "absent"}  # plain has no declare_absent: nothing of it


def test_a_class_nobody_names_is_left_alone(tmp_path):
    resources, compiler = compiled(tmp_path, {"classes": ["plain"]})
    assert compiler.knocked_out == [] and list(resources) == ["file[/plain]"]


def test_a_class_that_is_kept_is_declared_not_undone(tmp_path):
    """'--undoer' at a lower level and 'undoer' above it: the class stays, nothing is undone."""
    resources, compiler = compiled(tmp_path, {"classes": ["--undoer"]}, layers={"top.yaml": {"classes": ["undoer"]}})
    assert compiler.classes == ["undoer"] and compiler.knocked_out == []
    assert resources == {"file[/x]": "present"}

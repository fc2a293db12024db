"""The module API: built-in modules use confrt only through ctx and confrt.engine.module (issue 19)."""
import ast
import glob
import os

import pytest

import confrt.engine.module as module_api
from confrt.errors import CompileError
from confrt.engine.module import Module, ModuleContext

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODULES = os.path.join(REPO, "modules")
CODE_FILES = sorted(glob.glob(os.path.join(MODULES, "*", "module.py")))


def confrt_imports(path):
    """[(line, module, [names] or None for `import module`)] of every import of confrt in the file."""
    with open(path) as handle:
        tree = ast.parse(handle.read(), path)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name, None) for alias in node.names
                      if alias.name.split(".")[0] == "confrt"]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and \
                (node.module or "").split(".")[0] == "confrt":
            found.append((node.lineno, node.module, [alias.name for alias in node.names]))
    return found


def test_every_built_in_module_is_checked():
    assert len(CODE_FILES) >= 18 and os.path.join(MODULES, "sshkeys", "module.py") in CODE_FILES


@pytest.mark.parametrize("path", CODE_FILES, ids=lambda path: os.path.basename(os.path.dirname(path)))
def test_a_module_imports_no_private_part_of_confrt(path):
    for line, name, names in confrt_imports(path):
        where = f"{os.path.relpath(path, MODULES)}:{line}"
        assert not any(part.startswith("_") for part in name.split(".")), f"{where}: imports private {name}"
        assert not any(item.startswith("_") for item in names or ()), \
            f"{where}: imports a private name of {name}"


@pytest.mark.parametrize("path", CODE_FILES, ids=lambda path: os.path.basename(os.path.dirname(path)))
def test_a_module_imports_only_the_module_api(path):
    for line, name, names in confrt_imports(path):
        where = f"{os.path.relpath(path, MODULES)}:{line}"
        assert name == "confrt.engine.module" and names is not None, \
            f"{where}: imports {name}: modules use ctx and confrt.engine.module only"
        unknown = set(names) - set(module_api.__all__)
        assert not unknown, f"{where}: {sorted(unknown)} not in the module API (confrt.engine.module.__all__)"


def test_the_api_names_exist_and_are_documented():
    for name in module_api.__all__:
        assert hasattr(module_api, name), name
        assert name in module_api.__doc__, f"{name} is not in confrt.engine.module's docstring"


def test_checks_with_the_resource_types_own_rules():
    assert module_api.absolute_path("/etc//sysctl.d/") == "/etc/sysctl.d"
    with pytest.raises(ValueError, match="expected an absolute path"):
        module_api.absolute_path("etc/x")
    sysctl = module_api.resource_type("sysctl")
    assert sysctl.param("value").convert(" 4096\t87380 ") == "4096 87380"
    assert "ssh-ed25519" in module_api.resource_type("ssh_authorized_key").param("type").choices
    with pytest.raises(CompileError, match="no resource type named 'sysctls'"):
        module_api.resource_type("sysctls")
    assert "sysctl" in module_api.resource_type_names() and module_api.resource_type_names() == \
        sorted(module_api.resource_type_names())


def test_read_text(tmp_path):
    (tmp_path / "key").write_text("ssh-ed25519 AAAA x\n")
    assert module_api.read_text(str(tmp_path / "key")) == "ssh-ed25519 AAAA x\n"
    assert module_api.read_text(str(tmp_path / "none")) is None
    (tmp_path / "dir").mkdir()
    with pytest.raises(CompileError, match="cannot read"):
        module_api.read_text(str(tmp_path / "dir"))


def test_ctx_sibling_and_declared_by(tmp_path):
    for name, source in {"one": "X = 1\n", "two": "X = 2\n"}.items():
        (tmp_path / name).mkdir()
        (tmp_path / name / "module.py").write_text(source)
    ctx = ModuleContext(Module("one", path=str(tmp_path / "one")), {}, {})
    assert ctx.sibling("two").X == 2
    assert ctx.resource("file", "/x").declared_by == "module one"
    assert ctx.resource("file", "/x", {"content": "a"}, declared_by="data/common.yaml: resources::file") \
        .declared_by == "data/common.yaml: resources::file"
    with pytest.raises(CompileError, match="has no folder"):
        ModuleContext(Module("three"), {}, {}).sibling("two")

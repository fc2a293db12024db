"""confrt modules list|show, module loading from modulepath and entry points, plugin hooks."""
import os
import types

import pytest
from engine_support import make_site

from confrt.engine import plugins
from confrt.engine.hookspecs import hookimpl
from confrt.engine.loader import modulepath_modules
from confrt.engine.module import Module, ModuleContext, Param
from confrt.errors import CompileError

SQUID = '''
"""squid proxy for CVMFS."""
from confrt.engine.module import Param

PARAMS = [
    Param("cache_mem", str, "128 MB", "memory cache size"),
    Param("port", int, 3128, "listening port"),
    Param("password", str, None, "cache manager password", sensitive=True),
]

def declare(params, facts, ctx):
    return []
'''


def test_list_and_show(tmp_path, run_confrt):
    env = make_site(tmp_path, {"squid::port": 8080, "squid::password": "pw-s3cret"}, modules={"squid": SQUID})
    result = run_confrt("modules", "list", env=env)
    assert result.returncode == 0, result.stderr
    lines = {line.split()[0]: line for line in result.stdout.splitlines()}
    assert "squid proxy for CVMFS." in lines["squid"] and f"[{tmp_path}/modules/squid]" in lines["squid"]
    assert "resources" in lines
    result = run_confrt("modules", "show", "squid", env=env)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "  port (int): listening port\n    default: 3128\n" in out
    assert f"    value:   8080  [{tmp_path}/data/common.yaml]" in out
    assert "  cache_mem (str): memory cache size\n    default: \"128 MB\"\n    value:   (default)" in out
    assert "password (str, sensitive)" in out and "pw-s3cret" not in out and "[redacted]" in out


def test_list_survives_a_broken_module(tmp_path, run_confrt):
    env = make_site(tmp_path, {}, modules={"squid": SQUID, "broken": "import no_such_thing\n"})
    result = run_confrt("modules", "list", env=env)
    assert result.returncode == 0, result.stderr
    assert "(cannot load: " in result.stdout and "No module named 'no_such_thing'" in result.stdout
    assert "squid proxy for CVMFS." in result.stdout


def test_show_unknown_module(tmp_path, run_confrt):
    env = make_site(tmp_path, {}, modules={"squid": SQUID})
    result = run_confrt("modules", "show", "sqiud", env=env)
    assert result.returncode == 1
    assert result.stderr.strip() == "confrt: error: sqiud: no such module (did you mean 'squid'?)"


def test_show_resources_lists_the_types(tmp_path, run_confrt):
    env = make_site(tmp_path, {"resources::file": {"/etc/motd": {"content": "x"}}})
    out = run_confrt("modules", "show", "resources", env=env).stdout
    assert "  file (dict): file resources: title -> attributes" in out
    assert '"/etc/motd"' in out and "  exec (dict)" in out


def test_earlier_modulepath_folder_wins_and_bad_names_are_ignored(tmp_path):
    for folder in ("site", "packaged"):
        (tmp_path / folder / "squid").mkdir(parents=True)
        (tmp_path / folder / "squid" / "module.py").write_text(f"DOC = {folder!r}\n")
    (tmp_path / "site" / "Not-A-Name").mkdir()
    (tmp_path / "site" / "Not-A-Name" / "module.py").write_text("")
    found = modulepath_modules([str(tmp_path / "site"), str(tmp_path / "missing"), str(tmp_path / "packaged")])
    assert [(m.name, m.doc) for m in found] == [("squid", "site")]


def test_broken_module_is_a_compile_error_naming_the_file(tmp_path):
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "module.py").write_text("PARAMS = [\n")
    with pytest.raises(CompileError, match=rf"{tmp_path}/bad/module.py:1: syntax error"):
        _ = Module("bad", path=str(tmp_path / "bad")).params


def test_templates_are_strict(tmp_path):
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "t.j2").write_text("{{ params.port }} {{ missing }}\n")
    module = Module("m", path=str(tmp_path))
    ctx = ModuleContext(module, {"port": 1}, {})
    with pytest.raises(CompileError, match="t.j2: 'missing' is undefined"):
        ctx.template("t.j2")
    assert ctx.template("t.j2", missing="x") == "1 x\n"


def test_plugins_register_types_and_modules_through_hooks(tmp_path, monkeypatch):
    from confrt.resources.base import ResourceType

    class ZfsType(ResourceType):
        name = "zfs"
        params = [Param("name", str, required=True)]

    code = types.ModuleType("site_motd")
    code.PARAMS = [Param("x", int, 1, "x")]
    code.declare = lambda params, facts, ctx: [ctx.resource("zfs", "tank")]

    class SitePlugin:
        @hookimpl
        def confrt_resource_types(self):
            return {"zfs": ZfsType, "file": "confrt.resources.directory:TYPE"}

        @hookimpl
        def confrt_modules(self, config):
            return [Module.from_python_module("site_motd", code, origin="test plugin")]

    plugins.reset()
    try:
        plugins.plugin_manager().register(SitePlugin())
        registry = plugins.resource_types()
        assert registry.get("zfs") is ZfsType
        assert registry.get("file").name == "directory"  # a later plugin replaces a built-in type
        config = types.SimpleNamespace(modulepath=[str(tmp_path)])
        found = plugins.modules(config)
        assert found["site_motd"].origin == "test plugin"
        assert found["site_motd"].declare({"x": 1}, {}, ModuleContext(found["site_motd"], {}, {}))[0].ref == "zfs[tank]"
    finally:
        plugins.reset()
    assert plugins.resource_types().get("file").name == "file"
    # the reset manager no longer has the plugin: its module is gone too
    assert "site_motd" not in plugins.modules(types.SimpleNamespace(modulepath=[str(tmp_path)]))


def test_installed_distribution_adds_a_module_and_a_type(tmp_path, run_confrt):
    """A pip-installed site package: entry points confrt.modules (a module) and confrt (a plugin)."""
    site_packages = tmp_path / "site-packages"
    package = site_packages / "sitecfg"
    (package / "templates").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "templates" / "note.j2").write_text("note for {{ params.who }} in {{ facts.site.rack }}\n")
    (package / "note.py").write_text(
        "from confrt.engine.module import Param\n"
        "DOC = 'a note from a site package'\n"
        "PARAMS = [Param('who', str, 'nobody', 'who it is for'), Param('path', str, required=True)]\n"
        "def declare(params, facts, ctx):\n"
        "    return [ctx.resource('file', params['path'], content=ctx.template('note.j2')),\n"
        "            ctx.resource('stamp', 'once', path=params['path'] + '.stamp')]\n")
    (package / "plugin.py").write_text(
        "from confrt.engine.hookspecs import hookimpl\n"
        "from confrt.engine.params import Param\n"
        "from confrt.resources.base import Change, Provider, ResourceType\n"
        "import os\n"
        "class StampProvider(Provider):\n"
        "    def changes(self):\n"
        "        return [] if os.path.exists(self.resource['path']) else [Change('ensure', 'absent', 'present')]\n"
        "    def apply(self, changes):\n"
        "        open(self.resource['path'], 'w').close()\n"
        "class StampType(ResourceType):\n"
        "    name = 'stamp'\n"
        "    params = [Param('name', str, required=True), Param('path', str, required=True)]\n"
        "    providers = [StampProvider]\n"
        "@hookimpl\n"
        "def confrt_resource_types():\n"
        "    return {'stamp': 'sitecfg.plugin:StampType'}\n"
        "@hookimpl\n"
        "def confrt_facts(facts):\n"
        "    facts.register('site', lambda: {'rack': 'r42'})\n"
        "@hookimpl\n"
        "def confrt_report(report):\n"
        f"    open({str(tmp_path / 'reported')!r}, 'w').write(str(report.summary()['resources']['changed']))\n")
    dist = site_packages / "sitecfg-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: sitecfg\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[confrt.modules]\nnote = sitecfg.note\n\n[confrt]\nstamp = sitecfg.plugin\n")
    target = tmp_path / "note"
    env = make_site(tmp_path, {"classes": ["note"], "note::who": "alice", "note::path": str(target)})
    from confrt_testing import REPO

    env["PYTHONPATH"] = os.pathsep.join([REPO, str(site_packages)])
    listed = run_confrt("modules", "list", env=env)
    assert "note" in listed.stdout and "entry point sitecfg.note" in listed.stdout, listed.stderr
    result = run_confrt("apply", env=env)
    assert result.returncode == 0, result.stderr
    assert target.read_text() == "note for alice in r42\n" and (tmp_path / "note.stamp").exists()
    assert "stamp[once]/ensure: ensure changed 'absent' to 'present'" in result.stdout
    assert (tmp_path / "reported").read_text() == "2"


def test_every_hook_is_documented_and_builtin_plugins_match_the_specs():
    from confrt.engine import hookspecs

    specs = [getattr(hookspecs, name) for name in dir(hookspecs) if name.startswith("confrt_")]
    assert len(specs) == 6 and all(spec.__doc__ and len(spec.__doc__) > 80 for spec in specs)
    plugins.reset()
    plugins.plugin_manager().check_pending()


def test_a_registered_type_that_is_not_a_type_is_a_compile_error():
    registry = plugins.TypeRegistry({"odd": "confrt.resources.base:Change", "gone": "confrt.resources.nope:TYPE"})
    with pytest.raises(CompileError, match="resource type odd: 'confrt.resources.base:Change' is not a ResourceType"):
        registry.get("odd")
    with pytest.raises(CompileError, match="resource type confrt.resources.nope:TYPE: cannot load: No module named"):
        registry.get("gone")

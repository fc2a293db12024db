"""The catalog cache is used only when compiling again would give the same catalog."""
import os

import pytest
import yaml
from engine_support import make_site

from confrt.config import load_config
from confrt.engine import catalog_cache
from confrt.engine.run import compile_catalog
from confrt.facts import Facts


class Site:
    """A scratch site and a counting compile through catalog_cache.compiled()."""

    def __init__(self, root, data, modules=None, layers=None):
        self.root = root
        self.env = make_site(root, data, modules=modules, layers=layers)
        self.config = load_config(self.env["CONFRT_CONFIG"])
        self.compiles = 0
        self.warnings = []

    def compile(self, facts, warn):
        self.compiles += 1
        return compile_catalog(self.config, facts, None, warn)[0]

    def catalog(self, facts=None):
        facts = facts or Facts.static({"networking": {"hostname": "node1"}, "os": {"family": "Debian"}})
        return catalog_cache.compiled(self.config, facts, self.compile, self.warnings.append)

    def write(self, relative, text):
        path = os.path.join(self.root, relative)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as handle:
            handle.write(text)

    @property
    def cache(self):
        return os.path.join(self.config.statedir, catalog_cache.CACHE_FILE)


def templated(root, **more):
    return {"classes": ["resources"],
            "resources::file": {f"{root}/out/motd": {"template": f"{root}/motd.j2", "template_vars": {"n": 1}}},
            **more}


@pytest.fixture
def site(tmp_path):
    site = Site(tmp_path, templated(tmp_path))
    site.write("motd.j2", "{{ facts.networking.hostname }} {{ n }}\n")
    return site


def content(catalog, root):
    return catalog.get(f"file[{root}/out/motd]")["content"]


def test_a_second_compile_comes_from_the_cache_and_is_the_same(site, tmp_path):
    first = site.catalog()
    assert site.compiles == 1 and os.stat(site.cache).st_mode & 0o777 == 0o600
    second = site.catalog()
    assert site.compiles == 1
    assert [r.ref for r in second.order] == [r.ref for r in first.order]
    assert content(second, tmp_path) == "node1 1\n"
    assert second.requires == first.requires and second.types is not None


def test_extra_data_is_cached_too_and_read_above_the_hierarchy(site, tmp_path):
    """`confrt apply --data FILE` (an extra top layer) keeps the cache, keyed by that file."""
    extra = tmp_path / "extra.yaml"
    extra.write_text(yaml.safe_dump(templated(tmp_path, **{"resources::file": {
        f"{tmp_path}/out/motd": {"content": "from --data\n"}}})))
    compiles = []

    def compile(facts, warn):
        compiles.append(1)
        return compile_catalog(site.config, facts, str(extra), warn)[0]

    facts = Facts.static({"networking": {"hostname": "node1"}, "os": {"family": "Debian"}})
    first = catalog_cache.compiled(site.config, facts, compile, site.warnings.append, extra_data=str(extra))
    assert content(first, tmp_path) == "from --data\n" and os.path.exists(site.cache)
    second = catalog_cache.compiled(site.config, facts, compile, site.warnings.append, extra_data=str(extra))
    assert len(compiles) == 1 and content(second, tmp_path) == "from --data\n"
    extra.write_text(yaml.safe_dump(templated(tmp_path, **{"resources::file": {
        f"{tmp_path}/out/motd": {"content": "changed\n"}}})))
    third = catalog_cache.compiled(site.config, facts, compile, site.warnings.append, extra_data=str(extra))
    assert len(compiles) == 2 and content(third, tmp_path) == "changed\n"


@pytest.mark.parametrize("change", ["data", "template", "new layer file", "fact", "module code"])
def test_any_input_change_compiles_again(tmp_path, monkeypatch, change):
    monkeypatch.setattr("sys.dont_write_bytecode", False)  # module code then runs from its .pyc
    site = Site(tmp_path, templated(tmp_path, classes=["resources", "note"]),
                modules={"note": "PARAMS = []\ndef declare(params, facts, ctx):\n    return []\n"},
                layers={"extra.yaml": {}})
    os.unlink(tmp_path / "data" / "extra.yaml")  # a level whose file does not exist (yet)
    site.write("motd.j2", "{{ facts.networking.hostname }} {{ n }}\n")
    site.catalog()
    facts = None
    if change == "data":
        site.write("data/common.yaml", yaml.safe_dump(templated(tmp_path, **{"classes": ["resources", "note"]})
                                                       | {"resources::directory": {f"{tmp_path}/out": {}}}))
    elif change == "template":
        site.write("motd.j2", "host {{ facts.networking.hostname }}\n")
    elif change == "new layer file":
        site.write("data/extra.yaml", yaml.safe_dump({"resources::directory": {f"{tmp_path}/out": {}}}))
    elif change == "fact":
        facts = Facts.static({"networking": {"hostname": "node2"}, "os": {"family": "Debian"}})
    else:
        site.write("modules/note/module.py", "PARAMS = []\ndef declare(params, facts, ctx):\n"
                                             "    return [ctx.resource('directory', '" + f"{tmp_path}/out" + "')]\n")
    catalog = site.catalog(facts)
    assert site.compiles == 2
    if change in ("data", "new layer file", "module code"):
        assert catalog.has(f"directory[{tmp_path}/out]")
    else:
        assert content(catalog, tmp_path) == {"template": "host node1\n", "fact": "node2 1\n"}[change]
    site.catalog(facts)
    assert site.compiles == 2  # and the new catalog is cached in turn


@pytest.mark.parametrize("reach", ["open('/proc/self/status').read()",
                                   "__import__('subprocess').run(['true'])",
                                   "open(ctx.path + '/side-effect', 'w').write('x')"])
def test_a_compile_that_reaches_outside_is_not_cached(tmp_path, reach):
    site = Site(tmp_path, {"classes": ["peek"]},
                modules={"peek": f"PARAMS = []\ndef declare(params, facts, ctx):\n    {reach}\n    return []\n"})
    site.catalog()
    site.catalog()
    assert site.compiles == 2 and not os.path.exists(site.cache)


def test_a_catalog_holding_a_secret_is_not_cached(tmp_path):
    site = Site(tmp_path, {"classes": ["resources"], "resources::file": {
        f"{tmp_path}/token": {"content": "tok-s3cret", "sensitive": ["content"]},
        f"{tmp_path}/motd": {"content": "hello", "sensitive": True}}})
    site.catalog()
    site.catalog()
    assert site.compiles == 2 and not os.path.exists(site.cache)


def test_warnings_are_shown_again_from_the_cache(site, tmp_path):
    site.write("data/common.yaml", yaml.safe_dump(templated(tmp_path, **{"resources::nosuch": 1})))
    site.catalog()
    site.catalog()
    assert site.compiles == 1
    assert len(site.warnings) == 2 and site.warnings[0] == site.warnings[1] and "resources::nosuch" in site.warnings[0]


def test_a_cache_others_can_write_is_ignored(site):
    site.catalog()
    os.chmod(site.cache, 0o666)
    site.catalog()
    assert site.compiles == 2 and os.stat(site.cache).st_mode & 0o777 == 0o600


def test_a_damaged_cache_is_only_a_miss(site):
    site.catalog()
    with open(site.cache, "r+b") as handle:
        handle.truncate(100)
    assert content(site.catalog(), site.root) == "node1 1\n"
    assert site.compiles == 2


def test_a_statedir_it_cannot_write_only_means_no_cache(site, monkeypatch):
    def refuse(path, entry):
        raise PermissionError(13, "Permission denied", path)

    monkeypatch.setattr(catalog_cache, "write", refuse)
    assert content(site.catalog(), site.root) == "node1 1\n"
    assert site.compiles == 1 and not os.path.exists(site.cache)


def test_it_can_be_turned_off(site, monkeypatch):
    monkeypatch.setenv(catalog_cache.DISABLE_VARIABLE, "off")
    site.catalog()
    site.catalog()
    assert site.compiles == 2 and not os.path.exists(site.cache)


def test_apply_uses_it_and_notices_an_edit(tmp_path, run_confrt):
    env = make_site(tmp_path, templated(tmp_path, **{"resources::directory": {f"{tmp_path}/out": {}}}))
    (tmp_path / "motd.j2").write_text("one {{ n }}\n")
    for _ in range(2):
        result = run_confrt("apply", env=env)
        assert result.returncode == 0, result.stderr
    assert os.path.exists(tmp_path / "state" / catalog_cache.CACHE_FILE)
    assert (tmp_path / "out" / "motd").read_text() == "one 1\n"
    (tmp_path / "motd.j2").write_text("two {{ n }}\n")
    result = run_confrt("apply", env=env)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out" / "motd").read_text() == "two 1\n"


def test_the_parse_cache_is_not_an_input_of_the_compile(site, tmp_path_factory, monkeypatch):
    """A compile that parses files anew writes their parse cache entries; the cache is neither
    something the catalog depends on nor a write that makes the compile uncacheable."""
    cache = tmp_path_factory.mktemp("parse")  # not in the site's folder, which the compile lists
    monkeypatch.setenv("CONFRT_PARSE_CACHE", str(cache))
    site.catalog()
    assert os.listdir(cache)  # entries written while the compile was recorded
    entry = catalog_cache.read(site.cache)
    assert entry is not None
    assert not [path for path, _follow in entry["paths"] if path.startswith(str(cache))]
    assert (os.path.dirname(str(cache)), True) not in entry["paths"]  # its parent is no input either
    site.catalog()
    assert site.compiles == 1


def test_a_parse_cache_in_the_site_s_own_folder_hides_no_data_change(site, tmp_path, monkeypatch):
    """Only entry-shaped names count as the parse cache's: pointed at the site's folder, it must
    not make the catalog cache blind to the data files there."""
    monkeypatch.setenv("CONFRT_PARSE_CACHE", str(tmp_path / "data"))
    assert content(site.catalog(), tmp_path) == "node1 1\n"
    site.write("data/common.yaml", yaml.safe_dump(templated(tmp_path) | {
        "resources::file": {f"{tmp_path}/out/motd": {"template": f"{tmp_path}/motd.j2",
                                                     "template_vars": {"n": 2}}}}))
    assert content(site.catalog(), tmp_path) == "node1 2\n"
    assert site.compiles == 2


PROXY_MODULE = """\
import os
PARAMS = []
def declare(params, facts, ctx):
    return [ctx.resource("file", os.environ["SITE_ROOT"] + "/proxy", content=os.getenv("SITE_PROXY", "none") + "\\n")]
"""


def test_an_environment_variable_a_module_read_is_an_input(tmp_path, monkeypatch):
    """A catalog made under a shell's environment is not reused by a run whose variables differ
    (a cron run); one made under the same variables is."""
    monkeypatch.setenv("SITE_ROOT", str(tmp_path))
    monkeypatch.setenv("SITE_PROXY", "http://squid.example.org:3128")
    site = Site(tmp_path, {"classes": ["proxy"]}, modules={"proxy": PROXY_MODULE})
    proxy = f"file[{tmp_path}/proxy]"
    assert site.catalog().get(proxy)["content"] == "http://squid.example.org:3128\n"
    assert catalog_cache.read(site.cache)["environ"] == {"SITE_ROOT": str(tmp_path),
                                                          "SITE_PROXY": "http://squid.example.org:3128"}
    site.catalog()
    assert site.compiles == 1
    monkeypatch.delenv("SITE_PROXY")  # as under cron
    assert site.catalog().get(proxy)["content"] == "none\n"
    assert site.compiles == 2
    monkeypatch.setenv("UNRELATED", "x")
    site.catalog()
    assert site.compiles == 2


def test_a_compile_that_lists_or_sets_the_environment_is_not_cached(tmp_path, monkeypatch):
    for body in ("    sorted(os.environ)\n", "    os.environ['SITE_SET'] = 'x'\n"):
        module = "import os\nPARAMS = []\ndef declare(params, facts, ctx):\n" + body + "    return []\n"
        site = Site(tmp_path, {"classes": ["lister"]}, modules={"lister": module})
        site.catalog()
        assert catalog_cache.read(site.cache) is None
    monkeypatch.delenv("SITE_SET", raising=False)
    assert not isinstance(os.environ, catalog_cache.RecordedEnviron)


RELATIVE_MODULE = """\
PARAMS = []
def declare(params, facts, ctx):
    with open("motd.txt") as handle:  # relative: from the working folder
        text = handle.read()
    return [ctx.resource("file", "/tmp/confrt-test-never-applied", content=text)]
"""


def test_the_working_folder_counts_only_when_the_compile_used_it(tmp_path, monkeypatch):
    """Runs from a shell, cron ($HOME) and systemd (/) share the cache; a compile that read a
    relative path is redone in another folder."""
    first, second = tmp_path / "first", tmp_path / "second"
    for folder, text in ((first, "first\n"), (second, "second\n")):
        folder.mkdir()
        (folder / "motd.txt").write_text(text)
    monkeypatch.chdir(first)
    site = Site(tmp_path / "site", templated(tmp_path / "site"))
    site.write("motd.j2", "{{ n }}\n")
    site.catalog()
    monkeypatch.chdir(second)
    site.catalog()
    assert site.compiles == 1

    relative = Site(tmp_path / "relative", {"classes": ["relative"]}, modules={"relative": RELATIVE_MODULE})
    monkeypatch.chdir(first)
    assert relative.catalog().get("file[/tmp/confrt-test-never-applied]")["content"] == "first\n"
    relative.catalog()
    assert relative.compiles == 1
    monkeypatch.chdir(second)
    assert relative.catalog().get("file[/tmp/confrt-test-never-applied]")["content"] == "second\n"
    assert relative.compiles == 2

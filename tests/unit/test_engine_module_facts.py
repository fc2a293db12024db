"""Module facts (FACTS in module.py): registered before any declare(), lazy, recorded by the catalog cache."""
import os

import pytest
from engine_support import make_site
from node_modules_support import compile_condor_before_ephemeral_disk, content

from confrt.config import load_config
from confrt.engine import catalog_cache
from confrt.engine.run import compile_catalog
from confrt.errors import CompileError
from confrt.facts import Facts

PUBLISHER = """
from confrt.engine.module import Param

PARAMS = [Param("source", str, None, "the file the fact reads")]
CALLS = []


def answer(facts, params):
    CALLS.append(params["source"])
    with open(params["source"]) as handle:
        return {"value": handle.read().strip(), "host": facts.get("networking.hostname")}


FACTS = {"answer": answer}


def declare(params, facts, ctx):
    return []
"""

READER = """
PARAMS = []


def declare(params, facts, ctx):
    text = f"{facts.get('answer.value')} on {facts.get('answer.host')}\\n"
    return [ctx.resource("file", OUT, content=text)]
"""

HOST_FACTS = {"networking": {"hostname": "node1"}}


def site(tmp_path, classes, more_modules=None, **data):
    (tmp_path / "answer.txt").write_text("42\n")
    modules = {"publisher": PUBLISHER, "reader": f"OUT = {str(tmp_path / 'out')!r}\n" + READER}
    modules.update(more_modules or {})
    env = make_site(tmp_path, dict({"classes": classes, "publisher::source": str(tmp_path / "answer.txt")},
                                   **data), modules=modules)
    return load_config(env["CONFRT_CONFIG"])


def compile_site(config, facts=None):
    return compile_catalog(config, Facts.static(dict(HOST_FACTS, **(facts or {}))))


@pytest.mark.parametrize("classes", [["reader", "publisher"], ["publisher", "reader"]])
def test_a_module_fact_reads_the_same_whatever_the_class_order(tmp_path, classes):
    catalog, compiler = compile_site(site(tmp_path, classes))
    assert catalog.get(f"file[{tmp_path}/out]")["content"] == "42 on node1\n"
    assert compiler.modules["publisher"].code.CALLS == [str(tmp_path / "answer.txt")]  # computed once


def test_a_module_fact_costs_nothing_unless_read(tmp_path):
    _, compiler = compile_site(site(tmp_path, ["publisher"]))
    assert compiler.modules["publisher"].code.CALLS == []


def test_a_fact_given_in_the_facts_wins_over_the_module(tmp_path):
    catalog, compiler = compile_site(site(tmp_path, ["reader", "publisher"]),
                                     {"answer": {"value": "7", "host": "given"}})
    assert catalog.get(f"file[{tmp_path}/out]")["content"] == "7 on given\n"
    assert compiler.modules["publisher"].code.CALLS == []


def test_a_module_not_included_publishes_nothing(tmp_path):
    catalog, _ = compile_site(site(tmp_path, ["reader"]))
    assert catalog.get(f"file[{tmp_path}/out]")["content"] == "None on None\n"


@pytest.mark.parametrize("source, problem", [
    ("FACTS = {'Bad-Name': len}", "FACTS: expected a mapping of fact names"),
    ("FACTS = {'answer': 'not a function'}", "FACTS: expected a mapping of fact names"),
    ("FACTS = {'answer': lambda facts, params: 1}", "fact 'answer' is published by module publisher too"),
    ("FACTS = {'answer2': lambda facts, params: 1 / 0}", "fact answer2 of module broken failed: line 2: "
                                                         "ZeroDivisionError"),
])
def test_bad_facts_are_compile_errors_naming_the_module(tmp_path, source, problem):
    broken = f"PARAMS = []\n{source}\ndef declare(params, facts, ctx):\n    return []\n"
    reader = "PARAMS = []\ndef declare(params, facts, ctx):\n    facts.get('answer2')\n    return []\n"
    config = site(tmp_path, ["publisher", "broken", "reader2"], {"broken": broken, "reader2": reader})
    with pytest.raises(CompileError) as error:
        compile_site(config)
    assert problem in str(error.value)
    assert str(tmp_path / "modules" / "broken" / "module.py") in str(error.value)


def test_the_catalog_cache_computes_a_module_fact_again_instead_of_compiling(tmp_path):
    config = site(tmp_path, ["reader", "publisher"])
    compiles = []

    def compile(facts, warn):
        compiles.append(1)
        return compile_catalog(config, facts, None, warn)[0]

    def cached(hostname="node1"):
        facts = Facts.static({"networking": {"hostname": hostname}})
        return catalog_cache.compiled(config, facts, compile, print).get(f"file[{tmp_path}/out]")["content"]

    assert cached() == "42 on node1\n" and cached() == "42 on node1\n"
    assert len(compiles) == 1  # the second came from the cache: the fact was computed again, and equal
    entry = catalog_cache.read(os.path.join(config.statedir, catalog_cache.CACHE_FILE))
    (recipe, value), = entry["module_facts"].values()
    assert value == {"value": "42", "host": "node1"}
    assert recipe[0] == "publisher" and recipe[3]["source"] == str(tmp_path / "answer.txt")
    (tmp_path / "answer.txt").write_text("43 and more\n")  # what the fact reads changed
    assert cached() == "43 and more on node1\n" and len(compiles) == 2
    assert cached(hostname="node2") == "43 and more on node2\n" and len(compiles) == 3


def test_a_module_fact_that_looks_at_dev_and_sys_is_cached(tmp_path):
    """ephemeral_disk's fact reads /dev/disk/by-label and /sys: the worker role's catalog is
    cached all the same, and the fact is computed again on each run."""
    looker = PUBLISHER.replace("with open(params[\"source\"]) as handle:",
                               "os.listdir('/sys/class/block'); os.path.exists('/dev/disk/by-label/x')\n"
                               "    with open(params[\"source\"]) as handle:").replace(
        "from confrt.engine.module import Param", "import os\nfrom confrt.engine.module import Param")
    assert "os.listdir('/sys/class/block')" in looker and "import os" in looker  # both replaces matched
    config = site(tmp_path, ["reader", "publisher"], {"publisher": looker})
    compiles = []

    def compile(facts, warn):
        compiles.append(1)
        return compile_catalog(config, facts, None, warn)[0]

    for _ in range(3):
        catalog_cache.compiled(config, Facts.static(HOST_FACTS), compile, print)
    assert len(compiles) == 1


def test_condor_listed_before_ephemeral_disk_puts_execute_on_the_disk(tmp_path):
    catalog, warnings, _ = compile_condor_before_ephemeral_disk(tmp_path)
    assert "EXECUTE = /scratch/condor/execute\n" in content(catalog, "/etc/condor/config.d/30-confrt-slots.conf")
    assert catalog.get("directory[/scratch/condor/execute]")["owner"] == "condor"
    assert catalog.get("mount[/scratch]") is not None and warnings == []

"""Module facts (FACTS in module.py): registered before any declare(), lazy."""

import pytest
from engine_support import make_site
from node_modules_support import compile_condor_before_ephemeral_disk, content

from confrt.config import load_config
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


def test_condor_listed_before_ephemeral_disk_puts_execute_on_the_disk(tmp_path):
    catalog, warnings, _ = compile_condor_before_ephemeral_disk(tmp_path)
    assert "EXECUTE = /scratch/condor/execute\n" in content(catalog, "/etc/condor/config.d/30-confrt-slots.conf")
    assert catalog.get("directory[/scratch/condor/execute]")["owner"] == "condor"
    assert catalog.get("mount[/scratch]") is not None and warnings == []

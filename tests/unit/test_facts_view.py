"""Templates read facts through Facts.view(): a fact is computed only when a template reads it."""
import socket

import pytest

from confrt.engine.compiler import CompileEnv
from confrt.errors import CompileError
from confrt.facts import Facts


def exploding():
    raise AssertionError("a fact no template reads was computed")


def render(tmp_path, text, facts, **variables):
    template = tmp_path / "t.j2"
    template.write_text(text)
    return CompileEnv(facts, {}).render(str(template), variables)


def test_a_template_computes_only_the_facts_it_reads(tmp_path):
    facts = Facts.static({"os": {"family": "Debian", "release": {"major": "12"}}})
    facts.register("disks", exploding)
    facts.register("site.rack", exploding)
    assert render(tmp_path, "{{ facts.os.family }} {{ facts.os.release.major }} {{ n }}\n", facts, n=3) == \
        "Debian 12 3\n"


def test_the_host_name_does_not_need_the_whole_networking_fact(tmp_path):
    facts = Facts()
    facts._builtin["networking"] = exploding  # the interface list must not be read for the names
    expected = socket.gethostname().split(".")[0]
    assert render(tmp_path, "{{ facts.networking.hostname }}", facts) == expected


def test_iterating_a_fact_gives_the_whole_of_it(tmp_path):
    facts = Facts.static({"os": {"family": "Debian", "name": "Debian"}, "role": "worker"})
    text = "{% for key in facts.os | sort %}{{ key }}={{ facts.os[key] }};{% endfor %}{{ facts.role }}"
    assert render(tmp_path, text, facts) == "family=Debian;name=Debian;worker"
    assert "role" in facts.view() and sorted(facts.view()) == ["os", "role"]


def test_an_unknown_fact_is_a_compile_error_naming_it(tmp_path):
    facts = Facts.static({"os": {"family": "Debian"}})
    with pytest.raises(CompileError, match="nosuch"):
        render(tmp_path, "{{ facts.nosuch }}", facts)
    with pytest.raises(CompileError, match="codename"):
        render(tmp_path, "{{ facts.os.codename }}", facts)

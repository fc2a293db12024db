"""confrt's own YAML writer (util/yamlemit) reads back as the same data through PyYAML's
readers, lays data out as PyYAML does, and hands anything else back to PyYAML."""
import datetime
import math
import subprocess
import sys

import pytest
import yaml
from confrt_testing import REPO
from hypothesis import given, settings
from hypothesis import strategies as st

from confrt.util.yamlemit import emit
from confrt.util.yamlfile import dump_yaml

READERS = [yaml.SafeLoader] + ([yaml.CSafeLoader] if hasattr(yaml, "CSafeLoader") else [])

# strings a YAML reader could take for something else, or must not find raw
TRICKY = st.sampled_from([
    "", " ", "yes", "No", "ON", "off", "y", "n", "null", "Null", "~", "true", "False", "0", "-1", "0x1f",
    "0o17", "017", "1_000", "1:20", "1.5", ".5", "1e3", ".inf", "-.Inf", ".NaN", "2001-12-14",
    "2001-12-14t21:59:43.10-05:00", "<<", "=", "-", "- a", "a: b", "a:", "a #b", "#a", "&a", "*a", "!a",
    "%a", "@a", "`a", "|", ">", "'a'", '"a"', "[a]", "{a: 1}", "a\nb", "a\tb", "a  b", " a", "a ",
    "\x85", "\u2028", "\u2029", "\ufeff", "\x7f", "\x00", "\ud7ff", "\ue000", "\U0001f600", "é", "a::b",
    "http://x.example/a?b=c", "/dev/sda1", "site::greeting",
])
TEXT = st.one_of(TRICKY, st.text(max_size=30), st.text(alphabet="ab :-#.\n'\"01", max_size=12))
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), TEXT)
KEYS = st.one_of(TEXT, st.integers(), st.booleans())
DATA = st.recursive(SCALARS, lambda children: st.one_of(
    st.lists(children, max_size=4), st.dictionaries(KEYS, children, max_size=4)), max_leaves=25)


def read(text, reader):
    return yaml.load(text, Loader=reader)


@pytest.mark.parametrize("reader", READERS, ids=lambda reader: reader.__name__)
@settings(max_examples=400, deadline=None)
@given(data=DATA)
def test_what_is_written_is_ascii_and_reads_back_the_same(reader, data):
    text = emit(data)
    assert text is not None and text.isascii()
    assert read(text, reader) == data


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, 1e20, -2.5e-7, 0.0, 3.0])
def test_special_floats_read_back(value):
    back = read(emit({"x": value}), yaml.SafeLoader)["x"]
    assert isinstance(back, float)
    assert back == value or (math.isnan(value) and math.isnan(back))


def test_layout_is_pyyaml_block_style():
    data = {"os": {"family": "Debian", "release": {"major": "12", "full": "12.5"}},
            "processors": {"count": 2}, "is_virtual": True, "domain": None,
            "mountpoints": {"/": {"options": ["rw", "relatime"], "size_bytes": 1024}},
            "matrix": [[1, 2], [3], {"a": [4]}], "empty": {}, "none": [], "items": [{"name": "a", "x": 1}]}
    assert emit(data) == yaml.safe_dump(data, default_flow_style=False, sort_keys=False)


def test_quoted_only_when_needed():
    assert emit({"a": "hello world", "b": "yes", "c": "12", "d": "x: y", "e": "a\nb"}) == \
        "a: hello world\nb: 'yes'\nc: '12'\nd: 'x: y'\ne: \"a\\nb\"\n"


@pytest.mark.parametrize("data", [
    {"when": datetime.date(2024, 1, 2)}, [b"bytes"], {"s": {1, 2}}, {datetime.date(2024, 1, 2): "key"}, {"k" * 1200: 1},
])
def test_other_data_falls_back_to_pyyaml(data):
    assert emit(data) is None
    assert yaml.safe_load(dump_yaml(data)) == data


def test_a_lone_surrogate_is_left_to_pyyaml():
    assert emit({"key": "a\udfffb"}) is None  # libyaml refuses the escape of a lone surrogate


def test_a_str_enum_is_written_as_its_text():
    import enum

    class Role(str, enum.Enum):
        WORKER = "worker"

    assert emit({Role.WORKER: [Role.WORKER]}) == "worker:\n- worker\n"


def test_facts_print_on_an_ascii_terminal(tmp_path, run_confrt):
    (tmp_path / "facts.yaml").write_text("site: {name: \"Universit\u00e9 de Gen\u00e8ve\", emoji: \"\U0001F600\"}\n")
    result = run_confrt("facts", "site", "--facts", tmp_path / "facts.yaml", env={"PYTHONIOENCODING": "ascii"})
    assert result.returncode == 0, result.stderr
    assert yaml.safe_load(result.stdout) == {"name": "Universit\u00e9 de Gen\u00e8ve", "emoji": "\U0001F600"}


def test_a_recursive_structure_falls_back_to_pyyaml():
    loop = []
    loop.append(loop)
    assert emit({"a": loop}) is None
    assert "&id001" in dump_yaml({"a": loop})


def test_writing_plain_data_does_not_import_pyyaml():
    """The reason the writer exists: `confrt facts` as YAML without PyYAML's import cost."""
    script = (
        "import sys\n"
        "from confrt.util.yamlfile import dump_yaml\n"
        "text = dump_yaml({'os': {'family': 'Debian'}, 'n': [1, 2]})\n"
        "print('yaml' in sys.modules, text.count(chr(10)))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            cwd=REPO, check=True)
    assert result.stdout.split() == ["False", "5"]

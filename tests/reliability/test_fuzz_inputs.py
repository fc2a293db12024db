"""Hypothesis fuzzing of what operators and userdata feed confrt: data files, hiera.yaml, module
parameters and userdata. Every outcome is either a result or one `confrt: error:` line with exit
1, never a traceback or an "internal error", and a fatal error never comes with a partial change.

Data, hiera.yaml and module parameters run `confrt.cli.main` in this process with --debug, so a
bug raises here with its traceback (and hypothesis shrinks it); userdata runs `confrt run --boot`
as a real process. Real applies only ever name paths under the example's temp dir; runs that
could touch this machine (modules other than `resources`, mutated text) are --noop.
CONFRT_FUZZ_EXAMPLES scales the number of examples (default 60 per test).

The hostile classes of issue 14 §2 have generators of their own (test_hostile_*): alias bombs (levels
and fan-out around the limit), nesting (around MAX_DEPTH, up to 200,000), structures holding
themselves, documents of every size up to past MAX_TEXT, keys given twice, %{lookup()} chains and
%{alias()} bombs, in a data file, lookup_options, a content, and cloud-config, YAML and MIME userdata
(MIME nested up to 3000 deep): each run is a result or one error line, and takes under 10 s.
"""
import contextlib
import functools
import io
import os
import shutil
import subprocess
import tempfile
import time

import pytest
import yaml
from reliability_support import confrt_process, process_env, temp_leftovers
from run_site import make_run_site, read, summary

hypothesis = pytest.importorskip("hypothesis", reason="hypothesis is not installed (pip install .[test])")
from hypothesis import HealthCheck, assume, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from test_userdata_fuzz import EDITS  # noqa: E402  (byte edits of a sample, shared with the parser fuzzing)
from test_userdata_fuzz import _mutate as mutate  # noqa: E402

EXAMPLES = int(os.environ.get("CONFRT_FUZZ_EXAMPLES", "60"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# -- value strategies -----------------------------------------------------------

TRICKY_TEXT = [
    "", " ", "\n", "%", "%{", "%{}", "%{facts.os.family}", "%{os.family}", "%{lookup('classes')}",
    "%{alias('classes')}", "%{literal('%')}", "%{hiera('x')}", "%{scope('x')}", "%{::fqdn}", "%{nosuch}",
    "%{lookup('resources::file')}", "%{alias('nosuch')}", "%{confrt.local_data}", "${x}", "--", "--resources",
    "0644", "0o644", "644", "7777", "-1", "u+x", "root", "nobody", "no-such-user", "0", "4294967296",
    "present", "absent", "file", "directory", "link", "file[/x]", "exec[y]", "resources", "~", "*", "?",
    "'", '"', "\\", "\t", "\x00", "é", "\u2028", "yes", "no", "null", ".inf",
]
SCALARS = (st.none() | st.booleans() | st.integers(-(1 << 70), 1 << 70) | st.floats()
           | st.sampled_from(TRICKY_TEXT) | st.text(max_size=12))
KEYS = st.sampled_from(TRICKY_TEXT) | st.text(max_size=6) | st.integers(-3, 3) | st.booleans() | st.none()
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEYS, inner, max_size=3),
                      max_leaves=8)
NAMES = st.text("abcdefgh0123456789_-.", min_size=1, max_size=8).filter(lambda name: name not in (".", ".."))


def mostly(good, bad=VALUES):
    """`good` nine times in ten, else `bad`: inputs stay close enough to valid to get far."""
    return st.integers(0, 9).flatmap(lambda roll: bad if roll == 0 else good)


def plausible(root):
    """attribute -> values a real data file would hold, right or slightly wrong."""
    refs = st.sampled_from([f"file[{root}/tree/a]", f"directory[{root}/tree]", f"link[{root}/tree/l]",
                            "exec[nope]", "file[relative]", "bogus", f"File[{root}/tree/a]"])
    modes = st.sampled_from(["0644", "0600", "0755", "644", "4755", "0o644", "u+x", "7777", "-1", "", "0888"]) \
        | st.integers(-1, 0o10000)
    ids = st.sampled_from(["root", "nobody", "daemon", "no-such-user", "0", "-1", "", "root:root"]) \
        | st.integers(-2, 1 << 40)
    files = st.sampled_from(["/etc/hostname", "/nonexistent", "resources/nope", "", "relative", f"{root}/tree",
                             f"{root}/tree/a", "/dev/null"])
    booleans = st.booleans() | st.sampled_from(["true", "yes", 1, None])
    return {
        "content": st.text(max_size=40) | st.sampled_from(TRICKY_TEXT), "mode": modes, "owner": ids,
        "group": ids, "ensure": st.sampled_from(["present", "absent", "file", "directory", "link", "bogus"]),
        "backup": booleans, "show_diff": booleans, "force": booleans, "source": files, "template": files,
        "template_vars": st.dictionaries(KEYS, SCALARS, max_size=2), "target": files,
        "require": refs | st.lists(refs, max_size=2), "before": refs, "notify": refs, "subscribe": refs,
        "tags": st.sampled_from(["x", "resources", ""]) | st.lists(st.sampled_from(["a", "b", 5]), max_size=2),
        "sensitive": st.booleans() | st.sampled_from(["content", ["content", "mode"], "bogus"]),
    }


ATTRIBUTES = {
    "file": ["content", "mode", "owner", "group", "ensure", "backup", "show_diff", "source", "template",
             "template_vars", "require", "before", "notify", "subscribe", "tags", "sensitive", "bogus"],
    "directory": ["mode", "owner", "group", "ensure", "force", "require", "notify", "tags", "bogus"],
    "link": ["target", "ensure", "force", "require", "before", "tags", "bogus"],
}
MERGES = st.sampled_from(["first", "unique", "hash", "deep", "bogus", 5, None,
                          {"strategy": "deep", "knockout_prefix": "--"}, {"strategy": "nope"}, {"merge": 1}])


@st.composite
def attributes(draw, root, type_name):
    """Mostly a mapping of the type's attributes with plausible values; sometimes anything."""
    if draw(st.integers(0, 9)) == 0:
        return draw(VALUES)
    values = plausible(root)
    names = draw(st.lists(st.sampled_from(ATTRIBUTES[type_name]), unique=True, max_size=4))
    return {name: draw(values.get(name, VALUES) if draw(st.integers(0, 7)) else VALUES) for name in names}


def resources(root, type_name):
    """resources::<type>: titles under root/tree, random attributes."""
    return st.dictionaries(NAMES.map(lambda name: os.path.join(root, "tree", name)), attributes(root, type_name),
                           max_size=4)


def site_data(root):
    """A data file's mapping: classes, resources of the resources module under root, lookup_options."""
    classes = st.sampled_from([["resources"]] * 6 + [["resources", "--resources"], ["nosuch"], "resources", 5])
    options = st.dictionaries(st.sampled_from(["resources::file", "resources::directory", "classes", "^resources::",
                                               "^[", 5]),
                              st.dictionaries(st.sampled_from(["merge", "sensitive", "bogus"]), MERGES | VALUES,
                                              max_size=2) | VALUES, max_size=2)
    return st.fixed_dictionaries({"classes": classes}, optional={
        "resources::file": resources(root, "file"), "resources::directory": resources(root, "directory"),
        "resources::link": resources(root, "link"), "lookup_options": options, "resources::bogus": VALUES,
        "x": VALUES})


# -- running confrt -----------------------------------------------------------------


class Site:
    """A run_site in a fresh temp dir (hypothesis examples cannot use function fixtures)."""

    def __init__(self, **options):
        self.root = tempfile.mkdtemp(prefix="confrt-fuzz-")
        self.env, self.paths = make_run_site(self.root, **options)
        os.makedirs(os.path.join(self.root, "tree"))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        shutil.rmtree(self.root, ignore_errors=True)

    def write(self, name, content):
        path = name if os.path.isabs(name) else os.path.join(self.paths["data"], name)
        with open(path, "wb") as handle:
            handle.write(content if isinstance(content, bytes) else content.encode("utf-8", "surrogatepass"))

    def main(self, *argv):
        """(exit code, stderr) of confrt.cli.main in this process; --debug: a bug raises here."""
        from confrt.cli import main

        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main([*argv, "--config", self.paths["confrt.yaml"], "--debug"])
        return code, err.getvalue()

    def tree(self):
        """{path: (bytes or link target, mode)} of everything under root/tree."""
        found = {}
        for directory, names, files in os.walk(os.path.join(self.root, "tree")):
            for name in names + files:
                path = os.path.join(directory, name)
                info = os.lstat(path)
                if os.path.islink(path):
                    found[path] = (os.readlink(path), info.st_mode)
                elif os.path.isfile(path):
                    found[path] = (read(path), info.st_mode)
                else:
                    found[path] = (None, info.st_mode)
        return found


def check_outcome(code, err, allowed=(0, 2, 4, 6)):
    """A result, or exactly one one-line `confrt: error:` with exit 1. Returns True when fatal."""
    assert "internal error" not in err and "Traceback" not in err, err
    errors = [line for line in err.splitlines() if line.startswith("confrt: error: ")]
    if code == 1:
        assert len(errors) == 1, err
        return True
    assert code in allowed and not errors, (code, err)
    return False


# -- data files -----------------------------------------------------------------------


def test_data_files_apply_wholly_or_not_at_all():
    """Random data for the resources module, applied for real under the temp dir: a fatal error
    (compile) changes nothing; otherwise the run ends with a result."""
    fatal = []

    @FUZZ
    @given(st.data())
    def check(draw):
        with Site() as site:
            data = draw.draw(site_data(site.root))
            site.write("common.yaml", yaml.safe_dump(data, allow_unicode=True))
            before = site.tree()
            code, err = site.main("apply", "--detailed-exitcodes")
            if check_outcome(code, err):
                fatal.append(err)
                assert site.tree() == before, err
            assert temp_leftovers(site.root) == []

    check()
    assert fatal, "no example was a fatal error: the property was never exercised"


SEED_DATA = """\
lookup_options:
  resources::file: {merge: hash, sensitive: false}
  classes: {merge: {strategy: unique, knockout_prefix: "--"}}
classes: [resources, "--nosuch"]
family: "%{facts.os.family}"
resources::directory:
  ROOT/tree/d: {mode: "0755"}
resources::file:
  ROOT/tree/d/a:
    content: "family %{lookup('family')} %{literal('%')}\\n"
    mode: "0640"
    require: "directory[ROOT/tree/d]"
  ROOT/tree/b: {content: "%{alias('classes')}", notify: "file[ROOT/tree/d/a]", tags: [x]}
resources::link:
  ROOT/tree/l: {target: ROOT/tree/b}
"""


@FUZZ
@given(EDITS)
def test_mutated_data_file_text(edits):
    """Byte-level mutations of a data file that uses interpolation, aliases, lookup_options."""
    with Site() as site:
        seed = SEED_DATA.replace("ROOT", site.root).encode()
        site.write("common.yaml", mutate(seed, edits))
        check_outcome(*site.main("apply", "--noop", "--detailed-exitcodes"))
        for key in ("classes", "resources::file", "family"):
            check_outcome(*site.main("lookup", key), allowed=(0,))


# -- hiera.yaml -----------------------------------------------------------------------

PATHS = st.sampled_from(["common.yaml", "%{facts.os.family}.yaml", "roles/%{role}.yaml", "*.yaml", "nosuch.yaml",
                         "%{confrt.local_data}", "/dev/null", "", "../data/common.yaml", "%{", "[", "{a,b}.yaml",
                         "%{facts.processors.count}.yaml", "%{lookup('x')}.yaml", "common.yaml\n", "/"])
LOCATION_KEYS = ["path", "paths", "glob", "globs", "mapped_paths"]
OTHER_LEVEL_KEYS = ["datadir", "data_hash", "options", "lookup_key", "data_dig", "uri", "bogus"]
LEVEL_VALUES = (PATHS | st.lists(PATHS, max_size=3) | st.sampled_from(["yaml_data", "json_data", "hocon_data", "data"])
                | VALUES)


@st.composite
def hierarchy_level(draw):
    """A name, one location key with a plausible value, now and then another key or junk."""
    if draw(st.integers(0, 9)) == 0:
        return draw(VALUES)
    level = {"name": draw(VALUES)} if draw(st.integers(0, 9)) == 0 else {}
    location = draw(st.sampled_from(LOCATION_KEYS))
    level[location] = draw(PATHS if location in ("path", "glob") else mostly(st.lists(PATHS, max_size=3)))
    if draw(st.integers(0, 3)) == 0:
        level[draw(st.sampled_from(OTHER_LEVEL_KEYS + LOCATION_KEYS))] = draw(LEVEL_VALUES)
    return level


def named_levels(levels):
    """Levels without a name get a distinct one."""
    for index, level in enumerate(levels):
        if isinstance(level, dict):
            level.setdefault("name", f"level {index}")
    return levels


HIERA = st.fixed_dictionaries({
    "version": mostly(st.just(5), st.sampled_from([4, "5", None, [5]])),
    "hierarchy": mostly(st.lists(hierarchy_level(), max_size=4).map(named_levels)),
}, optional={
    "defaults": mostly(st.fixed_dictionaries({}, optional={
        "datadir": mostly(st.sampled_from(["data", "."]), LEVEL_VALUES),
        "data_hash": mostly(st.sampled_from(["yaml_data", "json_data"]), LEVEL_VALUES)})),
})
SEED_HIERA = """\
version: 5
defaults:
  datadir: data
  data_hash: yaml_data
hierarchy:
  - name: local
    path: "%{confrt.local_data}"
  - name: role
    paths: ["roles/%{role}.yaml", "os/%{facts.os.family}.yaml"]
  - name: globbed
    glob: "conf.d/*.yaml"
  - name: common
    path: common.yaml
"""


@FUZZ
@given(HIERA)
def test_hiera_yaml(hiera):
    with Site(common={"classes": ["resources"], "x": "%{facts.os.family}"}) as site:
        site.write(site.paths["hiera.yaml"], yaml.safe_dump(hiera, allow_unicode=True))
        check_outcome(*site.main("apply", "--noop", "--detailed-exitcodes"))
        check_outcome(*site.main("lookup", "x"), allowed=(0,))


@FUZZ
@given(EDITS)
def test_mutated_hiera_yaml_text(edits):
    with Site(common={"classes": ["resources"], "x": 1}) as site:
        site.write(site.paths["hiera.yaml"], mutate(SEED_HIERA.encode(), edits))
        check_outcome(*site.main("apply", "--noop", "--detailed-exitcodes"))
        check_outcome(*site.main("lookup", "x"), allowed=(0,))


# -- module parameters --------------------------------------------------------------


@functools.cache
def module_parameters():
    """{module: [Param]} of every module but `resources` (fuzzed above); loaded once, not per example."""
    from confrt.config import load_config
    from confrt.engine.plugins import modules

    found = modules(load_config(os.devnull))
    return {name: list(module.params) for name, module in sorted(found.items()) if name != "resources"}


TEXT = st.sampled_from(TRICKY_TEXT + ["/tmp/x", "/etc/x", "x y", "a,b", "a:b:c", "host.example.org:3128",
                                      "http://squid:3128", "DIRECT", "12", "1.5", "10.0.0.0/8", "a|b;c"]) \
    | st.text(max_size=10)
TYPED = {str: TEXT, int: st.integers(-5, 100000) | st.sampled_from([0, -1, 65536, 1 << 40]), bool: st.booleans(),
         float: st.floats(), list: st.lists(TEXT | st.integers(-1, 5), max_size=3),
         dict: st.dictionaries(TEXT, TEXT | st.integers(-1, 5) | st.booleans() | st.lists(TEXT, max_size=2)
                               | st.dictionaries(TEXT, TEXT, max_size=2), max_size=3)}


def parameter_value(param):
    """Mostly a value of the parameter's type (right type, odd content), now and then anything."""
    types = param.type if isinstance(param.type, tuple) else (param.type,)
    typed = [TYPED[kind] for kind in types if kind in TYPED]
    return mostly(st.one_of(typed)) if typed else VALUES


@FUZZ
@given(st.data())
def test_module_parameters(draw):
    """Each packaged module with random values for random parameters, compiled and previewed."""
    catalog = module_parameters()
    module = draw.draw(st.sampled_from(sorted(catalog)))
    chosen = draw.draw(st.lists(st.sampled_from(catalog[module]), unique_by=lambda param: param.name, max_size=4))
    data = {"classes": [module], **{f"{module}::{param.name}": draw.draw(parameter_value(param)) for param in chosen}}
    if draw.draw(st.integers(0, 9)) == 0:
        data[f"{module}::bogus"] = draw.draw(VALUES)
    with Site(common=data) as site:
        check_outcome(*site.main("apply", "--noop", "--detailed-exitcodes"))


# -- userdata -------------------------------------------------------------------------

USERDATA_SAMPLES = ["amiconfig-all-sections.txt", "amiconfig-context-iso.txt", "glidein-debug.ini",
                    "glidein-ini-args-proxy.txt", "glidein-tarball-args.txt", "plain-yaml.yaml",
                    "cloud-config-confrt-key.yaml"]


def userdata_sample(name):
    fixtures = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fixtures", "userdata")
    with open(os.path.join(fixtures, name), "rb") as handle:
        return handle.read()


def has_script(raw, site):
    """True when the userdata decodes to a first-boot script (it would run as root: not here)."""
    from confrt.errors import UserdataError
    from confrt.userdata.formats import decode_userdata

    try:
        return bool(decode_userdata(raw, site.paths["local.yaml"], site.paths["state"], 1 << 20).scripts)
    except UserdataError:
        return False


USERDATA = (st.builds(lambda data: yaml.safe_dump(data, allow_unicode=True).encode(), st.dictionaries(
    st.sampled_from(["classes", "role", "resources::file", "lookup_options", "confrt", "x"]), VALUES, max_size=3))
    | st.tuples(st.sampled_from(USERDATA_SAMPLES), EDITS).map(lambda pair: mutate(userdata_sample(pair[0]), pair[1]))
    | st.sampled_from(USERDATA_SAMPLES).map(userdata_sample))


@settings(max_examples=max(EXAMPLES // 3, 10), deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(USERDATA)
def test_userdata_in_a_boot_run(raw):
    """`confrt run --boot` (a real process) with random userdata from a file source, only the
    `resources` module on the modulepath: the previous local_data stays unless the new one took."""
    with Site() as site:
        assume(not has_script(raw, site))
        config = yaml.safe_load(read(site.paths["confrt.yaml"]))
        modules = os.path.join(site.root, "modules")
        os.makedirs(modules)
        from confrt.paths import packaged_modules as packaged

        os.symlink(os.path.join(packaged(), "resources"), os.path.join(modules, "resources"))
        config.update(modulepath=[modules])
        config["userdata"]["sources"] = [f"file:{site.root}/user-data"]
        site.write(site.paths["confrt.yaml"], yaml.safe_dump(config))
        previous = b"classes: [resources]\nprevious: true\n"
        site.write(site.paths["local.yaml"], previous)
        site.write(os.path.join(site.root, "user-data"), raw)
        result = subprocess.run(confrt_process("run", "--boot", "--debug"), env=process_env(site.env),
                                capture_output=True, text=True, timeout=120)
        check_outcome(result.returncode, result.stderr)
        step = summary(site.paths)["steps"]["userdata"]
        assert "internal error" not in step.get("error", ""), step
        if step["status"] == "failed":
            with open(site.paths["local.yaml"], "rb") as handle:
                assert handle.read() == previous, step
        else:
            assert isinstance(yaml.safe_load(read(site.paths["local.yaml"])), dict)
        assert temp_leftovers(site.root) == []


# -- hostile input (issue 14 §2): bombs, depth, size -------------------------------------------------

#: how long one confrt command may take on any of these inputs
SECONDS = 10


def timed(site, *argv, allowed=(0, 2, 4, 6)):
    start = time.monotonic()
    code, err = site.main(*argv)
    took = time.monotonic() - start
    assert took < SECONDS, (argv, took, err[-500:])
    check_outcome(code, err, allowed)
    return code, err


@st.composite
def alias_bomb(draw):
    """(lines, last anchor): levels of `fan` aliases each to the level below; small ones are legal."""
    levels, fan = draw(st.integers(1, 12)), draw(st.integers(2, 12))
    lines = [f"b0: &b0 [{', '.join(['x'] * fan)}]"]
    lines += [f"b{n}: &b{n} [{', '.join([f'*b{n - 1}'] * fan)}]" for n in range(1, levels)]
    return lines, f"b{levels - 1}"


@st.composite
def nested(draw):
    """A value nested around MAX_DEPTH (or far past it), in flow style, as one line."""
    depth = draw(st.sampled_from([1, 10, 48, 49, 50, 51, 60, 900, 3000, 200000]) | st.integers(1, 120))
    opener = draw(st.sampled_from(["[", "{k: "]))
    return opener * depth + "leaf" + ("]" if opener == "[" else "}") * depth


RECURSIVE = st.sampled_from(["&r [*r]", "&r {k: [1, *r]}", "&r [&s [*r, *s]]", "&r {k: &s {j: *r}}"])


@st.composite
def hostile_value(draw):
    """(lines defining anchors, a value's YAML text) of one hostile class."""
    kind = draw(st.sampled_from(["bomb", "nested", "recursive", "long", "plain"]))
    if kind == "bomb":
        lines, anchor = draw(alias_bomb())
        return lines, "*" + anchor
    if kind == "nested":
        return [], draw(nested())
    if kind == "recursive":
        return [], draw(RECURSIVE)
    if kind == "long":
        return [], '"' + "y" * draw(st.sampled_from([1, 1000, 1 << 20, 5 << 20])) + '"'
    return [], "plain"


def indented(lines, prefix="  "):
    return "".join(prefix + line + "\n" for line in lines)


@st.composite
def hostile_data_file(draw, root):
    """A data file with a hostile value at the top, under lookup_options, as a content, or a key twice."""
    anchors, value = draw(hostile_value())
    place = draw(st.sampled_from(["top", "lookup_options", "content", "twice"]))
    head = "classes: [resources]\n"
    if place == "top":
        return head + "".join(line + "\n" for line in anchors) + f"x: {value}\n"
    if place == "lookup_options":
        return head + "lookup_options:\n" + indented(anchors) + f"  x: {{merge: {value}}}\n"
    if place == "content":
        return (head + "".join(line + "\n" for line in anchors)
                + f"resources::file:\n  {root}/tree/f:\n    content: {value}\n")
    key = draw(st.sampled_from(["classes", "x", "resources::file"]))
    return head + f"x: {value}\n" + "".join(line + "\n" for line in anchors) + f"{key}: 1\n"


@FUZZ
@given(st.data())
def test_hostile_data_files(draw):
    with Site() as site:
        site.write("common.yaml", draw.draw(hostile_data_file(site.root)))
        before = site.tree()
        for key in ("x", "classes"):
            timed(site, "lookup", key, allowed=(0,))
        if timed(site, "apply", "--detailed-exitcodes")[0] == 1:
            assert site.tree() == before


def test_a_document_over_the_size_limit():
    from confrt.util.yamlfile import MAX_TEXT

    with Site() as site:
        site.write("common.yaml", "classes: [resources]\nx: " + "y" * MAX_TEXT + "\n")
        code, err = timed(site, "lookup", "classes", allowed=())
        assert code == 1 and "over confrt's limit of 16,777,216" in err


@st.composite
def interpolation_chain(draw):
    """k0 -> ... -> kN through lookup/hiera/alias, each step's interpolation wrapped in lists, and
    now and then each step repeated (a bomb of %{alias()} or a text doubled by %{lookup()})."""
    length = draw(st.sampled_from([1, 31, 32, 33, 100, 3000]) | st.integers(1, 60))
    function = draw(st.sampled_from(["lookup", "hiera", "alias"]))
    wrap = draw(st.sampled_from([0, 0, 1, 10, 49]))
    fan = draw(st.sampled_from([1, 1, 2, 9]))
    lines = ["classes: [resources]", f"k{length}: {draw(st.sampled_from(['end', '[a, b, c]', '{a: 1}']))}"]
    for step in range(length):
        call = f"\"%{{{function}('k{step + 1}')}}\""
        if function != "alias" and fan > 1:
            call = '"' + f"%{{{function}('k{step + 1}')}}" * fan + '"'
        elif fan > 1:
            call = "[" + ", ".join([call] * fan) + "]"
        lines.append(f"k{step}: " + "[" * wrap + call + "]" * wrap)
    return "\n".join(lines) + "\n"


@FUZZ
@given(interpolation_chain())
def test_hostile_interpolation(text):
    with Site() as site:
        site.write("common.yaml", text)
        timed(site, "lookup", "k0", allowed=(0,))
        timed(site, "lookup", "k0", "--explain", allowed=(0,))


def nested_mime(levels, leaf):
    """A YAML part inside `levels` multiparts (written out by hand: email's writer recurses)."""
    part = b"Content-Type: text/x-yaml\n\n" + leaf.encode()
    for level in range(levels):
        boundary = f"b{level}".encode()
        part = (b'Content-Type: multipart/mixed; boundary="' + boundary + b'"\nMIME-Version: 1.0\n\n--' + boundary
                + b"\n" + part + b"\n--" + boundary + b"--\n")
    return part


@st.composite
def hostile_userdata(draw):
    """Cloud-config, plain YAML or MIME userdata carrying a hostile value, or MIME nested deep."""
    shape = draw(st.sampled_from(["cloud-config", "yaml", "mime", "mime-nested", "write_files"]))
    if shape == "mime-nested":
        return nested_mime(draw(st.sampled_from([1, 7, 8, 9, 100, 3000])), "x: 1\n")
    anchors, value = draw(hostile_value())
    text = "".join(line + "\n" for line in anchors) + f"x: {value}\n"
    if shape == "cloud-config":
        return ("#cloud-config\nconfrt:\n" + indented(text.splitlines())).encode()
    if shape == "write_files":
        return ("#cloud-config\nwrite_files:\n- path: LOCAL\n  content: |\n"
                + indented(text.splitlines(), "    ")).encode()
    if shape == "mime":
        return nested_mime(draw(st.integers(1, 3)), text)
    return text.encode()


@settings(max_examples=max(EXAMPLES // 2, 10), deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(hostile_userdata())
def test_hostile_userdata(raw):
    """userdata show and fetch in this process: a result or one error line, in time; a failed fetch
    keeps local_data."""
    with Site() as site:
        config = yaml.safe_load(read(site.paths["confrt.yaml"]))
        config["userdata"]["sources"] = [f"file:{site.root}/user-data"]
        site.write(site.paths["confrt.yaml"], yaml.safe_dump(config))
        previous = b"classes: [resources]\nprevious: true\n"
        site.write(site.paths["local.yaml"], previous)
        site.write(os.path.join(site.root, "user-data"), raw.replace(b"LOCAL", site.paths["local.yaml"].encode()))
        timed(site, "userdata", "show", allowed=(0,))
        if timed(site, "userdata", "fetch", allowed=(0,))[0] == 1:
            with open(site.paths["local.yaml"], "rb") as handle:
                assert handle.read() == previous

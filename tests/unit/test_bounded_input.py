"""Issue 14 §2 end to end: each hostile input is one `confrt: error: FILE: ...` line and exit 1 within
a couple of seconds, and changes nothing (the tree, local_data, the state). Before, these ran for
minutes into `internal error: MemoryError`, died of RecursionError, AttributeError, ValueError or
OverflowError, or crashed the interpreter (SIGSEGV)."""
import os
import time
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText

import pytest
import yaml
from run_site import make_run_site

#: 9 levels of 9 aliases (some 300 bytes; 387,420,489 strings once expanded)
ALIAS_BOMB = 'a: &a ["x","x","x","x","x","x","x","x","x"]\n' + "".join(
    f"{name}: &{name} [{', '.join(['*' + previous] * 9)}]\n" for previous, name in zip("abcdefgh", "bcdefghi"))
PREVIOUS_LOCAL = "classes: [resources]\nprevious: true\n"


def nested_mapping(levels):
    return "{k: " * levels + "leaf" + "}" * levels


def nested_mime(levels):
    inner = b"Content-Type: text/x-yaml\n\nx: 1\n"
    for level in range(levels):
        boundary = f"b{level}".encode()
        inner = (b'Content-Type: multipart/mixed; boundary="' + boundary + b'"\nMIME-Version: 1.0\n\n--' + boundary
                 + b"\n" + inner + b"\n--" + boundary + b"--\n")
    return inner


class Site:
    def __init__(self, root):
        self.root = str(root)
        self.env, self.paths = make_run_site(root, common={"classes": ["resources"]},
                                             sources=[f"file:{root}/user-data"])
        os.makedirs(os.path.join(self.root, "tree"))
        self.write(self.paths["local.yaml"], PREVIOUS_LOCAL)

    def write(self, path, text):
        path = path if os.path.isabs(path) else os.path.join(self.paths["data"], path)
        with open(path, "wb") as handle:
            handle.write(text if isinstance(text, bytes) else text.encode())

    def snapshot(self):
        """Every file under the site: path -> bytes; but the run's report, summary and lock, which
        record the failure."""
        found = {}
        for folder, _, names in os.walk(self.root):
            for name in names:
                if folder == self.paths["state"] and name in ("last_run_report.json", "last_run_summary.yaml", "lock",
                                                               "last_noop_report.json", "last_noop_summary.yaml"):
                    continue
                path = os.path.join(folder, name)
                with open(path, "rb") as handle:
                    found[path] = handle.read()
        return found


@pytest.fixture
def site(tmp_path):
    return Site(tmp_path / "site")


def assert_refused(run_confrt, site, args, *expected):
    """One error line holding each of `expected`, exit 1, in under 5 s, nothing changed."""
    before = site.snapshot()
    start = time.monotonic()
    result = run_confrt(*args, env=site.env, timeout=60)
    took = time.monotonic() - start
    lines = result.stderr.splitlines()
    assert result.returncode == 1 and len(lines) == 1 and lines[0].startswith("confrt: error: "), result.stderr
    assert "internal error" not in result.stderr
    for text in expected:
        assert text in lines[0], lines[0]
    assert took < 5, took
    assert site.snapshot() == before
    return lines[0]


@pytest.mark.parametrize("command", [["lookup", "i"], ["lookup", "classes"], ["apply"], ["apply", "--noop"]])
def test_an_alias_bomb_in_a_data_file(run_confrt, site, command):
    site.write("common.yaml", "classes: [resources]\n" + ALIAS_BOMB)
    assert_refused(run_confrt, site, command, f"{site.paths['data']}/common.yaml:8:8: YAML over confrt's limits: "
                                              f"more than 1,000,000 values once aliases are expanded")


def test_an_alias_bomb_in_lookup_options(run_confrt, site):
    site.write("common.yaml", "classes: [resources]\nlookup_options:\n" + "".join(
        "  " + line + "\n" for line in ALIAS_BOMB.splitlines()))
    assert_refused(run_confrt, site, ["lookup", "classes"], "common.yaml:", "once aliases are expanded")


def test_an_alias_bomb_as_a_files_content(run_confrt, site):
    site.write("common.yaml", f"classes: [resources]\n{ALIAS_BOMB}resources::file:\n"
                              f"  {site.root}/tree/f: {{content: *i}}\n")
    assert_refused(run_confrt, site, ["apply"], "common.yaml:", "once aliases are expanded")


@pytest.mark.parametrize("shape", ["cloud-config", "yaml", "mime"])
@pytest.mark.parametrize("command", [["userdata", "show"], ["userdata", "fetch"], ["run", "--boot"]])
def test_an_alias_bomb_in_userdata(run_confrt, site, shape, command):
    text = ALIAS_BOMB
    if shape == "cloud-config":
        text = "#cloud-config\nconfrt:\n" + "".join("  " + line + "\n" for line in ALIAS_BOMB.splitlines())
    elif shape == "mime":
        message = MIMEMultipart()
        message.attach(MIMEText(ALIAS_BOMB, "x-yaml"))
        text = message.as_bytes()
    site.write(f"{site.root}/user-data", text)
    if command[0] == "run":  # the run goes on without new userdata (the step fails): local_data kept
        before = site.snapshot()[site.paths["local.yaml"]]
        result = run_confrt(*command, "--no-splay", env=site.env, timeout=60)
        assert "internal error" not in result.stderr and "once aliases are expanded" in result.stderr
        with open(site.paths["local.yaml"], "rb") as handle:
            assert handle.read() == before
        return
    assert_refused(run_confrt, site, command, "userdata", "once aliases are expanded")


def test_a_3000_step_lookup_chain(run_confrt, site):
    site.write("common.yaml", "classes: [resources]\n" + "".join(
        f"k{n}: \"%{{lookup('k{n + 1}')}}\"\n" for n in range(3000)) + "k3000: end\n")
    assert_refused(run_confrt, site, ["lookup", "k0"], "common.yaml: key 'k32': interpolation nested more than "
                                                       "32 lookups deep: k0 -> k1 -> k2 -> ...")


@pytest.mark.parametrize("command", [["lookup", "deep"], ["apply"]])
def test_a_mapping_nested_900_deep_looked_up_or_as_content(run_confrt, site, command):
    site.write("common.yaml", f"classes: [resources]\ndeep: {nested_mapping(900)}\nresources::file:\n"
                              f"  {site.root}/tree/f: {{content: {nested_mapping(900)}}}\n")
    assert_refused(run_confrt, site, command, "common.yaml:2:", "nested more than 50 levels deep")


def test_a_document_nested_200000_deep_is_an_error_not_a_crash(run_confrt, site):
    site.write("common.yaml", "classes: [resources]\ndeep: " + "[" * 200000 + "]" * 200000 + "\n")
    assert_refused(run_confrt, site, ["lookup", "deep"], "common.yaml:2:", "nested more than 50 levels deep")


@pytest.mark.parametrize("command", [["userdata", "show"], ["userdata", "fetch"]])
def test_mime_nested_2000_deep(run_confrt, site, command):
    site.write(f"{site.root}/user-data", nested_mime(2000))
    assert_refused(run_confrt, site, command, "userdata: MIME multipart nested more than 8 levels deep")


def test_mime_nested_within_the_limit_is_read(run_confrt, site):
    site.write(f"{site.root}/user-data", nested_mime(7))
    result = run_confrt("userdata", "show", env=site.env)
    assert result.returncode == 0 and yaml.safe_load(result.stdout)["x"] == 1, result.stderr


@pytest.mark.parametrize("text", ["a: &a [*a]\n", "a: &a {b: *a}\n"])
def test_a_structure_that_holds_itself_looked_up(run_confrt, site, text):
    site.write("common.yaml", "classes: [resources]\n" + text)
    assert_refused(run_confrt, site, ["lookup", "a"], "common.yaml:2:", "a structure that holds itself")


def test_userdata_setting_that_is_not_a_mapping(run_confrt, site):
    config = yaml.safe_load(open(site.paths["confrt.yaml"]))
    config["userdata"] = "x"
    site.write(site.paths["confrt.yaml"], yaml.safe_dump(config))
    assert_refused(run_confrt, site, ["lookup", "classes"], "confrt.yaml: userdata: expected a mapping, got 'x'")


@pytest.mark.parametrize("field", ['path: "ROOT/tree/a\\0b"', 'path: ROOT/tree/a\n  owner: "ro\\0ot"'])
def test_a_nul_byte_in_write_files(run_confrt, site, field):
    site.write(f"{site.root}/user-data", "#cloud-config\nwrite_files:\n- content: x\n  " + field.replace(
        "ROOT", site.root) + "\n")
    assert_refused(run_confrt, site, ["userdata", "fetch"], "userdata: write_files[0]: ")


@pytest.mark.parametrize("attrs", [{"owner": 99999999999}, {"group": "99999999999"}, {"owner": -1}])
def test_an_owner_or_group_out_of_range(run_confrt, site, attrs):
    site.write("common.yaml", yaml.safe_dump({"classes": ["resources"], "resources::file": {
        f"{site.root}/tree/f": dict(attrs, content="x")}}))
    name = next(iter(attrs))
    assert_refused(run_confrt, site, ["apply"], f"common.yaml: resources::file: file[{site.root}/tree/f]: {name}: "
                                                f"expected a name or a number from 0 to 4294967294")

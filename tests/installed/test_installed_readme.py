"""The docs' commands, read from README.md and docs/*.md and run with the venv's console script, so
the docs cannot drift from the product. The first session and the set-up line change the machine
(/etc/motd, sysctls): they run in a scratch system (tests/system/scratch.py), and so does every
inline command example (`confrt ...` in a code span), each in a fresh one; a synopsis (`confrt
lookup KEY`) or a bare command name is checked against `--help` only."""
import json
import os
import re
import shutil
import subprocess
import sys

import pytest
import yaml
from installed_support import (REPO, SYNOPSIS, TREE, assert_clean, built_tree, doc_pages, fenced_blocks, heredoc_files,
                               inline_commands, readme, setup_command, shell_steps, summary, write_yaml)
from scratch import CONFRT_STATE, diff_changes, start_or_skip

#: sysctls of the host's first network namespace (read-only or absent in the scratch's own one):
#: the site level drops them, so the README's tcpbuffers cannot touch the host's kernel.
HOST_ONLY_SYSCTLS = "tcpbuffers::sysctls:\n" + "".join(
    f"  {key}: null\n" for key in ("net.core.rmem_max", "net.core.wmem_max", "net.core.netdev_max_backlog"))


@pytest.fixture
def scratch(tmp_path_factory):
    """A scratch system with its own network namespace (its net.* sysctls are its own)."""
    system = start_or_skip(str(tmp_path_factory.getbasetemp()), private_network=True)
    system.write_file("/etc/confrt/data/common.yaml", HOST_ONLY_SYSCTLS)
    yield system
    system.teardown()


def in_scratch(system, installed, script):
    """A shell step inside, as root at a shell: the venv's bin first on PATH, nothing else of ours."""
    result = subprocess.run(system.enter_argv() + ["sh", "-c", script], env=installed.env(), cwd="/",
                            capture_output=True, text=True, timeout=300)
    assert_clean(result)
    return result


def test_first_session(installed, scratch):
    language, block = fenced_blocks(readme(), "A first session")[0]
    steps = shell_steps(block)
    files = {path: yaml.safe_load(text) for path, text in heredoc_files(steps).items()}
    runs = [step for step in steps if step.startswith("confrt ")]
    assert language == "sh" and files and len(runs) >= 3, block
    applied = []
    for step in steps:
        before = scratch.changes()
        result = in_scratch(scratch, installed, step)
        assert result.returncode == 0, f"{step}\n{result.stdout}{result.stderr}"
        touched = diff_changes(before, scratch.changes(), ignore=CONFRT_STATE)
        argv = step.split("#")[0].split()
        if argv[:2] == ["confrt", "apply"] and "--noop" in argv:
            assert summary(result.stdout)[1] > 0 and result.stdout.rstrip().endswith("(noop)"), result.stdout
            assert touched == [], f"{step} changed {touched}"
        elif argv[:2] == ["confrt", "apply"]:
            applied.append((step, summary(result.stdout)[1], touched))
        elif argv[:2] == ["confrt", "lookup"]:
            assert re.search(r"^  Result: ", result.stdout, re.M), result.stdout
    # converges, then 0 changes and nothing written
    assert [(changed > 0, bool(touched)) for _, changed, touched in applied] == [(True, True), (False, False)], applied
    for data in files.values():
        for path, attrs in data.get("resources::file", {}).items():
            assert scratch.read_text(path) == attrs["content"]
            assert oct(scratch.stat(path)[0]) == oct(int(attrs["mode"], 8))


def test_setup_line_preview(installed, scratch, wheel):
    command = setup_command()
    tree = built_tree(wheel)
    missing = [arg for arg in command.split() if "/" in arg and not arg.startswith("-")
               and not os.path.exists(os.path.join(tree, arg))]
    assert missing == [], f"README's set-up line `{command}` names {missing}, not in the tree ({TREE})"
    before = scratch.changes()
    result = in_scratch(scratch, installed, f"cd '{tree}' && {command}")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.rstrip().endswith("(noop)"), result.stdout
    assert summary(result.stdout)[2] == 0, result.stdout
    assert diff_changes(before, scratch.changes(), ignore=CONFRT_STATE) == []


def fleet_loop():
    """docs/packaging.md's fleet loop: (node-type file name, its YAML, the commands block, its confrt steps)."""
    blocks = fenced_blocks(readme(), "### The fleet loop")
    (node_yaml,) = [body for language, body in blocks if language == "yaml"]
    (commands,) = [body for language, body in blocks if language == "sh" and "confrt submit" in body]
    steps = [step.split("#")[0].strip() for step in shell_steps(commands) if step.startswith("confrt ")]
    return re.match(r"# (\S+\.yaml)\n", node_yaml).group(1), node_yaml, commands, steps


def write_fleet_inputs(work, home, node_file, node_yaml, secret):
    """The node-type file in `work` and what it names (its data, extra files, the EC2 key files under
    `home`, 0600): what the page does not show is made minimal. Returns the node type (a dict)."""
    node = yaml.safe_load(node_yaml)
    write_yaml(os.path.join(work, node_file), node_yaml)
    write_yaml(os.path.join(work, node["data"]), {"classes": ["resources"], "site::greeting": "hello fleet"})
    for source in node.get("files", {}).values():
        write_yaml(os.path.join(work, source), "managed by confrt\n")
    for key in ("access_key_file", "secret_key_file"):
        path = node[key].replace("~", str(home), 1)
        write_yaml(path, secret if key == "secret_key_file" else "ACCESS-0123\n")
        os.chmod(path, 0o600)
    return node


def test_fleet_loop(installed, tmp_path):
    node_file, node_yaml, commands, steps = fleet_loop()
    assert len(steps) >= 2, commands
    work, home = tmp_path / "work", tmp_path / "home"
    secret = "SECRET-do-not-print-0123456789"
    node = write_fleet_inputs(str(work), str(home), node_file, node_yaml, secret)
    config = write_yaml(str(tmp_path / "confrt.yaml"), {"statedir": str(tmp_path / "state")})
    outputs = []
    for step in steps:
        result = installed.run(*step.split()[1:], "--config", config, cwd=str(work), HOME=str(home))
        assert result.returncode == 0, f"{step}\n{result.stdout}{result.stderr}"
        outputs.append(result.stdout + result.stderr)
    name = node_file[:-len(".yaml")]
    written = {}
    for directory, _, names in os.walk(work):
        for file_name in names:
            with open(os.path.join(directory, file_name), errors="replace") as handle:
                written[os.path.relpath(os.path.join(directory, file_name), work)] = handle.read()
    count = re.search(r"confrt submit \S+ --count (\d+)", commands).group(1)
    (sub,) = [text for path, text in written.items() if path.endswith(f"{name}.sub")]
    assert re.search(rf"^queue {count}$", sub, re.M) and node["ec2_url"] in sub, sub
    assert all(secret not in text for text in [*outputs, *written.values()])
    for step in steps:  # what each step writes (-o FILE or DIR) is there
        target = re.search(r" -o (\S+)", step)
        assert target is None or os.path.exists(work / target.group(1)), (step, sorted(written))
    built = [path for path in written if path.endswith(".userdata")]
    assert built, sorted(written)
    for path in built:
        assert written[path].startswith("#cloud-config\n")
        show = installed.run("userdata", "show", "--source", f"file:{work / path}", "--config", config)
        assert show.returncode == 0 and "site::greeting: hello fleet" in show.stdout, show.stdout + show.stderr


# -- the inline examples: every `confrt ...` code span of README.md and docs/*.md --------------------

#: Userdata of the scratch system the inline examples run in (the README names /root/ud, not what it
#: holds), and the site data of a machine with a change pending: one managed file.
MINIMAL_SITE = 'classes: [resources]\nresources::file:\n  /etc/motd: {content: "managed by confrt\\n", mode: "0644"}\n'
#: Its confrt.yaml: userdata from /root/ud; no splay, which makes an hourly `confrt run` wait up to
#: run.splaylimit (57 minutes by default) before it starts.
DOCS_CONFIG = "userdata: {sources: ['file:/root/ud']}\nrun: {splaylimit: 0}\n"
#: What an example's `--stdin` reads.
STDIN = "not-a-real-pool-password\n"
SPANS = [(page, heading, command) for page, text in doc_pages() for heading, command in inline_commands(text)]
HELP = {}


def help_sections(installed, path):
    """(subcommands, {option: its metavar or ""}) that `confrt PATH --help` lists (argparse:
    "options:", before 3.10 "optional arguments:")."""
    key = (installed.name, tuple(path))
    if key not in HELP:
        result = installed.run(*path, "--help")
        assert result.returncode == 0, result.stdout + result.stderr
        subcommands, options, section = [], {}, None
        for line in result.stdout.splitlines():
            if line.endswith(":") and not line.startswith(" "):
                section = line
            elif section == "positional arguments:" and re.match(r"    [a-z]", line):
                subcommands.append(line.split()[0])
            elif section in ("options:", "optional arguments:") and line.startswith("  -"):
                options.update(re.findall(r"(?:^|, )(-[\w-]+) ?([^,]*)", line.strip().split("  ")[0]))
        HELP[key] = subcommands, options
    return HELP[key]


def named_command(installed, command):
    """Assert that the subcommands and every option `command` names exist, as --help lists them at
    each level (`a|b` names each); returns the command's path (["modules", "show"]), its other words
    and the options of its --help."""
    path, rest = [], []
    for word in command.split()[1:]:
        subcommands, options = help_sections(installed, path)
        names = word.split("|")
        if subcommands and all(name in subcommands for name in names):
            for name in names[1:]:
                help_sections(installed, path + [name])
            path.append(names[0])
            continue
        for part in re.split(r"[\[\]()|]", word):
            assert not part.startswith("-") or part.split("=")[0] in options, \
                f"`{command}`: `confrt {' '.join(path)}` has no option {part.split('=')[0]} (--help)"
        rest.append(word)
    subcommands, options = help_sections(installed, path)
    assert not subcommands, f"`{command}`: no subcommand of `confrt {' '.join(path)}`"
    return path, rest, options


@pytest.fixture(scope="session")
def docs_work(installed, lane_dir, wheel):
    """The folder the inline examples run in (from inside a scratch system, which leaves it as it is
    here): the tree's examples/, the fleet loop's inputs (docs/packaging.md) and its image keys, the
    keys at eyaml's default paths (./keys/: `confrt eyaml encrypt` reads them), the bench's site
    (bench/cli_latency.py: the README's Benchmarks commands were timed on it), a HOME for ~/.ec2/."""
    work = os.path.join(lane_dir, f"docs-{installed.name}")
    shutil.copytree(os.path.join(built_tree(wheel), "examples"), os.path.join(work, "examples"))
    node_file, node_yaml, _, steps = fleet_loop()
    write_fleet_inputs(work, os.path.join(work, "home"), node_file, node_yaml, "SECRET-0123456789")
    for step in [step for step in steps if step.startswith("confrt eyaml createkeys")] + ["confrt eyaml createkeys"]:
        result = installed.run(*step.split()[1:], cwd=work)
        assert result.returncode == 0, f"{step}\n{result.stdout}{result.stderr}"
    sys.path.insert(0, REPO)
    from bench.cli_latency import write_hierarchy

    os.makedirs(os.path.join(work, "bench"))
    write_hierarchy(os.path.join(work, "bench"))
    return work


def run_example(installed, work, heading, command, tmp_parent, site=None):
    """`command` as the page gives it, from `work`, in a fresh scratch system (its userdata /root/ud,
    `site` as its site data); asserts that it exits as the docs say: 0, and for `confrt run` and
    `--detailed-exitcodes` 2 when changes are pending (0 without), never a failure; a `--noop` example
    changes nothing (but the run log), a lookup with `--explain` finds a value, an output option
    (`-o OUT`, not a choice such as `-o string`) writes OUT. Returns (result, its summary or None)."""
    argv = command.split()
    path, _, options = named_command(installed, command)
    outputs = [option for option, metavar in options.items() if option.startswith(("-o", "--output"))
               and not metavar.startswith("{")]
    config = DOCS_CONFIG
    if heading == "Benchmarks":
        with open(os.path.join(work, "bench", "confrt.yaml")) as handle:
            config = handle.read()
    system = start_or_skip(tmp_parent, private_network=True)
    try:
        system.write_file("/etc/confrt/confrt.yaml", config)
        system.write_file("/root/ud", MINIMAL_SITE)
        if site:
            system.write_file("/etc/confrt/data/common.yaml", site)
        before = system.changes()
        result = system.run([installed.confrt, *argv[1:]], env=installed.env(HOME=os.path.join(work, "home")),
                            cwd=work, input=STDIN if "--stdin" in argv else None, timeout=300)
        touched = diff_changes(before, system.changes(), ignore=(*CONFRT_STATE, "/var/log/confrt"))
        targets = [value for option, value in zip(argv, argv[1:]) if option in outputs]
        missing = [target for target in targets if not system.exists(os.path.join(work, target))]
    finally:
        system.teardown()
    output = f"`{command}` exited {result.returncode}:\n{result.stdout}{result.stderr}"
    assert_clean(result)
    assert "usage:" not in result.stderr, output
    counts, expected = None, 0
    if path == ["lookup"] and "--explain" in argv:
        assert re.search(r"^  Result: ", result.stdout, re.M), output
    if path[0] in ("apply", "run"):
        counts = summary(result.stdout)
        assert counts[2] == 0, output
        if path[0] == "run" or "--detailed-exitcodes" in argv:
            expected = 2 if counts[1] else 0
    assert result.returncode == expected, output
    assert "--noop" not in argv or touched == [], f"`{command}` changed {touched}"
    assert missing == [], f"`{command}` wrote no {missing}"
    return result, counts


@pytest.mark.parametrize("page, heading, command", SPANS, ids=[f"{page}: {command}" for page, _, command in SPANS])
def test_inline_command(installed, docs_work, tmp_path_factory, page, heading, command):
    _path, rest, _options = named_command(installed, command)
    if SYNOPSIS.search(command) or not rest:
        return  # a synopsis or the command's bare name: what it names exists
    parent = str(tmp_path_factory.getbasetemp())
    run_example(installed, docs_work, heading, command, parent)
    if "--detailed-exitcodes" in command.split():
        # and on a machine with a change pending: 2 (in noop, nothing changed)
        result, counts = run_example(installed, docs_work, heading, command, parent, site=MINIMAL_SITE)
        assert result.returncode == 2 and counts[1] > 0, result.stdout


def test_inline_commands_catch_a_broken_doc(installed, docs_work, tmp_path_factory):
    """The checks above fail on a copy of the README with a misspelled option, subcommand or key."""
    text = readme()
    for good, bad in [("confrt apply --noop --role squid", "confrt apply --noop --rol squid"),
                      ("confrt modules show squid", "confrt module show squid")]:
        assert good in text
        (command,) = [command for _, command in inline_commands(text.replace(good, bad)) if command == bad]
        with pytest.raises(AssertionError, match="no option --rol|no subcommand"):
            named_command(installed, command)
    for good, bad, problem in [("confrt facts os.family", "confrt facts os.familly", "exited 1"),
                               ("confrt lookup classes --explain", "confrt lookup clases --explain", "Result")]:
        assert good in text
        ((heading, command),) = [span for span in inline_commands(text.replace(good, bad)) if span[1] == bad]
        named_command(installed, command)  # it names what exists, but no such fact or key
        with pytest.raises(AssertionError, match=problem):
            run_example(installed, docs_work, heading, command, str(tmp_path_factory.getbasetemp()))


def load_config_installed(installed, path):
    """confrt.config.load_config(path) of the venv's confrt: (its site_data section, or None, the output)."""
    code = "import json, sys; from confrt.config import load_config; print(json.dumps(load_config(sys.argv[1]).site_data))"
    result = subprocess.run([os.path.join(installed.bin, "python"), "-c", code, path], env=installed.env(), cwd="/",
                            capture_output=True, text=True, timeout=60)
    return (json.loads(result.stdout) if result.returncode == 0 else None), result.stdout + result.stderr


def test_site_data_block_is_a_valid_config(installed, tmp_path):
    """docs/runs.md's `site_data:` block, read by confrt's own loader (confrt/config.py): accepted, as written."""
    (block,) = [body for language, body in fenced_blocks(readme(), "## Site data from git") if language == "yaml"]
    given = yaml.safe_load(block)["site_data"]
    loaded, output = load_config_installed(installed, write_yaml(str(tmp_path / "confrt.yaml"), block))
    assert loaded is not None, output
    assert {key: loaded[key] for key in given} == given
    # the loader checks what it reads: the block with a relative token_file is refused
    broken = block.replace("token_file: /etc/", "token_file: etc/")
    assert broken != block
    loaded, output = load_config_installed(installed, write_yaml(str(tmp_path / "broken.yaml"), broken))
    assert loaded is None and "site_data.token_file: expected an absolute path" in output, output

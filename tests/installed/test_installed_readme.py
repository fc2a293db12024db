"""The README's command sessions, read from README.md and run with the venv's console script, so
the README cannot drift from the product. The first session and the set-up line change the
machine (/etc/motd, sysctls): they run in a scratch system (tests/system/scratch.py)."""
import os
import re
import subprocess

import pytest
import yaml
from installed_support import (TREE, assert_clean, built_tree, fenced_blocks, heredoc_files, readme, setup_command, shell_steps,
                               summary, write_yaml)
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


def test_fleet_loop(installed, tmp_path):
    blocks = fenced_blocks(readme(), "### The fleet loop")
    (node_yaml,) = [body for language, body in blocks if language == "yaml"]
    (commands,) = [body for language, body in blocks if language == "sh" and "confrt submit" in body]
    steps = [step.split("#")[0].strip() for step in shell_steps(commands) if step.startswith("confrt ")]
    assert len(steps) >= 2, commands
    node_file = re.match(r"# (\S+\.yaml)\n", node_yaml).group(1)
    node = yaml.safe_load(node_yaml)
    work, home = tmp_path / "work", tmp_path / "home"
    write_yaml(str(work / node_file), node_yaml)
    write_yaml(str(work / node["data"]), {"classes": ["resources"], "site::greeting": "hello fleet"})
    for source in node.get("files", {}).values():
        write_yaml(str(work / source), "managed by confrt\n")
    secret = "SECRET-do-not-print-0123456789"
    for key in ("access_key_file", "secret_key_file"):
        path = node[key].replace("~", str(home), 1)
        write_yaml(path, secret if key == "secret_key_file" else "ACCESS-0123\n")
        os.chmod(path, 0o600)
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

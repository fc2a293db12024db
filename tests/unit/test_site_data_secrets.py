"""A private site data repository over HTTP (git http-backend behind Basic auth on 127.0.0.1): the
token (site_data.token_file) or the URL's user:password reach the server and never appear in
output, the run log, the reports, state.json, `confrt site-data status` or git's command lines."""
import base64
import os
import subprocess
import sys

import pytest
import yaml
from confrt_testing import confrt_env
from run_site import read, summary
from site_data_support import HttpGit, Keys, SiteRepo, in_use, set_site_data, site_config
from test_site_data import motd_data, run, site_lines

TOKEN = "glpat-s3cret-token-7f3a9c"


@pytest.fixture
def private(tmp_path):
    keys = Keys(tmp_path / "keys")
    repo = SiteRepo(tmp_path / "git", keys)
    server = HttpGit(repo.base, "deploy", TOKEN)
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    token_file.chmod(0o600)
    env, paths = site_config(tmp_path / "node", server.url, keys.allowed_signers,
                             site_data={"token_file": str(token_file), "token_user": "deploy"})
    paths["motd"] = str(tmp_path / "motd")
    yield repo, server, env, paths, token_file
    server.stop()


def everything_written(paths, *results):
    """All confrt wrote or printed: the runs' output, every file under the state and log dirs."""
    texts = [result.stdout + result.stderr for result in results]
    for root in (paths["state"], paths["log"]):
        for directory, _, names in os.walk(root):
            if "repo.git" in directory:  # git's objects: compressed, and what the server sent
                continue
            for name in names:
                with open(os.path.join(directory, name), "rb") as handle:
                    texts.append(handle.read().decode("utf-8", "replace"))
    return "\n".join(texts)


def assert_no_secret(text, *secrets):
    for secret in secrets:
        assert secret not in text


def test_the_token_reaches_the_server_only(private, run_confrt):
    repo, server, env, paths, _ = private
    commit = repo.commit(motd_data(paths, "private\n"))
    taken = run(run_confrt, env)
    assert taken.returncode == 2, taken.stderr
    assert in_use(paths) == commit and read(paths["motd"]) == "private\n"
    assert server.expected in server.seen  # the token was sent, as Basic auth of token_user
    status = run_confrt("site-data", "status", env=env)
    basic = base64.b64encode(f"deploy:{TOKEN}".encode()).decode()
    assert_no_secret(everything_written(paths, taken, status), TOKEN, basic)
    config = read(paths["confrt.yaml"])
    assert TOKEN not in config and TOKEN not in read(os.path.join(paths["site"], "repo.git", "config"))


def test_a_refused_token_is_one_line_without_it(private, run_confrt, tmp_path):
    repo, server, env, paths, token_file = private
    repo.commit(motd_data(paths, "private\n"))
    token_file.write_text("wrong-" + TOKEN + "\n")
    result = run(run_confrt, env)
    assert result.returncode == 4
    [line] = site_lines(result.stderr)
    assert "401" in line or "Authentication failed" in line or "could not read Username" in line, line
    assert_no_secret(everything_written(paths, result), TOKEN)
    assert summary(paths)["steps"]["site_data"]["status"] == "failed"


def test_credentials_in_the_url_are_redacted(private, run_confrt):
    repo, server, env, paths, _ = private
    set_site_data(paths, token_file="", url=server.url.replace("http://", f"http://deploy:{TOKEN}@"))
    commit = repo.commit(motd_data(paths, "private\n"))
    taken = run(run_confrt, env)
    assert taken.returncode == 2, taken.stderr
    assert in_use(paths) == commit
    step = summary(paths)["steps"]["site_data"]
    assert step["url"] == server.url.replace("http://", "http://[redacted]@")
    repo.commit(motd_data(paths, "unsigned\n"), signer=None)
    refused = run(run_confrt, env)
    [line] = site_lines(refused.stderr)
    assert line.startswith("confrt: site data: http://[redacted]@127.0.0.1:")
    server.stop()  # a failing fetch: git's own message must not carry them either
    dead = run(run_confrt, env)
    assert dead.returncode == 4 and len(site_lines(dead.stderr)) == 1
    status = run_confrt("site-data", "status", env=env)
    assert yaml.safe_load(status.stdout)["url"].startswith("http://[redacted]@")
    assert_no_secret(everything_written(paths, taken, refused, dead, status), TOKEN, f"deploy:{TOKEN}")


def test_an_unreadable_token_file_is_one_line(private, run_confrt):
    repo, _, env, paths, token_file = private
    repo.commit(motd_data(paths, "private\n"))
    os.unlink(token_file)
    result = run(run_confrt, env)
    assert result.returncode == 4
    [line] = site_lines(result.stderr)
    assert f"site_data.token_file: cannot read {token_file}: No such file or directory" in line


@pytest.mark.parametrize("where", ["token_file", "url"])
def test_no_command_line_holds_the_credentials(private, where):
    """Every process's argv is readable by every user: sampled while the server makes git wait."""
    import psutil

    repo, server, env, paths, _ = private
    if where == "url":
        set_site_data(paths, token_file="", url=server.url.replace("http://", f"http://deploy:{TOKEN}@"))
    repo.commit(motd_data(paths, "private\n"))
    server.delay = 0.5
    process = subprocess.Popen([sys.executable, "-m", "confrt", "run", "--no-splay"], env=confrt_env(env),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    seen = []
    while process.poll() is None:
        for other in psutil.process_iter(["cmdline"]):
            words = other.info["cmdline"] or []
            if words[:1] == ["git"] or any("git-remote" in word for word in words):
                seen.append(" ".join(words))
    assert process.wait() == 2
    assert any(" fetch " in line for line in seen), seen
    assert not [line for line in seen if TOKEN in line or "deploy:" in line], seen

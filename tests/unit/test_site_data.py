"""`confrt run` with site data from a real git server on 127.0.0.1 (git daemon), commits signed by
ssh-keygen keys: taken when signed by an allowed key, refused otherwise (one line, the last good
data kept and applied, the step failed, exit bit 4), bounded against dead and silent servers."""
import json
import os
import shutil
import subprocess
import time

import pytest
import yaml
from run_site import read, summary, write_yaml
from site_data_support import (Keys, SiteRepo, closed_port_url, git, in_use, served_site, set_site_data, site_config,
                               wait_for)


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    return Keys(tmp_path_factory.mktemp("keys"))


@pytest.fixture
def site(tmp_path, keys):
    served = served_site(tmp_path, keys)
    yield served
    served[1].stop()


def motd_data(paths, text):
    return {"common.yaml": {"classes": ["resources"], "resources::file": {paths["motd"]: {"content": text}}}}


def site_lines(stderr):
    """The run's error lines about the site data (there must be exactly one per failure)."""
    assert "Traceback" not in stderr
    return [line for line in stderr.splitlines() if line.startswith("confrt: site data:")]


def run(run_confrt, env, *args):
    return run_confrt("run", "--no-splay", *args, env=env)


def test_a_signed_commit_is_taken_applied_and_is_the_run_data_version(site, run_confrt):
    repo, _, env, paths = site
    commit = repo.commit(motd_data(paths, "generation 1\n"))
    first = run(run_confrt, env)
    assert first.returncode == 2, first.stderr
    assert read(paths["motd"]) == "generation 1\n"
    assert in_use(paths) == commit
    assert f"confrt: site data: took commit {commit} of main, signed by alice@example.org\n" in first.stdout
    done = summary(paths)
    assert done["version"]["config"] == commit and len(done["version"]["catalog"]) == 12
    step = done["steps"]["site_data"]
    assert step["status"] == "ok" and step["commit"] == commit and step["signer"] == "alice@example.org"
    report = json.loads(read(os.path.join(paths["state"], "last_run_report.json")))
    assert report["summary"]["version"]["config"] == commit
    # the next run: nothing new, nothing said, nothing to do
    second = run(run_confrt, env)
    assert second.returncode == 0, second.stderr
    assert "site data" not in second.stdout + second.stderr
    assert summary(paths)["steps"]["site_data"] == {"status": "ok", "url": repo_url(env), "ref": "main",
                                                    "commit": commit}
    # `confrt apply` (no fetch) reads the same checkout and reports the same version
    applied = run_confrt("apply", env=env)
    assert applied.returncode == 0 and summary(paths)["version"]["config"] == commit


def repo_url(env):
    return yaml.safe_load(read(env["CONFRT_CONFIG"]))["site_data"]["url"]


BAD_COMMITS = {
    "unsigned": (lambda repo, paths: repo.commit(motd_data(paths, "unsigned\n"), signer=None),
                 "refused: not signed"),
    "unknown key": (lambda repo, paths: repo.commit(motd_data(paths, "mallory\n"), signer="mallory"),
                    "refused: signed by a key not in {signers} (SHA256:"),
    "rewritten history": (lambda repo, paths: rewrite(repo, paths),
                          "refused: not a descendant of {good}, the last commit taken from main (history rewritten"),
    "data that does not compile": (lambda repo, paths: repo.commit(
        {"common.yaml": {"classes": ["resources", "no_such_module"]}}),
        "refused: its data does not compile: {checkouts}/{commit}/common.yaml: classes: unknown class "
        "'no_such_module'"),
    "invalid YAML": (lambda repo, paths: repo.commit({"common.yaml": "classes: [resources\n"}),
                     "refused: its data does not compile: {checkouts}/{commit}/common.yaml"),
}


def rewrite(repo, paths):
    """A force-push: the branch's tip replaced by a signed commit that does not descend from it."""
    repo.reset(repo.first)
    return repo.commit(motd_data(paths, "rewritten\n"), message="rewritten")


@pytest.mark.parametrize("case", BAD_COMMITS, ids=list(BAD_COMMITS))
def test_a_bad_commit_is_refused_in_one_line_the_last_good_data_applied_and_the_next_good_taken(
        site, run_confrt, keys, case):
    repo, _, env, paths = site
    repo.first = repo.commit(motd_data(paths, "generation 0\n"))
    good = repo.commit(motd_data(paths, "generation 1\n"))
    assert run(run_confrt, env).returncode == 2
    os.unlink(paths["motd"])  # the last good data must still be applied
    make, message = BAD_COMMITS[case]
    bad = make(repo, paths)
    result = run(run_confrt, env)
    assert result.returncode == 6, result.stderr  # motd again + the failure bit
    assert read(paths["motd"]) == "generation 1\n" and in_use(paths) == good
    expected = message.format(signers=keys.allowed_signers, good=good, commit=bad,
                              checkouts=os.path.join(paths["site"], "checkouts"))
    [line] = site_lines(result.stderr)
    assert line.startswith(f"confrt: site data: {repo_url(env)} main: commit {bad}: {expected}"), line
    assert line.endswith(f"; keeping commit {good}")
    done = summary(paths)
    assert done["status"] == "failed" and done["version"]["config"] == good
    step = done["steps"]["site_data"]
    assert step["status"] == "failed" and step["commit"] == good and expected in step["error"]
    assert os.listdir(os.path.join(paths["site"], "checkouts")) == [good], "a refused commit leaves no checkout"
    # refused again by the next run (nothing was remembered as good)
    assert run(run_confrt, env).returncode == 4
    # the site repairs it: the next good commit (descending from the last one taken) is taken
    repo.reset(good)
    fixed = repo.commit(motd_data(paths, "generation 2\n"))
    taken = run(run_confrt, env)
    assert taken.returncode == 2, taken.stderr
    assert in_use(paths) == fixed and read(paths["motd"]) == "generation 2\n"
    assert summary(paths)["steps"]["site_data"]["status"] == "ok" and not site_lines(taken.stderr)


def test_allow_rewrite_takes_a_rewritten_history(site, run_confrt):
    repo, _, env, paths = site
    first = repo.commit(motd_data(paths, "one\n"))
    repo.commit(motd_data(paths, "two\n"))
    assert run(run_confrt, env).returncode == 2
    repo.reset(first)
    rewritten = repo.commit(motd_data(paths, "rewritten\n"))
    assert run(run_confrt, env).returncode == 4
    set_site_data(paths, allow_rewrite=True)
    result = run(run_confrt, env)
    assert result.returncode == 2, result.stderr
    assert in_use(paths) == rewritten and read(paths["motd"]) == "rewritten\n"


def test_noop_fetches_verifies_and_previews_in_a_temporary_place_switching_nothing(site, run_confrt):
    repo, _, env, paths = site
    good = repo.commit(motd_data(paths, "generation 1\n"))
    assert run(run_confrt, env).returncode == 2
    before = tree_state(paths["site"])
    new = repo.commit(motd_data(paths, "generation 2\n"))
    preview = run(run_confrt, env, "--noop")
    assert preview.returncode == 2, preview.stderr
    assert f"confrt: site data: would take commit {new} of main, signed by alice@example.org (noop)" in preview.stdout
    assert "-generation 1\n+generation 2\n" in preview.stdout  # previewed with the new commit's data
    previewed = summary(paths, noop=True)
    assert previewed["version"]["config"] == new and previewed["steps"]["site_data"]["would_take"] == new
    assert summary(paths)["version"]["config"] == good  # the last real run's, as the pool sees it
    assert tree_state(paths["site"]) == before and in_use(paths) == good
    assert read(paths["motd"]) == "generation 1\n"
    assert not [name for name in os.listdir("/tmp") if name.startswith("confrt-site-data-")
                and os.stat(os.path.join("/tmp", name)).st_mtime > time.time() - 60]
    # a commit the real run would refuse is refused in the noop too
    repo.commit(motd_data(paths, "unsigned\n"), signer=None)
    refused = run(run_confrt, env, "--noop")
    assert refused.returncode == 4 and len(site_lines(refused.stderr)) == 1
    assert tree_state(paths["site"]) == before
    repo.reset(new)
    repo.push()
    assert run(run_confrt, env).returncode == 2 and in_use(paths) == new


def tree_state(root):
    """Every path below root with its size and mtime (what a noop must leave alone)."""
    found = {}
    for directory, folders, names in os.walk(root):
        for name in folders + names:
            path = os.path.join(directory, name)
            info = os.lstat(path)
            found[path] = (info.st_size, info.st_mtime_ns)
    return found


def test_first_run_without_a_server_applies_the_other_data_and_says_so(tmp_path, keys, run_confrt):
    env, paths = site_config(tmp_path, closed_port_url(), keys.allowed_signers,
                             build_time={"classes": ["resources"],
                                         "resources::file": {str(tmp_path / "motd"): {"content": "base\n"}}})
    started = time.monotonic()
    result = run(run_confrt, env)
    assert time.monotonic() - started < 8
    assert result.returncode == 6, result.stderr
    assert read(tmp_path / "motd") == "base\n" and in_use(paths) is None
    [line] = site_lines(result.stderr)
    assert "Connection refused" in line and line.endswith("; no site data yet: the other data only")
    step = summary(paths)["steps"]["site_data"]
    assert step["status"] == "failed" and step["commit"] is None
    assert "catalog" not in summary(paths)["version"]  # no site data read: the catalog's version


@pytest.mark.parametrize("silence", ["dead", "silent"])
def test_a_dead_or_silent_server_is_bounded_by_the_settings(site, run_confrt, silence):
    repo, daemon, env, paths = site
    good = repo.commit(motd_data(paths, "generation 1\n"))
    assert run(run_confrt, env).returncode == 2
    repo.commit(motd_data(paths, "generation 2\n"))
    set_site_data(paths, total_timeout=2)
    if silence == "dead":
        daemon.stop()
    else:
        daemon.silent = True
    started = time.monotonic()
    result = run(run_confrt, env)
    took = time.monotonic() - started
    assert result.returncode == 4, result.stderr
    assert took < 8, took
    [line] = site_lines(result.stderr)
    if silence == "silent":
        assert "git fetch timed out after 2s (site_data.total_timeout)" in line and took >= 2
    else:
        assert "Connection refused" in line
    assert in_use(paths) == good and summary(paths)["steps"]["site_data"]["status"] == "failed"


def test_ref_naming_a_fact_follows_that_branch(site, run_confrt):
    repo, _, env, paths = site
    repo.commit(motd_data(paths, "main\n"))
    worker = repo.commit(motd_data(paths, "worker branch\n"), branch="site-worker")
    set_site_data(paths, ref="site-%{facts.role}")
    missing = run(run_confrt, env)
    assert missing.returncode == 4
    [line] = site_lines(missing.stderr)
    assert line.endswith("site-%{facts.role}: site_data.ref: site-%{facts.role}: facts.role is not defined on "
                         "this host; no site data yet: the other data only"), line
    write_yaml(os.path.join(paths["facts.d"], "role.yaml"), {"role": "worker"})
    result = run(run_confrt, env)
    assert result.returncode == 2, result.stderr
    assert in_use(paths) == worker and read(paths["motd"]) == "worker branch\n"
    assert summary(paths)["steps"]["site_data"]["ref"] == "site-worker"


def test_old_checkouts_are_pruned_to_keep(site, run_confrt):
    repo, _, env, paths = site
    set_site_data(paths, keep=2)
    commits = []
    for generation in range(4):
        commits.append(repo.commit(motd_data(paths, f"generation {generation}\n")))
        assert run(run_confrt, env).returncode == 2
    checkouts = os.path.join(paths["site"], "checkouts")
    assert sorted(os.listdir(checkouts)) == sorted(commits[-2:])
    state = json.loads(read(os.path.join(paths["site"], "state.json")))
    assert sorted(state["checkouts"]) == sorted(commits[-2:]) and state["refs"] == {"main": commits[-1]}


def test_a_hiera_yaml_kept_in_the_repository_is_read_from_the_commit_being_tried(site, run_confrt):
    repo, _, env, paths = site
    config = yaml.safe_load(read(paths["confrt.yaml"]))
    config["hiera_config"] = os.path.join(paths["site"], "current", "hiera.yaml")
    write_yaml(paths["confrt.yaml"], config)
    hierarchy = {"version": 5, "hierarchy": [{"name": "site", "path": "%{confrt.site_data}/common.yaml"}]}
    good = repo.commit(dict(motd_data(paths, "from git\n"), **{"hiera.yaml": hierarchy}))
    assert run(run_confrt, env).returncode == 2 and read(paths["motd"]) == "from git\n"
    bad = repo.commit(dict(motd_data(paths, "broken\n"), **{"hiera.yaml": {"version": 4}}))
    result = run(run_confrt, env)
    assert result.returncode == 4 and in_use(paths) == good
    [line] = site_lines(result.stderr)
    assert f"commit {bad}: refused: its data does not compile: " \
           f"{os.path.join(paths['site'], 'checkouts', bad, 'hiera.yaml')}" in line


def test_the_fetch_leaves_no_git_process_behind(site, run_confrt):
    """A silent server: the fetch is killed at total_timeout with its helpers."""
    _, daemon, env, paths = site
    daemon.silent = True
    set_site_data(paths, total_timeout=1)
    assert run(run_confrt, env).returncode == 4
    assert wait_for(lambda: not git_processes_under(paths["site"]), 5)


def git_processes_under(directory):
    import psutil

    found = []
    for process in psutil.process_iter(["cmdline"]):
        if any(directory in word for word in process.info["cmdline"] or []):
            found.append(process.pid)
    return found


def test_condor_publishes_the_commit_as_confrt_data_version(site, run_confrt, tmp_path):
    """The pool shows which nodes run which commit: condor's startd cron job reads version.config."""
    from mod_support import compile_site
    from test_mod_condor import EXECUTE, last_run_ad  # skips without the htcondor bindings

    repo, _, env, paths = site
    catalog = compile_site(tmp_path / "condor", EXECUTE)
    commit = repo.commit(motd_data(paths, "generation 1\n"))
    assert run(run_confrt, env).returncode == 2
    ad = last_run_ad(catalog, tmp_path, read(os.path.join(paths["state"], "last_run_summary.yaml")))
    assert ad["ConfrtDataVersion"] == commit
    repo.commit(motd_data(paths, "unsigned\n"), signer=None)
    assert run(run_confrt, env).returncode == 4  # refused: the node runs (and says) the last good one
    ad = last_run_ad(catalog, tmp_path, read(os.path.join(paths["state"], "last_run_summary.yaml")))
    assert ad["ConfrtDataVersion"] == commit and ad["ConfrtLastRunStatus"] == "failed"


def test_a_repository_on_a_local_path_is_fetched_too(tmp_path, keys, run_confrt):
    repo = SiteRepo(tmp_path / "git", keys)
    env, paths = site_config(tmp_path / "node", repo.bare, keys.allowed_signers)
    paths["motd"] = str(tmp_path / "motd")
    commit = repo.commit(motd_data(paths, "from a path\n"))
    result = run(run_confrt, env)
    assert result.returncode == 2, result.stderr
    assert in_use(paths) == commit and read(paths["motd"]) == "from a path\n"


@pytest.mark.skipif(not shutil.which("gpg"), reason="gpg not installed (Debian package gpg)")
def test_gnupg_signatures_count_only_with_the_sites_own_keyring(site, run_confrt, tmp_path):
    repo, _, env, paths = site
    signing, keyring = str(tmp_path / "gnupg-signing"), str(tmp_path / "gnupg-site")
    for home in (signing, keyring):
        os.makedirs(home, mode=0o700)
    gpg = ["gpg", "--batch", "--quiet", "--homedir", signing]
    try:
        subprocess.run(gpg + ["--passphrase", "", "--quick-gen-key", "Site <site@example.org>", "ed25519", "sign",
                              "never"], check=True, capture_output=True, timeout=60)
        exported = subprocess.run(gpg + ["--export", "site@example.org"], check=True, capture_output=True).stdout
        subprocess.run(["gpg", "--batch", "--quiet", "--homedir", keyring, "--import"], input=exported, check=True,
                       capture_output=True, timeout=60)
        repo.commit(motd_data(paths, "pgp\n"), signer=None)
        git("-c", "user.signingkey=site@example.org", "commit", "-q", "--amend", "--no-edit", "-S", cwd=repo.work,
            env={"GNUPGHOME": signing})
        commit = repo.push()
    finally:
        subprocess.run(["gpgconf", "--homedir", signing, "--kill", "all"], capture_output=True)
    refused = run(run_confrt, env)
    assert refused.returncode == 4
    [line] = site_lines(refused.stderr)
    assert f"commit {commit}: refused: signed with GnuPG and site_data.gnupg_home is not set" in line
    set_site_data(paths, gnupg_home=keyring)
    taken = run(run_confrt, env)
    assert taken.returncode == 2, taken.stderr
    assert in_use(paths) == commit and read(paths["motd"]) == "pgp\n"
    assert summary(paths)["steps"]["site_data"]["signer"] == "Site <site@example.org>"


def test_ssh_transport_uses_the_deploy_key_and_known_hosts_only():
    """(No sshd in the tests: the command git is given for ssh URLs.)"""
    import shlex

    from confrt.site_data.git import Git

    settings = {"url": "git@git.example.org:site/data.git", "timeout": 7, "total_timeout": 60,
                "allowed_signers": "/etc/confrt/site_data/allowed_signers", "revoked_signers": "",
                "gnupg_home": "", "ssh_key": "/etc/confrt/site_data/deploy key", "known_hosts": "/etc/confrt/kh",
                "token_file": "", "token_user": "git"}
    env = Git(settings, "/nonexistent").environment()
    argv = shlex.split(env["GIT_SSH_COMMAND"])
    assert argv[0] == "ssh" and "BatchMode=yes" in argv and "ConnectTimeout=7" in argv
    assert argv[argv.index("-i") + 1] == "/etc/confrt/site_data/deploy key" and "IdentitiesOnly=yes" in argv
    assert "UserKnownHostsFile=/etc/confrt/kh" in argv and "StrictHostKeyChecking=yes" in argv
    assert env["GIT_CONFIG_GLOBAL"] == os.devnull and env["GIT_CONFIG_NOSYSTEM"] == "1"
    assert "SSH_AUTH_SOCK" not in env and env["GIT_ALLOW_PROTOCOL"] == "file:git:http:https:ssh"


def test_a_run_after_a_good_fetch_does_not_walk_the_repository(site, run_confrt, monkeypatch):
    """The walk for a killed git's leftovers grows with every fetch: it is done only when the last
    fetch did not succeed (tests/reliability/test_site_data_kill9.py kills one)."""
    from confrt.config import load_config
    from confrt.site_data import checkouts

    repo, _, env, paths = site
    repo.commit(motd_data(paths, "generation 1\n"))
    assert run(run_confrt, env).returncode == 2
    site_data = checkouts.Checkouts(load_config(paths["confrt.yaml"]))
    with monkeypatch.context() as patched:
        patched.setattr(checkouts.os, "walk", lambda *args, **kwargs: pytest.fail("the repository was walked"))
        site_data.prepare(lambda git_dir: None)
    os.unlink(os.path.join(paths["site"], checkouts.CLEAN))  # as a fetch killed halfway leaves it
    lock = os.path.join(site_data.repository, "refs", "confrt", "fetched.lock")
    repack_leftover = os.path.join(site_data.repository, "objects", "pack", ".tmp-4242-pack-0123.pack")
    for leftover in (lock, repack_leftover):  # a killed fetch's, a killed repack's
        open(leftover, "w").close()
    site_data.prepare(lambda git_dir: None)
    assert not os.path.exists(lock) and not os.path.exists(repack_leftover)


def test_the_repository_is_repacked_once_its_packs_pile_up(site, monkeypatch):
    """Each fetch keeps a pack of its own and nothing repacks (gc.auto is off): past MAX_PACKS a fetch
    repacks them into one, and every commit is still there."""
    from confrt.config import load_config
    from confrt.site_data import checkouts
    from confrt.site_data.git import Git

    repo, _, env, paths = site
    config = load_config(paths["confrt.yaml"])
    site_data = checkouts.Checkouts(config)
    monkeypatch.setattr(checkouts, "MAX_PACKS", 3)
    counts, commits = [], []
    for generation in range(6):
        commits.append(repo.commit(motd_data(paths, f"generation {generation}\n")))
        git = site_data.prepare(lambda git_dir: Git(config.site_data, git_dir))
        assert site_data.fetch(git, "main") == commits[-1]
        counts.append(site_data._packs())
    assert counts == [1, 2, 3, 1, 2, 3], counts  # one pack per fetch, packed into one past 3
    for commit in commits:
        assert git.run(["cat-file", "-t", commit]).strip() == "commit"
    assert os.path.exists(os.path.join(paths["site"], checkouts.CLEAN))


def test_a_repack_that_fails_does_not_fail_the_fetch_nor_keep_the_new_commit_out(site, run_confrt, tmp_path):
    """The repack is housekeeping: one that fails (times out on a slow disk, a full disk) must not fail
    the site data step, or the node would refuse every new commit, every hour, for as long as the
    packs stay past MAX_PACKS. The commit fetched is taken; the repository is swept next run."""
    from confrt.site_data import checkouts

    repo, _, env, paths = site
    repo.commit(motd_data(paths, "generation 1\n"))
    assert run(run_confrt, env).returncode == 2
    pack_dir = os.path.join(paths["site"], "repo.git", "objects", "pack")
    for number in range(checkouts.MAX_PACKS):  # packs piled up (no .idx: git itself ignores them)
        open(os.path.join(pack_dir, f"pack-{number:040x}.pack"), "w").close()
    wrapper = tmp_path / "bin"
    wrapper.mkdir()
    real_git = shutil.which("git", path=env.get("PATH"))
    (wrapper / "git").write_text("#!/bin/sh\nfor arg; do [ \"$arg\" = repack ] && { echo 'fatal: disk full' >&2;"
                                 f" exit 128; }}; done\nexec {real_git} \"$@\"\n")
    (wrapper / "git").chmod(0o755)
    env = dict(env, PATH=f"{wrapper}:{env.get('PATH', os.defpath)}")
    new = repo.commit(motd_data(paths, "generation 2\n"))
    result = run(run_confrt, env)
    assert result.returncode == 2, result.stderr
    assert in_use(paths) == new and read(paths["motd"]) == "generation 2\n"
    assert summary(paths)["steps"]["site_data"]["status"] == "ok"
    assert "git repack: disk full" in result.stderr, result.stderr   # said, as a warning
    assert not os.path.exists(os.path.join(paths["site"], checkouts.CLEAN))  # a failed repack: swept next run

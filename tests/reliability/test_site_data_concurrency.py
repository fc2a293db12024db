"""Site data while runs and readers go at once.

- Readers (`confrt lookup`, which takes no lock) racing the runs that switch `current` each see
  one commit's data: the 20 files they read always come from the same commit (a reader that
  followed the link for each file catches a switch between two of them at once).
- Two runs started together on a new commit: one takes it, the other finds it in use.
"""
import json
import subprocess
import threading

import pytest
from reliability_support import confrt_process
from run_site import write_yaml
from site_data_fault_support import current, faulty_site, generation_files, run_to_end


@pytest.fixture
def site(tmp_path):
    served = faulty_site(tmp_path)
    yield served
    served[1].stop()

LEVELS = 20
FILLER = 1500  # keys per file: each file takes a while to read, so a switch falls between two reads


def level_files(generation):
    """A commit of LEVELS files, each giving gen.lNN the generation (a lookup merges them all), and
    FILLER keys more."""
    filler = {f"filler{i}": f"generation {generation} value {i}" for i in range(FILLER)}
    return {f"l{level:02d}.yaml": dict(filler, gen={f"l{level:02d}": generation}) for level in range(LEVELS)}


def lookup(env):
    result = subprocess.run(confrt_process("lookup", "gen", "--merge", "hash", "--render-as", "json"), env=env,
                            capture_output=True, text=True, timeout=60)
    return result.returncode, result.stdout, result.stderr


def test_readers_racing_the_switches_see_one_commit_each(site):
    """`confrt lookup` reads LEVELS files of the checkout one after another while runs switch
    `current` under it: every answer holds one generation (the link is read once per process)."""
    repo, _, env, paths = site
    write_yaml(paths["hiera.yaml"], {"version": 5, "hierarchy": [
        {"name": f"site {level}", "path": f"%{{confrt.site_data}}/l{level:02d}.yaml"} for level in range(LEVELS)]})
    repo.commit(level_files(0))
    assert run_to_end(env).returncode == 0
    done = threading.Event()
    seen = []

    def reader():
        while not done.is_set():
            seen.append(lookup(env))

    readers = [threading.Thread(target=reader) for _ in range(2)]
    for thread in readers:
        thread.start()
    try:
        for generation in range(1, 5):
            commit = repo.commit(level_files(generation))
            result = run_to_end(env)
            assert result.returncode == 0 and current(paths) == commit, result.stderr
    finally:
        done.set()
        for thread in readers:
            thread.join(60)
    assert len(seen) >= 10, seen
    generations = set()
    for returncode, out, err in seen:
        assert returncode == 0, err
        value = json.loads(out)
        assert len(value) == LEVELS and len(set(value.values())) == 1, value
        generations |= set(value.values())
    assert len(generations) >= 3, generations  # the readers did see switches


def test_runs_started_together_take_a_new_commit_once(site):
    repo, _, env, paths = site
    repo.commit(generation_files(0))
    assert run_to_end(env).returncode == 0
    for generation in range(1, 4):
        commit = repo.commit(generation_files(generation))
        runs = [subprocess.Popen(confrt_process("run", *args, "--wait-lock", "60"), env=env, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True) for args in (["--boot"], ["--no-splay"])]
        outputs = [run.communicate(timeout=120) + (run.returncode,) for run in runs]
        for _, err, returncode in outputs:
            assert returncode == 0, err
        took = [out for out, _, _ in outputs if f"site data: took commit {commit}" in out]
        assert len(took) == 1, outputs
        assert current(paths) == commit

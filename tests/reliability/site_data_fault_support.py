"""Helpers of the site data fault tests: a served site whose runs and links they watch."""
import os
import subprocess

from reliability_support import confrt_process, process_env
from site_data_support import Keys, served_site, set_site_data


def faulty_site(tmp_path):
    """served_site with a generous total_timeout: (repo, daemon, env for confrt_process, paths)."""
    repo, daemon, env, paths = served_site(tmp_path, Keys(tmp_path / "keys"))
    set_site_data(paths, total_timeout=60)
    return repo, daemon, process_env(env), paths


def generation_files(generation):
    return {"common.yaml": {"gen": generation}}


def current(paths):
    try:
        return os.path.basename(os.readlink(os.path.join(paths["site"], "current")))
    except FileNotFoundError:
        return None


def run_to_end(env, *args):
    result = subprocess.run(confrt_process("run", "--no-splay", "--wait-lock", "60", *args), env=env,
                            capture_output=True, text=True, timeout=120)
    assert "Traceback" not in result.stderr
    return result

"""Helpers for the service module tests (condor, cvmfs, squid, osg_wn, atlas_wn, roles).

compile_site() compiles the packaged modules from test data and static facts in
process; the real software's parsers then read what the catalog would write.
"""
import os
import subprocess

import pytest
import yaml
from engine_support import make_site

#: A plain EL worker: 8 CPUs, 16 GiB.
FACTS = {
    "os": {"family": "RedHat", "name": "AlmaLinux", "release": {"major": "9", "full": "9.4"}},
    "processors": {"count": 8},
    "memory": {"system": {"total_bytes": 16 * 1024 ** 3}},
    "networking": {"fqdn": "wn1.example.org", "hostname": "wn1", "domain": "example.org"},
}


def compile_site(tmp_path, data, facts=None, layers=None, hiera_config=None):
    """The finalized catalog the packaged modules make from `data` (+ layers) and `facts`.

    With hiera_config (e.g. the packaged one) `data` is the local_data layer instead."""
    from confrt.config import load_config
    from confrt.engine.run import compile_catalog
    from confrt.facts import Facts

    env = make_site(tmp_path / "site", data, layers=layers)
    config = load_config(env["CONFRT_CONFIG"])
    if hiera_config:
        config.hiera_config = hiera_config
        with open(config.local_data, "w") as handle:
            yaml.safe_dump(data, handle)
    catalog, compiler = compile_catalog(config, Facts.static(FACTS if facts is None else facts))
    catalog.classes = compiler.classes  # for the tests: the modules the data selected, in order
    return catalog


def file_resource(catalog, path):
    resource = catalog.get(f"file[{path}]")
    assert resource is not None, f"no file[{path}] in the catalog: {sorted(catalog.resources)}"
    return resource


def content(catalog, path):
    resource = file_resource(catalog, path)
    assert resource["ensure"] == "present", f"file[{path}] is {resource['ensure']}"
    return resource["content"]


def write_files(catalog, root, under):
    """Write every present file of the catalog below `under` into root + its path; returns root + under."""
    for resource in catalog.resources.values():
        if resource.type == "file" and resource["path"].startswith(under.rstrip("/") + "/") \
                and resource["ensure"] == "present":
            target = str(root) + resource["path"]
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with open(target, "w") as handle:
                handle.write(resource["content"])
    os.makedirs(str(root) + under, exist_ok=True)
    return str(root) + under


def refs(resource, kind):
    return set(resource.relations.get(kind, []))


def need_tool(path, package):
    if not os.path.exists(path):
        pytest.skip(f"{path} is missing: install the Debian package {package} (tests/debian-packages.txt)")


def sh_values(script_path, names, shell="/bin/sh"):
    """Source script_path in a clean environment (env -i) and return {name: value} of the variables."""
    printer = "".join(f'printf "%s\\0" "${{{name}-<unset>}}";' for name in names)
    result = subprocess.run(["env", "-i", shell, "-c", f'. "$1" && {printer}', "sh", str(script_path)],
                            capture_output=True, text=True)
    assert result.returncode == 0, f"{shell} could not source {script_path}: {result.stderr}"
    return dict(zip(names, result.stdout.split("\0")))


def scratch_disk(size_mb, mountpoint="/scratch"):
    """The `ephemeral_disk` fact as the ephemeral_disk module publishes it when it found a disk."""
    return {"mountpoint": mountpoint, "devices": ["/dev/vdb"], "size_bytes": size_mb * 1024 * 1024}


def assert_compile_error(run_confrt, tmp_path, data, problem, names_file=True, facts=None):
    """`confrt apply --noop` on `data` (and `--facts` holding `facts`) fails before any change with
    one line holding `problem` (and the data file's path)."""
    env = make_site(tmp_path, data)
    facts_args = []
    if facts:
        facts_args = ["--facts", str(tmp_path / "facts.yaml")]
        (tmp_path / "facts.yaml").write_text(yaml.safe_dump(facts))
    result = run_confrt("apply", "--noop", *facts_args, env=env)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 1 and len(lines) == 1, result.stderr
    assert lines[0].startswith("confrt: error: ") and problem in lines[0], lines[0]
    if names_file:
        assert str(tmp_path / "data" / "common.yaml") in lines[0], lines[0]

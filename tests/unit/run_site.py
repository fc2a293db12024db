"""A scratch confrt site for the `confrt run` and role tests: hiera with local_data and roles."""
import os

import yaml

from confrt.paths import packaged_modules


def write_yaml(path, data):
    os.makedirs(os.path.dirname(str(path)), exist_ok=True)
    with open(str(path), "w") as handle:
        yaml.safe_dump(data, handle)


def make_run_site(root, common=None, roles=None, sources=None, run=None):
    """Config + hiera under root: local_data, then roles/%{role}.yaml, then common.yaml.

    Returns (env for run_confrt, paths dict). Nothing in it touches the real system.
    """
    root = str(root)
    paths = {name: os.path.join(root, name) for name in
             ("confrt.yaml", "hiera.yaml", "data", "state", "local.yaml", "facts.d", "log")}
    write_yaml(paths["hiera.yaml"], {
        "version": 5, "defaults": {"datadir": "data", "data_hash": "yaml_data"},
        "hierarchy": [{"name": "local_data", "path": "%{confrt.local_data}"},
                      {"name": "role", "path": "roles/%{role}.yaml"},
                      {"name": "common", "path": "common.yaml"}]})
    write_yaml(os.path.join(paths["data"], "common.yaml"), common or {})
    for role, data in (roles or {}).items():
        write_yaml(os.path.join(paths["data"], "roles", f"{role}.yaml"), data)
    config = {"hiera_config": paths["hiera.yaml"], "statedir": paths["state"], "local_data": paths["local.yaml"],
              "facts_dir": paths["facts.d"], "modulepath": [packaged_modules()],
              "userdata": {"sources": list(sources or []), "timeout": 1, "total_timeout": 2},
              "run": dict({"log_dir": paths["log"]}, **(run or {}))}
    write_yaml(paths["confrt.yaml"], config)
    return {"CONFRT_CONFIG": paths["confrt.yaml"]}, paths


def multipart_userdata(data, script=None):
    """MIME userdata: an optional `#!` first-boot script part, then `data` as a YAML part."""
    from email.mime.multipart import MIMEMultipart
    from email.mime.text import MIMEText

    message = MIMEMultipart()
    if script:
        message.attach(MIMEText(script, "x-shellscript"))
    message.attach(MIMEText(yaml.safe_dump(data), "x-yaml"))
    return message.as_bytes()


def summary(paths, noop=False):
    """The last real run's summary (noop: the last noop's, which never replaces it)."""
    with open(os.path.join(paths["state"], "last_noop_summary.yaml" if noop else "last_run_summary.yaml")) as handle:
        return yaml.safe_load(handle)


def read(path):
    with open(str(path)) as handle:
        return handle.read()

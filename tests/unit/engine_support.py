"""Helpers for the engine, resources and modules tests: catalogs, applies and scratch sites."""
import io
import os
import textwrap

import yaml

from confrt.engine.applier import ApplyContext, Applier
from confrt.engine.catalog import Catalog
from confrt.engine.plugins import resource_types
from confrt.engine.report import Report
from confrt.facts import Facts
from confrt.resources.base import Resource


def res(type_name, title, **attrs):
    return Resource(type_name, title, attrs, module="test")


def catalog_of(*resources):
    catalog = Catalog(resource_types())
    for resource in resources:
        catalog.add(resource)
    return catalog.finalize()


def apply_catalog(catalog, statedir, noop=False, tags=None, made_before=None):
    """Apply; returns the Report (its log lines in report.out / report.err, StringIO)."""
    report = Report(noop=noop, out=io.StringIO(), err=io.StringIO(), color=False, started=0.0)
    ctx = ApplyContext(Facts.static({"os": {"family": "Debian"}}), str(statedir), noop=noop, made_before=made_before)
    Applier(catalog, ctx, report, tags).run()
    report.finish()
    return report


def change_lines(report):
    """The change log lines without the ' (noop)' suffix, for comparing noop with real runs."""
    return [line[:-len(" (noop)")] if line.endswith(" (noop)") else line
            for line in report.out.getvalue().splitlines() if "]/" in line and not line.startswith(("+", "-", "@"))]


def make_site(root, data, modules=None, layers=None):
    """A scratch site under root: confrt.yaml, hiera.yaml, data/common.yaml (+ more layers).

    modules: {name: module.py source}; layers: {file name: data} searched before common.yaml.
    Returns the environment for run_confrt (CONFRT_CONFIG set).
    """
    root = str(root)
    layers = dict(layers or {})
    hierarchy = [{"name": name, "path": name} for name in layers] + [{"name": "common", "path": "common.yaml"}]
    os.makedirs(os.path.join(root, "data"), exist_ok=True)
    with open(os.path.join(root, "hiera.yaml"), "w") as handle:
        yaml.safe_dump({"version": 5, "defaults": {"datadir": "data", "data_hash": "yaml_data"},
                        "hierarchy": hierarchy}, handle)
    layers["common.yaml"] = data
    for name, content in layers.items():
        with open(os.path.join(root, "data", name), "w") as handle:
            yaml.safe_dump(content, handle)
    modulepath = os.path.join(root, "modules")
    for name, source in (modules or {}).items():
        os.makedirs(os.path.join(modulepath, name), exist_ok=True)
        with open(os.path.join(modulepath, name, "module.py"), "w") as handle:
            handle.write(textwrap.dedent(source))
    from confrt.paths import packaged_modules

    config = {"hiera_config": os.path.join(root, "hiera.yaml"), "statedir": os.path.join(root, "state"),
              "local_data": os.path.join(root, "local.yaml"), "facts_dir": os.path.join(root, "facts.d"),
              "modulepath": [modulepath, packaged_modules()]}
    with open(os.path.join(root, "confrt.yaml"), "w") as handle:
        yaml.safe_dump(config, handle)
    return {"CONFRT_CONFIG": os.path.join(root, "confrt.yaml")}

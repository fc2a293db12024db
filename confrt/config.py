"""confrt's own settings: /etc/confrt/confrt.yaml.

The path is taken from --config, else $CONFRT_CONFIG, else the default. A
missing default file means "all defaults"; a missing file named explicitly is
an error. Unknown keys are errors naming the key, so a typo never silently
falls back to a default.
"""
import os

from confrt.errors import ConfigError
from confrt.paths import packaged_hiera_config, packaged_modules

DEFAULT_PATH = "/etc/confrt/confrt.yaml"
ENV_VAR = "CONFRT_CONFIG"

# key -> (accepted types, default). Defaults that depend on the packaged
# location are filled in by _defaults().
_TOP = {
    "hiera_config": (str, "/etc/confrt/hiera.yaml"),
    "modulepath": (list, None),
    "statedir": (str, "/var/lib/confrt"),
    "local_data": (str, "/etc/confrt/data/local.yaml"),
    "facts_dir": (str, "/etc/confrt/facts.d"),
    "userdata": (dict, None),
    "run": (dict, None),
    "site_data": (dict, None),
}
_SECTIONS = {
    "userdata": {
        "sources": (list, ["ec2", "openstack", "nocloud", "context"]),
        "ec2_url": (str, "http://169.254.169.254"),
        "timeout": ((int, float), 2),
        "total_timeout": ((int, float), 10),
        "max_size": (int, 16 * 1024 * 1024),
        # amiconfig's /etc/amiconfig/default.cfg [general] enabled_plugins / disabled_plugins
        "amiconfig_plugins": (list, ["cernvm", "rootsshkeys"]),
        "amiconfig_disabled_plugins": (list, []),
        # where older images' userdata wrote the runtime data (BNL provisioning toolkit)
        "legacy_local_data": (list, ["/etc/hiera/local.yaml", "/etc/hiera/userdata.yaml"]),
    },
    "run": {
        "refresh_userdata": (bool, False),
        "splaylimit": (int, 3420),  # the hour less 3 minutes for the run itself: the fleet spread evenly
        "log_dir": (str, "/var/log/confrt"),
    },
    # the site's data from a signed git repository (confrt/site_data/); url "" = none
    "site_data": {
        "url": (str, ""),
        "ref": (str, "main"),
        "allowed_signers": (str, "/etc/confrt/site_data/allowed_signers"),
        "revoked_signers": (str, ""),
        "gnupg_home": (str, ""),
        "allow_rewrite": (bool, False),
        "timeout": ((int, float), 30),
        "total_timeout": ((int, float), 300),
        "dir": (str, ""),
        "keep": (int, 3),
        "ssh_key": (str, ""),
        "known_hosts": (str, ""),
        "token_file": (str, ""),
        "token_user": (str, "git"),
    },
}


class Config:
    """Resolved settings. Attributes mirror the YAML keys; sections are dicts."""

    def __init__(self, values, path):
        self.path = path
        self.hiera_config = values["hiera_config"]
        self.modulepath = values["modulepath"]
        self.statedir = values["statedir"]
        self.local_data = values["local_data"]
        self.facts_dir = values["facts_dir"]
        self.userdata = values["userdata"]
        self.run = values["run"]
        self.site_data = values["site_data"]
        self._site_checkout = None  # (path, commit) of the site data this process reads, once found

    def effective_hiera_config(self, site_data=None):
        """The configured hiera.yaml, or the packaged one when it does not exist. One under the
        site data's `current` link is read in the checkout this process uses (or in `site_data`,
        the (directory, commit) of a candidate checkout)."""
        path = self.hiera_config
        if self.site_data["url"]:
            from confrt.site_data import in_checkout

            path = in_checkout(self, path, site_data)
        if os.path.exists(path):
            return path
        return packaged_hiera_config()

    def as_dict(self):
        return {key: getattr(self, key) for key in _TOP}

    def data_variables(self, site_data=None):
        """confrt's own variables in the data's interpolation scope: %{confrt.local_data},
        %{confrt.statedir} (module data derives paths from them, e.g. condor::summary_file) and
        %{confrt.site_data}, the checkout in use (or `site_data`: a candidate's (directory, commit))."""
        variables = {"local_data": self.local_data, "statedir": self.statedir}
        checkout = site_data or self.site_data_checkout()
        if checkout:  # else undefined: the levels naming it are skipped
            variables["site_data"] = checkout[0]
        return {"confrt": variables}

    def site_data_checkout(self):
        """(directory, commit) of the site data checkout this process reads, or None: the
        `current` link is read once, so a run reads one commit whatever a switch does meanwhile."""
        if self._site_checkout is None and self.site_data["url"]:
            from confrt.site_data import current_checkout

            self._site_checkout = current_checkout(self) or ()
        return self._site_checkout or None


def _check(path, where, key, value, types):
    from confrt.engine.params import is_instance, type_name

    if not is_instance(value, types):
        raise ConfigError(f"{path}: {where}{key}: expected {type_name(types)}, got {value!r}")


def _merge_section(path, name, given):
    schema = _SECTIONS[name]
    result = {key: default for key, (_, default) in schema.items()}
    for key, value in (given or {}).items():
        if key not in schema:
            raise ConfigError(f"{path}: {name}.{key}: unknown key (known: {', '.join(schema)})")
        _check(path, name + ".", key, value, schema[key][0])
        if key in _ITEM_CHECKS:
            _check_items(path, f"{name}.{key}", value, *_ITEM_CHECKS[key])
        result[key] = value
    return result


def _plugin_name(item):
    return isinstance(item, str) and item.replace("_", "").replace("-", "").isalnum()


def _absolute_path(item):
    return isinstance(item, str) and os.path.isabs(item)


#: settings naming a place on this machine, which must be absolute (run.log_dir too)
_ABSOLUTE = ("hiera_config", "statedir", "local_data", "facts_dir")

#: list settings whose items are checked: key -> (check(item) -> bool, what an item must be)
_ITEM_CHECKS = {
    "amiconfig_plugins": (_plugin_name, "an amiconfig plugin name"),
    "amiconfig_disabled_plugins": (_plugin_name, "an amiconfig plugin name"),
    "legacy_local_data": (_absolute_path, "an absolute path"),
}


def _check_items(path, where, values, check, what):
    for index, item in enumerate(values):
        if not check(item):
            raise ConfigError(f"{path}: {where}[{index}]: expected {what}, got {item!r}")


def userdata_defaults():
    """The userdata section's defaults (for code that decodes without a loaded config)."""
    return {key: list(default) if isinstance(default, list) else default
            for key, (_, default) in _SECTIONS["userdata"].items()}


def load_config(path=None):
    """Read confrt.yaml from `path`, $CONFRT_CONFIG or the default location."""
    explicit = path or os.environ.get(ENV_VAR)
    path = explicit or DEFAULT_PATH
    raw = {}
    if os.path.exists(path):
        raw = _read_yaml(path)
    elif explicit:
        raise ConfigError(f"{path}: config file not found")
    values = {key: default for key, (_, default) in _TOP.items()}
    values["modulepath"] = ["/etc/confrt/modules", packaged_modules()]
    for key, value in raw.items():
        if key not in _TOP:
            raise ConfigError(f"{path}: {key}: unknown key (known: {', '.join(_TOP)})")
        if key in _SECTIONS and value is None:  # `userdata:` with every setting commented out
            continue
        _check(path, "", key, value, _TOP[key][0])
        if key in _SECTIONS:
            continue
        values[key] = value
    for name in _SECTIONS:
        values[name] = _merge_section(path, name, raw.get(name))
    for i, entry in enumerate(values["modulepath"]):
        if not isinstance(entry, str):
            raise ConfigError(f"{path}: modulepath[{i}]: expected a string, got {entry!r}")
    for where, value in [(key, values[key]) for key in _ABSOLUTE] + [("run.log_dir", values["run"]["log_dir"])]:
        if not os.path.isabs(value):
            raise ConfigError(f"{path}: {where}: expected an absolute path, got {value!r} (a relative one "
                              f"would follow the working directory: / under systemd, root's home under cron)")
    if values["site_data"]["url"]:
        from confrt.site_data.settings import check_settings

        check_settings(path, values["site_data"])
    return Config(values, path)


def _read_yaml(path):
    from confrt.util.yamlfile import load_yaml_file

    try:
        data = load_yaml_file(path)
    except ConfigError:
        raise
    except Exception as exc:  # DataError from the loader carries the position
        raise ConfigError(str(exc)) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top, got {type(data).__name__}")
    return data

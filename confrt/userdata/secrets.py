"""No clear secret in the userdata: encrypt sensitive keys when building it, check them on the node.

Submit side (`confrt userdata build`, `confrt submit`): the keys of the data file that are
sensitive -- a module's Param(sensitive=True), or `lookup_options` saying `sensitive: true` in
the data file itself or in the module's data -- have each string of their value encrypted
for the image's public key as hiera-eyaml's ENC[PKCS7,...] (confrt/data/eyaml.py). The
public key is the one given, else the pkcs7_public_key of the eyaml level that reads
local_data in this host's hierarchy (packaged: /etc/confrt/keys/public_key.pkcs7.pem).
Sensitive keys and no public key is an error unless clear secrets are asked for.

Node side: local_data keeps the ENC values (local.yaml holds no clear secret either) and
the data store decrypts them when they are looked up. Before the userdata step accepts new
local_data, every ENC value in it is decrypted once with the keys of its level, so a value
this node cannot open fails the step (naming the key, never the value) and the last good
local_data stays.
"""
import os

from confrt.data.lookup_options import LOOKUP_OPTIONS, LookupOptions
from confrt.errors import DataError, UserdataError


class SecretsPolicy:
    """What build does with the sensitive keys of the data it embeds.

    public_key   the certificate to encrypt for (None: the hierarchy's, see local_data_keys)
    clear        send sensitive values in clear (a warning names them)
    hints        (how to give a public key, how to ask for clear secrets), for the error line
    """

    def __init__(self, config, public_key=None, clear=False, warn=None,
                 hints=("--public-key FILE", "--clear-secrets")):
        self.config = config
        self.public_key = public_key
        self.clear = clear
        self.warn = warn or (lambda message: None)
        self.hints = hints
        self.encrypted_for = None  # the public key the last data_bytes() encrypted for

    def data_bytes(self, data, data_path, local_data):
        """The bytes to write as local_data: None when the file goes as it is (no sensitive
        string in it, or clear secrets asked for), else the data with its secrets encrypted."""
        from confrt.engine.plugins import modules

        self.encrypted_for = None
        found = modules(self.config)
        sensitive = sensitive_keys(data, data_path, found)
        self._warn_unmarked(data, data_path, found, sensitive)
        secret = [key for key in sensitive if _has_clear_string(data[key])]
        if not secret:
            return None
        if self.clear:
            self.warn(f"{data_path}: {', '.join(secret)}: sensitive, sent in clear ({self.hints[1]}): "
                      f"anything that can read the userdata can read them")
            return None
        from confrt.data.eyaml import Pkcs7Keys, encrypt_value
        from confrt.userdata.redact import is_sensitive
        from confrt.util.yamlfile import dump_yaml

        keys = Pkcs7Keys(public_key=self._public_key(data_path, secret[0], local_data))
        result = dict(data)
        for key in secret:
            result[key], clear = encrypt_value(data[key], keys, f"{data_path}: key '{key}'")
            for place in clear:  # a number in a sensitive hash (a port) is no secret, unless named like one
                if place and not is_sensitive(place.rpartition(".")[2]):
                    continue
                self.warn(f"{data_path}: {key}{' at ' + place if place else ''}: a number stays in clear "
                          f"(only strings are encrypted: quote it)")
        self.encrypted_for = keys.public_key
        header = (f"# {os.path.basename(data_path)}, its sensitive values encrypted for the image's "
                  f"public key (hiera-eyaml PKCS7)\n")
        return (header + dump_yaml(result)).encode("utf-8")

    def _public_key(self, data_path, first, local_data):
        """The public key's path; missing or unreadable is one error line naming the key."""
        path = self.public_key
        if path is None:
            keys, hiera = local_data_keys(self.config, local_data)
            path = keys.public_key if keys is not None else None
            if not path:
                raise UserdataError(f"{data_path}: {first}: sensitive, and no public key to encrypt it: "
                                    f"{hiera} has no eyaml_lookup_key level with pkcs7_public_key reading "
                                    f"{local_data}; give {self.hints[0]} (the image's eyaml public key) "
                                    f"or {self.hints[1]} to send it in clear")
        problem = readable_problem(path)
        if problem:
            raise UserdataError(f"{data_path}: {first}: sensitive, and no public key to encrypt it: "
                                f"{path}: {problem}; give {self.hints[0]} (the image's eyaml public key) "
                                f"or {self.hints[1]} to send it in clear")
        return path

    def _warn_unmarked(self, data, data_path, found, sensitive):
        """A key of no known module parameter whose name looks like a secret and that nothing
        marks sensitive goes in clear: say so, and how to mark it."""
        from confrt.userdata.redact import is_sensitive

        for key in data:
            if not isinstance(key, str) or key in sensitive or key == LOOKUP_OPTIONS or not is_sensitive(key):
                continue
            name, sep, param = key.partition("::")
            if sep and name in found and found[name].param(param) is not None:
                continue  # the module's author decided (condor::password_file is a path)
            self.warn(f"{data_path}: {key}: looks like a secret, but nothing marks it sensitive, so it goes "
                      f"in clear (mark it in the data file: lookup_options: {{{key}: {{sensitive: true}}}})")


def readable_problem(path):
    """Why the file at path cannot be read as a key, or None."""
    try:
        with open(path, "rb"):
            pass
    except OSError as exc:
        return exc.strerror
    return None if os.path.isfile(path) else "not a regular file"


def sensitive_keys(data, data_path, modules):
    """The top-level keys of `data` that are secrets, in the data's order: a module parameter
    marked sensitive, or lookup_options saying sensitive: true, read as the data store reads
    them: the data file's merged with the module data's (whose order of names comes first), or
    the data file's alone (a regex of the module data's that comes first, a merge only, must not
    send in clear what the data file's author marked sensitive)."""
    own = [(data_path, _options(data.get(LOOKUP_OPTIONS), data_path))]
    outside_modules = LookupOptions.merged(own)
    merged = {}  # module name -> own merged with its module data's lookup_options (read once)
    result = []
    for key in data:
        if not isinstance(key, str) or key == LOOKUP_OPTIONS:
            continue
        name, sep, param_name = key.partition("::")
        module = modules.get(name) if sep else None
        options = outside_modules
        if module is not None:
            param = module.param(param_name)
            if param is not None and param.sensitive:
                result.append(key)
                continue
            if name not in merged:
                merged[name] = LookupOptions.merged(own + _module_options(module))
            options = merged[name]
        if options.sensitive(key) or outside_modules.sensitive(key):
            result.append(key)
    return result


def _options(raw, path):
    """A data file's lookup_options ({} when it has none), checked as the data store does: a
    quoted `sensitive: "true"` the store refuses on the node must not send a secret in clear."""
    from confrt.data.store import check_options

    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise DataError(f"{path}: {LOOKUP_OPTIONS}: expected a hash of key -> options")
    check_options(path, raw)
    for name, option in raw.items():
        if "%{" in name and option.get("sensitive") is True:  # the node's interpolation names the keys
            raise DataError(f"{path}: {LOOKUP_OPTIONS}: '{name}': sensitive: a name interpolated on the node "
                            f"(%{{...}}) cannot tell userdata build which values to encrypt; write the name out")
    return raw


def _module_options(module):
    """[(path, lookup_options)] of the module's data, or []."""
    from confrt.util.yamlfile import load_yaml_file

    if not module.data_dir:
        return []
    path = os.path.join(module.data_dir, "common.yaml")
    if not os.path.isfile(path):
        return []
    data = load_yaml_file(path)
    return [(path, _options(data.get(LOOKUP_OPTIONS) if isinstance(data, dict) else None, path))]


def _has_clear_string(value):
    from confrt.data.eyaml import ENCRYPTED

    if isinstance(value, str):
        return bool(value) and not ENCRYPTED.search(value)
    if isinstance(value, dict):
        return any(_has_clear_string(item) for item in value.values())
    if isinstance(value, list):
        return any(_has_clear_string(item) for item in value)
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def local_data_keys(config, local_data=None, hiera_configs=None):
    """(the eyaml key pair of the hierarchy level that reads local_data, or None when the first
    level reading it is not an eyaml_lookup_key one or none does; the hiera.yaml's path).
    Levels naming a fact are skipped: the level of local_data names it with %{confrt.local_data}.
    `hiera_configs`: the run's parsed hiera.yaml files (None: parsed here)."""
    from confrt.data.hiera_config import EYAML, HieraConfigs
    from confrt.data.interpolate import Interpolator
    from confrt.data.scope import Scope
    from confrt.facts import Facts

    local_data = local_data or config.local_data
    path = config.effective_hiera_config()
    hiera = (hiera_configs or HieraConfigs()).load(path)
    interpolator = Interpolator(Scope(Facts.static({}), {"confrt": {"local_data": local_data}}), None)
    target = os.path.normpath(os.path.abspath(local_data))
    for level in hiera.levels:
        where = f"{path}: hierarchy level '{level.name}'"
        for location in level.locations(interpolator, where):
            if location.path and os.path.normpath(os.path.abspath(location.path)) == target:
                return (location.keys if level.backend == EYAML else None), path
    return None, path


def check_decryptable(config, data, hiera_configs=None):
    """Decrypt every ENC[...] value of new local_data once, with the keys of the level that reads
    it; the first that fails is a UserdataError naming the key (never the value). Data without
    ENC values costs nothing."""
    from confrt.data.eyaml import ENCRYPTED, decrypt_value

    encrypted = [key for key, value in data.items() if _holds_token(value, ENCRYPTED)]
    if not encrypted:
        return
    keys, hiera = local_data_keys(config, hiera_configs=hiera_configs)
    if keys is None:
        raise UserdataError(f"local_data key '{encrypted[0]}': holds an ENC[...] value, but no eyaml_lookup_key "
                            f"level of {hiera} reads {config.local_data} (the packaged hierarchy's does)")
    for key in encrypted:
        try:
            decrypt_value(data[key], keys, f"local_data key '{key}'")
        except DataError as exc:
            raise UserdataError(str(exc)) from None


def _holds_token(value, pattern):
    if isinstance(value, str):
        return bool(pattern.search(value))
    if isinstance(value, dict):
        return any(_holds_token(item, pattern) for item in value.values())
    if isinstance(value, list):
        return any(_holds_token(item, pattern) for item in value)
    return False

"""CernVM amiconfig `[section]` userdata, translated to confrt data keys.

Which sections count is amiconfig's rule: the image's plugins (confrt.yaml userdata.amiconfig_plugins,
default cernvm and rootsshkeys, as amiconfig's /etc/amiconfig/default.cfg), plus the userdata's
[amiconfig] plugins, minus its disabled_plugins; the image's amiconfig_disabled_plugins always win.
A section whose plugin is not enabled is skipped with a warning saying how to enable it. With
rootsshkeys enabled the metadata's root key selects the sshkeys class (confrt/userdata/local.py).

Translation table (section names case-insensitive; README "## Userdata" repeats it):

    [amiconfig] plugins = a,b            classes += modules of a, b (and enables their sections)
    [amiconfig] disabled_plugins = a     classes += "--<module>" knockouts
                (also the `disabed_plugins` misspelling of the CernVM docs)
    [cernvm]    repositories = a,b       cvmfs::repositories   [a, b]
                proxy = URL;DIRECT       cvmfs::http_proxy     "URL;DIRECT"
                organisations = a,b      cvmfs::organisations  [a, b]
                extra_repositories = name|server|b64key,...
                                         cvmfs::extra_repositories {name: {server, public_key}}
                                         (b64key: the PEM body, kept as it is)
                users = u:g:pw,...       accounts::users       {u: {group: g, password: pw}}
                                         (empty pw: no password key, the module makes one)
                shell = /bin/bash        accounts::shell
                environment = A=1,B=2    environment::variables {A: "1", B: "2"}
                services = a,b           services::enabled     [a, b]
                contextualization_command = user:cmd,...
                                         first_boot::commands  [{user, command, background: true}]
    [condor]    condor_master = HOST     condor::roles [execute], condor::collector_host HOST
                (no condor_master)       condor::roles [manager]
                condor_secret            condor::pool_password (sensitive)
                uid_domain = D           condor::uid_domain D (none: "%{networking.domain}", the
                                         host's domain, as amiconfig defaulted it)
                uid_domain = *           condor::uid_domain "*", trust_uid_domain and soft_uid_domain
                                         true (amiconfig: UID_DOMAIN = *, TRUST_ and SOFT_UID_DOMAIN)
                lowport, highport        condor::lowport, condor::highport (integers; default 9600 and
                                         9700, which amiconfig always wrote)
                collector_name           condor::collector_name
                allow_write              condor::allow_write
                extra_vars = A=1,B=2     condor::extra_config  {A: "1", B: "2"}
                hostname = FQDN          hostname::name (unless [hostname] gives one), class hostname
                condor_dir = DIR         condor::execute_dir DIR/lib/condor/execute (amiconfig made
                                         DIR the LOCAL_DIR; the job sandboxes are what needs the space)
                condor_user, condor_group  `condor`: nothing to do; another account: dropped, warned
    [squid]     backends = h1,h2         squid::backends [h1, h2] (cvmfs_server is added too)
                cache_dir, cache_dir_size, cache_mem, maximum_object_size_in_memory
                                         squid::<same name> (cache_dir_size an integer in MB;
                                         bare numbers: cache_mem in MB, the other in KB)
    [hostname]  hostname = NAME          hostname::name
    [storage]   swap                     ephemeral_disk::swap (true/false, a size in MB, or a string)
                relocate-paths = a:b     ephemeral_disk::relocate_paths [a, b]
                daemon, pre-allocated-space  dropped, warned (SPACEDAEMON below)
    [tcpbuffers] net.x.y = V             tcpbuffers::sysctls {net.x.y: "V"}
    [rootsshkeys]                        class sshkeys (the key comes from the metadata:
                                         sshkeys::metadata_keys)

A section adds its modules to `classes` (cernvm -> cvmfs, plus accounts, environment,
services, first_boot for their options; rootsshkeys -> sshkeys; storage -> ephemeral_disk;
others by name). Unknown sections and options are skipped with a warning (amiconfig's other
plugins have no confrt module). So is a value the module would refuse, which would otherwise
fail the whole run: a squid size that is no size (cache_mem = lots), a sysctl value that is
not numbers >= 0, a host name that is none, a swap that is neither true/false nor a size in MB;
in `users` an entry that is not user:group:password with valid names is skipped alone.
"""
import re

from confrt.errors import UserdataError
from confrt.userdata.decoded import Decoded
from confrt.userdata.decoding import b64decode, parse_int, split_list

#: amiconfig wrote its [squid] sizes into squid.conf as given, and its examples carry units
#: (cache_mem = 4096 MB, maximum_object_size_in_memory = 32 KB); squid reads a bare number as
#: bytes, so a bare number here gets the unit of those examples.
SIZE = re.compile(r"^(\d+)\s*([A-Za-z]*)$")
UNITS = {"b": "bytes", "byte": "bytes", "bytes": "bytes", "k": "KB", "kb": "KB",
         "m": "MB", "mb": "MB", "g": "GB", "gb": "GB"}

PLUGIN_MODULES = {
    "rootsshkeys": ["sshkeys"],
    "cernvm": ["cvmfs", "accounts"],
    "condor": ["condor"],
    "squid": ["squid"],
    "hostname": ["hostname"],
    "storage": ["ephemeral_disk"],
    "tcpbuffers": ["tcpbuffers"],
}


#: RFC 1123 host name labels; user and group names as useradd takes them (resources/_accounts.py)
HOST_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")
ACCOUNT_NAME = re.compile(r"^[a-z_][a-z0-9_.-]{0,31}\$?$")


class Skip(Exception):
    """A converter's refusal of a value: the option is skipped with a warning naming the problem.
    `partial`: what to keep anyway (the good entries of a list), `problems`: one per entry left out."""

    def __init__(self, problems, partial=None):
        super().__init__(problems[0])
        self.problems = problems
        self.partial = partial


def _skipped(what, section, option):
    return f"{what}: [{section}] {option}: not supported, skipped"


def _pairs(value, what):
    """'A=1,B=2' -> {'A': '1', 'B': '2'}."""
    result = {}
    for item in split_list(value):
        name, sep, val = item.partition("=")
        if not sep or not name.strip():
            raise UserdataError(f"{what}: expected NAME=value, got {item!r}")
        result[name.strip()] = val.strip()
    return result


def _scalar(value, what):
    """'true' -> True, '2048' -> 2048, anything else stays a string."""
    word = value.strip().lower()
    if word in ("true", "yes", "on", "false", "no", "off"):
        return word in ("true", "yes", "on")
    return int(word) if word.isdigit() else value.strip()


def _text(value, what):
    return value.strip()


def _squid_size(value, default_unit):
    """(number, unit) of a size with a known or no unit (the default then), else None."""
    match = SIZE.match(value.strip())
    if not match:
        return None
    suffix = match.group(2).lower()
    unit = UNITS.get(suffix) if suffix else default_unit
    return (int(match.group(1)), unit) if unit else None


def _size(default_unit):
    """A squid size: a bare number gets default_unit ('4096' -> '4096 MB'), units are spelt as squid's
    docs do ('32kb' -> '32 KB'); anything else is skipped (Skip)."""
    def convert(value, what):
        size = _squid_size(value, default_unit)
        if not size:
            raise Skip([f"expected a size (a number, in {default_unit} unless it names bytes, KB, MB or GB), "
                        f"got {value.strip()!r}"])
        return f"{size[0]} {size[1]}"
    return convert


def _megabytes(value, what):
    """cache_dir_size: squid's cache_dir takes MB; '50000', '50000 MB' and '50 GB' are accepted."""
    size = _squid_size(value, "MB")
    if not size or size[1] not in ("MB", "GB"):
        raise UserdataError(f"{what}: expected a size in MB (a number), got {value.strip()!r}")
    return size[0] * (1024 if size[1] == "GB" else 1)


def _list(value, what):
    return split_list(value)


def _users(value, what):
    """user:group:password entries (group and password may be empty); a malformed one is left out
    with a warning naming it (never its password), the others kept."""
    users, problems = {}, []
    for number, item in enumerate(split_list(value), 1):
        fields = item.split(":", 2)
        name = fields[0].strip()
        group = fields[1].strip() if len(fields) > 1 else ""
        if len(fields) != 3 or not ACCOUNT_NAME.match(name) or group and not ACCOUNT_NAME.match(group):
            # the user's name only: what follows it may be a password
            problems.append(f"entry {number} (user {name!r}, {len(fields)} field{'s' if len(fields) > 1 else ''}): "
                            f"expected user:group:password (names of lower case letters, digits, '_', '-', '.'), "
                            f"entry skipped")
            continue
        entry = {"group": group or name}
        if fields[2]:
            entry["password"] = fields[2]
        users[name] = entry
    if problems:
        raise Skip(problems, users or None)
    return users


def _hostname(value, what):
    """A host name (RFC 1123: labels of letters, digits and '-', at most 63 each, 253 in all)."""
    name = value.strip()
    if not name or len(name) > 253 or not all(HOST_LABEL.match(label) for label in name.rstrip(".").split(".")):
        raise Skip([f"{name!r} is not a host name (labels of letters, digits and '-', at most 63 each)"])
    return name


def _sysctl_value(value, what):
    """A TCP buffer sysctl: whole numbers >= 0, one or three ('4096 87380 16777216')."""
    words = value.split()
    if not words or not all(word.isascii() and word.isdigit() for word in words):
        raise Skip([f"expected whole numbers >= 0 (one, or min default max), got {value.strip()!r}"])
    return " ".join(words)


def _swap(value, what):
    """true/false (yes/no/on/off) or a size in MB."""
    swap = _scalar(value, what)
    if isinstance(swap, bool) or isinstance(swap, int) and swap > 0:
        return swap
    raise Skip([f"expected true, false or a size in MB, got {value.strip()!r}"])


def _extra_repositories(value, what):
    repos = {}
    for item in split_list(value):
        fields = item.split("|")
        if len(fields) != 3 or not fields[0].strip():
            raise UserdataError(f"{what}: expected name|server|base64key, got an entry with "
                                f"{len(fields)} fields")
        repos[fields[0].strip()] = {"server": fields[1].strip(),
                                    "public_key": _public_key(fields[2], f"{what}: {fields[0].strip()}")}
    return repos


def _public_key(field, what):
    """The key as CernVM gives it: the bare base64 body of a PEM public key, passed through.

    A field that decodes to PEM text (a whole PEM file base64-encoded) gives that PEM."""
    body = "".join(field.split())
    decoded = b64decode(body, what)
    if decoded.startswith(b"-----BEGIN"):
        return decoded.decode("ascii", "replace")
    return body


def _commands(value, what):
    commands = []
    for item in split_list(value):
        user, sep, command = item.partition(":")
        if not sep or not user.strip() or not command.strip():
            raise UserdataError(f"{what}: expected user:command")
        # CernVM's init script ran it in the background (`su - user -c "cmd &"`): a pilot, an agent
        command = command.strip()
        if len(command) > 1 and command[0] == command[-1] and command[0] in "'\"":
            command = command[1:-1]  # the docs' panda:'/path/runPanda -m ...': CernVM's su -c broke on it
        commands.append({"user": user.strip(), "command": command, "background": True})
    return commands


def _mapped(section, converters, options, what, data):
    """Options -> data keys by {option: (data key, convert(value, where))}; yields warnings (an
    option skipped: unknown, or its value refused by the converter with Skip)."""
    for option, value in options.items():
        if option in converters:
            key, convert = converters[option]
            try:
                data[key] = convert(value, f"{what}: [{section}] {option}")
            except Skip as skip:
                if skip.partial is not None:
                    data[key] = skip.partial
                yield from _refused(what, section, option, skip)
        else:
            yield _skipped(what, section, option)


def _refused(what, section, option, skip):
    """The warnings of a value refused (Skip): the option skipped, or the entries left out."""
    for problem in skip.problems:
        yield f"{what}: [{section}] {option}: {problem}" + ("" if problem.endswith("skipped") else ", skipped")


def _one_to_one(section, modules, converters):
    """A section that adds `modules` to classes and maps each option onto one data key."""
    def translate(options, what, data, classes):
        classes.extend(modules)
        yield from _mapped(section, converters, options, what, data)
    return translate


CERNVM = {
    "repositories": ("cvmfs::repositories", _list),
    "organisations": ("cvmfs::organisations", _list),
    "proxy": ("cvmfs::http_proxy", _text),
    "extra_repositories": ("cvmfs::extra_repositories", _extra_repositories),
    "users": ("accounts::users", _users),
    "shell": ("accounts::shell", _text),
    "environment": ("environment::variables", _pairs),
    "services": ("services::enabled", _list),
    "contextualization_command": ("first_boot::commands", _commands),
}
CONDOR = {
    "condor_secret": ("condor::pool_password", _text),
    "collector_name": ("condor::collector_name", _text),
    "allow_write": ("condor::allow_write", _text),
    "lowport": ("condor::lowport", parse_int),
    "highport": ("condor::highport", parse_int),
    "extra_vars": ("condor::extra_config", _pairs),
}
#: the host's domain, as the node's data store resolves it
CONDOR_HOST_DOMAIN = "%{networking.domain}"
CONDOR_PORTS = {"condor::lowport": 9600, "condor::highport": 9700}
SQUID = {
    "cache_dir": ("squid::cache_dir", _text),
    "cache_dir_size": ("squid::cache_dir_size", _megabytes),
    "cache_mem": ("squid::cache_mem", _size("MB")),
    "maximum_object_size_in_memory": ("squid::maximum_object_size_in_memory", _size("KB")),
}


#: [cernvm] data key -> the module that reads it (added to classes when the option is given)
CERNVM_MODULES = {"accounts::users": "accounts", "accounts::shell": "accounts",
                  "environment::variables": "environment", "services::enabled": "services",
                  "first_boot::commands": "first_boot"}


def _cernvm(options, what, data, classes):
    yield from _mapped("cernvm", CERNVM, options, what, data)
    classes.append("cvmfs")
    classes.extend(module for key, module in CERNVM_MODULES.items() if key in data)


def _dropped(what, section, option, reason):
    return f"{what}: [{section}] {option}: dropped: {reason} (README \"Userdata\")"


def _condor(options, what, data, classes):
    classes.append("condor")
    rest = dict(options)
    hostname = rest.pop("hostname", "").strip()
    if hostname:  # amiconfig's condor plugin ran `hostname NAME`; a [hostname] section wins
        try:
            data.setdefault("hostname::name", _hostname(hostname, what))
            classes.append("hostname")
        except Skip as skip:
            yield from _refused(what, "condor", "hostname", skip)
    for option in ("condor_user", "condor_group"):
        value = rest.pop(option, "").strip()
        if value and value != "condor":
            yield _dropped(what, "condor", f"{option} = {value}", "the daemons run as the HTCondor package's "
                           "condor account")
    condor_dir = rest.pop("condor_dir", "").strip()
    if condor_dir:
        if not condor_dir.startswith("/"):
            raise UserdataError(f"{what}: [condor] condor_dir: expected an absolute path, got {condor_dir!r}")
        # amiconfig made condor_dir HTCondor's LOCAL_DIR: the job sandboxes went to <dir>/lib/condor/execute
        data["condor::execute_dir"] = condor_dir.rstrip("/") + "/lib/condor/execute"
    master = rest.pop("condor_master", "").strip()
    data["condor::roles"] = ["execute"] if master else ["manager"]
    if master:
        data["condor::collector_host"] = master
    # amiconfig's UID_DOMAIN: the host's domain unless given; `*` also trusted the submitter's
    # domain and ran jobs under its uid even without a local account
    uid_domain = rest.pop("uid_domain", "").strip()
    data["condor::uid_domain"] = uid_domain or CONDOR_HOST_DOMAIN
    if uid_domain == "*":
        data["condor::trust_uid_domain"] = True
        data["condor::soft_uid_domain"] = True
    yield from _mapped("condor", CONDOR, rest, what, data)
    for key, port in CONDOR_PORTS.items():  # amiconfig wrote LOWPORT 9600 and HIGHPORT 9700 unless given
        data.setdefault(key, port)


def _squid(options, what, data, classes):
    classes.append("squid")
    rest = dict(options)
    backends = split_list(rest.pop("cvmfs_server", "")) + split_list(rest.pop("backends", ""))
    if backends:
        data["squid::backends"] = list(dict.fromkeys(backends))
    yield from _mapped("squid", SQUID, rest, what, data)


STORAGE = {
    "swap": ("ephemeral_disk::swap", _swap),
    "relocate-paths": ("ephemeral_disk::relocate_paths", lambda value, what: split_list(value, ":")),
}
#: rPath's spacedaemon pre-allocated (grew an unlinked file on) the instance store against the
#: first-write penalty of 2008's EC2 disks; today's instance stores need no pre-warming, and the
#: file only takes the space from jobs
SPACEDAEMON = "the space pre-allocation daemon worked around a first-write penalty of 2008's EC2 instance store"


def _storage(options, what, data, classes):
    classes.append("ephemeral_disk")
    rest = dict(options)
    for option in ("daemon", "pre-allocated-space"):
        if option in rest:
            rest.pop(option)
            yield _dropped(what, "storage", option, SPACEDAEMON)
    yield from _mapped("storage", STORAGE, rest, what, data)


def _tcpbuffers(options, what, data, classes):
    classes.append("tcpbuffers")
    sysctls = {}
    for option, value in options.items():
        if "." not in option:
            yield f"{what}: [tcpbuffers] {option}: not a sysctl name, skipped"
            continue
        try:
            sysctls[option] = _sysctl_value(value, what)
        except Skip as skip:
            yield from _refused(what, "tcpbuffers", option, skip)
    if sysctls:
        data["tcpbuffers::sysctls"] = sysctls


SECTIONS = {
    "cernvm": _cernvm,
    "condor": _condor,
    "squid": _squid,
    "hostname": _one_to_one("hostname", ["hostname"], {"hostname": ("hostname::name", _hostname)}),
    "storage": _storage,
    "tcpbuffers": _tcpbuffers,
    "rootsshkeys": _one_to_one("rootsshkeys", ["sshkeys"], {}),
}


def _plugin_words(value):
    """amiconfig splits plugin lists at blanks (userdata) or commas (default.cfg): both are accepted."""
    return [word.lower() for word in split_list(value.replace(" ", ","))]


def _plugin_classes(options, what):
    """[amiconfig] plugins / disabled_plugins -> (classes, knockouts, plugins named, plugins disabled,
    warnings)."""
    enabled, knocked, named, disabled, warnings = [], [], [], [], []
    for option, value in options.items():
        if option == "plugins":
            target, names = enabled, named
        elif option in ("disabled_plugins", "disabed_plugins"):
            target, names = knocked, disabled
        else:
            warnings.append(_skipped(what, "amiconfig", option))
            continue
        for plugin in _plugin_words(value):
            names.append(plugin)
            modules = PLUGIN_MODULES.get(plugin)
            if modules is None:
                warnings.append(f"{what}: [amiconfig] plugin {plugin}: no confrt module, skipped")
            else:
                target.extend(modules)
    return enabled, knocked, named, disabled, warnings


def enabled_plugins(settings, named=(), disabled=()):
    """amiconfig's rule: the image's plugins (userdata.amiconfig_plugins) plus the userdata's
    [amiconfig] plugins, minus its disabled_plugins; the image's amiconfig_disabled_plugins always win."""
    site_off = {plugin.lower() for plugin in settings["amiconfig_disabled_plugins"]}
    enabled = {plugin.lower() for plugin in settings["amiconfig_plugins"]} | set(named)
    return enabled - set(disabled) - site_off


def _not_enabled(what, section):
    return (f"{what}: [{section}]: amiconfig plugin {section} is not enabled, section skipped (enable it "
            f"with `plugins = {section}` under [amiconfig], or for the image in confrt.yaml "
            f"userdata.amiconfig_plugins)")


def translate(sections, what, settings=None):
    """{section: {option: value}} -> Decoded with the data keys of the table above.

    A section whose plugin is not enabled (see enabled_plugins) is skipped with a warning.
    decoded.amiconfig_plugins is the enabled set: with rootsshkeys in it the metadata's root key
    selects the sshkeys class (confrt/userdata/local.py)."""
    from confrt.config import userdata_defaults

    settings = settings or userdata_defaults()
    data, classes, warnings = {}, [], []
    enabled, knocked, named, disabled, notes = _plugin_classes(sections.get("amiconfig", {}), what)
    classes.extend(enabled)
    warnings.extend(notes)
    active = enabled_plugins(settings, named, disabled)
    for name, options in sections.items():
        if name == "amiconfig":
            continue
        if name not in SECTIONS:
            warnings.append(f"{what}: [{name}]: no confrt module for this section, skipped")
        elif name not in active:
            warnings.append(_not_enabled(what, name))
        else:
            warnings.extend(SECTIONS[name](options, what, data, classes))
    kept = [c for c in dict.fromkeys(classes) if c not in knocked]
    kept.extend("--" + c for c in dict.fromkeys(knocked))
    if kept:
        data["classes"] = kept
    decoded = Decoded(data)
    decoded.warnings.extend(warnings)
    decoded.amiconfig_plugins = active
    return decoded

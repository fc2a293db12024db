"""Local users and groups, and sudo rules as files in /etc/sudoers.d checked by `visudo -c`.

A user's password may be a crypt hash (kept as is) or, as amiconfig's
`users=u:g:pw` gives it, a plain password: it is hashed here with SHA-512
crypt and a salt derived from the user and the password, so the same input
gives the same hash and a converged run changes nothing. Only the hash reaches
the user resource, whose password attribute is always redacted.
"""
import hashlib
import re

from confrt.engine.module import CompileError, Param, resource_type

DOC = "Local users and groups, sudo rules in /etc/sudoers.d"

PARAMS = [
    Param("users", dict, {}, "user name -> {uid, group, groups, password, home, shell, comment, system, "
                             "managehome, ensure}"),
    Param("groups", dict, {}, "group name -> {gid, system, ensure} (or null)"),
    Param("shell", str, None, "login shell of users that name none"),
    Param("create_primary_groups", bool, True, "declare each user's named primary group too"),
    Param("sudo", dict, {}, "file name -> sudoers rule lines, written to <sudoers_dir>/<name>"),
    Param("sudoers_dir", str, "/etc/sudoers.d", "the sudoers include directory"),
]

#: user fields of the data -> attribute of the user resource
USER_FIELDS = {"uid": "uid", "group": "gid", "groups": "groups", "password": "password", "home": "home",
               "shell": "shell", "comment": "comment", "system": "system", "managehome": "managehome",
               "ensure": "ensure", "membership": "membership"}
GROUP_FIELDS = ("gid", "system", "ensure")
#: sudo skips include files whose names contain '.' or end in '~'
SUDO_FILE_NAME = re.compile(r"^[A-Za-z0-9_-]+$")


def declare(params, facts, ctx):
    groups = {}
    where = f"{ctx.origin('groups')}: accounts::groups"
    for name, fields in params["groups"].items():
        groups[name] = checked(resource_type("group"), name, fields or {}, {f: f for f in GROUP_FIELDS},
                               where)
    users = {}
    where = f"{ctx.origin('users')}: accounts::users"
    for name, fields in params["users"].items():
        attrs = checked(resource_type("user"), name, fields or {}, USER_FIELDS, where)
        if attrs.get("shell") is None and params["shell"] and attrs.get("ensure") != "absent":
            attrs["shell"] = params["shell"]
        users[name] = attrs
        primary = attrs.get("gid")
        if params["create_primary_groups"] and isinstance(primary, str) and not primary.isdigit() \
                and attrs.get("ensure") != "absent":
            groups.setdefault(primary, {})
    resources = [ctx.resource("group", name, attrs=attrs) for name, attrs in groups.items()]
    resources += [ctx.resource("user", name, attrs=attrs) for name, attrs in users.items()]
    return resources + sudo_files(params, ctx)


def checked(type_class, name, fields, names, where):
    """Resource attributes from a data entry, each checked by the type (errors name the field)."""
    if not isinstance(fields, dict):
        raise CompileError(f"{where}: {name}: expected a mapping of fields, got {type(fields).__name__}")
    try:
        type_class.param("name").convert(name)
    except ValueError as exc:
        raise CompileError(f"{where}: {name!r}: {exc}") from None
    attrs = {}
    for field, value in fields.items():
        if field not in names:
            raise CompileError(f"{where}: {name}: unknown field {field!r} (known: {', '.join(names)})")
        attribute = names[field]
        if attribute == "password":
            value = password_hash(name, value, f"{where}: {name}: password")
            if value is None:
                continue
        param = type_class.param(attribute)
        try:
            param.convert(value)
        except ValueError as exc:
            raise CompileError(f"{where}: {name}: {field}: {exc}") from None
        attrs[attribute] = value
    return attrs


def password_hash(user, value, where):
    """A crypt hash or lock marker as is; a plain password hashed; '' or None -> no password."""
    if value is None or value == "":
        return None
    if not isinstance(value, str) or "\n" in value or ":" in value:
        raise CompileError(f"{where}: expected a crypt hash or a password on one line without ':'")
    if value.startswith(("$", "!", "*")):
        return value
    salt = hashlib.sha256(f"{user}:{value}".encode()).digest()
    return sha512_crypt(value, "".join(CRYPT_ALPHABET[b % 64] for b in salt[:16]))


def sudo_files(params, ctx):
    where = f"{ctx.origin('sudo')}: accounts::sudo"
    resources = []
    for name, rules in params["sudo"].items():
        if not isinstance(name, str) or not SUDO_FILE_NAME.match(name):
            raise CompileError(f"{where}: {name!r}: sudo ignores include files whose names are not "
                               f"letters, digits, '_' and '-'")
        rules = [rules] if isinstance(rules, str) else rules
        if not isinstance(rules, list) or not all(isinstance(rule, str) for rule in rules):
            raise CompileError(f"{where}: {name}: expected a rule line or a list of them")
        resources.append(ctx.resource(
            "file", f"{params['sudoers_dir']}/{name}", mode="0440", owner="root", group="root",
            content=ctx.template("sudoers.j2", file_name=name, rules=[r.strip() for r in rules]),
            validate_cmd=["visudo", "-cf", "%s"]))
    return resources


CRYPT_ALPHABET = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
#: byte triples of the SHA-512 crypt output, in the order glibc encodes them
_ORDER = [(0, 21, 42), (22, 43, 1), (44, 2, 23), (3, 24, 45), (25, 46, 4), (47, 5, 26), (6, 27, 48),
          (28, 49, 7), (50, 8, 29), (9, 30, 51), (31, 52, 10), (53, 11, 32), (12, 33, 54), (34, 55, 13),
          (56, 14, 35), (15, 36, 57), (37, 58, 16), (59, 17, 38), (18, 39, 60), (40, 61, 19), (62, 20, 41)]


def sha512_crypt(password, salt, rounds=5000):
    """glibc's SHA-512 crypt ($6$), as Drepper specified it (Python's crypt module is going away)."""
    key, salt_bytes = password.encode("utf-8"), salt[:16].encode("ascii")
    sha = hashlib.sha512
    alternate = sha(key + salt_bytes + key).digest()
    context = sha(key + salt_bytes)
    length = len(key)
    while length > 64:
        context.update(alternate)
        length -= 64
    context.update(alternate[:length])
    length = len(key)
    while length:
        context.update(alternate if length & 1 else key)
        length >>= 1
    result = context.digest()
    p_bytes = _stretch(sha(key * len(key)).digest(), len(key))
    s_bytes = _stretch(sha(salt_bytes * (16 + result[0])).digest(), len(salt_bytes))
    for index in range(rounds):
        context = sha(p_bytes if index & 1 else result)
        if index % 3:
            context.update(s_bytes)
        if index % 7:
            context.update(p_bytes)
        context.update(result if index & 1 else p_bytes)
        result = context.digest()
    encoded = "".join(_b64(result[a] << 16 | result[b] << 8 | result[c], 4) for a, b, c in _ORDER)
    return f"$6${salt[:16]}${encoded}{_b64(result[63], 2)}"


def _stretch(digest, length):
    return (digest * (length // 64 + 1))[:length]


def _b64(value, count):
    text = ""
    for _ in range(count):
        text += CRYPT_ALPHABET[value & 0x3F]
        value >>= 6
    return text

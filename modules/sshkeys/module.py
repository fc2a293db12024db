"""SSH public keys: per-user authorized keys, root's key from the metadata, the VM owner's key.

The owner's key (VGrid's copyuserkey) is read at compile time: from the image's
key directory, else over https from key_repository_url + user name (certificate
verified). A fetched key is cached (a file resource), so a later fetch failure
declares the cached key; with no cache the user's hand-written keys are kept
(exclusive is turned off for that user) and the run warns. confrt's block of the
file holds exactly the declared keys (ssh_authorized_key), so a previous owner's
key leaves it.
"""
import hashlib
import os
import re

from confrt.engine.module import CompileError, Param, read_text, resource_type

DOC = "SSH authorized keys per user, root's key from the metadata, the VM owner's key"

USER_NAME = re.compile(r"^[a-z_][a-z0-9_.-]{0,31}$")
MAX_KEY_BYTES = 65536

PARAMS = [
    Param("keys", dict, {}, "user -> list of keys ('[options] type base64 comment' or a mapping "
                            "with type, key, comment, options)"),
    Param("exclusive", bool, False, "each managed user's authorized_keys holds only the keys declared here"),
    Param("root_from_metadata", bool, True, "give root the key(s) from the datasource (metadata_keys)"),
    Param("metadata_keys", list, [], "key lines from the datasource (EC2 public-keys, ROOT_PUBKEY); "
                                     "set by `confrt userdata`"),
    Param("owner", str, None, "the VM owner's user name (default: the owner_fact)"),
    Param("owner_fact", str, "cmdline.vgrid_username", "fact naming the VM owner (kernel command line)"),
    Param("owner_key_user", str, "root", "the account that gets the owner's key"),
    Param("key_directory", str, "/opt/ssh_public_keys", "local keys: <dir>/authorized_keys.<owner>"),
    Param("key_repository_url", str, None, "keys over https: <url><owner> (used when no local key)"),
    Param("allow_insecure_repository", bool, False, "allow a plain http key_repository_url"),
    Param("repository_ca_file", str, None, "CA bundle to verify the repository (default: the system's)"),
    Param("fetch_timeout", (int, float), 10, "seconds for the key fetch"),
    Param("cache_dir", str, "/var/lib/confrt/sshkeys", "where a fetched owner key is kept"),
]


def declare(params, facts, ctx):
    keys = {}        # user -> [parsed key]
    where = f"{ctx.origin('keys')}: sshkeys::keys"
    for user, entries in params["keys"].items():
        check_user(user, where)
        if not isinstance(entries, list):
            entries = [entries]
        keys.setdefault(user, []).extend(parse_key(entry, f"{where}: {user}[{i}]")
                                         for i, entry in enumerate(entries))
    if params["root_from_metadata"]:
        meta_where = f"{ctx.origin('metadata_keys')}: sshkeys::metadata_keys"
        keys.setdefault("root", []).extend(parse_key(entry, f"{meta_where}[{i}]")
                                           for i, entry in enumerate(params["metadata_keys"]))
    resources, keep_existing = owner_key(params, facts, ctx, keys)
    return resources + key_resources(ctx, keys, params["exclusive"], keep_existing)


def check_user(user, where):
    if not isinstance(user, str) or not USER_NAME.match(user):
        raise CompileError(f"{where}: {user!r}: not a user name")


def key_resources(ctx, keys, exclusive, keep_existing=()):
    """ssh_authorized_key resources; their titles are the key comments, unique in the catalog."""
    resources, used = [], set()
    for user, parsed in keys.items():
        for key in parsed:
            name = key["comment"] or f"{key['type']}-{hashlib.sha256(key['key'].encode()).hexdigest()[:12]}"
            if name in used:
                name = f"{name}@{user}"
            if name in used:
                continue  # the same key twice for one user
            used.add(name)
            resources.append(ctx.resource("ssh_authorized_key", name, user=user, type=key["type"],
                                          key=key["key"], options=key["options"],
                                          exclusive=exclusive and user not in keep_existing))
    return resources


def parse_key(entry, where):
    """A key line or mapping -> {type, key, comment, options}; CompileError naming `where`."""
    if isinstance(entry, dict):
        unknown = set(entry) - {"type", "key", "comment", "options"}
        if unknown:
            raise CompileError(f"{where}: unknown field {sorted(unknown)[0]!r} (type, key, comment, options)")
        options = entry.get("options") or []
        key = {"type": entry.get("type"), "key": entry.get("key"), "comment": entry.get("comment"),
               "options": options if isinstance(options, list) else split_options(str(options))}
    elif isinstance(entry, str) and entry.strip() and "\n" not in entry.strip():
        key = parse_key_line(entry.strip())
        if key["type"] not in key_types():
            raise CompileError(f"{where}: unknown key type {entry.split()[0]!r}")
    else:
        raise CompileError(f"{where}: expected a key line or a mapping, got {type(entry).__name__}")
    if key["type"] not in key_types():
        raise CompileError(f"{where}: unknown key type {key['type']!r}")
    if not isinstance(key["key"], str) or not key["key"]:
        raise CompileError(f"{where}: no key")
    try:  # the type's own checks: base64, the type the blob names
        resource_type("ssh_authorized_key").validate({"ensure": "present", "type": key["type"],
                                                      "key": key["key"]})
    except ValueError as exc:
        raise CompileError(f"{where}: {exc}") from None
    if key["comment"] is not None:
        key["comment"] = " ".join(str(key["comment"]).split()) or None
    return key


def key_types():
    """The key types sshd knows: those of the ssh_authorized_key type."""
    return resource_type("ssh_authorized_key").param("type").choices


def parse_key_line(line):
    """'[options] type base64 [comment]' (sshd's AUTHORIZED_KEYS FILE FORMAT)."""
    options = []
    first = line.split(None, 1)[0]
    if first not in key_types():
        text, rest = take_options(line)
        options = split_options(text)
        line = rest
    fields = line.split(None, 2)
    return {"type": fields[0] if fields else None, "key": fields[1] if len(fields) > 1 else None,
            "comment": fields[2] if len(fields) > 2 else None, "options": options}


def take_options(line):
    """(options text, rest of the line): options end at the first blank outside quotes."""
    quoted = False
    for index, char in enumerate(line):
        if char == '"':
            quoted = not quoted
        elif char.isspace() and not quoted:
            return line[:index], line[index:].strip()
    return line, ""


def split_options(text):
    """'a,command="x,y",b' -> ['a', 'command="x,y"', 'b']."""
    options, current, quoted = [], "", False
    for char in text:
        if char == '"':
            quoted = not quoted
        if char == "," and not quoted:
            options.append(current)
            current = ""
        else:
            current += char
    return [option for option in options + [current] if option]


def owner_key(params, facts, ctx, keys):
    """(resources, users whose existing keys must be kept) for the VM owner's key."""
    owner = params["owner"] or facts.get(params["owner_fact"])
    if not owner:
        return [], ()
    if not isinstance(owner, str) or not USER_NAME.match(owner):
        where = (f"{ctx.origin('owner')}: sshkeys::owner" if params["owner"]
                 else f"fact {params['owner_fact']}")
        raise CompileError(f"{where}: {owner!r}: not a user name")
    target = params["owner_key_user"]
    local = os.path.join(params["key_directory"], f"authorized_keys.{owner}")
    text = read_local(local)
    if text is not None:
        keys.setdefault(target, []).extend(parse_key_file(text, local))
        return [], ()
    if not params["key_repository_url"]:
        ctx.warn(f"owner key of {owner}: no {local} and no key_repository_url; keeping the keys of {target}")
        return [], (target,)
    url = params["key_repository_url"] + owner
    check_repository_url(url, params, ctx)
    cache = os.path.join(params["cache_dir"], f"authorized_keys.{owner}")
    try:
        text = fetch(url, params)
        parsed = parse_key_file(text, url)
    except (OSError, CompileError) as exc:
        text = read_local(cache)
        if text is None:
            ctx.warn(f"owner key of {owner}: {exc}; keeping the existing keys of {target}")
            return [], (target,)
        ctx.warn(f"owner key of {owner}: {exc}; using the key cached in {cache}")
        parsed = parse_key_file(text, cache)
    keys.setdefault(target, []).extend(parsed)
    return ctx.directories(params["cache_dir"]) + [ctx.resource("file", cache, content=text, mode="0644")], ()


def parse_key_file(text, where):
    """The keys of an authorized_keys text (blank and # lines skipped)."""
    return [parse_key(line.strip(), f"{where} line {number}")
            for number, line in enumerate(text.splitlines(), 1)
            if line.strip() and not line.lstrip().startswith("#")]


def read_local(path):
    """The file's text, or None when it does not exist."""
    try:
        return read_text(path)
    except CompileError as exc:
        raise CompileError(f"owner key: {exc}") from None


def check_repository_url(url, params, ctx):
    """https, or http when allowed: anything else is a compile error."""
    where = f"{ctx.origin('key_repository_url')}: sshkeys::key_repository_url"
    scheme = url.split(":", 1)[0].lower()
    if scheme == "http" and not params["allow_insecure_repository"]:
        raise CompileError(f"{where}: plain http is refused (use https, or set "
                           f"sshkeys::allow_insecure_repository)")
    if scheme not in ("http", "https"):
        raise CompileError(f"{where}: expected an https URL, got {url!r}")


def fetch(url, params):
    """GET url with certificate verification; OSError (with the reason) on any failure."""
    import http.client
    import ssl
    import urllib.error
    import urllib.request

    context = ssl.create_default_context(cafile=params["repository_ca_file"])
    where = f"cannot fetch {url}"
    try:
        with urllib.request.urlopen(url, timeout=params["fetch_timeout"], context=context) as response:
            status = response.status
            body = response.read(MAX_KEY_BYTES + 1)
    except urllib.error.HTTPError as exc:
        raise OSError(f"{where}: HTTP {exc.code}") from None
    except urllib.error.URLError as exc:
        raise OSError(f"{where}: {exc.reason}") from None
    except (OSError, ValueError, http.client.HTTPException) as exc:
        raise OSError(f"{where}: {exc}") from None
    if status != 200:
        raise OSError(f"{where}: HTTP {status}")
    if len(body) > MAX_KEY_BYTES:
        raise OSError(f"{where}: more than {MAX_KEY_BYTES} bytes")
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        raise OSError(f"{where}: not UTF-8 text") from None

"""The `site_data:` section of confrt.yaml, checked beyond its types (config.py checks those)."""
import os
import re

from confrt.errors import ConfigError

#: URL forms git is allowed to fetch from (also enforced with GIT_ALLOW_PROTOCOL at fetch time)
URL_SCHEMES = ("https://", "http://", "ssh://", "git://", "file://")
_SCP_LIKE = re.compile(r"^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:[^\s]+$")
_PATHS = ("allowed_signers", "revoked_signers", "gnupg_home", "dir", "ssh_key", "known_hosts", "token_file")


def check_settings(path, section):
    """Raise ConfigError (`CONFIG: site_data.KEY: problem`) for a setting git could not use safely."""
    def bad(key, problem):
        raise ConfigError(f"{path}: site_data.{key}: {problem}")

    url = section["url"]
    if any(char.isspace() or ord(char) < 32 for char in url):
        bad("url", "must not hold spaces or control characters")
    if not (url.startswith(URL_SCHEMES) or _SCP_LIKE.match(url) or os.path.isabs(url)):
        bad("url", f"expected a {', '.join(URL_SCHEMES)} URL, user@host:path or an absolute path")
    ref = section["ref"]
    if not ref or ref.startswith("-") or any(char.isspace() for char in ref):
        bad("ref", f"expected a branch, tag or ref name (may name facts: %{{facts.role}}), got {ref!r}")
    if not section["allowed_signers"]:
        bad("allowed_signers", "required with site_data.url: only commits signed by the site's keys are used")
    for key in _PATHS:
        if section[key] and not os.path.isabs(section[key]):
            bad(key, f"expected an absolute path, got {section[key]!r}")
    for key in ("timeout", "total_timeout"):
        if section[key] <= 0:
            bad(key, f"expected a number of seconds above 0, got {section[key]!r}")
    if section["keep"] < 2:
        bad("keep", f"expected 2 or more (the checkout in use and the one before it), got {section['keep']!r}")
    user = section["token_user"]
    if not user or ":" in user or any(char.isspace() for char in user):
        bad("token_user", f"expected a user name without ':' or spaces, got {user!r}")

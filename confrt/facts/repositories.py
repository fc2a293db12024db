"""yum_repos: the ids of the enabled dnf/yum repositories (/etc/yum.repos.d/*.repo).

What a module installs can depend on them: the squid module installs frontier-squid where an
OSG (or CERN Frontier) repository is configured. Not a facter fact.
"""
import os

REPOS_DIR = "/etc/yum.repos.d"
#: dnf's own reading of `enabled`: 1/yes/true/on (any case); a repository is enabled by default
FALSE = ("0", "no", "false", "off")


def yum_repos(host):
    """Sorted ids of the enabled repositories; [] without /etc/yum.repos.d (Debian). A file dnf
    could not parse either is skipped (dnf skips it too, with a warning). Variables ($releasever)
    in an id are not substituted."""
    try:
        names = sorted(name for name in os.listdir(host.path(REPOS_DIR)) if name.endswith(".repo"))
    except OSError:
        return []
    import configparser  # only where there are repositories to read (not on Debian)

    enabled, seen = set(), set()
    for name in names:
        parser = configparser.ConfigParser(interpolation=None, strict=False)
        parser.optionxform = str  # dnf's option names are case-sensitive: Enabled=0 is not enabled=0
        try:
            parser.read_string(host.read_text(f"{REPOS_DIR}/{name}", ""), source=name)
        except configparser.Error:
            continue
        # dnf: [main] is no repository; an id defined again in a later file keeps its first definition
        for repo in [repo for repo in parser.sections() if repo != "main" and repo not in seen]:
            seen.add(repo)
            if parser.get(repo, "enabled", fallback="1").strip().lower() not in FALSE:
                enabled.add(repo)
    return sorted(enabled)

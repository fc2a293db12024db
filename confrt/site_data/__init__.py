"""The site's data from a signed git repository (confrt.yaml `site_data:`), for hosts without userdata.

Each `confrt run` (boot and hourly, under the run lock, after the userdata step and before the
compile) fetches `site_data.ref` of `site_data.url` within the configured bounds, verifies the tip
commit's signature against the site's signers (an ssh allowed_signers file; a GnuPG home
optionally), refuses a tip that is not a descendant of the last commit taken from that ref
(unless `allow_rewrite`), checks the commit out into a new directory and compiles the run with
it. Only then is the `current` link switched to it (one rename: the only change point). Any
failure keeps the last good checkout: the step `site_data` of the run summary is failed (exit
bit 4) and the run goes on with the data it had. `--noop` does all of it in a temporary place and
switches nothing.

Layout, under `site_data.dir` (default `<statedir>/site_data`, mode 0700):

    repo.git/               a bare repository the fetches go into (refs/confrt/fetched)
    checkouts/<commit>/     the commit's files, one directory per commit taken (never changed)
    current -> checkouts/<commit>
    state.json              the commits taken (ref, signer) and the last fetch's result
    repo.clean              there while repo.git holds no leftover of a killed git (no sweep needed)

Readers (`%{confrt.site_data}` in hiera.yaml, see Config.data_variables) resolve `current` once
per process, so a run reads one commit's files however the link moves meanwhile; the last
`site_data.keep` checkouts stay for readers that resolved an older link.
"""
import os

from confrt.errors import ConfrtError

STEP = "site_data"
CURRENT = "current"
CHECKOUTS = "checkouts"


class SiteDataError(ConfrtError):
    """The site data step failed (fetch, signature, history, checkout): one line, secrets redacted."""


def site_dir(config):
    """Where the repository, the checkouts and the `current` link live."""
    return config.site_data["dir"] or os.path.join(config.statedir, "site_data")


def current_checkout(config):
    """(directory, commit) the `current` link names, or None (no good checkout yet, unreadable)."""
    base = site_dir(config)
    try:
        target = os.readlink(os.path.join(base, CURRENT))
    except OSError:
        return None
    path = os.path.normpath(os.path.join(base, target))
    if os.path.dirname(path) != os.path.join(base, CHECKOUTS) or not os.path.isdir(path):
        return None
    return path, os.path.basename(path)


def in_checkout(config, path, candidate=None):
    """`path`, or, when it lies under the `current` link, the same file in the checkout `config`
    reads or in the `candidate` (directory, commit): a hiera.yaml kept in the repository is read
    from the commit the run compiles with."""
    link = os.path.join(site_dir(config), CURRENT) + os.sep
    if not path.startswith(link):
        return path
    checkout = candidate or config.site_data_checkout()
    return os.path.join(checkout[0], path[len(link):]) if checkout else path

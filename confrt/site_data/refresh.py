"""The site data step of `confrt run`: fetch, verify, check out; the runner compiles, then take or refuse.

    site = fetch_site_data(config, report)    # None when site_data.url is not set
    ... compile with Candidate(site_data=site.candidate) when there is one, else with the data in use ...
    site.take(report)  |  site.refuse(report, compile_error)
    site.close()

Every outcome is the summary's step `site_data` (ok or failed: exit bit 4), with one line on
failure; the data in use stays until a candidate has compiled. In noop the fetch goes into a
temporary bare repository that borrows the real one's objects (objects/info/alternates), the
checkout into a temporary directory, and nothing under site_data.dir changes.
"""
import os
import re

from confrt.site_data import STEP, SiteDataError, site_dir
from confrt.site_data.checkouts import Checkouts, now, read_state
from confrt.site_data.git import Git, redacted_url

_REF = re.compile(r"^(?!-)(?!.*\.\.)(?!.*//)[A-Za-z0-9._/+-]+$")


def fetch_site_data(config, report, userdata_files=None):
    """The step's first half (site_data.url is set); -> SiteData, its candidate None when there is
    nothing new to take (the step is then recorded already). `userdata_files`: {path: content} the
    run's userdata writes once compiled, whose local_data's role the ref's %{facts} see."""
    site = SiteData(config, report.noop, userdata_files)
    with report.phase(STEP):
        try:
            site.fetch()
        except SiteDataError as exc:
            site.fail(report, str(exc))
        except OSError as exc:
            site.fail(report, f"{getattr(exc, 'filename', None) or site_dir(config)}: {exc.strerror}")
        except Exception as exc:  # a bug here must not stop the node from converging on its last good data
            site.fail(report, f"internal error ({type(exc).__name__}); `confrt run --noop --debug` shows it")
        else:
            if site.candidate is None:
                site.unchanged(report)
        if site.checkouts.repack_problem:  # housekeeping: said, the step not failed for it
            report.err.write(f"confrt: warning: site data: {site.checkouts.repository}: "
                             f"{site.checkouts.repack_problem}; repacked again next run\n")
    return site


def expand_ref(config, template, userdata_files=None):
    """site_data.ref with its %{facts} expanded (`%{facts.role}`, `%{networking.domain}`; the role
    of the local_data in `userdata_files` when it holds one)."""
    text = template
    if "%{" in template:
        from confrt.data.interpolate import Interpolator
        from confrt.data.scope import Scope
        from confrt.engine.run import Candidate, load_facts
        from confrt.errors import DataError

        scope = Scope(load_facts(config, candidate=Candidate(userdata_files)), config.data_variables())
        try:
            text, undefined = Interpolator(scope, None).path(template, "site_data.ref")
        except DataError as exc:
            raise SiteDataError(str(exc)) from None
        if undefined:
            raise SiteDataError(f"site_data.ref: {template}: {', '.join(undefined)} is not defined on this host")
    if not _REF.match(text) or text.endswith(("/", ".lock", ".")):
        raise SiteDataError(f"site_data.ref: {template}" + (f" gives {text!r}" if text != template else "")
                            + ": not a branch, tag or ref name")
    return text


class SiteData:
    """One run's site data step; `candidate` is (directory, commit) to compile with, or None."""

    def __init__(self, config, noop, userdata_files=None):
        self.config = config
        self.userdata_files = userdata_files
        self.settings = config.site_data
        self.noop = noop
        self.url = redacted_url(self.settings["url"])
        self.checkouts = Checkouts(config)
        self.in_use = config.site_data_checkout()
        self.ref = self.tip = self.signature = self.candidate = None
        self._temp = None

    # -- the fetch --------------------------------------------------------

    def fetch(self):
        self.ref = expand_ref(self.config, self.settings["ref"], self.userdata_files)
        git = self._temporary_git() if self.noop else self.checkouts.prepare(self._git)
        git.use_token()
        self.tip = git.fetch(self.ref) if self.noop else self.checkouts.fetch(git, self.ref)
        if self.in_use and self.in_use[1] == self.tip:
            return
        self.signature = git.signature(self.tip)
        problem = self.signature.problem(self.settings)
        if problem:
            raise SiteDataError(f"commit {self.tip}: refused: {problem}")
        taken = read_state(self.checkouts.base).get("refs", {}).get(self.ref)
        if taken and not self.settings["allow_rewrite"] and not git.is_ancestor(taken, self.tip):
            raise SiteDataError(f"commit {self.tip}: refused: not a descendant of {taken}, the last commit "
                                f"taken from {self.ref} (history rewritten; site_data.allow_rewrite allows it)")
        if self.noop:
            directory = os.path.join(self._temp, self.tip)
            os.mkdir(directory, 0o700)
            git.check_out(self.tip, directory, os.path.join(self._temp, "index"))
        else:
            directory = self.checkouts.check_out(git, self.tip)
        self.candidate = (directory, self.tip)

    def _git(self, git_dir):
        return Git(self.settings, git_dir)

    def _temporary_git(self):
        import tempfile

        self._temp = tempfile.mkdtemp(prefix="confrt-site-data-")
        git = self._git(os.path.join(self._temp, "repo.git"))
        git.init()
        objects = os.path.join(self.checkouts.repository, "objects")
        if os.path.isdir(objects):  # fetch only what is new; the real repository is only read
            with open(os.path.join(git.git_dir, "objects", "info", "alternates"), "w") as handle:
                handle.write(objects + "\n")
        return git

    # -- outcomes ---------------------------------------------------------

    def unchanged(self, report):
        self._record(report, "ok", last_fetch={"status": "ok", "commit": self.tip})

    def take(self, report):
        """The candidate compiled: switch `current` to it (not in noop), prune, record the step."""
        directory, commit = self.candidate
        details = {"signer": self.signature.describe(), "key": self.signature.key}
        if self.noop:
            report.out.write(f"confrt: site data: would take commit {commit} of {self.ref}, signed by "
                             f"{details['signer']} (noop)\n")
            self._record(report, "ok", would_take=commit, **details)
            return
        state = self.checkouts.read_state()
        state.setdefault("checkouts", {})[commit] = dict(details, ref=self.ref, taken=now())
        try:
            self.checkouts.write_state(state)  # before the switch: `current` never names a commit state lacks
            self.checkouts.switch(commit)
        except OSError as exc:
            self.fail(report, f"commit {commit}: cannot switch to it: {exc.strerror}")
            return
        state.setdefault("refs", {})[self.ref] = commit
        pruned = self.checkouts.prune(self.settings["keep"])
        for gone in pruned:
            state["checkouts"].pop(gone, None)
        report.out.write(f"confrt: site data: took commit {commit} of {self.ref}, signed by {details['signer']}"
                         + (f" (was {self.in_use[1]})" if self.in_use else "") + "\n")
        self.in_use = (directory, commit)
        self._record(report, "ok", state=state, taken=commit, **details)

    def refuse(self, report, error):
        """The candidate's data does not compile (`error`): forget it, keep the data in use."""
        directory, commit = self.candidate
        if not self.noop:
            self.checkouts.discard(directory)
        self.fail(report, f"commit {commit}: refused: its data does not compile: {error}")

    def fail(self, report, error):
        kept = self.in_use[1] if self.in_use else None
        report.log_error(f"site data: {self.url} {self.ref or self.settings['ref']}: {error}; "
                         + (f"keeping commit {kept}" if kept else "no site data yet: the other data only"))
        self._record(report, "failed", error=error, last_fetch={"status": "failed", "commit": self.tip,
                                                                "error": error})

    def _record(self, report, status, state=None, last_fetch=None, **details):
        commit = self.in_use[1] if self.in_use else None
        report.step(STEP, status, url=self.url, ref=self.ref or self.settings["ref"], commit=commit, **details)
        if self.noop or not os.path.isdir(self.checkouts.base):
            return
        state = state if state is not None else self.checkouts.read_state()
        state["last_fetch"] = dict(last_fetch or {"status": status, "commit": self.tip}, time=now(),
                                   ref=self.ref or self.settings["ref"], in_use=commit)
        try:
            self.checkouts.write_state(state)
        except OSError as exc:
            report.log_error(f"site data: {self.checkouts.base}: cannot write the state: {exc.strerror}")

    def close(self):
        if self._temp:
            import shutil

            shutil.rmtree(self._temp, ignore_errors=True)
            self._temp = None

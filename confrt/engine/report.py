"""The run report: log lines as changes happen, the JSON report, Puppet's last_run_summary.yaml.

A resource in sync costs one list append (its ref) and its time; only changed,
failed and skipped resources get a status record. Sensitive values never reach
the report or the log lines: Change.to_dict() redacts a change marked sensitive,
a change of a sensitive attribute is shown redacted whoever made it, and the
texts of a resource with sensitive attributes (change messages, failure and
skip reasons: a provider may quote a value, a command its output) have each of
those values replaced by [redacted].
"""
import contextlib
import os
import sys
import time

from confrt import __version__

REPORT_FILE = "last_run_report.json"
SUMMARY_FILE = "last_run_summary.yaml"
#: A noop's report and summary: beside the real run's, which they never replace. What reads the last
#: run (condor's START guard through ConfrtLastRunStatus, monitoring) sees the last real run, whatever
#: an operator previews in between.
NOOP_REPORT_FILE = "last_noop_report.json"
NOOP_SUMMARY_FILE = "last_noop_summary.yaml"

_RED, _GREEN, _CYAN, _RESET = "\033[31m", "\033[32m", "\033[36m", "\033[0m"


def process_started():
    """Wall-clock time this process started (from /proc, to 10 ms), else now."""
    try:
        with open("/proc/self/stat") as handle:
            fields = handle.read().rpartition(")")[2].split()
        with open("/proc/uptime") as handle:
            uptime = float(handle.read().split()[0])
        age = uptime - int(fields[19]) / os.sysconf("SC_CLK_TCK")
        return time.time() - max(0.0, age)
    except (OSError, ValueError, IndexError):
        return time.time()


def data_version(catalog):
    """The catalog's version (summary version.config, condor's ConfrtDataVersion; when the run read
    site data its commit is version.config and this version.catalog): 12 hex digits of the sha256
    of the catalog's resources as canonical JSON. The catalog is what the data, modules and facts
    made, so equal catalogs give equal versions; sensitive values enter only as their own sha256,
    so a changed secret changes the version and never appears in it."""
    import hashlib
    import json

    def plain(value):  # what json cannot write itself
        if isinstance(value, bytes):
            return {"sha256": hashlib.sha256(value).hexdigest()}
        if isinstance(value, (set, frozenset)):
            return sorted(map(str, value))
        return str(value)

    def canonical(value):
        return json.dumps(value, sort_keys=True, separators=(",", ":"), default=plain)

    resources = []
    for ref, resource in sorted(catalog.resources.items()):
        attrs = {name: ({"sha256": hashlib.sha256(canonical(value).encode()).hexdigest()}
                        if name in resource.sensitive else value)
                 for name, value in resource.attrs.items()}
        resources.append([ref, attrs, sorted(resource.tags),
                          {kind: sorted(map(str, refs)) for kind, refs in resource.relations.items()}])
    return hashlib.sha256(canonical(resources).encode()).hexdigest()[:12]


def secret_texts(resource):
    """The texts of a resource's sensitive attributes that a message could quote, longest first:
    each string of 4 characters or more (in lists and hashes too) but its title (the ref shows it
    anyway), its mode and the words of enumerated attributes (_COMMON): replacing those would only
    garble the messages (a mode, '0644', inside a checksum)."""
    texts = set()
    for name in resource.sensitive:
        if name != "mode":
            _collect_texts(resource.attrs.get(name), texts)
    texts.discard(resource.title)
    return sorted((text for text in texts if len(text.strip()) >= 4 and text not in _COMMON), key=len,
                  reverse=True)


#: values of enumerated attributes, never secrets (a sensitive `ensure: present` stays readable)
_COMMON = frozenset({"present", "absent", "file", "directory", "link", "running", "stopped", "true", "false",
                     "installed", "latest", "purged", "mounted", "unmounted"})


def _collect_texts(value, texts):
    if isinstance(value, str):
        texts.add(value)
    elif isinstance(value, (list, tuple)):
        for item in value:
            _collect_texts(item, texts)
    elif isinstance(value, dict):
        for key, item in value.items():
            _collect_texts(key, texts)
            _collect_texts(item, texts)


def redact_values(resource, text):
    """`text` with every value of the resource's sensitive attributes replaced by [redacted]."""
    if not text or not getattr(resource, "sensitive", None):
        return text
    from confrt.util.redaction import REDACTED

    for secret in secret_texts(resource):
        text = text.replace(secret, REDACTED)
    return text


def _redacted_change(resource, change):
    """The change as it may be shown: redacted when its attribute is sensitive (its old value may
    be a secret too), its message without the sensitive attributes' values."""
    from confrt.resources.base import Change

    if change.sensitive:
        return change
    if change.property in resource.sensitive and change.property != "ensure":  # ensure: a state, not a value
        return Change(change.property, None, None, sensitive=True)
    message = redact_values(resource, change.message)
    if message == change.message:
        return change
    return Change(change.property, None, None, message=message, sensitive=True)


class Report:
    """Collects what a run did; `out`/`err` get the log lines."""

    def __init__(self, noop=False, out=None, err=None, color=None, started=None):
        self.noop = noop
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        if color is None:  # colour on a terminal, unless NO_COLOR is set (no-color.org)
            color = self.out.isatty() and not os.environ.get("NO_COLOR")
        self.color = color
        self.started = started if started is not None else process_started()
        self.times = {"startup": max(0.0, time.time() - self.started)}
        self.type_times = {}
        self.in_sync = []          # (ref, seconds) of resources that needed nothing
        self.statuses = {}         # ref -> status dict for the others
        self.total = 0
        self.fatal = None
        self.finished = None
        self.steps = {}            # name -> {"status": ok|failed|skipped, ...}: run steps besides the catalog
        self.data_version = None   # data_version() of the run's catalog: summary version.config
        self.edits = {}            # noop: path -> [text found, text left, shown] of files resources share
        self.site_data_commit = None  # the site data's commit the run compiled with: version.config instead

    @contextlib.contextmanager
    def phase(self, name):
        """Time a phase ('facts', 'compile', 'apply' ...) of the run."""
        start = time.perf_counter()
        try:
            yield
        finally:
            self.times[name] = self.times.get(name, 0.0) + time.perf_counter() - start

    # -- per resource -----------------------------------------------------

    def _record(self, resource, seconds):
        self.total += 1
        self.type_times[resource.type] = self.type_times.get(resource.type, 0.0) + seconds

    def in_sync_resource(self, resource, seconds):
        self._record(resource, seconds)
        self.in_sync.append((resource.ref, seconds))

    def _status(self, resource, status, seconds):
        self._record(resource, seconds)
        entry = {"status": status, "type": resource.type, "title": resource.title,
                 "module": resource.module, "tags": sorted(resource.tags), "changes": [], "events": [],
                 "time": round(seconds, 6)}
        self.statuses[resource.ref] = entry
        return entry

    def changed(self, resource, changes, seconds, failure=None):
        """Changes made (or, in noop, found); failure: why applying them failed. A failed resource
        logs no change line (none of them may have been made): its error line names what it
        attempted."""
        if self.noop and not failure:
            self._note_edits(resource, changes)
        if getattr(resource, "sensitive", None):
            changes = [_redacted_change(resource, change) for change in changes]
            failure = failure and redact_values(resource, failure)
        status = "failed" if failure else ("noop" if self.noop else "changed")
        entry = self._status(resource, status, seconds)
        event_status = "failure" if failure else ("noop" if self.noop else "success")
        for change in changes:
            data = change.to_dict()
            entry["changes"].append(data)
            entry["events"].append(dict(data, status=event_status))
            if not failure:
                self.log_change(resource, change)
        if failure:
            entry["failure"] = failure
            attempted = "; ".join(f"{change.property}: {change.message}" for change in changes)
            self.log_error(f"{resource.ref}: failed: {failure} (attempted {attempted})")

    def failed(self, resource, reason, seconds=0.0):
        reason = redact_values(resource, reason)
        entry = self._status(resource, "failed", seconds)
        entry["failure"] = reason
        self.log_error(f"{resource.ref}: failed: {reason}")

    def skipped(self, resource, reason):
        reason = redact_values(resource, reason)
        entry = self._status(resource, "skipped", 0.0)
        entry["skip_reason"] = reason
        self.log_error(f"{resource.ref}: skipped: {reason}")

    def log_change(self, resource, change):
        suffix = " (noop)" if self.noop else ""
        line = f"{resource.ref}/{change.property}: {change.message}{suffix}"
        self.out.write((f"{_CYAN}{line}{_RESET}" if self.color else line) + "\n")
        if self.noop and change.diff:
            self.out.write(self._colour_diff(change.diff) if self.color else change.diff)

    def _note_edits(self, resource, changes):
        """Remember the texts of the shared files these changes edit (Change.edit); a resource with
        sensitive attributes (its line, key or value may be in the text) hides the file's diff."""
        for change in changes:
            if change.edit is None:
                continue
            path, old, new = change.edit
            shown = not change.sensitive and not getattr(resource, "sensitive", None)
            if path in self.edits:
                self.edits[path][1:] = [new, shown and self.edits[path][2]]
            else:
                self.edits[path] = [old, new, shown]

    def log_edits(self):
        """After the change lines of a noop, one diff per file that several resources may edit (a
        sysctl.d file, fstab, authorized_keys): from the text the run found to the one it leaves,
        however many resources change it (each has its change line)."""
        from confrt.resources.file import unified_diff

        for path, (old, new, shown) in self.edits.items():
            diff = shown and unified_diff((old or "").encode("utf-8"), new.encode("utf-8"), path)
            if diff:
                self.out.write(self._colour_diff(diff) if self.color else diff)
        self.edits = {}

    def _colour_diff(self, diff):
        lines = []
        for line in diff.splitlines(keepends=True):
            if line.startswith("+") and not line.startswith("+++"):
                line = f"{_GREEN}{line.rstrip(chr(10))}{_RESET}\n"
            elif line.startswith("-") and not line.startswith("---"):
                line = f"{_RED}{line.rstrip(chr(10))}{_RESET}\n"
            lines.append(line)
        return "".join(lines)

    def log_error(self, line):
        self.err.write(f"confrt: {line}\n")

    def step(self, name, status, **details):
        """Record a step of `confrt run` outside the catalog (userdata, first-boot scripts).

        A failed step sets the failure bit of the exit code; details must hold no secrets.
        """
        self.steps[name] = dict(details, status=status)

    # -- totals -----------------------------------------------------------

    def count(self, status):
        return sum(1 for entry in self.statuses.values() if entry["status"] == status)

    def events(self):
        counts = {"failure": 0, "success": 0, "noop": 0}
        for entry in self.statuses.values():
            for event in entry["events"]:
                counts[event["status"]] += 1
        counts["total"] = sum(counts.values())
        return counts

    @property
    def has_changes(self):
        """Changes made (or found, in noop); failed attempts count as failures only."""
        return any(entry["status"] in ("changed", "noop") for entry in self.statuses.values())

    @property
    def has_failures(self):
        return (self.fatal is not None or any(e["status"] == "failed" for e in self.statuses.values())
                or any(step["status"] == "failed" for step in self.steps.values()))

    def exit_code(self, detailed):
        """--detailed-exitcodes: 2 changes (also pending ones in noop), 4 failures, 6 both.

        Without it: 1 when a resource failed, else 0.
        """
        if not detailed:
            return 1 if self.has_failures else 0
        return (2 if self.has_changes else 0) | (4 if self.has_failures else 0)

    def headline(self):
        """The last line of a run: what happened, in how long."""
        summary = self.summary()["resources"]
        what = "would change" if self.noop else "changed"
        done = summary["out_of_sync"] if self.noop else summary["changed"]
        return (f"confrt: {summary['total']} resources, {done} {what}, {summary['failed']} failed, "
                f"{summary['skipped']} skipped in {self.times['total']:.2f}s" + (" (noop)" if self.noop else ""))

    def finish(self):
        self.finished = time.time()
        self.times["total"] = self.finished - self.started

    def summary(self):
        """last_run_summary.yaml, in the shape of Puppet's."""
        if self.finished is None:
            self.finish()
        changed = self.count("changed")
        noop = self.count("noop")
        failed = self.count("failed")
        attempted = sum(1 for e in self.statuses.values() if e["status"] == "failed" and e["changes"])
        refreshed = [e["status"] for e in self.statuses.values()
                     if any(c["property"] == "refresh" for c in e["changes"])]
        times = {name: round(value, 6) for name, value in self.times.items() if name != "total"}
        times.update({name: round(value, 6) for name, value in sorted(self.type_times.items())})
        times["total"] = round(self.times["total"], 6)
        times["last_run"] = int(self.finished)
        summary = {
            "status": self.status(),
            "version": self.version(),
            "resources": {
                "changed": changed, "corrective_change": 0, "failed": failed,
                "failed_to_restart": refreshed.count("failed"), "out_of_sync": changed + noop + attempted,
                "restarted": refreshed.count("changed"), "scheduled": 0, "skipped": self.count("skipped"),
                "total": self.total,
            },
            "time": times,
            "changes": {"total": 0 if self.noop else sum(
                len(e["changes"]) for e in self.statuses.values() if e["status"] == "changed")},
            "events": self.events(),
            "noop": self.noop,
            "noop_pending": self.noop and self.has_changes,
        }
        if self.steps:
            summary["steps"] = {name: dict(step) for name, step in self.steps.items()}
        return summary

    def version(self):
        """The summary's version: config is the run's data version (condor's ConfrtDataVersion), the
        site data's commit when the run read one (the catalog's version is then `catalog`)."""
        if self.site_data_commit:
            return {"config": self.site_data_commit, "catalog": self.data_version, "confrt": __version__}
        return {"config": self.data_version, "confrt": __version__}

    def status(self):
        """failed, changed or unchanged: the run as a whole (a noop run never 'changed')."""
        if self.has_failures:  # a fatal error included
            return "failed"
        return "changed" if self.has_changes and not self.noop else "unchanged"

    def to_dict(self):
        """The JSON report: the summary plus every resource with its status."""
        summary = self.summary()
        statuses = {ref: {"status": "unchanged", "time": round(seconds, 6)} for ref, seconds in self.in_sync}
        statuses.update(self.statuses)
        return {
            "confrt_version": __version__, "time": self.started, "noop": self.noop,
            "noop_pending": summary["noop_pending"], "status": summary["status"], "fatal": self.fatal,
            "summary": summary, "resource_statuses": statuses,
        }

    def write(self, statedir):
        """statedir/last_run_report.json and last_run_summary.yaml, atomically (a noop's:
        last_noop_report.json and last_noop_summary.yaml, leaving the last real run's alone)."""
        import json

        from confrt.util.atomic import atomic_write
        from confrt.util.yamlfile import dump_yaml

        data = self.to_dict()
        try:
            os.makedirs(statedir, mode=0o755, exist_ok=True)
            report_file, summary_file = (NOOP_REPORT_FILE, NOOP_SUMMARY_FILE) if self.noop else (REPORT_FILE,
                                                                                                 SUMMARY_FILE)
            atomic_write(os.path.join(statedir, report_file),
                         json.dumps(data, indent=1, sort_keys=True) + "\n", mode=0o640)
            # world-readable: it holds counts and times only, and monitoring that runs as
            # another user (the condor module's startd cron job) publishes it
            atomic_write(os.path.join(statedir, summary_file), dump_yaml(data["summary"]), mode=0o644)
        except OSError as exc:
            from confrt.errors import StateError

            raise StateError(f"{statedir}: cannot write the run report: {exc.strerror}") from None
        return data

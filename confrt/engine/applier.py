"""Apply a catalog: topological order, read -> compare -> change, refreshes, failure isolation.

In noop every provider's changes() runs (it only reads) and nothing else: no
apply, no refresh, no backup, no pending-refresh bookkeeping. A resource that
cannot be read in noop because a prerequisite has pending changes (a service
whose package is not installed yet) is reported skipped, naming that prerequisite. A failed resource
marks its dependents skipped; unrelated resources still converge. A refresh
that could not be delivered (the target failed, was skipped or was not
selected by --tags) is kept in statedir/pending_refresh.json and delivered by
the next real run.
"""
import json
import os
import time

from confrt.resources.base import Change, ResourceFailed

PENDING_FILE = "pending_refresh.json"
BACKUP_DIR = "backup"


class ApplyContext:
    """What providers get as self.ctx."""

    def __init__(self, facts, statedir, noop=False, catalog=None, made_before=None, written_before=None):
        self.facts = facts
        self.statedir = statedir
        self.noop = noop
        self.catalog = catalog
        self.noop_changed = set()  # refs with changes a noop run found and did not make
        # folders a step before the apply makes (a noop: the userdata refresh it did not make) -> mode
        self.made_before = dict(made_before or {})
        # files a step before the apply writes (a noop: the userdata it did not write) -> content
        self.written_before = dict(written_before or {})
        self.warn_to = None  # where warn() writes (the Applier sets its report's error log)
        self.warned = set()

    def warn(self, line):
        """A warning line about the system (once per run): 'confrt: warning: line' on stderr."""
        if line in self.warned:
            return
        self.warned.add(line)
        if self.warn_to is not None:
            self.warn_to(f"warning: {line}")
        else:
            import sys

            sys.stderr.write(f"confrt: warning: {line}\n")

    def planned(self, ref):
        """True in noop when the resource `ref` has changes this run found and did not make."""
        return self.noop and ref in self.noop_changed

    def will_exist(self, path):
        """True in noop when the directory `path` is made before the resources inside it: by a
        resource with changes this run planned (catalog.creator), or by a step before the apply."""
        if self.noop and path in self.made_before:
            return True
        return self.catalog is not None and self.planned(self.catalog.creator(path))

    def read_file(self, path):
        """The bytes of the file at `path` (OSError when it cannot be read); in noop, of a file a step
        before the apply writes (ctx.written_before), what the real run will find there."""
        if self.noop and path in self.written_before:
            return self.written_before[path]
        with open(path, "rb") as handle:
            return handle.read()

    def run(self, argv, timeout=300, env=None, cwd=None, input=None, user=None):
        """confrt.util.proc.run: argv list, timeout, never a shell."""
        from confrt.util.proc import run

        return run(argv, timeout=timeout, env=env, cwd=cwd, input=input, user=user)

    def backup(self, data):
        """Keep `data` as statedir/backup/<sha256> (0600); returns its path."""
        import hashlib

        from confrt.util.atomic import atomic_write

        directory = os.path.join(self.statedir, BACKUP_DIR)
        path = os.path.join(directory, hashlib.sha256(data).hexdigest())
        if not os.path.exists(path):
            try:
                os.makedirs(directory, mode=0o700, exist_ok=True)
                atomic_write(path, data, mode=0o600)
            except OSError as exc:  # no change without its backup
                raise ResourceFailed(f"cannot keep the old content in {directory}: {exc.strerror}") from None
        return path


def _reason(exc):
    if isinstance(exc, ResourceFailed):
        return str(exc)
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.strerror}: {exc.filename}" if exc.filename else exc.strerror
    return f"{type(exc).__name__}: {exc}"


class Applier:
    """run() applies the catalog's resources (those matching `tags`, if given) into `report`."""

    def __init__(self, catalog, ctx, report, tags=None):
        self.catalog = catalog
        self.ctx = ctx
        self.report = report
        self.noop = ctx.noop
        self.tags = {t.lower() for t in tags} if tags else None
        self.done = {}            # ref -> "ok" | "failed" | "skipped"
        self.providers = {}       # type name -> provider class (None: no suitable one)
        self.prefetched = {}      # provider class -> its prefetch() result
        self.pending = {}         # target ref -> [source refs] of refreshes to deliver
        self.noop_changed = ctx.noop_changed  # refs with changes a noop run did not make
        self.saved = {}           # the pending refreshes as statedir/pending_refresh.json has them
        self.pending_path = os.path.join(ctx.statedir, PENDING_FILE)

    def selected(self, resource):
        return self.tags is None or not self.tags.isdisjoint(resource.tags)

    def run(self):
        order = [r for r in self.catalog.order if self.selected(r)]
        self.ctx.catalog = self.catalog
        self.ctx.warn_to = self.report.log_error
        self.saved = self.load_pending()
        self.pending = {ref: list(sources) for ref, sources in self.saved.items()}
        self.prefetch(order)
        for resource in order:
            if resource.ref in self.done:
                continue
            blocker = self.blocker(resource)
            if blocker is not None:
                self.report.skipped(resource, f"dependency {blocker} {self.done[blocker]}")
                self.done[resource.ref] = "skipped"
                continue
            self.process(resource, order)
        self.report.log_edits()
        self.save_pending()
        return self.report

    # -- providers --------------------------------------------------------

    def provider_class(self, resource):
        if resource.type not in self.providers:
            self.providers[resource.type] = self.catalog.type_of(resource).provider_for(self.ctx.facts)
        return self.providers[resource.type]

    def prefetch(self, order):
        """One prefetch() per provider class, with all of its resources."""
        grouped = {}
        for resource in order:
            cls = self.provider_class(resource)
            if cls is not None:
                grouped.setdefault(cls, []).append(resource)
        for cls, resources in grouped.items():
            try:
                self.prefetched[cls] = cls.prefetch(resources, self.ctx)
            except Exception as exc:  # a failed query fails that type's resources, not the run
                self.prefetched[cls] = exc

    def make_provider(self, resource):
        cls = self.provider_class(resource)
        if cls is None:
            raise ResourceFailed(f"no provider of {resource.type} is suitable for this system")
        prefetched = self.prefetched.get(cls)
        if isinstance(prefetched, Exception):
            raise ResourceFailed(f"reading the current state failed: {_reason(prefetched)}")
        return cls(resource, self.ctx, prefetched)

    # -- one resource -----------------------------------------------------

    def blocker(self, resource):
        """The first prerequisite that failed or was skipped, or None."""
        for ref in self.catalog.requires[resource.ref]:
            if self.done.get(ref, "ok") != "ok":
                return ref
        return None

    def read(self, resource):
        """(provider, changes, start time), or None when reading the current state failed."""
        start = time.perf_counter()
        try:
            provider = self.make_provider(resource)
            return provider, provider.changes(), start
        except Exception as exc:
            waiting = self.noop and next(
                (ref for ref in self.catalog.requires[resource.ref] if ref in self.noop_changed), None)
            if waiting:
                # e.g. a service whose package is not installed yet: readable only after a real run
                self.report.skipped(resource, f"cannot be read before the changes of {waiting} are made "
                                              f"({_reason(exc)})")
                self.done[resource.ref] = "skipped"
                self.noop_changed.add(resource.ref)
            else:
                self.report.failed(resource, _reason(exc), time.perf_counter() - start)
                self.done[resource.ref] = "failed"
            return None

    def process(self, resource, order):
        found = self.read(resource)
        if found is None:
            return
        provider, changes, start = found
        if changes and not self.noop and self.catalog.type_of(resource).batch:
            self.apply_batch(resource, provider, changes, order, start)
            return
        failure = None
        if changes and not self.noop:
            try:
                provider.apply(changes)
            except Exception as exc:
                failure = _reason(exc)
        self.finish(resource, provider, changes, start, failure)

    def apply_batch(self, resource, provider, changes, order, start):
        """Apply this resource with every other one of its provider that is ready now."""
        cls = type(provider)
        items, starts = [(provider, changes)], [start]
        for other in order:
            if other.ref in self.done or other is resource or self.provider_class(other) is not cls:
                continue
            if any(self.done.get(ref) != "ok" for ref in self.catalog.requires[other.ref]
                   if self.selected(self.catalog.get(ref))):
                continue
            found = self.read(other)
            if found is None:
                continue
            other_provider, other_changes, other_start = found
            if other_changes:
                items.append((other_provider, other_changes))
                starts.append(other_start)
            else:
                self.finish(other, other_provider, [], other_start, None)
        try:
            errors = cls.apply_batch(items, self.ctx)
        except Exception as exc:
            errors = [_reason(exc)] * len(items)
        for (item_provider, item_changes), item_start, error in zip(items, starts, errors):
            self.finish(item_provider.resource, item_provider, item_changes, item_start, error)

    def finish(self, resource, provider, changes, start, failure):
        """Deliver a pending refresh, queue the ones this resource sends, report it."""
        ref = resource.ref
        if failure is None and ref in self.pending:
            if self.catalog.type_of(resource).refreshable:
                sources = self.pending[ref]
                changes = changes + [Change("refresh", None, None,
                                            f"triggered refresh from {', '.join(sources)}")]
                if not self.noop:
                    provider.applied_changes = changes[:-1]
                    try:
                        provider.refresh()
                    except Exception as exc:
                        failure = _reason(exc)
            if failure is None and not self.noop:
                del self.pending[ref]
                self.save_pending()
        seconds = time.perf_counter() - start
        if failure is not None:
            if changes:
                self.report.changed(resource, changes, seconds, failure)
            else:
                self.report.failed(resource, failure, seconds)
            self.done[ref] = "failed"
            return
        if changes:
            targets = self.catalog.notifies.get(ref, ())
            for target in targets:
                sources = self.pending.setdefault(target, [])
                if ref not in sources:
                    sources.append(ref)
            if targets:
                self.save_pending()  # at once: a run killed before the refresh still delivers it next time
            self.report.changed(resource, changes, seconds)
            if self.noop:
                self.noop_changed.add(ref)
        else:
            self.report.in_sync_resource(resource, seconds)
        self.done[ref] = "ok"

    # -- refreshes kept between runs --------------------------------------

    def load_pending(self):
        try:
            with open(self.pending_path) as handle:
                data = json.load(handle)
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            data = exc
        if not isinstance(data, dict) or not all(isinstance(v, list) for v in data.values()):
            self.report.log_error(f"warning: ignoring {self.pending_path}: not a mapping of refs to lists")
            return {}
        return {ref: list(sources) for ref, sources in data.items() if self.catalog.has(ref)}

    def save_pending(self):
        """Write the undelivered refreshes (real runs only), when they differ from the file."""
        if self.noop:
            return
        pending = {ref: list(sources) for ref, sources in self.pending.items() if self.catalog.has(ref)}
        if pending == self.saved and (pending or not os.path.exists(self.pending_path)):
            return
        self.saved = pending
        if not pending:
            os.unlink(self.pending_path)
            return
        from confrt.util.atomic import atomic_write

        os.makedirs(self.ctx.statedir, mode=0o755, exist_ok=True)
        atomic_write(self.pending_path, json.dumps(pending, indent=1, sort_keys=True) + "\n", mode=0o600)

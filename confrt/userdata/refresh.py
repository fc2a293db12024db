"""Fetch -> decode -> plan -> write: the one path `confrt userdata fetch` and `confrt run` use
(the run writes only once its data compiled with the new local_data: UserdataStep)."""


def fetch_and_decode(config, source=None, hiera_configs=None):
    """(Fetched, Decoded) from the first configured source (or `source`); writes nothing.
    `hiera_configs`: where the hiera.yaml in use is parsed (once), when a part needs it."""
    import functools

    from confrt.data.hiera_config import HieraConfigs
    from confrt.userdata.decoded import Decoded
    from confrt.userdata.formats import decode_userdata
    from confrt.userdata.sources import fetch

    settings = config.userdata
    fetched = fetch(settings, [source] if source else None)
    if fetched.raw is None:
        decoded = Decoded()
    else:
        hierarchy = functools.partial((hiera_configs or HieraConfigs()).load, config.effective_hiera_config())
        decoded = decode_userdata(fetched.raw, config.local_data, config.statedir, settings["max_size"],
                                  settings, hierarchy)
    if decoded.amiconfig_plugins is None and fetched.source.startswith("context:"):
        # a CernVM/HEPiX context volume is amiconfig's ground whatever its userdata: the image's
        # plugins apply (its ROOT_PUBKEY reaches root when rootsshkeys is enabled)
        from confrt.userdata.amiconfig import enabled_plugins

        decoded.amiconfig_plugins = enabled_plugins(settings)
    return fetched, decoded


def refresh_local_data(config, source=None, noop=False, hiera_configs=None):
    """Fetch and decode the userdata, then (unless noop) write it; -> (fetched, decoded, writes).
    `hiera_configs`: the run's parsed hiera.yaml files (None: parsed here, once)."""
    from confrt.data.hiera_config import HieraConfigs
    from confrt.userdata.local import apply_writes, plan_writes
    from confrt.userdata.secrets import check_decryptable

    hiera_configs = hiera_configs or HieraConfigs()
    fetched, decoded = fetch_and_decode(config, source, hiera_configs)
    writes = plan_writes(config, fetched, decoded)
    # an ENC value this node cannot open: nothing written
    check_decryptable(config, decoded.data, hiera_configs)
    if not noop:
        apply_writes(config, writes)
    return fetched, decoded, writes


STEP = "userdata"


def refresh_userdata(config, report, hiera_configs=None):
    """The userdata step of `confrt run`: fetch and decode, write nothing yet; -> UserdataStep.
    `hiera_configs`: the run's parsed hiera.yaml files, shared with its compiles."""
    step = UserdataStep(config, report.noop, hiera_configs)
    if not config.userdata["sources"]:
        report.step(STEP, "skipped", reason="userdata.sources is empty")
    else:
        step.fetch(report)
    return step


class UserdataStep:
    """One run's userdata: fetched and decoded first, written only once the run's data compiled with
    what it writes (`candidate`: local_data, write_files... read from memory), so userdata whose data
    does not compile writes nothing at all.

        step = refresh_userdata(config, report)
        ... compile with step.candidate ({path: content} it writes; None: nothing to write) ...
        step.take(report)  |  step.refuse(report, error)

    A noop's take() writes nothing: it names what the run would write, and the apply then finds what
    the real run would (`written` {path: content} and `made` {folder: mode}). `scripts`: the first-boot
    scripts the take stores (or would).
    """

    def __init__(self, config, noop, hiera_configs=None):
        self.config = config
        self.noop = noop
        self.hiera_configs = hiera_configs
        self.fetched = self.writes = self.candidate = None
        self.scripts, self.written, self.made = [], {}, {}

    def fetch(self, report):
        from confrt.errors import ConfrtError

        try:
            with report.phase(STEP):
                self.fetched, decoded, writes = refresh_local_data(self.config, noop=True,
                                                                   hiera_configs=self.hiera_configs)
        except ConfrtError as exc:
            return self.keep(report, str(exc))
        except Exception as exc:  # a bug in a parser must not stop the fleet from converging
            return self.keep(report, f"internal error ({type(exc).__name__}); "
                                     "`confrt userdata show --debug` shows it")
        for warning in decoded.warnings:
            report.err.write(f"confrt: warning: {warning}\n")  # each names its part: "userdata: ..."
        self.writes = writes
        self.candidate = {write.path: write.content for write in writes} or None

    def take(self, report):
        """Write the files (in noop: name them); -> False when a write failed: the step failed,
        and the local_data in use stays."""
        from confrt.errors import ConfrtError
        from confrt.userdata import local

        if self.writes is None:  # failed, refused or skipped
            return True
        config, writes = self.config, self.writes
        if self.noop:
            self.made = local.folders_made_by(config, writes)
            self.written = {write.path: write.content for write in writes}
        else:
            try:
                with report.phase(STEP):
                    local.apply_writes(config, writes)
            except ConfrtError as exc:
                self.keep(report, str(exc))
                return False
        verb = "would write" if self.noop else "wrote"
        for write in writes:
            report.out.write(f"confrt: userdata from {self.fetched.source}: {verb} {write.describe()}\n")
        report.step(STEP, "ok", source=self.fetched.source, written=[write.path for write in writes])
        self.scripts = [write.path for write in writes if write.path.startswith(local.scripts_dir(config))]
        return True

    def refuse(self, report, error):
        """The data does not compile with the new local_data and files (`error`): nothing of the
        userdata is written."""
        self.keep(report, f"the new local_data does not compile: {error}")

    def keep(self, report, error):
        """The step failed: the local_data in use stays, and nothing is written."""
        import os

        self.writes = self.candidate = None
        path = self.config.local_data
        kept = path if os.path.exists(path) else None
        report.step(STEP, "failed", error=error, kept_local_data=kept)
        report.log_error(f"userdata: {error}; " + (f"keeping the last good {kept}" if kept else
                                                   "no local_data yet: the build-time data only"))

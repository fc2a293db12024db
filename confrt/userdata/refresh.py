"""Fetch -> decode -> plan -> write: the one path `confrt userdata fetch` and `confrt run` use."""


def fetch_and_decode(config, source=None):
    """(Fetched, Decoded) from the first configured source (or `source`); writes nothing."""
    from confrt.userdata.decoded import Decoded
    from confrt.userdata.formats import decode_userdata
    from confrt.userdata.sources import fetch

    settings = config.userdata
    fetched = fetch(settings, [source] if source else None)
    if fetched.raw is None:
        decoded = Decoded()
    else:
        decoded = decode_userdata(fetched.raw, config.local_data, config.statedir, settings["max_size"],
                                  settings, config.effective_hiera_config())
    if decoded.amiconfig_plugins is None and fetched.source.startswith("context:"):
        # a CernVM/HEPiX context volume is amiconfig's ground whatever its userdata: the image's
        # plugins apply (its ROOT_PUBKEY reaches root when rootsshkeys is enabled)
        from confrt.userdata.amiconfig import enabled_plugins

        decoded.amiconfig_plugins = enabled_plugins(settings)
    return fetched, decoded


def refresh_local_data(config, source=None, noop=False):
    """Fetch and decode the userdata, then (unless noop) write it; -> (fetched, decoded, writes)."""
    from confrt.userdata.local import apply_writes, plan_writes
    from confrt.userdata.secrets import check_decryptable

    fetched, decoded = fetch_and_decode(config, source)
    writes = plan_writes(config, fetched, decoded)
    check_decryptable(config, decoded.data)  # an ENC value this node cannot open: nothing written
    if not noop:
        apply_writes(config, writes)
    return fetched, decoded, writes

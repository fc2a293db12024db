"""confrt userdata fetch|show|build."""
import sys

from confrt.commands import add_common_options

HELP = "fetch, show or build instance userdata"
DESCRIPTION = """\
fetch   fetch the userdata from the configured sources, decode it and write local_data
        (atomically, 0600), the write_files entries and the first-boot scripts
        (--noop: print what would be written, secrets redacted)
show    print what the current userdata decodes to (secrets redacted), writing nothing
build   make #cloud-config userdata writing DATAFILE to local_data, plus extra files
        (TARGET=SOURCE or a filemap YAML {target: source}); gzipped when asked or over 16 KiB.
        The values of sensitive keys (a module's sensitive parameter, lookup_options
        sensitive: true in DATAFILE or the module's data) are encrypted as hiera-eyaml
        ENC[PKCS7,...] for the image's public key: --public-key, else the pkcs7_public_key
        of the eyaml level reading local_data (packaged: /etc/confrt/keys/public_key.pkcs7.pem).
        Sensitive keys and no public key is an error; --clear-secrets sends them in clear.
"""


def add_arguments(parser):
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True
    for name, text in (("fetch", "fetch, decode and write local_data"),
                       ("show", "print the decoded userdata (secrets redacted)")):
        action = actions.add_parser(name, help=text, description=text)
        action.add_argument("--source", metavar="NAME",
                            help="use this source only (ec2, openstack, nocloud, context, file:PATH)")
        add_common_options(action)
        if name == "fetch":
            action.add_argument("--noop", action="store_true", help="print what would be written, write nothing")
    build = actions.add_parser("build", help="make #cloud-config userdata from a data file",
                               description="make #cloud-config userdata from a data file")
    add_common_options(build)
    build.add_argument("datafile", metavar="DATAFILE", help="YAML data written as local_data on the instance")
    build.add_argument("--file", action="append", default=[], metavar="TARGET=SOURCE",
                       help="also write SOURCE's content to TARGET (repeatable)")
    build.add_argument("--filemap", metavar="YAML", help="a YAML mapping {target path: source file}")
    build.add_argument("--gzip", action="store_true", help="gzip the userdata even when small")
    build.add_argument("-o", "--output", metavar="OUT", help="write to OUT (0600) instead of stdout")
    secrets = build.add_mutually_exclusive_group()
    secrets.add_argument("--public-key", metavar="FILE",
                         help="the image's eyaml public key (a PEM certificate) to encrypt sensitive values for "
                              "(default: the hierarchy's local_data level's pkcs7_public_key)")
    secrets.add_argument("--clear-secrets", action="store_true",
                         help="send sensitive values unencrypted (for images without a key pair; warns)")


def _print_decoded(fetched, decoded):
    """The local_data the userdata gives (secrets redacted), then its files and scripts."""
    from confrt.userdata.local import local_data_of
    from confrt.userdata.redact import redact
    from confrt.util.yamlfile import dump_yaml

    print(f"# source: {fetched.source}" + ("" if fetched.raw is not None else " (no userdata)"))
    sys.stdout.write(dump_yaml(redact(local_data_of(decoded, fetched))))
    for item in decoded.files:
        print(f"# file: {item.path} (mode {item.mode:04o}, {item.owner}{', append' if item.append else ''})")
    for script in decoded.scripts:
        print(f"# first-boot script: {script.name}")


def _warn(decoded):
    for warning in decoded.warnings:
        print(f"confrt: warning: {warning}", file=sys.stderr)


def _fetch(args, config):
    from confrt.userdata.refresh import refresh_local_data

    fetched, decoded, writes = refresh_local_data(config, args.source, noop=args.noop)
    _warn(decoded)
    verb = "would write" if args.noop else "wrote"
    for write in writes:
        print(f"{verb} {write.describe()}")
    if not writes:
        print(f"local_data {config.local_data} is up to date (source {fetched.source})")
    if args.noop:
        _print_decoded(fetched, decoded)
    return 0


def _show(args, config):
    from confrt.userdata.refresh import fetch_and_decode

    fetched, decoded = fetch_and_decode(config, args.source)
    _warn(decoded)
    _print_decoded(fetched, decoded)
    return 0


def _build(args, config):
    from confrt.userdata.build import build_userdata, parse_file_option, read_filemap
    from confrt.userdata.secrets import SecretsPolicy, readable_problem
    from confrt.util.atomic import atomic_write

    extra = [parse_file_option(option) for option in args.file]
    if args.filemap:
        extra.extend(read_filemap(args.filemap))
    problem = args.public_key and readable_problem(args.public_key)
    if problem:
        from confrt.errors import UserdataError

        raise UserdataError(f"--public-key {args.public_key}: {problem}")
    secrets = SecretsPolicy(config, args.public_key, args.clear_secrets,
                            warn=lambda message: print(f"confrt: warning: {message}", file=sys.stderr))
    userdata = build_userdata(args.datafile, config.local_data, extra, compress=args.gzip, secrets=secrets)
    if args.output:
        atomic_write(args.output, userdata, 0o600)
    else:
        sys.stdout.flush()
        sys.stdout.buffer.write(userdata)
    return 0


def run(args, config):
    return {"fetch": _fetch, "show": _show, "build": _build}[args.action](args, config)

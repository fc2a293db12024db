"""confrt eyaml createkeys|encrypt|decrypt: hiera-eyaml's PKCS7 values, as the eyaml tool makes them."""
import sys

from confrt.commands import add_common_options

HELP = "make hiera-eyaml keys, encrypt and decrypt ENC[PKCS7,...] values"
DESCRIPTION = """\
createkeys  make a key pair as `eyaml createkeys` does: an RSA private key (0600) and a
            self-signed certificate (subject /, serial 1, 50 years) as the public key
encrypt     print ENC[PKCS7,...] of a string, a file or stdin, for the public key
            (-o string, block or examples, as `eyaml encrypt`); `eyaml decrypt` reads it
decrypt     print a string, file or stdin with each ENC[PKCS7,...] replaced by its clear text

Key paths default to ./keys/private_key.pkcs7.pem and ./keys/public_key.pkcs7.pem, as the
eyaml tool's do. Examples:
  confrt eyaml createkeys --pkcs7-private-key /etc/confrt/keys/private_key.pkcs7.pem \\
                          --pkcs7-public-key /etc/confrt/keys/public_key.pkcs7.pem
  confrt eyaml encrypt -l condor::pool_password -o string --stdin < pool-password.txt
  confrt eyaml decrypt -f /etc/confrt/data/secrets.eyaml --pkcs7-private-key KEY --pkcs7-public-key CERT
"""
VALIDITY_DAYS = 50 * 365          # eyaml's certificate: 50 years
LINE = 60                         # eyaml's block lines: 60 characters
INDENT = "  "
_CERTIFICATE_CONFIG = """\
[req]
distinguished_name = dn
x509_extensions = v3
prompt = no
[dn]
[v3]
basicConstraints = critical,CA:TRUE
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always,issuer:always
"""


def add_arguments(parser):
    from confrt.data.eyaml import DEFAULT_PRIVATE_KEY, DEFAULT_PUBLIC_KEY

    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True
    texts = {"createkeys": "make a key pair as `eyaml createkeys` does",
             "encrypt": "print ENC[PKCS7,...] of the input for the public key",
             "decrypt": "print the input with its ENC[PKCS7,...] values decrypted"}
    for name, text in texts.items():
        action = actions.add_parser(name, help=text, description=text)
        add_common_options(action)
        action.add_argument("--pkcs7-private-key", metavar="FILE", default=DEFAULT_PRIVATE_KEY,
                            help=f"the private key (default {DEFAULT_PRIVATE_KEY}; encrypt needs none)")
        action.add_argument("--pkcs7-public-key", metavar="FILE", default=DEFAULT_PUBLIC_KEY,
                            help=f"the public key, a certificate (default {DEFAULT_PUBLIC_KEY})")
        if name == "createkeys":
            action.add_argument("--pkcs7-subject", metavar="DN", default="/",
                                help="the certificate's subject (default /, as eyaml)")
            action.add_argument("--pkcs7-keysize", metavar="BITS", type=int, default=2048,
                                help="the RSA key size (default 2048)")
            action.add_argument("--pkcs7-digest", metavar="NAME", default="SHA256",
                                help="the certificate's signature digest (default SHA256)")
            continue
        source = action.add_mutually_exclusive_group(required=True)
        source.add_argument("-s", "--string", metavar="TEXT", help="the input is TEXT")
        source.add_argument("-f", "--file", metavar="FILE", help="the input is FILE's content")
        source.add_argument("--stdin", action="store_true", help="the input is stdin")
        if name == "encrypt":
            source.add_argument("-p", "--password", action="store_true", help="the input is typed (not echoed)")
            action.add_argument("-o", "--output", choices=("string", "block", "examples"), default="examples",
                                help="one line, a folded block, or both (default examples, as eyaml)")
            action.add_argument("-l", "--label", metavar="KEY", help="print KEY: before the value")


def run(args, config):
    return {"createkeys": _createkeys, "encrypt": _encrypt, "decrypt": _decrypt}[args.action](args)


def _keys(args):
    from confrt.data.eyaml import Pkcs7Keys

    return Pkcs7Keys(args.pkcs7_private_key, args.pkcs7_public_key)


def _input(args):
    """(the input as bytes, its name for errors)."""
    from confrt.errors import DataError

    if args.string is not None:
        return args.string.encode("utf-8"), "--string"
    if args.stdin:
        return sys.stdin.buffer.read(), "<stdin>"
    if getattr(args, "password", False):
        import getpass

        return getpass.getpass("Enter password: ").encode("utf-8"), "<password>"
    try:
        with open(args.file, "rb") as handle:
            return handle.read(), args.file
    except OSError as exc:
        raise DataError(f"{args.file}: cannot read: {exc.strerror}") from None


def _encrypt(args):
    data, where = _input(args)
    token = _keys(args).encrypt(data, where)
    label = f"{args.label}: " if args.label else ""
    string = (label or ("string: " if args.output == "examples" else "")) + token
    chevron = ">\n" if args.label or args.output == "examples" else ""
    lines = [token[i:i + LINE] for i in range(0, len(token), LINE)]
    block = (label or ("block: " if args.output == "examples" else "")) + chevron + INDENT + \
        ("\n" + INDENT).join(lines)
    print({"string": string, "block": block, "examples": f"{string}\n\nOR\n\n{block}"}[args.output])
    return 0


def _decrypt(args):
    from confrt.data.eyaml import decrypt_text
    from confrt.errors import DataError

    data, where = _input(args)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DataError(f"{where}: not UTF-8 text (byte {exc.start})") from None
    clear = decrypt_text(text, _keys(args), where)
    sys.stdout.write(clear if clear.endswith("\n") else clear + "\n")
    return 0


def _createkeys(args):
    import os

    from confrt.errors import DataError
    from confrt.util.atomic import atomic_write

    private, public = args.pkcs7_private_key, args.pkcs7_public_key
    for path in (private, public):
        if os.path.lexists(path):
            raise DataError(f"{path}: exists; not overwritten (move it away to make a new key pair)")
    if args.pkcs7_keysize < 1024:
        raise DataError(f"--pkcs7-keysize: {args.pkcs7_keysize}: too small (at least 1024 bits)")
    key = _openssl(["genpkey", "-algorithm", "RSA", "-pkeyopt", f"rsa_keygen_bits:{args.pkcs7_keysize}"],
                   None, "making the private key")
    for path in (private, public):
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    try:
        atomic_write(private, key, mode=0o600)
        certificate = _openssl(["req", "-new", "-x509", "-key", private, "-subj", args.pkcs7_subject,
                                "-set_serial", "1", "-days", str(VALIDITY_DAYS), "-" + args.pkcs7_digest.lower(),
                                "-config", "/dev/stdin"], _CERTIFICATE_CONFIG.encode(), "making the certificate")
        atomic_write(public, certificate, mode=0o644)
    except OSError as exc:
        raise DataError(f"{exc.filename or private}: cannot write: {exc.strerror}") from None
    except DataError:
        os.unlink(private)
        raise
    print(f"created {private} (private key, 0600) and {public} (public key)")
    return 0


def _openssl(argv, data, doing):
    from confrt.data.eyaml import run_openssl
    from confrt.errors import DataError

    result = run_openssl(argv, data, doing)
    if result.returncode != 0:
        lines = result.stderr.decode("utf-8", "replace").strip().splitlines()
        raise DataError(f"{doing}: openssl: {lines[0] if lines else 'failed'}")
    return result.stdout

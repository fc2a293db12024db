"""hiera-eyaml values: ENC[PKCS7,<base64>] in data files, as the eyaml_lookup_key backend reads them.

A value is PKCS#7 enveloped data (RSA key transport, AES-256-CBC content), the key pair
a private key and a self-signed certificate (pkcs7_private_key, pkcs7_public_key). The
`openssl smime` command does the PKCS#7 work, as an argv list with a timeout: the
ciphertext goes in on stdin, the clear text comes back on stdout, nothing is written to
disk. (Python's `cryptography` decrypts PKCS#7 only from version 44; EL9 ships 36.)

Decrypting follows Puppet's eyaml_lookup_key: every string of a value holding an
ENC[...] token has each token replaced by its clear text, then one trailing newline
removed (a folded `>` block ends in one); hash keys are left alone. Errors name the file,
the key and the key file, never a ciphertext or a clear text.
"""
import base64
import binascii
import os
import re
import stat
import subprocess

from confrt.errors import DataError

PRIVATE_KEY_OPTION = "pkcs7_private_key"
PUBLIC_KEY_OPTION = "pkcs7_public_key"
OPTIONS = (PRIVATE_KEY_OPTION, PUBLIC_KEY_OPTION)
DEFAULT_PRIVATE_KEY = "./keys/private_key.pkcs7.pem"
DEFAULT_PUBLIC_KEY = "./keys/public_key.pkcs7.pem"
SCHEME = "PKCS7"
TIMEOUT = 30

# the token of hiera-eyaml's backend parser (spaces and newlines of a folded block allowed),
# and its test for "holds an encrypted value"
HIERA_TOKEN = re.compile(r"ENC\[(\w+,)?([a-zA-Z0-9+/ =\n]+?)\]")
ENCRYPTED = re.compile(r"ENC\[.*?\]")
# the tokens of `eyaml decrypt -f/-s`: a `>` block over several lines, or one string
FILE_TOKEN = re.compile(r">\n\s*ENC\[(\w+,)?([a-zA-Z0-9+/=\s]+?)\]|ENC\[(\w+,)?([a-zA-Z0-9+/=]+?)\]")


class Pkcs7Keys:
    """A key pair given by the paths of its two PEM files (relative paths: to the working
    directory, as Puppet reads them); `where` leads every error ("FILE: key 'k'")."""

    def __init__(self, private_key=None, public_key=None):
        self.private_key = private_key
        self.public_key = public_key

    def decrypt(self, token, where):
        """The clear text of one ENC[...] token (its inside: 'PKCS7,base64')."""
        der = _ciphertext(token, where)
        self._need(PRIVATE_KEY_OPTION, self.private_key, f"{where}: cannot decrypt")
        self._need(PUBLIC_KEY_OPTION, self.public_key, f"{where}: cannot decrypt")
        result = run_openssl(["smime", "-decrypt", "-inform", "DER", "-inkey", self.private_key,
                              "-recip", self.public_key], der, where)
        wrong_key = DataError(f"{where}: cannot decrypt: the private key {_shown(self.private_key)} does not "
                              f"open it (wrong key pair)")
        if result.returncode == 4:
            raise wrong_key
        if result.returncode != 0:
            raise DataError(f"{where}: cannot decrypt: {self._problem(result.stderr)}")
        try:
            return result.stdout.decode("utf-8")
        except UnicodeDecodeError:
            # a wrong key now and then passes RSA's padding check and yields noise, not an error
            raise wrong_key from None

    def encrypt(self, text, where):
        """ENC[PKCS7,...] of text (str or bytes) for the public key, one line."""
        self._need(PUBLIC_KEY_OPTION, self.public_key, f"{where}: cannot encrypt")
        data = text.encode("utf-8") if isinstance(text, str) else text
        result = run_openssl(["smime", "-encrypt", "-binary", "-aes256", "-outform", "DER", self.public_key],
                             data, where)
        if result.returncode != 0:
            raise DataError(f"{where}: cannot encrypt: {self._problem(result.stderr)}")
        return f"ENC[{SCHEME},{base64.b64encode(result.stdout).decode('ascii')}]"

    def _need(self, option, path, where):
        if not path:
            raise DataError(f"{where}: {option} is not set (the level's options name the key files)")
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        except OSError as exc:
            raise DataError(f"{where}: {option} {_shown(path)}: {exc.strerror}") from None
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise DataError(f"{where}: {option} {_shown(path)}: not a regular file")
        finally:
            os.close(fd)

    def _problem(self, stderr):
        """openssl's complaint in words (its messages never hold the data)."""
        text = stderr.decode("utf-8", "replace")
        if "recipient certificate" in text:
            return f"{PUBLIC_KEY_OPTION} {_shown(self.public_key)}: not a PEM certificate"
        if "private key" in text or "signing key" in text:
            return f"{PRIVATE_KEY_OPTION} {_shown(self.private_key)}: not a PEM private key"
        if "S/MIME message" in text or "PKCS7" in text:
            return "the ENC block is corrupt or truncated (not PKCS#7 enveloped data)"
        lines = text.strip().splitlines()
        return f"openssl: {lines[0] if lines else 'failed'}"


def decrypt_value(value, keys, where, path=()):
    """(value with every ENC[...] string decrypted, whether any was). Hash keys stay;
    an error names the place inside the value ("FILE: key 'db' at users.0")."""
    if isinstance(value, str):
        if not ENCRYPTED.search(value):
            return value, False
        return _decrypt_string(value, keys, f"{where} at {'.'.join(path)}" if path else where), True
    if isinstance(value, dict):
        items = {name: decrypt_value(item, keys, where, path + (str(name),)) for name, item in value.items()}
        return {name: item for name, (item, _) in items.items()}, any(found for _, found in items.values())
    if isinstance(value, list):
        items = [decrypt_value(item, keys, where, path + (str(index),)) for index, item in enumerate(value)]
        return [item for item, _ in items], any(found for _, found in items)
    return value, False


def encrypt_value(value, keys, where, path=()):
    """(value with every string encrypted, as ENC[PKCS7,...], [places of scalars left clear]).

    The inverse of decrypt_value: hash keys stay (eyaml encrypts values), a string that already
    holds an ENC[...] token, the empty string, booleans and null stay as they are; numbers stay
    too (eyaml encrypts strings only) and their places ("users.0.uid", '' for the value
    itself) are returned so the caller can say so. A string ending in a line break gets that break doubled before it is
    encrypted: the backend removes one when it decrypts, so the node reads the value as written."""
    if isinstance(value, str):
        if not value or ENCRYPTED.search(value):
            return value, []
        label = f"{where} at {'.'.join(path)}" if path else where
        return keys.encrypt(value + value[-1] if value[-1] in "\r\n" else value, label), []
    if isinstance(value, dict):
        items = {name: encrypt_value(item, keys, where, path + (str(name),)) for name, item in value.items()}
        return ({name: item for name, (item, _) in items.items()},
                [place for _, places in items.values() for place in places])
    if isinstance(value, list):
        items = [encrypt_value(item, keys, where, path + (str(index),)) for index, item in enumerate(value)]
        return [item for item, _ in items], [place for _, places in items for place in places]
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value, [".".join(path)]
    return value, []


def _decrypt_string(text, keys, where):
    """hiera-eyaml's backend parse: each token replaced, then one trailing newline removed."""
    tokens = [(match, match.group(1), match.group(2)) for match in HIERA_TOKEN.finditer(text)]
    return _chomp(_replaced(text, tokens, keys, where))


def decrypt_text(text, keys, where):
    """`eyaml decrypt -s/-f`: each token of text replaced by its clear text; a clear text of
    several lines right after other text becomes a YAML `|` block, as the tool writes it."""
    tokens = [(match, *((match.group(1), match.group(2)) if match.group(2) is not None
                        else (match.group(3), match.group(4))))
              for match in FILE_TOKEN.finditer(text)]
    return _replaced(text, tokens, keys, where, yaml_blocks=True)


def _replaced(text, tokens, keys, where, yaml_blocks=False):
    """text with each (match, scheme, base64) token replaced by its clear text."""
    parts, pos = [], 0
    for number, (match, scheme, body) in enumerate(tokens, 1):
        before = text[pos:match.start()]
        label = f"{where} (ENC block {number} of {len(tokens)})" if len(tokens) > 1 else where
        plain = keys.decrypt(_scheme_checked(scheme, body, label), label)
        if yaml_blocks and before and re.search(r"[\r\n]", plain):
            plain = "|\n  " + re.sub(r"([\r\n]+)", r"\1  ", plain)
        parts += [before, plain]
        pos = match.end()
    parts.append(text[pos:])
    return "".join(parts)


def _scheme_checked(scheme, body, where):
    scheme = (scheme or SCHEME + ",")[:-1]
    if scheme != SCHEME:
        raise DataError(f"{where}: encryption scheme {scheme}: not supported (only {SCHEME})")
    return body


def _ciphertext(body, where):
    try:
        der = base64.b64decode(re.sub(r"\s", "", body), validate=True)
    except (binascii.Error, ValueError):
        raise DataError(f"{where}: cannot decrypt: the ENC block is corrupt or truncated (not base64)") from None
    if not der:
        raise DataError(f"{where}: cannot decrypt: the ENC block is empty")
    return der


def _chomp(text):
    """Ruby's String#chomp: one trailing \\r\\n, \\n or \\r removed."""
    for ending in ("\r\n", "\n", "\r"):
        if text.endswith(ending):
            return text[:-len(ending)]
    return text


def run_openssl(argv, data, where):
    """`openssl ARGV` with data on stdin: its CompletedProcess (bytes); no openssl or a timeout is
    a DataError led by `where`."""
    try:
        return subprocess.run(["openssl", *argv], input=data, capture_output=True, timeout=TIMEOUT)
    except FileNotFoundError:
        raise DataError(f"{where}: the openssl command is not installed (hiera-eyaml values need it)") from None
    except subprocess.TimeoutExpired:
        raise DataError(f"{where}: openssl did not finish in {TIMEOUT} s") from None


def _shown(path):
    """A key file's path, made absolute when relative (the working directory decides)."""
    return path if os.path.isabs(path) else f"{path} ({os.path.abspath(path)})"

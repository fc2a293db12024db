"""Strict decoding helpers shared by the format parsers: every failure is one UserdataError line."""
import base64
import binascii
import re
import zlib

from confrt.errors import UserdataError

GZIP_MAGIC = b"\x1f\x8b"
_WHITESPACE = re.compile(rb"\s+")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def b64decode(text, what):
    """Decode base64 strictly (whitespace allowed); anything else is 'bad base64'."""
    if isinstance(text, str):
        text = text.encode("ascii", "replace")
    compact = _WHITESPACE.sub(b"", text)
    try:
        return base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        raise UserdataError(f"{what}: bad base64") from None


def gunzip(raw, limit, what):
    """Decompress gzip (all members), refusing output over `limit` bytes and truncated input."""
    out = []
    size = 0
    data = raw
    while data:
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            chunk = inflater.decompress(data, limit - size + 1)
        except zlib.error as exc:
            raise UserdataError(f"{what}: broken gzip ({exc})") from None
        size += len(chunk)
        out.append(chunk)
        if size > limit:
            raise UserdataError(f"{what}: gzip expands beyond the size limit of {limit} bytes")
        if not inflater.eof:
            raise UserdataError(f"{what}: broken gzip (truncated)")
        data = inflater.unused_data
        if data and not data.startswith(GZIP_MAGIC):
            break  # trailing garbage after the last member is ignored, as gzip(1) does
    return b"".join(out)


def as_text(raw, what):
    """UTF-8 text (a leading BOM dropped) or a one-line error naming the offset."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UserdataError(f"{what}: not UTF-8 text (byte {exc.start})") from None
    return text[1:] if text.startswith("\ufeff") else text


def parse_bool(value, what):
    if isinstance(value, bool):
        return value
    word = str(value).strip().lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise UserdataError(f"{what}: expected true or false, got {value!r}")


def parse_int(value, what):
    try:
        return int(str(value).strip())
    except ValueError:
        raise UserdataError(f"{what}: expected an integer, got {value!r}") from None


def split_list(value, separator=","):
    """'a, b,,c' -> ['a', 'b', 'c']."""
    return [item.strip() for item in value.split(separator) if item.strip()]

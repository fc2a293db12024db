"""MIME multipart userdata (cloud-init's make-mime shape), multiparts inside multiparts too.

They nest at most formats.MAX_DEPTH deep (email's parser and walk()
recurse: a deeper one is refused, not a RecursionError). Each leaf part is
decoded by its Content-Type: text/cloud-config as cloud-config
(header optional), text/x-shellscript as a script, the cloud-init-only types
(boothook, part-handler, include-url, upstart-job, jinja2) are skipped with a
warning, and everything else goes through format detection again. base64
transfer encoding is decoded strictly: a bad part fails the whole userdata.
"""
import email
import email.errors
import email.policy

from confrt.errors import UserdataError
from confrt.userdata.decoded import Decoded, Script
from confrt.userdata.decoding import as_text, b64decode

CLOUD_INIT_ONLY = {
    "text/cloud-boothook", "text/part-handler", "text/x-include-url", "text/x-include-once-url",
    "text/upstart-job", "text/jinja2", "text/cloud-config-archive",
}
_FATAL_DEFECTS = (
    email.errors.NoBoundaryInMultipartDefect,
    email.errors.StartBoundaryNotFoundDefect,
    email.errors.MultipartInvariantViolationDefect,
)

def _payload(part, where):
    if part.is_multipart() or not isinstance(part.get_payload(), str):
        raise UserdataError(f"{where}: unexpected nested message")
    encoding = str(part.get("Content-Transfer-Encoding", "")).strip().lower()
    if encoding == "base64":  # decoded strictly here: email's decoder ignores bad base64
        return b64decode(part.get_payload().encode("ascii", "replace"), where)
    return part.get_payload(decode=True) or b""


def _check_defects(message, what):
    for defect in message.defects:
        if isinstance(defect, _FATAL_DEFECTS):
            raise UserdataError(f"{what}: broken MIME multipart ({type(defect).__name__})")


def _depth(message):
    """How many multiparts deep `message` is (without recursion: message.walk() recurses)."""
    deepest, stack = 0, [(message, 1)]
    while stack:
        part, level = stack.pop()
        if part.is_multipart():
            deepest = max(deepest, level)
            stack.extend((child, level + 1) for child in part.get_payload())
    return deepest


def parse_mime(raw, context, what):
    from confrt.userdata.cloudconfig import parse_cloud_config

    from confrt.userdata.formats import MAX_DEPTH

    try:
        message = email.message_from_bytes(raw, policy=email.policy.compat32)
    except RecursionError:  # email's parser recurses once per level
        raise UserdataError(f"{what}: MIME multipart nested more than {MAX_DEPTH} levels deep") from None
    if _depth(message) > MAX_DEPTH:
        raise UserdataError(f"{what}: MIME multipart nested more than {MAX_DEPTH} levels deep")
    _check_defects(message, what)
    decoded = Decoded()
    leaves = [p for p in message.walk() if not p.is_multipart()]
    for part in message.walk():
        _check_defects(part, what)
    for number, part in enumerate(leaves, 1):
        name = part.get_filename() or f"part-{number:03d}"
        where = f"{what} part {number} ({name})"
        content_type = part.get_content_type()
        payload = _payload(part, where)
        if not payload.strip():
            continue
        if content_type in CLOUD_INIT_ONLY:
            decoded.warnings.append(f"{where}: {content_type} is left to cloud-init, skipped")
        elif content_type == "text/cloud-config":
            decoded.extend(parse_cloud_config(as_text(payload, where), context, where), where)
        elif content_type == "text/x-shellscript":
            decoded.scripts.append(Script(name, payload))
        else:
            decoded.extend(context.nested().decode(payload, where), where)
    return decoded

"""The small ini dialect of amiconfig and the glideinWMS pilot.

Only `[section]` headers and `key = value` / `key: value` lines (split at the
first `=` or `:`), `#`/`;` comment lines and indented continuation lines.
Section and option names are lower-cased (amiconfig raised KeyError on
`[CernVM]`: confrt does not). A later duplicate option wins.
"""
import re

from confrt.errors import UserdataError

_SECTION = re.compile(r"^\[([^\[\]]+)\]\s*$")


def is_section_header(line):
    return bool(_SECTION.match(line.strip()))


def first_significant_line(text):
    for line in text.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith(("#", ";")):
            return stripped
    return ""


def parse_ini(text, what):
    """Return {section: {option: value}} in order; an ini without sections is an error."""
    sections = {}
    current = None
    last_option = None
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped.startswith(("#", ";")):
            continue
        match = _SECTION.match(stripped)
        if match:
            current = sections.setdefault(match.group(1).strip().lower(), {})
            last_option = None
            continue
        if current is None:
            raise UserdataError(f"{what}: line {number}: text before the first [section]")
        if line[:1] in (" ", "\t") and last_option is not None:
            current[last_option] = (current[last_option] + "\n" + stripped).strip()
            continue
        cut = min((i for i in (stripped.find("="), stripped.find(":")) if i > 0), default=-1)
        if cut < 0:
            raise UserdataError(f"{what}: line {number}: expected 'key = value'")
        last_option = stripped[:cut].strip().lower()
        current[last_option] = stripped[cut + 1:].strip()
    if not sections:
        raise UserdataError(f"{what}: no [section] header found")
    return sections

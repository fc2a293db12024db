"""hiera.yaml glob/globs matched as Puppet matches them (Ruby's Dir.glob).

Python's glob (recursive=True) does the matching; three of Ruby's rules are
added around it:
  - {a,b} alternatives, nested or not ({a} alone is a), each alternative
    globbed in turn and the results joined in the order written: Ruby's braces,
    not bash's (no {1..3} ranges, which Ruby reads literally);
  - the matches of one alternative in Ruby's walk order: each directory's
    entries sorted by name, a directory's files where its name sorts
    ("a/z.yaml" before "a.yaml"), i.e. sorted by their path components;
  - `**/` descends into directories but not through symbolic links to them,
    and `**` that is not followed by `/` is `*`.
Hidden files and directories match only a pattern that names the dot, in both.
"""
import glob
import os


def ruby_glob(pattern):
    """The files and directories matching pattern, in Dir.glob's order (repeats kept)."""
    result = []
    for alternative in expand_braces(pattern):
        matches = glob.glob(_recursive_only_before_slash(alternative), recursive=True)
        if "**" in alternative.split("/"):
            matches = [match for match in matches if not _through_link(alternative, match)]
        result.extend(sorted(matches, key=_components))
    return result


def expand_braces(pattern):
    """'a{b,c{d,e}}f' -> ['abf', 'acdf', 'acef'], Ruby's way: the first '{' that has a
    matching '}' is expanded, then each result again; backslash escapes a brace or comma."""
    start = _unescaped(pattern, "{", 0)
    while start is not None:
        end, commas = _closing(pattern, start)
        if end is not None:
            head, tail = pattern[:start], pattern[end + 1:]
            bounds = [start] + commas + [end]
            return [expanded
                    for left, right in zip(bounds, bounds[1:])
                    for expanded in expand_braces(head + pattern[left + 1:right] + tail)]
        start = _unescaped(pattern, "{", start + 1)
    return [pattern]


def _unescaped(text, char, pos):
    while pos < len(text):
        if text[pos] == "\\":
            pos += 2
            continue
        if text[pos] == char:
            return pos
        pos += 1
    return None


def _closing(pattern, start):
    """(index of the '}' closing the '{' at start, [indexes of its top-level commas])."""
    depth = 0
    commas = []
    pos = start + 1
    while pos < len(pattern):
        char = pattern[pos]
        if char == "\\":
            pos += 2
            continue
        if char == "{":
            depth += 1
        elif char == "}":
            if depth == 0:
                return pos, commas
            depth -= 1
        elif char == "," and depth == 0:
            commas.append(pos)
        pos += 1
    return None, []


def _recursive_only_before_slash(pattern):
    """Ruby's `**` is recursive only as a whole component followed by '/'; a last `**` is `*`."""
    parts = pattern.split("/")
    if parts[-1] == "**":
        parts[-1] = "*"
    return "/".join(parts)


def _through_link(pattern, match):
    """True when the part of `match` that a `**` of `pattern` matched passes through a
    symbolic link to a directory (Ruby's `**/` does not follow them)."""
    parts = pattern.split("/")
    first = parts.index("**")
    last = len(parts) - 1 - parts[::-1].index("**")
    after = len(parts) - last - 1
    components = match.split("/")
    for index in range(first, len(components) - after):
        if os.path.islink("/".join(components[:index + 1])):
            return True
    return False


def _components(path):
    return path.split("/")

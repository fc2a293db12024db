"""line: one line in a file someone else owns (an include, a small setting).

The file must exist; its owner and mode are kept. With `match` (a regular
expression), the first matching line is replaced and later matching lines are
removed, so the setting appears once; without it the line is appended when
missing. ensure absent removes the line (and lines matching `match`).
"""
import re

from confrt.resources._system import (
    content_change, ensure_param, join_lines, plan_text, read_planned, single_line, split_lines, write_text,
)
from confrt.resources._posix import absolute_path
from confrt.resources.base import Param, Provider, ResourceFailed, ResourceType


def _regex(value):
    try:
        re.compile(value)
    except re.error as exc:
        raise ValueError(f"not a regular expression: {exc}") from None
    return value


def edit_lines(lines, line, match=None, ensure="present"):
    """The file's lines after ensuring `line` (a new list; equal to `lines` when nothing to do)."""
    pattern = re.compile(match) if match else None

    def hit(candidate):
        return candidate == line or bool(pattern and pattern.search(candidate))

    if ensure == "absent":
        return [candidate for candidate in lines if not hit(candidate)]
    result, placed = [], False
    for candidate in lines:
        if hit(candidate):
            if not placed:
                result.append(line)
                placed = True
            continue
        result.append(candidate)
    if not placed:
        result.append(line)
    return result


class LineProvider(Provider):
    name = "text"

    def _wanted(self):
        path = self.resource["path"]
        old = read_planned(self.ctx, path)
        if old is None:
            raise ResourceFailed(f"{path} does not exist (line edits files that others create)")
        lines = split_lines(old)
        new_lines = edit_lines(lines, self.resource["line"], self.resource.get("match"),
                               self.resource["ensure"])
        return old, (old if new_lines == lines else join_lines(new_lines))

    def changes(self):
        old, new = self._wanted()
        if new == old:
            return []
        plan_text(self.ctx, self.resource["path"], new)
        return [content_change(self.resource["path"], old, new, shared=True)]

    def apply(self, changes):
        old, new = self._wanted()
        if new != old:
            write_text(self.resource["path"], new)


class LineType(ResourceType):
    name = "line"
    namevar = "name"
    params = [
        Param("name", str, doc="a label for this line (the title)"),
        Param("path", str, required=True, check=absolute_path, doc="the file to edit; it must exist"),
        Param("line", str, required=True, check=single_line, doc="the whole line wanted in the file"),
        Param("match", str, check=_regex,
              doc="regular expression: the first matching line is replaced, other matches removed"),
        ensure_param(),
    ]
    providers = [LineProvider]

    @classmethod
    def autorequires(cls, resource):
        return [f"file[{resource['path']}]"]


TYPE = LineType

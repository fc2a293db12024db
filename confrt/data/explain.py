"""The text of `confrt lookup --explain`, in the spirit of `puppet lookup --explain`.

Values of sensitive keys are always shown as [redacted].
"""
import json

from confrt.data.keys import MISSING

from confrt.util.redaction import REDACTED


class Explanation:
    def __init__(self, key, redact=False):
        self._redact = redact
        self._lines = [f'Searching for "{key}"']
        self._heading = None

    def merge(self, spec, origin):
        source = {"lookup_options": " (from lookup_options)", "request": " (requested)"}.get(origin, "")
        self._lines.append(f"  Merge strategy: {spec.describe()}{source}")

    def location(self, heading, location):
        if heading != self._heading:
            self._heading = heading
            self._lines.append(f"  {heading}")
        if location.skipped:
            self._lines.append(f'    Path "{location.original}"')
            self._lines.append(f"      Skipped: {location.skipped}")
            return
        self._lines.append(f'    Path "{location.path}"')
        if location.original != location.path:
            self._lines.append(f'      Original path: "{location.original}"')

    def absent(self, file_exists):
        self._lines.append("      No such key" if file_exists else "      Path not found")

    def found(self, value):
        self._lines.append(f"      Found value: {self.show(value)}")

    def merged(self, value):
        self._lines.append(f"  Merged result: {self.show(value)}")

    def result(self, value):
        if value is MISSING:
            self._lines.append("  No value found")
        else:
            self._lines.append(f"  Result: {self.show(value)}")

    def failed(self, error):
        self._lines.append(f"  Error: {error}")

    def show(self, value):
        if self._redact:
            return REDACTED
        return json.dumps(value, default=str, sort_keys=False)

    def text(self):
        return "\n".join(self._lines) + "\n"

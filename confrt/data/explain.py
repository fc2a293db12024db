"""The text of `confrt lookup --explain`, in the spirit of `puppet lookup --explain`.

Values are written when the text is made, after the lookup: a key that turned out
sensitive (lookup_options, a decrypted eyaml value) shows every value as [redacted].
"""
import json

from confrt.data.keys import MISSING

from confrt.util.redaction import REDACTED


class Explanation:
    def __init__(self, key):
        self._lines = [f'Searching for "{key}"']   # text, or (text before a value, the value)
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
        self._lines.append(("      Found value: ", value))

    def merged(self, value):
        self._lines.append(("  Merged result: ", value))

    def result(self, value):
        if value is MISSING:
            self._lines.append("  No value found")
        else:
            self._lines.append(("  Result: ", value))

    def failed(self, error):
        self._lines.append(f"  Error: {error}")

    def text(self, redact=False):
        def shown(line):
            if isinstance(line, str):
                return line
            before, value = line
            return before + (REDACTED if redact else json.dumps(value, default=str, sort_keys=False))

        return "\n".join(map(shown, self._lines)) + "\n"

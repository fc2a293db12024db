"""line: edits keep the rest of the file, its owner and mode; noop and a second run change nothing."""
import os

import pytest
from engine_support import apply_catalog, catalog_of, res

from confrt.errors import CompileError
from confrt.resources.line import edit_lines


def test_edit_lines_appends_replaces_and_removes():
    assert edit_lines(["a"], "b") == ["a", "b"]
    assert edit_lines(["a", "b"], "b") == ["a", "b"]
    assert edit_lines(["x=1", "y", "x = 2"], "x = 3", match=r"^x\s*=") == ["x = 3", "y"]
    assert edit_lines(["a", "b", "a"], "a", ensure="absent") == ["b"]
    assert edit_lines(["include x", "k=1"], "k=2", match="^k=", ensure="absent") == ["include x"]


def test_apply_keeps_mode_and_other_lines_and_is_idempotent(tmp_path):
    target = tmp_path / "app.conf"
    target.write_text("# theirs\nsetting=1\n")
    os.chmod(target, 0o640)
    catalog = lambda: catalog_of(res("line", "setting", path=str(target), line="setting=2",  # noqa: E731
                                     match="^setting="))
    report = apply_catalog(catalog(), tmp_path / "state", noop=True)
    assert report.count("noop") == 1 and target.read_text() == "# theirs\nsetting=1\n"
    apply_catalog(catalog(), tmp_path / "state")
    assert target.read_text() == "# theirs\nsetting=2\n"
    assert os.stat(target).st_mode & 0o777 == 0o640
    before = os.stat(target).st_ino
    assert not apply_catalog(catalog(), tmp_path / "state").has_changes
    assert os.stat(target).st_ino == before  # an unchanged file is not rewritten


def test_missing_file_fails_without_creating_it(tmp_path):
    target = tmp_path / "absent.conf"
    report = apply_catalog(catalog_of(res("line", "x", path=str(target), line="x")), tmp_path / "state")
    assert report.count("failed") == 1 and not target.exists()


def test_bad_regex_is_a_compile_error():
    with pytest.raises(CompileError, match=r"line\[x\]: match: not a regular expression"):
        catalog_of(res("line", "x", path="/etc/x", line="x", match="("))

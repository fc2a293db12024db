"""Files several resources edit (sysctl.d, fstab, line, authorized_keys): one diff per file per run (issue 19).

Each resource keeps its change line, in a noop and in the real run alike; the noop shows the file's
diff once, after the change lines, from the text the run found to the text it leaves. A file of
its own (file, cron) keeps its diff under its change line.
"""
import io

from engine_support import apply_catalog, catalog_of, change_lines, res

from confrt.engine.report import Report
from confrt.resources.base import Change, Resource
from confrt.resources.sysctl import proc_path

KEYS = ("kernel.pid_max", "kernel.threads-max", "vm.max_map_count", "fs.file-max")


def live(key):
    with open(proc_path(key)) as handle:
        return " ".join(handle.read().split())


def diff_headers(text):
    return [line for line in text.splitlines() if line.startswith("--- ")]


def test_sysctls_sharing_a_file_show_one_diff_and_a_change_line_each(tmp_path):
    conf = tmp_path / "60-tcpbuffers.conf"
    conf.write_text("# tuning\nkernel.pid_max = 1\n")
    # only_raise with 1: the live values stay (no sysctl -w in the real run), the file records them
    catalog = catalog_of(*[res("sysctl", key, value=1, only_raise=True, file=str(conf)) for key in KEYS])
    noop = apply_catalog(catalog, tmp_path / "state", noop=True)
    text = noop.out.getvalue()
    assert change_lines(noop) == [f"sysctl[{key}]/content: content of {conf} changed" for key in KEYS]
    assert diff_headers(text) == [f"--- {conf}"]
    diff = text[text.index(f"--- {conf}"):]
    assert diff == (f"--- {conf}\n+++ {conf} (new)\n@@ -1,2 +1,5 @@\n # tuning\n-kernel.pid_max = 1\n" +
                    "".join(f"+{key} = {live(key)}\n" for key in KEYS))
    assert text.index(diff) > text.index(f"sysctl[{KEYS[-1]}]/content")  # after the change lines
    assert conf.read_text() == "# tuning\nkernel.pid_max = 1\n"

    real = apply_catalog(catalog, tmp_path / "state")
    assert change_lines(real) == change_lines(noop) and diff_headers(real.out.getvalue()) == []
    assert conf.read_text() == "# tuning\n" + "".join(f"{key} = {live(key)}\n" for key in KEYS)
    again = apply_catalog(catalog, tmp_path / "state", noop=True)
    assert again.out.getvalue() == "" and not again.has_changes


def test_each_shared_file_is_diffed_once_even_when_its_editors_are_interleaved(tmp_path):
    hosts, fstab, own = tmp_path / "hosts", tmp_path / "fstab", tmp_path / "motd"
    hosts.write_text("127.0.0.1 localhost\n")
    fstab.write_text("proc /proc proc defaults 0 0\n")
    catalog = catalog_of(
        res("line", "first host", path=str(hosts), line="10.0.0.1 head"),
        res("mount", str(tmp_path / "a"), device="LABEL=a", ensure="present", fstab=str(fstab),
            require="line[first host]"),
        res("file", str(own), content="hello\n", require=f"mount[{tmp_path}/a]"),
        res("line", "second host", path=str(hosts), line="10.0.0.2 node", require=f"file[{own}]"),
        res("mount", str(tmp_path / "b"), device="LABEL=b", ensure="present", fstab=str(fstab),
            require="line[second host]"),
    )
    noop = apply_catalog(catalog, tmp_path / "state", noop=True)
    text = noop.out.getvalue()
    assert [line.split("]/", 1)[0] + "]" for line in change_lines(noop)] == [
        "line[first host]", f"mount[{tmp_path}/a]", f"file[{own}]", "line[second host]", f"mount[{tmp_path}/b]"]
    assert diff_headers(text) == [f"--- {own}", f"--- {hosts}", f"--- {fstab}"]
    # the file's own diff under its change line; the shared ones at the end, whole
    assert text.index(f"--- {own}") < text.index("line[second host]/content") < text.index(f"--- {hosts}")
    assert "@@ -1 +1,3 @@\n 127.0.0.1 localhost\n+10.0.0.1 head\n+10.0.0.2 node\n" in text
    assert text.count("+LABEL=") == 2

    real = apply_catalog(catalog, tmp_path / "state")
    assert change_lines(real) == change_lines(noop)
    assert hosts.read_text() == "127.0.0.1 localhost\n10.0.0.1 head\n10.0.0.2 node\n"


def test_a_file_a_sensitive_resource_edits_shows_no_diff(tmp_path):
    secret, public = tmp_path / "secret.conf", tmp_path / "public.conf"
    secret.write_text("# db\n")
    public.write_text("# app\n")
    catalog = catalog_of(
        res("line", "user", path=str(secret), line="user=app"),
        res("line", "password", path=str(secret), line="password=hunter2xyz", sensitive=["line"]),
        res("line", "setting", path=str(public), line="debug=0"),
    )
    noop = apply_catalog(catalog, tmp_path / "state", noop=True)
    text = noop.out.getvalue()
    assert "hunter2xyz" not in text and "user=app" not in text  # no diff of the file at all
    assert diff_headers(text) == [f"--- {public}"] and "+debug=0\n" in text
    assert change_lines(noop) == [f"line[user]/content: content of {secret} changed",
                                  f"line[password]/content: content of {secret} changed",
                                  f"line[setting]/content: content of {public} changed"]


def test_a_file_edited_back_to_what_it_was_shows_no_diff():
    report = Report(noop=True, out=io.StringIO(), err=io.StringIO(), color=False, started=0.0)
    first, second = Resource("line", "a", {}, module="m"), Resource("line", "b", {}, module="m")
    report.changed(first, [Change("content", None, None, "content of /x changed", edit=("/x", "a\n", "a\nb\n"))], 0)
    report.changed(second, [Change("content", None, None, "content of /x changed", edit=("/x", "a\nb\n", "a\n"))], 0)
    report.log_edits()
    assert report.out.getvalue() == "line[a]/content: content of /x changed (noop)\n" \
                                    "line[b]/content: content of /x changed (noop)\n"

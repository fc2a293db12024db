"""The parse cache (util/parse_cache): an unchanged YAML file is read back without PyYAML,
a changed one is parsed again whatever its stat says, an entry somebody else could have
written is never believed, and no copy of a text outlives it."""
import json
import marshal
import os
import subprocess
import sys
import zlib

import pytest
from confrt_testing import REPO, confrt_env

from confrt.util import parse_cache

# load files in a fresh process; print their data and whether PyYAML was imported
LOAD = """\
import json, sys
from confrt.util.yamlfile import load_yaml_file
data = [load_yaml_file(path) for path in sys.argv[1:]]
print(json.dumps({"data": data[0] if len(data) == 1 else data, "yaml": "yaml" in sys.modules}, default=str))
"""


@pytest.fixture
def cache(tmp_path):
    return tmp_path / "cache"


def run_load(cache, *paths, **env):
    return subprocess.run([sys.executable, "-c", LOAD, *map(str, paths)], capture_output=True, text=True,
                          env=confrt_env({"CONFRT_PARSE_CACHE": str(cache), **env}), cwd=REPO, timeout=30)


def load(cache, *paths, **env):
    result = run_load(cache, *paths, **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def entry(cache, path):
    return cache / str(path).replace("%", "%25").replace("/", "%2F")


def test_an_unchanged_file_is_read_back_without_pyyaml(tmp_path, cache):
    data = tmp_path / "common.yaml"
    data.write_text("classes: [base, ntp]\nntp::servers:\n  - 0.pool.ntp.org\nport: 123\n")
    first = load(cache, data)
    assert first == {"data": {"classes": ["base", "ntp"], "ntp::servers": ["0.pool.ntp.org"], "port": 123},
                     "yaml": True}
    assert oct(entry(cache, data).stat().st_mode & 0o777) == "0o600"
    assert oct(cache.stat().st_mode & 0o777) == "0o700"
    nested = tmp_path / "var-cache-confrt" / "yaml"  # as /var/cache/confrt/yaml on a first run
    load(nested, data)
    assert [oct(path.stat().st_mode & 0o777) for path in (nested.parent, nested)] == ["0o700", "0o700"]
    assert load(cache, data) == dict(first, yaml=False)


def test_a_change_is_seen_even_with_the_same_size_and_times(tmp_path, cache):
    data = tmp_path / "common.yaml"
    data.write_text("value: 1111\n")
    assert load(cache, data)["data"] == {"value": 1111}
    stamp = data.stat()
    data.write_text("value: 2222\n")
    os.utime(data, ns=(stamp.st_atime_ns, stamp.st_mtime_ns))
    assert data.stat().st_size == stamp.st_size and data.stat().st_mtime_ns == stamp.st_mtime_ns
    assert load(cache, data) == {"data": {"value": 2222}, "yaml": True}


def test_a_run_reads_only_the_entries_of_its_files(tmp_path, cache):
    small, big = tmp_path / "confrt.yaml", tmp_path / "big.yaml"
    small.write_text("statedir: /var/lib/confrt\n")
    big.write_text("".join(f"key{n}: value {n}\n" for n in range(2000)))
    load(cache, small, big)
    script = ("import sys\n"
              "sys.addaudithook(lambda event, args: event == 'open' and print(args[0], file=sys.stderr))\n"
              "from confrt.util.yamlfile import load_yaml_file\n"
              f"load_yaml_file({str(small)!r})\n")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO,
                            env=confrt_env({"CONFRT_PARSE_CACHE": str(cache)}))
    opened = result.stderr.splitlines()
    assert str(entry(cache, small)) in opened and str(entry(cache, big)) not in opened


def write_entry(cache, path, text, data, header=None, crc=None):
    """An entry that says the file at `path` holding `text` parses to `data`."""
    cache.mkdir(mode=0o700, exist_ok=True)
    blob = marshal.dumps(data)
    target = entry(cache, path)
    target.write_bytes(marshal.dumps((header or parse_cache.header(), text, zlib.crc32(blob) if crc is None
                                      else crc, blob)))
    target.chmod(0o600)
    return target


def test_the_entry_format_is_what_the_test_writes(tmp_path, cache):
    data = tmp_path / "site.yaml"
    data.write_text("a: 1\n")
    write_entry(cache, data, "a: 1\n", {"poisoned": True})
    assert load(cache, data) == {"data": {"poisoned": True}, "yaml": False}


@pytest.mark.parametrize("tamper", ["group-writable", "other-writable", "owned by nobody", "a symlink"])
def test_an_entry_others_could_write_is_not_believed(tmp_path, cache, tamper):
    data = tmp_path / "site.yaml"
    data.write_text("a: 1\n")
    poisoned = write_entry(cache, data, "a: 1\n", {"poisoned": True})
    if tamper == "owned by nobody":
        if os.geteuid() != 0:
            pytest.skip("chown needs root")
        os.chown(poisoned, 65534, 65534)
    elif tamper == "a symlink":
        elsewhere = tmp_path / "elsewhere"
        poisoned.rename(elsewhere)
        poisoned.symlink_to(elsewhere)
    else:
        poisoned.chmod(0o620 if tamper == "group-writable" else 0o602)
    assert load(cache, data) == {"data": {"a": 1}, "yaml": True}


@pytest.mark.parametrize("damage", ["empty", "garbage", "other header", "bad crc", "bad data"])
def test_a_damaged_or_foreign_entry_is_parsed_again_and_replaced(tmp_path, cache, damage):
    data = tmp_path / "site.yaml"
    data.write_text("a: 1\n")
    if damage in ("empty", "garbage"):
        write_entry(cache, data, "a: 1\n", {}).write_bytes(b"" if damage == "empty" else b"garbage")
    elif damage == "other header":
        write_entry(cache, data, "a: 1\n", {"poisoned": True}, header=(0, "old", (3, 0), None))
    elif damage == "bad crc":
        write_entry(cache, data, "a: 1\n", {"poisoned": True}, crc=1)
    else:  # the crc matches, the marshal data does not load
        blob = b"\xff\x00"
        write_entry(cache, data, "a: 1\n", {}).write_bytes(
            marshal.dumps((parse_cache.header(), "a: 1\n", zlib.crc32(blob), blob)))
    assert load(cache, data) == {"data": {"a": 1}, "yaml": True}
    assert load(cache, data) == {"data": {"a": 1}, "yaml": False}


def test_a_fifo_in_place_of_an_entry_does_not_hang_the_run(tmp_path, cache):
    data = tmp_path / "site.yaml"
    data.write_text("a: 1\n")
    cache.mkdir(mode=0o700)
    os.mkfifo(entry(cache, data), 0o600)
    assert load(cache, data) == {"data": {"a": 1}, "yaml": True}  # load() has a 30 s timeout


def test_off_writes_nothing(tmp_path):
    data = tmp_path / "site.yaml"
    data.write_text("a: 1\n")
    before = set(os.listdir(tmp_path))
    for _ in range(2):
        assert load("off", data, HOME=str(tmp_path), XDG_CACHE_HOME=str(tmp_path)) == {"data": {"a": 1}, "yaml": True}
    assert set(os.listdir(tmp_path)) == before


def test_no_copy_of_an_old_text_stays_behind(tmp_path, cache):
    secret, other = tmp_path / "local.yaml", tmp_path / "site.yaml"
    secret.write_text("condor::pool_password: s3cr3t-before\n")
    other.write_text("a: 1\n")
    load(cache, secret, other)
    assert b"s3cr3t-before" in entry(cache, secret).read_bytes()

    secret.write_text("since: 2024-01-02\n")  # marshal cannot keep a date: parsed every time
    assert load(cache, secret) == {"data": {"since": "2024-01-02"}, "yaml": True}
    assert load(cache, secret)["yaml"] is True
    assert not entry(cache, secret).exists()

    secret.write_text("condor::pool_password: s3cr3t-again\n")
    load(cache, secret)
    secret.write_text("condor::pool_password: [unclosed\n")  # no longer parses: its entry goes
    result = run_load(cache, secret)
    assert result.returncode != 0 and "invalid YAML" in result.stderr
    assert not entry(cache, secret).exists()

    secret.write_text("condor::pool_password: s3cr3t-last\n")
    load(cache, secret)
    secret.unlink()
    (tmp_path / "new.yaml").write_text("b: 2\n")
    load(cache, tmp_path / "new.yaml")  # writing an entry sweeps those of files that are gone
    assert sorted(os.listdir(cache)) == sorted(entry(cache, path).name for path in (other, tmp_path / "new.yaml"))


def test_bad_yaml_keeps_its_one_line_error(tmp_path, cache, run_confrt):
    config = tmp_path / "confrt.yaml"
    config.write_text("statedir: [unclosed\n")
    for _ in range(2):
        result = run_confrt("facts", "os.family", "--config", config, env={"CONFRT_PARSE_CACHE": str(cache)})
        assert result.returncode != 0
        [line] = result.stderr.strip().splitlines()
        assert line.startswith(f"confrt: error: {config}:2:1: invalid YAML: ")
    assert not entry(cache, config).exists()


def test_each_read_gets_its_own_copy(tmp_path, monkeypatch, cache):
    monkeypatch.setenv("CONFRT_PARSE_CACHE", str(cache))
    from confrt.util.yamlfile import load_yaml_file

    data = tmp_path / "site.yaml"
    data.write_text("list: [1]\n")
    for _ in range(2):
        load_yaml_file(data)["list"].append(2)
        assert load_yaml_file(data) == {"list": [1]}
    assert entry(cache, data).exists()


def test_a_pyyaml_upgrade_is_a_new_header(tmp_path, monkeypatch):
    site = tmp_path / "site"
    (site / "yaml").mkdir(parents=True)
    (site / "yaml" / "__init__.py").write_text("# PyYAML 6.0\n")
    monkeypatch.setattr(sys, "path", [str(site)])
    first = parse_cache._pyyaml_stamp()
    (site / "yaml" / "__init__.py").write_text("# PyYAML 6.0.1, reinstalled\n")
    assert first[0] == str(site) and parse_cache._pyyaml_stamp() != first


def fresh_process_state(monkeypatch, cache):
    monkeypatch.setenv("CONFRT_PARSE_CACHE", str(cache))
    monkeypatch.setattr(parse_cache, "_swept", set())


def test_a_cold_cache_lists_its_folder_once_per_run(tmp_path, monkeypatch, cache):
    fresh_process_state(monkeypatch, cache)
    from confrt.util.yamlfile import load_yaml_file

    listed = []
    real_listdir = os.listdir
    monkeypatch.setattr(os, "listdir", lambda path=".": listed.append(path) or real_listdir(path))
    for number in range(50):
        (tmp_path / f"{number}.yaml").write_text(f"n: {number}\n")
        load_yaml_file(tmp_path / f"{number}.yaml")
    assert listed.count(str(cache)) == 1 and len(os.listdir(cache)) == 50


def test_the_sweep_removes_only_our_own_files(tmp_path, monkeypatch, cache):
    if os.geteuid() != 0:
        pytest.skip("chown needs root")
    gone = write_entry(cache, tmp_path / "gone.yaml", "a: 1\n", {"a": 1})
    foreign = write_entry(cache, tmp_path / "also-gone.yaml", "a: 1\n", {"a": 1})
    old_temp, foreign_temp = cache / ".new-0001", cache / ".new-0002"
    for path in (old_temp, foreign_temp):
        path.write_bytes(b"")
        os.utime(path, (0, 0))
    for path in (foreign, foreign_temp):
        os.chown(path, 65534, 65534)
    (tmp_path / "site.yaml").write_text("b: 2\n")
    load(cache, tmp_path / "site.yaml")
    left = set(os.listdir(cache))
    assert gone.name not in left and old_temp.name not in left
    assert {foreign.name, foreign_temp.name} <= left


def test_a_file_grown_too_large_or_unreadable_leaves_no_entry(tmp_path, monkeypatch, cache):
    fresh_process_state(monkeypatch, cache)
    monkeypatch.setattr(parse_cache, "MAX_TEXT", 100)
    from confrt.errors import DataError
    from confrt.util.yamlfile import load_yaml_file

    data = tmp_path / "local.yaml"
    data.write_text("password: s3cr3t-small\n")
    load_yaml_file(data)
    assert entry(cache, data).exists()
    data.write_text("password: s3cr3t-grown\n" + "# padding\n" * 20)
    assert load_yaml_file(data) == {"password": "s3cr3t-grown"}
    assert not entry(cache, data).exists()

    data.write_text("password: s3cr3t-small\n")
    load_yaml_file(data)
    data.unlink()
    data.mkdir()  # no longer a file confrt can read
    with pytest.raises(DataError):
        load_yaml_file(data)
    assert not entry(cache, data).exists()

"""The parse cache (util/parse_cache): an unchanged YAML file is read back without PyYAML,
a changed one is parsed again whatever its stat says, and a cache somebody else could
have written is never believed."""
import json
import marshal
import os
import subprocess
import sys

import pytest
from confrt_testing import REPO, confrt_env

from confrt.util import parse_cache

# load a file in a fresh process; print its data and whether PyYAML was imported
LOAD = """\
import json, sys
from confrt.util.yamlfile import load_yaml_file
data = load_yaml_file(sys.argv[1])
print(json.dumps({"data": data, "yaml": "yaml" in sys.modules}, default=str))
"""


@pytest.fixture
def cache(tmp_path):
    return tmp_path / "cache" / "yaml.cache"


def load(path, cache, **env):
    result = subprocess.run([sys.executable, "-c", LOAD, str(path)], capture_output=True, text=True,
                            env=confrt_env({"CONFRT_PARSE_CACHE": str(cache), **env}), cwd=REPO)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_an_unchanged_file_is_read_back_without_pyyaml(tmp_path, cache):
    data = tmp_path / "common.yaml"
    data.write_text("classes: [base, ntp]\nntp::servers:\n  - 0.pool.ntp.org\nport: 123\n")
    first = load(data, cache)
    assert first == {"data": {"classes": ["base", "ntp"], "ntp::servers": ["0.pool.ntp.org"], "port": 123},
                     "yaml": True}
    assert oct(cache.stat().st_mode & 0o777) == "0o600"
    assert oct(cache.parent.stat().st_mode & 0o777) == "0o700"
    assert load(data, cache) == dict(first, yaml=False)


def test_a_change_is_seen_even_with_the_same_size_and_times(tmp_path, cache):
    data = tmp_path / "common.yaml"
    data.write_text("value: 1111\n")
    assert load(data, cache)["data"] == {"value": 1111}
    stamp = data.stat()
    data.write_text("value: 2222\n")
    os.utime(data, ns=(stamp.st_atime_ns, stamp.st_mtime_ns))
    assert data.stat().st_size == stamp.st_size and data.stat().st_mtime_ns == stamp.st_mtime_ns
    assert load(data, cache) == {"data": {"value": 2222}, "yaml": True}


def poison(cache, path, text):
    """A cache that says `path` holding `text` parses to {'poisoned': True}."""
    cache.parent.mkdir(mode=0o700, exist_ok=True)
    entries = {str(path): (text, marshal.dumps({"poisoned": True}))}
    cache.write_bytes(marshal.dumps((parse_cache._header(), entries)))
    cache.chmod(0o600)


def test_the_cache_format_is_what_the_poison_helper_writes(tmp_path, cache):
    data = tmp_path / "site.yaml"
    data.write_text("a: 1\n")
    poison(cache, data, "a: 1\n")
    assert load(data, cache) == {"data": {"poisoned": True}, "yaml": False}


@pytest.mark.parametrize("tamper", ["group-writable", "other-writable", "owned by nobody"])
def test_a_cache_others_could_write_is_not_believed(tmp_path, cache, tamper):
    data = tmp_path / "site.yaml"
    data.write_text("a: 1\n")
    poison(cache, data, "a: 1\n")
    if tamper == "owned by nobody":
        if os.geteuid() != 0:
            pytest.skip("chown needs root")
        os.chown(cache, 65534, 65534)
    else:
        cache.chmod(0o620 if tamper == "group-writable" else 0o602)
    assert load(data, cache) == {"data": {"a": 1}, "yaml": True}


@pytest.mark.parametrize("content", [b"", b"garbage", marshal.dumps(((0, "old", (3, 0)), {}))])
def test_a_corrupt_or_foreign_cache_is_ignored_and_replaced(tmp_path, cache, content):
    data = tmp_path / "site.yaml"
    data.write_text("a: 1\n")
    cache.parent.mkdir(mode=0o700)
    cache.write_bytes(content)
    cache.chmod(0o600)
    assert load(data, cache) == {"data": {"a": 1}, "yaml": True}
    assert load(data, cache) == {"data": {"a": 1}, "yaml": False}


def test_off_writes_nothing(tmp_path):
    data = tmp_path / "site.yaml"
    data.write_text("a: 1\n")
    before = set(os.listdir(tmp_path))
    assert load(data, "off", HOME=str(tmp_path)) == {"data": {"a": 1}, "yaml": True}
    assert load(data, "off", HOME=str(tmp_path))["yaml"] is True
    assert set(os.listdir(tmp_path)) == before


def test_dates_are_parsed_every_time(tmp_path, cache):
    data = tmp_path / "site.yaml"
    data.write_text("secret: s3cr3t-before\n")
    load(data, cache)
    data.write_text("since: 2024-01-02\n")
    assert load(data, cache) == {"data": {"since": "2024-01-02"}, "yaml": True}
    assert load(data, cache)["yaml"] is True  # marshal cannot hold a date: not kept
    assert b"s3cr3t-before" not in cache.read_bytes()  # nor is the old text's entry


def test_bad_yaml_keeps_its_one_line_error_and_is_not_kept(tmp_path, cache, run_confrt):
    config = tmp_path / "confrt.yaml"
    config.write_text("statedir: [unclosed\n")
    for _ in range(2):
        result = run_confrt("facts", "os.family", "--config", config, env={"CONFRT_PARSE_CACHE": str(cache)})
        assert result.returncode != 0
        [line] = result.stderr.strip().splitlines()
        assert line.startswith(f"confrt: error: {config}:2:1: invalid YAML: ")
    assert not cache.exists()


def test_each_read_gets_its_own_copy(tmp_path, monkeypatch, cache):
    monkeypatch.setenv("CONFRT_PARSE_CACHE", str(cache))
    monkeypatch.setattr(parse_cache, "_entries", None)
    monkeypatch.setattr(parse_cache, "_dirty", False)
    from confrt.util.yamlfile import load_yaml_file

    data = tmp_path / "site.yaml"
    data.write_text("list: [1]\n")
    load_yaml_file(data)["list"].append(2)
    assert load_yaml_file(data) == {"list": [1]}
    load_yaml_file(data)["list"].append(3)
    assert load_yaml_file(data) == {"list": [1]}


def test_the_least_recently_used_go_first(tmp_path, monkeypatch, cache):
    monkeypatch.setenv("CONFRT_PARSE_CACHE", str(cache))
    monkeypatch.setattr(parse_cache, "_entries", None)
    monkeypatch.setattr(parse_cache, "_dirty", False)
    monkeypatch.setattr(parse_cache, "MAX_ENTRIES", 3)
    from confrt.util.yamlfile import load_yaml_file

    paths = []
    for number in range(4):
        paths.append(tmp_path / f"{number}.yaml")
        paths[-1].write_text(f"n: {number}\n")
        load_yaml_file(paths[-1])
    load_yaml_file(paths[0])  # used again: now the most recent
    parse_cache.save()
    header, entries = marshal.loads(cache.read_bytes())
    assert list(entries) == [str(paths[2]), str(paths[3]), str(paths[0])]


def test_a_removed_file_leaves_nothing_behind(tmp_path, monkeypatch, cache):
    monkeypatch.setenv("CONFRT_PARSE_CACHE", str(cache))
    monkeypatch.setattr(parse_cache, "_entries", None)
    monkeypatch.setattr(parse_cache, "_dirty", False)
    from confrt.util.yamlfile import load_yaml_file

    secret, kept = tmp_path / "local.yaml", tmp_path / "site.yaml"
    secret.write_text("condor::pool_password: hunter2\n")
    kept.write_text("a: 1\n")
    load_yaml_file(secret)
    load_yaml_file(kept)
    parse_cache.save()
    assert b"hunter2" in cache.read_bytes()
    secret.unlink()
    (tmp_path / "new.yaml").write_text("b: 2\n")
    load_yaml_file(tmp_path / "new.yaml")  # something new: the cache is written again
    parse_cache.save()
    assert b"hunter2" not in cache.read_bytes()
    assert sorted(marshal.loads(cache.read_bytes())[1]) == [str(tmp_path / "new.yaml"), str(kept)]

"""Helpers shared by the userdata tests."""
import os

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fixtures", "userdata")
LOCAL_DATA = "/etc/confrt/data/local.yaml"
STATEDIR = "/var/lib/confrt"
MAX_SIZE = 1 << 20


def decode(raw, max_size=MAX_SIZE, settings=None):
    """decode_userdata with the test paths; settings: confrt.yaml's userdata keys to change."""
    from confrt.config import userdata_defaults
    from confrt.userdata.formats import decode_userdata

    return decode_userdata(raw, LOCAL_DATA, STATEDIR, max_size, dict(userdata_defaults(), **(settings or {})))


def summary(decoded):
    """A plain, comparable view of a Decoded (file contents as text)."""
    return {
        "data": decoded.data,
        "files": [{"path": f.path, "mode": f"{f.mode:04o}", "owner": f.owner, "append": f.append,
                   "sensitive": f.sensitive, "content": f.content.decode("utf-8", "replace")}
                  for f in decoded.files],
        "scripts": {s.name: s.content.decode("utf-8", "replace") for s in decoded.scripts},
        "warnings": len(decoded.warnings),
    }


def write_config(tmp_path, **userdata):
    """A confrt.yaml with statedir/local_data under tmp_path; returns its path."""
    import yaml

    config = {"statedir": str(tmp_path / "state"), "local_data": str(tmp_path / "data" / "local.yaml")}
    if userdata:
        config["userdata"] = userdata
    path = tmp_path / "confrt.yaml"
    path.write_text(yaml.safe_dump(config))
    return path

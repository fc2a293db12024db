"""One `confrt run` parses its hiera.yaml once: the userdata step (does a level read this
write_files path? which keys open local_data's ENC values?) and each compile share the parse. It
was parsed once per data-like write_files entry, once for the ENC check and once per compile."""
import io

import yaml
from run_site import make_run_site

from confrt.config import load_config


def test_a_boot_run_that_compiles_twice_parses_hiera_yaml_once(tmp_path, monkeypatch):
    import confrt.data.hiera_config as hiera_config
    import confrt.data.store as store
    from confrt.runner import run

    env, paths = make_run_site(tmp_path, sources=[f"file:{tmp_path}/user-data"])
    userdata = {"write_files": [{"path": str(tmp_path / "out" / name), "content": "classes: [resources]\n"}
                                for name in ("a.yaml", "b.yaml")],   # look like data, read by no level
                "confrt": {"classes": ["no_such_module"]}}         # refused: the run compiles again
    (tmp_path / "user-data").write_text("#cloud-config\n" + yaml.safe_dump(userdata))
    parsed, load = [], hiera_config.load_hiera_config

    def counted(path):
        parsed.append(path)
        return load(path)

    monkeypatch.setattr(hiera_config, "load_hiera_config", counted)
    monkeypatch.setattr(store, "load_hiera_config", counted, raising=False)  # its own name for it, once
    out, err = io.StringIO(), io.StringIO()
    code = run(load_config(env["CONFRT_CONFIG"]), boot=True, out=out, err=err, syslog_socket=None)
    assert code == 4 and "the new local_data does not compile" in err.getvalue()
    assert parsed == [paths["hiera.yaml"]]

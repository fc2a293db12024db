"""The `role` fact: facts.d / --facts first, else local_data's top-level `role`, else undefined."""
import pytest
from run_site import make_run_site, write_yaml

from confrt.config import load_config
from confrt.errors import FactError
from confrt.facts import Facts

ROLES = {"worker": {"motd": "worker node"}, "squid": {"motd": "squid node"}}


@pytest.fixture
def site(tmp_path):
    return make_run_site(tmp_path, common={"motd": "plain node"}, roles=ROLES)


def facts_of(paths, facts_file=None):
    return Facts.for_config(load_config(paths["confrt.yaml"]), facts_file)


def test_role_comes_from_local_data(site):
    _, paths = site
    assert facts_of(paths).get("role") is None
    assert "role" not in facts_of(paths).to_dict()
    write_yaml(paths["local.yaml"], {"role": "worker", "classes": []})
    assert facts_of(paths).get("role") == "worker"


def test_facts_dir_and_facts_file_win_over_local_data(site, tmp_path):
    _, paths = site
    write_yaml(paths["local.yaml"], {"role": "worker"})
    write_yaml(f"{paths['facts.d']}/image.yaml", {"role": "squid"})
    assert facts_of(paths).get("role") == "squid"
    write_yaml(tmp_path / "override.yaml", {"role": "manager"})
    assert facts_of(paths, str(tmp_path / "override.yaml")).get("role") == "manager"


@pytest.mark.parametrize("bad", [["worker"], "../../etc/passwd", "", 7])
def test_a_bad_role_in_local_data_is_one_line_naming_the_file(site, bad):
    _, paths = site
    write_yaml(paths["local.yaml"], {"role": bad})
    with pytest.raises(FactError) as caught:
        facts_of(paths).get("role")
    assert str(caught.value).startswith(f"{paths['local.yaml']}: role: expected a role name")


def test_lookup_picks_the_role_level_from_local_data(site, run_confrt):
    env, paths = site
    assert run_confrt("lookup", "motd", env=env).stdout.strip() == "plain node"
    write_yaml(paths["local.yaml"], {"role": "worker"})
    result = run_confrt("lookup", "motd", "--explain", env=env)
    assert result.returncode == 0, result.stderr
    assert "worker node" in result.stdout and f"{paths['data']}/roles/worker.yaml" in result.stdout
    write_yaml(f"{paths['facts.d']}/image.yaml", {"role": "squid"})
    assert run_confrt("lookup", "motd", env=env).stdout.strip() == "squid node"


def test_apply_picks_the_role_level_from_local_data(tmp_path, run_confrt):
    target = tmp_path / "motd"
    roles = {"worker": {"classes": ["resources"],
                        "resources::file": {str(target): {"content": "worker node\n"}}}}
    env, paths = make_run_site(tmp_path, roles=roles)
    result = run_confrt("apply", "--detailed-exitcodes", env=env)
    assert result.returncode == 0, result.stderr
    assert not target.exists()
    write_yaml(paths["local.yaml"], {"role": "worker"})
    result = run_confrt("apply", "--detailed-exitcodes", env=env)
    assert result.returncode == 2, result.stderr
    assert target.read_text() == "worker node\n"

"""--config and --debug before and after the subcommand at every level, and --role."""
import pytest
from engine_support import make_site

MODULE = '''"""A module only this site has."""
from confrt.engine.module import Param

PARAMS = [Param("greeting", str, default="hi", doc="what to say")]


def declare(params, facts, ctx):
    return []
'''

FORMS = [
    ["--config", "{c}", "modules", "list"],
    ["modules", "--config", "{c}", "list"],
    ["modules", "list", "--config", "{c}"],
    ["--config={c}", "modules", "list"],
    ["modules", "show", "sitemod", "--config", "{c}"],
    ["--config", "{c}", "modules", "show", "sitemod"],
    ["--config", "{c}", "lookup", "greeting_key"],
    ["lookup", "greeting_key", "--config", "{c}"],
    ["--config", "{c}", "apply", "--noop"],
    ["apply", "--noop", "--config", "{c}"],
    ["--config", "{c}", "userdata", "show"],
    ["userdata", "show", "--config", "{c}"],
]


@pytest.fixture
def site(tmp_path):
    env = make_site(tmp_path, {"greeting_key": "from the site", "classes": []}, modules={"sitemod": MODULE})
    return env.pop("CONFRT_CONFIG"), env


@pytest.mark.parametrize("form", FORMS, ids=" ".join)
def test_config_is_taken_wherever_it_is_written(form, site, run_confrt, tmp_path):
    config, env = site
    argv = [word.format(c=config) for word in form]
    # CONFRT_CONFIG names a file that does not exist: only --config can make the command work
    result = run_confrt(*argv, env=dict(env, CONFRT_CONFIG=str(tmp_path / "missing.yaml")))
    if "userdata" in form:  # no source configured for this site: an error about userdata, not the config
        assert "config file not found" not in result.stderr, result.stderr
        return
    assert result.returncode == 0, result.stderr
    if "list" in form:
        assert "sitemod" in result.stdout
    if "show" in form:
        assert "what to say" in result.stdout
    if "lookup" in form:
        assert "from the site" in result.stdout


@pytest.mark.parametrize("argv", [["--debug", "modules", "list"], ["modules", "--debug", "list"],
                                  ["modules", "list", "--debug"], ["userdata", "build", "d.yaml", "--debug"],
                                  ["--debug", "apply"], ["apply", "--debug"]], ids=" ".join)
def test_debug_is_taken_wherever_it_is_written(argv):
    from confrt.cli import build_parser

    assert build_parser(argv).parse_args(argv).debug is True
    plain = [word for word in argv if word != "--debug"]
    assert build_parser(plain).parse_args(plain).debug is False


def test_role_is_the_role_fact(run_confrt, tmp_path):
    env = make_site(tmp_path, {"classes": []})
    result = run_confrt("facts", "role", "--role", "worker", env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "worker"
    facts_file = tmp_path / "facts.yaml"
    facts_file.write_text("role: squid\nsite: x\n")
    both = run_confrt("facts", "role", "--facts", str(facts_file), "--role", "worker", env=env)
    assert both.stdout.strip() == "worker", both.stderr  # --role wins over --facts


@pytest.mark.parametrize("role", ["../etc", "a/b", "", ".hidden"])
def test_a_role_that_is_a_path_is_refused(role, run_confrt, tmp_path):
    env = make_site(tmp_path, {"classes": []})
    result = run_confrt("apply", "--noop", "--role", role, env=env)
    assert result.returncode == 2 and "expected a role name" in result.stderr
    assert "Traceback" not in result.stderr

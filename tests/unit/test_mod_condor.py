"""condor module: every generated config.d set is read back by HTCondor's own parser (htcondor2.param)."""
import json
import os
import re
import shutil
import subprocess
import sys

import pytest
from mod_support import assert_compile_error, FACTS, scratch_disk, compile_site, content, file_resource, refs, write_files

htcondor2 = pytest.importorskip("htcondor2", reason="PyPI htcondor (the `test` extra) is not installed")
classad2 = pytest.importorskip("classad2", reason="PyPI htcondor (the `test` extra) is not installed")

CONFIG_DIR = "/etc/condor/config.d"
EXECUTE = {"classes": ["condor"], "condor::roles": ["execute"], "condor::collector_host": "cm.example.org"}
READ_PARAMS = """
import htcondor2, json, sys
values = {name: htcondor2.param.get(name) for name in sys.argv[1:]}
print(json.dumps({k: None if v is None else str(v) for k, v in values.items()}))
"""


#: What the EL package puts into config.d (its 00-htcondor-9.0.config): HTCondor reads it before
#: confrt's files, as on a real node.
PACKAGE_FILES = {"00-htcondor-9.0.config": "# use security : host_based\nuse security : recommended_v9_0\n"}


def condor_params(catalog, tmp_path, *names):
    """Write the catalog's config.d (beside the package's file) into tmp_path and read the knobs with
    HTCondor's config parser, as the daemons would after reading all of config.d."""
    root = tmp_path / "root"
    shutil.rmtree(root, ignore_errors=True)  # only this catalog's files
    config_dir = write_files(catalog, root, CONFIG_DIR)
    for name, text in PACKAGE_FILES.items():
        with open(os.path.join(config_dir, name), "w") as handle:
            handle.write(text)
    local = root / "condor_config.local"
    local.write_text("")
    top = root / "condor_config"
    top.write_text(f"RELEASE_DIR = /usr\nETC = {root}/etc/condor\nLOCAL_DIR = {root}/var\n"
                   f"LOCAL_CONFIG_DIR = {config_dir}\nLOCAL_CONFIG_FILE = {local}\n")
    env = dict(os.environ, CONDOR_CONFIG=str(top))
    result = subprocess.run([sys.executable, "-c", READ_PARAMS, *names], capture_output=True, text=True,
                            env=env)
    assert result.returncode == 0, f"HTCondor rejected the config: {result.stdout}{result.stderr}"
    return json.loads(result.stdout)


def machine(**attrs):
    return classad2.ClassAd(attrs)


def test_execute_node_knobs_read_back_by_htcondor(tmp_path):
    data = dict(EXECUTE, **{"condor::ccb": True, "condor::private_network_name": "aws-us-east-1",
                            "condor::startd_attrs": {"Site": 'BNL "ATLAS"', "Cloud": "aws", "Cores": 8,
                                                     "Preemptible": True}})
    facts = dict(FACTS, ephemeral_disk=scratch_disk(400000))
    catalog = compile_site(tmp_path, data, facts)
    knobs = condor_params(catalog, tmp_path, "DAEMON_LIST", "CONDOR_HOST", "COLLECTOR_HOST", "CCB_ADDRESS",
                          "PRIVATE_NETWORK_NAME", "SLOT_TYPE_1_PARTITIONABLE", "NUM_CPUS", "MEMORY",
                          "EXECUTE", "STARTD_ATTRS", "Site", "Preemptible", "START", "RESERVED_MEMORY", "RESERVED_DISK",
                          "STARTD_CRON_JOBLIST", "STARTD_CRON_CONFRT_EXECUTABLE",
                          "SEC_DEFAULT_AUTHENTICATION_METHODS")
    assert knobs["DAEMON_LIST"].replace(",", " ").split() == ["MASTER", "STARTD"]
    assert knobs["CONDOR_HOST"] == knobs["COLLECTOR_HOST"] == knobs["CCB_ADDRESS"] == "cm.example.org"
    assert knobs["PRIVATE_NETWORK_NAME"] == "aws-us-east-1"
    assert knobs["SLOT_TYPE_1_PARTITIONABLE"].lower() == "true"
    assert (knobs["NUM_CPUS"], knobs["MEMORY"]) == ("8", "16384")
    assert knobs["RESERVED_MEMORY"] == str(1024 + 16384 // 20)  # not all the RAM to jobs
    assert knobs["EXECUTE"] == "/scratch/condor/execute"
    assert knobs["RESERVED_DISK"] == "50000"  # the scratch disk's cache budget: not the jobs' to fill
    assert {"Site", "Cloud", "Cores", "Preemptible"} <= set(knobs["STARTD_ATTRS"].replace(",", " ").split())
    assert classad2.ExprTree(knobs["Site"]).eval() == 'BNL "ATLAS"'
    assert classad2.ExprTree(knobs["Preemptible"]).eval() is True
    assert "CONFRT" in knobs["STARTD_CRON_JOBLIST"].split()
    assert knobs["STARTD_CRON_CONFRT_EXECUTABLE"] == "/usr/libexec/confrt/condor-last-run"
    assert "IDTOKENS" in knobs["SEC_DEFAULT_AUTHENTICATION_METHODS"]
    start = classad2.ExprTree(knobs["START"])
    assert start.eval(machine(ConfrtLastRunStatus="failed")) is False
    assert start.eval(machine(ConfrtLastRunStatus="unchanged")) is True
    assert start.eval(machine()) is True  # before the first cron run
    execute_dir = catalog.get("directory[/scratch/condor/execute]")
    assert execute_dir["owner"] == "condor" and execute_dir["mode"] == "0755"
    assert catalog.get("directory[/scratch/condor]") is not None  # its parent on the fresh disk


def test_slot_layout_restarts_other_files_reconfig(tmp_path):
    catalog = compile_site(tmp_path, EXECUTE)
    service = catalog.get("service[condor]")
    reconfig = catalog.get("exec[condor_reconfig]")
    slots = f"file[{CONFIG_DIR}/30-confrt-slots.conf]"
    assert refs(service, "subscribe") == {slots}
    assert service["ensure"] == "running" and service["enable"] is True
    assert reconfig["refreshonly"] is True and reconfig["command"] == ["/usr/sbin/condor_reconfig"]
    assert slots not in refs(reconfig, "subscribe")
    assert f"file[{CONFIG_DIR}/10-confrt-roles.conf]" in refs(reconfig, "subscribe")
    assert "package[condor]" in refs(file_resource(catalog, f"{CONFIG_DIR}/10-confrt-roles.conf"), "require")
    knobs = condor_params(catalog, tmp_path, "EXECUTE", "NUM_CPUS")
    assert knobs == {"EXECUTE": "/var/lib/condor/execute", "NUM_CPUS": "8"}
    assert catalog.get("directory[/var/lib/condor/execute]")["owner"] == "condor"


def test_without_the_package_only_config_files(tmp_path):
    """Where HTCondor cannot be installed (Debian) the config is written, nothing that needs the package."""
    data = dict(EXECUTE, **{"condor::manage_package": False, "condor::manage_service": False})
    catalog = compile_site(tmp_path, data)
    assert not [ref for ref in catalog.resources if ref.startswith(("package[", "service[", "exec["))]
    assert catalog.get("directory[/var/lib/condor/execute]") is None  # /var/lib/condor is the package's
    assert condor_params(catalog, tmp_path, "EXECUTE")["EXECUTE"] == "/var/lib/condor/execute"


def test_manager_and_submit_have_no_startd_files(tmp_path):
    data = {"classes": ["condor"], "condor::roles": ["central_manager", "submit"],
            "condor::collector_port": 9619, "condor::collector_name": "Cloud pool",
            "condor::uid_domain": "example.org", "condor::lowport": 9600, "condor::highport": 9700}
    catalog = compile_site(tmp_path, data)
    for name in ("30-confrt-slots.conf", "40-confrt-execute.conf", "90-confrt-extra.conf"):
        assert file_resource(catalog, f"{CONFIG_DIR}/{name}")["ensure"] == "absent"
    knobs = condor_params(catalog, tmp_path, "DAEMON_LIST", "CONDOR_HOST", "COLLECTOR_HOST", "COLLECTOR_NAME",
                          "UID_DOMAIN", "LOWPORT", "HIGHPORT", "START", "SLOT_TYPE_1_PARTITIONABLE")
    assert set(knobs["DAEMON_LIST"].replace(",", " ").split()) == {"MASTER", "COLLECTOR", "NEGOTIATOR", "SCHEDD"}
    assert knobs["COLLECTOR_HOST"] == knobs["CONDOR_HOST"] + ":9619" and "$(" not in knobs["CONDOR_HOST"]
    assert (knobs["COLLECTOR_NAME"], knobs["UID_DOMAIN"]) == ("Cloud pool", "example.org")
    assert (knobs["LOWPORT"], knobs["HIGHPORT"]) == ("9600", "9700")
    assert knobs["SLOT_TYPE_1_PARTITIONABLE"] is None



@pytest.mark.parametrize("host, port, expected", [
    ("cm.example.org", 9619, "COLLECTOR_HOST = $(CONDOR_HOST):9619"),
    ("cm.example.org:9700", 9619, None),  # the port in collector_host wins
    ("cm.example.org", 9618, None),
])
def test_collector_port_only_when_the_host_has_none(tmp_path, host, port, expected):
    data = dict(EXECUTE, **{"condor::collector_host": host, "condor::collector_port": port})
    roles = content(compile_site(tmp_path, data), f"{CONFIG_DIR}/10-confrt-roles.conf")
    assert f"CONDOR_HOST = {host}\n" in roles
    lines = [line for line in roles.splitlines() if line.startswith("COLLECTOR_HOST")]
    assert lines == ([expected] if expected else [])

def test_extra_config_deep_merged_and_knocked_out(tmp_path):
    data = dict(EXECUTE, **{"condor::extra_config": {"MAX_JOBS_RUNNING": 100, "STARTD_DEBUG": "D_FULLDEBUG",
                                                     "KEEP": True}})
    local = {"condor::extra_config": {"STARTD_DEBUG": "--", "NEGOTIATOR_INTERVAL": 60}}
    catalog = compile_site(tmp_path, data, layers={"local.yaml": local})
    knobs = condor_params(catalog, tmp_path, "MAX_JOBS_RUNNING", "NEGOTIATOR_INTERVAL", "KEEP", "STARTD_DEBUG")
    assert knobs["MAX_JOBS_RUNNING"] == "100" and knobs["NEGOTIATOR_INTERVAL"] == "60"
    assert knobs["KEEP"] == "true"
    assert knobs["STARTD_DEBUG"] != "D_FULLDEBUG"


def test_tokens_and_pool_password_are_root_only_and_never_shown(tmp_path, run_confrt):
    token = "eyJhbGciOiJIUzI1NiIsImtpZCI6IlBPT0wifQ.eyJzdWIiOiJjb25kb3JAcG9vbCJ9.c2lnbmF0dXJl"
    data = dict(EXECUTE, **{"condor::tokens": {"pool": token}, "condor::pool_password": "s3cret-Pool-pw"})
    catalog = compile_site(tmp_path, data)
    token_file = file_resource(catalog, "/etc/condor/tokens.d/pool")
    assert (token_file["mode"], token_file["owner"]) == ("0600", "root") and "content" in token_file.sensitive
    assert catalog.get("directory[/etc/condor/tokens.d]")["mode"] == "0700"
    password = catalog.get("exec[condor pool password /etc/condor/passwords.d/POOL]")
    assert "environment" in password.sensitive and "s3cret" not in " ".join(password["command"])
    knobs = condor_params(catalog, tmp_path, "SEC_PASSWORD_FILE", "SEC_TOKEN_SYSTEM_DIRECTORY",
                          "SEC_DEFAULT_AUTHENTICATION_METHODS")
    assert knobs["SEC_PASSWORD_FILE"] == "/etc/condor/passwords.d/POOL"
    assert knobs["SEC_TOKEN_SYSTEM_DIRECTORY"] == "/etc/condor/tokens.d"
    assert {"PASSWORD", "IDTOKENS"} <= set(knobs["SEC_DEFAULT_AUTHENTICATION_METHODS"].replace(",", " ").split())
    env = {"CONFRT_CONFIG": str(tmp_path / "site" / "confrt.yaml")}
    result = run_confrt("apply", "--noop", env=env)
    assert "s3cret-Pool-pw" not in result.stdout + result.stderr and token not in result.stdout + result.stderr


def test_pool_password_file_is_htcondor_scrambled(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("the pool password file is written owned by root: needs root")
    tool = os.path.join(os.path.dirname(__file__), "..", "..", "modules", "condor", "files", "pool_password.py")
    path = tmp_path / "POOL"
    env = dict(os.environ, CONDOR_POOL_PASSWORD="abcdef")
    assert subprocess.run([sys.executable, tool, "check", path], env=env).returncode == 1
    assert subprocess.run([sys.executable, tool, "write", path], env=env).returncode == 0
    data = path.read_bytes()
    # HTCondor's simple_scramble: XOR with DE AD BE EF, the same length as the password
    assert data == bytes(b ^ k for b, k in zip(b"abcdef", [0xDE, 0xAD, 0xBE, 0xEF, 0xDE, 0xAD]))
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert subprocess.run([sys.executable, tool, "check", path], env=env).returncode == 0
    other = dict(env, CONDOR_POOL_PASSWORD="abcdeg")
    assert subprocess.run([sys.executable, tool, "check", path], env=other).returncode == 1


SUMMARY = """\
version: {config: "data-2024.06", confrt: 0.1.0}
resources: {changed: 1, failed: 2, total: 40, skipped: 1}
time: {total: 1.5, last_run: 1717000000}
changes: {total: 3}
events: {failure: 2, success: 3, total: 5}
"""


def last_run_ad(catalog, tmp_path, summary, report=None):
    script = tmp_path / "condor-last-run"
    script.write_text(content(catalog, "/usr/libexec/confrt/condor-last-run"))
    script.chmod(0o755)
    state = tmp_path / "state"
    state.mkdir(exist_ok=True)
    if summary is not None:
        (state / "last_run_summary.yaml").write_text(summary)
    if report is not None:
        (state / "last_run_report.json").write_text(json.dumps(report))
    result = subprocess.run([str(script), str(state / "last_run_summary.yaml")], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return classad2.parseOne(result.stdout)


def test_startd_cron_script_publishes_the_last_run_as_classad_attributes(tmp_path):
    catalog = compile_site(tmp_path, EXECUTE)
    knobs = condor_params(catalog, tmp_path, "START")
    start = classad2.ExprTree(knobs["START"])
    ad = last_run_ad(catalog, tmp_path, SUMMARY)
    assert ad["ConfrtLastRunStatus"] == "failed" and ad["ConfrtFailures"] == 2
    assert ad["ConfrtLastRunTime"] == 1717000000 and ad["ConfrtChanges"] == 3
    assert ad["ConfrtDataVersion"] == "data-2024.06"
    assert start.eval(ad) is False
    healthy = SUMMARY.replace("failed: 2", "failed: 0").replace("failure: 2", "failure: 0")
    ad = last_run_ad(catalog, tmp_path, healthy)
    assert ad["ConfrtLastRunStatus"] == "changed" and start.eval(ad) is True
    # a run that failed before applying (compile error) is only in the JSON report's status
    ad = last_run_ad(catalog, tmp_path, healthy, report={"status": "failed"})
    assert ad["ConfrtLastRunStatus"] == "failed" and start.eval(ad) is False


def test_startd_cron_script_without_a_summary_says_unknown(tmp_path):
    catalog = compile_site(tmp_path, EXECUTE)
    ad = last_run_ad(catalog, tmp_path, None)
    assert ad["ConfrtLastRunStatus"] == "unknown"
    ad = last_run_ad(catalog, tmp_path, "- not\n- a mapping\n")
    assert ad["ConfrtLastRunStatus"] == "unknown"


@pytest.mark.parametrize("data, problem", [
    ({"condor::roles": ["workr"]}, "condor::roles: unknown role 'workr'"),
    ({"condor::roles": ["execute"], "condor::collector_host": None}, "condor::collector_host: required"),
    ({"condor::extra_config": {"BAD KNOB": 1}}, "condor::extra_config: BAD KNOB: not a configuration knob"),
    ({"condor::extra_config": {"X": "a\nb"}}, "condor::extra_config: X: a value must be one line"),
    ({"condor::startd_attrs": {"Site": ["a"]}}, "condor::startd_attrs: Site: expected a string"),
    ({"condor::security": "weak"}, "condor::security: expected one of"),
    ({"condor::job_environment": {"A B": "x"}}, "condor::job_environment: 'A B': expected a variable name"),
    ({"condor::job_environment": {"A": "$(HOME)"}}, "condor::job_environment: 'A': expected"),
])
def test_bad_data_is_one_line_naming_file_and_key(tmp_path, run_confrt, data, problem):
    assert_compile_error(run_confrt, tmp_path, dict(EXECUTE, **data), problem,
                         names_file="collector_host" not in problem)


# -- every knob is the effective value after HTCondor read all of config.d (issue 15) -------------

def words(value):
    return (value or "").replace(",", " ").split()


#: parameter -> (data on top of EXECUTE, {knob: the value htcondor2.param must give, or a check}).
#: Each is read from the whole config.d (the package's 00-htcondor-9.0.config and every confrt file).
KNOB_CASES = {
    "roles": ({"condor::roles": ["execute", "submit"]},
              {"DAEMON_LIST": lambda v: words(v) == ["MASTER", "STARTD", "SCHEDD"]}),
    "collector_host": ({"condor::collector_host": "pool.example.org"},
                       {"CONDOR_HOST": "pool.example.org", "COLLECTOR_HOST": "pool.example.org"}),
    "collector_port": ({"condor::collector_port": 9619}, {"COLLECTOR_HOST": "cm.example.org:9619"}),
    "collector_name": ({"condor::collector_name": "CernVM pool"}, {"COLLECTOR_NAME": "CernVM pool"}),
    "uid_domain": ({"condor::uid_domain": "example.org"}, {"UID_DOMAIN": "example.org"}),
    "trust_uid_domain": ({"condor::trust_uid_domain": True}, {"TRUST_UID_DOMAIN": "true"}),
    "soft_uid_domain": ({"condor::soft_uid_domain": True}, {"SOFT_UID_DOMAIN": "true"}),
    "lowport": ({"condor::lowport": 9600}, {"LOWPORT": "9600"}),
    "highport": ({"condor::highport": 9700}, {"HIGHPORT": "9700"}),
    "allow_write": ({"condor::allow_write": "*.example.org"}, {"ALLOW_WRITE": "*.example.org"}),
    "security": ({"condor::security": "host_based"},
                 {"ALLOW_ADMINISTRATOR": "cm.example.org", "ALLOW_NEGOTIATOR": "cm.example.org"}),
    "pool_password": ({"condor::pool_password": "s3cret"},
                      {"SEC_PASSWORD_FILE": "/etc/condor/passwords.d/POOL",
                       "SEC_DEFAULT_AUTHENTICATION_METHODS": lambda v: "PASSWORD" in words(v)}),
    "password_file": ({"condor::pool_password": "s3cret", "condor::password_file": "/etc/condor/pw/POOL"},
                      {"SEC_PASSWORD_FILE": "/etc/condor/pw/POOL"}),
    "tokens": ({"condor::tokens": {"pool": "eyJ.x.y"}}, {"SEC_TOKEN_SYSTEM_DIRECTORY": "/etc/condor/tokens.d"}),
    "token_dir": ({"condor::tokens": {"pool": "eyJ.x.y"}, "condor::token_dir": "/etc/condor/idtokens"},
                  {"SEC_TOKEN_SYSTEM_DIRECTORY": "/etc/condor/idtokens"}),
    "ccb": ({"condor::ccb": True}, {"CCB_ADDRESS": "cm.example.org"}),
    "private_network_name": ({"condor::private_network_name": "aws-us-east-1"},
                             {"PRIVATE_NETWORK_NAME": "aws-us-east-1"}),
    "tcp_forwarding_host": ({"condor::tcp_forwarding_host": "203.0.113.7"}, {"TCP_FORWARDING_HOST": "203.0.113.7"}),
    "partitionable_slot": ({"condor::partitionable_slot": False}, {"SLOT_TYPE_1_PARTITIONABLE": None}),
    "num_cpus": ({"condor::num_cpus": 4}, {"NUM_CPUS": "4"}),
    "memory_mb": ({"condor::memory_mb": 8000}, {"MEMORY": "8000"}),
    "reserved_memory_mb": ({"condor::reserved_memory_mb": 1024}, {"MEMORY": "16384", "RESERVED_MEMORY": "1024"}),
    "execute_dir": ({"condor::execute_dir": "/data/condor/execute"}, {"EXECUTE": "/data/condor/execute"}),
    "reserved_disk_mb": ({"condor::reserved_disk_mb": 20000}, {"RESERVED_DISK": "20000"}),
    "job_environment": ({"condor::job_environment": {"SITE": "BNL"}}, {"STARTER_JOB_ENVIRONMENT": '"SITE=\'BNL\'"'}),
    "startd_attrs": ({"condor::startd_attrs": {"Site": "BNL"}},
                     {"STARTD_ATTRS": lambda v: "Site" in words(v), "Site": '"BNL"'}),
    "health_check": ({"condor::health_check": False},
                     {"STARTD_CRON_JOBLIST": lambda v: "CONFRT" not in words(v),
                      "START": lambda v: "Confrt" not in (v or "")}),
    "health_period": ({"condor::health_period": "10m"}, {"STARTD_CRON_CONFRT_PERIOD": "10m"}),
    "summary_file": ({"condor::summary_file": "/srv/confrt/last_run_summary.yaml"},
                     {"STARTD_CRON_CONFRT_ARGS": "/srv/confrt/last_run_summary.yaml"}),
    "health_script": ({"condor::health_script": "/opt/confrt/condor-last-run"},
                      {"STARTD_CRON_CONFRT_EXECUTABLE": "/opt/confrt/condor-last-run"}),
    # a knob the security metaknob also sets: extra_config (90-confrt-extra.conf) still wins
    "extra_config": ({"condor::extra_config": {"ALLOW_READ": "*.example.org", "MAX_JOBS_RUNNING": 50}},
                     {"ALLOW_READ": "*.example.org", "MAX_JOBS_RUNNING": "50"}),
}
#: parameters that set no knob: where the files go, the package and the service
NOT_KNOBS = {"config_dir", "package", "manage_package", "service", "manage_service"}


def assert_knobs(knobs, expected):
    for name, want in expected.items():
        if callable(want):
            assert want(knobs[name]), f"{name} = {knobs[name]!r}"
        else:
            assert knobs[name] == want, f"{name} = {knobs[name]!r}, expected {want!r}"


def test_every_parameter_has_a_knob_case():
    from confrt.engine.module import Module
    from confrt.paths import packaged_modules

    params = {p.name for p in Module("condor", path=os.path.join(packaged_modules(), "condor")).params}
    assert params - NOT_KNOBS == set(KNOB_CASES), "a condor parameter without its case in KNOB_CASES"


@pytest.mark.parametrize("param", sorted(KNOB_CASES))
def test_each_parameter_is_the_effective_value_of_its_knob(tmp_path, param):
    data, expected = KNOB_CASES[param]
    knobs = condor_params(compile_site(tmp_path, dict(EXECUTE, **data)), tmp_path, *expected)
    assert_knobs(knobs, expected)


#: every parameter that writes a knob at once, for the test below
EVERYTHING = dict(EXECUTE, **{
    "condor::collector_port": 9619, "condor::collector_name": "Cloud pool", "condor::uid_domain": "example.org",
    "condor::trust_uid_domain": True, "condor::soft_uid_domain": True, "condor::lowport": 9600,
    "condor::highport": 9700, "condor::allow_write": "*.example.org", "condor::pool_password": "s3cret",
    "condor::tokens": {"pool": "eyJ.x.y"}, "condor::ccb": True, "condor::private_network_name": "net1",
    "condor::tcp_forwarding_host": "203.0.113.7", "condor::num_cpus": 4, "condor::memory_mb": 8000,
    "condor::startd_attrs": {"Site": "BNL", "Cores": 4},
    "condor::extra_config": {"ALLOW_READ": "*.example.org", "NEGOTIATOR_INTERVAL": 60}})
LINE = re.compile(r"^([A-Za-z_][A-Za-z0-9_.]*)\s*=\s*(.*)$")


def written_knobs(catalog):
    """{knob: value} of every `NAME = value` line confrt writes, the last one in HTCondor's read order."""
    knobs = {}
    files = sorted((r["path"], r["content"]) for r in catalog.resources.values()
                   if r.type == "file" and r["path"].startswith(CONFIG_DIR + "/") and r["ensure"] == "present")
    for _path, text in files:
        for line in text.splitlines():
            match = LINE.match(line)
            if match:
                knobs[match.group(1)] = match.group(2).strip()
    return knobs


@pytest.mark.parametrize("security", ["recommended", "strong", "user_based", "host_based", "none"])
def test_every_knob_confrt_writes_is_what_htcondor_reads(tmp_path, security):
    """The old 10-confrt-roles.conf's `ALLOW_WRITE = *.example.org` came before `use security:recommended`
    (20-confrt-security.conf), which reset it: htcondor2.param gave `*`. Now every literal knob of every
    confrt file is the effective one, under each security metaknob."""
    catalog = compile_site(tmp_path, dict(EVERYTHING, **{"condor::security": security}))
    written = written_knobs(catalog)
    literal = {name: value for name, value in written.items() if "$(" not in value}
    assert {"ALLOW_WRITE", "UID_DOMAIN", "LOWPORT", "NUM_CPUS", "SEC_PASSWORD_FILE",
            "STARTD_CRON_CONFRT_ARGS", "Site", "ALLOW_READ"} <= set(literal)
    knobs = condor_params(catalog, tmp_path, *literal)
    assert {name: knobs[name] for name in literal} == literal
    assert file_resource(catalog, f"{CONFIG_DIR}/20-confrt-security.conf")["ensure"] == "absent"


def test_queue_super_users_stays_root_and_condor(tmp_path):
    """amiconfig wrote `QUEUE_SUPER_USERS = root, <condor_user>`; HTCondor's default is that already."""
    knobs = condor_params(compile_site(tmp_path, EVERYTHING), tmp_path, "QUEUE_SUPER_USERS")
    assert words(knobs["QUEUE_SUPER_USERS"]) == ["root", "condor"]


def test_summary_file_follows_the_statedir(tmp_path, run_confrt):
    """confrt.yaml's statedir moves the summary the startd cron job reads (it stayed /var/lib/confrt)."""
    catalog = compile_site(tmp_path, EXECUTE)
    state = str(tmp_path / "site" / "state")  # make_site's statedir
    assert condor_params(catalog, tmp_path, "STARTD_CRON_CONFRT_ARGS") == {
        "STARTD_CRON_CONFRT_ARGS": f"{state}/last_run_summary.yaml"}
    result = run_confrt("lookup", "condor::summary_file", env={"CONFRT_CONFIG": str(tmp_path / "site" / "confrt.yaml")})
    assert result.returncode == 0 and result.stdout == f"{state}/last_run_summary.yaml\n", result.stderr


def test_health_script_reads_the_statedirs_summary_and_a_noop_changes_nothing_it_publishes(tmp_path, run_confrt):
    """The cron script's own default was /var/lib/confrt whatever the statedir; and `confrt apply --noop`
    rewrote the summary and report the script reads: a preview after a failed run opened START."""
    from engine_support import make_site

    site = tmp_path / "site"
    catalog = compile_site(tmp_path, EXECUTE)  # make_site's statedir: site/state
    script = tmp_path / "condor-last-run"
    script.write_text(content(catalog, "/usr/libexec/confrt/condor-last-run"))
    script.chmod(0o755)
    start = classad2.ExprTree(condor_params(catalog, tmp_path, "START")["START"])

    def published():  # as the startd cron job runs it when STARTD_CRON_CONFRT_ARGS is empty
        result = subprocess.run([str(script)], capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
        return classad2.parseOne(result.stdout)

    marker = tmp_path / "ran"
    failing = {"classes": ["resources"], "resources::exec": {"broken": {"command": ["/bin/false"]}}}
    env = make_site(site, failing)
    assert run_confrt("apply", env=env).returncode == 1
    ad = published()
    assert ad["ConfrtLastRunStatus"] == "failed" and start.eval(ad) is False
    fixed = {"classes": ["resources"], "resources::exec": {"fixed": {"command": ["/bin/touch", str(marker)]}}}
    env = make_site(site, fixed)
    before = {name: (site / "state" / name).read_bytes() for name in ("last_run_summary.yaml", "last_run_report.json")}
    noop = run_confrt("apply", "--noop", env=env)
    assert noop.returncode == 0 and not marker.exists(), noop.stderr
    assert {name: (site / "state" / name).read_bytes() for name in before} == before
    assert "noop_pending: true" in (site / "state" / "last_noop_summary.yaml").read_text()
    ad = published()
    assert ad["ConfrtLastRunStatus"] == "failed" and start.eval(ad) is False  # the pool sees the real run
    assert run_confrt("apply", env=env).returncode == 0 and marker.exists()
    ad = published()
    assert ad["ConfrtLastRunStatus"] == "changed" and start.eval(ad) is True


@pytest.mark.parametrize("memory_gib, reserved", [(16, 1843), (64, 4300), (2, 1024), (1, 512)])
def test_memory_is_kept_from_jobs_by_default(tmp_path, memory_gib, reserved):
    """MEMORY was the whole RAM and RESERVED_MEMORY 0: jobs could take what the OS, CVMFS and the
    daemons need. HTCondor gives jobs MEMORY - RESERVED_MEMORY; the reserve is overridable."""
    facts = dict(FACTS, memory={"system": {"total_bytes": memory_gib * 1024 ** 3}})
    knobs = condor_params(compile_site(tmp_path, EXECUTE, facts), tmp_path, "MEMORY", "RESERVED_MEMORY")
    assert knobs == {"MEMORY": str(memory_gib * 1024), "RESERVED_MEMORY": str(reserved)}
    data = dict(EXECUTE, **{"condor::reserved_memory_mb": 0})
    knobs = condor_params(compile_site(tmp_path / "none", data, facts), tmp_path, "RESERVED_MEMORY")
    assert knobs["RESERVED_MEMORY"] == "0"  # HTCondor's own default: not written


def compile_warnings(tmp_path, data):
    from confrt.config import load_config
    from confrt.engine.run import compile_catalog
    from confrt.facts import Facts
    from engine_support import make_site

    warnings = []
    config = load_config(make_site(tmp_path / "site", data)["CONFRT_CONFIG"])
    compile_catalog(config, Facts.static(FACTS), warn=warnings.append)
    return warnings


@pytest.mark.parametrize("data, joins", [
    ({}, False),
    ({"condor::roles": ["submit"]}, False),
    ({"condor::tokens": {"pool": "eyJ.x.y"}}, True),
    ({"condor::pool_password": "s3cret"}, True),
    ({"condor::extra_config": {"AUTH_SSL_CLIENT_CERTFILE": "/etc/grid-security/hostcert.pem"}}, True),
    ({"condor::security": "host_based"}, False),  # the package's file still requires authentication
    ({"condor::extra_config": {"SEC_DEFAULT_AUTHENTICATION": "OPTIONAL"}}, True),
    ({"condor::roles": ["manager", "execute"]}, True),
])
def test_a_worker_without_credentials_is_a_loud_warning(tmp_path, data, joins):
    """Under `use security:recommended` a worker with neither tokens nor the pool password compiled cleanly
    and could never advertise (IDTOKENS, SSL, KERBEROS and FS only: nothing it holds)."""
    warnings = [w for w in compile_warnings(tmp_path, dict(EXECUTE, **data)) if "never join the pool" in w]
    if joins:
        assert warnings == []
    else:
        assert len(warnings) == 1 and "neither condor::tokens nor condor::pool_password" in warnings[0]
        assert "cm.example.org" in warnings[0] and "security" in warnings[0]


def submit_environment(value):
    """{name: value} of an environment in condor_submit's syntax, as the HTCondor manual gives it (the
    `environment` command): the whole in double quotes, entries separated by whitespace, a value with
    spaces in single quotes, a literal ' written '' and a literal " written ""."""
    assert value.startswith('"') and value.endswith('"'), value
    text, result, index = value[1:-1].replace('""', '"'), {}, 0
    while index < len(text):
        if text[index].isspace():
            index += 1
            continue
        name_end = text.index("=", index)
        name, index, chars = text[index:name_end], name_end + 1, []
        quoted = index < len(text) and text[index] == "'"
        index += quoted
        while index < len(text):
            char = text[index]
            if quoted and char == "'":
                if text[index + 1:index + 2] == "'":
                    chars.append("'")
                    index += 2
                    continue
                index += 1
                break
            if not quoted and char.isspace():
                break
            chars.append(char)
            index += 1
        result[name] = "".join(chars)
    return result


def test_jobs_get_the_osg_and_atlas_environment_from_the_starter(tmp_path):
    """X509_CERT_DIR and FRONTIER_SERVER were set only in /etc/profile.d, which HTCondor jobs never read:
    now the starter gives every job the environment osg_wn and atlas_wn publish (STARTER_JOB_ENVIRONMENT),
    read back here from the whole config.d by htcondor2 and split by the manual's syntax."""
    data = dict(EXECUTE, **{"classes": ["condor", "osg_wn", "atlas_wn"], "osg_wn::squid_location": "squid:3128",
                            "atlas_wn::site_name": "BNL ATLAS", "atlas_wn::frontier_proxies": ["http://squid:3128"],
                            "condor::job_environment": {"SITE_NOTE": 'it\'s "quoted"'}})
    facts = dict(FACTS, ephemeral_disk=scratch_disk(100000))
    knobs = condor_params(compile_site(tmp_path, data, facts), tmp_path, "STARTER_JOB_ENVIRONMENT")
    env = submit_environment(knobs["STARTER_JOB_ENVIRONMENT"])
    assert env["X509_CERT_DIR"] == "/etc/grid-security/certificates"
    assert env["X509_VOMS_DIR"] == "/etc/grid-security/vomsdir"
    assert env["OSG_WN_TMP"] == "/scratch/osg_wn_tmp" and env["OSG_SQUID_LOCATION"] == "squid:3128"
    assert env["FRONTIER_SERVER"].startswith("(serverurl=http://atlasfrontier-ai.cern.ch:8000/atlr)")
    assert env["FRONTIER_SERVER"].endswith("(proxyurl=http://squid:3128)")
    assert env["ATLAS_SITE_NAME"] == "BNL ATLAS" and env["SITE_NOTE"] == 'it\'s "quoted"'
    alone = condor_params(compile_site(tmp_path / "alone", EXECUTE), tmp_path, "STARTER_JOB_ENVIRONMENT")
    assert alone["STARTER_JOB_ENVIRONMENT"] is None


# -- amiconfig's [condor] (seed 001 and cernvm/amiconfig's condor plugin) ----------------------------

#: Seed 001 ("CernVM contextualization on Amazon EC2"), "Specific plugin options":
#:   [condor] # host name hostname = <FQDN> # master host name condor_master = <FQDN> # shared secret key
#:   condor_secret = <string> ... collector_name = <string> # condor user condor_user = <string>
#:   # condor group condor_group = <string> ...
#: with values, plus `allow_write` from the plugin's own option list (amiconfig/plugins/condor.py).
AMICONFIG_CONDOR = b"""[amiconfig]
plugins = condor
[condor]
condor_master = cm.example.org
condor_secret = s3cret
collector_name = CernVM
condor_user = condor
condor_group = condor
allow_write = *.example.org
"""


def amiconfig_node(tmp_path, userdata):
    from userdata_helpers import decode

    decoded = decode(userdata)
    assert decoded.warnings == []
    return compile_site(tmp_path, decoded.data)


def test_amiconfig_condor_worker_as_amiconfig_configured_it(tmp_path):
    """What amiconfig's condor plugin wrote to condor_config.local (read last: everything it wrote won):
    DAEMON_LIST = MASTER, STARTD; CONDOR_HOST = <condor_master>; UID_DOMAIN = the host's domain;
    QUEUE_SUPER_USERS = root, condor; HIGHPORT 9700, LOWPORT 9600; COLLECTOR_NAME; ALLOW_WRITE;
    the shared secret through condor_store_cred."""
    knobs = condor_params(amiconfig_node(tmp_path, AMICONFIG_CONDOR), tmp_path, "DAEMON_LIST", "CONDOR_HOST",
                          "UID_DOMAIN", "QUEUE_SUPER_USERS", "LOWPORT", "HIGHPORT", "COLLECTOR_NAME", "ALLOW_WRITE",
                          "SEC_PASSWORD_FILE", "SEC_DEFAULT_AUTHENTICATION_METHODS", "TRUST_UID_DOMAIN")
    assert words(knobs["DAEMON_LIST"]) == ["MASTER", "STARTD"]
    assert knobs["CONDOR_HOST"] == "cm.example.org" and knobs["COLLECTOR_NAME"] == "CernVM"
    assert knobs["UID_DOMAIN"] == "example.org"  # FACTS' networking.domain
    assert words(knobs["QUEUE_SUPER_USERS"]) == ["root", "condor"]
    assert (knobs["LOWPORT"], knobs["HIGHPORT"]) == ("9600", "9700")
    assert knobs["ALLOW_WRITE"] == "*.example.org"
    assert knobs["SEC_PASSWORD_FILE"] == "/etc/condor/passwords.d/POOL"
    assert "PASSWORD" in words(knobs["SEC_DEFAULT_AUTHENTICATION_METHODS"])
    assert knobs["TRUST_UID_DOMAIN"] in (None, "false")


def test_amiconfig_condor_uid_domain_star(tmp_path):
    """amiconfig's `uid_domain = *`: UID_DOMAIN = *, TRUST_UID_DOMAIN = True, SOFT_UID_DOMAIN = True
    (the old confrt set only TRUST_UID_DOMAIN, so the node kept its own host name as UID_DOMAIN)."""
    userdata = AMICONFIG_CONDOR + b"uid_domain = *\nlowport = 20000\nhighport = 20100\n"
    knobs = condor_params(amiconfig_node(tmp_path, userdata), tmp_path, "UID_DOMAIN", "TRUST_UID_DOMAIN",
                          "SOFT_UID_DOMAIN", "LOWPORT", "HIGHPORT")
    assert knobs == {"UID_DOMAIN": "*", "TRUST_UID_DOMAIN": "true", "SOFT_UID_DOMAIN": "true",
                     "LOWPORT": "20000", "HIGHPORT": "20100"}

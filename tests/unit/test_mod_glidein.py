"""glidein module: the catalog from glidein userdata keys, and the pilot service script run for real."""
import http.server
import json
import os
import pwd
import signal
import subprocess
import sys
import threading
import time

import pytest
from node_modules_support import compile_data, content

from confrt.errors import CompileError
from confrt.paths import packaged_modules

PILOT = os.path.join(packaged_modules(), "glidein", "files", "confrt-glidein-pilot")
LIFETIME = os.path.join(packaged_modules(), "lifetime", "files", "confrt-lifetime")


def glidein_data(tmp_path, **more):
    proxy = tmp_path / "pilot_proxy"
    proxy.write_text("-----BEGIN CERTIFICATE-----\nsecret proxy\n")
    data = {"classes": ["glidein", "lifetime"], "glidein::webbase": "http://factory.example.org/stage",
            "glidein::args": "-v std -name 'my glidein' -entry CMS", "glidein::proxy_file": str(proxy),
            "lifetime::max_lifetime": 3600}
    data.update(more)
    return data


def test_user_proxy_config_hook_and_service(tmp_path):
    catalog, warnings = compile_data(tmp_path, glidein_data(tmp_path, **{"glidein::environment": {"osg_site": "X"}}))
    assert catalog.get("user[glidein_pilot]")["home"] == "/home/glidein_pilot"
    proxy = catalog.get("file[/home/glidein_pilot/pilot_proxy]")
    assert proxy["mode"] == "0600" and proxy["owner"] == "glidein_pilot" and "content" in proxy.sensitive
    assert proxy["source"] == str(tmp_path / "pilot_proxy")
    config = json.loads(content(catalog, "/etc/confrt/glidein/pilot.json"))
    assert config["args"] == ["-v", "std", "-name", "my glidein", "-entry", "CMS"]
    assert config["proxy"] == "/home/glidein_pilot/pilot_proxy" and config["environment"] == {"OSG_SITE": "X"}
    assert config["lifetime_script"] == "/usr/libexec/confrt/confrt-lifetime"
    assert config["lifetime_config"] == "/etc/confrt/lifetime.json"
    assert catalog.get("file[/etc/confrt/glidein/pilot.json]")["mode"] == "0600"
    hook = content(catalog, "/etc/confrt/lifetime.d/10-glidein-pilot")
    assert "exec service confrt-glidein-pilot stop" in hook and "/run/confrt-glidein/done" in hook
    unit = content(catalog, "/etc/systemd/system/confrt-glidein-pilot.service")
    assert "ExecStart=/usr/bin/python3 /usr/libexec/confrt/confrt-glidein-pilot /etc/confrt/glidein/pilot.json" in unit
    service = catalog.get("service[confrt-glidein-pilot]")
    assert "file[/home/glidein_pilot/pilot_proxy]" in service.relations["require"]
    assert {"user[glidein_pilot]", "file[/etc/confrt/glidein/pilot.json]", "file[/etc/init.d/confrt-glidein-pilot]",
            "exec[systemd daemon-reload for confrt-glidein-pilot]"} <= set(service.relations["require"])
    assert "subscribe" not in service.relations  # a changed config waits for the next boot
    # the pilot loads confrt-lifetime as it starts: with glidein listed first, both scripts still come first
    order = [resource.ref for resource in catalog.order]
    for script in ("/usr/libexec/confrt/confrt-glidein-pilot", "/usr/libexec/confrt/confrt-lifetime"):
        assert order.index(f"file[{script}]") < order.index("service[confrt-glidein-pilot]")
    assert catalog.get("service[confrt-lifetime]") is not None and warnings == []


def test_the_proxy_never_shows(tmp_path, run_confrt):
    from engine_support import make_site

    env = make_site(tmp_path, glidein_data(tmp_path))
    result = run_confrt("apply", "--noop", "--tags", "glidein", env=env)
    assert "secret proxy" not in result.stdout + result.stderr
    assert "file[/home/glidein_pilot/pilot_proxy]" in result.stdout


@pytest.mark.parametrize("data, problem", [
    ({"glidein::webbase": None}, "glidein::webbase: required parameter of module glidein"),
    ({"glidein::args": "-name 'unclosed"}, "glidein::args: No closing quotation"),
    ({"glidein::proxy_file_name": "../x"}, "glidein::proxy_file_name: '../x': expected a plain file name"),
])
def test_bad_values_are_compile_errors(tmp_path, data, problem):
    data = {k: v for k, v in dict(glidein_data(tmp_path), **data).items() if v is not None}
    with pytest.raises(CompileError, match=problem.replace("(", r"\(")):
        compile_data(tmp_path, data)


# -- the pilot service script, run here (as this user) --------------------------------------------

STARTUP = """#!/bin/sh
out="$HOME/pilot.out"
id -un > "$out"
echo "proxy=$X509_USER_PROXY scratch=$SCRATCH site=$OSG_SITE" >> "$out"
for arg in "$@"; do echo "arg=$arg" >> "$out"; done
ps -o pgid= -p $$ | tr -d ' ' >> "$out"
if [ "$1" = "--hang" ]; then sleep 300 & echo "child=$!" >> "$out"; wait; fi
echo done >> "$out"
"""


@pytest.fixture
def factory():
    """An HTTP server on 127.0.0.1 serving /stage/glidein_startup.sh."""
    files = {"/stage/glidein_startup.sh": STARTUP.encode()}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = files.get(self.path)
            self.send_response(200 if body else 404)
            self.end_headers()
            self.wfile.write(body or b"no such file")

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    # a short poll: shutdown() below waits for it (0.5 s by default)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/stage", files
    server.shutdown()
    server.server_close()


def pilot_config(tmp_path, webbase, args):
    if os.geteuid() != 0:
        pytest.skip("the pilot service changes user (initgroups): needs root")
    home = tmp_path / "home"
    for name in ("home", "pre.d", "post.d", "hooks", "state"):
        (tmp_path / name).mkdir(exist_ok=True)
    (tmp_path / "post.d" / "10-post").write_text(f"#!/bin/sh\necho post >> {tmp_path}/post.ran\n")
    (tmp_path / "post.d" / "10-post").chmod(0o755)
    lifetime = {"deadline": None, "reason": "x", "disable_shutdown": False,
                "shutdown_command": ["touch", str(tmp_path / "shutdown.ran")], "drain": "never",
                "drain_command": ["true"], "drain_timeout": 0, "hooks_dir": str(tmp_path / "hooks"),
                "hook_timeout": 5, "state_dir": str(tmp_path / "lifetime-state")}
    (tmp_path / "lifetime.json").write_text(json.dumps(lifetime))
    config = {"webbase": webbase, "args": args, "user": pwd.getpwuid(os.geteuid()).pw_name, "home": str(home),
              "proxy": str(home / "pilot_proxy"), "scratch": "/scratch", "environment": {"OSG_SITE": "T2_X"},
              "pre_script_dir": str(tmp_path / "pre.d"), "post_script_dir": str(tmp_path / "post.d"),
              "script_timeout": 5, "fetch_timeout": 10, "stop_grace": 2, "shutdown_when_done": True,
              "state_dir": str(tmp_path / "state"), "lifetime_config": str(tmp_path / "lifetime.json"),
              "lifetime_script": LIFETIME}
    path = tmp_path / "pilot.json"
    path.write_text(json.dumps(config))
    return path, home


def wait_for(path, text=None):
    for _ in range(600):
        if path.exists() and (text is None or text in path.read_text()):
            return path.read_text()
        time.sleep(0.05)
    raise AssertionError(f"{path} never got {text!r}")


def test_pilot_runs_with_quoted_args_then_post_then_the_end(tmp_path, factory):
    webbase, _ = factory
    config, home = pilot_config(tmp_path, webbase, ["-name", "my glidein", "-v"])
    runner = subprocess.Popen([sys.executable, PILOT, str(config)], stdout=subprocess.PIPE, text=True)
    try:
        out = wait_for(home / "pilot.out", "done")
        wait_for(tmp_path / "shutdown.ran")
        lines = out.splitlines()
        assert lines[1] == f"proxy={home}/pilot_proxy scratch=/scratch site=T2_X"
        assert lines[2:5] == ["arg=-name", "arg=my glidein", "arg=-v"]
        assert int(lines[5]) != os.getpgid(runner.pid)  # a process group of its own
        assert (tmp_path / "post.ran").read_text() == "post\n"
        assert oct((home / "glidein_startup.sh").stat().st_mode & 0o777) == "0o755"
        assert runner.poll() is None  # idles: the service stays up
    finally:
        runner.terminate()
        output = runner.communicate(timeout=30)[0]
    assert "the pilot exited 0" in output and "end of life: the glidein pilot ended" in output
    # a second start in the same boot does not run the pilot again
    (home / "pilot.out").unlink()
    again = subprocess.Popen([sys.executable, PILOT, str(config)], stdout=subprocess.PIPE, text=True)
    try:
        assert "already ran in this boot" in again.stdout.readline()
    finally:
        again.terminate()
        again.communicate(timeout=30)
    assert not (home / "pilot.out").exists()


def test_stop_kills_the_pilot_process_group_and_runs_post(tmp_path, factory):
    webbase, _ = factory
    config, home = pilot_config(tmp_path, webbase, ["--hang"])
    runner = subprocess.Popen([sys.executable, PILOT, str(config)], stdout=subprocess.PIPE, text=True)
    try:
        out = wait_for(home / "pilot.out", "child=")
        child = int(out.split("child=")[1].split()[0])
        runner.send_signal(signal.SIGTERM)
        assert runner.wait(timeout=60) == 0
    finally:
        if runner.poll() is None:
            runner.kill()
        output = runner.communicate(timeout=30)[0]
    assert not os.path.exists(f"/proc/{child}") or "Z" in open(f"/proc/{child}/stat").read().split()[2]
    assert "killing the pilot's process group" in output
    assert (tmp_path / "post.ran").exists() and not (tmp_path / "shutdown.ran").exists()
    assert "done" not in (home / "pilot.out").read_text()


def test_fetch_failure_runs_post_and_ends_the_vm(tmp_path, factory):
    webbase, files = factory
    files.clear()
    config, home = pilot_config(tmp_path, webbase, [])
    runner = subprocess.Popen([sys.executable, PILOT, str(config)], stdout=subprocess.PIPE, text=True)
    try:
        wait_for(tmp_path / "shutdown.ran")
    finally:
        runner.terminate()
        output = runner.communicate(timeout=30)[0]
    assert "glidein_startup.sh: HTTP 404" in output and (tmp_path / "post.ran").exists()


def test_without_the_lifetime_module_the_error_says_so(tmp_path):
    data = glidein_data(tmp_path, classes=["glidein"])
    with pytest.raises(CompileError, match=r"module glidein needs the lifetime module \(classes: \[glidein, "
                                           r"lifetime\]\)"):
        compile_data(tmp_path, data)


def test_the_lifetime_module_s_paths_are_followed(tmp_path):
    data = glidein_data(tmp_path, **{"lifetime::libexec_dir": "/opt/confrt/libexec",
                                     "lifetime::hooks_dir": "/etc/vm-end.d",
                                     "lifetime::config_file": "/etc/vm-end.json"})
    catalog, _warnings = compile_data(tmp_path, data)
    config = json.loads(content(catalog, "/etc/confrt/glidein/pilot.json"))
    assert config["lifetime_script"] == "/opt/confrt/libexec/confrt-lifetime"
    assert config["lifetime_config"] == "/etc/vm-end.json"
    assert catalog.get("file[/etc/vm-end.d/10-glidein-pilot]") is not None


def test_a_host_fact_named_lifetime_is_named_in_the_error(tmp_path):
    data = glidein_data(tmp_path)
    with pytest.raises(CompileError, match=r"the fact 'lifetime' is 86400, not the lifetime module's paths"):
        compile_data(tmp_path, data, facts={"lifetime": 86400})


def test_a_stop_during_the_end_is_honoured_once_the_end_is_done(tmp_path, factory):
    """The service stopped (SIGTERM) while the POST scripts or the end run: they complete, then
    the pilot exits, instead of idling forever with the signal lost."""
    webbase, files = factory
    files.clear()
    config, _home = pilot_config(tmp_path, webbase, [])
    settings = json.loads((tmp_path / "lifetime.json").read_text())
    settings["shutdown_command"] = ["sh", "-c", f"touch {tmp_path}/ending; sleep 1; touch {tmp_path}/shutdown.ran"]
    (tmp_path / "lifetime.json").write_text(json.dumps(settings))
    runner = subprocess.Popen([sys.executable, PILOT, str(config)], stdout=subprocess.PIPE, text=True)
    try:
        wait_for(tmp_path / "ending")
        runner.terminate()
        assert runner.wait(timeout=30) == 0
    finally:
        if runner.poll() is None:
            runner.kill()
        runner.communicate(timeout=30)
    assert (tmp_path / "shutdown.ran").exists() and (tmp_path / "post.ran").exists()


def test_its_folders_are_declared_on_a_host_without_etc_confrt(tmp_path):
    """glidein and lifetime both declare /etc/confrt (the same resource), before glidein's folders."""
    catalog, _ = compile_data(tmp_path, glidein_data(tmp_path))
    order = [resource.ref for resource in catalog.order]
    for inside in ("directory[/etc/confrt/glidein]", "directory[/etc/confrt/glidein/pre.d]",
                   "file[/etc/confrt/glidein/pilot.json]", "file[/etc/confrt/lifetime.json]"):
        assert order.index("directory[/etc/confrt]") < order.index(inside)
    # the proxy goes into the pilot's home, which useradd -m makes: the file waits for the user
    assert "user[glidein_pilot]" in catalog.requires["file[/home/glidein_pilot/pilot_proxy]"]


def test_after_the_pilot_the_vm_waits_shutdown_delay_then_ends(tmp_path, factory):
    """The old pilot-launcher, once the pilot and the POST scripts were done: `sleep(ten_minutes)`,
    then the shutdown (time for the factory to collect the logs); the old confrt shut down at once."""
    webbase, _ = factory
    config, home = pilot_config(tmp_path, webbase, [])
    settings = json.loads((tmp_path / "lifetime.json").read_text())
    settings.update(shutdown_delay=2, shutdown_command=["sh", "-c", f"cat /proc/uptime > {tmp_path}/shutdown.ran"])
    (tmp_path / "lifetime.json").write_text(json.dumps(settings))
    (tmp_path / "post.d" / "10-post").write_text(f"#!/bin/sh\ncat /proc/uptime > {tmp_path}/post.ran\n")
    runner = subprocess.Popen([sys.executable, PILOT, str(config)], stdout=subprocess.PIPE, text=True)
    try:
        wait_for(tmp_path / "shutdown.ran", ".")
    finally:
        runner.terminate()
        output = runner.communicate(timeout=30)[0]
    post, shutdown = (float((tmp_path / name).read_text().split()[0]) for name in ("post.ran", "shutdown.ran"))
    assert shutdown - post >= 2, (post, shutdown)
    assert "the pilot exited 0" in output and "shutting down in 2 s (time to collect the logs)" in output


def test_a_stop_during_the_wait_for_the_logs_ends_the_service_without_the_shutdown(tmp_path, factory):
    """The service stopped while the VM waits shutdown_delay (the system going down, an admin): the
    pilot service exits at once instead of holding the stop for the whole wait, and runs no shutdown."""
    webbase, _ = factory
    config, _home = pilot_config(tmp_path, webbase, [])
    settings = json.loads((tmp_path / "lifetime.json").read_text())
    settings["shutdown_delay"] = 600
    (tmp_path / "lifetime.json").write_text(json.dumps(settings))
    runner = subprocess.Popen([sys.executable, PILOT, str(config)], stdout=subprocess.PIPE, text=True)
    try:
        for line in runner.stdout:  # its log, up to the wait
            if "shutting down in 600 s" in line:
                break
        started = time.monotonic()
        runner.terminate()
        assert runner.wait(timeout=30) == 0 and time.monotonic() - started < 5
    finally:
        if runner.poll() is None:
            runner.kill()
        output = runner.communicate(timeout=30)[0]
    assert "stopped during the wait: no shutdown" in output and not (tmp_path / "shutdown.ran").exists()

"""Commands run once per instance after the apply, each as its user (CernVM's contextualization_command).

The module checks the commands and publishes them (the fact `first_boot`); `confrt run` runs them
after the apply, beside the userdata's `#!` scripts and with the same per-instance state
(confrt/userdata/local.py): once per instance-id and command, never in noop, each through
`runuser -l USER -c COMMAND` (a login shell, as CernVM's `su - USER -c`), output logged, exit
status in the run's report (steps.first_boot_commands). A `background` command is left running
(a pilot, an agent: CernVM started them all in the background) once it has survived
`background_check` seconds; its output goes to <run.log_dir>/first_boot-NN-USER.log.
"""
import re

from confrt.engine.module import CompileError, Param

DOC = "commands run once per instance as their user, after the apply (confrt run)"

USER_NAME = re.compile(r"^[a-z_][a-z0-9_.-]{0,31}$")
FIELDS = ("user", "command", "background")

PARAMS = [
    Param("commands", list, [], "each {user (default root), command (sh), background (default false)}: "
                                "run by `confrt run` after the apply, once per instance"),
    Param("timeout", int, 600, "seconds a command may run before it is killed (its whole process group); "
                               "background commands are not limited"),
    Param("background_check", int, 3, "seconds a background command is watched for an early exit"),
]


def checked(params, where):
    """[{name, user, command, background}] in order; a bad entry is a CompileError naming it."""
    commands = []
    for index, entry in enumerate(params["commands"]):
        here = f"{where}[{index}]"
        if isinstance(entry, str):
            entry = {"command": entry}
        if not isinstance(entry, dict):
            raise CompileError(f"{here}: expected a mapping with user and command, got {type(entry).__name__}")
        unknown = sorted(str(key) for key in entry if key not in FIELDS)
        if unknown:
            raise CompileError(f"{here}: unknown field {unknown[0]!r} (known: {', '.join(FIELDS)})")
        user = entry.get("user", "root")
        if not isinstance(user, str) or not USER_NAME.match(user):
            raise CompileError(f"{here}: user: {user!r}: not a user name")
        command = entry.get("command")
        if not isinstance(command, str) or not command.strip() or "\0" in command:
            raise CompileError(f"{here}: command: expected a shell command (a non-empty string)")
        background = entry.get("background", False)
        if not isinstance(background, bool):
            raise CompileError(f"{here}: background: expected true or false, got {background!r}")
        commands.append({"name": f"{index + 1:02d}-{user}", "user": user, "command": command,
                         "background": background})
    for key in ("timeout", "background_check"):
        if params[key] < 1:
            raise CompileError(f"first_boot::{key}: expected a number of seconds (1 or more), got {params[key]}")
    return commands


def _published(facts, params):
    return {"commands": checked(params, "first_boot::commands"), "timeout": params["timeout"],
            "background_check": params["background_check"]}


FACTS = {"first_boot": _published}


def declare(params, facts, ctx):
    checked(params, f"{ctx.origin('commands')}: first_boot::commands")
    return []  # the commands run after the apply: confrt/runner.py reads the fact first_boot

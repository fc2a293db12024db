"""Environment variables for login shells: profile.d files for sh and csh (CernVM's [cernvm] environment).

CernVM's amiconfig wrote `VAR=value` lines to /etc/cernvm/environment.conf and listed the names in
CERNVM_ENVIRONMENT_VARS; the image's /etc/profile.d/cernvm.sh and cernvm.csh exported them at login.
confrt writes the two profile.d files directly: POSIX sh (`export NAME='value'`) and csh
(`setenv NAME 'value'`), each value single-quoted, so it reaches the shell literally.
"""
import os
import re

from confrt.engine.module import CompileError, Param, absolute_path, csh_quote

DOC = "environment variables for sh and csh login shells (profile.d)"

NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

PARAMS = [
    Param("variables", dict, {}, "name -> value (a string, number or bool); null drops one a lower level gave"),
    Param("sh_file", str, "/etc/profile.d/confrt-environment.sh", "the file sh-family login shells read",
          check=absolute_path),
    Param("csh_file", str, None, "the file csh/tcsh login shells read (default: by os.family, CSH_FILES)",
          check=absolute_path),
]
#: where csh/tcsh login shells look, by os.family: EL's /etc/csh.login sources /etc/profile.d/*.csh,
#: Debian's sources /etc/csh/login.d/* instead
CSH_FILES = {"Debian": "/etc/csh/login.d/confrt-environment.csh"}
CSH_FILE = "/etc/profile.d/confrt-environment.csh"


def declare(params, facts, ctx):
    variables = checked(params["variables"], f"{ctx.origin('variables')}: environment::variables")
    csh_file = params["csh_file"] or CSH_FILES.get(facts.get("os.family"), CSH_FILE)
    if not variables:
        return [ctx.resource("file", path, ensure="absent") for path in (params["sh_file"], csh_file)]
    header = "# Managed by confrt (module environment): environment::variables\n"
    sh = "".join(f"export {name}={sh_quote(value)}\n" for name, value in variables.items())
    csh = "".join(f"setenv {name} {csh_quote(value)}\n" for name, value in variables.items())
    # a CSH_FILES folder is made (Debian has /etc/csh/login.d only with a csh installed)
    folders = ctx.directories(os.path.dirname(csh_file)) if csh_file in CSH_FILES.values() else []
    return folders + [ctx.resource("file", params["sh_file"], mode="0644", content=header + sh),
                      ctx.resource("file", csh_file, mode="0644", content=header + csh)]


def checked(variables, where):
    """{name: value as text}, sorted by name; a bad name or value is a CompileError naming it."""
    result = {}
    for name, value in sorted(variables.items(), key=lambda item: str(item[0])):
        if not isinstance(name, str) or not NAME.match(name):
            raise CompileError(f"{where}: {name!r}: not a variable name (letters, digits, '_')")
        if value is None:
            continue
        if isinstance(value, bool):
            value = "true" if value else "false"
        if not isinstance(value, (str, int, float)):
            raise CompileError(f"{where}: {name}: expected a string, got {type(value).__name__}")
        value = str(value)
        if "\n" in value or "\r" in value or "\0" in value:
            raise CompileError(f"{where}: {name}: expected a value on one line")
        result[name] = value
    return result


def sh_quote(value):
    """'value' for POSIX sh: nothing is expanded; a ' is written '\\''. Unlike shlex.quote it quotes
    every value: the `export NAME='value'` lines CernVM users know (and the files hosts have)."""
    return "'" + value.replace("'", "'\\''") + "'"

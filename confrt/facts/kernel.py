"""Kernel facts: kernel, kernelrelease, kernelversion, kernelmajversion, cmdline."""
import os


def kernel(host):
    return host.read_text("/proc/sys/kernel/ostype", os.uname().sysname).strip()


def kernelrelease(host):
    return host.read_text("/proc/sys/kernel/osrelease", os.uname().release).strip()


def kernelversion(host):
    """"6.1.0" from "6.1.0-18-amd64", as facter reports it."""
    return kernelrelease(host).split("-")[0]


def kernelmajversion(host):
    return ".".join(kernelversion(host).split(".")[:2])


def cmdline(host):
    """/proc/cmdline as a map (see parse_cmdline)."""
    text = host.read_text("/proc/cmdline")
    return None if text is None else parse_cmdline(text)


def parse_cmdline(text):
    """Kernel parameters as a map: `a=1` -> {"a": "1"}, a bare flag -> True.

    Quoting follows the kernel's own parser (lib/cmdline.c next_arg): double
    quotes group spaces, and one pair around the value or the whole parameter
    is removed. Values stay strings. A repeated parameter (console=tty0
    console=ttyS0) gives the list of its values in order. Parsing stops at
    "--": what follows is for init, not the kernel.
    """
    params = {}
    for name, value in _kernel_args(text):
        if name == "--" and value is None:
            break
        value = True if value is None else value
        if name in params:
            previous = params[name]
            params[name] = (previous if isinstance(previous, list) else [previous]) + [value]
        else:
            params[name] = value
    return params


def _kernel_args(text):
    """Yield (name, value or None) like the kernel's next_arg()."""
    position, length = 0, len(text)
    while position < length:
        while position < length and text[position].isspace():
            position += 1
        if position >= length:
            return
        quoted = text[position] == '"'
        if quoted:
            position += 1
        start = position
        in_quote, equals, end = quoted, None, start
        while end < length and (in_quote or not text[end].isspace()):
            if equals is None and text[end] == "=":
                equals = end - start
            if text[end] == '"':
                in_quote = not in_quote
            end += 1
        arg = text[start:end]
        position = end
        strip_trailing_quote = quoted and arg.endswith('"')
        if equals is None:
            yield (arg[:-1] if strip_trailing_quote else arg), None
            continue
        name, value = arg[:equals], arg[equals + 1:]
        if value.startswith('"'):
            value = value[1:]
            strip_trailing_quote = value.endswith('"')
        if strip_trailing_quote:
            value = value[:-1]
        yield name, value

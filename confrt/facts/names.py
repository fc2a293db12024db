"""Dotted fact names: "networking.interfaces.eth0.ip".

As in Hiera, a segment that itself holds dots is quoted:
`networking.interfaces."eth0.100".ip`, `cmdline."random.trust_cpu"`.
"""


def split_name(name):
    """Split a dotted name into its segments, honouring "double" or 'single' quotes."""
    if '"' not in name and "'" not in name:
        return name.split(".")
    parts, current, quote = [], [], None
    for char in name:
        if quote:
            if char == quote:
                quote = None
            else:
                current.append(char)
        elif char in "\"'":
            quote = char
        elif char == ".":
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts

"""The benchmark's work, one layout written three ways: confrt data, a Puppet manifest, a CFEngine policy.

A workload of N resources under a root directory: the root itself, directories
d0..dD-1, files spread round-robin over them with small templated content (the
host name fact, the file's name, number and directory), and optionally 5% of N
as relative symbolic links to files of the same directory. N = 221 without
links is the issue's reference work: the root, 20 directories and 200 files.

Every rendering names only relative things inside the root (link targets, the
directory name), so the trees the three tools make in different roots compare
byte for byte and mode for mode.
"""
import json
import os

#: The content template, one per tool; each renders to exactly the same bytes.
JINJA_TEMPLATE = """\
# {{ label }}: managed by the confrt benchmark
host = {{ facts.networking.hostname }}
number = {{ number }}
directory = {{ folder }}
"""
EPP_TEMPLATE = """\
<%- | String $label, Integer $number, String $folder | -%>
# <%= $label %>: managed by the confrt benchmark
host = <%= $facts['networking']['hostname'] %>
number = <%= $number %>
directory = <%= $folder %>
"""
MUSTACHE_TEMPLATE = """\
# {{label}}: managed by the confrt benchmark
host = {{host}}
number = {{number}}
directory = {{folder}}
"""
FILES_PER_DIRECTORY = 10
LINK_SHARE = 20  # one resource in 20 is a link, when links are wanted


class Workload:
    """The resources of one benchmark case, as plain paths and values.

    directories  [(path, mode)] parents first, the root included
    files        [(path, mode, {label, number, folder})]
    links        [(path, target)] targets relative to the link's directory
    """

    def __init__(self, root, size, links=True):
        if size < 3:
            raise ValueError(f"a workload needs at least 3 resources, got {size}")
        self.root = root
        self.size = size
        link_count = size // LINK_SHARE if links else 0
        rest = size - 1 - link_count
        directory_count = max(1, rest // (FILES_PER_DIRECTORY + 1))
        file_count = rest - directory_count
        folders = [f"d{i}" for i in range(directory_count)]
        self.directories = [(root, "0755")] + [(f"{root}/{folder}", "0755") for folder in folders]
        self.files = []
        for number in range(file_count):
            folder = folders[number % directory_count]
            mode = "0640" if number % 10 == 9 else "0644"
            self.files.append((f"{root}/{folder}/f{number}", mode,
                               {"label": f"f{number}", "number": number, "folder": folder}))
        self.links = []
        for number in range(link_count):
            path = self.files[number % file_count][0]
            self.links.append((f"{os.path.dirname(path)}/l{number}", os.path.basename(path)))

    def counts(self):
        return {"directories": len(self.directories), "files": len(self.files), "links": len(self.links)}

    def __len__(self):
        return len(self.directories) + len(self.files) + len(self.links)


def confrt_data(workload, template_path):
    """The data (for the `resources` module) declaring the workload; template_path holds JINJA_TEMPLATE."""
    return {
        "classes": ["resources"],
        "resources::directory": {path: {"mode": mode} for path, mode in workload.directories},
        "resources::file": {path: {"template": template_path, "template_vars": values, "mode": mode}
                            for path, mode, values in workload.files},
        "resources::link": {path: {"target": target} for path, target in workload.links},
    }


def puppet_manifest(workload):
    """The workload as a Puppet manifest: one file resource per confrt resource."""
    lines = ["$template = @(EOT)", *EPP_TEMPLATE.splitlines(), "| EOT", ""]
    for path, mode in workload.directories:
        lines.append(f"file {{ {_ruby(path)}: ensure => directory, mode => '{mode}' }}")
    for path, mode, values in workload.files:
        lines.append(f"file {{ {_ruby(path)}: ensure => file, mode => '{mode}', content => inline_epp("
                     f"$template, {{ 'label' => {_ruby(values['label'])}, 'number' => {values['number']}, "
                     f"'folder' => {_ruby(values['folder'])} }}) }}")
    for path, target in workload.links:
        lines.append(f"file {{ {_ruby(path)}: ensure => link, target => {_ruby(target)} }}")
    return "\n".join(lines) + "\n"


def _ruby(text):
    """A single-quoted Puppet string."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


CFENGINE_BODIES = """\
body common control
{
  bundlesequence => { "bench" };
}

body perms m(mode)
{
  mode => "$(mode)";
  rxdirs => "false";
}

body edit_defaults no_backup
{
  edit_backup => "false";
}

body link_from ln_s(target)
{
  link_type => "symlink";
  source => "$(target)";
  when_no_source => "force";
}
"""


def cfengine_policy(workload):
    """The workload as a CFEngine policy (one bundle; promises in the same order as confrt's)."""
    lines = [CFENGINE_BODIES, "bundle agent bench", "{", "  vars:",
             f"    \"template\" string => {_cf(MUSTACHE_TEMPLATE)};", "", "  files:"]
    for path, mode in workload.directories:
        lines.append(f"    {_cf(path + '/.')} create => \"true\", perms => m(\"{mode}\");")
    for path, mode, values in workload.files:
        data = json.dumps(dict(values, host="$(sys.uqhost)"))
        lines.append(f"    {_cf(path)} create => \"true\", perms => m(\"{mode}\"), "
                     f"edit_defaults => no_backup, template_method => \"inline_mustache\", "
                     f"edit_template_string => \"$(template)\", template_data => parsejson('{data}');")
    for path, target in workload.links:
        lines.append(f"    {_cf(path)} link_from => ln_s({_cf(target)});")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _cf(text):
    """A double-quoted CFEngine string (newlines stay literal)."""
    if '"' in text or "\\" in text or "$(" in text:
        raise ValueError(f"cannot quote {text!r} for CFEngine")
    return f'"{text}"'

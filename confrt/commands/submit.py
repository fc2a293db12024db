"""confrt submit: start a fleet of VMs through HTCondor-G (EC2 grid universe)."""

HELP = "write an HTCondor-G submit description and userdata for N VMs of a node type"
DESCRIPTION = """\
Read NODE_TYPE_FILE (YAML) and write, into DIR (default: the current directory),
NAME.userdata (#cloud-config writing the node's data as local_data, mode 0600) and
NAME.sub, a grid-universe submit description for N EC2 VMs; then queue them with
`condor_submit DIR/NAME.sub`. NAME is the node-type file's name without .yaml.

Node-type file keys (paths relative to the file):
  ami, instance_type, ec2_url          required: what to start, where
  data                                 required: YAML data written as local_data on the VM
  access_key_file, secret_key_file     required: files holding the EC2 keys (read by HTCondor only)
  role                                 optional: the VM's `role` fact (written to facts_dir/role.yaml)
  files                                optional: {target path on the VM: source file}
  keypair, security_groups, tags       optional: EC2 key pair, groups, {tag name: value}
  periodic_remove                      optional: {held: 600, idle: 1800} seconds before removal
  count, gzip                          optional: default VMs to queue (1), gzip the userdata
  local_data, facts_dir                optional: paths on the VM (default: this host's confrt.yaml)
  public_key                           optional: the image's eyaml public key, for sensitive values
  clear_secrets                        optional: true sends sensitive values unencrypted (warns)

The data's sensitive values (a module's sensitive parameter, lookup_options sensitive: true)
are encrypted as hiera-eyaml ENC[PKCS7,...] for public_key, else for the pkcs7_public_key of
the eyaml level reading local_data (packaged: /etc/confrt/keys/public_key.pkcs7.pem); the
image decrypts them with its private key. Sensitive values and no public key is an error.
"""


def add_arguments(parser):
    parser.add_argument("node_type", metavar="NODE_TYPE_FILE", help="node-type YAML file")
    parser.add_argument("--count", type=_positive, metavar="N", help="VMs to queue (default: the file's count, else 1)")
    parser.add_argument("-o", "--output-dir", metavar="DIR", default=".", help="where to write NAME.sub and NAME.userdata")


def _positive(text):
    import argparse

    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _warn_if_readable_by_others(path):
    import os
    import sys

    if os.stat(path).st_mode & 0o077:
        print(f"confrt: warning: {path}: secret key file is readable by group or others (chmod 600 it)",
              file=sys.stderr)


def run(args, config):
    import sys

    from confrt.fleet import load_node_type, write_submission
    from confrt.userdata.secrets import SecretsPolicy

    node = load_node_type(args.node_type)
    _warn_if_readable_by_others(node.secret_key_file)
    count = args.count or node.count
    secrets = SecretsPolicy(config, node.public_key, node.clear_secrets,
                            warn=lambda message: print(f"confrt: warning: {message}", file=sys.stderr),
                            hints=(f"public_key: FILE in {node.path}", "clear_secrets: true"))
    written = write_submission(node, args.output_dir, count, node.local_data or config.local_data,
                               node.facts_dir or config.facts_dir, secrets)
    for path, changed in written:
        print(f"{'wrote' if changed else 'unchanged'} {path}")
    print(f"queue {count} VM(s) of {node.name} with: condor_submit {written[-1][0]}")
    return 0

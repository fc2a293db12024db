"""VGrid's owner key in the scratch system (seed 003, the VGrid portal documentation), when the VM's
owner changes: the image's keys in /opt/ssh_public_keys, the owner from the kernel command line.

Seed 003: "The default XEN config file templates pass the vGrid username to the virtual machine
using the entry: extra = "vgrid_username=${username}" [...] accessed using the /proc/cmdline file of
the VM"; "The script copyuserkey copies the ssh public key of the VM owner into the .ssh directory
of the VMs root user on startup"; "Make sure that there are no other keys already existing for the
root user"; "cp /path/to/key/of/user/<username>/id_dsa.pub
/opt/ssh_public_keys/authorized_keys.<username>". A user can save a VM's image and another deploy
it: the same disk boots with vgrid_username=alice, then with vgrid_username=bob. The kernel command
line is the `cmdline` fact; here a --facts file stands for /proc/cmdline.
"""
import yaml
from node_support import public_key

FACTS = "/root/vgrid-cmdline.yaml"


def boot_as(scratch, owner, data):
    """noop (exact) then apply, with vgrid_username=<owner> on the kernel command line."""
    scratch.write_file(FACTS, yaml.safe_dump({"cmdline": {"vgrid_username": owner}}))
    return scratch.noop_then_apply(data, "--facts", FACTS)


def image_keys(scratch, tmp_path):
    keys = {user: public_key(tmp_path, f"{user}@vgrid") for user in ("alice", "bob")}
    for user, (kind, blob) in keys.items():
        scratch.write_file(f"/opt/ssh_public_keys/authorized_keys.{user}", f"{kind} {blob} {user}@vgrid\n", mode=0o700)
    return keys


def listed(scratch):
    """The keys sshd's own parser reads in root's authorized_keys (ssh-keygen -l: one line each)."""
    out = scratch.run(["ssh-keygen", "-l", "-f", "/root/.ssh/authorized_keys"], check=True).stdout
    return [line.split(" ", 2)[2].rsplit(" (", 1)[0] for line in out.splitlines()]  # BITS FP COMMENT (TYPE)


def test_owner_change_leaves_only_the_new_owners_key(scratch, tmp_path):
    """copyuserkey left root with the owner's key alone, the image's other keys gone: with exclusive,
    so does confrt, at each owner's boot."""
    keys = image_keys(scratch, tmp_path)
    scratch.write_file("/root/.ssh/authorized_keys", f"ssh-ed25519 {keys['alice'][1]} left in the image\n", mode=0o600)
    data = {"classes": ["sshkeys"], "sshkeys::exclusive": True}
    boot_as(scratch, "alice", data)
    assert listed(scratch) == ["alice@vgrid"]
    boot_as(scratch, "bob", data)
    assert listed(scratch) == ["bob@vgrid"]
    assert keys["alice"][1] not in scratch.read_text("/root/.ssh/authorized_keys")
    assert scratch.stat("/root/.ssh/authorized_keys") == (0o600, "root", "root")
    again = scratch.apply(None, "--facts", FACTS)
    assert again.returncode == 0, again.stdout + again.stderr


def test_without_exclusive_the_block_still_holds_only_the_owner(scratch, tmp_path):
    """Hand-written keys outside confrt's block stay (exclusive is off), but the block is the current
    owner's: alice's key goes when bob boots the VM (it stayed in the block, so alice kept root on
    bob's VM)."""
    keys = image_keys(scratch, tmp_path)
    admin = public_key(tmp_path, "admin")
    scratch.write_file("/root/.ssh/authorized_keys", f"{admin[0]} {admin[1]} admin by hand\n", mode=0o600)
    data = {"classes": ["sshkeys"]}
    boot_as(scratch, "alice", data)
    assert listed(scratch) == ["admin by hand", "alice@vgrid"]
    result = boot_as(scratch, "bob", data)
    assert listed(scratch) == ["admin by hand", "bob@vgrid"]
    assert keys["alice"][1] not in scratch.read_text("/root/.ssh/authorized_keys")
    assert "ssh_authorized_key[bob@vgrid]" in result.stdout

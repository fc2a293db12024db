"""`virtual`, with facter's names (kvm, vmware, xenhvm, hyperv, gce, docker ...).

Files answer first, as they are free: container marker files, then the DMI
strings in /sys/class/dmi/id (what facter reads too, so Xen HVM is "xenhvm"
as facter says). Only when they name nothing specific does confrt run
systemd-detect-virt (when installed), which also knows the CPUID vendor; then
the `hypervisor` CPU flag says "virtual", and "physical" when nothing says
anything. Running the program costs ~20 ms, so cloud VMs and containers skip it.
"""
import os

from confrt.facts.hardware import cpuinfo

# systemd-detect-virt's names -> facter's
SYSTEMD_NAMES = {
    "none": "physical", "qemu": "kvm", "amazon": "kvm", "microsoft": "hyperv",
    "oracle": "virtualbox", "xen": "xenu", "google": "gce", "lxc-libvirt": "lxc",
    "systemd-nspawn": "systemd_nspawn",
}

# substring of a DMI field (product_name, sys_vendor, bios_vendor) -> facter's name
DMI_SIGNATURES = (
    ("VMware", "vmware"), ("VirtualBox", "virtualbox"), ("Parallels", "parallels"),
    ("Google", "gce"), ("Amazon EC2", "kvm"), ("OpenStack", "kvm"), ("KVM", "kvm"),
    ("QEMU", "kvm"), ("Bochs", "bochs"), ("BHYVE", "bhyve"), ("Xen", "xenhvm"),
    ("Virtual Machine", "hyperv"),
)

CONTAINER_MARKERS = (("/.dockerenv", "docker"), ("/run/.containerenv", "podman"))


def virtual(host):
    answer = detect_from_files(host)
    if answer in ("physical", "virtual") and host.is_live:
        detected = _systemd_detect_virt()
        if detected:
            return SYSTEMD_NAMES.get(detected, detected)
    return answer


def detect_from_files(host):
    """The container or hypervisor that files name, else "virtual" (CPU flag) or "physical"."""
    for marker, name in CONTAINER_MARKERS:
        if os.path.exists(host.path(marker)):
            return name
    dmi = " ".join(filter(None, (host.read_text(f"/sys/class/dmi/id/{field}")
                                 for field in ("product_name", "sys_vendor", "bios_vendor"))))
    for signature, name in DMI_SIGNATURES:
        if signature in dmi:
            return name
    for cpu in cpuinfo(host)[:1]:
        if "hypervisor" in cpu.get("flags", "").split():
            return "virtual"
    return "physical"


def _systemd_detect_virt():
    import shutil

    from confrt.util.proc import run

    program = shutil.which("systemd-detect-virt")
    if not program:
        return None
    result = run([program], timeout=10)
    # exit 1 with "none" means bare metal; anything without output means "cannot tell"
    answer = result.stdout.strip()
    return answer if answer and result.returncode in (0, 1) else None

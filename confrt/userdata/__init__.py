"""Userdata: the instance's one input at boot, turned into the runtime data layer.

sources.py fetches raw bytes and metadata (EC2, OpenStack config drive, NoCloud,
HEPiX context ISO, file:PATH); formats.py decodes them (gzip, MIME, #cloud-config,
YAML, amiconfig ini, glideinWMS, #! scripts) into a Decoded; local.py writes
local_data, the write_files entries and the per-instance state; build.py makes
#cloud-config userdata on the submit side.
"""

"""A real IMDSv2 server (tests/unit/test_userdata_ec2.MetadataServer) on ADDRESS:80, for scratch systems
with a network of their own; the userdata is read from USERDATA_FILE at each request, so a test can
change it between boots. Usage: imds_serve.py ADDRESS USERDATA_FILE (runs until killed)."""
import os
import sys
import threading

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "unit"))

from test_userdata_ec2 import MetadataServer  # noqa: E402


class FileUserdataServer(MetadataServer):
    def __init__(self, address, userdata_file):
        super().__init__(userdata=b"", address=(address, 80))
        self.userdata_file = userdata_file

    @property
    def userdata(self):
        with open(self.userdata_file, "rb") as handle:
            return handle.read()

    @userdata.setter
    def userdata(self, value):
        pass


if __name__ == "__main__":
    with FileUserdataServer(sys.argv[1], sys.argv[2]):
        print("serving", flush=True)
        threading.Event().wait()

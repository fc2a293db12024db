"""EC2 instance metadata service client (IMDSv2 with IMDSv1 fallback).

PUT /latest/api/token with X-aws-ec2-metadata-token-ttl-seconds, then GETs with
X-aws-ec2-metadata-token; a 401 refreshes the token once; a refused token call
(403/404/405) means IMDSv1. Environment proxies are ignored (the metadata
address is link-local). Every request gets the smaller of the per-request
timeout and what is left of the total bound, so a host that is not on EC2 is
held up at most `total_timeout` seconds, however slowly the server answers.
"""
import time

from confrt.errors import UserdataError

TOKEN_PATH = "/latest/api/token"
TOKEN_TTL = "21600"
TOKEN_REFUSED = (403, 404, 405)


class MetadataUnavailable(Exception):
    """The service did not answer (refused, timed out, unreachable)."""


class MetadataClient:
    def __init__(self, base_url, timeout, total_timeout, max_size):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.deadline = time.monotonic() + total_timeout
        self.max_size = max_size
        self.token = None

    def _connection(self, timeout):
        import http.client
        import urllib.parse

        try:
            url = urllib.parse.urlsplit(self.base_url)
            port = url.port
        except ValueError as exc:
            raise UserdataError(f"{self.base_url}: {exc}") from None
        if url.scheme not in ("http", "https") or not url.hostname:
            raise UserdataError(f"{self.base_url}: expected an http:// or https:// URL")
        kind = http.client.HTTPSConnection if url.scheme == "https" else http.client.HTTPConnection
        return kind(url.hostname, port, timeout=timeout), url.path

    def _request(self, method, path, headers):
        """(status, body). The socket is shut down when total_timeout is over, so a server that
        drips its answer a byte at a time (no single read ever times out) cannot hold the run."""
        import http.client
        import threading

        left = self.deadline - time.monotonic()
        if left <= 0:
            raise MetadataUnavailable("total_timeout reached")
        connection, prefix = self._connection(min(self.timeout, left))
        watchdog = None
        try:
            connection.connect()
            # the response keeps reading from this socket after the connection lets go of it
            watchdog = threading.Timer(self.deadline - time.monotonic(), _shut_down, (connection.sock,))
            watchdog.start()
            connection.request(method, prefix + path, headers=headers)
            response = connection.getresponse()
            with response:
                body = response.read(self.max_size + 1)
            status = response.status
        except (http.client.HTTPException, OSError, ValueError) as exc:
            if time.monotonic() >= self.deadline:
                raise MetadataUnavailable(f"{self.base_url}: total_timeout reached") from None
            raise MetadataUnavailable(f"{self.base_url}: {exc or type(exc).__name__}") from None
        finally:
            if watchdog is not None:
                watchdog.cancel()
            connection.close()
        if len(body) > self.max_size:
            raise UserdataError(f"{self.base_url}{path}: more than userdata.max_size ({self.max_size}) bytes")
        return status, body

    def _fetch_token(self):
        status, body = self._request("PUT", TOKEN_PATH, {"X-aws-ec2-metadata-token-ttl-seconds": TOKEN_TTL})
        if status == 200 and body.strip():
            self.token = body.strip().decode("ascii", "replace")
        elif status in TOKEN_REFUSED:
            self.token = ""  # IMDSv1
        else:
            raise UserdataError(f"{self.base_url}{TOKEN_PATH}: HTTP {status}")

    def get(self, path):
        """Body bytes of GET path, or None on 404."""
        if self.token is None:
            self._fetch_token()
        for attempt in (1, 2):
            headers = {"X-aws-ec2-metadata-token": self.token} if self.token else {}
            status, body = self._request("GET", path, headers)
            if status == 401 and attempt == 1:
                self._fetch_token()
                continue
            if status == 200:
                return body
            if status == 404:
                return None
            raise UserdataError(f"{self.base_url}{path}: HTTP {status}")
        return None

    def get_text(self, path):
        body = self.get(path)
        return None if body is None else body.decode("utf-8", "replace").strip()


def fetch_ec2_metadata(client):
    """(user-data bytes or None, metadata dict) from the instance metadata service."""
    metadata = {}
    instance_id = client.get_text("/latest/meta-data/instance-id")
    if instance_id:
        metadata["instance_id"] = instance_id
    hostname = client.get_text("/latest/meta-data/local-hostname")
    if hostname:
        metadata["local_hostname"] = hostname
    key = client.get_text("/latest/meta-data/public-keys/0/openssh-key")
    if key:
        metadata["public_keys"] = [key]
    listing = client.get_text("/latest/meta-data/block-device-mapping/")
    if listing:
        mapping = {}
        for name in listing.split():
            device = client.get_text("/latest/meta-data/block-device-mapping/" + name.rstrip("/"))
            if device:
                mapping[name.rstrip("/")] = device
        metadata["block_device_mapping"] = mapping
    return client.get("/latest/user-data"), metadata


def _shut_down(sock):
    """Wake a read blocked on the socket (close() alone does not)."""
    import socket

    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass

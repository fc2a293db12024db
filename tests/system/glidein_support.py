"""The glideinWMS factory of the glidein system tests: glidein_startup.sh over HTTP on 127.0.0.1
(the scratch system shares this machine's network namespace, so the pilot's download reaches it)."""
import contextlib
import http.server
import threading

STAGE = "/factory/stage"


@contextlib.contextmanager
def factory_server(served):
    """Serves served["script"] (read at each request) as <webbase>/glidein_startup.sh, 404 otherwise;
    yields the webbase."""
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            ok = self.path == f"{STAGE}/glidein_startup.sh"
            self.send_response(200 if ok else 404)
            self.end_headers()
            self.wfile.write(served["script"].encode() if ok else b"not found")

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    # a short poll: shutdown() below waits for it (0.5 s by default)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}{STAGE}"
    finally:
        server.shutdown()
        server.server_close()

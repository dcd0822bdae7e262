"""`make loadtest`'s wrk run counts what the load test says it counts: every answer but 200 is an error (wrk alone
counts only 4xx and 5xx, so a redirect to the login page would pass as a served page)."""

import shutil
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.benchmarks.loadtest import hammer

pytestmark = pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed (.ci/run installs it)")


class _Pages(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):  # the http.server hook
        signed_in = "sessionid=ok" in self.headers.get("Cookie", "")
        status, body = (200, b"page") if signed_in and self.path == "/page/" else (302, b"")
        self.send_response(status)
        if status == 302:
            self.send_header("Location", "/accounts/login/")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Pages)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_a_served_page_has_no_errors_and_its_percentiles_are_ordered(server):
    run = hammer(f"{server}/page/", {"sessionid": "ok"}, concurrency=2, duration=1, warmup=0)
    assert run["requests"] > 0 and run["not_ok"] == 0 and run["socket_errors"] == 0
    assert 0 < run["p50_us"] <= run["p95_us"] <= run["p99_us"]


def test_every_redirect_to_the_login_page_counts_as_an_error(server):
    run = hammer(f"{server}/page/", {"sessionid": "expired"}, concurrency=2, duration=1, warmup=0)
    assert run["requests"] > 0 and run["not_ok"] == run["requests"]

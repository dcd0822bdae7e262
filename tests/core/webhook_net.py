"""Local HTTP(S) receivers and a fake internet for webhook tests; no packet ever leaves 127.0.0.1.

`FakeInternet` replaces name resolution with a table (a name can answer differently on each lookup, as a
DNS-rebinding attacker's server does) and guards every outgoing `socket.connect`: a connection to a
"public" stand-in address is routed to a receiver on 127.0.0.1, a connection to 127.0.0.1 passes, and any
other address is refused without sending anything. It records every address a connection was asked for, so
a test can prove where a delivery went.
"""

import socket
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PUBLIC_IP = "93.184.216.34"  # a globally routable address; the fake internet serves it from 127.0.0.1


class Receiver:
    """A local HTTP(S) server that records requests and answers with the queued (status, headers)."""

    def __init__(self, tls_context: ssl.SSLContext | None = None):
        self.requests: list[dict] = []
        self.answers: list[tuple[int, dict]] = []
        self.server_names: list[str | None] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def _record(self, body: bytes) -> None:
                receiver.requests.append(
                    {
                        "method": self.command,
                        "path": self.path,
                        "headers": {k.lower(): v for k, v in self.headers.items()},
                        "body": body,
                    }
                )
                status, headers = receiver.answers.pop(0) if receiver.answers else (200, {})
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def do_POST(self):
                self._record(self.rfile.read(int(self.headers.get("Content-Length") or 0)))

            def do_GET(self):
                self._record(b"")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        scheme = "http"
        if tls_context is not None:
            tls_context.sni_callback = lambda sock, name, ctx: self.server_names.append(name)
            self.server.socket = tls_context.wrap_socket(self.server.socket, server_side=True)
            scheme = "https"
        self.url = f"{scheme}://127.0.0.1:{self.port}/hooks/psa"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url_for(self, host: str, path: str = "/hooks/psa") -> str:
        scheme = self.url.split(":", 1)[0]
        return f"{scheme}://{host}:{self.port}{path}"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class FakeInternet:
    def __init__(self, monkeypatch):
        self.names: dict[str, list[str]] = {}
        self.lookups: list[str] = []
        self.connects: list[tuple[str, int]] = []
        real_getaddrinfo = socket.getaddrinfo
        real_connect = socket.socket.connect
        internet = self

        def getaddrinfo(host, port, family=0, type=0, proto=0, flags=0):
            host = host.decode() if isinstance(host, bytes) else host
            if host in internet.names:
                internet.lookups.append(host)
                answers = internet.names[host]
                ip = answers.pop(0) if len(answers) > 1 else answers[0]
                fam = socket.AF_INET6 if ":" in ip else socket.AF_INET
                addr = (ip, int(port or 0), 0, 0) if fam == socket.AF_INET6 else (ip, int(port or 0))
                return [(fam, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", addr)]
            try:
                return real_getaddrinfo(host, port, family, type, proto, flags | socket.AI_NUMERICHOST)
            except socket.gaierror:
                raise socket.gaierror(socket.EAI_NONAME, f"{host} is not on the fake internet") from None

        def connect(sock, address):
            if sock.family in (socket.AF_INET, socket.AF_INET6):
                host, port = address[0], address[1]
                internet.connects.append((host, port))
                if host == PUBLIC_IP:
                    if sock.family != socket.AF_INET:
                        raise ConnectionRefusedError("fake internet: IPv4 only")
                    return real_connect(sock, ("127.0.0.1", port))
                if host != "127.0.0.1":
                    raise ConnectionRefusedError(f"fake internet: {host} is not reachable from tests")
            return real_connect(sock, address)

        monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
        monkeypatch.setattr(socket.socket, "connect", connect)

    def resolve(self, name: str, *answers: str) -> None:
        """`name` answers each of `answers` in turn (the last one from then on)."""
        self.names[name] = list(answers)

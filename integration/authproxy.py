#!/usr/bin/env python3
"""A loopback auth front for a registry, for k3's integration tests.

  authproxy.py PORT UPSTREAM MODE [USER:PASS] [--flaky N]

MODE bearer: /v2/ needs `Authorization: Bearer <token>`; otherwise 401 with a
`WWW-Authenticate: Bearer realm=...` challenge. GET /token issues the token
(checking basic credentials when USER:PASS is given).
MODE basic: /v2/ needs basic credentials USER:PASS.
MODE none: no auth. With --flaky N the first N blob answers are cut after
64 KiB (the client must resume with Range). Requests are logged to stdout.
"""
import base64
import http.server
import sys
import urllib.error
import urllib.request

PORT, UPSTREAM, MODE = int(sys.argv[1]), sys.argv[2], sys.argv[3]
CREDS = sys.argv[4] if len(sys.argv) > 4 and not sys.argv[4].startswith("--") else None
FLAKY = int(sys.argv[sys.argv.index("--flaky") + 1]) if "--flaky" in sys.argv else 0
TOKEN = "k3-test-token-1"


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        print(f"{self.command} {self.path} range={self.headers.get('Range')}", flush=True)

    def basic_ok(self):
        if CREDS is None:
            return True
        want = "Basic " + base64.b64encode(CREDS.encode()).decode()
        return self.headers.get("Authorization") == want

    def deny(self, challenge):
        self.send_response(401)
        self.send_header("WWW-Authenticate", challenge)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_HEAD(self):
        self.handle_any()

    def do_GET(self):
        self.handle_any()

    def handle_any(self):
        global FLAKY
        if self.path.startswith("/token"):
            return self.token()
        auth = self.headers.get("Authorization")
        if MODE == "bearer" and auth != f"Bearer {TOKEN}":
            return self.deny(f'Bearer realm="http://127.0.0.1:{PORT}/token",service="k3-test"')
        if MODE == "basic" and not (auth and self.basic_ok()):
            return self.deny('Basic realm="k3-test"')
        headers = {k: v for k, v in self.headers.items() if k.lower() in ("accept", "range")}
        req = urllib.request.Request(UPSTREAM + self.path, method=self.command, headers=headers)
        try:
            resp = urllib.request.urlopen(req)
        except urllib.error.HTTPError as e:
            resp = e
        body = resp.read() if self.command == "GET" else b""
        self.send_response(resp.status if hasattr(resp, "status") else resp.code)
        for k, v in resp.headers.items():
            if k.lower() not in ("connection", "transfer-encoding", "date", "server"):
                self.send_header(k, v)
        self.end_headers()
        if FLAKY > 0 and "/blobs/" in self.path and len(body) > 65536:
            FLAKY -= 1
            self.wfile.write(body[:65536])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(body)

    def token(self):
        if not self.basic_ok():
            self.send_response(401)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = ('{"token": "%s"}' % TOKEN).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


http.server.ThreadingHTTPServer(("127.0.0.1", PORT), Handler).serve_forever()

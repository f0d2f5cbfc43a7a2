#!/usr/bin/python3
"""receiver.py - a loopback HTTP(S) receiver for the notification tests.

usage: receiver.py PORT LOG PIDFILE MODE [N] [--tls CERT KEY]

Appends every request to LOG as one JSON line {"method", "path", "headers",
"body", "body_utf8", "status"} (headers lower-cased; body decoded as UTF-8 with
errors replaced, body_utf8 false when it was not valid UTF-8), written before
the answer so that a hung request is recorded too. Writes its pid to PIDFILE
once it listens; the test stops it by that pid.

MODE:
  ok            200 {"ok": true}
  fail-first N  500 to the first N requests, then 200
  fail-always   500 with a short body
  hang [S]      sleep S seconds (default 30) before answering 200
  429           429 with Retry-After: 1 to the first request, then 200
  404           404 always
  status N      N always (a health check's 503)
GET is answered like POST (health checks).
"""
import json
import os
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

args = sys.argv[1:]
tls = None
if "--tls" in args:
    i = args.index("--tls")
    tls = (args[i + 1], args[i + 2])
    del args[i:i + 3]
port, log, pidfile, mode = int(args[0]), args[1], args[2], args[3]
arg = args[4] if len(args) > 4 else None

lock = threading.Lock()
count = [0]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):  # quiet: the test reads LOG, not our stderr
        pass

    def answer(self, status, body, extra=()):
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json" if body.startswith("{") else "text/plain")
        self.send_header("Content-Length", str(len(data)))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        try:
            body, utf8 = raw.decode("utf-8"), True
        except UnicodeDecodeError:
            body, utf8 = raw.decode("utf-8", "replace"), False
        with lock:
            count[0] += 1
            k = count[0]
        if mode == "ok":
            status = 200
        elif mode == "fail-first":
            status = 500 if k <= int(arg or 1) else 200
        elif mode == "fail-always":
            status = 500
        elif mode == "hang":
            status = 200
        elif mode == "429":
            status = 429 if k == 1 else 200
        elif mode == "404":
            status = 404
        elif mode == "status":
            status = int(arg or 503)
        else:
            status = 400
        rec = {"method": self.command, "path": self.path, "time": time.time(),
               "headers": {k.lower(): v for k, v in self.headers.items()},
               "body": body, "body_utf8": utf8, "status": status}
        with lock, open(log, "a") as f:
            f.write(json.dumps(rec) + "\n")
        if mode == "hang":
            time.sleep(float(arg or 30))
        if status == 200:
            self.answer(200, '{"ok": true}')
        elif status == 429:
            self.answer(429, "slow down\n", [("Retry-After", "1")])
        elif status == 404:
            self.answer(404, "no such hook\n")
        elif mode == "status":
            self.answer(status, "status %d\n" % status)
        else:
            # a multi-line answer with a control character: the client must flatten it
            self.answer(500, "internal\terror\nupstream \x1b[31mdown\x1b[0m\n")

    do_PUT = do_POST
    do_GET = do_POST


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


srv = Server(("127.0.0.1", port), Handler)
if tls:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(tls[0], tls[1])
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
with open(pidfile + ".tmp", "w") as f:
    f.write(str(os.getpid()))
os.rename(pidfile + ".tmp", pidfile)
try:
    srv.serve_forever()
except KeyboardInterrupt:
    pass

#!/usr/bin/python3
"""smtp_sink.py - a loopback SMTP server that records what it is sent.

usage: smtp_sink.py PORT LOG PIDFILE [MODE [N]]

Speaks just enough ESMTP for libcurl (EHLO/HELO, MAIL, RCPT, DATA, RSET,
NOOP, QUIT; no STARTTLS, no AUTH) and appends each accepted message to LOG as
a JSON line {"from", "to": [...], "data"} (data with the dot-stuffing undone).
Writes its pid to PIDFILE once it listens; the test stops it by that pid.

MODE: ok (default) | tempfail-first N (451 to the first N MAIL commands) |
reject-rcpt (550 to every RCPT).
"""
import json
import os
import socketserver
import sys
import threading

port, log, pidfile = int(sys.argv[1]), sys.argv[2], sys.argv[3]
mode = sys.argv[4] if len(sys.argv) > 4 else "ok"
n_arg = int(sys.argv[5]) if len(sys.argv) > 5 else 1
lock = threading.Lock()
mails = [0]


class Handler(socketserver.StreamRequestHandler):
    def say(self, line):
        self.wfile.write((line + "\r\n").encode())
        self.wfile.flush()

    def handle(self):
        self.say("220 127.0.0.1 smtp_sink ESMTP")
        sender, rcpts = None, []
        while True:
            raw = self.rfile.readline()
            if not raw:
                return
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            verb = line.split(" ", 1)[0].upper()
            if verb == "EHLO":
                self.say("250-127.0.0.1")
                self.say("250-8BITMIME")
                self.say("250 SIZE 10485760")
            elif verb == "HELO":
                self.say("250 127.0.0.1")
            elif verb == "MAIL":
                with lock:
                    mails[0] += 1
                    k = mails[0]
                if mode == "tempfail-first" and k <= n_arg:
                    self.say("451 4.3.0 try again later")
                    continue
                # drop ESMTP parameters (SIZE=..., BODY=...)
                sender, rcpts = line.split(":", 1)[1].strip().split(" ")[0], []
                self.say("250 2.1.0 ok")
            elif verb == "RCPT":
                if mode == "reject-rcpt":
                    self.say("550 5.1.1 no such user")
                    continue
                rcpts.append(line.split(":", 1)[1].strip().split(" ")[0])
                self.say("250 2.1.5 ok")
            elif verb == "DATA":
                self.say("354 end with <CRLF>.<CRLF>")
                data = []
                while True:
                    d = self.rfile.readline()
                    if not d or d == b".\r\n":
                        break
                    if d.startswith(b".."):
                        d = d[1:]
                    data.append(d)
                rec = {"from": sender, "to": rcpts, "data": b"".join(data).decode("utf-8", "replace")}
                with lock, open(log, "a") as f:
                    f.write(json.dumps(rec) + "\n")
                self.say("250 2.0.0 queued")
            elif verb in ("RSET", "NOOP"):
                self.say("250 ok")
            elif verb == "QUIT":
                self.say("221 bye")
                return
            else:
                self.say("502 5.5.2 not implemented")


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


srv = Server(("127.0.0.1", port), Handler)
with open(pidfile + ".tmp", "w") as f:
    f.write(str(os.getpid()))
os.rename(pidfile + ".tmp", pidfile)
srv.serve_forever()

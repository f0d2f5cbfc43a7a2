#!/usr/bin/python3
"""glacier_proxy.py PORT UPSTREAM_PORT STATEFILE - an S3 front for s3rver that answers like S3 where
the emulator does not:

  - an object PUT (or multipart-created) with storage class GLACIER or DEEP_ARCHIVE is archived:
    GET answers 403 InvalidObjectState until RestoreObject (POST ?restore) was sent; HEAD then
    carries x-amz-restore: ongoing-request="true" for RESTORE_POLLS more HEADs, then "false";
  - ListMultipartUploads and AbortMultipartUpload (s3rver: 501 / 405) over the uploads it saw begin;
  - a body whose SHA-256 is not the x-amz-content-sha256 it was signed with answers 400
    XAmzContentSHA256Mismatch, one whose MD5 is not its Content-MD5 400 BadDigest (S3 checks both;
    s3rver checks neither);
  - faults, set through the control path /__ctl?fail=N&status=503&code=SlowDown (the next N requests
    answer that), /__ctl?cut=N (the Nth UploadPart from now: read half its body, then drop the
    connection), /__ctl?hangup=N (after each of the next N answers, close the connection without a
word, as a server does when a kept connection times out), /__ctl?garble=N (the next N request bodies lose a bit on the way, as on a bad
    link: the checks above then refuse them), and /__ctl?polls=K.
Requests are forwarded as they came (the Host header too), so s3rver still checks SigV4.
STATEFILE is appended one JSON line per request (method, path, status, and "conn", the number of the
TCP connection it came on; with PROXY_LOG_HEADERS=1 in the environment also "headers", the request's
headers as they came, to check what a client sends)."""
import base64
import hashlib
import http.client
import http.server
import json
import os
import sys
import threading
import urllib.parse
import uuid

PORT, UP, STATE = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
LOG_HEADERS = os.environ.get("PROXY_LOG_HEADERS") == "1"
lock = threading.Lock()
archived = {}  # key path -> {"requested": bool, "polls": int}
uploads = {}   # upload id -> key path
conns = [0]    # connections accepted so far
faults = {"fail": 0, "status": 503, "code": "SlowDown", "cut": 0, "polls": 0, "garble": 0, "hangup": 0}


def xml_error(code, msg):
    return ('<?xml version="1.0" encoding="UTF-8"?><Error><Code>%s</Code><Message>%s</Message></Error>'
            % (code, msg)).encode()


class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def setup(self):
        super().setup()
        with lock:
            conns[0] += 1
            self.conn = conns[0]

    def note(self, status):
        with open(STATE, "a") as f:
            line = {"method": self.command, "path": self.path, "status": status, "conn": self.conn}
            if LOG_HEADERS:
                line["headers"] = dict(self.headers.items())
            f.write(json.dumps(line) + "\n")

    def answer(self, status, body=b"", headers=()):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        if not any(k.lower() == "content-length" for k, _ in headers):
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        self.note(status)
        with lock:
            if faults["hangup"] > 0 and not self.path.startswith("/__ctl"):
                faults["hangup"] -= 1
                self.close_connection = True

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def handle_any(self):
        u = urllib.parse.urlsplit(self.path)
        q = urllib.parse.parse_qs(u.query, keep_blank_values=True)
        key = urllib.parse.unquote(u.path)
        if u.path == "/__ctl":
            with lock:
                for k in ("fail", "cut", "polls", "garble", "hangup"):
                    if k in q:
                        faults[k] = int(q[k][0])
                for k in ("status", "code"):
                    if k in q:
                        faults[k] = int(q[k][0]) if k == "status" else q[k][0]
            self.body()
            return self.answer(200, b"ok")
        with lock:
            fail = faults["fail"] > 0
            if fail:
                faults["fail"] -= 1
            cut = False
            if self.command == "PUT" and "partNumber" in q and faults["cut"] > 0:
                faults["cut"] -= 1
                cut = faults["cut"] == 0
        if fail:
            self.body()
            return self.answer(faults["status"], xml_error(faults["code"], "injected by the test proxy"),
                               [("Content-Type", "application/xml")])
        if cut:
            n = int(self.headers.get("Content-Length") or 0)
            self.rfile.read(n // 2)
            self.note("cut")
            self.close_connection = True
            self.connection.shutdown(2)
            return
        if self.command == "GET" and "uploads" in q:
            prefix = q.get("prefix", [""])[0]
            bucket = key.strip("/").split("/")[0]
            with lock:
                items = [(i, k) for i, k in uploads.items() if k.startswith("/%s/%s" % (bucket, prefix))]
            body = "".join("<Upload><Key>%s</Key><UploadId>%s</UploadId></Upload>"
                           % (k[len(bucket) + 2:], i) for i, k in items)
            return self.answer(200, ('<?xml version="1.0" encoding="UTF-8"?><ListMultipartUploadsResult>'
                                     '<Bucket>%s</Bucket>%s</ListMultipartUploadsResult>' % (bucket, body)).encode(),
                               [("Content-Type", "application/xml")])
        if self.command == "DELETE" and "uploadId" in q:
            with lock:
                uploads.pop(q["uploadId"][0], None)
            return self.answer(204)
        if self.command == "POST" and "restore" in q:
            self.body()
            with lock:
                a = archived.get(key)
                if a is None:
                    return self.answer(403, xml_error("InvalidObjectState", "not an archived object"))
                again = a["requested"]
                a["requested"] = True
                a["polls"] = faults["polls"]
            return self.answer(200 if again else 202)
        with lock:
            a = archived.get(key)
        if self.command == "GET" and a and not (a["requested"] and a["polls"] <= 0):
            return self.answer(403, xml_error("InvalidObjectState",
                                              "The operation is not valid for the object's storage class"))
        body = self.body()
        if body:
            with lock:
                garble = faults["garble"] > 0
                if garble:
                    faults["garble"] -= 1
            if garble:
                body = body[:len(body) // 2] + bytes([body[len(body) // 2] ^ 0x01]) + body[len(body) // 2 + 1:]
        want = self.headers.get("x-amz-content-sha256", "")
        if len(want) == 64 and hashlib.sha256(body).hexdigest() != want.lower():
            return self.answer(400, xml_error("XAmzContentSHA256Mismatch",
                                              "The provided 'x-amz-content-sha256' header does not match what was computed."),
                               [("Content-Type", "application/xml")])
        md5 = self.headers.get("Content-MD5")
        if md5 is not None and base64.b64encode(hashlib.md5(body).digest()).decode() != md5:
            return self.answer(400, xml_error("BadDigest", "The Content-MD5 you specified did not match what we received."),
                               [("Content-Type", "application/xml")])
        klass = self.headers.get("x-amz-storage-class", "")
        status, headers, data = self.forward(body)
        if status < 300 and self.command == "PUT" and "partNumber" not in q and klass in ("GLACIER", "DEEP_ARCHIVE"):
            with lock:
                archived[key] = {"requested": False, "polls": 0}
        if status < 300 and self.command == "POST" and "uploads" in q:
            uid = data.split(b"<UploadId>")[1].split(b"</UploadId>")[0].decode()
            with lock:
                uploads[uid] = key
                if klass in ("GLACIER", "DEEP_ARCHIVE"):
                    archived[key] = {"requested": False, "polls": 0}
        if status < 300 and self.command == "POST" and "uploadId" in q:
            with lock:
                uploads.pop(q["uploadId"][0], None)
        if self.command == "HEAD" and a:
            with lock:
                if a["requested"]:
                    if a["polls"] > 0:
                        a["polls"] -= 1
                        headers.append(("x-amz-restore", 'ongoing-request="true"'))
                    else:
                        headers.append(("x-amz-restore",
                                        'ongoing-request="false", expiry-date="Fri, 21 Dec 2040 00:00:00 GMT"'))
        return self.answer(status, data, headers)

    def forward(self, body):
        c = http.client.HTTPConnection("127.0.0.1", UP, timeout=30)
        hdrs = {k: v for k, v in self.headers.items() if k.lower() not in ("connection", "expect")}
        c.request(self.command, self.path, body=body if body or self.command in ("PUT", "POST") else None,
                  headers=hdrs)
        r = c.getresponse()
        data = r.read()
        drop = ("transfer-encoding", "connection", "date", "server")
        if self.command != "HEAD":
            drop += ("content-length",)  # a HEAD keeps the object's length
        keep = [(k, v) for k, v in r.getheaders() if k.lower() not in drop]
        c.close()
        return r.status, keep, data

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = handle_any


if __name__ == "__main__":
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", PORT), H)
    srv.daemon_threads = True
    srv.serve_forever()

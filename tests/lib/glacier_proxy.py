#!/usr/bin/python3
"""glacier_proxy.py PORT UPSTREAM_PORT STATEFILE - an S3 front for s3rver that answers like S3 where
the emulator does not:

  - an object PUT (or multipart-created) with storage class GLACIER or DEEP_ARCHIVE is archived:
    GET answers 403 InvalidObjectState until RestoreObject (POST ?restore) was sent; HEAD then
    carries x-amz-restore: ongoing-request="true" for RESTORE_POLLS more HEADs, then "false";
  - ListMultipartUploads and AbortMultipartUpload (s3rver: 501 / 405) over the uploads it saw begin;
  - a body whose SHA-256 is not the x-amz-content-sha256 it was signed with answers 400
    XAmzContentSHA256Mismatch, one whose MD5 is not its Content-MD5 400 BadDigest, one whose CRC-32
    is not its x-amz-checksum-crc32 400 BadDigest (S3 checks all three; s3rver checks none);
  - multipart checksums as S3 keeps them: a part with an x-amz-checksum-* header of another
    algorithm than its upload was created with (x-amz-checksum-algorithm), or without one when the
    upload has one, answers 400 InvalidRequest; so does a CompleteMultipartUpload that does not give
    each part's ChecksumCRC32 as it was uploaded;
  - faults, set through the control path /__ctl?fail=N&status=503&code=SlowDown (the next N requests
    answer that), /__ctl?cut=N (the Nth UploadPart from now: read half its body, then drop the
    connection), /__ctl?hangup=N (after each of the next N answers, close the connection without a
word, as a server does when a kept connection times out), /__ctl?garble=N (the next N request bodies lose a bit on the way, as on a bad
    link: the checks above then refuse them), /__ctl?oldserver=N (the next N requests that name a
    checksum algorithm answer 400 InvalidArgument, as a server without S3's checksum API may), and
    /__ctl?polls=K.
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
import zlib

PORT, UP, STATE = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
LOG_HEADERS = os.environ.get("PROXY_LOG_HEADERS") == "1"
lock = threading.Lock()
archived = {}  # key path -> {"requested": bool, "polls": int}
uploads = {}   # upload id -> key path
upload_algo = {}  # upload id -> its x-amz-checksum-algorithm, lower case ("" for none)
part_crc = {}  # (upload id, part number) -> the part's x-amz-checksum-crc32
conns = [0]    # connections accepted so far
faults = {"fail": 0, "status": 503, "code": "SlowDown", "cut": 0, "polls": 0, "garble": 0, "hangup": 0,
          "oldserver": 0}


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
                for k in ("fail", "cut", "polls", "garble", "hangup", "oldserver"):
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
        with lock:
            old = faults["oldserver"] > 0 and "x-amz-checksum-algorithm" in self.headers
            if old:
                faults["oldserver"] -= 1
        if old:
            self.body()
            return self.answer(400, xml_error("InvalidArgument", "Unsupported header 'x-amz-checksum-algorithm'"),
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
        crc = self.headers.get("x-amz-checksum-crc32")
        if crc is not None and base64.b64encode(zlib.crc32(body).to_bytes(4, "big")).decode() != crc:
            return self.answer(400, xml_error("BadDigest", "The CRC32 you specified did not match the calculated checksum."),
                               [("Content-Type", "application/xml")])
        refused = self.multipart_checksums(q, body)
        if refused:
            return self.answer(400, xml_error("InvalidRequest", refused), [("Content-Type", "application/xml")])
        klass = self.headers.get("x-amz-storage-class", "")
        status, headers, data = self.forward(body)
        if status < 300 and self.command == "PUT" and "partNumber" not in q and klass in ("GLACIER", "DEEP_ARCHIVE"):
            with lock:
                archived[key] = {"requested": False, "polls": 0}
        if status < 300 and self.command == "POST" and "uploads" in q:
            uid = data.split(b"<UploadId>")[1].split(b"</UploadId>")[0].decode()
            with lock:
                uploads[uid] = key
                upload_algo[uid] = self.headers.get("x-amz-checksum-algorithm", "").lower()
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

    def multipart_checksums(self, q, body):
        """S3's rules for the checksums of a multipart upload: what it refuses, or None."""
        if "uploadId" not in q:
            return None
        uid = q["uploadId"][0]
        with lock:
            algo = upload_algo.get(uid)
        if algo is None:
            return None  # not created through this proxy
        if self.command == "PUT" and "partNumber" in q:
            sent = [k[len("x-amz-checksum-"):].lower() for k in self.headers.keys()
                    if k.lower().startswith("x-amz-checksum-") and k.lower() != "x-amz-checksum-algorithm"]
            if sent != ([algo] if algo else []):
                return ("Checksum Type mismatch occurred, expected checksum Type: %s, actual checksum Type: %s"
                        % (algo or "null", sent[0] if sent else "null"))
            if algo == "crc32":
                with lock:
                    part_crc[(uid, q["partNumber"][0])] = self.headers.get("x-amz-checksum-crc32")
        if self.command == "POST" and algo == "crc32":
            text = body.decode("utf-8", "replace")
            for part in text.split("<Part>")[1:]:
                num = part.split("<PartNumber>")[1].split("</PartNumber>")[0]
                given = part.split("<ChecksumCRC32>")[1].split("</ChecksumCRC32>")[0] if "<ChecksumCRC32>" in part else None
                with lock:
                    want = part_crc.get((uid, num))
                if given is None:
                    return ("The upload was created using a crc32 checksum. The complete request must include the "
                            "checksum for each part. It was missing for part %s in the request." % num)
                if given != want:
                    return "The checksum of part %s does not match the one it was uploaded with." % num
        return None

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

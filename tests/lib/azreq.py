"""azreq.py - talk to azurite from the tests, signed independently of ado-dr's C code.

  azreq.py METHOD /CONTAINER/BLOB?query [Name:value ...]   SharedKey request; prints the status, then the body
                                                           (HEAD: the response headers)
  azreq.py sas [PERMS [SECONDS]]                           an account SAS token (no leading '?')
  azreq.py clone CONTAINER SRC DST [OLD NEW [SKIP,...]]     copy every blob below SRC/ to DST/, replacing
                                                           OLD by NEW in manifest.json, leaving out SKIP names

Reads AZ_ENDPOINT (http://127.0.0.1:PORT/ACCOUNT), AZ_ACCOUNT and AZ_KEY from the environment.
"""
import base64
import datetime
import hashlib
import hmac
import os
import re
import sys
import urllib.error
import urllib.parse
import urllib.request

VERSION = "2021-08-06"


def sign(key, sts):
    return base64.b64encode(hmac.new(base64.b64decode(key), sts.encode(), hashlib.sha256).digest()).decode()


def request(method, path, headers, body=b""):
    endpoint, account, key = os.environ["AZ_ENDPOINT"], os.environ["AZ_ACCOUNT"], os.environ["AZ_KEY"]
    url = endpoint + path
    u = urllib.parse.urlsplit(url)
    h = {k.lower(): v for k, v in headers}
    h["x-ms-date"] = datetime.datetime.utcnow().strftime("%a, %d %b %Y %H:%M:%S GMT")
    h["x-ms-version"] = VERSION
    if method in ("PUT", "POST"):
        h["content-length"] = str(len(body)) if body else "0"
        h.setdefault("content-type", "application/octet-stream")  # urllib would add its own
    std = ["content-encoding", "content-language", "content-length", "content-md5", "content-type", "date",
           "if-modified-since", "if-match", "if-none-match", "if-unmodified-since", "range"]
    sts = method + "\n" + "".join((h.get(n, "") if not (n == "content-length" and h.get(n) == "0") else "") + "\n"
                                  for n in std)
    sts += "".join("%s:%s\n" % (k, h[k]) for k in sorted(h) if k.startswith("x-ms-"))
    sts += "/" + account + u.path
    q = urllib.parse.parse_qs(u.query, keep_blank_values=True)
    for k in sorted(q, key=str.lower):
        sts += "\n%s:%s" % (k.lower(), ",".join(sorted(q[k])))
    h["authorization"] = "SharedKey %s:%s" % (account, sign(key, sts))
    req = urllib.request.Request(url, data=body if method in ("PUT", "POST") else None, method=method, headers=h)
    try:
        with urllib.request.urlopen(req) as r:
            if method == "HEAD":
                return r.status, "".join("%s: %s\n" % kv for kv in r.getheaders()).encode()
            return r.status, r.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def account_sas(perms, seconds):
    account, key = os.environ["AZ_ACCOUNT"], os.environ["AZ_KEY"]
    exp = (datetime.datetime.utcnow() + datetime.timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")
    sv, ss, srt = "2019-12-12", "b", "sco"
    sts = "\n".join([account, perms, ss, srt, "", exp, "", "", sv]) + "\n"
    q = [("sv", sv), ("ss", ss), ("srt", srt), ("sp", perms), ("se", exp), ("sig", sign(key, sts))]
    return urllib.parse.urlencode(q, safe="")


def clone(container, src, dst, old=None, new=None, skip=""):
    status, body = request("GET", "/%s?restype=container&comp=list&prefix=%s" % (container, urllib.parse.quote(src + "/", safe="")), [])
    assert status == 200, (status, body)
    for name in re.findall(r"<Name>([^<]*)</Name>", body.decode()):
        base = name[len(src) + 1:]
        if base in skip.split(","):
            continue
        st, data = request("GET", "/%s/%s" % (container, urllib.parse.quote(name)), [])
        assert st == 200, (st, name)
        if base == "manifest.json" and old:
            data = data.replace(old.encode(), new.encode())
        st, _ = request("PUT", "/%s/%s/%s" % (container, urllib.parse.quote(dst), urllib.parse.quote(base)),
                        [("x-ms-blob-type", "BlockBlob")], data)
        assert st == 201, (st, name)


def main():
    if sys.argv[1] == "sas":
        perms = sys.argv[2] if len(sys.argv) > 2 else "rwdlac"
        seconds = int(sys.argv[3]) if len(sys.argv) > 3 else 3600
        print(account_sas(perms, seconds))
        return
    if sys.argv[1] == "clone":
        clone(*sys.argv[2:])
        return
    headers = [a.split(":", 1) for a in sys.argv[3:]]
    status, body = request(sys.argv[1], sys.argv[2], headers)
    print(status)
    sys.stdout.write(body.decode("utf-8", "replace"))


main()

#!/usr/bin/python3
"""Generate the benchmark tree once: logs, JSON, random blobs, 10,000 small files (~1 GiB by default).
usage: gen.py DIR [MiB]"""
import json, os, random, sys

root, total_mib = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 1024
rnd = random.Random(42)
os.makedirs(root, exist_ok=True)
share = {"logs": 0.40, "json": 0.20, "blobs": 0.30, "small": 0.10}
words = ("task worker queue retry timeout database backup user config metric latency request "
         "response error warning info debug scheduler orchestrator agent commit deploy").split()

def logs(n):
    d = os.path.join(root, "logs"); os.makedirs(d, exist_ok=True)
    per = 32 << 20; i = 0
    while n > 0:
        with open(os.path.join(d, f"ado-{i:03d}.log"), "w") as f:
            w = 0
            while w < min(per, n):
                line = (f"2026-11-{rnd.randint(1,28):02d}T{rnd.randint(0,23):02d}:{rnd.randint(0,59):02d}:"
                        f"{rnd.randint(0,59):02d}Z {rnd.choice(['INFO','WARN','ERROR','DEBUG'])} "
                        f"pid={rnd.randint(100,99999)} {' '.join(rnd.choice(words) for _ in range(rnd.randint(4,14)))} "
                        f"id={rnd.getrandbits(64):016x} ms={rnd.random()*900:.2f}\n")
                f.write(line); w += len(line)
        n -= per; i += 1

def jsons(n):
    d = os.path.join(root, "json"); os.makedirs(d, exist_ok=True)
    per = 16 << 20; i = 0
    while n > 0:
        with open(os.path.join(d, f"metrics-{i:03d}.jsonl"), "w") as f:
            w = 0
            while w < min(per, n):
                rec = {"ts": rnd.randint(1.7e9, 1.8e9), "task": rnd.getrandbits(40), "user": rnd.choice(words),
                       "status": rnd.choice(["ok", "failed", "retry"]), "latency_ms": round(rnd.random() * 1000, 3),
                       "tags": [rnd.choice(words) for _ in range(rnd.randint(1, 5))],
                       "payload": {"size": rnd.randint(0, 1 << 20), "hash": f"{rnd.getrandbits(128):032x}"}}
                line = json.dumps(rec) + "\n"; f.write(line); w += len(line)
        n -= per; i += 1

def blobs(n):
    d = os.path.join(root, "blobs"); os.makedirs(d, exist_ok=True)
    per = 64 << 20; i = 0
    while n > 0:
        with open(os.path.join(d, f"artifact-{i:03d}.bin"), "wb") as f:
            f.write(os.urandom(min(per, n)))
        n -= per; i += 1

def small(n):
    count = 10000; size = max(1, n // count)
    for i in range(count):
        d = os.path.join(root, "small", f"{i // 100:03d}"); os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, f"item-{i:05d}.yml"), "w") as f:
            body = "".join(f"{rnd.choice(words)}: {rnd.getrandbits(32)}\n" for _ in range(size // 16 + 1))
            f.write(body[:size])

total = total_mib << 20
logs(int(total * share["logs"])); jsons(int(total * share["json"]))
blobs(int(total * share["blobs"])); small(int(total * share["small"]))

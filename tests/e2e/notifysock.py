#!/usr/bin/env python3
"""A stand-in for systemd's end of sd_notify(3), for the e2e tests.

    notifysock.py SOCKET OUT DB RUNTIME

Binds a unix datagram socket at SOCKET (what NOTIFY_SOCKET names) and appends one JSON line per
datagram to OUT: {"n": N, "msg": TEXT}. When a datagram holds READY=1 it also records what the
database and the runtime file said at that moment: "job1" (state and worker_pid of job 1) and
"runtime" (the file RUNTIME, or null), so that a test can tell what had happened before READY=1.
DB is a SQLite file, or a PostgreSQL conninfo (key=value, read with psql).
"""
import json
import sqlite3
import socket
import subprocess
import sys

sock_path, out_path, db, runtime = sys.argv[1:5]
JOB1 = "SELECT state, worker_pid FROM jobs WHERE id = 1"


def job1():
    if "=" not in db:
        con = sqlite3.connect(db, timeout=5)
        row = con.execute(JOB1).fetchone()
        con.close()
        return row
    out = subprocess.run(["psql", "-XAtq", "-F|", "-v", "ON_ERROR_STOP=1", "-d", db, "-c", JOB1],
                         check=True, capture_output=True, text=True).stdout.strip()
    if not out:
        return None
    state, pid = out.split("|")
    return [state, int(pid) if pid else None]


s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sock_path)
n = 0
with open(out_path, "a", encoding="utf-8") as out:
    while True:
        msg = s.recv(4096).decode("utf-8", "replace")
        n += 1
        rec = {"n": n, "msg": msg}
        if "READY=1" in msg.split("\n"):
            rec["job1"] = job1()
            try:
                with open(runtime, encoding="utf-8") as f:
                    rec["runtime"] = json.load(f)
            except OSError:
                rec["runtime"] = None
        out.write(json.dumps(rec) + "\n")
        out.flush()

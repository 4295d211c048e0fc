#!/usr/bin/env python3
"""A stand-in for systemd's end of sd_notify(3), for the e2e tests.

    notifysock.py SOCKET OUT DB

Binds a unix datagram socket at SOCKET (what NOTIFY_SOCKET names) and appends one JSON line per
datagram to OUT: {"n": N, "msg": TEXT}. When a datagram holds READY=1 it also records what the
database and the runtime file said at that moment: "job1" (state and worker_pid of job 1) and
"runtime" (DB.runtime.json, or null), so that a test can tell what had happened before READY=1.
"""
import json
import sqlite3
import socket
import sys

sock_path, out_path, db = sys.argv[1:4]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sock_path)
n = 0
with open(out_path, "a", encoding="utf-8") as out:
    while True:
        msg = s.recv(4096).decode("utf-8", "replace")
        n += 1
        rec = {"n": n, "msg": msg}
        if "READY=1" in msg.split("\n"):
            con = sqlite3.connect(db, timeout=5)
            rec["job1"] = con.execute("SELECT state, worker_pid FROM jobs WHERE id = 1").fetchone()
            con.close()
            try:
                with open(db + ".runtime.json", encoding="utf-8") as f:
                    rec["runtime"] = json.load(f)
            except OSError:
                rec["runtime"] = None
        out.write(json.dumps(rec) + "\n")
        out.flush()

#!/usr/bin/env python3
"""A stand-in for systemd's end of sd_notify(3), for the e2e tests.

    notifysock.py SOCKET OUT DB RUNTIME

Binds a unix datagram socket at SOCKET (what NOTIFY_SOCKET names) and appends one JSON line per
datagram to OUT: {"n": N, "msg": TEXT}. When a datagram holds READY=1 it also records what the
database and the runtime file said at that moment: "job1" (state and worker_pid of job 1) and
"runtime" (the runtime file, or null), so that a test can tell what had happened before READY=1.
DB is a SQLite file, or a PostgreSQL conninfo or URI (read with psql). RUNTIME is the runtime
file, or a folder holding it (a PostgreSQL queue's state folder: its one *.runtime.json).
"""
import glob
import json
import os
import socket
import sqlite3
import subprocess
import sys

JOB1 = "SELECT state, worker_pid FROM jobs WHERE id = 1"


def is_pg(target):
    return target.startswith(("postgresql://", "postgres://")) or (
        "=" in target and "/" not in target.split("=", 1)[0])


def job1(db):
    if not is_pg(db):
        con = sqlite3.connect(db, timeout=5)
        try:
            row = con.execute(JOB1).fetchone()
        finally:
            con.close()
        return list(row) if row is not None else None
    out = subprocess.run(["psql", "-XAtq", "-F", "|", "-v", "ON_ERROR_STOP=1", "-d", db,
                          "-c", JOB1], check=True, capture_output=True, text=True).stdout
    if not out.strip():
        return None
    state, pid = out.strip().split("|")
    return [state, int(pid) if pid else None]


def runtime(path):
    if os.path.isdir(path):
        found = glob.glob(os.path.join(path, "*.runtime.json"))
        if len(found) != 1:
            return None
        path = found[0]
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except OSError:
        return None


def main():
    sock_path, out_path, db, runtime_path = sys.argv[1:5]
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(sock_path)
    n = 0
    with open(out_path, "a", encoding="utf-8") as out:
        while True:
            msg = s.recv(4096).decode("utf-8", "replace")
            n += 1
            rec = {"n": n, "msg": msg}
            if "READY=1" in msg.split("\n"):
                rec["job1"] = job1(db)
                rec["runtime"] = runtime(runtime_path)
            out.write(json.dumps(rec) + "\n")
            out.flush()


main()

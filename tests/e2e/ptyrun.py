#!/usr/bin/env python3
"""Run a command on a new pseudo-terminal and script it, for e2e tests of full-screen commands.

usage: ptyrun.py OUT_FILE ROWS COLS STEP... -- CMD ARGS...

The command gets the terminal's slave as stdin, stdout and stderr, in its own session with the
terminal as its controlling one. Every byte it writes is appended to OUT_FILE. Steps, in order:
  wait:TEXT[:N]   until TEXT has appeared N times (default 1) in the output (20 s at most)
  send:TEXT       write TEXT to the terminal (\\n, \\x03 ... unescaped)
  signal:NAME     send the signal (TERM, INT ...) to the command
  sleep:SECONDS
  touch:PATH      create the file PATH
Then it waits for the command to exit (10 s at most) and prints one JSON line: {"exit": code
(128+N for signal N), "icanon": bool, "echo": bool} where the last two are the terminal's modes
after the exit (both true when the command restored them). Exits 1 on a timeout.
"""
import json, os, select, signal, sys, termios, time, fcntl, struct

def main():
    out_path, rows, cols = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    sep = sys.argv.index("--")
    steps, cmd = sys.argv[4:sep], sys.argv[sep + 1:]
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    pid = os.fork()
    if pid == 0:
        os.setsid()
        fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
        for fd in (0, 1, 2):
            os.dup2(slave, fd)
        os.close(master)
        os.execvp(cmd[0], cmd)
    out = open(out_path, "wb")
    seen = b""

    def pump(timeout):
        nonlocal seen
        r, _, _ = select.select([master], [], [], timeout)
        if r:
            try:
                data = os.read(master, 65536)
            except OSError:
                return False
            seen += data
            out.write(data)
            out.flush()
            return bool(data)
        return True

    for step in steps:
        kind, _, arg = step.partition(":")
        if kind == "wait":
            text, _, n = arg.rpartition(":") if arg.count(":") and arg.rsplit(":", 1)[1].isdigit() else (arg, "", "1")
            want = text.encode().decode("unicode_escape").encode("latin-1")
            deadline = time.time() + 20
            while seen.count(want) < int(n):
                if time.time() > deadline or not pump(0.1):
                    print(json.dumps({"timeout": step}))
                    os.kill(pid, signal.SIGKILL)
                    sys.exit(1)
        elif kind == "send":
            os.write(master, arg.encode().decode("unicode_escape").encode("latin-1"))
        elif kind == "signal":
            os.kill(pid, getattr(signal, "SIG" + arg))
        elif kind == "touch":
            open(arg, "a").close()
        elif kind == "sleep":
            end = time.time() + float(arg)
            while time.time() < end:
                pump(0.05)
    deadline = time.time() + 10
    while True:
        wpid, status = os.waitpid(pid, os.WNOHANG)
        if wpid == pid:
            break
        if time.time() > deadline:
            os.kill(pid, signal.SIGKILL)
            print(json.dumps({"timeout": "exit"}))
            sys.exit(1)
        pump(0.05)
    while pump(0.05) and select.select([master], [], [], 0)[0]:
        pass
    mode = termios.tcgetattr(slave)
    code = os.waitstatus_to_exitcode(status)
    print(json.dumps({"exit": 128 - code if code < 0 else code,
                      "icanon": bool(mode[3] & termios.ICANON),
                      "echo": bool(mode[3] & termios.ECHO)}))

main()

#!/usr/bin/env python3
"""Run the console examples of the documentation and compare their output.

    doctest.py [--list] [FILE.md...]     (default: README.md and docs/*.md of $JOBQ_SRC)

Every ```console block of the given Markdown files is a test. Its lines that start with "$ " are
commands (a line ending in a backslash, or a here-document, goes on); the lines that follow a
command, up to the next one, are its expected output (stdout and stderr as a terminal shows
them). The commands of a block run in order in one bash, in a fresh folder, with `jobq` (the
binary under test, $JOBQ) and `fake-llm` (contrib/) first on PATH, HOME in that folder, no
JOBQ_DB or JOBQ_CONFIG, LC_ALL=C, TZ=UTC and JOBQ_HOST=web-1 (the host id the examples show,
whatever the machine's name).

A comment right before the block (blank lines may come between) steers it:

    <!-- doctest: skip REASON -->          not run; counted as skipped, with the reason
    <!-- doctest: continue -->             run in the folder and the shell of the block before
                                           it in the same file (a running supervisor too)
    <!-- doctest                           these lines run first, in the same shell, under
    cat >jobq.json <<'EOF'                 `set -e` (a failure fails the block); their output
    ...                                    is not compared
    EOF
    -->

"continue" may come first on the line of a setup: "<!-- doctest: continue". A setup may call
`start_supervisor [ARGS...]` (jobq supervise in the background, its log in sup.log; returns
once it is ready) and `wait_state ID STATE`. Whatever a block (or a chain of continued blocks)
started is stopped at its end: SIGTERM to its process group, SIGKILL 20 s later.

Before comparing, both the expected and the actual output are normalised (the table below),
so that the docs may show real output without tests depending on times, pids or tokens:

    the block's folder                          /srv/q
    RFC 3339 times (2026-11-23T05:28:38.838Z)   TIME
    jobq[1234], pid 1234, "pid":1234            jobq[PID], pid PID, "pid":PID
    workers: 1234 1235 (a status line)          workers: PIDS
    the WORKER of a status RUNNING row          PID
    integers of 10 or more digits               NUM      (tokens, epoch milliseconds)
    ages and elapsed times (0s, 4m59s, 2h10m)   AGE
    rates (0.6/s)                               RATE
    rules of 3 or more dashes (sqlite3 -column) --
    runs of spaces and tabs                     one space; none at the start or end of a line

An expected line that is exactly "..." stands for any number of lines (none too). In a command,
`--token N` with N of 10 or more digits stands for the token that the job named by the command
(`heartbeat ID`, `complete ID`, `fail ID`) holds when the number is first met; the same number
later stands for the same token, so an example can show a token going stale.

Prints one line per block (ok, FAIL or skip) and a summary; exits 1 if any block failed.
"""

import os
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time

SRC = os.environ.get("JOBQ_SRC") or os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
JOBQ = os.environ.get("JOBQ")
SHOWN_DIR = "/srv/q"
CHAIN_TIMEOUT = 180

NORMALISE = [
    (re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)"), "TIME"),
    (re.compile(r"jobq\[\d+\]"), "jobq[PID]"),
    (re.compile(r"\bpid \d+"), "pid PID"),
    (re.compile(r'"pid":\s*\d+'), '"pid":PID'),
    (re.compile(r"^workers:( \d+)+"), "workers: PIDS"),
    (re.compile(r"^(\d+ [a-z0-9_-]+ \S+ \d+/\d+ )\d+ "), r"\1PID "),
    (re.compile(r"\b\d{10,}\b"), "NUM"),
    (re.compile(r"\b\d+\.\d+/s\b"), "RATE"),
    (re.compile(r"\b\d+(m\d+s|h\d+m|d\d+h|s)\b"), "AGE"),
    (re.compile(r"-{3,}"), "--"),
]


def normalise(lines, folder=None):
    out = []
    for line in lines:
        if folder:
            line = line.replace(folder, SHOWN_DIR)
        line = " ".join(line.split())
        for rx, repl in NORMALISE:
            line = rx.sub(repl, line)
        out.append(line)
    while out and out[-1] == "":
        out.pop()
    return out


def matches(want, got):
    """want may hold "..." lines (any number of lines)."""
    if not want:
        return not got
    if want[0] == "...":
        return any(matches(want[1:], got[i:]) for i in range(len(got) + 1))
    return bool(got) and want[0] == got[0] and matches(want[1:], got[1:])


class Block:
    def __init__(self, path, line, lines, directive):
        self.path, self.line, self.directive = path, line, directive
        self.skip = None
        self.cont = False
        self.setup = []
        self.commands = []  # (command text, expected lines)
        if directive is not None:
            head, _, rest = directive[0].partition("doctest")
            words = rest.lstrip(":").strip()
            if words.startswith("skip"):
                self.skip = words[4:].strip() or "no reason given"
            elif words.startswith("continue"):
                self.cont = True
            self.setup = directive[1:]
        self.parse(lines)

    def parse(self, lines):
        i = 0
        while i < len(lines):
            line = lines[i]
            if not line.startswith("$ "):
                raise ValueError(f"{self.path}:{self.line + i}: output before any command")
            cmd = [line[2:]]
            i += 1
            heredoc = re.search(r"<<-?\s*'?\"?(\w+)'?\"?", cmd[0])
            while cmd[-1].endswith("\\") and i < len(lines):
                cmd.append(lines[i])
                i += 1
            if heredoc:
                end = heredoc.group(1)
                while i < len(lines) and lines[i].strip() != end:
                    cmd.append(lines[i])
                    i += 1
                if i < len(lines):
                    cmd.append(lines[i])
                    i += 1
            out = []
            while i < len(lines) and not lines[i].startswith("$ "):
                out.append(lines[i])
                i += 1
            self.commands.append(("\n".join(cmd), out))

    def name(self):
        return f"{os.path.relpath(self.path, SRC)}:{self.line}"


def read_blocks(path):
    """The console blocks of a Markdown file with the doctest comment before each, if any."""
    text = open(path, encoding="utf-8").read().split("\n")
    blocks = []
    i = 0
    comment = None      # the lines of the last doctest comment, while only blanks follow it
    while i < len(text):
        line = text[i]
        if line.startswith("<!-- doctest"):
            body = [line[4:].strip()]
            while "-->" not in body[-1] and i + 1 < len(text):
                i += 1
                body.append(text[i])
            body[-1] = body[-1].split("-->")[0]
            if body[0].endswith("-->"):
                body[0] = body[0][:-3]
            comment = [body[0].strip()] + [b for b in body[1:]]
            if comment[-1].strip() == "":
                comment.pop()
            i += 1
            continue
        if line.strip() == "```console":
            start = i + 1
            j = start
            while j < len(text) and text[j].strip() != "```":
                j += 1
            blocks.append(Block(path, start + 1, text[start:j], comment))
            comment = None
            i = j + 1
            continue
        if line.strip() != "":
            comment = None
        i += 1
    return blocks


PRELUDE = r"""
exec 2>&1 </dev/null
set +e
start_supervisor() {
	jobq supervise "$@" 2>>sup.log &
	local i=0
	while [ "$(jq -r .pid jobq.db.runtime.json 2>/dev/null)" != "$!" ]; do
		i=$((i + 1)); [ $i -lt 400 ] || { echo "supervisor did not start:"; cat sup.log; return 1; }
		sleep 0.05
	done
}
wait_state() {
	local i=0
	while [ "$(sqlite3 -cmd '.timeout 5000' jobq.db "select state from jobs where id = $1")" != "$2" ]; do
		i=$((i + 1)); [ $i -lt 600 ] || { echo "job $1 is not $2"; return 1; }
		sleep 0.05
	done
}
__doc_token() { # DOC_TOKEN JOB_ID DB: the real token that DOC_TOKEN stands for
	local real
	real=$(sed -n "s/^$1 //p" .doctest-tokens 2>/dev/null)
	if [ -z "$real" ]; then
		real=$(sqlite3 -cmd '.timeout 5000' "$3" "select token from jobs where id = $2")
		echo "$1 ${real:-0}" >>.doctest-tokens
	fi
	echo "${real:-0}"
}
"""

MARK = "\x01DOCTEST"
RUNNING = []  # the chain's shell, while it runs: stopped if the test is interrupted


class Interrupted(Exception):
    pass


def on_signal(signum, frame):
    raise Interrupted(f"signal {signum}")


def rewrite_tokens(cmd):
    m = re.search(r"\b(?:heartbeat|complete|fail)\s+(\d+)", cmd)
    db = re.search(r"--db[ =](\S+)", cmd)
    if not m:
        return cmd
    return re.sub(r"--token\s+(\d{10,})",
                  lambda t: f'--token "$(__doc_token {t.group(1)} {m.group(1)} '
                            f'{db.group(1) if db else "jobq.db"})"', cmd)


def run_chain(chain, folder, env):
    """Run the blocks of a chain in one bash; returns [(block, [(cmd, want, got)], error)]."""
    script = [PRELUDE]
    for b, block in enumerate(chain):
        script.append(f"printf '\\n{MARK} setup {b}\\x01\\n'")
        if block.setup:
            script.append("set -e")
            script.extend(block.setup)
            script.append("set +e")
        script.append(f"printf '\\n{MARK} setup-done {b}\\x01\\n'")
        script.append("__rc=0")
        for c, (cmd, _) in enumerate(block.commands):
            script.append(f"printf '\\n{MARK} cmd {b} {c}\\x01\\n'")
            script.append("(exit $__rc)")
            script.append(rewrite_tokens(cmd))
            script.append("__rc=$?")
    script.append(f"printf '\\n{MARK} end\\x01\\n'")
    proc = subprocess.Popen(["bash", "-c", "\n".join(script)], cwd=folder, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)
    RUNNING.append(proc)
    # Read until the end marker, not until EOF: a supervisor started in the background keeps
    # the pipe open.
    raw, end, timed_out = b"", f"\n{MARK} end\x01\n".encode(), False
    deadline = time.monotonic() + CHAIN_TIMEOUT
    fd = proc.stdout.fileno()
    while end not in raw:
        left = deadline - time.monotonic()
        if left <= 0:
            timed_out = True
            break
        ready, _, _ = select.select([fd], [], [], left)
        if not ready:
            continue
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        raw += chunk
    stop_group(proc)
    RUNNING.remove(proc)
    proc.stdout.close()
    proc.wait()
    text = raw.decode("utf-8", "replace")
    segments = {}
    for part in text.split(f"\n{MARK} ")[1:]:
        key, _, body = part.partition("\x01\n")
        segments[key] = body
    results = []
    for b, block in enumerate(chain):
        if f"setup-done {b}" not in segments:
            why = "timed out" if timed_out else "its setup failed"
            results.append((block, [], f"{why}:\n{segments.get(f'setup {b}', text)}"))
            return results
        got = []
        for c, (cmd, want) in enumerate(block.commands):
            key = f"cmd {b} {c}"
            if key not in segments:
                results.append((block, got, f"timed out at '{cmd}'" if timed_out else
                                f"'{cmd}' did not run"))
                return results
            got.append((cmd, want, segments[key].split("\n")))
        results.append((block, got, None))
    return results


def stop_group(proc):
    """SIGTERM to what the chain started (a supervisor stops its jobs), SIGKILL after 20 s."""
    pgid = proc.pid
    try:
        os.killpg(pgid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        proc.poll()  # the shell itself, once a zombie, would keep the group alive
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def main(argv):
    if JOBQ is None:
        sys.exit("doctest.py: JOBQ must name the jobq binary")
    files = argv or [os.path.join(SRC, "README.md")] + sorted(
        os.path.join(SRC, "docs", f) for f in os.listdir(os.path.join(SRC, "docs"))
        if f.endswith(".md"))
    blocks = []
    for f in files:
        blocks.extend(read_blocks(f))
    if "--list" in sys.argv:
        for b in blocks:
            print(b.name(), "skip: " + b.skip if b.skip else "continue" if b.cont else "")
        return 0
    base = tempfile.mkdtemp(prefix="jobq-doctest.")
    bindir = os.path.join(base, "bin")
    os.mkdir(bindir)
    os.symlink(os.path.abspath(JOBQ), os.path.join(bindir, "jobq"))
    os.symlink(os.path.join(SRC, "contrib", "fake-llm"), os.path.join(bindir, "fake-llm"))
    passed = failed = skipped = commands = 0
    signal.signal(signal.SIGTERM, on_signal)  # meson's timeout: stop what runs, clean up
    try:
        # chains: a block and the "continue" blocks after it in the same file
        chains = []
        for b in blocks:
            if b.skip:
                print(f"skip {b.name()}: {b.skip}")
                skipped += 1
            elif b.cont and chains and chains[-1][0].path == b.path:
                chains[-1].append(b)
            else:
                chains.append([b])
        for n, chain in enumerate(chains):
            folder = os.path.join(base, f"q{n}")
            os.mkdir(folder)
            env = {k: v for k, v in os.environ.items()
                   if k not in ("JOBQ_DB", "JOBQ_CONFIG", "JOBQ_LOG_LEVEL", "JOURNAL_STREAM")}
            env.update(PATH=bindir + os.pathsep + os.environ.get("PATH", "/usr/bin:/bin"),
                       HOME=folder, LC_ALL="C", TZ="UTC", JOBQ_SRC=SRC, JOBQ_HOST="web-1")
            if os.environ.get("DOCTEST_VERBOSE"):
                print(f"run  {chain[0].name()} in {folder}", flush=True)
            results = run_chain(chain, folder, env)
            for block in chain[len(results):]:
                failed += 1
                print(f"FAIL {block.name()}\n  not run: a block before it in its chain failed")
            for block, got, error in results:
                bad = []
                for cmd, want, out in got:
                    commands += 1
                    w, g = normalise(want), normalise(out, folder)
                    if not matches(w, g):
                        bad.append(f"  $ {cmd}\n  expected (normalised):\n" +
                                   "".join(f"    |{x}\n" for x in w) +
                                   "  got (normalised):\n" +
                                   "".join(f"    |{x}\n" for x in g))
                if error:
                    bad.append("  " + error.replace("\n", "\n  "))
                if bad:
                    failed += 1
                    print(f"FAIL {block.name()}\n" + "".join(bad), flush=True)
                else:
                    passed += 1
                    print(f"ok   {block.name()} ({len(got)} commands)", flush=True)
    except (Interrupted, KeyboardInterrupt) as e:
        print(f"doctest: interrupted ({e or 'SIGINT'})")
        failed += 1
    finally:
        for proc in RUNNING:
            stop_group(proc)
        shutil.rmtree(base, ignore_errors=True)
    print(f"doctest: {passed} blocks passed, {failed} failed, {skipped} skipped; "
          f"{commands} commands compared")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main([a for a in sys.argv[1:] if not a.startswith("--")]))

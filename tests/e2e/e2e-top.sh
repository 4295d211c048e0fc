#!/usr/bin/env bash
# jobq top against a supervised database with running jobs: the plain snapshot when stdout is
# not a terminal (and --once), then the live view through a real pseudo-terminal
# (tests/e2e/ptyrun.py): the alternate screen, frames drawn over each other (cursor home, clear
# to end of line, clear to end of screen; never a full clear), refreshed as jobs end, q quits,
# and SIGTERM and ^C restore the terminal (its modes and the normal screen) before the exit.
source "$JOBQ_SRC/tests/e2e/lib.sh" || exit 1
source "$JOBQ_SRC/tests/e2e/lib-supervise.sh" || exit 1

D=$PWD
PTY=(python3 "$JOBQ_SRC/tests/e2e/ptyrun.py")
cat >jobq.json <<JSON
{"concurrency": {"global": 3, "resources": {"api": 3}, "types": {"hold": 2}},
 "types": {
  "ext": {},
  "hold": {"exec": ["sh", "-c", "while [ ! -e '$D/release' ]; do sleep 0.05; done"], "resources": ["api"]},
  "bad": {"exec": ["sh", "-c", "echo the cause >&2; exit 3"], "max_attempts": 1}}}
JSON
expect_code 0 jobq init
bad=$(jobq enqueue bad)
expect_code 0 timeout 60 "$JOBQ" supervise --drain
json_eq "$(jobq show --json "$bad")" .state failed
a=$(jobq enqueue hold --batch night)
b=$(jobq enqueue hold --batch night)
c=$(jobq enqueue hold --batch night)
start_supervisor jobq.db
wait_state jobq.db "$a" running
wait_state jobq.db "$b" running
workers=$(jq -r '.worker_pids | join(" ")' $(db_file jobq.db runtime.json))
# a job of an external worker
e=$(jobq enqueue ext)
expect_code 0 jobq claim --type ext

# Not a terminal: one plain snapshot, no escape sequences.
expect_code 0 jobq top
assert_not_contains "$OUT" $'\033' "plain snapshot"
for w in $workers; do assert_contains "$OUT" " $w " "worker $w"; done
grep -Eq "^ *[0-9]+ +$a +hold +default +1/3 +[0-9]+s +night$" <<<"$OUT" || fail "job $a's row: $OUT"
grep -Eq "^ *external +$e +ext +default +1/3 +[0-9]+s +-$" <<<"$OUT" || fail "external row: $OUT"
assert_eq "$(printf '%s\n' "$OUT" | grep -Ec "^ *[0-9]+ +- +idle +- +- +- +-$")" 1 "idle workers"
grep -Eq "^api +2 +3$" <<<"$OUT" || fail "pool row: $OUT"
grep -Eq "^hold +1 +2$" <<<"$OUT" || fail "queue row: $OUT"
grep -Eq "^night +0/3 +0 +0.0 +-$" <<<"$OUT" || fail "batch row: $OUT"
grep -Eq "^ *$bad +bad +[0-9]+s ago +exit status 3: the cause$" <<<"$OUT" || fail "failure row: $OUT"
assert_contains "$OUT" "supervisor: pid $SUP_PID, 3 workers, 3 running jobs"
expect_code 0 jobq top --once
assert_contains "$OUT" "night"
expect_code 64 jobq top extra

# A terminal: the live view. Two frames, then the jobs end then q.
expect_code 0 "${PTY[@]}" live.out 30 100 'wait:WORKER' 'wait:\x1b[H:2' 'send:q' -- "$JOBQ" top
json_eq "$OUT" .exit 0
json_eq "$OUT" .icanon true
json_eq "$OUT" .echo true
python3 - live.out "$a" <<'PY' || fail "live frames"
import re, sys
out = open(sys.argv[1], "rb").read().decode()
assert out.startswith("\x1b[?1049h"), "enters the alternate screen first"
assert out.endswith("\x1b[?25h\x1b[?1049l"), "leaves it, cursor shown, last: %r" % out[-40:]
assert "\x1b[2J" not in out and "\x1bc" not in out, "a full clear"
frames = out.split("\x1b[H")[1:]
assert len(frames) >= 2, "frames: %d" % len(frames)
for f in frames[:2]:
    assert f.rstrip("\x1b[?25h\x1b[?1049l").endswith("\x1b[J"), "frame ends with clear to end"
    lines = f.split("\r\n")
    assert all(l.endswith("\x1b[K") for l in lines[:-1]), "each line clears its end"
    assert all(len(re.sub(r"\x1b\[[0-9;?]*[a-zA-Z]", "", l)) < 100 for l in lines), "cut to the width"
    assert re.search(r"\s%s\s+hold\s" % sys.argv[2], f), "running job in the frame"
PY

# Refreshed as jobs end: frames with the jobs running, then ones with both workers idle.
expect_code 0 "${PTY[@]}" idle.out 30 100 'wait: hold ' "touch:$D/release" 'wait:idle:2' 'send:Q' -- "$JOBQ" top
json_eq "$OUT" .exit 0
wait_state jobq.db "$c" succeeded 30
[ "$(sql jobq.db "select count(*) from jobs where state = 'running' and type = 'hold'")" = 0 ] || fail "hold jobs still running"

# SIGTERM and ^C (SIGINT from the terminal) restore the terminal, then exit 128+N.
expect_code 0 "${PTY[@]}" term.out 30 100 'wait:WORKER' 'signal:TERM' -- "$JOBQ" top
json_eq "$OUT" .exit 143
json_eq "$OUT" .icanon true
json_eq "$OUT" .echo true
python3 -c 'import sys; d=open(sys.argv[1],"rb").read(); sys.exit(0 if d.endswith(b"\x1b[?1049l") else 1)' term.out ||
	fail "normal screen after SIGTERM"
expect_code 0 "${PTY[@]}" int.out 30 100 'wait:WORKER' 'send:\x03' -- "$JOBQ" top
json_eq "$OUT" .exit 130
json_eq "$OUT" .icanon true
python3 -c 'import sys; d=open(sys.argv[1],"rb").read(); sys.exit(0 if d.endswith(b"\x1b[?1049l") else 1)' int.out ||
	fail "normal screen after ^C"

stop_supervisor TERM
assert_eq "$SUP_RC" 0 "supervisor exit"
echo ok

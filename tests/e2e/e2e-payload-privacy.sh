#!/usr/bin/env bash
# What docs/configuration.md (exec) and docs/operations.md say of a payload's privacy: a
# {payload.KEY} in argv is on the command line, readable by every local user (ps, /proc/PID/
# cmdline); the documented alternatives, the payload on stdin (one field through jq, or saved
# to a private file), keep it off every command line.
source "$JOBQ_SRC/tests/e2e/lib.sh" || exit 1

secret="s3cret-$$-$RANDOM"
# Each handler writes what it got to got.JOBID, then waits for the test to have looked at the
# process table (the file 'go'). The stdin and file types are the recipes of
# docs/configuration.md word for word, with stand-ins for claude and my-tool.
cat >claude <<'EOF'
#!/bin/sh
# claude -p: the prompt from stdin
[ "$1" = -p ] || exit 64
cat >"got.$JOBQ_JOB_ID"
while [ ! -e go ]; do sleep 0.05; done
EOF
cat >my-tool <<'EOF'
#!/bin/sh
# my-tool --input FILE
[ "$1" = --input ] || exit 64
jq -r .prompt "$2" >"got.$JOBQ_JOB_ID"
stat -c %a "$2" >"mode.$JOBQ_JOB_ID"
printf '%s\n' "$2" >"path.$JOBQ_JOB_ID"
while [ ! -e go ]; do sleep 0.05; done
EOF
chmod +x claude my-tool
mkdir bin
ln -s "$PWD/claude" "$PWD/my-tool" bin/
export PATH="$PWD/bin:$PATH"
cat >jobq.json <<'EOF'
{"types": {
  "argv":  {"exec": ["sh", "-c", "printf '%s' \"$1\" >got.$JOBQ_JOB_ID; while [ ! -e go ]; do sleep 0.05; done", "sh", "{payload.prompt}"]},
  "stdin": {"exec": ["sh", "-c", "jq -r .prompt | exec claude -p"]},
  "file":  {"exec": ["sh", "-c", "f=$(mktemp) && trap 'rm -f \"$f\"' EXIT && cat >\"$f\" && my-tool --input \"$f\""]}
}}
EOF

# on_command_lines TEXT: is TEXT on the command line of any process this user can see? (Read
# with bash alone: a grep would carry TEXT on its own command line.)
on_command_lines() {
	local f line
	for f in /proc/[0-9]*/cmdline; do
		line=$(tr '\0' ' ' <"$f" 2>/dev/null) || continue
		[[ $line == *"$1"* ]] && return 0
	done
	return 1
}

spawn "$JOBQ" supervise
wait_for 20 test -e $(db_file jobq.db runtime.json)
for type in argv stdin file; do
	rm -f go
	# From a file: the producer's own command line must not carry it either.
	printf '{"prompt": "%s"}\n' "$secret" >payload.jsonl
	expect_code 0 jobq enqueue "$type" --jsonl payload.jsonl --json
	id=$(printf '%s' "$OUT" | jq -r .first_id)
	wait_for 20 test -s "got.$id"
	assert_eq "$(cat "got.$id")" "$secret" "what the $type handler got"
	if [ "$type" = argv ]; then
		on_command_lines "$secret" || fail "a {payload.KEY} in argv is not on the command line"
	else
		! on_command_lines "$secret" || fail "the $type handler has the payload on a command line"
	fi
	[ "$type" != file ] || assert_eq "$(cat "mode.$id")" 600 "mode of the payload file"
	touch go
	wait_until 20 '[ "$(sql jobq.db "SELECT state FROM jobs WHERE id = '"$id"'")" = succeeded ]'
	# The private copy is gone with the job.
	[ "$type" != file ] || [ ! -e "$(cat "path.$id")" ] || fail "the payload file was left"
done

echo ok

#!/usr/bin/env bash
# The help: `jobq help` and `jobq --help` list every command; `jobq help COMMAND` and
# `jobq COMMAND --help` print the same usage with examples, on stdout, exit 0; an unknown
# command gives the did-you-mean error, exit 64. Nothing touches a database.
source "$JOBQ_SRC/tests/e2e/lib.sh" || exit 1
sqlite_only "no database involved, the same on both backends (runs once)"

expect_code 0 jobq help --commands
mapfile -t commands <<<"$OUT"
[ "${#commands[@]}" -ge 18 ] || fail "help --commands lists ${#commands[@]} commands: $OUT"
for c in init enqueue supervise reload claim heartbeat complete fail status list show wait \
	cancel retry pause resume prune help; do
	grep -qx -- "$c" <<<"$(printf '%s\n' "${commands[@]}")" || fail "help --commands misses '$c'"
done
! grep -qx worker <<<"$(printf '%s\n' "${commands[@]}")" || fail "help --commands lists the hidden worker"

# The command list: the same from `jobq help` and `jobq --help`, every command in it.
expect_code 0 jobq help
[ -z "$ERR" ] || fail "jobq help wrote to stderr: $ERR"
list=$OUT
expect_code 0 jobq --help
assert_eq "$OUT" "$list" "jobq --help against jobq help"
for c in "${commands[@]}"; do
	grep -Eq "^  $c( |\$)" <<<"$list" || fail "jobq help does not list '$c'"
done
assert_not_contains "$list" "Other:" "jobq help (a command without a help entry)"
# Without a command: the same list on stderr, exit 64.
expect_code 64 jobq
assert_eq "$ERR" "$list" "jobq without a command"

# Every command: one help, whichever way it is asked for, with its usage and examples.
for c in "${commands[@]}"; do
	expect_code 0 jobq help "$c"
	[ -z "$ERR" ] || fail "help $c wrote to stderr: $ERR"
	help=$OUT
	assert_contains "$help" "usage: jobq $c" "help $c"
	assert_contains "$help" "Exit: 0" "help $c"
	examples=$(printf '%s\n' "$help" | sed -n '/^Examples:$/,$p' | grep -c "^  .*jobq $c\b" || true)
	[ "$examples" -ge 1 ] && [ "$examples" -le 3 ] ||
		fail "help $c: $examples examples of 'jobq $c' under 'Examples:'"
	expect_code 0 jobq "$c" --help
	assert_eq "$OUT" "$help" "jobq $c --help against jobq help $c"
	expect_code 0 jobq "$c" -h
	assert_eq "$OUT" "$help" "jobq $c -h against jobq help $c"
	# Every option the usage names is explained under Options: (or is a common one).
	for opt in $(printf '%s\n' "$help" | sed -n '/^usage:/,/^$/p' | grep -oE -- '--[a-z][a-z-]*' | sort -u); do
		case $opt in --json | --help | --quiet | --verbose) continue ;; esac
		grep -qE -- "^ +(-[a-z], )?$opt\b" <<<"$(sed -n '/^Options:$/,/^$/p' <<<"$help")" ||
			fail "help $c: $opt is in the usage but not under Options:"
	done
done

# Global options before help, and help's own --help.
expect_code 0 jobq -q --db elsewhere.db help status
assert_contains "$OUT" "usage: jobq status"
expect_code 0 jobq help --help
assert_contains "$OUT" "usage: jobq help [COMMAND]"

# Unknown commands: the did-you-mean error, exit 64, nothing on stdout.
expect_code 64 jobq help stauts
assert_eq "$ERR" "jobq: unknown command 'stauts' (did you mean 'status'?)
Try 'jobq --help' for more information." "help stauts"
[ -z "$OUT" ] || fail "help stauts printed on stdout: $OUT"
expect_code 64 jobq help frobnicate
assert_eq "$ERR" "jobq: unknown command 'frobnicate'
Try 'jobq --help' for more information." "help frobnicate"
expect_code 64 jobq help worker
assert_contains "$ERR" "unknown command 'worker'"
expect_code 64 jobq help status list
assert_contains "$ERR" "one command at a time"
expect_code 64 jobq help --commands status
expect_code 64 jobq help --frob
assert_contains "$ERR" "unknown option '--frob'"
expect_code 64 jobq stauts
assert_contains "$ERR" "unknown command 'stauts' (did you mean 'status'?)"

[ ! -e jobq.db ] && [ ! -e elsewhere.db ] || fail "the help created a database"
echo ok

#!/usr/bin/env bash
# What an attempt leaves for people (issue 12, items 2, 4 and 8): the error is one line, the
# cause (the last meaningful line of stderr, not its first); the tail of stderr is kept for
# every outcome, a succeeded job's too; a result cut at output_max is flagged (`truncated`) and
# never passed off as whole JSON; a command not found is logged as an error, naming the PATH.
source "$JOBQ_SRC/tests/e2e/lib.sh" || exit 1

cat >jobq.json <<'JSON'
{
  "concurrency": {"global": 1},
  "output_max": 9,
  "types": {
    "llm": {"exec": ["sh", "-c", "echo \"fake-claude: starting job $JOBQ_JOB_ID ...\" >&2; echo 'Error: rate limit exceeded' >&2; echo '[##########] 100%' >&2; echo '=====' >&2; exit 1"], "max_attempts": 1},
    "chatty": {"exec": ["sh", "-c", "echo 'warning: model is deprecated' >&2; echo '{\"ok\":1}'"]},
    "number": {"exec": ["sh", "-c", "echo 123456789012"]},
    "doc": {"exec": ["sh", "-c", "echo '{\"answer\": \"a long one\"}'"]},
    "nocmd": {"exec": ["no-such-command-jobq"], "max_attempts": 1}
  }
}
JSON
llm=$(jobq enqueue llm)
chatty=$(jobq enqueue chatty)
number=$(jobq enqueue number)
doc=$(jobq enqueue doc)
nocmd=$(jobq enqueue nocmd)
expect_code 0 timeout 30 "$JOBQ" supervise --drain
log=$ERR

# Item 2: the cause, in the record, in list, in the log.
j=$(jobq show --json "$llm")
json_eq "$j" .state failed
json_eq "$j" .error "exit status 1: Error: rate limit exceeded"
json_eq "$j" .stderr "fake-claude: starting job $llm ...
Error: rate limit exceeded
[##########] 100%
====="
assert_contains "$(jobq list --state failed --type llm)" "exit status 1: Error: rate limit exceeded"
assert_contains "$log" "info: job $llm: attempt failed: exit status 1: Error: rate limit exceeded"
assert_not_contains "$log" "starting job $llm"
# show prints the tail, every line of it, indented
assert_contains "$(jobq show "$llm")" "stderr: fake-claude: starting job $llm ...
  Error: rate limit exceeded"

# Item 2: a succeeded job keeps its stderr (it used to be dropped).
j=$(jobq show --json "$chatty")
json_eq "$j" .state succeeded
json_eq "$j" .stderr "warning: model is deprecated"
json_eq "$j" .truncated false
json_eq "$j" .result.ok 1

# Item 4: a result over output_max (9 bytes) is flagged, kept as text, warned about.
j=$(jobq show --json "$number")
json_eq "$j" .state succeeded
json_eq "$j" .truncated true
json_eq "$j" '.result | type' string   # "12345678" parses as a number: not a whole result
json_eq "$j" .result 123456789
j=$(jobq show --json "$doc")
json_eq "$j" .truncated true
json_eq "$j" '.result | type' string
json_eq "$j" .result '{"answer"'
assert_contains "$(jobq show "$doc")" "truncated: yes"
assert_contains "$(jobq show "$chatty")" "truncated: no"
assert_contains "$log" "warn: job $number: result cut at output_max (9 bytes)"
assert_contains "$(sql jobq.db "select truncated from jobs where id = $doc")" 1
json_eq "$(jobq list --json --type doc)" '.[0].truncated' true
# a retry starts afresh
jobq retry "$llm" >/dev/null
json_eq "$(jobq show --json "$llm")" .stderr null

# Item 8: a command that is not there is a setup error, logged as such, with the PATH searched.
json_eq "$(jobq show --json "$nocmd")" .exit_code 127
assert_contains "$(jobq show --json "$nocmd" | jq -r .error)" "exec 'no-such-command-jobq': command not found in PATH ($PATH)"
assert_contains "$log" "error: job $nocmd: attempt failed: exec 'no-such-command-jobq': command not found"
echo ok

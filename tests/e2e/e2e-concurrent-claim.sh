#!/usr/bin/env bash
# Four concurrent external claimers over a few hundred jobs: no job is claimed twice, every job
# finishes, and no limit is ever exceeded (sampled from the database while they run).
source "$JOBQ_SRC/tests/e2e/lib.sh" || exit 1

cat >jobq.json <<'JSON'
{"concurrency": {"global": 6, "types": {"a": 2, "b": 3}, "resources": {"p": 2}},
 "types": {"c": {"resources": ["p"]}, "d": {}}}
JSON
{
	for i in $(seq 1 80); do echo "{\"i\":$i}"; done
} >items.jsonl
for t in a b c d; do
	jobq enqueue "$t" --batch conc --jsonl items.jsonl >/dev/null
done
total=320
assert_eq "$(sql jobq.db 'select count(*) from jobs')" $total

# claim_one N: claim a job; sets CLAIMED="id token" (empty when nothing was claimable).
claim_one() {
	local n=$1 out rc
	CLAIMED=
	while :; do
		set +e
		out=$("$JOBQ" claim 2>>"err.$n")
		rc=$?
		set -e
		[ "$rc" -eq 75 ] && continue # locked: try again
		[ "$rc" -eq 1 ] && [ "$out" = null ] && return 0
		[ "$rc" -eq 0 ] || { echo "claim exited $rc: $out" >>"bad.$n"; return 1; }
		break
	done
	[[ $out =~ \"id\":([0-9]+) ]] || { echo "no id in $out" >>"bad.$n"; return 1; }
	CLAIMED=${BASH_REMATCH[1]}
	[[ $out =~ \"type\":\"([a-z]+)\" ]] || { echo "no type in $out" >>"bad.$n"; return 1; }
	echo "$CLAIMED ${BASH_REMATCH[1]}" >>"claims.$n"
	[[ $out =~ \"token\":([0-9]+) ]] || { echo "no token in $out" >>"bad.$n"; return 1; }
	CLAIMED="$CLAIMED ${BASH_REMATCH[1]}"
}

# complete_one N "id token"
complete_one() {
	local n=$1 tries=0
	until "$JOBQ" -q complete "${2% *}" --token "${2#* }" --result "{\"by\":$n}" 2>>"err.$n"; do
		tries=$((tries + 1))
		[ "$tries" -lt 20 ] || { echo "complete $2 failed" >>"bad.$n"; return 1; }
	done
}

# worker N: claim up to two jobs, complete them, until nothing is queued or running.
worker() {
	local n=$1 j1 j2
	: >"claims.$n"
	while :; do
		claim_one "$n" || return 1
		j1=$CLAIMED
		if [ -z "$j1" ]; then
			[ "$(sql jobq.db "select count(*) from jobs where state in ('queued', 'running')")" -eq 0 ] &&
				break
			sleep 0.01
			continue
		fi
		claim_one "$n" || return 1
		j2=$CLAIMED
		complete_one "$n" "$j1" || return 1
		[ -z "$j2" ] || complete_one "$n" "$j2" || return 1
	done
}

# sampler: every few milliseconds, the running jobs by type must respect every limit.
sampler() {
	local row
	while [ ! -e done.flag ]; do
		row=$(sql jobq.db "select count(*),
			count(CASE WHEN type = 'a' THEN 1 END), count(CASE WHEN type = 'b' THEN 1 END),
			count(CASE WHEN type = 'c' THEN 1 END) from jobs where state = 'running'")
		IFS='|' read -r all a b c <<<"$row"
		if [ "$all" -gt 6 ] || [ "$a" -gt 2 ] || [ "$b" -gt 3 ] || [ "$c" -gt 2 ]; then
			echo "limit exceeded: running all=$all a=$a b=$b c=$c" >>violations
		fi
		echo "$all" >>samples
	done
}

spawn sampler
sampler_pid=$SPAWNED
pids=()
for n in 1 2 3 4; do
	spawn worker "$n"
	pids+=("$SPAWNED")
done
for pid in "${pids[@]}"; do
	wait "$pid" || fail "worker $pid failed: $(cat bad.* 2>/dev/null)"
done
touch done.flag
wait "$sampler_pid" || true

[ ! -e violations ] || fail "$(head -5 violations)"
cat claims.* >all-claims
assert_eq "$(wc -l <all-claims)" $total "claims"
assert_eq "$(cut -d' ' -f1 all-claims | sort -n | uniq -d | wc -l)" 0 "jobs claimed twice"
assert_eq "$(sql jobq.db "select count(*) from jobs where state = 'succeeded'")" $total "succeeded"
assert_eq "$(sql jobq.db "select count(*) from jobs where attempts != 1")" 0 "jobs with attempts != 1"
for n in 1 2 3 4; do
	[ -s "claims.$n" ] || fail "worker $n claimed nothing"
done
# The limits were reached, not only respected.
[ "$(sort -n samples | tail -1)" -ge 3 ] || fail "never more than $(sort -n samples | tail -1) running"
expect_code 0 jobq wait --batch conc --json
json_eq "$OUT" .succeeded $total
expect_code 0 jobq status --json
json_eq "$OUT" .counts.succeeded $total
json_eq "$OUT" .counts.running 0

echo ok

#!/usr/bin/env bash
# Schedules through the real supervisor, on the real clock: an every-2s schedule enqueues one job
# per tick, a restart neither repeats nor loses a tick, missed ticks (the supervisor down) follow
# "missed"; bad schedules exit 78 naming the schedule and the field; jobq schedules shows them.
source "$JOBQ_SRC/tests/e2e/lib.sh" || exit 1
source "$JOBQ_SRC/tests/e2e/lib-supervise.sh" || exit 1

# Bad configurations: exit 78, the message names the schedule and the field.
bad() {
	printf '{"types": {"poll": {}}, "schedules": {"s1": %s}}' "$1" >bad.json
	expect_code 78 jobq --config bad.json schedules
	assert_contains "$ERR" "$2"
	expect_code 78 jobq --db bad.db --config bad.json supervise
	assert_contains "$ERR" "$2"
}
bad '{"cron": "0 24 * * *", "type": "poll"}' "schedules.s1.cron: field 2 (hour): 24 is out of range 0-23"
bad '{"cron": "0 2 30 2 *", "type": "poll"}' "schedules.s1.cron: '0 2 30 2 *' never matches"
bad '{"cron": "0 2 * * *", "timezone": "Mars/Olympus", "type": "poll"}' "schedules.s1.timezone: unknown time zone 'Mars/Olympus'"
bad '{"cron": "0 2 * * *", "timezone": "../../etc/passwd", "type": "poll"}' "schedules.s1.timezone: unknown time zone"
bad '{"every": "500ms", "type": "poll"}' "schedules.s1.every: must be at least 1s"
bad '{"every": "1m", "cron": "* * * * *", "type": "poll"}' "schedules.s1: needs exactly one of"
bad '{"every": "1m", "type": "nope"}' "schedules.s1.type: unknown type 'nope'"
bad '{"every": "1m", "type": "poll", "missed": "sometimes"}' "schedules.s1.missed: must be"
bad '{"every": "1m", "type": "poll", "missed_max": 0}' "schedules.s1.missed_max: must be"
bad '{"every": "1m", "type": "poll", "colour": 1}' "schedules.s1: unknown key 'colour'"

config() {
	cat >jobq.json <<JSON
{"types": {"poll": {"builtin": "noop"}, "enrich": {}},
 "schedules": {"poll": {"every": "2s", "type": "poll", "payload": {"n": 1},
                        "missed": "$1", "missed_after": "1s", "missed_max": 2},
               "nightly": {"cron": "0 2 * * *", "timezone": "Europe/Paris", "type": "enrich"}}}
JSON
}
# The tick times (ms) of the poll jobs, from their unique keys, in order.
ticks() {
	if on_pg; then
		sql jobq.db "select cast(round(extract(epoch from substr(unique_key, 15)::timestamptz) * 1000) as bigint)
		             from jobs where type = 'poll' order by 1"
	else
		sql jobq.db "select cast(round((julianday(substr(unique_key, 15)) - 2440587.5) * 86400000) as integer)
		             from jobs where type = 'poll' order by 1"
	fi
}
polls() { sql jobq.db "select count(*) from jobs where type = 'poll'"; }
# gap LAST END: how many poll jobs stand for ticks in (LAST, END].
gap() { ticks | awk -v a="$1" -v b="$2" '$1 > a && $1 <= b { n++ } END { print n + 0 }'; }
no_duplicates() {
	assert_eq "$(sql jobq.db "select count(*) - count(distinct unique_key) from jobs where type = 'poll'")" 0 "duplicate ticks"
}
# Every tick from the first to the last is there once, 2 s apart.
consecutive() {
	local prev="" t
	for t in $(ticks); do
		[ -z "$prev" ] || assert_eq "$((t - prev))" 2000 "ticks $prev and $t"
		prev=$t
	done
}
now_ms() { date +%s%3N; }

config skip
start_supervisor jobq.db
wait_until 10 '[ "$(polls)" -ge 3 ]'
no_duplicates
consecutive
json=$(jobq schedules --json)
json_eq "$json" '.[0].name' poll
json_eq "$json" '.[0].every' 2s
json_eq "$json" '.[1].cron' "0 2 * * *"
json_eq "$json" '.[1].timezone' Europe/Paris
json_eq "$json" '.[1].last_tick' null
next=$(printf '%s' "$json" | jq -r '.[1].next_tick')
assert_eq "$(TZ=Europe/Paris date -d "$next" +%H:%M:%S)" "02:00:00" "nightly's next tick on Paris time"
expect_code 0 jobq schedules
assert_contains "$OUT" "cron 0 2 * * *"
assert_contains "$OUT" "every 2s"
assert_eq "$(sql jobq.db "select payload from jobs where type = 'poll' limit 1")" '{"n":1}'
expect_code 0 jobq status
assert_contains "$OUT" "schedules: 2, next: poll at "

# A quick restart: no tick twice, none lost.
stop_supervisor TERM
start_supervisor jobq.db
before=$(polls)
wait_until 10 '[ "$(polls)" -ge $((before + 2)) ]'
no_duplicates
consecutive

# down MISSED SECONDS: stop the supervisor, switch to "missed": MISSED, stay down SECONDS, start
# again and wait for the first tick after; N gets the jobs for the ticks of the downtime.
down() {
	stop_supervisor TERM
	config "$1"
	local last down_end
	last=$(ticks | tail -1)
	sleep "$2"
	down_end=$(now_ms)
	start_supervisor jobq.db
	wait_until 10 '[ "$(ticks | tail -1)" -gt '"$down_end"' ]'
	N=$(gap "$last" "$down_end")
	no_duplicates
}

# "skip": the missed ticks get no job (the newest may still be on time).
down skip 5
[ "$N" -le 1 ] || fail "skip: $N jobs for the ticks missed while down"
grep -q 'missed ticks\? skipped ("missed": "skip")' jobq.db.log || fail "skip: not logged"
# "once": one job stands for all the ticks missed.
down once 5
assert_eq "$N" 1 "once: jobs for the ticks missed while down"
# "all", at most missed_max (2) of the missed ticks, the newest, and an on-time one maybe.
down all 7
[ "$N" -ge 2 ] && [ "$N" -le 3 ] || fail "all: $N jobs for the ticks missed while down (want 2, or 3 with one on time)"
grep -q 'missed ticks\? skipped ("missed": "all")' jobq.db.log || fail "all: the skipped ticks are not logged"
stop_supervisor TERM
assert_eq "$SUP_RC" 0
echo ok

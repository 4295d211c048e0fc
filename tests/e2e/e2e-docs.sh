#!/usr/bin/env bash
# The documentation matches the program (issue 12, item 9): every console example of README.md
# and docs/*.md runs and prints what it shows (tests/e2e/doctest.py: how examples are run and
# what is normalised); the JSON outlines of `status --help`, `show --help` and `fail --help`
# name every key and value the real output has; the systemd units pass systemd-analyze verify
# and their install comments create a folder before putting a file in it.
source "$JOBQ_SRC/tests/e2e/lib.sh" || exit 1
sqlite_only "the documentation's examples use SQLite files in a folder"

# 1. The console examples.
set +e
python3 "$JOBQ_SRC/tests/e2e/doctest.py" >doctest.out 2>&1
rc=$?
set -e
cat doctest.out
[ "$rc" -eq 0 ] || fail "docs examples drifted (above)"
grep -q '^doctest: [1-9][0-9]* blocks passed, 0 failed' doctest.out || fail "no example ran"

# 2. Help outlines against real output.
cat >jobq.json <<'JSON'
{"concurrency": {"resources": {"pool": 2}}, "types": {"t": {}}}
JSON
jobq enqueue t '{}' --batch b >/dev/null
jobq pause --resource pool --for 1h --reason r >/dev/null
help=$(jobq status --help)
keys=$(jobq status --batch b --json | jq -r '
	(keys[]), (.supervisor | keys[]), (.resources[] | keys[]), (.paused[] | keys[])' | sort -u)
for k in $keys; do
	assert_contains "$help" "\"$k\"" "status --help outline"
done
help=$(jobq show --help)
for k in $(jobq show 1 --json | jq -r 'keys[]'); do
	# (a here-string: with pipefail, grep -q quitting at 'id' could leave printf dying of SIGPIPE)
	grep -qw -- "$k" <<<"$help" || fail "show --help does not name the key '$k'"
done
help=$(jobq fail --help)
for state in queued failed cancelled; do
	assert_contains "$help" "\"$state\"" "fail --help states"
done

# 3. The systemd units: valid, and installed in an order that works.
for unit in jobq.service jobq-user.service; do
	src="$JOBQ_SRC/contrib/$unit"
	# a folder before a file into it; daemon-reload before enable
	grep '^#   ' "$src" >steps
	dir_line=$(grep -n -m1 -E 'install -d|mkdir' steps | cut -d: -f1)
	json_line=$(grep -n -m1 'jobq.json' steps | cut -d: -f1)
	reload_line=$(grep -n -m1 'daemon-reload' steps | cut -d: -f1)
	enable_line=$(grep -n -m1 'enable --now' steps | cut -d: -f1)
	[ -n "$dir_line" ] && [ "$dir_line" -lt "$json_line" ] || fail "$unit: the folder must be made before jobq.json goes in"
	[ "$reload_line" -lt "$enable_line" ] || fail "$unit: daemon-reload must come before enable"
	if command -v systemd-analyze >/dev/null; then
		sed "s|/usr/local/bin/jobq|$JOBQ|" "$src" >"$unit"
		mkdir -p -m 0700 xdg
		if [ "$unit" = jobq-user.service ]; then
			out=$(XDG_RUNTIME_DIR=$PWD/xdg systemd-analyze --user verify "./$unit" 2>&1) ||
				fail "$unit: $out"
		else
			out=$(systemd-analyze verify "./$unit" 2>&1) || fail "$unit: $out"
		fi
		[ -z "$out" ] || fail "systemd-analyze verify $unit: $out"
	fi
done
echo ok

#!/usr/bin/env bash
# The completions of bash (contrib/jobq.bash), zsh (contrib/_jobq) and fish (contrib/jobq.fish),
# run by the real shells: they parse; at `jobq ` each offers exactly the commands the binary
# knows (`jobq help --commands`); each offers every option of each command's help; and they
# complete states, job ids of the right states from a real database, and type names from the
# configuration, without creating a database where there is none.
source "$JOBQ_SRC/tests/e2e/lib.sh" || exit 1
sqlite_only "bash's completion reads job ids from the SQLite file with sqlite3"

for tool in zsh fish jq; do
	command -v "$tool" >/dev/null || fail "$tool is not installed (scripts/deps.sh test)"
done
bash_file=$JOBQ_SRC/contrib/jobq.bash
zsh_file=$JOBQ_SRC/contrib/_jobq
fish_file=$JOBQ_SRC/contrib/jobq.fish

bash -n "$bash_file" || fail "bash -n $bash_file"
zsh -n "$zsh_file" || fail "zsh -n $zsh_file"
fish --no-execute "$fish_file" || fail "fish --no-execute $fish_file"

# meson installs them where each shell looks for them.
installed=$(meson introspect --installed "$JOBQ_BUILD") || fail "meson introspect --installed"
for f in jobq.bash:/bash-completion/completions/jobq _jobq:/zsh/site-functions/_jobq \
	jobq.fish:/fish/vendor_completions.d/jobq.fish; do
	jq -e --arg f "$JOBQ_SRC/contrib/${f%%:*}" --arg to "${f#*:}" '.[$f] // "" | endswith($to)' \
		<<<"$installed" >/dev/null || fail "meson does not install contrib/${f%%:*} into ...${f#*:}"
done

# The shells find this jobq, and keep their history and settings here.
bindir=$(dirname "$JOBQ")
export PATH="$bindir:$PATH" HOME=$TEST_DIR XDG_CONFIG_HOME=$TEST_DIR/.config \
	XDG_DATA_HOME=$TEST_DIR/.local/share
[ "$(type -P jobq)" = "$JOBQ" ] || fail "jobq in PATH is $(type -P jobq), not $JOBQ"

# complete_SHELL 'COMMAND LINE': the sorted matches offered at its end.
complete_bash() {
	(
		set +eu
		# shellcheck source=/dev/null
		source "$bash_file"
		read -ra COMP_WORDS <<<"$1"
		[[ $1 == *" " ]] && COMP_WORDS+=("")
		COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
		_jobq
		printf '%s\n' "${COMPREPLY[@]}"
	) | sort -u | sed '/^$/d'
}
complete_zsh() {
	timeout 120 zsh -f "$JOBQ_SRC/tests/e2e/complete.zsh" "$JOBQ_SRC/contrib" "$1" | sort -u | sed '/^$/d'
}
complete_fish() {
	fish --no-config -c "source $fish_file; complete -C '$1'" | cut -f1 | sort -u | sed '/^$/d'
}
# expect_matches SHELL 'COMMAND LINE' WORD...: exactly these matches.
expect_matches() {
	local sh=$1 line=$2 got want
	shift 2
	got=$(complete_"$sh" "$line")
	want=$(printf '%s\n' "$@" | sort -u | sed '/^$/d')
	[ "$got" = "$want" ] || fail "$sh: '$line' offers [$(echo $got)], expected [$(echo $want)]"
}
# expect_offers SHELL 'COMMAND LINE' WORD...: at least these.
expect_offers() {
	local sh=$1 line=$2 got w
	shift 2
	got=$(complete_"$sh" "$line")
	for w in "$@"; do
		grep -qxF -- "$w" <<<"$got" || fail "$sh: '$line' does not offer '$w' (offers: $(echo $got))"
	done
}

mapfile -t commands < <(jobq help --commands)
[ "${#commands[@]}" -ge 18 ] || fail "jobq help --commands: ${commands[*]}"

# A folder without a database: nothing is created by completing.
mkdir empty
(cd empty && for sh in bash zsh fish; do
	expect_matches $sh "jobq " "${commands[@]}"
	expect_matches $sh "jobq help " "${commands[@]}"
	expect_matches $sh "jobq cancel " ""
done)
[ -z "$(ls -A empty)" ] || fail "completing created files: $(ls -A empty)"

# Every option of every command, as its help names them.
for c in "${commands[@]}"; do
	help=$(jobq help "$c")
	# (none for a command without options of its own, such as metrics)
	opts=$( (printf '%s\n' "$help" | sed -n '/^usage:/,/^$/p'; printf '%s\n' "$help" | sed -n '/^Options:$/,/^$/p' | grep -E '^ +(-[a-z], )?--' || true) |
		{ grep -oE -- '--[a-z][a-z-]*' || true; } | sort -u)
	for sh in bash zsh fish; do
		# shellcheck disable=SC2086
		expect_offers $sh "jobq $c --" --json --quiet --verbose --help $opts
	done
done

# Values from a real database and configuration.
cat >jobq.json <<'JSON'
{"concurrency": {"global": 3, "resources": {"cpu": 4, "gpu": 1}}, "types": {"enrich": {}, "research": {"max_attempts": 1}}}
JSON
jobq enqueue enrich '{}' >/dev/null              # 1 queued
jobq enqueue research '{}' >/dev/null            # 2 running
jobq claim --type research >/dev/null
jobq enqueue research '{}' >/dev/null            # 3 failed
t=$(jobq claim --type research | jq .token)
jobq fail 3 --token "$t" --error boom >/dev/null
jobq enqueue enrich '{}' >/dev/null              # 4 cancelled
jobq cancel 4 >/dev/null
for sh in bash zsh fish; do
	expect_matches $sh "jobq list --state " queued running succeeded failed cancelled
	expect_matches $sh "jobq enqueue " enrich research
	expect_matches $sh "jobq pause --resource " cpu gpu
	expect_matches $sh "jobq complete " 2
	expect_matches $sh "jobq --db jobq.db heartbeat " 2
done
for sh in zsh fish; do
	expect_matches $sh "jobq cancel " 1 2
	expect_matches $sh "jobq retry " 3 4
	expect_matches $sh "jobq show " 1 2 3 4
	expect_matches $sh "jobq wait " 1 2
done
# bash reads the ids with sqlite3 (read-only): the running ones for cancel.
expect_matches bash "jobq cancel " 2
# Another database named on the command line: its jobs, not these.
mkdir other
jobq --db other/q.db enqueue enrich '{}' >/dev/null
for sh in zsh fish; do
	expect_matches $sh "jobq --db other/q.db cancel " 1
done
echo ok

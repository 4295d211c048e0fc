# bash completion for jobq                                                -*- shell-script -*-
#
# Install: meson install puts it in bash-completion's completions folder as `jobq`; or copy it to
# ~/.local/share/bash-completion/completions/jobq, or `source contrib/jobq.bash`. zsh and fish:
# contrib/_jobq and contrib/jobq.fish.
#
# Completes the commands, their options, and the values that have a known set: states,
# durations (as examples), files. When jq is installed, type names and resource pools come from
# the configuration jobq itself would read (--config, $JOBQ_CONFIG, else jobq.json beside the
# database). When sqlite3 is installed, batch names and the ids of running jobs come from the
# database (--db, $JOBQ_DB, else ./jobq.db), opened read-only.

# shellcheck disable=SC2207 # COMPREPLY=($(compgen ...)) is the usual idiom

_jobq_commands="init migrate enqueue supervise reload status list show wait cancel retry pause resume prune logs top metrics schedules claim heartbeat complete fail help"

# What the value of option $2 of command $1 is: type, pool, batch, states-list, states-retry,
# states-prune, duration, time, jsonl, file, text; nothing when the option takes no value.
_jobq_value_kind()
{
	case $1:$2 in
	global:--db) echo file ;;
	global:--config) echo file ;;
	enqueue:-n | enqueue:--namespace) echo text ;;
	enqueue:-p | enqueue:--priority) echo text ;;
	enqueue:-d | enqueue:--delay) echo duration ;;
	enqueue:--run-at) echo time ;;
	enqueue:-m | enqueue:--max-attempts) echo text ;;
	enqueue:-t | enqueue:--timeout) echo duration ;;
	enqueue:-r | enqueue:--resource) echo pool ;;
	enqueue:-u | enqueue:--unique) echo text ;;
	enqueue:--unique-for) echo duration ;;
	init:--db) echo file ;;
	migrate:--db) echo file ;;
	enqueue:-b | enqueue:--batch) echo batch ;;
	enqueue:--jsonl) echo jsonl ;;
	enqueue:-a | enqueue:--after) echo text ;;
	enqueue:--on-batch-done) echo type ;;
	supervise:-w | supervise:--workers) echo text ;;
	status:-b | status:--batch) echo batch ;;
	list:-s | list:--state) echo states-list ;;
	list:-t | list:--type) echo type ;;
	list:-n | list:--namespace) echo text ;;
	list:-b | list:--batch) echo batch ;;
	list:-l | list:--limit) echo text ;;
	wait:-b | wait:--batch) echo batch ;;
	wait:-t | wait:--timeout) echo duration ;;
	cancel:-t | cancel:--type) echo type ;;
	cancel:-n | cancel:--namespace) echo text ;;
	cancel:-b | cancel:--batch) echo batch ;;
	retry:-t | retry:--type) echo type ;;
	retry:-n | retry:--namespace) echo text ;;
	retry:-b | retry:--batch) echo batch ;;
	retry:-s | retry:--state) echo states-retry ;;
	pause:-r | pause:--resource) echo pool ;;
	pause:--until) echo time ;;
	pause:--for) echo duration ;;
	pause:--reason) echo text ;;
	resume:-r | resume:--resource) echo pool ;;
	prune:-o | prune:--older-than) echo duration ;;
	prune:-s | prune:--state) echo states-prune ;;
	prune:-b | prune:--batch) echo batch ;;
	claim:-t | claim:--type) echo type ;;
	claim:-l | claim:--lease) echo duration ;;
	heartbeat:--token) echo text ;;
	heartbeat:-l | heartbeat:--lease) echo duration ;;
	complete:--token) echo text ;;
	complete:--result) echo text ;;
	complete:--tokens) echo text ;;
	fail:--token) echo text ;;
	fail:--error) echo text ;;
	fail:--tokens) echo text ;;
	esac
}

_jobq_options()
{
	case $1 in
	enqueue) echo "--namespace --priority --delay --run-at --max-attempts --timeout --resource --unique --unique-for --batch --after --on-batch-done --jsonl --no-envelope" ;;
	init) echo "--db" ;;
	migrate) echo "--db" ;;
	supervise) echo "--workers --drain" ;;
	status) echo "--batch" ;;
	list) echo "--state --type --namespace --batch --limit --jsonl" ;;
	wait) echo "--batch --progress --timeout" ;;
	cancel) echo "--type --namespace --batch" ;;
	retry) echo "--batch --type --namespace --state" ;;
	pause) echo "--all --resource --until --for --reason" ;;
	resume) echo "--all --resource" ;;
	prune) echo "--older-than --state --batch" ;;
	claim) echo "--type --lease" ;;
	heartbeat) echo "--token --lease" ;;
	complete) echo "--token --result --tokens" ;;
	fail) echo "--token --error --temporary --tokens" ;;
	logs) echo "--follow --stderr" ;;
	top) echo "--once" ;;
	help) echo "--commands" ;;
	esac
}

# The value of global option $1 (--db, --config) on the command line, if given.
_jobq_global_arg()
{
	local i w
	for ((i = 1; i < ${#COMP_WORDS[@]} - 1; i++)); do
		w=${COMP_WORDS[i]}
		if [[ $w == "$1" ]]; then
			printf '%s\n' "${COMP_WORDS[i + 1]/#\~/$HOME}"
			return 0
		elif [[ $w == "$1="* ]]; then
			w=${w#"$1="}
			printf '%s\n' "${w/#\~/$HOME}"
			return 0
		fi
	done
	return 1
}

_jobq_db()
{
	_jobq_global_arg --db || printf '%s\n' "${JOBQ_DB:-jobq.db}"
}

_jobq_config()
{
	local db dir
	_jobq_global_arg --config && return
	if [[ -n ${JOBQ_CONFIG-} ]]; then
		printf '%s\n' "$JOBQ_CONFIG"
		return
	fi
	db=$(_jobq_db)
	dir=.
	if [[ $db == */* ]]; then
		dir=${db%/*}
		[[ -z $dir ]] && dir=/
	fi
	printf '%s\n' "$dir/jobq.json"
}

# Type names: the keys of the configuration's "types" and "concurrency.types".
_jobq_types()
{
	local cfg
	cfg=$(_jobq_config)
	[[ -r $cfg ]] && command -v jq >/dev/null 2>&1 || return 0
	jq -r '[(.types // {} | keys[]), (.concurrency.types // {} | keys[])] | unique | .[]' \
		"$cfg" 2>/dev/null
}

# Resource pools: the keys of the configuration's "concurrency.resources".
_jobq_pools()
{
	local cfg
	cfg=$(_jobq_config)
	[[ -r $cfg ]] && command -v jq >/dev/null 2>&1 || return 0
	jq -r '.concurrency.resources // {} | keys | .[]' "$cfg" 2>/dev/null
}

# One column of a read-only query on the database. It must leave nothing behind: a read-only
# SQLite connection that finds no DB-wal creates DB-wal and DB-shm and cannot remove them (owned
# by whoever pressed TAB, they would lock the service's user out). So: while DB-wal exists (the
# database is open somewhere) read it read-only; otherwise everything is in DB itself, and it is
# read as immutable, which touches no other file.
_jobq_sql()
{
	local db
	db=$(_jobq_db)
	[[ -f $db ]] && command -v sqlite3 >/dev/null 2>&1 || return 0
	if [[ -e $db-wal ]]; then
		sqlite3 -readonly -batch -noheader -cmd ".timeout 200" "$db" "$1" 2>/dev/null
	elif [[ $db != *[?#%]* ]]; then
		sqlite3 -batch -noheader "file:$db?immutable=1" "$1" 2>/dev/null
	fi
}

_jobq_batches()
{
	_jobq_sql "SELECT DISTINCT batch FROM jobs WHERE batch IS NOT NULL ORDER BY batch LIMIT 1000;"
}

_jobq_running_ids()
{
	_jobq_sql "SELECT id FROM jobs WHERE state = 'running' ORDER BY id LIMIT 1000;"
}

_jobq_complete_value()
{
	local kind=$1 cur=$2
	case $kind in
	type) COMPREPLY=($(compgen -W "$(_jobq_types)" -- "$cur")) ;;
	pool) COMPREPLY=($(compgen -W "$(_jobq_pools)" -- "$cur")) ;;
	batch) COMPREPLY=($(compgen -W "$(_jobq_batches)" -- "$cur")) ;;
	states-list) COMPREPLY=($(compgen -W "queued running succeeded failed cancelled" -- "$cur")) ;;
	states-retry) COMPREPLY=($(compgen -W "failed cancelled" -- "$cur")) ;;
	states-prune) COMPREPLY=($(compgen -W "succeeded failed cancelled" -- "$cur")) ;;
	duration) COMPREPLY=($(compgen -W "500ms 10s 30s 1m 5m 15m 1h 6h 1d 7d 30d" -- "$cur")) ;;
	time) COMPREPLY=($(compgen -W "@$(date +%s) $(date -u +%Y-%m-%dT%H:%M:%SZ)" -- "$cur")) ;;
	jsonl)
		compopt -o filenames 2>/dev/null
		COMPREPLY=($(compgen -f -- "$cur"))
		[[ -z $cur || $cur == - ]] && COMPREPLY+=(-)
		;;
	file)
		compopt -o filenames 2>/dev/null
		COMPREPLY=($(compgen -f -- "$cur"))
		;;
	*) COMPREPLY=() ;;
	esac
}

_jobq()
{
	local cur prev words cword
	if declare -F _init_completion >/dev/null 2>&1; then
		_init_completion || return
	else
		COMPREPLY=()
		words=("${COMP_WORDS[@]}")
		cword=$COMP_CWORD
		cur=${words[cword]}
		prev=${words[cword - 1]}
	fi

	# The command: the first word that is neither a global option nor its value.
	local i w kind cmd="" cmdi=0
	for ((i = 1; i < cword; i++)); do
		w=${words[i]}
		case $w in
		--db | --config) ((i++)) ;;
		-*) ;;
		*)
			cmd=$w
			cmdi=$i
			break
			;;
		esac
	done

	if [[ -z $cmd ]]; then
		kind=$(_jobq_value_kind global "$prev")
		if [[ -n $kind ]]; then
			_jobq_complete_value "$kind" "$cur"
		elif [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W "--db --config --json --quiet --verbose --help --version" -- "$cur"))
		else
			COMPREPLY=($(compgen -W "$_jobq_commands" -- "$cur"))
		fi
		return 0
	fi

	# The value of the option before the cursor.
	if ((cword > cmdi + 1)); then
		kind=$(_jobq_value_kind "$cmd" "$prev")
		if [[ -n $kind ]]; then
			_jobq_complete_value "$kind" "$cur"
			return 0
		fi
	fi

	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "$(_jobq_options "$cmd") --json --quiet --verbose --help" -- "$cur"))
		return 0
	fi

	# Operands: how many come before the cursor, skipping options and their values.
	local nargs=0
	for ((i = cmdi + 1; i < cword; i++)); do
		w=${words[i]}
		if [[ $w == -* ]]; then
			[[ $w != *=* && -n $(_jobq_value_kind "$cmd" "$w") ]] && ((i++))
		else
			((nargs++))
		fi
	done
	case $cmd in
	enqueue | pause | resume)
		((nargs == 0)) && COMPREPLY=($(compgen -W "$(_jobq_types)" -- "$cur"))
		;;
	heartbeat | complete | fail | logs)
		((nargs == 0)) && COMPREPLY=($(compgen -W "$(_jobq_running_ids)" -- "$cur"))
		;;
	cancel)
		COMPREPLY=($(compgen -W "$(_jobq_running_ids)" -- "$cur"))
		;;
	help)
		((nargs == 0)) && COMPREPLY=($(compgen -W "$_jobq_commands" -- "$cur"))
		;;
	esac
	return 0
} &&
	complete -F _jobq jobq

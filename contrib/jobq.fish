# fish completion for jobq
#
# Install: copy to ~/.config/fish/completions/jobq.fish (meson install puts it in fish's
# vendor_completions.d).
#
# Completes the commands, their options and the values with a known set (states, durations,
# files). The ids of jobs come from `jobq list` on the database of the command line (--db,
# $JOBQ_DB, else ./jobq.db), which only reads it and creates nothing. When jq is installed,
# type names and resource pools come from the configuration jobq itself would read (--config,
# $JOBQ_CONFIG, else jobq.json beside the database).

# The value of global option $argv[1] (--db, --config) on the command line, if given.
function __jobq_global_arg -a name
    set -l tokens (commandline -opc)
    set -l n (count $tokens)
    for i in (seq 2 $n)
        switch $tokens[$i]
            case $name
                if test $i -lt $n
                    echo $tokens[(math $i + 1)]
                    return 0
                end
            case "$name=*"
                string replace -- "$name=" '' $tokens[$i]
                return 0
        end
    end
    return 1
end

# The command: the first word after jobq that is neither a global option nor its value.
function __jobq_command
    set -l tokens (commandline -opc)
    set -e tokens[1]
    set -l skip 0
    for t in $tokens
        if test $skip -eq 1
            set skip 0
            continue
        end
        switch $t
            case --db --config
                set skip 1
            case '-*'
            case '*'
                echo $t
                return 0
        end
    end
    return 1
end

function __jobq_needs_command
    not __jobq_command >/dev/null
end

# Whether the command is one of $argv.
function __jobq_using
    set -l cmd (__jobq_command); or return 1
    contains -- $cmd $argv
end

# The value of global option $argv[1] on the command line, else of variable $argv[2] if set
# and not empty.
function __jobq_option_or_env -a option var
    __jobq_global_arg $option; and return 0
    set -q $var; and test -n "$$var"; or return 1
    echo $$var
end

function __jobq_db
    __jobq_option_or_env --db JOBQ_DB; or echo jobq.db
end

function __jobq_config
    __jobq_option_or_env --config JOBQ_CONFIG; and return
    set -l db (__jobq_db)
    if string match -q -- '*/*' $db
        echo (string replace -r '/[^/]*$' '' -- $db)/jobq.json
    else
        echo jobq.json
    end
end

# Type names: the keys of the configuration's "types" and "concurrency.types".
function __jobq_types
    set -l cfg (__jobq_config)
    test -r "$cfg"; and command -sq jq; or return 0
    jq -r '[(.types // {} | keys[]), (.concurrency.types // {} | keys[])] | unique | .[]' $cfg 2>/dev/null
end

# Resource pools: the keys of the configuration's "concurrency.resources".
function __jobq_pools
    set -l cfg (__jobq_config)
    test -r "$cfg"; and command -sq jq; or return 0
    jq -r '.concurrency.resources // {} | keys | .[]' $cfg 2>/dev/null
end

# Ids of jobs in the states $argv (every state when none), with their type and state.
function __jobq_ids
    set -l db (__jobq_db)
    test -f "$db"; or return 0
    set -l states $argv
    test (count $states) -gt 0; or set states ''
    for s in $states
        set -l args --db $db -q list --limit 100
        test -n "$s"; and set -a args --state $s
        jobq $args 2>/dev/null | string replace -rf '^\s*(\d+)\s+(\S+)\s+(\S+).*$' '$1\t$2 $3'
    end
end

set -l durations 500ms 10s 30s 1m 5m 15m 1h 6h 1d 7d 30d
set -l states queued running succeeded failed cancelled

complete -c jobq -f

# Global options and the commands.
complete -c jobq -n __jobq_needs_command -l db -r -F -d 'the database'
complete -c jobq -n __jobq_needs_command -l config -r -F -d 'the configuration file'
complete -c jobq -n __jobq_needs_command -s V -l version -d 'the version'
complete -c jobq -l json -d 'machine-readable output'
complete -c jobq -s q -l quiet -d 'print only data and errors'
complete -c jobq -s v -l verbose -d 'more detail'
complete -c jobq -s h -l help -d 'the usage'

complete -c jobq -n __jobq_needs_command -a init -d 'create the database (and print its path)'
complete -c jobq -n __jobq_needs_command -a migrate -d "bring the database's schema up to date"
complete -c jobq -n __jobq_needs_command -a enqueue -d 'add a job'
complete -c jobq -n __jobq_needs_command -a supervise -d 'run the supervisor in the foreground'
complete -c jobq -n __jobq_needs_command -a reload -d 'make the supervisor reload its configuration'
complete -c jobq -n __jobq_needs_command -a claim -d 'external workers: claim one job'
complete -c jobq -n __jobq_needs_command -a heartbeat -d 'renew the lease of a claimed job'
complete -c jobq -n __jobq_needs_command -a complete -d 'finish a claimed job as succeeded'
complete -c jobq -n __jobq_needs_command -a fail -d 'finish a claimed attempt as failed'
complete -c jobq -n __jobq_needs_command -a status -d 'supervisor, counts, pools, running jobs'
complete -c jobq -n __jobq_needs_command -a list -d 'jobs by state, type, namespace, batch'
complete -c jobq -n __jobq_needs_command -a show -d 'every field of one job'
complete -c jobq -n __jobq_needs_command -a wait -d 'block until jobs or a batch are done'
complete -c jobq -n __jobq_needs_command -a cancel -d 'cancel jobs'
complete -c jobq -n __jobq_needs_command -a retry -d 'put failed or cancelled jobs back in the queue'
complete -c jobq -n __jobq_needs_command -a pause -d 'stop claiming a type, a pool or everything'
complete -c jobq -n __jobq_needs_command -a resume -d 'claim again'
complete -c jobq -n __jobq_needs_command -a prune -d 'delete finished jobs'
complete -c jobq -n __jobq_needs_command -a logs -d "the output of a job's latest attempt"
complete -c jobq -n __jobq_needs_command -a top -d 'a live view of workers, pools, queues, batches'
complete -c jobq -n __jobq_needs_command -a metrics -d 'the metrics in the Prometheus text format'
complete -c jobq -n __jobq_needs_command -a schedules -d 'the schedules of the configuration'
complete -c jobq -n __jobq_needs_command -a help -d "the command list, or a command's usage"

# init
complete -c jobq -n '__jobq_using init' -l db -r -F -d 'the database to create'

# migrate
complete -c jobq -n '__jobq_using migrate' -l db -r -F -d 'the database to migrate'

# enqueue
complete -c jobq -n '__jobq_using enqueue' -a '(__jobq_types)' -d 'job type'
complete -c jobq -n '__jobq_using enqueue' -s n -l namespace -x -d namespace
complete -c jobq -n '__jobq_using enqueue' -s p -l priority -x -d 'higher runs first'
complete -c jobq -n '__jobq_using enqueue' -s d -l delay -x -a "$durations" -d 'run no earlier than DUR from now'
complete -c jobq -n '__jobq_using enqueue' -l run-at -x -d 'run no earlier than TIME'
complete -c jobq -n '__jobq_using enqueue' -s m -l max-attempts -x -d 'attempts before the job fails for good'
complete -c jobq -n '__jobq_using enqueue' -s t -l timeout -x -a "$durations" -d 'time limit of one attempt'
complete -c jobq -n '__jobq_using enqueue' -s r -l resource -x -a '(__jobq_pools)' -d 'also take pool TAG or TAG:N'
complete -c jobq -n '__jobq_using enqueue' -s u -l unique -x -d 'no second live job with this key'
complete -c jobq -n '__jobq_using enqueue' -l unique-for -x -a "$durations" -d 'the key holds for DUR, finished jobs too'
complete -c jobq -n '__jobq_using enqueue' -s b -l batch -x -d 'label the jobs with a batch name'
complete -c jobq -n '__jobq_using enqueue' -l jsonl -r -F -d 'one job per line (- for stdin)'
complete -c jobq -n '__jobq_using enqueue' -l no-envelope -d 'with --jsonl: every line is a payload'
complete -c jobq -n '__jobq_using enqueue' -s a -l after -x -a '(__jobq_ids)' -d 'run once these jobs have succeeded (ID,ID...)'
complete -c jobq -n '__jobq_using enqueue' -l on-batch-done -x -a '(__jobq_types)' -d 'once the batch has ended, enqueue a job of TYPE'

# supervise
complete -c jobq -n '__jobq_using supervise' -s w -l workers -x -d 'number of worker processes'
complete -c jobq -n '__jobq_using supervise' -s d -l drain -d 'exit once nothing is queued or running'

# claim, heartbeat, complete, fail
complete -c jobq -n '__jobq_using claim' -s t -l type -x -a '(__jobq_types)' -d 'only jobs of this type'
complete -c jobq -n '__jobq_using claim heartbeat' -s l -l lease -x -a "$durations" -d lease
complete -c jobq -n '__jobq_using heartbeat complete fail' -a '(__jobq_ids running)'
complete -c jobq -n '__jobq_using heartbeat complete fail' -l token -x -d 'the token printed by claim'
complete -c jobq -n '__jobq_using complete' -l result -x -d 'the result (- reads stdin)'
complete -c jobq -n '__jobq_using fail' -l error -x -d 'what went wrong'
complete -c jobq -n '__jobq_using fail' -l temporary -d 'retry without counting the attempt'
complete -c jobq -n '__jobq_using complete fail' -l tokens -x -d 'tokens the attempt spent'

# status, list, show, wait
complete -c jobq -n '__jobq_using status' -s b -l batch -x -d 'the counts of this batch'
complete -c jobq -n '__jobq_using list' -s s -l state -x -a "$states" -d 'jobs in this state'
complete -c jobq -n '__jobq_using list cancel retry' -s t -l type -x -a '(__jobq_types)' -d 'jobs of this type'
complete -c jobq -n '__jobq_using list cancel retry' -s n -l namespace -x -d 'jobs of this namespace'
complete -c jobq -n '__jobq_using list cancel retry prune' -s b -l batch -x -d 'jobs of this batch'
complete -c jobq -n '__jobq_using list' -s l -l limit -x -d 'at most N jobs (0: no limit)'
complete -c jobq -n '__jobq_using list' -l jsonl -d 'one job object per line'
complete -c jobq -n '__jobq_using show' -a '(__jobq_ids)'
complete -c jobq -n '__jobq_using wait' -a '(__jobq_ids queued running)'
complete -c jobq -n '__jobq_using wait' -s b -l batch -x -d 'every job of the batch'
complete -c jobq -n '__jobq_using wait' -s p -l progress -d 'show progress on stderr'
complete -c jobq -n '__jobq_using wait' -s t -l timeout -x -a "$durations" -d 'give up after DUR'

# cancel, retry
complete -c jobq -n '__jobq_using cancel' -a '(__jobq_ids queued running)'
complete -c jobq -n '__jobq_using retry' -a '(__jobq_ids failed cancelled)'
complete -c jobq -n '__jobq_using retry' -s s -l state -x -a 'failed cancelled' -d 'failed or cancelled'

# pause, resume
complete -c jobq -n '__jobq_using pause resume' -a '(__jobq_types)' -d 'job type'
complete -c jobq -n '__jobq_using pause resume' -l all -d everything
complete -c jobq -n '__jobq_using pause resume' -s r -l resource -x -a '(__jobq_pools)' -d 'a resource pool'
complete -c jobq -n '__jobq_using pause' -l until -x -d 'until this time'
complete -c jobq -n '__jobq_using pause' -l for -x -a "$durations" -d 'for this long'
complete -c jobq -n '__jobq_using pause' -l reason -x -d 'shown by status'

# prune
complete -c jobq -n '__jobq_using prune' -s o -l older-than -x -a "$durations" -d 'finished more than DUR ago'
complete -c jobq -n '__jobq_using prune' -s s -l state -x -a 'succeeded failed cancelled' -d 'jobs in this state'

# logs, top
complete -c jobq -n '__jobq_using logs' -a '(__jobq_ids)'
complete -c jobq -n '__jobq_using logs' -s f -l follow -d 'print what is written until the job has ended'
complete -c jobq -n '__jobq_using logs' -s e -l stderr -d 'the stderr file instead of stdout'
complete -c jobq -n '__jobq_using top' -s 1 -l once -d 'one snapshot, without escape sequences'

# help
complete -c jobq -n '__jobq_using help' -a '(jobq help --commands 2>/dev/null)' -d command
complete -c jobq -n '__jobq_using help' -l commands -d 'the names of the commands'

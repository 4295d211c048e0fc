# zsh complete.zsh FPATH_DIR 'COMMAND LINE': the matches zsh's completion offers at the end of
# the command line, one per line, through a real interactive zsh on a pseudo-terminal (zpty)
# whose compadd also prints what it is given. Used by e2e-completions.sh.
zmodload zsh/zpty || exit 2
zpty z zsh -f -i
zpty -w z "PROMPT=''; fpath=(${(q)1} \$fpath); autoload -U compinit; compinit -u -d \${ZDOTDIR:-\$HOME}/.zcompdump-jobq-test"
zpty -w z 'compadd () {
	[[ ${@[1,-1]} == *-(O|A|D)\ * ]] && { builtin compadd "$@"; return $? }
	typeset -a __hits
	builtin compadd -A __hits "$@"
	local h; for h in $__hits; do print -r -- "HIT:$h"; done
}'
zpty -w z "bindkey '^I' complete-word"
zpty -w z "null-line () { echo -E - \$'\\0' }"
zpty -w z "compprefuncs=( null-line ); comppostfuncs=( null-line exit )"
zpty -w z "$2"$'\t'
local out='' line
integer nul=0
while (( nul < 2 )) && zpty -r z line; do
	[[ $line == *$'\0'* ]] && (( nul++ ))
	(( nul >= 1 )) && out+=$line
done
zpty -d z
(( nul == 2 )) || { print -u2 "complete.zsh: no completion ran for '$2'"; exit 1 }
print -r -- ${(F)${(M)${(f)out//$'\r'/}:#HIT:*}#HIT:}

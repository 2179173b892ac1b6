# bash completion for exoctl: options, commands, profiles, cmdlet names and
# each cmdlet's parameters.  exoctl itself knows them (exoctl __complete).
_exoctl()
{
	local cur cword words
	if declare -F _get_comp_words_by_ref >/dev/null; then
		# ':' and '=' are part of a word here: -Name:$false, --output=json.
		_get_comp_words_by_ref -n := cur words cword
	else
		cur=${COMP_WORDS[COMP_CWORD]} words=("${COMP_WORDS[@]}") cword=$COMP_CWORD
	fi
	local IFS=$'\n'
	COMPREPLY=($(command exoctl __complete "${words[@]:1:cword-1}" "$cur" 2>/dev/null))
}
complete -o default -o nosort -F _exoctl exoctl 2>/dev/null ||
	complete -o default -F _exoctl exoctl

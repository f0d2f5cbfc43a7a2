# bash completion for ado-backup, ado-verify, ado-restore, ado-recover and ado-notify.
# Options come from each tool's --help; job names from the config's backup_jobs
# (-c FILE, else $ADO_CONFIG, else /etc/ado/backup-strategy.yml); channel names
# and types for ado-notify --channel. Installed by `make install` as
# PREFIX/share/bash-completion/completions/ado-backup (the others link to it).

_ado_dr_config() {
	local i
	for ((i = 1; i < ${#COMP_WORDS[@]} - 1; i++)); do
		case ${COMP_WORDS[i]} in
		-c | --config) printf '%s\n' "${COMP_WORDS[i + 1]}"; return ;;
		esac
	done
	printf '%s\n' "${ADO_CONFIG:-/etc/ado/backup-strategy.yml}"
}

# the keys one level under a top-level section of the config (JOB names, channels)
_ado_dr_keys() { # SECTION [INDENT]
	local cfg
	cfg=$(_ado_dr_config)
	[ -r "$cfg" ] || return
	sed -n "/^$1:/,/^[^ #]/s/^${2:-  }\([A-Za-z0-9_.-]*\):.*/\1/p" "$cfg" 2>/dev/null
}

_ado_dr() {
	local cur prev words
	cur=${COMP_WORDS[COMP_CWORD]}
	prev=${COMP_WORDS[COMP_CWORD - 1]}
	case $prev in
	-c | --config | --log | --to-dir | --tmp-dir)
		COMPREPLY=($(compgen -f -- "$cur")); return ;;
	-l | --level) COMPREPLY=($(compgen -W "checksum read restore" -- "$cur")); return ;;
	-s | --severity) [ "$1" = ado-notify ] && COMPREPLY=($(compgen -W "info warning critical" -- "$cur")); return ;;
	--status) COMPREPLY=($(compgen -W "operational degraded partial_outage major_outage" -- "$cur")); return ;;
	--channel)
		COMPREPLY=($(compgen -W "webhook slack statuspage email $(_ado_dr_keys notifications '    ')" -- "$cur"))
		return ;;
	-j | --job | --systemd) COMPREPLY=($(compgen -W "$(_ado_dr_keys backup_jobs)" -- "$cur")); return ;;
	--user) COMPREPLY=($(compgen -u -- "$cur")); return ;;
	esac
	if [[ $cur == -* ]]; then
		words=$("$1" --help 2>/dev/null | grep -o -- '--[a-z][a-z-]*' | sort -u)
		COMPREPLY=($(compgen -W "$words" -- "$cur"))
	elif [ "$1" = ado-backup ]; then
		COMPREPLY=($(compgen -W "$(_ado_dr_keys backup_jobs)" -- "$cur"))
	fi
}
complete -F _ado_dr ado-backup ado-verify ado-restore ado-recover ado-notify

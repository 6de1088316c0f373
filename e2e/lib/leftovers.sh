# What a run that was stopped halfway leaves behind (sourced after
# e2e/lib/common.sh; only defines). A run that ends removes what it made
# (on_exit); one that is killed cannot, and a name it leaves in use breaks
# the next run at once. So every entry script removes, by name, what an
# earlier run may have left, before it starts.

# remove_leftovers WHERE SPEC...: removes each SPEC that is there, and says
# what it removed in WHERE (or that nothing was left). SPEC is KIND:NAME:
#   container:NAME         a podman container, or one only in podman's
#                          storage (which kube play leaves when stopped
#                          halfway: podman rm --storage)
#   pod:NAME, secret:NAME  podman's
#   docker-container:NAME, docker-network:NAME, docker-volume:NAME
#                          in the private dockerd ($D, lib/dockerd.sh)
#   tmux:ERE               the tmux sessions whose names match ERE
#   dockerd:DATA_ROOT      a private dockerd still running on DATA_ROOT
#                          (stopped by its pid), the containers its runc
#                          still runs, its mounts and its folders
#                          ($DK_PREFIX*, lib/dockerd.sh)
remove_leftovers() {
	_where=$1
	shift
	_removed=
	# What there is, listed once per kind (each listing costs a process).
	_podman= _storage= _pods= _secrets= _dctrs= _dnets= _dvols= _tmux=
	for _spec in "$@"; do
		_kind=${_spec%%:*} _name=${_spec#*:}
		case $_kind in
		container)
			[ -n "$_podman" ] || _podman=" $(podman ps -a --format '{{.Names}}' 2>/dev/null | tr '\n' ' ')"
			[ -n "$_storage" ] || _storage=" $(podman ps -a --external --format '{{.Names}}' 2>/dev/null | tr '\n' ' ')"
			if _listed "$_podman" "$_name"; then
				_gone podman rm -f "$_name" && _removed="$_removed, container $_name"
			elif _listed "$_storage" "$_name"; then
				# (Mounted, when podman was killed as it ran it: -f.)
				_gone podman rm -f --storage "$_name" && _removed="$_removed, storage container $_name"
			fi
			;;
		pod)
			[ -n "$_pods" ] || _pods=" $(podman pod ps --format '{{.Name}}' 2>/dev/null | tr '\n' ' ')"
			_listed "$_pods" "$_name" && _gone podman pod rm -f "$_name" && _removed="$_removed, pod $_name"
			# Its containers are gone with it.
			_podman= _storage=
			;;
		secret)
			[ -n "$_secrets" ] || _secrets=" $(podman secret ls --format '{{.Name}}' 2>/dev/null | tr '\n' ' ')"
			_listed "$_secrets" "$_name" && _gone podman secret rm "$_name" && _removed="$_removed, secret $_name"
			;;
		docker-container)
			[ -n "$_dctrs" ] || _dctrs=" $($D ps -a --format '{{.Names}}' 2>/dev/null | tr '\n' ' ')"
			_listed "$_dctrs" "$_name" && _gone $D rm -f "$_name" && _removed="$_removed, container $_name"
			;;
		docker-network)
			[ -n "$_dnets" ] || _dnets=" $($D network ls --format '{{.Name}}' 2>/dev/null | tr '\n' ' ')"
			_listed "$_dnets" "$_name" && _gone $D network rm "$_name" && _removed="$_removed, network $_name"
			;;
		docker-volume)
			[ -n "$_dvols" ] || _dvols=" $($D volume ls -q 2>/dev/null | tr '\n' ' ')"
			_listed "$_dvols" "$_name" && _gone $D volume rm -f "$_name" && _removed="$_removed, volume $_name"
			;;
		tmux)
			for _s in $(tmux list-sessions -F '#{session_name}' 2>/dev/null | grep -E "$_name"); do
				tmux kill-session -t "=$_s" 2>/dev/null && _removed="$_removed, tmux session $_s"
			done
			;;
		dockerd)
			_stale_dockerd "$_name"
			;;
		*) fail "remove_leftovers: no kind $_kind" ;;
		esac
	done
	if [ -n "$_removed" ]; then
		ok "$_where: removed what an earlier run left: ${_removed#, }"
	else
		ok "$_where: nothing left by an earlier run"
	fi
}

# _gone CMD...: CMD removes something; when it cannot, its error is shown
# (the run will likely fail on that name) and _gone returns 1.
_gone() {
	_err=$("$@" 2>&1 >/dev/null) && return 0
	printf 'warning: could not remove what an earlier run left: %s: %s\n' "$*" "$_err" >&2
	return 1
}

# _listed " A B C " NAME: NAME is one of the listed names.
_listed() { case $1 in *" $2 "*) return 0 ;; esac; return 1; }

# _stale_dockerd DATA_ROOT (remove_leftovers): the daemon on DATA_ROOT and
# everything under $DK_PREFIX*, which only a private dockerd of these
# scripts uses; adds to _removed.
_stale_dockerd() {
	for _p in $(_pids_with "--data-root	$1	"); do
		kill "$_p" 2>/dev/null && _removed="$_removed, dockerd (pid $_p)"
		poll_until 20 pid_gone "$_p" || kill -9 "$_p" 2>/dev/null || true
	done
	for _dk in "$DK_PREFIX"*; do
		[ -d "$_dk" ] || continue
		# Containers whose daemon was killed with it: their runc state is
		# in its exec root.
		for _r in "$_dk"/exec/runtime-runc/*; do
			[ -d "$_r" ] || continue
			for _c in $(runc --root "$_r" list -q 2>/dev/null); do
				runc --root "$_r" delete -f "$_c" >/dev/null 2>&1 && _removed="$_removed, container ${_c%"${_c#????????????}"} (runc)"
			done
		done
		for _p in $(_pids_with "$_dk/"); do
			_what=$({ tr '\0' ' ' </proc/"$_p"/cmdline; } 2>/dev/null | cut -c1-40)
			kill -9 "$_p" 2>/dev/null && _removed="$_removed, process $_p ($_what)"
		done
	done
	# (The daemon mounts its data root on itself, and what is under it.)
	_mounts=$(awk -v d="$DK_PREFIX" -v r="$1" 'index($2, d) == 1 || $2 == r || index($2, r "/") == 1 { print $2 }' /proc/mounts | sort -r)
	for _m in $_mounts; do
		umount -l "$_m" 2>/dev/null && _removed="$_removed, mount $_m"
	done
	for _dk in "$DK_PREFIX"*; do
		[ -d "$_dk" ] && rm -rf "$_dk" && _removed="$_removed, folder $_dk"
	done
	return 0
}

# _pids_with TEXT: the processes whose command line has TEXT (arguments
# separated by tabs).
_pids_with() {
	for _f in /proc/[0-9]*/cmdline; do
		# (A process may end as it is read.)
		_c=$({ tr '\0' '\t' <"$_f"; } 2>/dev/null) || continue
		case $_c in *"$1"*) _p=${_f#/proc/}; echo "${_p%/cmdline}" ;; esac
	done
}

# Measuring for make bench and make bench-fleet (sourced after
# e2e/lib/common.sh; only defines). Needs hyperfine, GNU time and jq.

# median_ms [-N] NAME RUNS WARMUP ARGS...: hyperfine's median of ARGS (its
# commands and options), in milliseconds; the runs are in $E2E_TMP/NAME.json.
# Through sh, or with -N without a shell where hyperfine can (else through
# sh after all).
median_ms() {
	_noshell=
	[ "$1" = -N ] && { _noshell=1; shift; }
	_name=$1 _runs=$2 _warm=$3
	shift 3
	if [ -n "$_noshell" ]; then
		hyperfine -N --warmup "$_warm" --runs "$_runs" --export-json "$E2E_TMP/$_name.json" "$@" >/dev/null 2>&1 ||
			hyperfine --warmup "$_warm" --runs "$_runs" --export-json "$E2E_TMP/$_name.json" "$@" >/dev/null
	else
		hyperfine --warmup "$_warm" --runs "$_runs" --export-json "$E2E_TMP/$_name.json" "$@" >/dev/null 2>&1
	fi
	jq -r '.results[0].median * 1000' "$E2E_TMP/$_name.json"
}

# peak_mib RUNS DECIMALS CMD [PREPARE]: the highest max RSS (GNU time; the
# largest process, children counted) of RUNS runs of CMD (through sh), in
# MiB with DECIMALS; PREPARE (sh) runs before each.
peak_mib() {
	m=0
	for _ in $(seq 1 "$1"); do
		[ -n "${4:-}" ] && sh -c "$4"
		k=$(/usr/bin/time -f %M sh -c "$3 >/dev/null 2>&1" 2>&1 | tail -1)
		[ "$k" -gt "$m" ] && m=$k
	done
	awk -v k="$m" -v d="$2" 'BEGIN { printf "%.*f", d, k / 1024 }'
}

# fmt V DECIMALS: V with DECIMALS below 10, none from 10.
fmt() { awk -v v="$1" -v d="$2" 'BEGIN { printf (v < 10 ? "%." d "f" : "%.0f"), v }'; }

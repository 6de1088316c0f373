#!/bin/sh
# make bench-gateway: what the credential gateway (sleeve-check gateway)
# adds to a request, side by side in one run on loopback with (a) the
# upstream directly and (c) Debian's nginx set up to do the same job (put
# the fleet's x-api-key on every request, pass streams unbuffered, keep
# its upstream connections alive). The upstream is e2e/tools/gwload's:
# the Messages API, answering only the fleet key, streaming its events
# with a gap between them. The three paths are measured in rounds, one
# request down each per round in a rotated order, so that the machine's
# noise falls on all of them alike. Prints a Markdown table and puts it at
# the end of BENCHMARKS.md (its own section, replaced on each run).
#
# N (2000) rounds of a small request that is not streamed; STREAMS (1000)
# rounds of a streamed one (the first event at once, then EVENTS (10)
# more, GAP (1ms) apart). Before those, through the gateway and through
# nginx in turn, HOLD (12) streams open at once, one per sleeve key, each
# of HOLD_EVENTS (500) events HOLD_GAP (5ms) apart, while the proxy's
# memory is read. QUIET_LOAD (0.5 per core) and QUIET_WAIT (120 s):
# the run first waits for the 1-minute load average to fall under it.
set -eu
cd "$(dirname "$0")/.."
ROOT=$PWD
. e2e/lib/common.sh
e2e_begin

N=${N:-2000}
STREAMS=${STREAMS:-1000}
EVENTS=${EVENTS:-10}
GAP=${GAP:-1ms}
HOLD=${HOLD:-12}
HOLD_EVENTS=${HOLD_EVENTS:-500}
HOLD_GAP=${HOLD_GAP:-5ms}
QUIET_LOAD=${QUIET_LOAD:-$(awk -v c="$(nproc)" 'BEGIN { print c / 2 }')}
QUIET_WAIT=${QUIET_WAIT:-120}

command -v nginx >/dev/null 2>&1 || install_packages nginx-light
install_packages curl
make -s build >/dev/null
go build -o "$E2E_TMP/gwload" ./e2e/tools/gwload
SC=$ROOT/bin/sleeve-check
L=$E2E_TMP/gwload
FLEET=$(fake_token api03 bench-gw)

step "the upstream (gwload upstream), the gateway and nginx on loopback"
"$L" upstream -key "$FLEET" -url-file "$E2E_TMP/up.url" </dev/null >/dev/null 2>"$E2E_TMP/up.log" &
on_exit "kill $! 2>/dev/null"
wait_until -every 0.05 5 "the upstream to listen" test -s "$E2E_TMP/up.url"
UP=$(cat "$E2E_TMP/up.url")

mkdir -p "$E2E_TMP/gwhome"
SECRET=$(head -c 32 /dev/urandom | base64)
# gwenv CMD...: CMD with the gateway's environment and nothing else. (A
# function in the background is a subshell: the gateway itself is started
# below with the same words, so that $! is its PID.)
gwenv() {
	env -i PATH=/usr/bin:/bin HOME="$E2E_TMP/gwhome" SLEEVE_CHECK_STATE_DIR="$E2E_TMP/gwhome/state" \
		SLEEVE_CHECK_GATEWAY_SECRET="$SECRET" ANTHROPIC_API_KEY="$FLEET" ANTHROPIC_BASE_URL="$UP" "$@"
}
: >"$E2E_TMP/keys"
for i in $(seq -w 1 "$HOLD"); do
	gwenv "$SC" gateway key "bench-$i" >>"$E2E_TMP/keys"
done
KEY=$(head -1 "$E2E_TMP/keys")
env -i PATH=/usr/bin:/bin HOME="$E2E_TMP/gwhome" SLEEVE_CHECK_STATE_DIR="$E2E_TMP/gwhome/state" \
	SLEEVE_CHECK_GATEWAY_SECRET="$SECRET" ANTHROPIC_API_KEY="$FLEET" ANTHROPIC_BASE_URL="$UP" \
	"$SC" gateway --listen 127.0.0.1:0 </dev/null >/dev/null 2>"$E2E_TMP/gw.log" &
GW_PID=$!
on_exit "kill $GW_PID 2>/dev/null; wait $GW_PID 2>/dev/null"
gw_listens() { grep -q 'gateway: listening on' "$E2E_TMP/gw.log"; }
wait_until -show "cat $E2E_TMP/gw.log" 10 "the gateway to listen" gw_listens
GW=$(grep -o 'listening on http://[0-9.:]*' "$E2E_TMP/gw.log" | head -1 | sed 's/listening on //')
[ "$(cat "/proc/$GW_PID/comm")" = sleeve-check ] || fail "PID $GW_PID is $(cat "/proc/$GW_PID/comm"), not the gateway"
# Its one probe (a request to the upstream through itself) is done.
gw_proved() { curl -fsS "$GW/status" | grep -q '"from": "probe"'; }
wait_until -show "cat $E2E_TMP/gw.log; curl -sS $GW/status" 20 "the gateway's probe" gw_proved

NG=$E2E_TMP/nginx
mkdir -p "$NG"
NG_PORT=$("$L" port)
cat >"$NG/nginx.conf" <<EOF
# The same job as the gateway's, done by nginx: the fleet key in place of
# the client's, streams unbuffered, the upstream's connections kept.
worker_processes auto;
daemon off;
pid $NG/nginx.pid;
error_log $NG/error.log warn;
events { worker_connections 1024; }
http {
	access_log off;
	client_body_temp_path $NG/body;
	proxy_temp_path $NG/proxy;
	fastcgi_temp_path $NG/fastcgi;
	uwsgi_temp_path $NG/uwsgi;
	scgi_temp_path $NG/scgi;
	keepalive_requests 1000000;
	upstream api {
		server ${UP#http://};
		keepalive 32;
		keepalive_requests 1000000;
	}
	server {
		listen 127.0.0.1:$NG_PORT;
		location / {
			proxy_pass http://api;
			proxy_http_version 1.1;
			proxy_set_header Connection "";
			proxy_set_header x-api-key "$FLEET";
			proxy_buffering off;
		}
	}
}
EOF
nginx -p "$NG" -c "$NG/nginx.conf" -e "$NG/error.log" </dev/null >/dev/null 2>&1 &
NG_PID=$!
on_exit "kill $NG_PID 2>/dev/null; wait $NG_PID 2>/dev/null"
NGX=http://127.0.0.1:$NG_PORT
ng_answers() { curl -fsS -o /dev/null -X POST -H "x-api-key: $KEY" -d '{}' "$NGX/v1/messages"; }
wait_until -show "cat $NG/error.log" 10 "nginx to answer" ng_answers
NG_WORKERS=$(ps -o pid= --ppid "$NG_PID" | tr -s ' \n' ',' | sed 's/^,//; s/,$//')
[ -n "$NG_WORKERS" ] || fail "nginx has no workers"
NGINX_VERSION=$(nginx -v 2>&1 | sed 's/.*nginx\///')

loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
quiet() { awk -v m="$QUIET_LOAD" '{ exit !($1 < m) }' /proc/loadavg; }
step "waiting up to $QUIET_WAIT s for the 1-minute load under $QUIET_LOAD (now $(loadavg))"
poll_until -every 5 "$QUIET_WAIT" quiet || echo "still $(loadavg): measuring anyway"
LOAD_BEFORE=$(loadavg)

step "$HOLD streams at once through each proxy ($HOLD_EVENTS events each, $HOLD_GAP apart), memory read meanwhile"
"$L" hold -c "$HOLD" -keys "$E2E_TMP/keys" -events "$HOLD_EVENTS" -gap "$HOLD_GAP" -watch "$GW_PID" "$GW" >"$E2E_TMP/hold-gw.tsv"
"$L" hold -c "$HOLD" -keys "$E2E_TMP/keys" -events "$HOLD_EVENTS" -gap "$HOLD_GAP" -watch "$NG_WORKERS" "$NGX" >"$E2E_TMP/hold-ng.tsv"
cat "$E2E_TMP/hold-gw.tsv" "$E2E_TMP/hold-ng.tsv"

step "latency, paired rounds: $N small requests and $STREAMS streams down each path"
"$L" latency -n "$N" -streams "$STREAMS" -events "$EVENTS" -gap "$GAP" -direct "$UP" -direct-key "$FLEET" -key "$KEY" \
	gateway="$GW" nginx="$NGX" >"$E2E_TMP/lat.tsv"
cat "$E2E_TMP/lat.tsv"
LOAD_AFTER=$(loadavg)
GW_HWM_END=$(awk '/^VmHWM/ { print $2 }' "/proc/$GW_PID/status")
# The gateway counted every request, and refused none.
curl -fsS "$GW/status" >"$E2E_TMP/status.json"
grep -q '"refused": [1-9]' "$E2E_TMP/status.json" && fail "the gateway refused requests: $(cat "$E2E_TMP/status.json")"

ms() { awk -v u="$1" 'BEGIN { printf "%.3f", u / 1000 }'; }
plus() { awk -v u="$1" 'BEGIN { printf "%+.3f", u / 1000 }'; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
# row KIND PATH: "median | p99 | added median | added p99"
row() {
	awk -F'\t' -v k="$1" -v p="$2" '$1 == k && $2 == p { print $4, $5, $6, $7 }' "$E2E_TMP/lat.tsv" | {
		read -r med p99 amed ap99
		if [ "$2" = direct ]; then
			echo "$(ms "$med") ms | $(ms "$p99") ms | | |"
		else
			echo "$(ms "$med") ms | $(ms "$p99") ms | $(plus "$amed") ms | $(plus "$ap99") ms |"
		fi
	}
}
hold_col() { awk -F'\t' -v c="$2" '{ print $c }' "$E2E_TMP/hold-$1.tsv"; }
NW=$(echo "$NG_WORKERS" | tr ',' '\n' | wc -l)
# verdicts: each target, met or not, from this run's numbers.
verdicts() {
	added() { awk -F'\t' -v k="$1" -v p="$2" '$1 == k && $2 == p { print $6 }' "$E2E_TMP/lat.tsv"; }
	awk -v g="$(added small gateway)" -v n="$(added small nginx)" -v s="$(added stream gateway)" -v m="$(hold_col gw 4)" -v h="$HOLD" 'BEGIN {
		printf "added median %s (%.3f ms against nginx'"'"'s %.3f ms), %s (under 0.5 ms); first event %s (%+.3f ms); memory %s (%.1f MiB with %d streams)",
			g <= n ? "met" : "NOT met", g / 1000, n / 1000, g < 500 ? "met" : "NOT met", s < 1000 ? "met" : "NOT met", s / 1000, m < 30 * 1024 ? "met" : "NOT met", m / 1024, h
	}'
}

TABLE=$E2E_TMP/table.md
{
	echo "## The credential gateway against nginx"
	echo
	echo "Made by \`make bench-gateway\` ($(date -u +%Y-%m-%d), $(nproc) cores, $(uname -m), $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), Go $(go env GOVERSION | sed 's/^go//'), nginx $NGINX_VERSION; load average $LOAD_BEFORE before, $LOAD_AFTER after)."
	echo "All on loopback: the upstream is e2e/tools/gwload's Messages API (it answers only the fleet key); direct sends the fleet key to it, the gateway and nginx get a sleeve's key and put the fleet's in its place."
	echo "nginx: \`proxy_set_header x-api-key\`, \`proxy_buffering off\`, HTTP/1.1 upstream keepalive, worker_processes auto ($NW workers)."
	echo "Rounds: one request down each path per round, in a rotated order; added = the path's time minus direct's in the same round (median over rounds), and the path's p99 minus direct's p99."
	echo
	echo "| request | path | median | p99 | added median | added p99 |"
	echo "|---|---|---|---|---|---|"
	for k in small stream; do
		case $k in
		small) what="small, not streamed ($N rounds; until the whole answer)" ;;
		stream) what="streamed ($STREAMS rounds; until the first event)" ;;
		esac
		for p in direct gateway nginx; do
			echo "| $what | $p | $(row $k $p)"
		done
	done
	echo
	echo "Memory with $HOLD streams open at once (one per sleeve key, each of $HOLD_EVENTS events $HOLD_GAP apart), read from /proc/PID/status:"
	echo
	echo "| process | VmRSS at its highest while the streams were open | VmHWM (peak since start) |"
	echo "|---|---|---|"
	echo "| the gateway | $(mib "$(hold_col gw 3)") MiB | $(mib "$(hold_col gw 4)") MiB ($(mib "$GW_HWM_END") MiB at the end of the run) |"
	echo "| nginx's $NW workers (summed; the largest) | $(mib "$(hold_col ng 3)") MiB | $(mib "$(hold_col ng 4)") MiB; $(mib "$(hold_col ng 5)") MiB |"
	echo
	echo "Targets (issue 27): the gateway's added median at most nginx's and under 0.5 ms; its first event within 1 ms of direct; under 30 MiB with 12 streams."
	echo "In this run: $(verdicts)."
} >"$TABLE"

OUT=$ROOT/BENCHMARKS.md
# This section replaces its last run's, wherever that is; the others stay.
awk -v f="$TABLE" '
	/^## The credential gateway against nginx$/ { skip = 1; while ((getline l < f) > 0) print l; done = 1; next }
	skip && /^## / { skip = 0; print "" }
	!skip { print }
	END { if (!done) { print ""; while ((getline l < f) > 0) print l } }
' "$OUT" >"$E2E_TMP/bench.md"
cat "$E2E_TMP/bench.md" >"$OUT"
echo
cat "$TABLE"

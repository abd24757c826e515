# tests/lib.sh: shared by the root tests, the demonstration and the benchmarks.
#
# Builds a small network in namespaces of its own (names carry the PID, so
# runs never collide), all in 198.18.0.0/15, and removes it on exit:
#
#   client 198.18.0.2 --- 198.18.0.1 vcr (vcrd, frontend 198.18.0.1:80)
#                                    vcr 198.18.1.1 --- 198.18.1.2 primary
#                                    vcr 198.18.2.1 --- 198.18.2.2 standby

PY=${PY:-/usr/bin/python3}
top_srcdir=${top_srcdir:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
VCRD=${VCRD:-$top_builddir/vcrd}
VCRCTL_BIN=${VCRCTL_BIN:-$top_builddir/vcrctl}

ID=${ID:-$$}
NS_C=vcr$ID-client
NS_V=vcr$ID-vcr
NS_P=vcr$ID-primary
NS_S=vcr$ID-standby
WORK=$(mktemp -d "/tmp/vcrtest.$ID.XXXX")
SOCK=$WORK/vcrd.sock
CONF=$WORK/vcrd.conf
LOG=$WORK/vcrd.log
FRONTEND=198.18.0.1
PRIMARY=198.18.1.2
STANDBY=198.18.2.2
PIDS=()
VCRD_PID=
CLEANUP_HOOKS=()	# functions cleanup calls first (the testbed's VMs and containers)

log() { printf '%s %s\n' "$(date +%T.%3N)" "$*" >&2; }
fail() {
	log "FAIL: $*"
	if [ -f "$LOG" ]; then echo "--- vcrd log (last 40 lines)" >&2; tail -40 "$LOG" >&2; fi
	if [ -S "$SOCK" ] && [ -n "$VCRD_PID" ]; then
		echo "--- vcrctl status" >&2
		timeout 5 ip netns exec $NS_V "$VCRCTL_BIN" -s "$SOCK" status >&2 2>&1 || true
	fi
	! declare -F tb_diag >/dev/null || tb_diag
	exit 1
}

need_root() {
	if [ "$(id -u)" != 0 ]; then echo "SKIP: needs root (network namespaces)"; exit 77; fi
	for t in ip nft $PY curl; do
		command -v $t >/dev/null || { echo "SKIP: $t not installed"; exit 77; }
	done
}

cleanup() {
	set +e
	[ -n "$VCRD_PID" ] && kill "$VCRD_PID" 2>/dev/null && wait "$VCRD_PID" 2>/dev/null
	for h in "${CLEANUP_HOOKS[@]}"; do "$h"; done
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
	for ns in $NS_C $NS_V $NS_P $NS_S; do ip netns del "$ns" 2>/dev/null; done
	# A sanitizer report from vcrd fails the test, whatever it asserted.
	if grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$LOG" 2>/dev/null; then
		echo "FAIL: sanitizer report in the vcrd log:" >&2
		grep -A30 -E 'Sanitizer|runtime error:' "$LOG" | head -60 >&2
		rm -rf "$WORK"
		exit 1
	fi
	if [ -n "${KEEP_WORK:-}" ]; then echo "work dir kept: $WORK" >&2; else rm -rf "$WORK"; fi
}

# veth pair between two namespaces: link NS1 IF1 ADDR1 NS2 IF2 ADDR2 (/24)
link() {
	ip link add "$2" netns "$1" type veth peer name "$5" netns "$4"
	ip -n "$1" addr add "$3/24" dev "$2"
	ip -n "$4" addr add "$6/24" dev "$5"
	ip -n "$1" link set "$2" up
	ip -n "$4" link set "$5" up
}

setup_net() {
	trap cleanup EXIT
	trap 'exit 130' INT TERM
	for ns in $NS_C $NS_V $NS_P $NS_S; do
		ip netns add "$ns"
		ip -n "$ns" link set lo up
	done
	link $NS_C eth0 198.18.0.2 $NS_V c$ID 198.18.0.1
	link $NS_V p$ID 198.18.1.1 $NS_P eth0 $PRIMARY
	link $NS_V s$ID 198.18.2.1 $NS_S eth0 $STANDBY
	ip -n $NS_C route add default via 198.18.0.1
	ip -n $NS_P route add default via 198.18.1.1
	ip -n $NS_S route add default via 198.18.2.1
	ip netns exec $NS_V sysctl -qw net.ipv4.ip_forward=1
}

# start_backend NS NAME ADDR [PORT]: a python HTTP server; /healthz fails while
# $WORK/NAME.fail exists, traffic alone while $WORK/NAME.fail-traffic does;
# requests logged in $WORK/NAME.requests
start_backend() {
	ip netns exec "$1" "$PY" "$top_srcdir/tests/backend.py" --name "$2" --addr "$3" \
	    --port "${4:-80}" --fail-file "$WORK/$2.fail" \
	    --fail-traffic-file "$WORK/$2.fail-traffic" --log "$WORK/$2.requests" &
	PIDS+=($!)
	eval "PID_$2=$!"
	wait_for 5 "backend $2" ip netns exec "$1" curl -sf -o /dev/null "http://$3:${4:-80}/healthz"
}

# write_conf [extra service lines...]: one service "web" with an http check
write_conf() {
	cat > "$CONF" <<EOC
control-socket $SOCK
state-dir $WORK/state
metrics-listen 127.0.0.1:9107
log-level ${LOG_LEVEL:-info}

service web {
	frontend $FRONTEND:80
	primary $PRIMARY:80
	standby $STANDBY:80
	check http {
		path /healthz
		interval ${INTERVAL:-100ms}
		timeout ${TIMEOUT:-80ms}
		rise ${RISE:-2}
		fall ${FALL:-3}
	}
$([ $# -gt 0 ] && printf '\t%s\n' "$@")
}
EOC
}

start_vcrd() {
	ip netns exec $NS_V ${VCRD_WRAP:-} "$VCRD" -f "$CONF" "$@" >>"$LOG" 2>&1 &
	VCRD_PID=$!
	wait_for 5 "vcrd control socket" test -S "$SOCK"
	# Both sides checked once, so decisions are informed.
	wait_for 5 "first checks" first_checks_done
}

first_checks_done() { ! vcrctl_json status | grep -q 'not checked yet'; }

# The usual scene: both backends up, vcrd protecting service "web"
# (arguments: extra lines for its service block).
scene() {
	need_root
	setup_net
	start_backend $NS_P primary $PRIMARY
	start_backend $NS_S standby $STANDBY
	write_conf "$@"
	start_vcrd
}

# wait_answer WHAT [SECONDS]: until a new client connection gets WHAT
wait_answer() { wait_for "${2:-5}" "the client to get '$1'" client_is "$1"; }
client_is() { [ "$(client_get / 1)" = "$1" ]; }
# wait_status REGEX [SECONDS]: until vcrctl status matches
wait_status() { wait_for "${2:-5}" "vcrctl status to show '$1'" status_has "$1"; }
status_has() { vcrctl status | grep -qE -- "$1"; }
# wait_event REGEX [SECONDS]: until vcrctl events matches
wait_event() { wait_for "${2:-5}" "an event '$1'" event_has "$1"; }
event_has() { vcrctl events | grep -qE -- "$1"; }

stop_vcrd() {
	local sig=${1:-TERM}
	kill -"$sig" "$VCRD_PID"
	wait "$VCRD_PID" 2>/dev/null
	VCRD_PID=
}

vcrctl() { ip netns exec $NS_V "$VCRCTL_BIN" -s "$SOCK" "$@"; }
vcrctl_json() { ip netns exec $NS_V "$VCRCTL_BIN" -s "$SOCK" --json "$@"; }

# The field of service web in vcrctl status --json: svc_field active
svc_field() {
	vcrctl_json status | "$PY" -c "import json,sys; s=[x for x in json.load(sys.stdin)['services'] if x['name']==sys.argv[1]][0]; print(s[sys.argv[2]])" "${2:-web}" "$1"
}

# What the client gets from the frontend.
client_get() { ip netns exec $NS_C curl -s --max-time "${2:-3}" "http://$FRONTEND${1:-/}"; }

nft_table() { ip netns exec $NS_V nft list table inet vcrecovery; }

# wait_for SECONDS WHAT command...
wait_for() {
	local secs=$1 what=$2; shift 2
	local end=$(( $(date +%s%N) + secs * 1000000000 ))
	until "$@" >/dev/null 2>&1; do
		[ "$(date +%s%N)" -lt "$end" ] || fail "timed out after ${secs}s waiting for $what"
		sleep 0.05
	done
}

expect_eq() { [ "$1" = "$2" ] || fail "$3: expected '$2', got '$1'"; }
expect_match() { printf '%s' "$1" | grep -qE -- "$2" || fail "$3: '$2' not found in: $1"; }
expect_nomatch() { ! printf '%s' "$1" | grep -qE -- "$2" || fail "$3: '$2' found in: $1"; }

# A client that keeps requesting: client_loop SECONDS OUTFILE (one line per request: ms code body)
client_loop() {
	ip netns exec $NS_C "$PY" "$top_srcdir/tests/client.py" --url "http://$FRONTEND/" \
	    --seconds "$1" --interval-ms "${CLIENT_INTERVAL_MS:-20}" > "$2" &
	CLIENT_PID=$!
}

# nft's view of the map without its counters (they move with traffic)
nft_map() { nft_table | sed -E 's/counter packets [0-9]+ bytes [0-9]+ //'; }
# The services map alone (sets suspect and recent follow the checks).
nft_services() {
	ip netns exec $NS_V nft list map inet vcrecovery services |
	    sed -E 's/counter packets [0-9]+ bytes [0-9]+ //'
}

metrics() { ip netns exec $NS_V curl -s http://127.0.0.1:9107/metrics; }

# start_nginx NS NAME ADDR [PORT]: a fast backend (benchmarks) answering NAME, /healthz "ok"
start_nginx() {
	local dir=$WORK/nginx-$2
	mkdir -p "$dir"
	head -c 102400 /dev/zero | tr '\0' y > "$dir/100k"
	# nginx workers run as nobody: let them read the files.
	chmod 0755 "$WORK" "$dir"
	cat > "$dir/nginx.conf" <<EON
worker_processes 1;
daemon off;
pid $dir/nginx.pid;
error_log $dir/error.log;
events { worker_connections 16384; }
http {
	access_log off;
	default_type text/plain;
	keepalive_requests 1000000;
	client_body_temp_path $dir/body;
	proxy_temp_path $dir/proxy;
	fastcgi_temp_path $dir/fastcgi;
	uwsgi_temp_path $dir/uwsgi;
	scgi_temp_path $dir/scgi;
	server {
		listen $3:${4:-80} backlog=4096;
		location = /healthz { return 200 "ok\n"; }
		location = /1k { return 200 "${BODY_1K:-}"; }
		location = /100k { root $dir; }
		location / { return 200 "$2\n"; }
	}
}
EON
	ip netns exec "$1" nginx -p "$dir" -c "$dir/nginx.conf" &
	PIDS+=($!)
	eval "PID_$2=$!"
	wait_for 5 "nginx $2" ip netns exec "$1" curl -sf -o /dev/null "http://$3:${4:-80}/healthz"
}

# Both backends as nginx, with /1k and /100k bodies (benchmarks, many connections).
nginx_backends() {
	BODY_1K=$(head -c 1024 /dev/zero | tr '\0' x)
	start_nginx $NS_P primary $PRIMARY
	start_nginx $NS_S standby $STANDBY
}

# Benchmarks measure a build without sanitizers.
bench_build() {
	cd "$top_srcdir"
	if [ ! -x vcrd ] || grep -q fsanitize Makefile 2>/dev/null; then
		echo "== building vcrd without sanitizers for the benchmark" >&2
		[ -x configure ] || ./autogen.sh >/dev/null 2>&1
		./configure -q && make clean >/dev/null && make -j"$(nproc)" >/dev/null
	fi
	cd - >/dev/null
}

# stats FILE: "median max n" of the numbers in FILE
stats() {
	"$PY" -c '
import statistics, sys
v = [float(x) for x in open(sys.argv[1]).read().split()]
print("%.1f %.1f %d" % (statistics.median(v), max(v), len(v)) if v else "nan nan 0")' "$1"
}

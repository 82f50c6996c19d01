#!/usr/bin/env bash
# bench/run.sh measures phx against the thin baseline server, the way
# BENCHMARKS.md describes: each server pinned to core 0 with GOMAXPROCS=1,
# the load tool (cmd/phxbench) pinned to core 1 with GOMAXPROCS=1, a fresh
# server process for every benchmark, and a table of figures with the ratio
# phx/baseline.
#
#   bench/run.sh                  # everything, about 4 minutes
#   ONLY=fanout bench/run.sh      # one benchmark: conns fanout reqrep rate storm
#   TARGETS=phx bench/run.sh      # one target: phx baseline
#
# The phx target is examples/hellosockets with -quiet (its Info log line
# per connect and join would otherwise be measured too). Raw results go to
# $OUT/results.jsonl.
set -euo pipefail

cd "$(dirname "$0")/.."
OUT=${OUT:-$(mktemp -d /tmp/phxbench.XXXXXX)}
ONLY=${ONLY:-"conns fanout reqrep rate storm"}
TARGETS=${TARGETS:-"phx baseline"}
SERVER_CPU=${SERVER_CPU:-0}
TOOL_CPU=${TOOL_CPU:-1}
PORT=${PORT:-4400}

# The benchmarks, as phxbench arguments (the URL and -pid are added).
declare -A BENCH=(
	[conns]="conns -conns 10000 -duration 30s"
	[fanout]="fanout -conns 1000 -size 100 -duration 10s"
	[reqrep]="reqrep -conns 100 -window 10 -duration 10s"
	[rate]="reqrep -conns 100 -rate 10000 -duration 10s"
	# 15,000 joins stay under a 20,000 descriptor limit even for a server
	# that holds connections after their client left (storm then fails).
	[storm]="storm -conns 50 -joins 15000"
)

die() { echo "run.sh: $*" >&2; exit 1; }

command -v taskset >/dev/null || {
	echo "taskset missing: installing util-linux" >&2
	apt-get install -y util-linux >/dev/null || die "cannot install util-linux (taskset)"
}
[ "$(nproc)" -ge 2 ] || die "needs 2 cores (server on core $SERVER_CPU, tool on core $TOOL_CPU)"

# 10,000 connections need 10,000+ descriptors in each process.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
[ "$(ulimit -n)" -ge 10100 ] || die "ulimit -n is $(ulimit -n); conns 10000 needs more (raise the hard limit)"
read -r lo hi < /proc/sys/net/ipv4/ip_local_port_range
[ $((hi - lo)) -ge 10100 ] || die "net.ipv4.ip_local_port_range $lo-$hi is too small for 10,000 connections"

echo "building into $OUT"
go build -o "$OUT/phxbench" ./cmd/phxbench
go build -o "$OUT/baseline" ./bench/baseline
go build -o "$OUT/hellosockets" ./examples/hellosockets
PHX=("$OUT/hellosockets" -quiet)

# start_server TARGET: starts it pinned, sets SRV_PID, waits for the port.
start_server() {
	local cmd
	case $1 in
	phx) cmd=("${PHX[@]}") ;;
	baseline) cmd=("$OUT/baseline") ;;
	*) die "unknown target $1" ;;
	esac
	GOMAXPROCS=1 taskset -c "$SERVER_CPU" "${cmd[@]}" -addr "127.0.0.1:$PORT" >>"$OUT/$1.log" 2>&1 &
	SRV_PID=$!
	for _ in $(seq 100); do
		if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
			sleep 0.5 # let the runtime settle before RSS is read
			return
		fi
		kill -0 "$SRV_PID" 2>/dev/null || die "$1 exited: $(tail -5 "$OUT/$1.log")"
		sleep 0.1
	done
	die "$1 did not listen on port $PORT"
}

stop_server() {
	kill "$SRV_PID" 2>/dev/null || true
	wait "$SRV_PID" 2>/dev/null || true
	PORT=$((PORT + 1)) # no reuse of a port with sockets still closing
}

# field JSON NAME prints a numeric field of a result line (0 if absent).
field() {
	local v
	v=$(grep -o "\"$2\":[-0-9.e+]*" <<<"$1" | head -1 | cut -d: -f2)
	echo "${v:-0}"
}

declare -A RES
FAILED=0
{
	echo "# $(date -u +%FT%TZ) $(uname -r) $(nproc) cores: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
	echo "# phx: $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- . ':!bench' ':!cmd' || echo ' +uncommitted changes'), server ${PHX[*]##*/}"
	echo "# load before: $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee "$OUT/header.txt"
for b in $ONLY; do
	[ -n "${BENCH[$b]:-}" ] || die "unknown benchmark $b"
	for t in $TARGETS; do
		start_server "$t"
		url="ws://127.0.0.1:$PORT/socket/websocket?vsn=2.0.0"
		echo "== $t $b: phxbench ${BENCH[$b]}" >&2
		# shellcheck disable=SC2086
		line=$(GOMAXPROCS=1 taskset -c "$TOOL_CPU" "$OUT/phxbench" ${BENCH[$b]} -url "$url" -pid "$SRV_PID" -json) || FAILED=1
		stop_server
		echo "$line" | tee -a "$OUT/results.jsonl" >&2
		RES[$t.$b]=$line
		grep -q '"ok":true' <<<"$line" || { echo "!! $t $b FAILED" >&2; FAILED=1; }
	done
done
echo "# load after: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$OUT/header.txt"

# row LABEL BENCH FIELD SCALE [DECIMALS]: one table line, the figure divided
# by SCALE.
row() {
	local label=$1 b=$2 f=$3 scale=$4 dec=${5:-1} p q
	case " $ONLY " in *" $b "*) ;; *) return ;; esac
	p=$(field "${RES[phx.$b]:-}" "$f")
	q=$(field "${RES[baseline.$b]:-}" "$f")
	awk -v l="$label" -v p="$p" -v q="$q" -v s="$scale" -v d="$dec" 'BEGIN {
		r = (q != 0) ? sprintf("%.2f", p / q) : "-"
		printf "%-34s %14.*f %14.*f %8s\n", l, d, p / s, d, q / s, r
	}'
}

echo
printf "%-34s %14s %14s %8s\n" figure phx baseline phx/base
row "conns: bytes/conn (10k idle)" conns bytes_per_conn 1
row "conns: joins/s (64 dialers)" conns joins_per_sec 1
row "fanout: deliveries/s (1000 subs)" fanout deliveries_per_sec 1
row "fanout: latency p50 ms" fanout p50_us 1000
row "fanout: latency p99 ms" fanout p99_us 1000
row "fanout: server CPU (cores)" fanout server_cpu 1 2
row "fanout: tool CPU (cores)" fanout tool_cpu 1 2
row "reqrep: replies/s (100x10)" reqrep replies_per_sec 1
row "reqrep: latency p50 ms" reqrep p50_us 1000
row "reqrep: latency p99 ms" reqrep p99_us 1000
row "reqrep: latency max ms" reqrep max_us 1000
row "reqrep: fairness (min/max)" reqrep fairness 1 2
row "reqrep: server CPU (cores)" reqrep server_cpu 1 2
row "reqrep: tool CPU (cores)" reqrep tool_cpu 1 2
row "rate 10k/s: latency p50 µs" rate p50_us 1
row "rate 10k/s: latency p99 µs" rate p99_us 1
row "rate 10k/s: latency max µs" rate max_us 1
row "rate 10k/s: pacer lag p99 µs" rate send_lag_p99_us 1
row "rate 10k/s: server CPU (cores)" rate server_cpu 1 2
row "storm: joins/s (50 workers)" storm joins_per_sec 1
row "storm: join p50 ms" storm join_p50_us 1000
row "storm: join p99 ms" storm join_p99_us 1000
row "storm: server CPU (cores)" storm server_cpu 1 2
row "storm: tool CPU (cores)" storm tool_cpu 1 2
echo
for k in "${!RES[@]}"; do
	grep -q '"ok":true' <<<"${RES[$k]}" || echo "FAILED $k: $(grep -o '"first_error":"[^"]*"' <<<"${RES[$k]}")"
done
echo "raw results: $OUT/results.jsonl"
exit $FAILED

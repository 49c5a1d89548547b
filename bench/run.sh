#!/usr/bin/env bash
# bench/run.sh - `make bench`: measures, in one run, (1) job start latency:
# POST /v1/models -> learner process running, against a plain fork+exec of the
# same command, with and without cgroups; and (2) GET /v1/models/{id}
# requests/s under wrk against nginx serving the same bytes as a static file;
# (3) log ingestion through collector + store against grep -c (bench/ingest.sh);
# (4) TensorBoard event-file reading against a pure-Python reader (bench/tfevents.sh);
# (5) model serving against Flask+gunicorn and nginx (bench/serve.sh).
# Needs WEFT_BIN (make bench sets it). Everything lives in a fresh temp dir and
# every process it starts is stopped on exit. See docs/benchmarks.md.
set -euo pipefail

: "${WEFT_BIN:?set WEFT_BIN to the weft binary (make bench does)}"
JOBS=${BENCH_JOBS:-200}          # timed jobs per series
WARMUP=${BENCH_WARMUP:-5}        # untimed jobs before each series
WRK_SECONDS=${BENCH_WRK_SECONDS:-10}
WRK_THREADS=${BENCH_WRK_THREADS:-2}
WRK_CONNS=${BENCH_WRK_CONNS:-16}

ROOT=$(cd "$(dirname "$0")/.." && pwd)
TOOLS=$ROOT/build/bench-tools
NGINX=${NGINX:-$(command -v nginx || echo /usr/sbin/nginx)}

die() { echo "bench: $*" >&2; exit 1; }
say() { echo "bench: $*" >&2; }

# --- prerequisites ---------------------------------------------------------
[ -x "$WEFT_BIN" ] || die "WEFT_BIN=$WEFT_BIN is not an executable"
for t in cc curl wrk zip pkg-config; do
	command -v "$t" >/dev/null || die "'$t' is not installed (scripts/setup.sh installs it)"
done
[ -x "$NGINX" ] || die "nginx is not installed (looked for $NGINX; scripts/setup.sh installs nginx-light)"
pkg-config --exists libcurl jansson || die "libcurl/jansson development files are missing (pkg-config)"
[[ "$JOBS" =~ ^[0-9]+$ && "$JOBS" -ge 1 ]] || die "BENCH_JOBS='$JOBS' is not a positive number"
[[ "$WRK_SECONDS" =~ ^[0-9]+$ && "$WRK_SECONDS" -ge 1 ]] || die "BENCH_WRK_SECONDS='$WRK_SECONDS' is not a positive number"

# --- helper programs (rebuilt when their source is newer) ------------------
mkdir -p "$TOOLS"
build_tool() { # name, extra pkg-config packages
	local name=$1 src=$ROOT/bench/$1.c; shift
	if [ ! -x "$TOOLS/$name" ] || [ "$src" -nt "$TOOLS/$name" ]; then
		# shellcheck disable=SC2046
		cc -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror -o "$TOOLS/$name" "$src" \
			$( [ $# -gt 0 ] && pkg-config --cflags --libs "$@" ) || die "cannot build $src"
	fi
}
build_tool stamp
build_tool startlat libcurl jansson

# --- temp dir, processes, cleanup -----------------------------------------
TMP=$(mktemp -d /tmp/weft-bench.XXXXXX)
chmod 755 "$TMP" # nginx workers run as nobody
SERVER_PID=
NGINX_PID=
CHILD_PID= # the measuring tool now running (startlat, wrk)
stop_pid() { # pid: SIGTERM, then SIGKILL after 5 s
	local pid=$1
	[ -n "$pid" ] || return 0
	kill "$pid" 2>/dev/null || return 0
	for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	kill -9 "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}
cleanup() {
	stop_pid "$CHILD_PID"
	stop_pid "$NGINX_PID"
	stop_pid "$SERVER_PID"
	if [ -n "${BENCH_KEEP:-}" ]; then say "kept $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Runs a measuring tool in the background and waits for it, so that a signal
# to this script stops it at once (bash runs traps only between commands).
run_child() {
	local rc=0
	"$@" &
	CHILD_PID=$!
	wait "$CHILD_PID" || rc=$?
	CHILD_PID=
	return "$rc"
}

# A port nobody listens on (bash's /dev/tcp: no extra tools needed).
free_port() {
	local p
	for _ in $(seq 100); do
		p=$((20000 + RANDOM % 40000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return 0; fi
	done
	die "found no free port"
}

# start_server NAME [server flags...]: sets SERVER_PID, URL, TOKEN, HOME_DIR.
# Retries with another port if the chosen one was taken in the meantime.
start_server() {
	local name=$1 port try; shift
	HOME_DIR=$TMP/home-$name
	for try in 1 2 3; do
		port=$(free_port)
		URL=http://127.0.0.1:$port
		"$WEFT_BIN" server --listen "127.0.0.1:$port" --home "$HOME_DIR" "$@" >"$TMP/server-$name.log" 2>&1 &
		SERVER_PID=$!
		for _ in $(seq 100); do
			curl -sf "$URL/health" >/dev/null 2>&1 && break
			kill -0 "$SERVER_PID" 2>/dev/null || break
			sleep 0.1
		done
		curl -sf "$URL/health" >/dev/null 2>&1 && break
		stop_pid "$SERVER_PID"; SERVER_PID=
		[ "$try" -lt 3 ] && say "weft server ($name) did not start on port $port; trying another port"
	done
	[ -n "$SERVER_PID" ] || { cat "$TMP/server-$name.log" >&2; die "weft server ($name) did not start (log above)"; }
	TOKEN=$(cat "$HOME_DIR/admin.token") || die "no $HOME_DIR/admin.token"
	curl -sf -X PUT --data-binary "bench input" -H "Authorization: Bearer $TOKEN" \
		"$URL/v1/data/benchdata/input.txt" >/dev/null || die "cannot create the benchdata bucket"
}
stop_server() { stop_pid "$SERVER_PID"; SERVER_PID=; }

# kv FILE KEY: value of KEY=... in FILE
kv() { sed -n "s/^$2=//p" "$1" | head -1; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }

# --- inputs ----------------------------------------------------------------
STAMPS=$TMP/stamps
mkdir -p "$STAMPS" "$TMP/code"
COMMAND="exec $TOOLS/stamp $STAMPS"
echo "bench model" >"$TMP/code/README"
(cd "$TMP/code" && zip -q "$TMP/model.zip" README) || die "cannot create the model zip"
cat >"$TMP/manifest.yml" <<EOF
name: bench
description: start latency benchmark
cpus: 1
memory: 256MiB
data_stores:
  - id: s
    type: local
    training_data: {container: benchdata}
    training_results: {container: benchresults}
framework: {name: custom, version: "1", command: "$COMMAND"}
EOF

read -r LOAD1 _ </proc/loadavg
say "$(nproc) cores, load average $LOAD1; $JOBS jobs per series (+$WARMUP warm-up), wrk ${WRK_SECONDS}s -t$WRK_THREADS -c$WRK_CONNS; temp dir $TMP"
awk -v l="$LOAD1" -v c="$(nproc)" 'BEGIN { exit !(l > c / 2) }' &&
	say "WARNING: the machine is busy (load $LOAD1); figures will be noisy"

# --- 1. job start latency --------------------------------------------------
# Each weft job is followed by one fork+exec sample of the same command, so
# both series see the same background load (this machine is often shared).
run_series() { # name jobs warmup: start-latency jobs on the running server
	run_child "$TOOLS/startlat" weft --url "$URL" --token "$TOKEN" --manifest "$TMP/manifest.yml" --zip "$TMP/model.zip" \
		--stamps "$STAMPS" --command "$COMMAND" -n "$2" --warmup "$3" --raw "$TMP/raw-$1.txt" >"$TMP/weft-$1.txt" ||
		{ tail -20 "$TMP/server-$1.log" >&2; die "weft ($1) start latency series failed"; }
}

start_server nocg --no-cgroups
say "weft without cgroups: $JOBS jobs, one at a time, each waited for until COMPLETED, each followed by a fork+exec of the same command ..."
run_series nocg "$JOBS" "$WARMUP"
stop_server

start_server cg
CG_SERIES=
if curl -sf "$URL/health" | grep -qE '"limits_enforced": *true'; then
	CG_SERIES=1
	say "weft with cgroups: $JOBS jobs ..."
	run_series cg "$JOBS" "$WARMUP"
else
	CG_WHY=$(curl -sf "$URL/health" | sed -n 's/.*"cgroups":"\([^"]*\)".*/\1/p')
	say "cgroups series skipped: ${CG_WHY:-the server cannot enforce limits here}"
	run_series cg 1 0 # one completed job for the GET benchmark
fi

# --- 2. GET /v1/models/{id}: weft vs nginx ---------------------------------
ID=$(kv "$TMP/weft-cg.txt" last_id)
[ -n "$ID" ] || die "no job id to GET"
mkdir -p "$TMP/www/v1/models"
curl -sf -H "Authorization: Bearer $TOKEN" -o "$TMP/www/v1/models/$ID" "$URL/v1/models/$ID" || die "GET /v1/models/$ID failed"
chmod -R a+rX "$TMP/www"
BODY_BYTES=$(wc -c <"$TMP/www/v1/models/$ID")

# run_wrk NAME URL [wrk args]: writes $TMP/wrk-NAME.txt; fails on errors or non-2xx answers
run_wrk() {
	local name=$1 url=$2; shift 2
	run_child wrk -t"$WRK_THREADS" -c"$WRK_CONNS" -d"${WRK_SECONDS}s" --latency "$@" "$url" >"$TMP/wrk-$name.txt" 2>&1 ||
		{ cat "$TMP/wrk-$name.txt" >&2; die "wrk against $name failed"; }
	if grep -qE "Non-2xx|Socket errors" "$TMP/wrk-$name.txt"; then
		cat "$TMP/wrk-$name.txt" >&2
		die "wrk against $name saw errors (see above)"
	fi
}
# wrk_field FILE rps|p50|p99: requests/s, or a latency percentile in ms
wrk_field() {
	awk -v want="$2" '
		function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
		want == "rps" && /^Requests\/sec:/ { print $2 }
		want == "p50" && $1 == "50%" { printf "%.3f\n", ms($2) }
		want == "p99" && $1 == "99%" { printf "%.3f\n", ms($2) }' "$1"
}

say "wrk: GET /v1/models/$ID on weft ($BODY_BYTES bytes) ..."
run_wrk weft "$URL/v1/models/$ID" -H "Authorization: Bearer $TOKEN"
stop_server # nginx runs alone

NGINX_DIR=$TMP/nginx
mkdir -p "$NGINX_DIR/tmp"
NGINX_PORT=$(free_port)
cat >"$NGINX_DIR/nginx.conf" <<EOF
worker_processes $(nproc);
error_log $NGINX_DIR/error.log;
pid $NGINX_DIR/nginx.pid;
events { worker_connections 1024; }
http {
	access_log off;
	default_type application/json;
	client_body_temp_path $NGINX_DIR/tmp/body;
	proxy_temp_path $NGINX_DIR/tmp/proxy;
	fastcgi_temp_path $NGINX_DIR/tmp/fastcgi;
	uwsgi_temp_path $NGINX_DIR/tmp/uwsgi;
	scgi_temp_path $NGINX_DIR/tmp/scgi;
	server {
		listen 127.0.0.1:$NGINX_PORT;
		root $TMP/www;
	}
}
EOF
"$NGINX" -p "$NGINX_DIR" -c "$NGINX_DIR/nginx.conf" -g 'daemon off;' >"$NGINX_DIR/stderr.log" 2>&1 &
NGINX_PID=$!
NGINX_URL=http://127.0.0.1:$NGINX_PORT/v1/models/$ID
for _ in $(seq 50); do
	curl -sf -o /dev/null "$NGINX_URL" && break
	kill -0 "$NGINX_PID" 2>/dev/null || { cat "$NGINX_DIR/stderr.log" "$NGINX_DIR/error.log" >&2 2>/dev/null; die "nginx exited at start"; }
	sleep 0.1
done
cmp -s <(curl -sf "$NGINX_URL") "$TMP/www/v1/models/$ID" || die "nginx does not serve the same bytes as weft"
say "wrk: the same $BODY_BYTES bytes from nginx ..."
run_wrk nginx "$NGINX_URL" -H "Authorization: Bearer $TOKEN"
stop_pid "$NGINX_PID"; NGINX_PID=

# --- 3. log ingestion, 4. event-file reading --------------------------------
run_child "$ROOT/bench/ingest.sh" >"$TMP/ingest.txt" || die "the ingestion benchmark failed"
run_child "$ROOT/bench/tfevents.sh" >"$TMP/tfevents.txt" || die "the event-file benchmark failed"
# --- 5. model serving -----------------------------------------------------------
run_child "$ROOT/bench/serve.sh" >"$TMP/serve.txt" || die "the serving benchmark failed"

# --- summary ---------------------------------------------------------------
line() { # label file
	local p50 p99 f50 f99
	p50=$(kv "$2" p50_ms) p99=$(kv "$2" p99_ms) f50=$(kv "$2" fork_p50_ms) f99=$(kv "$2" fork_p99_ms)
	printf '  %-22s weft p50 %7.2f ms  p99 %7.2f ms | fork+exec p50 %6.2f ms  p99 %6.2f ms | ratio p50 %sx  p99 %sx\n' \
		"$1" "$p50" "$p99" "$f50" "$f99" "$(ratio "$p50" "$f50")" "$(ratio "$p99" "$f99")"
	printf '  %-22s (the POST itself answered in p50 %.2f ms, p99 %.2f ms)\n' "" "$(kv "$2" post_p50_ms)" "$(kv "$2" post_p99_ms)"
}
WR=$(wrk_field "$TMP/wrk-weft.txt" rps) NR=$(wrk_field "$TMP/wrk-nginx.txt" rps)
read -r LOAD2 _ </proc/loadavg
{
	echo
	echo "== weft benchmark ($(date -u +%Y-%m-%dT%H:%MZ), $("$WEFT_BIN" --version 2>/dev/null || echo "weft (unknown version)"), $(nproc) cores, load average $LOAD1 at start, $LOAD2 at end) =="
	echo "job start latency: POST /v1/models -> learner process running, $JOBS jobs one at a time"
	echo "(each waited for until COMPLETED before the next; baseline: posix_spawn of the same bash -c command after each job)"
	line "job start, no cgroups" "$TMP/weft-nocg.txt"
	if [ -n "$CG_SERIES" ]; then
		line "job start, cgroups" "$TMP/weft-cg.txt"
	else
		printf '  %-22s skipped: %s\n' "job start, cgroups" "${CG_WHY:-cgroups are not available}"
	fi
	echo "GET /v1/models/$ID ($BODY_BYTES bytes), wrk -t$WRK_THREADS -c$WRK_CONNS -d${WRK_SECONDS}s, keep-alive"
	printf '  %-22s weft %7.0f req/s (p50 %.2f ms  p99 %.2f ms) | nginx %7.0f req/s (p50 %.2f ms  p99 %.2f ms) | ratio %s\n' \
		"GET /v1/models/ID" "$WR" "$(wrk_field "$TMP/wrk-weft.txt" p50)" "$(wrk_field "$TMP/wrk-weft.txt" p99)" \
		"$NR" "$(wrk_field "$TMP/wrk-nginx.txt" p50)" "$(wrk_field "$TMP/wrk-nginx.txt" p99)" "$(ratio "$WR" "$NR")"
	cat "$TMP/ingest.txt" "$TMP/tfevents.txt" "$TMP/serve.txt"
} | tee "$TMP/summary.txt"

# keep the evidence: summary, per-job samples, wrk output, server logs
LAST=$TOOLS/last-run
rm -rf "$LAST" && mkdir -p "$LAST"
cp "$TMP"/summary.txt "$TMP"/weft-*.txt "$TMP"/raw-*.txt "$TMP"/wrk-*.txt "$TMP"/server-*.log "$LAST"/ 2>/dev/null || true
echo "(samples, wrk output and server logs: $LAST)"

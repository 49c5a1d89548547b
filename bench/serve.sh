#!/usr/bin/env bash
# bench/serve.sh - model serving for `make bench` (bench/run.sh calls it): the
# digits PyTorch example is trained through weft and its model.onnx deployed
# with the native runtime; wrk (BENCH_SERVE_THREADS x BENCH_SERVE_CONNS, 16
# connections by default) POSTs one row per request as Seldon ndarray JSON to
# (1) weft, (2) the same PyTorch model (model.pt) under Flask + gunicorn with
# two workers (bench/flask_app.py), and (3) nginx answering a static file with
# weft's answer (the limit for any HTTP server here). Prints predictions/s and
# p50/p99 for each and the ratios. Summary on stdout, progress on stderr.
set -euo pipefail

: "${WEFT_BIN:?set WEFT_BIN to the weft binary (make bench does)}"
SECS=${BENCH_SERVE_SECONDS:-10}
THREADS=${BENCH_SERVE_THREADS:-2}
CONNS=${BENCH_SERVE_CONNS:-16}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PY=/usr/bin/python3
NGINX=${NGINX:-$(command -v nginx || echo /usr/sbin/nginx)}

die() { echo "bench: $*" >&2; exit 1; }
say() { echo "bench: $*" >&2; }

$PY -c 'import torch, flask' 2>/dev/null || die "$PY lacks torch or flask (scripts/setup.sh with WEFT_BENCH=1 installs them)"
command -v gunicorn >/dev/null || die "gunicorn is not installed"
command -v wrk >/dev/null || die "wrk is not installed"

TMP=$(mktemp -d /tmp/weft-bench-serve.XXXXXX)
chmod 755 "$TMP"
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	sleep 0.5
	for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
	[ -n "${BENCH_KEEP:-}" ] && say "kept $TMP" || rm -rf "$TMP"
}
trap cleanup EXIT
free_port() {
	local p
	for _ in $(seq 100); do
		p=$((20000 + RANDOM % 40000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return 0; fi
	done
	die "found no free port"
}
wait_http() { # url
	for _ in $(seq 200); do curl -s -o /dev/null "$1" && return 0; sleep 0.1; done
	return 1
}

# --- weft: train the PyTorch example, deploy its model.onnx ------------------
PORT=$(free_port)
URL=http://127.0.0.1:$PORT
"$WEFT_BIN" server --listen "127.0.0.1:$PORT" --home "$TMP/home" --no-cgroups >"$TMP/server.log" 2>&1 &
PIDS+=($!)
wait_http "$URL/health" || die "weft server did not start"
TOKEN=$(cat "$TMP/home/admin.token")
auth=(-H "Authorization: Bearer $TOKEN")
$PY "$ROOT/scripts/export-digits.py" "$TMP/digits" >/dev/null || die "cannot export the digits data (python3-sklearn)"
for f in "$TMP"/digits/*.csv; do
	curl -sf -X PUT "${auth[@]}" --data-binary "@$f" "$URL/v1/data/digits/$(basename "$f")" >/dev/null
done
(cd "$ROOT/examples/digits-pytorch" && zip -q "$TMP/model.zip" train.py)
say "serving: training the digits PyTorch example through weft ..."
ID=$(curl -sf "${auth[@]}" -F "manifest=@$ROOT/examples/digits-pytorch/manifest.yml" -F "model_definition=@$TMP/model.zip" \
	"$URL/v1/models" | sed -n 's/.*"model_id":"\([^"]*\)".*/\1/p')
[ -n "$ID" ] || die "cannot submit the digits-pytorch job"
for _ in $(seq 600); do
	st=$(curl -sf "${auth[@]}" "$URL/v1/models/$ID" | sed -n 's/.*"status":"\([A-Z]*\)".*/\1/p' | head -1)
	[ "$st" = COMPLETED ] && break
	[ "$st" = FAILED ] && die "the digits-pytorch job failed (see $TMP/server.log)"
	sleep 0.5
done
[ "$st" = COMPLETED ] || die "the digits-pytorch job did not complete"
MODEL_PT=$(find "$TMP/home/objects" -path "*/$ID/model.pt" | head -1)
[ -f "$MODEL_PT" ] || die "no model.pt in the job's results"
curl -sf "${auth[@]}" -d "{\"training_id\": \"$ID\", \"name\": \"digits\"}" "$URL/v1/deployments" >/dev/null ||
	die "cannot deploy the digits model"

ROW=$(sed -n 2p "$TMP/digits/digits-test.csv" | cut -d, -f1-64)
BODY="{\"data\":{\"ndarray\":[[$ROW]]}}"
cat >"$TMP/post.lua" <<EOF
wrk.method = "POST"
wrk.body = '$BODY'
wrk.headers["Content-Type"] = "application/json"
EOF
WEFT_PATH=$URL/seldon/default/digits/api/v1.0/predictions
curl -sf "${auth[@]}" -d "$BODY" "$WEFT_PATH" >"$TMP/answer.json" || die "weft does not answer predictions"

# run_wrk NAME URL [args]: fails on socket errors or non-2xx answers
run_wrk() {
	local name=$1 url=$2; shift 2
	wrk -t"$THREADS" -c"$CONNS" -d"${SECS}s" --latency -s "$TMP/post.lua" "$@" "$url" >"$TMP/wrk-$name.txt" 2>&1 ||
		{ cat "$TMP/wrk-$name.txt" >&2; die "wrk against $name failed"; }
	grep -qE "Non-2xx|Socket errors" "$TMP/wrk-$name.txt" && { cat "$TMP/wrk-$name.txt" >&2; die "wrk against $name saw errors"; }
	return 0
}
field() { # file rps|p50|p99
	awk -v want="$2" '
		function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
		want == "rps" && /^Requests\/sec:/ { print $2 }
		want == "p50" && $1 == "50%" { printf "%.3f\n", ms($2) }
		want == "p99" && $1 == "99%" { printf "%.3f\n", ms($2) }' "$1"
}
say "serving: wrk -t$THREADS -c$CONNS -d${SECS}s against weft (native runtime) ..."
run_wrk weft "$WEFT_PATH" "${auth[@]}"
kill "${PIDS[0]}"; wait "${PIDS[0]}" 2>/dev/null || true; PIDS=()

# --- Flask + gunicorn (2 workers) with the same PyTorch model -----------------
FPORT=$(free_port)
MODEL_PT=$MODEL_PT $PY -m gunicorn -w 2 -b "127.0.0.1:$FPORT" --chdir "$ROOT/bench" --log-level warning \
	flask_app:app >"$TMP/gunicorn.log" 2>&1 &
PIDS+=($!)
FURL=http://127.0.0.1:$FPORT/api/v1.0/predictions
for _ in $(seq 300); do curl -sf -d "$BODY" "$FURL" >/dev/null 2>&1 && break; sleep 0.1; done
curl -sf -d "$BODY" "$FURL" >"$TMP/flask-answer.json" || { cat "$TMP/gunicorn.log" >&2; die "Flask does not answer"; }
say "serving: the same against Flask + gunicorn (2 workers, PyTorch) ..."
run_wrk flask "$FURL"
kill "${PIDS[0]}"; wait "${PIDS[0]}" 2>/dev/null || true; PIDS=()

# --- nginx: weft's answer as a static file ------------------------------------
NG=$TMP/nginx
mkdir -p "$NG/tmp" "$NG/www"
cp "$TMP/answer.json" "$NG/www/answer.json"
chmod -R a+rX "$NG"
NPORT=$(free_port)
cat >"$NG/nginx.conf" <<EOF
worker_processes 2;
error_log $NG/error.log;
pid $NG/nginx.pid;
events { worker_connections 1024; }
http {
	access_log off;
	default_type application/json;
	client_body_temp_path $NG/tmp/body;
	proxy_temp_path $NG/tmp/proxy;
	fastcgi_temp_path $NG/tmp/fastcgi;
	uwsgi_temp_path $NG/tmp/uwsgi;
	scgi_temp_path $NG/tmp/scgi;
	server {
		listen 127.0.0.1:$NPORT;
		root $NG/www;
		location / { error_page 405 =200 /answer.json; try_files /answer.json =404; }
	}
}
EOF
"$NGINX" -p "$NG" -c "$NG/nginx.conf" -g 'daemon off;' >"$NG/stderr.log" 2>&1 &
PIDS+=($!)
NURL=http://127.0.0.1:$NPORT/api/v1.0/predictions
wait_http "$NURL" || die "nginx did not start"
cmp -s <(curl -sf -d "$BODY" "$NURL") "$TMP/answer.json" || die "nginx does not answer weft's bytes to a POST"
say "serving: the same bytes from nginx (static) ..."
run_wrk nginx "$NURL"

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
W=$(field "$TMP/wrk-weft.txt" rps) F=$(field "$TMP/wrk-flask.txt" rps) N=$(field "$TMP/wrk-nginx.txt" rps)
echo "model serving: digits model, one row per request, Seldon ndarray JSON, wrk -t$THREADS -c$CONNS -d${SECS}s ($(wc -c <"$TMP/answer.json") byte answers)"
for n in weft flask nginx; do
	label=$n; [ $n = weft ] && label="weft (native ONNX)"; [ $n = flask ] && label="Flask+gunicorn x2 (torch)"
	[ $n = nginx ] && label="nginx static answer"
	printf '  %-26s %9.0f predictions/s  p50 %7.3f ms  p99 %7.3f ms\n' "$label" "$(field "$TMP/wrk-$n.txt" rps)" \
		"$(field "$TMP/wrk-$n.txt" p50)" "$(field "$TMP/wrk-$n.txt" p99)"
done
printf '  %-26s weft/Flask %sx (aim >= 15)  weft/nginx %s (aim >= 0.6)\n' "ratios" "$(ratio "$W" "$F")" "$(ratio "$W" "$N")"

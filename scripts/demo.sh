#!/usr/bin/env bash
# demo.sh - `make demo`: the whole weft training flow in under two minutes. Starts a
# private server (fresh home in a temp dir, a free port), exports the 8x8 digits data set,
# uploads it to a bucket, trains examples/digits-c with live logs, shows the job, downloads
# the trained model and checks its test accuracy (>= 0.9), then stops the server and prints
# how to explore further. Needs WEFT_BIN (the built weft), curl, unzip and python3-sklearn.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
WEFT_BIN=${WEFT_BIN:-$ROOT/build/weft}
PY=/usr/bin/python3           # Debian's python3, the one that sees python3-sklearn
MIN_ACCURACY=0.9
TRAIN_TIMEOUT_S=${WEFT_DEMO_TIMEOUT:-100}

if [ -t 1 ]; then bold=$'\033[1m' plain=$'\033[0m'; else bold='' plain=''; fi
say()  { printf '\n%s==> %s%s\n' "$bold" "$*" "$plain"; }
fail() {
	printf '\ndemo: FAILED: %s\n' "$*" >&2
	if [ -n "${work:-}" ] && [ -s "$work/server.log" ]; then
		printf -- '--- last lines of the server log (%s) ---\n' "$work/server.log" >&2
		tail -n 30 "$work/server.log" >&2
	fi
	exit 1
}
weft() { "$WEFT_BIN" "$@"; }

[ -x "$WEFT_BIN" ] || fail "$WEFT_BIN is not an executable; build it with 'make' (or set WEFT_BIN)"
for tool in curl unzip "$PY"; do
	command -v "$tool" >/dev/null || fail "$tool is missing; run scripts/setup.sh"
done
started=$(date +%s)

work=$(mktemp -d "${TMPDIR:-/tmp}/weft-demo.XXXXXX")
home=$work/home
server_pid=
stop_server() {
	[ -n "$server_pid" ] || return 0
	kill -TERM "$server_pid" 2>/dev/null || true
	for _ in $(seq 50); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$server_pid" 2>/dev/null || true
	wait "$server_pid" 2>/dev/null || true
	server_pid=
}
trap stop_server EXIT
trap 'exit 130' INT TERM

free_port() {
	"$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# The CLI finds the server by WEFT_SERVER and its identity in $WEFT_HOME/admin.token,
# which the server writes on first start; anything inherited must not override that.
unset WEFT_TOKEN DLAAS_URL DLAAS_USERNAME DLAAS_PASSWORD
export WEFT_HOME=$home

# --- 1. a private server -----------------------------------------------------------------
# A port found free can be taken before the server binds it, so try a few.
for attempt in 1 2 3; do
	port=$(free_port) || fail "cannot find a free TCP port"
	url=http://127.0.0.1:$port
	say "starting weft server on $url (home $home)"
	"$WEFT_BIN" server --listen "127.0.0.1:$port" --home "$home" >"$work/server.log" 2>&1 &
	server_pid=$!
	up=0
	for _ in $(seq 150); do       # up to 15 s
		if ! kill -0 "$server_pid" 2>/dev/null; then break; fi
		if curl -fsS -o /dev/null --max-time 2 "$url/health" 2>/dev/null; then up=1; break; fi
		sleep 0.1
	done
	[ "$up" = 1 ] && break
	kill -0 "$server_pid" 2>/dev/null && fail "the server runs but does not answer $url/health"
	wait "$server_pid" 2>/dev/null || true
	server_pid=
	[ "$attempt" = 3 ] && fail "the server exited at start; its log: $work/server.log"
	echo "demo: the server exited at start on port $port; trying another port" >&2
done
export WEFT_SERVER=$url
printf '%s\n' "$(curl -fsS "$url/health")"

# --- 2. the data -------------------------------------------------------------------------
say "exporting scikit-learn's 8x8 digits data set"
"$PY" "$ROOT/scripts/export-digits.py" "$work/digits" || fail "cannot export the digits data set"

say "uploading it to the bucket 'digits': weft data put digits ..."
weft data put digits "$work/digits/digits-train.csv" "$work/digits/digits-test.csv" \
	|| fail "weft data put failed"

# --- 3. training -------------------------------------------------------------------------
say "training: weft train examples/digits-c/manifest.yml examples/digits-c --follow"
sed -n '/^name:/,$p' "$ROOT/examples/digits-c/manifest.yml"
echo
id=$(timeout "$TRAIN_TIMEOUT_S" "$WEFT_BIN" train "$ROOT/examples/digits-c/manifest.yml" \
	"$ROOT/examples/digits-c" --follow) || rc=$?
[ -n "$id" ] || fail "weft train did not return a training id"
if [ "${rc:-0}" = 124 ]; then
	fail "training $id did not finish within ${TRAIN_TIMEOUT_S}s"
elif [ "${rc:-0}" != 0 ]; then
	weft show "$id" >&2 || true
	fail "training $id did not complete (weft train exited with ${rc})"
fi

say "weft show $id"
weft show "$id" || fail "weft show $id failed"

say "weft metrics $id --plot   (recognised in the training log, no configuration)"
weft metrics "$id" || fail "weft metrics $id failed"
weft metrics "$id" --plot | sed -n 1,16p || fail "weft metrics $id --plot failed"

# --- 4. the trained model ----------------------------------------------------------------
say "weft download $id -o $work/model.zip"
weft download "$id" -o "$work/model.zip" || fail "weft download $id failed"
mkdir -p "$work/result"
unzip -o -q "$work/model.zip" -d "$work/result" || fail "$work/model.zip is not a valid zip"
echo "contents:"
(cd "$work/result" && find . -type f | sed 's|^\./|  |' | sort)
results=$(find "$work/result" -name results.json -type f | head -n 1)
[ -n "$results" ] || fail "the downloaded results hold no results.json"
accuracy=$("$PY" -c 'import json, sys; print("%.4f" % json.load(open(sys.argv[1]))["test_accuracy"])' \
	"$results") || fail "cannot read test_accuracy from $results"
"$PY" -c 'import sys; sys.exit(0 if float(sys.argv[1]) >= float(sys.argv[2]) else 1)' \
	"$accuracy" "$MIN_ACCURACY" || fail "test accuracy $accuracy is below $MIN_ACCURACY"

stop_server
elapsed=$(( $(date +%s) - started ))
say "test accuracy: $accuracy  (job $id, demo took ${elapsed}s)"
bindir=$(cd "$(dirname "$WEFT_BIN")" && pwd)
cat <<EOF

The demo's server is stopped; its data stays in $home
(server log: $work/server.log). Start it again and explore:

  export PATH=$bindir:\$PATH WEFT_HOME=$home WEFT_SERVER=$url
  weft server --listen 127.0.0.1:$port --home $home >$work/server.log 2>&1 &
  weft list                               # every job: id, name, framework, status
  weft show $id         # the job: resources, data stores, status history
  weft logs $id         # its log lines (-f follows a running job, --search TEXT finds lines)
  weft metrics $id --plot   # each metric over the iterations (-f follows a running job)
  weft download $id -o model.zip   # model.bin, results.json, training log
  weft train examples/digits-c/manifest.yml examples/digits-c --follow
  weft train examples/digits-pytorch/manifest.yml examples/digits-pytorch --follow  # needs python3-torch
  weft halt ID; weft resume ID            # stop a job, then continue it from its checkpoint
  curl -H "Authorization: Bearer \$(cat $home/admin.token)" $url/v1/models

The REST API is FfDL's (docs/api.md); the example learners: examples/*/README.md.
Stop the server with: kill %1   (or: kill PID)
Remove the demo's files with: rm -rf $work
EOF

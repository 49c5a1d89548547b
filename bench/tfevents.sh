#!/usr/bin/env bash
# bench/tfevents.sh - event-file reading for `make bench` (bench/run.sh calls
# it): bench/tfevents.c writes an event file of BENCH_TFE_EVENTS scalar
# events (default 1,000,000; half TF 2.x tensor scalars, half torch
# simple_value) and times weft's reader (tfe_parse: framing, CRC-32C, Event
# decoding, records with their texts) over it; the baseline, in the same run
# on the same file, is tests/tools/tfevents.py, a pure-Python reader (CRC-32C
# and protobuf decoding in Python, as a collector without TensorFlow would
# do). Also prints the CRC-checked framing pass alone, the floor for any
# reader. Needs WEFT_BIN (its directory holds libweft.a and gen/).
# Summary lines on stdout; progress on stderr.
set -euo pipefail

: "${WEFT_BIN:?set WEFT_BIN to the weft binary (make bench does)}"
EVENTS=${BENCH_TFE_EVENTS:-1000000}
RUNS=${BENCH_TFE_RUNS:-3}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "$(dirname "$WEFT_BIN")" && pwd)
TOOLS=$ROOT/build/bench-tools
# Debian's python3 (built with PGO) is the faster of the usual two: the fairer baseline
PYTHON=${PYTHON:-$(command -v /usr/bin/python3 || command -v python3 || true)}

die() { echo "bench: $*" >&2; exit 1; }
say() { echo "bench: $*" >&2; }

[[ "$EVENTS" =~ ^[0-9]+$ && "$EVENTS" -ge 1 ]] || die "BENCH_TFE_EVENTS='$EVENTS' is not a positive number"
[[ "$RUNS" =~ ^[0-9]+$ && "$RUNS" -ge 1 ]] || die "BENCH_TFE_RUNS='$RUNS' is not a positive number"
[ -f "$BUILD/libweft.a" ] || die "no $BUILD/libweft.a (build weft first: make)"
[ -f "$BUILD/gen/tfevent.pb-c.h" ] || die "no $BUILD/gen/tfevent.pb-c.h (build weft first: make)"
[ -n "$PYTHON" ] || die "python3 is not installed"

mkdir -p "$TOOLS"
BIN=$TOOLS/tfevents
if [ ! -x "$BIN" ] || [ "$ROOT/bench/tfevents.c" -nt "$BIN" ] || [ "$BUILD/libweft.a" -nt "$BIN" ]; then
	# shellcheck disable=SC2046
	cc -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror -I"$ROOT/src" -I"$BUILD/gen" -o "$BIN" \
		"$ROOT/bench/tfevents.c" "$BUILD/libweft.a" $(pkg-config --libs libprotobuf-c) -lm -pthread ||
		die "cannot build bench/tfevents.c"
fi

TMP=$(mktemp -d /tmp/weft-bench-tfe.XXXXXX)
cleanup() { if [ -n "${BENCH_KEEP:-}" ]; then say "kept $TMP"; else rm -rf "$TMP"; fi; }
trap cleanup EXIT
trap 'exit 130' INT TERM

kv() { sed -n "s/^$2=//p" "$1" | head -1; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.1f", a / b; else print "n/a" }'; }

FILE=$TMP/events.out.tfevents.bench
say "event files: writing $EVENTS scalar events, then tfe_parse over them (best of $RUNS) ..."
"$BIN" "$FILE" -n "$EVENTS" --runs "$RUNS" >"$TMP/weft.txt" || die "bench/tfevents failed"

say "event files: the same file through the pure-Python reader ($PYTHON) ..."
t0=$(date +%s.%N)
"$PYTHON" "$ROOT/tests/tools/tfevents.py" read "$FILE" --quiet 2>"$TMP/py.txt" || { cat "$TMP/py.txt" >&2; die "tfevents.py read failed"; }
t1=$(date +%s.%N)
grep -q "scalars=$EVENTS " "$TMP/py.txt" || { cat "$TMP/py.txt" >&2; die "the Python reader did not find $EVENTS scalars"; }

RECORDS=$(kv "$TMP/weft.txt" records)
BYTES=$(kv "$TMP/weft.txt" bytes)
WR=$(kv "$TMP/weft.txt" parse_rps)
FR=$(kv "$TMP/weft.txt" frame_rps)
PS=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
PR=$(awk -v n="$RECORDS" -v s="$PS" 'BEGIN { printf "%.0f", n / s }')
echo "event files: $RECORDS records ($(awk -v b="$BYTES" 'BEGIN { printf "%.1f", b / 1e6 }') MB, $EVENTS scalar events: TF 2.x tensors and torch simple_values)"
printf '  %-22s weft %9.0f records/s (%s MB/s) | pure-Python reader %7.0f records/s (%s s) | ratio %sx\n' \
	"tfe_parse" "$WR" "$(kv "$TMP/weft.txt" parse_mbps)" "$PR" "$PS" "$(ratio "$WR" "$PR")"
printf '  %-22s %9.0f records/s (CRC-32C of length and data, no decoding: the floor for any reader)\n' \
	"framing pass alone" "$FR"

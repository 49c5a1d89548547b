#!/usr/bin/env bash
# bench/ingest.sh - log ingestion for `make bench` (bench/run.sh calls it):
# a realistic Keras-style training log of BENCH_INGEST_LINES lines (default
# 1,000,000: `Epoch e/E` headers, 1875 progress lines per epoch with loss and
# accuracy, an epoch summary with val_ metrics) goes through the collector
# and the store (bench/ingest.c: tds_collect with the `auto` extractor, so
# lines, their full-text index, metric records and metric summaries), and,
# for the cost of the lines alone, with the `logger` type. The baseline, on
# the same file in the same run, is `grep -c` of the metric pattern.
# Summary lines on stdout; progress on stderr. Needs WEFT_BIN.
set -euo pipefail

: "${WEFT_BIN:?set WEFT_BIN to the weft binary (make bench does)}"
LINES=${BENCH_INGEST_LINES:-1000000}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "$(dirname "$WEFT_BIN")" && pwd)
TOOLS=$ROOT/build/bench-tools
PKGS=$(sed -n "s/^PKGS *:= *//p" "$ROOT/Makefile") # the libraries libweft.a needs

die() { echo "bench: $*" >&2; exit 1; }
say() { echo "bench: $*" >&2; }

[[ "$LINES" =~ ^[0-9]+$ && "$LINES" -ge 1 ]] || die "BENCH_INGEST_LINES='$LINES' is not a positive number"
[ -f "$BUILD/libweft.a" ] || die "no $BUILD/libweft.a (build weft first: make)"
mkdir -p "$TOOLS"
if [ ! -x "$TOOLS/ingest" ] || [ "$ROOT/bench/ingest.c" -nt "$TOOLS/ingest" ] || [ "$BUILD/libweft.a" -nt "$TOOLS/ingest" ]; then
	# shellcheck disable=SC2046,SC2086
	cc -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror -I"$ROOT/src" -I"$BUILD/gen" -pthread \
		-o "$TOOLS/ingest" "$ROOT/bench/ingest.c" "$BUILD/libweft.a" $(pkg-config --cflags --libs $PKGS) -lm ||
		die "cannot build bench/ingest.c"
fi

TMP=$(mktemp -d /tmp/weft-bench-ingest.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
LOG=$TMP/keras.log
say "ingestion: writing a Keras-style log of $LINES lines ..."
awk -v lines="$LINES" 'BEGIN {
	steps = 1875; n = 0; e = 0
	while (n < lines) {
		e++; print "Epoch " e "/1000"; n++
		loss = 2.3 / e; acc = 1 - loss / 3
		for (k = 1; k <= steps && n < lines; k++) {
			loss *= 0.9999; acc += 0.00001
			bar = int(k * 30 / steps); s = sprintf("%4d/%d [", k, steps)
			for (i = 0; i < 30; i++) s = s (i < bar ? "=" : (i == bar ? ">" : "."))
			if (k < steps)
				printf "%s] - ETA: %ds - loss: %.4f - accuracy: %.4f\n", s, (steps - k) / 300, loss, acc
			else
				printf "%s] - 7s 4ms/step - loss: %.4f - accuracy: %.4f - val_loss: %.4f - val_accuracy: %.4f\n", s, loss, acc, loss * 1.1, acc - 0.01
			n++
		}
	}
}' >"$LOG"
BYTES=$(stat -c %s "$LOG")
cat "$LOG" >/dev/null # the same warm page cache for everyone

ns() { date +%s%N; }
t0=$(ns); GREP_N=$(grep -c 'loss: ' "$LOG"); t1=$(ns)
GREP_S=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
say "ingestion: grep -c 'loss: ' counted $GREP_N lines in ${GREP_S}s"

run_ingest() { # type: prints the ingest tool's key=value output
	rm -rf "$TMP/home"
	"$TOOLS/ingest" "$TMP/home" "$LOG" "$1" 2>"$TMP/ingest-$1.err" || { cat "$TMP/ingest-$1.err" >&2; die "ingest ($1) failed"; }
}
say "ingestion: through the collector and the store with the auto extractor ..."
run_ingest auto >"$TMP/auto.txt"
say "ingestion: the same with the logger type (lines and their search index only) ..."
run_ingest logger >"$TMP/logger.txt"
kv() { sed -n "s/^$2=//p" "$1"; }
[ "$(kv "$TMP/auto.txt" lines)" = "$LINES" ] || die "auto stored $(kv "$TMP/auto.txt" lines) lines, not $LINES"
[ "$(kv "$TMP/auto.txt" records)" = "$GREP_N" ] ||
	die "auto stored $(kv "$TMP/auto.txt" records) metric records; grep counts $GREP_N metric lines"

AUTO_RATE=$(kv "$TMP/auto.txt" lines_per_s) LOGGER_RATE=$(kv "$TMP/logger.txt" lines_per_s)
GREP_RATE=$(awk -v n="$LINES" -v s="$GREP_S" 'BEGIN { printf "%.0f", (s > 0 ? n / s : 0) }')
echo "log ingestion: $LINES Keras-style lines ($((BYTES / 1048576)) MiB), read, split, stored, indexed for search, metrics parsed and stored"
printf '  %-22s weft auto %9.0f lines/s (%s s, %s metric records) | grep -c %10.0f lines/s (%s s) | ratio %s\n' \
	"auto collector" "$AUTO_RATE" "$(kv "$TMP/auto.txt" seconds)" "$(kv "$TMP/auto.txt" records)" "$GREP_RATE" "$GREP_S" \
	"$(awk -v a="$AUTO_RATE" -v b="$GREP_RATE" 'BEGIN { printf "%.4f", (b > 0 ? a / b : 0) }')"
printf '  %-22s weft logger %7.0f lines/s (%s s; lines and search index, no metrics)\n' \
	"logger collector" "$LOGGER_RATE" "$(kv "$TMP/logger.txt" seconds)"

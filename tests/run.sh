#!/usr/bin/env bash
# run.sh - runs the whole weft test suite and ends with "N passed, N failed".
# Usage: WEFT_BIN=/abs/weft UNIT_DIR=/abs/dir/of/test_binaries tests/run.sh
# Runs every $UNIT_DIR/test_* (cmocka, TAP output), then tests/api/*.sh, tests/serve/*.sh and
# tests/lifecycle/*.sh (plan-less TAP from tests/lib.sh), JOBS at a time (default 2).
# TESTS=ERE runs only the programs whose name (e.g. "unit/test_manifest", "api/auth")
# matches. A program that exits non-zero without a "not ok" line, or prints fewer
# results than its plan, counts as one failure. "# SKIP" results are counted apart.
set -u

ROOT=$(cd "$(dirname "$0")/.." && pwd)
WEFT_BIN=${WEFT_BIN:-$ROOT/build/weft}
UNIT_DIR=${UNIT_DIR:-$(dirname "$WEFT_BIN")/tests}
JOBS=${JOBS:-2}
# per-program wall-clock limit (seconds); sanitizer builds are slower
case "$WEFT_BIN" in *asan* | *san*) : "${TIME_SCALE:=3}" ;; esac
TIME_SCALE=${TIME_SCALE:-1}
TEST_TIMEOUT=${TEST_TIMEOUT:-$((180 * TIME_SCALE))}
export WEFT_BIN TIME_SCALE CMOCKA_MESSAGE_OUTPUT=TAP

if [ ! -x "$WEFT_BIN" ]; then
	echo "run.sh: WEFT_BIN=$WEFT_BIN is not an executable" >&2
	echo "0 passed, 1 failed"
	exit 1
fi
for tool in curl jq zip unzip; do
	command -v "$tool" >/dev/null || { echo "run.sh: $tool is missing (make setup)" >&2; exit 1; }
done

OUT=$(mktemp -d "${TMPDIR:-/tmp}/weft-run.XXXXXX")
trap 'rm -rf "$OUT"' EXIT
trap 'exit 130' INT TERM

# ---- the programs, as "name<TAB>command"
progs=()
if [ -d "$UNIT_DIR" ]; then
	for b in "$UNIT_DIR"/test_*; do
		[ -f "$b" ] && [ -x "$b" ] || continue
		progs+=("unit/$(basename "$b")	$b")
	done
fi
for f in "$ROOT"/tests/api/*.sh "$ROOT"/tests/lifecycle/*.sh "$ROOT"/tests/serve/*.sh; do
	[ -f "$f" ] || continue
	rel=${f#"$ROOT"/tests/}
	progs+=("${rel%.sh}	bash $f")
done
if [ -n "${TESTS:-}" ]; then
	sel=()
	for p in "${progs[@]}"; do [[ ${p%%	*} =~ $TESTS ]] && sel+=("$p"); done
	progs=("${sel[@]+"${sel[@]}"}")
fi

passed=0 failed=0 skipped=0
failures=()
skips=()

# tally NAME OUTFILE RC SECONDS: counts one finished program and prints its output.
tally() {
	local name=$1 file=$2 rc=$3 secs=$4 line p=0 f=0 s=0 plan=
	echo "# ---- $name (${secs}s, exit $rc)"
	cat "$file"
	while IFS= read -r line; do
		case "$line" in
		"not ok "*)
			# a TODO result is an expected failure: not counted
			if [[ ${line,,} =~ \#[[:space:]]*todo ]]; then continue; fi
			f=$((f + 1))
			failures+=("$name: ${line#not ok }")
			;;
		"ok "*)
			if [[ ${line,,} =~ \#[[:space:]]*skip ]]; then
				s=$((s + 1))
				skips+=("$name: ${line#ok }")
			else
				p=$((p + 1))
			fi
			;;
		1..*) plan=${line#1..} plan=${plan%%[!0-9]*} ;;
		esac
	done <"$file"
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1
		if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
			failures+=("$name (timed out after ${TEST_TIMEOUT}s)")
		elif [ "$rc" -gt 128 ]; then
			failures+=("$name (killed by signal $((rc - 128)))")
		else
			failures+=("$name (exit $rc without a failed test)")
		fi
	elif [ -n "$plan" ] && [ $((p + f + s)) -lt "$plan" ]; then
		failures+=("$name (planned $plan tests, ran $((p + f + s)))")
		f=$((f + 1))
	fi
	passed=$((passed + p))
	failed=$((failed + f))
	skipped=$((skipped + s))
}

# run_one INDEX: runs program INDEX into $OUT/INDEX.out, exit status in $OUT/INDEX.rc
run_one() {
	local i=$1 cmd=${progs[$1]#*	} start=$SECONDS rc
	# shellcheck disable=SC2086 # cmd is "bash FILE" or a binary path
	# (in a subshell so that bash's own "Segmentation fault" notice goes to /dev/null)
	(TEST_NAME=$(basename "${progs[$1]%%	*}") timeout -k 10 "$TEST_TIMEOUT" $cmd >"$OUT/$i.out" 2>&1 </dev/null) 2>/dev/null
	rc=$?
	echo "$rc $((SECONDS - start))" >"$OUT/$i.rc"
}

start_all=$SECONDS
n=${#progs[@]}
# unit tests first, one at a time (they are quick), then the shell tests JOBS at a time
next=0
while [ $next -lt "$n" ] && [[ ${progs[$next]} == unit/* ]]; do
	run_one $next
	read -r rc secs <"$OUT/$next.rc"
	tally "${progs[$next]%%	*}" "$OUT/$next.out" "$rc" "$secs"
	next=$((next + 1))
done

declare -A running=()
while [ $next -lt "$n" ] || [ ${#running[@]} -gt 0 ]; do
	while [ $next -lt "$n" ] && [ ${#running[@]} -lt "$JOBS" ]; do
		run_one $next &
		running[$next]=$!
		next=$((next + 1))
	done
	wait -n 2>/dev/null || true
	for i in "${!running[@]}"; do
		if [ -f "$OUT/$i.rc" ] && ! kill -0 "${running[$i]}" 2>/dev/null; then
			wait "${running[$i]}" 2>/dev/null
			read -r rc secs <"$OUT/$i.rc"
			tally "${progs[$i]%%	*}" "$OUT/$i.out" "$rc" "$secs"
			unset "running[$i]"
		fi
	done
done

echo "# ---- summary: $n programs in $((SECONDS - start_all))s"
if [ ${#skips[@]} -gt 0 ]; then
	echo "skipped (${#skips[@]}):"
	printf '  %s\n' "${skips[@]}"
fi
if [ ${#failures[@]} -gt 0 ]; then
	echo "failed:"
	printf '  %s\n' "${failures[@]}"
fi
[ "$skipped" -gt 0 ] && echo "$skipped skipped"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]

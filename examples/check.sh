#!/usr/bin/env bash
# check.sh - tests the example learners by hand, without a weft server: the digits export,
# then each learner's build, per-epoch lines, accuracy, result files, halt (SIGTERM) and
# kill -9 followed by a resume that must end with the same weights as an uninterrupted run,
# damaged checkpoints and bad input. Plan-less TAP ("ok N - ...") as tests/run.sh counts it;
# exits 1 if any check failed. digits-pytorch is skipped when /usr/bin/python3 lacks torch.
set -u

ROOT=$(cd "$(dirname "$0")/.." && pwd)
PY=/usr/bin/python3
T=$(mktemp -d "${TMPDIR:-/tmp}/weft-examples.XXXXXX")
trap 'rm -rf "$T"' EXIT
N=0 FAILED=0

ok()     { N=$((N + 1)); echo "ok $N - $1"; }
not_ok() { N=$((N + 1)); FAILED=$((FAILED + 1)); echo "not ok $N - $1"; shift; printf '# %s\n' "$@"; }
skip()   { N=$((N + 1)); echo "ok $N - $1 # SKIP $2"; }
json_field() { "$PY" -c 'import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"; }
at_least() { "$PY" -c 'import sys; sys.exit(0 if float(sys.argv[1]) >= float(sys.argv[2]) else 1)' "$1" "$2"; }
epoch_re='^epoch ([0-9]+)/([0-9]+) loss=[0-9]+\.[0-9]{4} accuracy=[01]\.[0-9]{4} val_loss=[0-9]+\.[0-9]{4} val_accuracy=[01]\.[0-9]{4}$'

# ---- the data
D=$T/digits
if "$PY" "$ROOT/scripts/export-digits.py" "$D" >/dev/null &&
	[ "$(wc -l <"$D/digits-train.csv")" = 1438 ] && [ "$(wc -l <"$D/digits-test.csv")" = 361 ]; then
	ok "export-digits writes 1437 training and 360 test rows (plus headers)"
else
	not_ok "export-digits writes 1437 training and 360 test rows" "$(ls -l "$D" 2>&1)"
fi
"$PY" "$ROOT/scripts/export-digits.py" "$T/digits2" >/dev/null 2>&1
if cmp -s "$D/digits-train.csv" "$T/digits2/digits-train.csv" && cmp -s "$D/digits-test.csv" "$T/digits2/digits-test.csv"; then
	ok "export-digits is reproducible (same split every time)"
else
	not_ok "export-digits is reproducible"
fi
if "$PY" "$ROOT/scripts/export-digits.py" >/dev/null 2>&1; then
	not_ok "export-digits without OUTDIR is a usage error"
else
	ok "export-digits without OUTDIR is a usage error"
fi

# run_learner NAME DIR CMD... : runs a learner with DATA_DIR=$D and the given dirs, output in $T/NAME.log
run_learner() {
	local name=$1 dir=$2
	shift 2
	mkdir -p "$dir/results" "$dir/ckpt"
	DATA_DIR=$D RESULT_DIR=$dir/results CHECKPOINT_DIR=$dir/ckpt "$@" >"$T/$name.log" 2>&1
}

# interrupted NAME SIGNAL EPOCH CMD...: starts a slowed-down learner, sends SIGNAL once it
# has printed epoch EPOCH, then runs it again to the end; $T/NAME.log and $T/NAME-2.log
# hold the two runs' output.
interrupted() {
	local name=$1 sig=$2 epoch=$3 pid
	shift 3
	mkdir -p "$T/$name/results" "$T/$name/ckpt"
	DATA_DIR=$D RESULT_DIR=$T/$name/results CHECKPOINT_DIR=$T/$name/ckpt SLEEP_PER_EPOCH=0.3 \
		"$@" >"$T/$name.log" 2>&1 &
	pid=$!
	for _ in $(seq 600); do     # up to 60 s
		grep -q "^epoch $epoch/" "$T/$name.log" && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill "-$sig" "$pid"
	{ wait "$pid"; echo $? >"$T/$name.rc"; } 2>/dev/null  # no "Killed" notice from bash
	DATA_DIR=$D RESULT_DIR=$T/$name/results CHECKPOINT_DIR=$T/$name/ckpt "$@" >"$T/$name-2.log" 2>&1
}

# check_learner LABEL NAME MODELFILE SAME_CMD CMD... : the shared checks for one learner.
# SAME_CMD A B exits 0 when model files A and B hold the same weights.
check_learner() {
	local label=$1 name=$2 model=$3 same=$4
	shift 4
	local full=$T/$name-full

	local t0=$SECONDS
	if run_learner "$name-full" "$full" "$@"; then
		ok "$label trains to the end (exit 0, $((SECONDS - t0))s)"
	else
		not_ok "$label trains to the end" "$(tail -5 "$T/$name-full.log")"
	fi
	local lines
	lines=$(grep -cE "$epoch_re" "$T/$name-full.log")
	if [ "$lines" = 20 ] && grep -qE '^test_accuracy=[01]\.[0-9]{4}$' "$T/$name-full.log"; then
		ok "$label prints 20 epoch lines in the agreed format and test_accuracy="
	else
		not_ok "$label prints 20 epoch lines in the agreed format" "$lines matching lines" \
			"$(head -3 "$T/$name-full.log")"
	fi
	local acc
	acc=$(json_field "$full/results/results.json" test_accuracy 2>/dev/null)
	if [ -n "$acc" ] && at_least "$acc" 0.9 && [ "$(json_field "$full/results/results.json" epochs)" = 20 ] &&
		[ -s "$full/results/$model" ]; then
		ok "$label results.json says test_accuracy $acc >= 0.9 after 20 epochs; $model written"
	else
		not_ok "$label writes results.json with test_accuracy >= 0.9 and $model" \
			"$(cat "$full/results/results.json" 2>&1)" "$(ls -l "$full/results" 2>&1)"
	fi
	if grep -q "test_accuracy=$acc" "$T/$name-full.log"; then
		ok "$label prints the accuracy it stores"
	else
		not_ok "$label prints the accuracy it stores" "results.json: $acc"
	fi

	interrupted "$name-term" TERM 5 "$@"
	local rc n
	rc=$(cat "$T/$name-term.rc")
	n=$(sed -n 's/^resuming from checkpoint at epoch \([0-9]*\)$/\1/p' "$T/$name-term-2.log")
	if [ "$rc" = 143 ] && [ -n "$n" ] && [ "$n" -ge 1 ] && [ "$n" -lt 20 ] &&
		grep -q "^stopping on signal 15; the checkpoint at epoch $n is kept$" "$T/$name-term.log" &&
		grep -q "^epoch $((n + 1))/20 " "$T/$name-term-2.log" && ! grep -q "^epoch $n/20 " "$T/$name-term-2.log"; then
		ok "$label halts on SIGTERM (exit 143) and resumes after epoch $n"
	else
		not_ok "$label halts on SIGTERM and resumes from its checkpoint" "exit $rc, resumed at '${n}'" \
			"$(tail -2 "$T/$name-term.log")" "$(head -2 "$T/$name-term-2.log")"
	fi
	if $same "$full/results/$model" "$T/$name-term/results/$model"; then
		ok "$label halted and resumed ends with the same weights as an uninterrupted run"
	else
		not_ok "$label halted and resumed ends with the same weights as an uninterrupted run"
	fi

	interrupted "$name-kill" KILL 3 "$@"
	n=$(sed -n 's/^resuming from checkpoint at epoch \([0-9]*\)$/\1/p' "$T/$name-kill-2.log")
	if [ "$(cat "$T/$name-kill.rc")" = 137 ] && [ -n "$n" ] && $same "$full/results/$model" "$T/$name-kill/results/$model"; then
		ok "$label killed with -9 resumes after epoch $n and ends with the same weights"
	else
		not_ok "$label killed with -9 resumes from its checkpoint with the same weights" "resumed at '${n}'"
	fi
	local leftovers=("$T/$name-kill/ckpt/"*tmp*)
	if [ -e "${leftovers[0]}" ]; then
		not_ok "$label leaves no temporary checkpoint behind" "${leftovers[@]}"
	else
		ok "$label leaves no temporary checkpoint behind"
	fi

	# a run whose checkpoint is already at the last epoch only evaluates
	if run_learner "$name-again" "$T/$name-term" "$@" && grep -q '^resuming from checkpoint at epoch 20$' "$T/$name-again.log" &&
		[ "$(grep -cE "$epoch_re" "$T/$name-again.log")" = 0 ]; then
		ok "$label restarted after its last epoch trains no more"
	else
		not_ok "$label restarted after its last epoch trains no more" "$(head -3 "$T/$name-again.log")"
	fi

	# a damaged checkpoint is reported and training starts afresh
	mkdir -p "$T/$name-bad/ckpt"
	local ckpt
	for ckpt in "$T/$name-term/ckpt/"*; do
		head -c 100 "$ckpt" >"$T/$name-bad/ckpt/${ckpt##*/}"
	done
	if EPOCHS=2 run_learner "$name-bad" "$T/$name-bad" "$@" && grep -q 'ignoring checkpoint' "$T/$name-bad.log" &&
		grep -q '^epoch 1/2 ' "$T/$name-bad.log"; then
		ok "$label reports a damaged checkpoint and starts afresh"
	else
		not_ok "$label reports a damaged checkpoint and starts afresh" "$(head -3 "$T/$name-bad.log")"
	fi

	# bad input: exit 2 and a message that names the problem
	mkdir -p "$T/baddata"
	cp "$D/digits-test.csv" "$T/baddata/"
	{ head -3 "$D/digits-train.csv"; echo "0,1,2,x,4"; } >"$T/baddata/digits-train.csv"
	local out
	out=$(DATA_DIR=$T/nonexistent RESULT_DIR=$T "$@" 2>&1 >/dev/null); rc=$?
	if [ $rc = 2 ] && [[ $out == *"$T/nonexistent/digits-train.csv"* ]]; then
		ok "$label without data exits 2 naming the missing file"
	else
		not_ok "$label without data exits 2 naming the missing file" "exit $rc: $out"
	fi
	out=$(DATA_DIR=$T/baddata RESULT_DIR=$T "$@" 2>&1 >/dev/null); rc=$?
	if [ $rc = 2 ] && [[ $out == *"line 4"* ]]; then
		ok "$label with a bad row exits 2 naming the line"
	else
		not_ok "$label with a bad row exits 2 naming the line" "exit $rc: $out"
	fi
	out=$(DATA_DIR=$D RESULT_DIR=$T EPOCHS=many "$@" 2>&1 >/dev/null); rc=$?
	if [ $rc = 2 ] && [[ $out == *EPOCHS* ]]; then
		ok "$label with EPOCHS=many exits 2 naming the variable"
	else
		not_ok "$label with EPOCHS=many exits 2 naming the variable" "exit $rc: $out"
	fi
}

# ---- digits-c
C=$T/c
mkdir -p "$C"
if out=$(cc -O2 -std=c11 -Wall -Wextra -Werror -pedantic -o "$C/digits-train" "$ROOT/examples/digits-c/train.c" -lm 2>&1); then
	ok "digits-c compiles cleanly with -std=c11 -Wall -Wextra -Werror -pedantic"
	same_bytes() { cmp -s "$1" "$2"; }
	check_learner digits-c c model.bin same_bytes "$C/digits-train"
	if [ "$(stat -c %s "$T/c-full/results/model.bin")" = 19276 ] &&
		p=$("$PY" "$ROOT/examples/digits-c/predict.py" "$T/c-full/results/model.bin" "$D/digits-test.csv") &&
		[ "$p" = "accuracy=$(json_field "$T/c-full/results/results.json" test_accuracy) on 360 samples" ]; then
		ok "digits-c model.bin follows the documented format (predict.py: $p)"
	else
		not_ok "digits-c model.bin follows the documented format" "${p:-}"
	fi
else
	not_ok "digits-c compiles cleanly with -Wall -Wextra -Werror" "$out"
fi

# ---- digits-pytorch
if "$PY" -c 'import torch' 2>/dev/null; then
	same_torch() {
		"$PY" -c 'import sys, torch
a, b = torch.load(sys.argv[1]), torch.load(sys.argv[2])
sys.exit(0 if a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a) else 1)' "$1" "$2"
	}
	check_learner digits-pytorch torch model.pt same_torch "$PY" "$ROOT/examples/digits-pytorch/train.py"
else
	skip "digits-pytorch" "/usr/bin/python3 cannot import torch (apt-get install python3-torch)"
fi

echo "# $N checks, $FAILED failed"
[ "$FAILED" = 0 ]

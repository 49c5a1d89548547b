#!/usr/bin/env bash
# cli_metrics.sh - the metrics side of the weft CLI against a real server: `weft metrics`
# (table, --json, --points, --plot in braille and ASCII, -f until the job ends and its
# exit code), `weft compare` (final and best values, '*' on the best job, '-' for a
# missing metric, --json), `weft logs --search/--search-type/--learner` (paged and -f),
# the live metric line of `train --follow` on a terminal (and nothing extra off one),
# metrics -f across a server restart, --help and usage errors. Learners print
# Keras-style progress lines and name=value pairs, which the server's `auto` collector
# turns into metrics.
. "$(dirname "$0")/../lib.sh"
start_server
seed_bucket tdata
W=$WEFT_BIN
MODEL=$FIXTURES/model

# run_cli NAME EXPECTED_RC CMD...: runs the CLI, keeps stdout in $OUT, stderr in $ERR.
run_cli() {
	local name=$1 want=$2 rc
	shift 2
	"$@" >"$T/out" 2>"$T/err" </dev/null
	rc=$?
	OUT=$(cat "$T/out")
	ERR=$(cat "$T/err")
	if [ "$rc" = "$want" ]; then ok "$name"; else not_ok "$name" "command: $*" "expected exit $want, got $rc" "stdout: ${OUT:0:600}" "stderr: ${ERR:0:400}"; fi
}

# row METRIC: the table row(s) of $OUT for METRIC (second column)
row() { grep -E "^[^ ]+ +$1 " <<<"$OUT"; }

# submit_cli NAME COMMAND [EXTRA_YAML]: weft train; sets JID
submit_cli() {
	local m
	m=$(manifest "$@")
	JID=$("$W" train "$m" "$MODEL" 2>"$T/train.err")
	[[ $JID =~ ^training- ]] || { not_ok "submit $1" "$(cat "$T/train.err")"; JID=training-none; }
}

# ---- help and usage errors (no job needed)
for c in metrics compare; do
	run_cli "weft $c --help exits 0" 0 "$W" "$c" --help
	check_match "weft $c --help shows its usage" "usage: weft $c" "$OUT"
	check_match "weft $c --help documents --json" '--json' "$OUT"
done
run_cli "weft metrics --help" 0 "$W" metrics --help
check_match "metrics --help documents -f, --plot and --points" '--follow.*--plot.*--points' "$(tr '\n' ' ' <<<"$OUT")"
run_cli "weft logs --help" 0 "$W" logs --help
check_match "logs --help documents --search, --search-type and --learner" '--search.*--search-type.*--learner' "$(tr '\n' ' ' <<<"$OUT")"
check_match "weft --help lists metrics and compare" 'metrics.*compare' "$("$W" --help | tr '\n' ' ')"
run_cli "metrics --points abc exits 1" 1 "$W" metrics training-x --points abc
check_match "metrics --points abc names --points and the value" "--points: 'abc' is not" "$ERR"
run_cli "metrics --points 0 exits 1" 1 "$W" metrics training-x --points 0
check_match "metrics --points 0 names --points" '--points' "$ERR"
run_cli "metrics --bogus exits 1" 1 "$W" metrics training-x --bogus
check_match "metrics: unknown option is named" "unknown option '--bogus'" "$ERR"
run_cli "metrics without an id exits 1" 1 "$W" metrics
check_match "metrics without an id says so" 'missing the training job ID' "$ERR"
run_cli "metrics --json --plot exits 1" 1 "$W" metrics training-x --json --plot
run_cli "compare with one id exits 1" 1 "$W" compare training-x
check_match "compare with one id says two are needed" 'two or more' "$ERR"
run_cli "compare --frob exits 1" 1 "$W" compare a b --frob
check_match "compare: unknown option is named" "unknown option '--frob'" "$ERR"
run_cli "logs --search-type FOO exits 1" 1 "$W" logs training-x --search FOO --search-type FOO
check_match "logs: a bad --search-type is named" "--search-type: 'FOO'" "$ERR"
run_cli "logs --learner x exits 1" 1 "$W" logs training-x --learner x
check_match "logs: a bad --learner is named" "--learner: 'x' is not" "$ERR"
run_cli "logs --search-type MATCH without --search exits 1" 1 "$W" logs training-x --search-type MATCH
run_cli "logs --search '' exits 1" 1 "$W" logs training-x --search ''

# ---- two Keras jobs and a name=value one
# (one line: the server joins a multi-line command into one, as FfDL did)
keras='for e in 1 2 3; do echo "Epoch $e/3"; echo "100/100 [==============================] - 1s 10ms/step - loss: 0.$((L - e))$LS - accuracy: 0.$((A + e))$LS - val_loss: 0.$((L + 1 - e))000 - val_accuracy: 0.$((A - 1 + e))000"; done'
submit_cli cm-a "L=6; A=6; LS=000; $keras; echo 'step=1 score=5'; echo 'step=2 score=7'; echo 'odd & chars: 50% #1 +x'"
A=$JID
submit_cli cm-b "L=5; A=5; LS=500; $keras"
B=$JID
submit_cli cm-c 'echo "hello from learner $LEARNER_ID"; echo "shared line"' 'learners: 2'
C=$JID
wait_status "$A" COMPLETED 30 || not_ok "job A completes"
wait_status "$B" COMPLETED 30 || not_ok "job B completes"
wait_status "$C" COMPLETED 30 || not_ok "job C completes"
# the collector may store the last records just after the status: give it a moment
for i in $(seq 1 $((20 * TIME_SCALE))); do
	n=$("$W" metrics "$A" --json 2>/dev/null | jq -r '[.metrics[] | select(.name=="loss" or .name=="score") | .count] | add' 2>/dev/null)
	[ "$n" = 5 ] && break
	sleep 0.25
done

# ---- weft metrics: the table
run_cli "weft metrics exits 0" 0 "$W" metrics "$A"
check_match "the table has the column headers" 'GROUP +METRIC +LAST +ITER +MIN +MAX +COUNT' "$OUT"
check_match "the summary line names the job and its status" "^$A +COMPLETED" "$OUT"
check_match "loss: last 0.3, min 0.3, max 0.5, 3 values" '^[^ ]+ +loss +0\.3 +[0-9]+ +0\.3 +0\.5 +3$' "$(row loss)"
check_match "accuracy: last 0.9, min 0.7, max 0.9" '^[^ ]+ +accuracy +0\.9 +[0-9]+ +0\.7 +0\.9 +3$' "$(row accuracy)"
check_match "val_loss is a metric of its own" '^[^ ]+ +val_loss +0\.4 +[0-9]+ +0\.4 +0\.6 +3$' "$(row val_loss)"
check_match "val_accuracy is a metric" '^[^ ]+ +val_accuracy +0\.8 ' "$(row val_accuracy)"
check_match "name=value: score last 7 at step 2, min 5, max 7" '^[^ ]+ +score +7 +2 +5 +7 +2$' "$(row score)"
run_cli "weft metrics of a job without metrics exits 0" 0 "$W" metrics "$C"
check_match "a job without metrics says so" 'no metrics yet' "$OUT"

# ---- --json and --points
run_cli "weft metrics --json exits 0" 0 "$W" metrics "$A" --json
check_eq "--json: the model id" "$A" "$(jq -r '.model_id' <<<"$OUT" 2>&1)"
check_eq "--json: loss last value" "0.3" "$(jq -r '.metrics[] | select(.name=="loss") | .last.value' <<<"$OUT" 2>&1)"
check_eq "--json: loss min and max" "0.3 0.5" "$(jq -r '.metrics[] | select(.name=="loss") | "\(.min.value) \(.max.value)"' <<<"$OUT" 2>&1)"
check_eq "--json: the loss history (3 points)" "0.5 0.4 0.3" "$(jq -r '[.metrics[] | select(.name=="loss") | .history[].value | tostring] | join(" ")' <<<"$OUT" 2>&1)"
check_eq "--json: score history iterations" "1 2" "$(jq -r '[.metrics[] | select(.name=="score") | .history[].iteration | tostring] | join(" ")' <<<"$OUT" 2>&1)"
run_cli "weft metrics --json --points 2 exits 0" 0 "$W" metrics "$A" --json --points 2
check_eq "--points 2: two history points, the first and the last" "0.5 0.3" \
	"$(jq -r '[.metrics[] | select(.name=="loss") | .history[].value | tostring] | join(" ")' <<<"$OUT" 2>&1)"
run_cli "weft metrics of an unknown job exits 1" 1 "$W" metrics training-ZZZZZZZZZ

# ---- --plot
run_cli "weft metrics --plot (UTF-8) exits 0" 0 env LC_ALL=C.UTF-8 "$W" metrics "$A" --plot
check_match "--plot titles each chart with the metric" 'loss \(.*\): last 0\.3' "$OUT"
check_match "--plot titles the name=value metric" 'score \(.*\): last 7 at iteration 2' "$OUT"
if LC_ALL=C grep -q $'\xe2[\xa0-\xa3]' "$T/out"; then ok "--plot in UTF-8 draws braille dots"; else not_ok "--plot in UTF-8 draws braille dots" "$OUT"; fi
check_match "--plot labels the y axis with max and min" '0\.5 ┤.*0\.3 ┤' "$(tr '\n' ' ' <<<"$OUT")"
check_match "--plot draws the x axis with the iteration range" '└─+.* 1 +iteration +2' "$(tr '\n' ' ' <<<"$OUT")"
run_cli "weft metrics --plot (ASCII) exits 0" 0 env LC_ALL=C LANG= "$W" metrics "$A" --plot
if LC_ALL=C grep -q $'[\x80-\xff]' "$T/out"; then not_ok "--plot in the C locale is pure ASCII" "$OUT"; else ok "--plot in the C locale is pure ASCII"; fi
check_match "--plot ASCII draws points and axes" "[.':].*\+---" "$(tr '\n' ' ' <<<"$OUT")"
check_eq "--plot off a terminal is 80 columns wide at most" "" "$(awk 'length($0) > 80' "$T/out")"
check_eq "--plot: one chart per metric" "5" "$(grep -c -- '-----' "$T/out")"

# ---- weft compare
run_cli "weft compare A B exits 0" 0 "$W" compare "$A" "$B"
check_match "compare lists the jobs with their status" "\[1\] +$A +COMPLETED" "$OUT"
check_match "compare lists the second job" "\[2\] +$B +COMPLETED" "$OUT"
check_match "compare has the column headers" 'GROUP +METRIC +GOAL +FINAL\[1\] +BEST\[1\] +FINAL\[2\] +BEST\[2\]' "$OUT"
check_match "loss: min is best; B's 0.25 wins" '^[^ ]+ +loss +min +0\.3 +0\.3 +0\.25 +0\.25\*$' "$(row loss)"
check_match "accuracy: max is best; A's 0.9 wins" '^[^ ]+ +accuracy +max +0\.9 +0\.9\* +0\.85 +0\.85$' "$(row accuracy)"
check_match "val_loss: lower is better" '^[^ ]+ +val_loss +min +0\.4 +0\.4 +0\.3 +0\.3\*$' "$(row val_loss)"
check_match "a metric only A has: '-' for B" '^[^ ]+ +score +max +7 +7\* +- +-$' "$(row score)"
run_cli "weft compare --json exits 0" 0 "$W" compare "$A" "$B" --json
check_eq "compare --json: the jobs" "$A $B" "$(jq -r '[.jobs[].model_id] | join(" ")' <<<"$OUT" 2>&1)"
check_eq "compare --json: loss goal, finals and best job" "min 0.3 0.25 false true" \
	"$(jq -r '.metrics[] | select(.name=="loss") | "\(.goal) \(.values[0].final) \(.values[1].final) \(.values[0].best_job) \(.values[1].best_job)"' <<<"$OUT" 2>&1)"
check_eq "compare --json: accuracy best values" "max 0.9 0.85 true" \
	"$(jq -r '.metrics[] | select(.name=="accuracy") | "\(.goal) \(.values[0].best) \(.values[1].best) \(.values[0].best_job)"' <<<"$OUT" 2>&1)"
check_eq "compare --json: a missing metric is null" "7 null" \
	"$(jq -r '.metrics[] | select(.name=="score") | "\(.values[0].final) \(.values[1].final)"' <<<"$OUT" 2>&1)"
run_cli "compare of three jobs (one without metrics) exits 0" 0 "$W" compare "$A" "$B" "$C"
check_match "the third job gets '-'" '^[^ ]+ +loss +min +0\.3 +0\.3 +0\.25 +0\.25\* +- +-$' "$(row loss)"
run_cli "compare with an unknown job exits 1" 1 "$W" compare "$A" training-ZZZZZZZZZ

# ---- weft logs --search / --search-type / --learner
run_cli "logs --search exits 0" 0 "$W" logs "$A" --search Epoch
check_eq "logs --search (TERM) prints the matching lines" $'Epoch 1/3\nEpoch 2/3\nEpoch 3/3' "$OUT"
run_cli "logs --search-type NESTED exits 0" 0 "$W" logs "$A" --search 'loss: 0.4000 - accuracy' --search-type nested
check_match "NESTED: a substring with punctuation" '^100/100 .*loss: 0\.4000 - accuracy: 0\.8000' "$OUT"
check_eq "NESTED: exactly one line" "1" "$(grep -c . <<<"$OUT")"
run_cli "logs --search-type MATCH exits 0" 0 "$W" logs "$A" --search 'scor*' --search-type MATCH
check_eq "MATCH: an FTS5 prefix query" $'step=1 score=5\nstep=2 score=7' "$OUT"
run_cli "logs --search with blanks and URL symbols exits 0" 0 "$W" logs "$A" --search '& chars: 50% #1 +x' --search-type NESTED
check_eq "the search text travels intact (escaped)" "odd & chars: 50% #1 +x" "$OUT"
run_cli "logs --search -f on an ended job exits 0" 0 timeout $((30 * TIME_SCALE)) "$W" logs -f "$A" --search Epoch
check_eq "logs -f --search prints the matching lines" $'Epoch 1/3\nEpoch 2/3\nEpoch 3/3' "$OUT"
run_cli "logs --learner 2 exits 0" 0 "$W" logs "$C" --learner 2
check_eq "--learner 2: only learner 2's lines" $'hello from learner 2\nshared line' "$OUT"
run_cli "logs --learner 1 --search hello exits 0" 0 "$W" logs "$C" --learner 1 --search hello
check_eq "--learner with --search" "hello from learner 1" "$OUT"
run_cli "logs --learner 2 --json exits 0" 0 "$W" logs "$C" --learner 2 --json
check_eq "--json: subid is learner-2" "learner-2 learner-2" "$(jq -r '.meta.subid' <<<"$OUT" 2>&1 | tr '\n' ' ' | sed 's/ $//')"

# paging with a filter: more matches than one page
submit_cli cm-many 'for i in $(seq 1 2500); do echo "tick $i"; echo "tock $i"; done'
wait_status "$JID" COMPLETED 60 || not_ok "the many-lines job completes"
for i in $(seq 1 $((20 * TIME_SCALE))); do
	[ "$(loglines "$JID" 'pos=-1&pagesize=1')" = "tock 2500" ] && break
	sleep 0.25
done
run_cli "logs --search over several pages exits 0" 0 "$W" logs "$JID" --search tick
check_eq "every matching line, once, in order (2500 over 3 pages)" "$(seq 1 2500 | sed 's/^/tick /')" "$OUT"

# ---- logs -f --search on a running job
submit_cli cm-follow 'for i in 1 2 3 4; do echo "tick $i"; echo "other $i"; sleep 0.4; done'
run_cli "logs -f --search on a running job exits 0 when it ends" 0 timeout $((60 * TIME_SCALE)) "$W" logs -f "$JID" --search tick
check_eq "logs -f --search: each matching line once, in order" $'tick 1\ntick 2\ntick 3\ntick 4' "$OUT"

# ---- metrics -f
submit_cli cm-mf 'for i in 1 2 3 4 5; do echo "step=$i loss=0.$((9 - i))"; sleep 0.5; done'
MF=$JID
run_cli "metrics -f exits 0 when the job completes" 0 timeout $((60 * TIME_SCALE)) "$W" metrics -f "$MF"
check_match "metrics -f: the header" 'GROUP +METRIC +LAST +ITER' "$OUT"
check_match "metrics -f: the final loss row" '^[^ ]+ +loss +0\.4 +5 +0\.4 +0\.8 +5$' "$(row loss | tail -n 1)"
check_match "metrics -f: the final status on stderr" "$MF COMPLETED" "$ERR"
check_eq "metrics -f: the header once" "1" "$(grep -c 'GROUP' <<<"$OUT")"
run_cli "metrics -f --json on an ended job exits 0" 0 timeout $((30 * TIME_SCALE)) "$W" metrics -f "$MF" --json
check_eq "metrics -f --json: one JSON line with the final status" "COMPLETED" "$(tail -n 1 <<<"$OUT" | jq -r '.status' 2>&1)"
run_cli "metrics -f --plot off a terminal exits 0" 0 timeout $((30 * TIME_SCALE)) env LC_ALL=C "$W" metrics -f "$MF" --plot
check_match "metrics -f --plot prints the charts at the end" 'loss \(.*\): last 0\.4 at iteration 5' "$OUT"
submit_cli cm-fail 'echo "loss=1.5"; sleep 1; exit 3'
run_cli "metrics -f exits 1 when the job FAILED" 1 timeout $((60 * TIME_SCALE)) "$W" metrics -f "$JID"
check_match "metrics -f names the failure" "$JID FAILED" "$ERR"

# ---- train --follow: the live metric line
tl='for i in 1 2 3 4 5 6 7 8; do echo "step=$i loss=0.$((9 - i))"; sleep 0.5; done'
m=$(manifest cm-live "$tl")
run_cli "train --follow off a terminal exits 0" 0 timeout $((60 * TIME_SCALE)) "$W" train "$m" "$MODEL" --follow
check_nomatch "off a terminal: no metric line, no escapes" $'metrics:|\033' "$ERR"
check_match "off a terminal: the log lines and the status as before" 'step=8 loss=0\.1.*COMPLETED' "$(tr '\n' ' ' <<<"$ERR")"
if command -v script >/dev/null; then
	# a pseudo-terminal for stdout and stderr; stdin stays /dev/null
	TERM=xterm timeout $((60 * TIME_SCALE)) script -qec "'$W' train '$m' '$MODEL' --follow" "$T/tty.txt" >/dev/null 2>&1 </dev/null
	rc=$?
	check_eq "train --follow on a terminal exits 0" "0" "$rc"
	tty=$(tr -d '\r' <"$T/tty.txt")
	check_match "on a terminal: the live line is drawn in place" $'\033\\[K\033\\[7miteration [0-9]+  loss 0\\.' "$tty"
	check_match "on a terminal: a final metrics line with the last values" 'metrics: iteration 8  loss 0\.1' "$tty"
	check_match "on a terminal: the log lines still come, then the status" 'step=8 loss=0\.1.*COMPLETED' "$(tr '\n' ' ' <<<"$tty")"
else
	skip "train --follow on a terminal" "no script(1) to make a pseudo-terminal"
fi

# ---- metrics -f rides out a server restart
submit_cli cm-restart 'for i in $(seq 1 12); do echo "step=$i loss=$((100 - i))"; sleep 0.5; done'
RJ=$JID
wait_log "$RJ" '^step=2 ' 20
timeout $((90 * TIME_SCALE)) "$W" metrics -f "$RJ" >"$T/rout" 2>"$T/rerr" </dev/null &
mpid=$!
sleep 1
kill9_server
sleep 1
restart_server
wait "$mpid"
rc=$?
OUT=$(cat "$T/rout")
check_eq "metrics -f across a server restart exits 0" "0" "$rc"
check_match "metrics -f said it lost the connection" 'lost the connection.*retrying' "$(cat "$T/rerr")"
check_match "metrics -f ends with the final values" '^[^ ]+ +loss +88 +12 +88 +99 +12$' "$(row loss | tail -n 1)"

# ---- server unreachable: exit 2
dead=http://127.0.0.1:$(free_port)
run_cli "metrics with the server unreachable exits 2" 2 env WEFT_SERVER="$dead" "$W" metrics "$A"
run_cli "compare with the server unreachable exits 2" 2 env WEFT_SERVER="$dead" "$W" compare "$A" "$B"
run_cli "logs --search with the server unreachable exits 2" 2 env WEFT_SERVER="$dead" "$W" logs "$A" --search x

done_testing

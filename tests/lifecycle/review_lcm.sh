#!/usr/bin/env bash
# review_lcm.sh - regressions found by the review of the lifecycle manager: a deadline
# ends a job FAILED C301 even when SIGTERM kills its learner (and never restarts it),
# a kill -9 while STORING keeps the outcome that was decided before it (C301 stays
# C301; a halt that arrives while a completed job is storing does not turn it HALTED),
# and a job resumed at once after a halt gets SIGTERM again on its next halt.
. "$(dirname "$0")/../lib.sh"
start_server
seed_bucket tdata

# history ID: "STATUS/CODE" of each status_history row, comma-separated.
history() {
	api GET "/v1/models/$1"
	jbody '[.status_history[] | "\(.status)/\(.error_code)"] | join(",")'
}

# wait_storing ID: polls (without sleeping) until the job is STORING; 0 if seen.
wait_storing() {
	local deadline=$((SECONDS + 40 * TIME_SCALE)) s
	while [ $SECONDS -lt $deadline ]; do
		s=$(curl -s --max-time 5 -H "Authorization: Bearer $ADMIN_TOKEN" "$WEFT_SERVER/v1/models/$1" |
			jq -r '.training.training_status.status' 2>/dev/null)
		[ "$s" = STORING ] && return 0
		[[ $s =~ ^(COMPLETED|FAILED|HALTED)$ ]] && break
	done
	diag "never saw $1 STORING (last status $s)"
	return 1
}

# A RESULT_DIR that takes a while to store (a large file and many small ones, each
# copied and fsynced), so that the server can be killed while STORING.
BIG_RESULTS='truncate -s 64M "$RESULT_DIR/big"; for i in $(seq 1 200); do echo $i >"$RESULT_DIR/f$i"; done'

# ---- 1. a deadline: the learner dies of SIGTERM, the job is FAILED C301, not C201,
# and restart_policy on-failure does not restart a job stopped for its deadline
submit "$(manifest deadline 'sleep 300' $'deadline: 2s\nrestart_policy: on-failure\nmax_restarts: 2')"
did=$JOB_ID
if wait_status "$did" FAILED 40; then ok "deadline job ends FAILED"; else not_ok "deadline job ends FAILED"; fi
api GET "/v1/models/$did"
check_json "its error_code is C301" '.training.training_status.error_code' "C301"
check_match "its message names the deadline" 'deadline' "$(jbody '.training.training_status.status_message')"
check_nomatch "it was not restarted" 'restart' "$(jbody '[.status_history[].message] | join(",")')"

# ---- 2. kill -9 while a deadline-failed job is STORING: still FAILED C301 after restart
submit "$(manifest deadline-crash "$BIG_RESULTS; sleep 300" 'deadline: 2s')"
cid=$JOB_ID
if wait_storing "$cid"; then
	kill9_server
	restart_server
	if wait_status "$cid" 'COMPLETED|FAILED|HALTED' 60; then ok "deadline job ends after the crash"; else not_ok "deadline job ends after the crash"; fi
	api GET "/v1/models/$cid"
	check_eq "after a crash while STORING it is still FAILED C301" "FAILED C301" \
		"$(jbody '.training.training_status | "\(.status) \(.error_code)"')"
else
	skip "deadline job ends after the crash" "STORING was too short to catch"
	skip "after a crash while STORING it is still FAILED C301" "STORING was too short to catch"
fi

# ---- 3. a completed job is STORING, a halt arrives, the server is killed: COMPLETED
submit "$(manifest late-halt "$BIG_RESULTS; echo trained")"
lid=$JOB_ID
if wait_storing "$lid"; then
	api PATCH "/v1/models/$lid" -H 'Content-Type: application/json' --data '{"status":"halt"}'
	halt_status=$HTTP_STATUS
	kill9_server
	restart_server
	if wait_status "$lid" 'COMPLETED|FAILED|HALTED' 60; then ok "late-halt job ends after the crash"; else not_ok "late-halt job ends after the crash"; fi
	if [ "$halt_status" = 202 ]; then
		check_eq "a halt that came while storing a success does not make it HALTED" "COMPLETED" "$LAST_STATUS"
	else
		skip "a halt that came while storing a success does not make it HALTED" "halt answered $halt_status"
	fi
	api GET "/v1/models/$lid/trained_model"
	check_status "its results are downloadable" 200
else
	skip "late-halt job ends after the crash" "STORING was too short to catch"
fi
# the stale halt request is cleared: the job is not reconciled on every pass forever
sleep 1
check_eq "no halt request is left on the finished job" "" \
	"$(sqlite3 -cmd '.timeout 5000' "$WEFT_HOME/weft.db" "SELECT request FROM jobs WHERE id='$lid'" 2>&1)"

# ---- 3b. the same without a crash: the late halt request is cleared when it ends
submit "$(manifest late-halt2 "$BIG_RESULTS; echo trained")"
lid2=$JOB_ID
if wait_storing "$lid2"; then
	api PATCH "/v1/models/$lid2" -H 'Content-Type: application/json' --data '{"status":"halt"}'
	halt_status=$HTTP_STATUS
	wait_status "$lid2" 'COMPLETED|FAILED|HALTED' 60 || not_ok "late-halt2 job ends"
	check_eq "a halt while storing a success (no crash): COMPLETED" "COMPLETED" "$LAST_STATUS"
	sleep 0.5
	if [ "$halt_status" = 202 ]; then
		check_eq "and its halt request is cleared" "" \
			"$(sqlite3 -cmd '.timeout 5000' "$WEFT_HOME/weft.db" "SELECT request FROM jobs WHERE id='$lid2'" 2>&1)"
	else
		skip "and its halt request is cleared" "halt answered $halt_status"
	fi
else
	skip "a halt while storing a success (no crash): COMPLETED" "STORING was too short to catch"
fi

# ---- 4. halt, resume at once, halt again: the second halt sends SIGTERM too
submit "$(manifest term-twice "trap 'echo got-term; exit 0' TERM; echo started; while true; do sleep 0.1; done")"
tid=$JOB_ID
wait_log "$tid" '^started$' 30 || not_ok "term-twice job starts"
api PATCH "/v1/models/$tid" -H 'Content-Type: application/json' --data '{"status":"halt"}'
# resume as soon as HALTED shows, within the lifecycle manager's next pass
deadline=$((SECONDS + 30 * TIME_SCALE))
while [ $SECONDS -lt $deadline ]; do
	s=$(curl -s --max-time 5 -H "Authorization: Bearer $ADMIN_TOKEN" "$WEFT_SERVER/v1/models/$tid" |
		jq -r '.training.training_status.status' 2>/dev/null)
	[ "$s" = HALTED ] && break
done
api PATCH "/v1/models/$tid" -H 'Content-Type: application/json' --data '{"status":"resume"}'
check_status "resume at once after HALTED: 202" 202
deadline=$((SECONDS + 30 * TIME_SCALE))
while [ $SECONDS -lt $deadline ] && [ "$(loglines "$tid" | grep -c '^started$')" -lt 2 ]; do sleep 0.2; done
check_eq "the resumed learner started" 2 "$(loglines "$tid" | grep -c '^started$')"
api PATCH "/v1/models/$tid" -H 'Content-Type: application/json' --data '{"status":"halt"}'
check_status "second halt: 202" 202
# the default grace is 10 s: a SIGTERM must arrive well before a SIGKILL would
deadline=$((SECONDS + 5 * TIME_SCALE))
while [ $SECONDS -lt $deadline ] && [ "$(loglines "$tid" | grep -c '^got-term$')" -lt 2 ]; do sleep 0.2; done
check_eq "the second halt sent SIGTERM (got-term twice)" 2 "$(loglines "$tid" | grep -c '^got-term$')"
wait_status "$tid" HALTED 30 || not_ok "term-twice job halts again"

# ---- 5. a follower that starts right after a resume (while the lifecycle manager is
# still busy storing another job) follows the resumed run instead of ending at once
submit "$(manifest resumable 'echo "run $(cat "$CHECKPOINT_DIR/n" 2>/dev/null || echo 1)"; echo 2 >"$CHECKPOINT_DIR/n"; sleep 4; echo finished')"
rid=$JOB_ID
wait_log "$rid" '^run 1$' 30 || not_ok "resumable job runs"
api PATCH "/v1/models/$rid" -H 'Content-Type: application/json' --data '{"status":"halt"}'
wait_status "$rid" HALTED 30 || not_ok "resumable job halts"
submit "$(manifest busy "$BIG_RESULTS")"
bid=$JOB_ID
if wait_storing "$bid"; then
	api PATCH "/v1/models/$rid" -H 'Content-Type: application/json' --data '{"status":"resume"}'
	curl -s -N --max-time $((40 * TIME_SCALE)) -H "Authorization: Bearer $ADMIN_TOKEN" \
		"$WEFT_SERVER/v1/logs/$rid/loglines?follow=true" >"$T/resumed.out" 2>/dev/null
	check_match "follow right after resume streams the resumed run to its end" 'run 2.*finished' \
		"$(jq -r '.line' "$T/resumed.out" 2>/dev/null | paste -sd' ')"
	wait_status "$rid" COMPLETED 30 || not_ok "resumed job completes"
else
	skip "follow right after resume streams the resumed run to its end" "STORING was too short to catch"
fi

done_testing

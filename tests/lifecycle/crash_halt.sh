#!/usr/bin/env bash
# crash_halt.sh - halts across a server crash: a halt requested (202) just before a
# kill -9 of the server is carried out after the restart (the job ends HALTED, not
# FAILED and not running forever), and a job HALTED before a crash resumes from its
# checkpoint after the restart.
. "$(dirname "$0")/../lib.sh"
start_server
seed_bucket tdata
patch() { api PATCH "/v1/models/$1" -H 'Content-Type: application/json' --data "{\"status\":\"$2\"}"; }

# a learner that ignores SIGTERM keeps the halt in progress for the grace period
submit "$(manifest stubborn 'trap "echo got TERM" TERM; echo ready; while :; do sleep 0.2; done')"
st=$JOB_ID
submit "$(manifest counter 'bash counter.sh 12 0.3')"
ct=$JOB_ID
wait_log "$st" '^ready$' 20
wait_log "$ct" '^step 2$' 20

patch "$ct" halt
check_status "halt the counter: 202" 202
if wait_status "$ct" HALTED 20; then ok "counter HALTED before the crash"; else not_ok "counter HALTED before the crash"; fi
last=$(loglines "$ct" | grep -oE '^step [0-9]+$' | tail -n 1 | cut -d' ' -f2)

patch "$st" halt
check_status "halt the stubborn learner: 202" 202
sleep 0.5
kill9_server
sleep 0.5
restart_server

if wait_status "$st" 'HALTED|FAILED|COMPLETED' 40; then ok "the interrupted halt finishes after the restart"; else not_ok "the interrupted halt finishes after the restart"; fi
check_eq "the interrupted halt ends HALTED" "HALTED" "$LAST_STATUS"
check "the stubborn learner is gone" wait_gone "$WEFT_HOME/jobs/$st" 10

check_eq "the HALTED counter is still HALTED after the restart" "HALTED" "$(job_status "$ct")"
patch "$ct" resume
check_status "resume after the restart: 202" 202
if wait_status "$ct" COMPLETED 40; then ok "the counter completes after the restart"; else not_ok "the counter completes after the restart"; fi
from=$(loglines "$ct" | grep -oE '^resumed from [0-9]+$' | sed -n 2p | cut -d' ' -f3)
check "it resumed from its checkpoint (from ${from:-?}, last logged ${last:-?})" test "${from:-0}" -ge "${last:-1}"

done_testing

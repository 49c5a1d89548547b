#!/usr/bin/env bash
# halt_resume.sh - halt then resume continuing from a checkpoint: a counter learner saves
# its step in CHECKPOINT_DIR; after halt (HALTED, processes gone) and resume, it starts
# from the saved step, not from 0, and completes with the final count. A learner that
# ignores SIGTERM is killed after the grace period and the job still becomes HALTED.
. "$(dirname "$0")/../lib.sh"
start_server
seed_bucket tdata
patch() { api PATCH "/v1/models/$1" -H 'Content-Type: application/json' --data "{\"status\":\"$2\"}"; }

# the stubborn learner runs alongside, so its grace period overlaps the rest
submit "$(manifest stubborn 'trap "echo got TERM" TERM; echo ready; while :; do sleep 0.2; done')"
stub=$JOB_ID
submit "$(manifest counter 'bash counter.sh 15 0.3')"
id=$JOB_ID

wait_log "$stub" '^ready$' 20
patch "$stub" halt
check_status "halt of a learner that ignores SIGTERM: 202" 202
stub_halt_at=$SECONDS

if wait_log "$id" '^step 4$' 30; then ok "counter reaches step 4"; else not_ok "counter reaches step 4"; fi
patch "$id" halt
check_status "halt: 202" 202
if wait_status "$id" HALTED 20; then ok "counter job HALTED"; else not_ok "counter job HALTED"; fi
check "halted learner's processes are gone" wait_gone "$WEFT_HOME/jobs/$id" 10
before=$(loglines "$id")
last=$(grep -oE '^step [0-9]+$' <<<"$before" | tail -n 1 | cut -d' ' -f2)
check_match "steps were logged before the halt" '^[0-9]+$' "$last"
check_nomatch "the counter had not finished" '^done$' "$(tail -n 1 <<<"$before")"
ckpt=$(find "$WEFT_HOME/jobs/$id" -name step -path '*' 2>/dev/null | head -n 1)
check "the checkpoint file is kept under <home>/jobs/ID" test -n "$ckpt"
sleep 1
check_eq "nothing is logged while HALTED" "$before" "$(loglines "$id")"

patch "$id" resume
check_status "resume: 202" 202
if wait_status "$id" COMPLETED 40; then ok "resumed counter completes"; else not_ok "resumed counter completes"; fi
all=$(loglines "$id")
check_eq "the first run started from 0" "1" "$(grep -c '^resumed from 0$' <<<"$all")"
from=$(grep -oE '^resumed from [0-9]+$' <<<"$all" | sed -n 2p | cut -d' ' -f3)
check_match "the second run started from a checkpoint" '^[1-9][0-9]*$' "$from"
check "the second run continued at or after the last logged step ($last)" test "${from:-0}" -ge "${last:-1}"
check_eq "every step after the checkpoint was run once" \
	"$(seq $((from + 1)) 15 | sed 's/^/step /')" \
	"$(sed -n "/^resumed from $from\$/,\$p" <<<"$all" | grep -E '^step ')"
api_download "/v1/models/$id/trained_model" "$T/res.zip"
check_eq "the result says the final step is 15" "final step 15" "$(unzip -p "$T/res.zip" out.txt 2>/dev/null)"
api GET "/v1/models/$id"
check_json "status_history: PROCESSING, HALTED, PROCESSING, COMPLETED" \
	'[.status_history[].status | select(IN("PROCESSING","HALTED","COMPLETED"))] | join(" ")' \
	"PROCESSING HALTED PROCESSING COMPLETED"

# the stubborn one
if wait_status "$stub" HALTED 60; then ok "a learner ignoring SIGTERM is HALTED after the grace period"; else not_ok "a learner ignoring SIGTERM is HALTED after the grace period"; fi
diag "stubborn learner halted after $((SECONDS - stub_halt_at)) s"
check "its processes are gone" wait_gone "$WEFT_HOME/jobs/$stub" 10
check_match "it got the SIGTERM first" 'got TERM' "$(loglines "$stub")"

done_testing

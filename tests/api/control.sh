#!/usr/bin/env bash
# control.sh - PATCH halt/resume and DELETE over the API: halt answers 202 {model_id}
# and the job becomes HALTED with its learner stopped; resume answers 202 and the job
# runs to COMPLETED; delete answers 200 {model_id}, then the job is 404 everywhere and
# gone from the list, while the user's buckets stay.
. "$(dirname "$0")/../lib.sh"
start_server
seed_bucket tdata

patch() { api PATCH "/v1/models/$1" -H 'Content-Type: application/json' --data "{\"status\":\"$2\"}"; }

submit "$(manifest control-halt 'bash counter.sh 12 0.3')"
id=$JOB_ID
if wait_log "$id" '^step 2$' 20; then ok "learner is counting"; else not_ok "learner is counting"; fi

patch "$id" halt
check_status "PATCH halt: 202" 202
check_json "halt answer has the model_id" '.model_id' "$id"
if wait_status "$id" HALTED 20; then ok "job becomes HALTED"; else not_ok "job becomes HALTED"; fi
check "no learner process left after halt" wait_gone "$WEFT_HOME/jobs/$id" 10
patch "$id" halt
check_error "halt of a HALTED job: 409" 409

patch "$id" resume
check_status "PATCH resume: 202" 202
check_json "resume answer has the model_id" '.model_id' "$id"
if wait_status "$id" COMPLETED 30; then ok "resumed job completes"; else not_ok "resumed job completes"; fi
api GET "/v1/models/$id"
check_json "status_history has HALTED before COMPLETED" \
	'[.status_history[].status | select(. == "HALTED" or . == "COMPLETED")] | join(" ")' "HALTED COMPLETED"

# halt right after submit (PENDING or DOWNLOADING), then resume
submit "$(manifest control-early 'bash counter.sh 3 0.2')"
early=$JOB_ID
patch "$early" halt
check_status "halt right after submit: 202" 202
if wait_status "$early" HALTED 20; then ok "a job halted right after submit becomes HALTED"; else not_ok "a job halted right after submit becomes HALTED"; fi
sleep 1
check_eq "it stays HALTED" "HALTED" "$(job_status "$early")"
patch "$early" resume
check_status "resume it: 202" 202
if wait_status "$early" COMPLETED 30; then ok "the early-halted job completes after resume"; else not_ok "the early-halted job completes after resume"; fi

# ---- delete
submit "$(manifest control-delete 'sleep 60')"
del=$JOB_ID
wait_status "$del" PROCESSING 20
api DELETE "/v1/models/$del"
check_status "DELETE a running job: 200" 200
check_json "delete answer has the model_id" '.model_id' "$del"
api GET "/v1/models/$del"
check_error "GET after delete: 404" 404
api GET "/v1/logs/$del/loglines"
check_error "loglines after delete: 404" 404
api GET "/v1/models/$del/definition"
check_error "definition after delete: 404" 404
api DELETE "/v1/models/$del"
check_error "second DELETE: 404" 404
api GET /v1/models
check_json "deleted job is gone from the list" "[.models[].model_id | select(. == \"$del\")] | length" "0"
check "deleted job's processes are gone" wait_gone "$WEFT_HOME/jobs/$del" 10

# delete of a finished job keeps the buckets (input and results)
api DELETE "/v1/models/$id"
check_status "DELETE a completed job: 200" 200
api GET /v1/data/tdata
check_status "input bucket still there after deletes" 200
check_json "input bucket still has its files" '[.objects[].key] | sort | join(" ")' "hello.txt sub/data.csv"
api GET /v1/data/tresults
check_status "results bucket still there after deletes" 200

done_testing

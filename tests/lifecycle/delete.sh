#!/usr/bin/env bash
# delete.sh - DELETE of a running job kills its learners (and their children), removes
# <home>/jobs/ID and the job's records and logs, but never the user's buckets; the
# server keeps serving other jobs.
. "$(dirname "$0")/../lib.sh"
start_server
seed_bucket tdata

submit "$(manifest victim 'echo started; sleep 300 & sleep 301; wait' 'learners: 2
cpus: 0.2
memory: 64MiB')"
id=$JOB_ID
submit "$(manifest bystander 'bash counter.sh 10 0.3')"
other=$JOB_ID
wait_log "$id" '^started$' 20
sleep 0.3
check "the job's learners run under <home>/jobs/ID" test -n "$(pids_under "$WEFT_HOME/jobs/$id")"

api DELETE "/v1/models/$id"
check_status "DELETE a running job: 200" 200
check_json "answer has the model_id" '.model_id' "$id"
check "every process of the job is gone" wait_gone "$WEFT_HOME/jobs/$id" 10
deadline=$((SECONDS + 10))
while [ -e "$WEFT_HOME/jobs/$id" ] && [ $SECONDS -lt $deadline ]; do sleep 0.2; done
check_not "<home>/jobs/ID is removed" test -e "$WEFT_HOME/jobs/$id"
check_eq "no sleep 300 survives" "" "$(pgrep -f '^sleep 30[01]$' | while read -r p; do
	[[ $(readlink "/proc/$p/cwd") == "$T"* ]] && echo "$p"
done)"
api GET "/v1/models/$id"
check_error "the job is 404" 404
api GET "/v1/logs/$id/loglines"
check_error "its log is 404" 404
api GET /v1/data/tdata
check_json "the input bucket is intact" '[.objects[].key] | sort | join(" ")' "hello.txt sub/data.csv"
if wait_status "$other" COMPLETED 30; then ok "the other job completes"; else not_ok "the other job completes"; fi

# delete while PENDING/just submitted, then the server still works
submit "$(manifest quick-delete 'sleep 30')"
q=$JOB_ID
api DELETE "/v1/models/$q"
check_status "DELETE right after submit: 200" 200
check "its processes never linger" wait_gone "$WEFT_HOME/jobs/$q" 10
sleep 1
check_not "<home>/jobs/ID of the quickly deleted job is gone" test -e "$WEFT_HOME/jobs/$q"
api GET "/v1/models/$q"
check_error "quickly deleted job is 404" 404


# delete of a HALTED job removes its working files, checkpoints included
submit "$(manifest halted-delete 'bash counter.sh 50 0.2')"
h=$JOB_ID
wait_log "$h" '^step 1$' 20
api PATCH "/v1/models/$h" -H 'Content-Type: application/json' --data '{"status":"halt"}'
wait_status "$h" HALTED 20
api DELETE "/v1/models/$h"
check_status "DELETE a HALTED job: 200" 200
sleep 1
check_not "<home>/jobs/ID of the HALTED job is gone" test -e "$WEFT_HOME/jobs/$h"
api PATCH "/v1/models/$h" -H 'Content-Type: application/json' --data '{"status":"resume"}'
check_error "resume after delete: 404" 404

done_testing

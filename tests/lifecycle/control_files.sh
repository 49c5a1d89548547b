#!/usr/bin/env bash
# control_files.sh - a learner whose control files cannot be read (here: a garbage
# exit file appears while it runs) must not leave its job PROCESSING forever: the job
# ends FAILED with S104 and a message naming the learner.
. "$(dirname "$0")/../lib.sh"
start_server
seed_bucket tdata
submit "$(manifest garbled 'echo started; sleep 30')"
check_status "submitted" 201
id=$JOB_ID
wait_log "$id" '^started$' 20 || not_ok "learner started"
printf 'not a weft exit file\n\001\002' >"$WEFT_HOME/jobs/$id/learner-1/exit"
if wait_status "$id" 'FAILED|COMPLETED|HALTED' 20; then ok "the job leaves PROCESSING"; else not_ok "the job leaves PROCESSING"; fi
api GET "/v1/models/$id"
check_json "FAILED S104" '.training.training_status | "\(.status) \(.error_code)"' "FAILED S104"
check_match "the message names learner 1" 'learner 1' "$(jbody .training.training_status.status_message)"
if wait_gone "$WEFT_HOME/jobs/$id" 10; then ok "its learner was killed"; else not_ok "its learner was killed"; fi
done_testing

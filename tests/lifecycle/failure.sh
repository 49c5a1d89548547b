#!/usr/bin/env bash
# failure.sh - a learner that fails: exit 3 -> FAILED with C201 and a message giving the
# exit code; killed by a signal -> FAILED naming the signal; a command that does not
# exist -> FAILED (exit 127); the learner's output before failing is kept.
. "$(dirname "$0")/../lib.sh"
start_server
seed_bucket tdata

submit "$(manifest fail-exit3 'echo "about to fail"; exit 3')"
e3=$JOB_ID
submit "$(manifest fail-sigkill 'echo "about to die"; kill -KILL $$')"
k9=$JOB_ID
submit "$(manifest fail-sigsegv 'kill -SEGV $$')"
sg=$JOB_ID
submit "$(manifest fail-notfound 'no-such-command-anywhere --train')"
nf=$JOB_ID

# exit 3
if wait_status "$e3" 'COMPLETED|FAILED' 30; then ok "exit 3: the job ends"; else not_ok "exit 3: the job ends"; fi
api GET "/v1/models/$e3"
check_json "exit 3: status FAILED" '.training.training_status.status' "FAILED"
check_json "exit 3: error_code C201" '.training.training_status.error_code' "C201"
msg=$(jbody .training.training_status.status_message)
check_match "exit 3: message gives the exit code" '(^|[^0-9])3([^0-9]|$)' "$msg"
check_imatch "exit 3: message names the learner" 'learner' "$msg"
check_match "exit 3: completed time set" '^1[0-9]{12}$' "$(jbody .training.training_status.completed)"
check_json "exit 3: status_history ends with FAILED C201" '.status_history[-1] | "\(.status) \(.error_code)"' "FAILED C201"
check_json "exit 3: status_history never says COMPLETED" '[.status_history[].status | select(. == "COMPLETED")] | length' "0"
check_match "exit 3: the learner's output is kept" 'about to fail' "$(loglines "$e3")"

# killed by SIGKILL
if wait_status "$k9" 'COMPLETED|FAILED' 30; then ok "SIGKILL: the job ends"; else not_ok "SIGKILL: the job ends"; fi
api GET "/v1/models/$k9"
check_json "SIGKILL: FAILED C201" '.training.training_status | "\(.status) \(.error_code)"' "FAILED C201"
msg=$(jbody .training.training_status.status_message)
check_imatch "SIGKILL: message says signal" 'signal|killed' "$msg"
check_imatch "SIGKILL: message names the signal" 'sigkill|kill|(^|[^0-9])9([^0-9]|$)' "$msg"
check_match "SIGKILL: the learner's output is kept" 'about to die' "$(loglines "$k9")"

# killed by SIGSEGV
wait_status "$sg" 'COMPLETED|FAILED' 30
api GET "/v1/models/$sg"
check_json "SIGSEGV: FAILED C201" '.training.training_status | "\(.status) \(.error_code)"' "FAILED C201"
check_imatch "SIGSEGV: message names the signal" 'segv|segmentation|(^|[^0-9])11([^0-9]|$)' "$(jbody .training.training_status.status_message)"

# command not found
wait_status "$nf" 'COMPLETED|FAILED' 30
api GET "/v1/models/$nf"
check_json "command not found: FAILED C201" '.training.training_status | "\(.status) \(.error_code)"' "FAILED C201"
check_match "command not found: message gives exit code 127" '127' "$(jbody .training.training_status.status_message)"
check_match "command not found: bash's complaint is in the log" 'no-such-command-anywhere' "$(loglines "$nf")"

# a FAILED job can be resumed (api.md: resume is allowed from HALTED or FAILED)
api PATCH "/v1/models/$e3" -H 'Content-Type: application/json' --data '{"status":"resume"}'
check_status "resume of a FAILED job: 202" 202
wait_status "$e3" 'FAILED' 30
sleep 0.5
api GET "/v1/models/$e3"
check_json "the resumed job ran again (two FAILED in its history)" '[.status_history[].status | select(. == "FAILED")] | length' "2"

check "no learner process left" wait_gone "$WEFT_HOME/jobs" 10
done_testing

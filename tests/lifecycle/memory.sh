#!/usr/bin/env bash
# memory.sh - the memory limit: where `show` says limits are enforced (cgroups), a
# learner allocating 256MiB under `memory: 64MiB` ends FAILED (C201) with a message
# saying it ran out of memory and naming the limit, while one staying under it
# completes. Without cgroups the limit checks are skipped.
. "$(dirname "$0")/../lib.sh"
start_server
seed_bucket tdata

submit "$(manifest hog 'echo start; bash hog.sh 256' 'memory: 64MiB')"
hog=$JOB_ID
api GET "/v1/models/$hog"
enforced=$(jbody .training.limits_enforced)
check_match "show says whether limits are enforced" '^(true|false)$' "$enforced"
if [ "$enforced" != true ]; then
	diag "limits not enforced here; server log says:" "$(grep -i cgroup "$WEFT_HOME/server.log" | head -3)"
	check_imatch "the server said at startup that limits are not enforced" 'cgroup|limit' "$(cat "$WEFT_HOME/server.log")"
	for n in "over the limit: FAILED C201" "message says out of memory" "message names the limit 64MiB" "under the limit: COMPLETED"; do
		skip "$n" "memory limits are not enforced on this machine"
	done
	done_testing
fi

if wait_status "$hog" 'FAILED|COMPLETED' 60; then ok "hog job ends"; else not_ok "hog job ends"; fi
api GET "/v1/models/$hog"
check_json "over the limit: FAILED C201" '.training.training_status | "\(.status) \(.error_code)"' "FAILED C201"
msg=$(jbody .training.training_status.status_message)
check_imatch "message says out of memory" 'out of memory|oom' "$msg"
check_match "message names the limit 64MiB" '64 ?MiB' "$msg"

submit "$(manifest small 'bash hog.sh 16' 'memory: 128MiB')"
if wait_status "$JOB_ID" 'FAILED|COMPLETED' 60; then ok "small job ends"; else not_ok "small job ends"; fi
check_eq "under the limit: COMPLETED" "COMPLETED" "$LAST_STATUS"

done_testing

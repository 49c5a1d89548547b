#!/usr/bin/env bash
# crash_orphan.sh - no job stays PROCESSING without a live learner: kill -9 the server AND
# the learner's processes (its shim too), restart; within 20 s the job must have left
# that PROCESSING (restarted, with a new status entry, or FAILED with a message), and
# it then ends.
. "$(dirname "$0")/../lib.sh"
start_server
seed_bucket tdata

submit "$(manifest orphan 'echo start; sleep 4; echo finished')"
id=$JOB_ID
if wait_log "$id" '^start$' 20; then ok "the learner started"; else not_ok "the learner started"; fi
wait_status "$id" PROCESSING 10
kill9_server
shims=$(shim_pids)
diag "shims of this home: ${shims:-none}"
for p in $shims $(pids_under "$WEFT_HOME/jobs/$id"); do kill -KILL "$p" 2>/dev/null; done
check "the learner and its shim are dead" wait_gone "$WEFT_HOME/jobs/$id" 5
check_eq "no shim of this home left" "" "$(shim_pids)"
restart_ms=$(date +%s%3N)
restart_server

deadline=$((SECONDS + 20 * TIME_SCALE))
left=no
while [ $SECONDS -lt $deadline ]; do
	api GET "/v1/models/$id"
	st=$(jbody .training.training_status.status)
	newer=$(jq -r "[.status_history[] | select((.time | tonumber) >= $restart_ms)] | length" <<<"$BODY" 2>/dev/null)
	if [ "$st" != PROCESSING ] || [ "${newer:-0}" -gt 0 ]; then
		left=yes
		break
	fi
	sleep 0.3
done
check_eq "the job left the dead PROCESSING within 20 s" yes "$left"
diag "after restart: status $st, history $(jq -c '[.status_history[] | .status]' <<<"$BODY" 2>/dev/null)"

if wait_status "$id" 'COMPLETED|FAILED' 40; then ok "the job ends"; else not_ok "the job ends"; fi
diag "log after restart: $(loglines "$id" | paste -sd'|')"
api GET "/v1/models/$id"
case $LAST_STATUS in
COMPLETED)
	check_match "restarted: the learner ran again to the end" 'finished' "$(loglines "$id")"
	;;
FAILED)
	check_match "failed: with a message" '.' "$(jbody .training.training_status.status_message)"
	check_match "failed: with an error code" '^[CS][0-9]{3}$' "$(jbody .training.training_status.error_code)"
	;;
*) not_ok "the job ends COMPLETED or FAILED" "status $LAST_STATUS" ;;
esac

done_testing

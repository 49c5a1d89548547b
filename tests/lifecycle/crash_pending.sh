#!/usr/bin/env bash
# crash_pending.sh - kill -9 of the server right after several submissions (jobs still
# PENDING or just starting): every accepted job survives the restart and runs to the
# end exactly once.
. "$(dirname "$0")/../lib.sh"
start_server
seed_bucket tdata

ids=()
for i in 1 2 3 4 5 6; do
	submit "$(manifest "pend$i" "echo job $i; sleep 0.5")" && ids+=("$JOB_ID")
done
kill9_server
check_eq "all 6 submissions were accepted" 6 "${#ids[@]}"
sleep 0.5
restart_server

api GET /v1/models
check_json "all 6 jobs exist after the restart" '.models | length' "6"
for i in "${!ids[@]}"; do
	n=$((i + 1))
	if wait_status "${ids[$i]}" 'COMPLETED|FAILED' 60; then
		check_eq "job $n COMPLETED after the restart" "COMPLETED" "$LAST_STATUS"
	else
		not_ok "job $n COMPLETED after the restart" "last status $LAST_STATUS"
	fi
	check_eq "job $n ran exactly once" "job $n" "$(loglines "${ids[$i]}")"
done
check "no learner left running" wait_gone "$WEFT_HOME/jobs" 10

done_testing

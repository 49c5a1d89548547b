#!/usr/bin/env bash
# crash_running.sh - kill -9 of the server while learners run: the learners keep going,
# the restarted server adopts them, and the jobs COMPLETE with no log line lost or
# duplicated (a learner prints n1..n40 while the server is down) and their results
# stored; a learner that finishes while the server is down is completed on restart.
. "$(dirname "$0")/../lib.sh"
start_server
seed_bucket tdata

N=100 # 12 s: long enough to outlast a slow (loaded) machine between submit and kill
submit "$(manifest crash-long "bash lines.sh $N 0.12 n")"
long=$JOB_ID
submit "$(manifest crash-short 'echo b-start; sleep 1; echo b-done; echo ok >"$RESULT_DIR/b.txt"')"
short=$JOB_ID
wait_log "$short" '^b-start$' 20
if wait_log "$long" '^n5$' 20; then ok "the long learner is printing"; else not_ok "the long learner is printing"; fi

kill9_server
logfile=$(find "$WEFT_HOME/jobs/$long" -name training-log.txt | head -n 1)
n_kill=$(grep -c '^n' "$logfile" 2>/dev/null)
sleep 0.3
check "the learners survive the server's death" test -n "$(pids_under "$WEFT_HOME/jobs/$long")"
sleep 1.5 # the short learner ends and the long one prints more while nobody listens
n_down=$(grep -c '^n' "$logfile" 2>/dev/null)
diag "the long learner's log file: $n_kill lines at the kill, $n_down at the restart (of $N)"
check "the long learner printed lines while the server was down" test "${n_down:-0}" -gt "${n_kill:-0}"
check "the long learner is still running at the restart" test "${n_down:-0}" -lt "$N"
restart_server

if wait_status "$long" 'COMPLETED|FAILED' 40; then ok "the adopted long job ends"; else not_ok "the adopted long job ends"; fi
check_eq "the adopted long job COMPLETED" "COMPLETED" "$LAST_STATUS"
api GET "/v1/logs/$long/loglines?pagesize=10000"
check_eq "loglines are exactly n1..n$N, in order, none lost or doubled" \
	"$(seq 1 $N | sed 's/^/n/' | paste -sd,)" "$(jq -r '[.models[].line] | join(",")' <<<"$BODY")"
check_json "rindex is exactly 1..$N" "[.models[].meta.rindex] == [range(1; $((N + 1)))]" "true"
api GET "/v1/models/$long"
check_json "the long job ran once (one PROCESSING in its history)" \
	'[.status_history[].status | select(. == "PROCESSING")] | length' "1"
api_download "/v1/models/$long/trained_model" "$T/long.zip"
check_status "the long job's results are stored" 200
check_eq "its out.txt" "wrote $N lines" "$(unzip -p "$T/long.zip" out.txt 2>/dev/null)"
check_eq "its stored training-log.txt has all $N lines" "$N" \
	"$(unzip -p "$T/long.zip" learner-1/training-log.txt 2>/dev/null | grep -c '^n')"

if wait_status "$short" 'COMPLETED|FAILED' 30; then ok "the job that ended while the server was down ends"; else not_ok "the job that ended while the server was down ends"; fi
check_eq "it COMPLETED" "COMPLETED" "$LAST_STATUS"
check_eq "its log is complete" $'b-start\nb-done' "$(loglines "$short")"
api_download "/v1/models/$short/trained_model" "$T/short.zip"
check_eq "its result is stored" "ok" "$(unzip -p "$T/short.zip" b.txt 2>/dev/null)"

# a graceful stop (SIGTERM) and then a crash right after the restart still lose nothing
submit "$(manifest crash-twice "bash lines.sh 20 0.1 t")"
tw=$JOB_ID
wait_log "$tw" '^t3$' 20
stop_server
sleep 0.5
restart_server
wait_log "$tw" '^t6$' 20
kill9_server
sleep 0.5
restart_server
if wait_status "$tw" COMPLETED 40; then ok "a job survives a stop and a crash"; else not_ok "a job survives a stop and a crash"; fi
check_eq "after a stop and a crash: lines t1..t20 exactly" "$(seq 1 20 | sed 's/^/t/' | paste -sd,)" "$(loglines "$tw" | paste -sd,)"

done_testing

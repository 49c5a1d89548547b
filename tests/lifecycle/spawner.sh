#!/usr/bin/env bash
# spawner.sh - learners are forked by the server's small spawner process (not by the
# server, so their shims carry none of its memory), and a server whose spawner died
# still starts learners by forking them itself.
. "$(dirname "$0")/../lib.sh"
start_server
seed_bucket tdata
sp=$(pgrep -P "$SERVER_PID" -x weft-spawner)
check_match "the server has a weft-spawner child" '^[0-9]+$' "$sp"

submit "$(manifest one 'echo "ppid-of-shim-is-init"; sleep 1')"
wait_status "$JOB_ID" COMPLETED 30 && ok "a job runs through the spawner" || not_ok "a job runs through the spawner"
rss_server=$(awk '/^VmRSS/ {print $2}' "/proc/$SERVER_PID/status")
rss_spawner=$(awk '/^VmRSS/ {print $2}' "/proc/$sp/status" 2>/dev/null)
diag "RSS: server ${rss_server} kB, spawner ${rss_spawner} kB"
check "the spawner is smaller than the server" test "${rss_spawner:-999999}" -lt "$rss_server"

kill -9 "$sp"
sleep 0.2
submit "$(manifest two 'echo after-spawner-death')"
check_status "submit after the spawner died" 201
wait_status "$JOB_ID" COMPLETED 30 && ok "learners still start without the spawner" || not_ok "learners still start without the spawner"
check_eq "and run" "after-spawner-death" "$(loglines "$JOB_ID")"
check_match "the server says it forks learners itself now" 'spawner process is gone' "$(cat "$WEFT_HOME/server.log")"
done_testing

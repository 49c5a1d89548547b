#!/usr/bin/env bash
# review2_fds.sh - a learner started by a real server, whose shim is forked (not
# exec'd) from the multi-threaded server, inherits none of the server's descriptors
# (listening socket, clients, database), and neither does its shim; its signal mask
# and dispositions are the defaults; the server stops and restarts on the same port
# while the learner runs (no shim keeps the listening socket).
. "$(dirname "$0")/../lib.sh"
start_server
seed_bucket tdata

submit "$(manifest fds 'exec sleep 30' 'cpus: 0.2
memory: 64MiB')"
id=$JOB_ID
if wait_status "$id" PROCESSING 30; then ok "the job runs"; else not_ok "the job runs"; fi
learner=
for i in $(seq 1 50); do
	for p in $(pids_under "$WEFT_HOME"); do
		[ "$(cat "/proc/$p/comm" 2>/dev/null)" = sleep ] && learner=$p
	done
	[ -n "$learner" ] && break
	sleep 0.1
done
if [ -z "$learner" ]; then
	not_ok "the learner is found"
else
	check_eq "the learner holds only stdin, stdout, stderr" "0 1 2" \
		"$(ls "/proc/$learner/fd" | sort -n | tr '\n' ' ' | sed 's/ $//')"
	# signals 1-31 only: glibc reserves 32 and 33, so no one can reset an ignored one
	# inherited from whatever started the server (a test harness does)
	blk=$(awk '/^SigBlk/ {print $2}' "/proc/$learner/status")
	ign=$(awk '/^SigIgn/ {print $2}' "/proc/$learner/status")
	check_eq "the learner blocks no signal" "0" "$((0x$blk & 0x7fffffff))"
	check_eq "the learner ignores no signal" "0" "$((0x$ign & 0x7fffffff))"
fi

shim=$(shim_pids | head -1)
if [ -z "$shim" ]; then
	not_ok "the shim is found"
else
	fds=$(ls -l "/proc/$shim/fd" 2>/dev/null | awk 'NR > 1 {print $NF}')
	check_nomatch "the shim holds no socket" 'socket:' "$fds"
	check_nomatch "the shim holds no database file" 'weft\.db' "$fds"
	check_nomatch "the shim holds no server log" 'server\.log' "$fds"
fi

stop_server
if restart_server; then ok "the server restarts on its port while the learner runs"; fi
api PATCH "/v1/models/$id" -H 'Content-Type: application/json' -d '{"status":"halt"}'
check_status "halt after the restart: 202" 202
if wait_status "$id" HALTED 30; then ok "the adopted learner halts"; else not_ok "the adopted learner halts"; fi
done_testing

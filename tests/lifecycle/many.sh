#!/usr/bin/env bash
# many.sh - several jobs at once, from two users: each completes, and each job's log
# holds exactly its own lines (no cross-talk between jobs in the log store), with
# rindex 1..N per job.
. "$(dirname "$0")/../lib.sh"
start_server
seed_bucket tdata
api POST /v1/users -H 'Content-Type: application/json' --data '{"name":"bob"}'
BOB=$(jbody '.token // empty')

ids=() toks=()
for i in 1 2 3 4 5 6 7 8; do
	tok=$ADMIN_TOKEN
	[ $((i % 2)) = 0 ] && tok=$BOB
	submit "$(manifest "many$i" "for k in \$(seq 1 60); do echo \"job$i line \$k\"; done" 'cpus: 0.2
memory: 64MiB')" "$MODEL_ZIP" "$tok"
	ids+=("$JOB_ID")
	toks+=("$tok")
done
check_eq "8 jobs accepted" 8 "$(printf '%s\n' "${ids[@]}" | grep -c '^training-')"
for i in "${!ids[@]}"; do
	n=$((i + 1))
	id=${ids[$i]}
	deadline=$((SECONDS + 60 * TIME_SCALE))
	while :; do
		api_as "${toks[$i]}" GET "/v1/models/$id"
		s=$(jbody .training.training_status.status)
		[[ $s =~ ^(COMPLETED|FAILED)$ ]] || [ $SECONDS -ge $deadline ] && break
		sleep 0.3
	done
	check_eq "job $n COMPLETED" COMPLETED "$s"
	api_as "${toks[$i]}" GET "/v1/logs/$id/loglines?pagesize=1000"
	check_eq "job $n's log is exactly its own 60 lines" "$(seq 1 60 | sed "s/^/job$n line /")" "$(jbody '.models[].line')"
	check_json "job $n's rindex is 1..60" '[.models[].meta.rindex] == [range(1;61)]' "true"
done

done_testing

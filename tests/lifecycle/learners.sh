#!/usr/bin/env bash
# learners.sh - jobs with several learners: each of 3 learners sees its own LEARNER_ID
# and NUM_LEARNERS=3, logs under its own subid, and its log is stored as
# learner-N/training-log.txt; when one learner fails the others are stopped and the
# job fails, naming the learner.
. "$(dirname "$0")/../lib.sh"
start_server
seed_bucket tdata

submit "$(manifest three 'bash envdump.sh; sleep 0.5' 'learners: 3
cpus: 0.2
memory: 64MiB')"
id=$JOB_ID
api GET "/v1/models/$id"
check_json "show says learners: 3" '.training.learners' "3"
if wait_status "$id" COMPLETED 40; then ok "3-learner job completes"; else not_ok "3-learner job completes"; fi
api GET "/v1/logs/$id/loglines?pagesize=100"
check_json "each learner logs under its own subid" \
	'[.models[] | "\(.meta.subid): \(.line)"] | sort | join(",")' \
	"learner-1: learner 1 of 3,learner-2: learner 2 of 3,learner-3: learner 3 of 3"
check_json "rindex is 1..3 across the learners" '[.models[].meta.rindex] | sort | join(",")' "1,2,3"
api_download "/v1/models/$id/trained_model" "$T/res.zip"
members=$(unzip_list "$T/res.zip")
for n in 1 2 3; do
	env_n=$(unzip -p "$T/res.zip" "env-$n.txt" 2>/dev/null)
	check_match "learner $n wrote env-$n.txt" 'LEARNER_ID' "$env_n"
	check_match "learner $n: LEARNER_ID=$n" "(^|[[:space:]])LEARNER_ID=$n([[:space:]]|$)" "$env_n"
	check_match "learner $n: NUM_LEARNERS=3" '(^|[[:space:]])NUM_LEARNERS=3([[:space:]]|$)' "$env_n"
	check_match "learner $n: TRAINING_ID" "(^|[[:space:]])TRAINING_ID=$id([[:space:]]|$)" "$env_n"
	check_match "learner-$n/training-log.txt stored" "(^|[[:space:]])learner-$n/training-log\\.txt([[:space:]]|$)" "$members"
	check_eq "learner-$n/training-log.txt content" "learner $n of 3" \
		"$(unzip -p "$T/res.zip" "learner-$n/training-log.txt" 2>/dev/null)"
done
md1=$(unzip -p "$T/res.zip" env-1.txt 2>/dev/null | sed -n 's/^MODEL_DIR=//p')
md2=$(unzip -p "$T/res.zip" env-2.txt 2>/dev/null | sed -n 's/^MODEL_DIR=//p')
check_ne "learners have their own MODEL_DIR" "$md1" "$md2"
check_match "learner 2's MODEL_DIR is under learner-2/" "/$id/learner-2(/|$)" "$md2"

# one learner fails: the others are stopped and the job fails
submit "$(manifest three-fail 'if [ "$LEARNER_ID" = 2 ]; then sleep 1; echo "learner 2 gives up"; exit 4; fi; echo "learner $LEARNER_ID waits"; sleep 120' 'learners: 3
cpus: 0.2
memory: 64MiB')"
fid=$JOB_ID
start=$SECONDS
if wait_status "$fid" 'FAILED|COMPLETED' 30; then ok "job with a failing learner ends"; else not_ok "job with a failing learner ends"; fi
check "it ended long before the other learners' sleep" test $((SECONDS - start)) -lt 60
api GET "/v1/models/$fid"
check_json "job with a failing learner: FAILED C201" '.training.training_status | "\(.status) \(.error_code)"' "FAILED C201"
msg=$(jbody .training.training_status.status_message)
check_imatch "message names learner 2" 'learner[- ]?2' "$msg"
check_match "message gives exit code 4" '(^|[^0-9])4([^0-9]|$)' "$msg"
check "the other learners were stopped" wait_gone "$WEFT_HOME/jobs/$fid" 10
logs=$(loglines "$fid")
check_match "learner 1 had started" 'learner 1 waits' "$logs"
check_match "learner 3 had started" 'learner 3 waits' "$logs"

done_testing

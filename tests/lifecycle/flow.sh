#!/usr/bin/env bash
# flow.sh - the status flow and the learner's environment: status_history is PENDING,
# DOWNLOADING, PROCESSING, STORING, COMPLETED in order with ordered times; the learner
# sees FfDL's variables (TRAINING_ID, LEARNER_ID, NUM_LEARNERS, DATA_DIR, RESULT_DIR,
# MODEL_DIR = cwd, LOG_DIR, JOB_STATE_DIR, CHECKPOINT_DIR, GPU_COUNT, TRAINING_COMMAND),
# DATA_DIR holds the bucket's files, and connection.path selects another store.
. "$(dirname "$0")/../lib.sh"
start_server
seed_bucket tdata

cmd='bash envdump.sh && sleep 0.3'
submit "$(manifest flow-env "$cmd")"
id=$JOB_ID
if wait_status "$id" COMPLETED 30; then ok "job completes"; else not_ok "job completes"; fi
api GET "/v1/models/$id"
check_json "status_history in order" \
	'[.status_history[].status | select(IN("PENDING","DOWNLOADING","PROCESSING","STORING","COMPLETED"))] | join(" ")' \
	"PENDING DOWNLOADING PROCESSING STORING COMPLETED"
check_json "status_history has no FAILED or HALTED" '[.status_history[].status | select(. == "FAILED" or . == "HALTED")] | length' "0"
check_json "status_history times are ms strings, never decreasing" \
	'[.status_history[].time | tonumber] | (. == sort) and all(. > 1000000000000)' "true"
check_json "submitted <= completed" '.training.training_status | (.submitted | tonumber) <= (.completed | tonumber)' "true"
check_json "status_description of a COMPLETED job" '.training.training_status.status_description' "COMPLETED"

api_download "/v1/models/$id/trained_model" "$T/res.zip"
check_status "trained_model: 200" 200
env_txt=$(unzip -p "$T/res.zip" env-1.txt 2>/dev/null)
check_match "the learner wrote env-1.txt to RESULT_DIR" 'TRAINING_ID' "$env_txt"
val() { sed -n "s/^$1=//p" <<<"$env_txt"; }
check_eq "TRAINING_ID" "$id" "$(val TRAINING_ID)"
check_eq "LEARNER_ID" "1" "$(val LEARNER_ID)"
check_eq "NUM_LEARNERS" "1" "$(val NUM_LEARNERS)"
check_eq "GPU_COUNT" "0" "$(val GPU_COUNT)"
check_eq "TRAINING_COMMAND" "$cmd" "$(val TRAINING_COMMAND)"
check_nomatch "no variable is unset" 'UNSET' "$env_txt"
for v in DATA_DIR RESULT_DIR MODEL_DIR LOG_DIR JOB_STATE_DIR CHECKPOINT_DIR; do
	check_match "$v is an absolute path" '^/' "$(val $v)"
done
check_eq "MODEL_DIR is the working directory" "$(val MODEL_DIR_REAL)" "$(val PWD)"
check_match "MODEL_DIR is under <home>/jobs/ID/" "^$WEFT_HOME/jobs/$id/" "$(val MODEL_DIR)"
check_match "MODEL_DIR holds the unpacked model" 'counter\.sh envdump\.sh hog\.sh lines\.sh' "$(val MODEL_FILES)"
check_eq "DATA_DIR holds the bucket's files" "./hello.txt ./sub/data.csv" "$(val DATA_FILES | sed 's/ $//')"
check_eq "DATA_DIR files have the bucket's bytes" "hello from the bucket" "$(val HELLO)"
check_eq "LOG_DIR/training-log.txt exists while running" "yes" "$(val LOG_FILE)"
check_eq "CHECKPOINT_DIR is writable" "yes" "$(val CKPT_WRITABLE)"
check_eq "JOB_STATE_DIR exists" "yes" "$(val STATE_DIR)"
spgid=$(cut -d' ' -f5 "/proc/$SERVER_PID/stat" 2>/dev/null)
check_ne "the learner runs in its own process group, not the server's" "$spgid" "$(val PGID)"
api GET "/v1/models/$id"
if [ "$(jbody .training.limits_enforced)" = true ]; then
	check_eq "the learner's cgroup has the memory limit (256MiB)" "268435456" "$(val MEM_LIMIT)"
	read -r quota period <<<"$(val CPU_LIMIT)"
	check_eq "the learner's cgroup has the cpu limit (0.5 cpus)" "0.50" \
		"$(awk -v q="$quota" -v p="$period" 'BEGIN { if (p > 0 && q ~ /^[0-9]+$/) printf "%.2f", q / p; else print q " " p }')"
else
	skip "the learner's cgroup has the memory limit (256MiB)" "limits not enforced here"
	skip "the learner's cgroup has the cpu limit (0.5 cpus)" "limits not enforced here"
fi
check_eq "the learner's stdout is in the log" "learner 1 of 1" "$(loglines "$id")"
check_eq "learner-1/training-log.txt in the results" "learner 1 of 1" \
	"$(unzip -p "$T/res.zip" learner-1/training-log.txt 2>/dev/null)"

# stderr goes to the log too
submit "$(manifest flow-stderr 'echo to-stdout; echo to-stderr >&2')"
wait_status "$JOB_ID" COMPLETED 30
out=$(loglines "$JOB_ID" | sort | paste -sd' ')
check_eq "stdout and stderr both reach the log" "to-stderr to-stdout" "$out"

# type local with connection.path: buckets under another directory
mkdir -p "$T/ext/extbucket"
echo "from elsewhere" >"$T/ext/extbucket/hello.txt"
submit "$(manifest flow-path 'cat "$DATA_DIR/hello.txt"; echo r >"$RESULT_DIR/r.txt"' "$(
	cat <<YAML
data_stores:
  - id: ext
    type: local
    training_data:
      container: extbucket
    training_results:
      container: extresults
    connection:
      path: $T/ext
YAML
)")"
check_status "a local store with connection.path: 201" 201
p=$JOB_ID
if wait_status "$p" COMPLETED 30; then ok "connection.path job completes"; else not_ok "connection.path job completes"; fi
check_eq "DATA_DIR came from connection.path" "from elsewhere" "$(loglines "$p")"
check "results went to connection.path/extresults/ID/" test -f "$T/ext/extresults/$p/r.txt"
check_not "the embedded store was not used for the input" test -d "$WEFT_HOME/objects/extbucket"

done_testing

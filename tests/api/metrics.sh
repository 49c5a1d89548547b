#!/usr/bin/env bash
# metrics.sh - GET /metrics: Prometheus text format 0.0.4 without credentials,
# accepted by `promtool check metrics` (Debian's prometheus package, installed by
# scripts/setup.sh: a missing promtool fails the test), and counters that match what
# was done: 3 jobs created (one completes, one fails with exit 3 -> C201, one is
# halted and deleted), jobs by status, log lines, and the latency histogram by route.
. "$(dirname "$0")/../lib.sh"
start_server
seed_bucket tdata

patch() { api PATCH "/v1/models/$1" -H 'Content-Type: application/json' --data "{\"status\":\"$2\"}"; }
# metric SAMPLE: the value of the sample whose name{labels} is exactly SAMPLE ("" if none)
metric() { S=$1 awk 'substr($0, 1, 1) != "#" { v = $NF; $NF = ""; sub(/ $/, ""); if ($0 == ENVIRON["S"]) print v }' <<<"$BODY"; }

# before any job: the unlabeled counters are already there, at 0
api_noauth GET /metrics
check_status "GET /metrics without credentials: 200" 200
check_eq "success counter starts at 0" 0 "$(metric trainer_trainings_success_total)"

submit "$(manifest metrics-ok 'echo one; echo two; echo three')"
ok_id=$JOB_ID
submit "$(manifest metrics-fail 'echo boom; exit 3')"
fail_id=$JOB_ID
submit "$(manifest metrics-halt 'bash counter.sh 100 0.3')"
halt_id=$JOB_ID
check_ne "three jobs were created" "" "$ok_id $fail_id $halt_id"

if wait_status "$ok_id" COMPLETED 30; then ok "the good job completes"; else not_ok "the good job completes"; fi
if wait_status "$fail_id" FAILED 30; then ok "the exit-3 job fails"; else not_ok "the exit-3 job fails"; fi
api GET "/v1/models/$fail_id"
check_eq "the failed job's code is C201" C201 "$(jbody .training.training_status.error_code)"
if wait_log "$halt_id" '^step 1$' 20; then ok "the job to halt is running"; else not_ok "the job to halt is running"; fi
patch "$halt_id" halt
check_status "halt: 202" 202
if wait_status "$halt_id" HALTED 20; then ok "the halted job is HALTED"; else not_ok "the halted job is HALTED"; fi
api DELETE "/v1/models/$halt_id"
check_status "delete: 200" 200
api GET /no-such-endpoint
check_status "an unknown path: 404" 404

api_noauth GET /metrics
check_status "GET /metrics: 200" 200
check_match "content type is the text format 0.0.4" '^text/plain; version=0\.0\.4' "$(header content-type)"
cp "$T/body" "$T/metrics.txt"

if ! command -v promtool >/dev/null; then
	not_ok "promtool is installed (scripts/setup.sh installs Debian's prometheus package)"
else
	out=$(promtool check metrics <"$T/metrics.txt" 2>&1)
	rc=$?
	if [ $rc -eq 0 ] && [ -z "$out" ]; then
		ok "promtool check metrics accepts the output"
	else
		not_ok "promtool check metrics accepts the output" "exit $rc" "$out"
	fi
fi

check_eq "every metric has HELP and TYPE" \
	"$(grep -c '^# HELP ' "$T/metrics.txt")" "$(grep -c '^# TYPE ' "$T/metrics.txt")"
for m in trainer_trainings_create_total trainer_trainings_success_total trainer_trainings_failed_total \
	trainer_trainings_halt_total trainer_trainings_delete_total lcm_trainings_total trainer_queue_size \
	weft_jobs weft_log_lines_ingested_total weft_http_request_duration_seconds; do
	check_match "$m has a TYPE line" "(^|
)# TYPE $m (counter|gauge|histogram)(
|\$)" "$BODY"
done
check_eq "create counter (framework custom)" 3 "$(metric 'trainer_trainings_create_total{framework="custom"}')"
check_eq "lcm started 3 trainings" 3 "$(metric 'lcm_trainings_total{framework="custom"}')"
check_eq "success counter" 1 "$(metric trainer_trainings_success_total)"
check_eq "failed counter for C201" 1 "$(metric 'trainer_trainings_failed_total{errorcode="C201"}')"
check_eq "halt counter" 1 "$(metric trainer_trainings_halt_total)"
check_eq "delete counter" 1 "$(metric trainer_trainings_delete_total)"
check_eq "queue is empty" 0 "$(metric trainer_queue_size)"
check_eq "weft_jobs COMPLETED" 1 "$(metric 'weft_jobs{status="COMPLETED"}')"
check_eq "weft_jobs FAILED" 1 "$(metric 'weft_jobs{status="FAILED"}')"
check_eq "weft_jobs HALTED (the halted job was deleted)" 0 "$(metric 'weft_jobs{status="HALTED"}')"
check_match "log lines ingested (at least the good job's 3)" '^([3-9]|[1-9][0-9]+)$' \
	"$(metric weft_log_lines_ingested_total)"
n=$(metric 'weft_http_request_duration_seconds_count{route="models_create",code="201"}')
check_match "histogram counted the 3 creates" '^([3-9]|[1-9][0-9]+)$' "$n"
check_eq "the models_create +Inf bucket equals its count" "$n" \
	"$(metric 'weft_http_request_duration_seconds_bucket{route="models_create",code="201",le="+Inf"}')"
check_match "a models_create bucket line with count >= 3" \
	'weft_http_request_duration_seconds_bucket\{route="models_create",code="201",le="[0-9.]+"\} ([3-9]|[1-9][0-9]+)' "$BODY"
check_match "the halt is timed as models_patch 202" \
	'weft_http_request_duration_seconds_count\{route="models_patch",code="202"\} 1' "$BODY"
check_match "an unknown path is timed as route other, code 404" \
	'weft_http_request_duration_seconds_count\{route="other",code="404"\} [1-9]' "$BODY"
check_nomatch "no raw URL or job id in any label" "no-such-endpoint|training-" "$BODY"

# a framework name with characters the format must escape (\ " and newline cannot
# reach a label unescaped)
m=$(manifest metrics-esc 'echo esc')
sed -i 's/^  name: custom$/  name: "we\\\\ird\\"fw"/' "$m"
if submit "$m"; then
	api_noauth GET /metrics
	check_eq "a label value with \\ and \" is escaped" 1 \
		"$(metric 'trainer_trainings_create_total{framework="we\\ird\"fw"}')"
	cp "$T/body" "$T/metrics2.txt"
	if promtool check metrics <"$T/metrics2.txt" >/dev/null 2>&1; then
		ok "promtool accepts the escaped label"
	else
		not_ok "promtool accepts the escaped label" "$(promtool check metrics <"$T/metrics2.txt" 2>&1)"
	fi
else
	diag "the manifest with an odd framework name was refused: $BODY"
	ok "a framework name with odd characters is refused by the manifest check, nothing to escape"
fi

# learner CPU and memory: a learner that holds 64 MiB and spins for 4 s
burn='python3 -c "import time; a = bytearray(64 << 20); t = time.time(); [0 for _ in iter(lambda: time.time() - t > 4, True)]"'
submit "$(manifest metrics-burn "$burn")"
bid=$JOB_ID
wait_status "$bid" PROCESSING 20
sleep 2
api_noauth GET /metrics
cp "$T/body" "$T/metrics3.txt"
cpu=$(sed -n "s/^weft_learner_cpu_seconds_total{training_id=\"$bid\",learner=\"1\"} //p" "$T/metrics3.txt")
mem=$(sed -n "s/^weft_learner_memory_bytes{training_id=\"$bid\",learner=\"1\"} //p" "$T/metrics3.txt")
diag "running learner: cpu ${cpu:-none} s, memory ${mem:-none} bytes"
check "learner CPU seconds counted (> 0.5 after 2 s of spinning)" awk -v v="${cpu:-0}" 'BEGIN { exit !(v > 0.5) }'
check "learner memory in use (> 60 MiB)" test "${mem:-0}" -gt $((60 << 20))
check_match "learner series have HELP and TYPE" '# TYPE weft_learner_memory_bytes gauge' "$(cat "$T/metrics3.txt")"
if promtool check metrics <"$T/metrics3.txt" >/dev/null 2>&1; then
	ok "promtool accepts the learner series"
else
	not_ok "promtool accepts the learner series" "$(promtool check metrics <"$T/metrics3.txt" 2>&1)"
fi
wait_status "$bid" COMPLETED 30
api_noauth GET /metrics
check_nomatch "an ended learner has no series" "training_id=\"$bid\"" "$BODY"

api POST /metrics
check_error "POST /metrics: 405" 405

done_testing

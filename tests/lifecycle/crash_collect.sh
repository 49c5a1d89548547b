#!/usr/bin/env bash
# crash_collect.sh - kill -9 of the server, again and again, while three collectors
# work flat out: `auto` on a learner printing 20000 metric lines, `emetrics_file` on
# 6000 JSON records, `tensorboard` on 300 events appended to a growing event file.
# After the restarts every log line and every metric record is stored exactly once:
# rindex 1..N with no gap, each step once, in order, and the metric summaries
# count each point once.
. "$(dirname "$0")/../lib.sh"
start_server
seed_bucket tdata

NL=20000
auto_cmd="awk 'BEGIN { for (i = 1; i <= $NL; i++) { printf \"step=%d loss=%.5f\\n\", i, 1 / i; if (i % 1000 == 0) { fflush(); system(\"sleep 0.2\") } } }'"
submit "$(manifest crash-auto "$auto_cmd")"
aid=$JOB_ID

NE=6000
mkdir -p "$T/emmodel"
cat >"$T/emmodel/em.awk" <<'EOF'
BEGIN {
	f = ENVIRON["LOG_DIR"] "/evaluation-metrics.txt"
	for (i = 1; i <= n; i++) {
		printf "{\"grouplabel\":\"train\",\"etimes\":{\"iteration\":{\"type\":\"INT\",\"value\":\"%d\"}},\"values\":{\"acc\":{\"type\":\"FLOAT\",\"value\":\"0.5\"}}}\n", i >> f
		if (i % 300 == 0) { fflush(f); system("sleep 0.2") }
	}
}
EOF
submit "$(manifest crash-emfile "awk -v n=$NE -f em.awk" 'evaluation_metrics:
  type: emetrics_file')" "$(model_zip "$T/emmodel")"
eid=$JOB_ID

NT=300
mkdir -p "$T/tbmodel"
cp "$TESTS_DIR/tools/tfevents.py" "$T/tbmodel/"
cat >"$T/tbmodel/tb.sh" <<EOF
d=\$JOB_STATE_DIR/logs/tb/run
mkdir -p \$d
for b in \$(seq 0 $((NT / 10 - 1))); do
	for i in \$(seq 1 10); do
		s=\$((b * 10 + i))
		echo "{\"wall_time\": 1700000000, \"step\": \$s, \"values\": [{\"tag\": \"loss\", \"simple_value\": 0.5}]}"
	done | python3 tfevents.py write \$d/events.out.tfevents.1 - --append
	sleep 0.1
done
EOF
submit "$(manifest crash-tb 'bash tb.sh' 'evaluation_metrics:
  type: tensorboard')" "$(model_zip "$T/tbmodel")"
tid=$JOB_ID

wait_log "$aid" '^step=100 ' 20
for k in 1 2 3 4 5; do
	sleep "0.$((RANDOM % 6 + 3))"
	kill9_server
	sleep 0.3
	restart_server
done
diag "killed the server 5 times while collecting"

for id in "$aid" "$eid" "$tid"; do
	if wait_status "$id" 'COMPLETED|FAILED' 90; then ok "$id ends"; else not_ok "$id ends"; fi
	check_eq "$id COMPLETED" "COMPLETED" "$LAST_STATUS"
done

# auto: lines and records
api GET "/v1/logs/$aid/loglines?pos=-1"
check_json "auto: the last line has rindex $NL" '.models[0] | "\(.meta.rindex) \(.line)"' "$NL step=$NL loss=0.00005"
lines=$(for p in $(seq 1 10000 $NL); do
	api GET "/v1/logs/$aid/loglines?pos=$p&pagesize=10000"
	jq -r '.models[] | "\(.meta.rindex) \(.line)"' <<<"$BODY"
done)
check_eq "auto: lines are exactly step=1..$NL at rindex 1..$NL" \
	"$(seq 1 $NL | awk '{ printf "%d step=%d loss=%.5f\n", $1, $1, 1 / $1 }' | md5sum)" "$(md5sum <<<"$lines")"
recs=$(for p in $(seq 1 10000 $NL); do
	api GET "/v1/logs/$aid/emetrics?pos=$p&pagesize=10000"
	jq -r '.models[] | "\(.meta.rindex) \(.etimes.iteration.value)"' <<<"$BODY"
done)
check_eq "auto: one record per line, rindex = step = 1..$NL" "$(seq 1 $NL | awk '{ print $1, $1 }' | md5sum)" \
	"$(md5sum <<<"$recs")"
api GET "/v1/models/$aid/metrics?points=1"
check_json "auto: the loss summary counts each point once" \
	'.metrics[] | select(.name == "loss") | "\(.count) \(.last.iteration) \(.min.value)"' "$NL $NL 5e-05"

# emetrics_file
recs=$(api GET "/v1/logs/$eid/emetrics?pagesize=10000"; jq -r '.models[] | "\(.meta.rindex) \(.etimes.iteration.value)"' <<<"$BODY")
check_eq "emetrics_file: records 1..$NE exactly once" "$(seq 1 $NE | awk '{ print $1, $1 }' | md5sum)" \
	"$(md5sum <<<"$recs")"

# tensorboard
recs=$(api GET "/v1/logs/$tid/emetrics?pagesize=10000"; jq -r '.models[] | "\(.meta.rindex) \(.etimes.iteration.value) \(.grouplabel)"' <<<"$BODY")
check_eq "tensorboard: steps 1..$NT exactly once" "$(seq 1 $NT | awk '{ print $1, $1, "run" }' | md5sum)" \
	"$(md5sum <<<"$recs")"
api GET "/v1/models/$tid/metrics"
check_json "tensorboard: loss counted $NT times" '.metrics[] | select(.name == "loss") | .count' "$NT"

done_testing

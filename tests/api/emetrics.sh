#!/usr/bin/env bash
# emetrics.sh - the training data service's metric side: the `auto` collector on
# Keras, Caffe, PyTorch and name=value lines; GET /v1/logs/ID/emetrics (FfDL shape,
# pos/pagesize/since_time, learner and group filters, follow as NDJSON and as SSE);
# GET /v1/models/ID/metrics (last/min/max/history); POST /v1/logs/ID/emetrics with
# the job's own WEFT_JOB_TOKEN or the owner's credentials, and refusals; the
# `logger` type storing no records.
. "$(dirname "$0")/../lib.sh"
start_server
seed_bucket tdata

cat >"$T/keras.txt" <<'EOF'
Epoch 1/2
1/3 [=========>....................] - ETA: 0s - loss: 0.9000 - accuracy: 0.5000
3/3 [==============================] - 1s 5ms/step - loss: 0.7000 - accuracy: 0.6000 - val_loss: 0.8000 - val_accuracy: 0.5500
Epoch 2/2
3/3 [==============================] - 0s 4ms/step - loss: 0.4000 - accuracy: 0.8000 - val_loss: 0.5000 - val_accuracy: 0.7500
I1128 12:00:00.000000  1234 solver.cpp:218] Iteration 100 (10 iter/s, 1s/100 iters), loss = 2.25
I1128 12:00:01.000000  1234 solver.cpp:347] Iteration 200, Testing net (#0)
I1128 12:00:01.500000  1234 solver.cpp:414]     Test net output #0: accuracy = 0.91
Test set: Average loss: 0.0331, Accuracy: 9890/10000 (99%)
step=7 lr=0.01 note=hello
just a line without metrics
EOF
api PUT /v1/data/tdata/keras.txt --data-binary @"$T/keras.txt"
submit "$(manifest em-auto 'cat "$DATA_DIR/keras.txt"')"
id=$JOB_ID
if wait_status "$id" COMPLETED 40; then ok "auto job completes"; else not_ok "auto job completes"; fi

api GET "/v1/logs/$id/emetrics?pagesize=100"
check_status "emetrics: 200" 200
em=$BODY
check_json "7 records (3 Keras, Caffe train + test, PyTorch test, name=value)" '.models | length' "7"
check_json "rindex counts 1..7" '[.models[].meta.rindex] == [range(1;8)]' "true"
check_json "meta: training_id, user_id, subid" \
	"[.models[].meta | select(.training_id == \"$id\" and .user_id == \"admin\" and .subid == \"learner-1\")] | length" "7"
check_json "meta.time is ms" '[.models[].meta.time | select(. > 1000000000000)] | length' "7"
check_json "Keras record 1: loss and accuracy as FLOAT strings" \
	'.models[0].values | "\(.loss.type) \(.loss.value) \(.accuracy.value)"' "FLOAT 0.9000 0.5000"
check_json "Keras iterations continue over epochs (1, 3, 6)" \
	'[.models[0,1,2].etimes.iteration | "\(.type):\(.value)"] | join(",")' "INT:1,INT:3,INT:6"
check_json "Keras epochs are etimes" '[.models[0,1,2].etimes.epoch.value] | join(",")' "1,1,2"
check_json "val_ metrics kept by name, values as printed" '.models[2].values.val_accuracy.value' "0.7500"
check_json "Caffe train line: iteration 100, loss 2.25" \
	'.models[3] | "\(.grouplabel) \(.etimes.iteration.value) \(.values.loss.value)"' "train 100 2.25"
check_json "Caffe test output takes the Testing net iteration" \
	'.models[4] | "\(.grouplabel) \(.etimes.iteration.value) \(.values.accuracy.value)"' "test 200 0.91"
check_json "PyTorch Test set line" '.models[5] | "\(.grouplabel) \(.values.loss.value) \(.values.accuracy.value)"' \
	"test 0.0331 0.989"
check_json "name=value: step is the iteration, lr a metric, note not" \
	'.models[6] | "\(.etimes.iteration.value) \(.values.lr.value) \(.values.note // "none")"' "7 0.01 none"

api GET "/v1/logs/$id/emetrics?pos=2&pagesize=2"
check_json "pos=2&pagesize=2" '[.models[].meta.rindex] | join(",")' "2,3"
api GET "/v1/logs/$id/emetrics?pos=-2"
check_json "pos=-2: the last two" '[.models[].meta.rindex] | join(",")' "6,7"
api GET "/v1/logs/$id/emetrics?since_time=-1"
check_json "since_time=-1: the last one" '[.models[].meta.rindex] | join(",")' "7"
api GET "/v1/logs/$id/emetrics?group=test&pagesize=100"
check_json "group=test" '[.models[].meta.rindex] | join(",")' "5,6"
api GET "/v1/logs/$id/emetrics?learner=2"
check_json "learner=2 of a 1-learner job: none" '.models | length' "0"
api GET "/v1/logs/$id/emetrics?pagesize=0"
check_error "pagesize=0: 400" 400
check_match "pagesize=0: 400: names it" 'pagesize' "$(jbody .description)"
api GET "/v1/logs/$id/emetrics?search=loss"
check_error "search on emetrics: 400" 400
check_match "search on emetrics: 400: names it" 'search' "$(jbody .description)"
api GET "/v1/logs/training-nope/emetrics"
check_error "unknown job: 404" 404

api GET "/v1/models/$id/metrics"
check_status "model metrics: 200" 200
check_json "model_id and status" '"\(.model_id) \(.status) \(.records)"' "$id COMPLETED 7"
check_json "train/loss: count 4 (3 Keras + Caffe), last 2.25 at 100" \
	'.metrics[] | select(.group == "train" and .name == "loss") | "\(.count) \(.last.value) \(.last.iteration)"' \
	"4 2.25 100"
check_json "train/loss min 0.4 at 6, max 2.25" \
	'.metrics[] | select(.group == "train" and .name == "loss") | "\(.min.value)@\(.min.iteration) \(.max.value)"' \
	"0.4@6 2.25"
check_json "train/loss history in order" \
	'[.metrics[] | select(.group == "train" and .name == "loss") | .history[] | "\(.iteration):\(.value)"] | join(",")' \
	"1:0.9,3:0.7,6:0.4,100:2.25"
check_json "groups ordered train before test... alphabetically: test first" '[.metrics[].group] | unique | join(",")' \
	"test,train"
check_json "train metrics in order of appearance" \
	'[.metrics[] | select(.group == "train") | .name] | join(",")' "loss,accuracy,val_loss,val_accuracy,lr"
api GET "/v1/models/$id/metrics?points=2"
check_json "points=2 keeps the first and the last" \
	'[.metrics[] | select(.group == "train" and .name == "loss") | .history[] | .iteration] | join(",")' "1,100"
api GET "/v1/models/$id/metrics?points=0"
check_error "points=0: 400" 400
check_match "points=0: 400: names it" 'points' "$(jbody .description)"

# ---- follow: NDJSON and Server-Sent Events, both ending with the job
submit "$(manifest em-follow 'for i in 1 2 3 4; do echo "step=$i loss=0.$i"; sleep 0.3; done')"
fid=$JOB_ID
curl -sN --max-time 30 -H "Authorization: Bearer $ADMIN_TOKEN" \
	"$WEFT_SERVER/v1/logs/$fid/emetrics?follow=true" >"$T/follow.ndjson"
check_eq "NDJSON follow: 4 records then the end" "1,2,3,4" \
	"$(jq -r '.etimes.iteration.value' "$T/follow.ndjson" | paste -sd,)"
curl -sN --max-time 30 -D "$T/sse.h" -H "Authorization: Bearer $ADMIN_TOKEN" -H 'Accept: text/event-stream' \
	"$WEFT_SERVER/v1/logs/$fid/emetrics?follow=true&pos=3" >"$T/follow.sse"
check_match "SSE content type" 'text/event-stream' "$(grep -i '^content-type' "$T/sse.h")"
check_eq "SSE ids are the rindexes" "3,4" "$(sed -n 's/^id: //p' "$T/follow.sse" | paste -sd,)"
check_eq "SSE data are records" "0.3,0.4" \
	"$(sed -n 's/^data: {"meta"/{"meta"/p' "$T/follow.sse" | jq -r '.values.loss.value' | paste -sd,)"
check_eq "SSE ends with an end event" "event: end" "$(grep '^event:' "$T/follow.sse")"
curl -sN --max-time 30 -H "Authorization: Bearer $ADMIN_TOKEN" -H 'Accept: text/event-stream' \
	"$WEFT_SERVER/v1/logs/$fid/loglines?follow=true" >"$T/lines.sse"
check_eq "SSE works for loglines too" "4" "$(grep -c '^data: {"meta"' "$T/lines.sse")"

# ---- POST: the learner reports records itself with its job token
# (FfDL flattens a multi-line command into one line: separate commands with ;)
post_cmd='body='"'"'{"grouplabel":"test","etimes":{"iteration":{"type":"INT","value":"6"}},"values":{"acc":{"type":"FLOAT","value":"0.9"}}}'"'"';
code=$(curl -s -o /dev/null -w "%{http_code}" -H "Authorization: Bearer $WEFT_JOB_TOKEN" -d "$body" "$WEFT_API_URL/v1/logs/$TRAINING_ID/emetrics");
echo "posted:$code"; echo "token:$WEFT_JOB_TOKEN"; sleep 0.5'
submit "$(manifest em-post "$post_cmd" 'evaluation_metrics:
  type: logger')"
pid=$JOB_ID
wait_status "$pid" COMPLETED 40
check "learner posted with its token: 201" grep -qx 'posted:201' <(loglines "$pid")
api GET "/v1/logs/$pid/emetrics"
check_json "the posted record is stored" '.models[0] | "\(.grouplabel) \(.meta.subid) \(.values.acc.value)"' "test api 0.9"
check_json "logger type: no records from the log" '.models | length' "1"
ptoken=$(loglines "$pid" | sed -n 's/^token://p')
check_match "token given to the learner" '^wjob_[0-9a-f]{64}$' "$ptoken"
api_as "$ptoken" POST "/v1/logs/$id/emetrics" -d '{"grouplabel":"x","values":{"a":{"type":"FLOAT","value":"1"}}}'
check_error "another job's token: 401" 401
api_as "$ptoken" GET "/v1/logs/$pid/emetrics"
check_error "a job token cannot read: 401" 401
api_as "$ptoken" POST "/v1/logs/$pid/emetrics" -d '{"grouplabel":"x","values":{"a":{"value":1}}}'
check_error "the token of a job that ended: 409" 409
check_match "the answer says the job ended" 'has ended' "$(jbody .description)"
api_as "wjob_0000" POST "/v1/logs/$pid/emetrics" -d '{"grouplabel":"x","values":{"a":1}}'
check_error "a forged job token: 401" 401
api POST "/v1/logs/$pid/emetrics" -d '[{"grouplabel":"u","values":{"a":{"type":"INT","value":"3"}}},{"grouplabel":"u","values":{"a":{"value":4}}}]'
check_status "the owner posts an array: 201" 201
check_json "added 2" '.added' "2"
api POST "/v1/logs/$pid/emetrics" -d '{"records":[{"grouplabel":"u","values":{"a":{"value":5}}},{"grouplabel":"u","values":"bad"}]}'
check_error "a bad record fails the request, naming it" 400
check_match "a bad record fails the request, naming it and the field" 'records\[1\]: values' "$(jbody .description)"
api GET "/v1/logs/$pid/emetrics?group=u&pagesize=100"
check_json "nothing of the failed request was stored" '[.models[].values.a.value] | join(",")' "3,4"
api POST "/v1/logs/$pid/emetrics" -d 'not json'
check_error "garbage body: 400" 400
api GET "/v1/models/$pid/metrics"
check_json "posted records make metrics" '.metrics[] | select(.group == "u") | "\(.count) \(.last.value)"' "2 4"
user_token=$(api POST /v1/users -d '{"name":"emuser"}' >/dev/null; jbody .token)
api_as "$user_token" POST "/v1/logs/$pid/emetrics" -d '{"grouplabel":"u","values":{"a":{"value":1}}}'
check_error "another user cannot post to the job: 404" 404
api_as "$user_token" GET "/v1/models/$pid/metrics"
check_error "another user cannot read its metrics: 404" 404

# ---- /metrics counts records
api_noauth GET /metrics
check_match "weft_metric_records_ingested_total counted" 'weft_metric_records_ingested_total [1-9]' "$BODY"

done_testing

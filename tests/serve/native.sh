#!/usr/bin/env bash
# native.sh - model serving with the native runtime: the digits-c example is trained,
# its model.onnx deployed (short form and SeldonDeployment specs), and predictions go
# through Seldon's protocol (ndarray, tensor, names, feedback, metadata, errors as
# {status: FAILURE}) and the Open Inference Protocol v2 (health, metadata, infer,
# errors as {error}); bad bodies get a clear 400 and the server keeps serving; the
# body limit gives 413; a canary split lands within statistical bounds; a shadow
# predictor's answers are logged, not returned; OAuth tokens; request logs;
# Prometheus series; a restarted server serves its deployments again; undeploy.
. "$(dirname "$0")/../lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SERVER_ARGS="--max-predict-body 65536" start_server

train_digits_c
jid=$JOB_ID

# rows of the test set: "v0,...,v63" and their labels
sed -n '2,41p' "$T/digits/digits-test.csv" | cut -d, -f1-64 >"$T/rows.txt"
sed -n '2,41p' "$T/digits/digits-test.csv" | cut -d, -f65 >"$T/labels.txt"
row1=$(sed -n 1p "$T/rows.txt")

api POST /v1/deployments -d "{\"training_id\": \"$jid\", \"name\": \"digits\"}"
check_status "short-form deploy: 201" 201
check_json "the deployment is AVAILABLE with one native predictor" \
	'"\(.status) \(.predictors[0].runtime) \(.predictors[0].ready_replicas)"' "AVAILABLE native 1"
check_json "endpoints" '"\(.endpoints.seldon) \(.endpoints.v2)"' \
	"/seldon/default/digits/api/v1.0/predictions /v2/models/digits/infer"

# ---- Seldon
SP=/seldon/default/digits/api/v1.0
api POST "$SP/predictions" -d "{\"data\":{\"ndarray\":[[$row1]]}}"
check_status "ndarray prediction: 200" 200
check_json "10 probabilities summing to 1" '.data.ndarray[0] | "\(length) \(add * 1000 | round)"' "10 1000"
check_json "meta.puid and meta.requestPath" '"\(.meta.puid | length > 0) \(.meta.requestPath | keys | length)"' "true 1"
check_json "names t:0..t:9" '.data.names | "\(length) \(.[0]) \(.[9])"' "10 t:0 t:9"
nd=$(paste -sd';' "$T/rows.txt" | sed 's/;/],[/g')
api POST "$SP/predictions" -d "{\"data\":{\"ndarray\":[[$nd]]}}"
correct=$(jq -r '.data.ndarray[] | to_entries | max_by(.value) | .key' <<<"$BODY" | paste -d' ' - "$T/labels.txt" | awk '$1 == $2' | wc -l)
diag "40 test rows in one request: $correct predicted right"
check "a 40-row request is answered row by row, mostly right (>= 34/40)" test "$correct" -ge 34
vals=$(sed -n 1,2p "$T/rows.txt" | paste -sd,)
api POST "$SP/predictions" -d "{\"data\":{\"names\":[\"a\"],\"tensor\":{\"shape\":[2,64],\"values\":[$vals]}}}"
check_json "tensor in, tensor out (shape 2x10)" '.data.tensor.shape | map(tostring) | join("x")' "2x10"
check_json "tensor answers' values count" '.data.tensor.values | length' "20"
api POST "$SP/predictions" -d "{\"meta\":{\"puid\":\"abc123\"},\"data\":{\"ndarray\":[$row1]}}"
check_json "a 1-D ndarray is one row; the puid is echoed" '"\(.data.ndarray | length) \(.meta.puid)"' "1 abc123"
api POST "$SP/feedback" -d "{\"request\":{\"data\":{\"ndarray\":[[$row1]]}},\"reward\":1}"
check_status "feedback: 200" 200
api GET "$SP/metadata"
check_status "metadata: 200" 200
check_match "metadata names the model's input" 'pixels' "$BODY"

# bad bodies: a clear 400 in Seldon's shape, and the server goes on serving
api POST "$SP/predictions" -d '{"data":{"ndarray":[[1,2,3'
check_status "garbage JSON: 400" 400
check_json "Seldon error shape" '"\(.status.status) \(.status.code)"' "FAILURE 400"
api POST "$SP/predictions" -d '{"data":{"ndarray":[[1,2,3]]}}'
check_status "wrong row width: 400" 400
check_match "the error gives the expected and given shape" '64' "$(jbody .status.info)"
api POST "$SP/predictions" -d '{"data":{"ndarray":[[1,2],[3]]}}'
check_status "ragged ndarray: 400" 400
api POST "$SP/predictions" -d '{"strData":"hello"}'
check_status "strData to the native runtime: 400" 400
api POST "$SP/predictions" -d "{\"data\":{\"ndarray\":[[$row1]]}}"
check_status "still serving after bad bodies: 200" 200
big=$(head -c 70000 /dev/zero | tr '\0' '1')
api POST "$SP/predictions" -d "{\"data\":{\"ndarray\":[[$big]]}}"
check_status "a body over --max-predict-body: 413" 413
check_match "the 413 says the limit" '65536' "$(jbody .status.info)"
api POST /seldon/default/nope/api/v1.0/predictions -d '{"data":{"ndarray":[[1]]}}'
check_status "unknown deployment: 404" 404
check_json "404 in Seldon's shape" '.status.status' "FAILURE"
api_noauth POST "$SP/predictions" -d "{\"data\":{\"ndarray\":[[$row1]]}}"
check_status "no credentials: 401" 401

# ---- Open Inference Protocol v2
api_noauth GET /v2/health/live
check_status "v2 live: 200" 200
api_noauth GET /v2/health/ready
check_status "v2 ready: 200" 200
api_noauth GET /v2
check_json "v2 server metadata" '.name' "weft"
api GET /v2/models/digits
check_json "v2 model metadata: input pixels FP32 [-1,64]" '.inputs[0] | "\(.name) \(.datatype) \(.shape | map(tostring) | join(","))"' \
	"pixels FP32 -1,64"
api GET /v2/models/digits/ready
check_status "v2 model ready: 200" 200
api POST /v2/models/digits/infer -d "{\"id\":\"r1\",\"inputs\":[{\"name\":\"pixels\",\"shape\":[1,64],\"datatype\":\"FP32\",\"data\":[$row1]}]}"
check_status "v2 infer: 200" 200
check_json "v2 answer: id, model, output [1,10] FP32" \
	'"\(.id) \(.model_name) \(.outputs[0].datatype) \(.outputs[0].shape | map(tostring) | join(",")) \(.outputs[0].data | length)"' \
	"r1 digits FP32 1,10 10"
api POST /v2/models/digits/infer -d "{\"inputs\":[{\"name\":\"pixels\",\"shape\":[1,64],\"datatype\":\"INT64\",\"data\":[$row1]}]}"
check_status "v2 INT64 input converted: 200" 200
api POST /v2/models/digits/infer -d '{"inputs":[{"name":"pixels","shape":[1,64],"datatype":"FP99","data":[1]}]}'
check_status "v2 unknown datatype: 400" 400
check_match "v2 error shape names the datatype" 'FP99' "$(jbody .error)"
api POST /v2/models/digits/infer -d '{"inputs":[{"name":"pixels","shape":[1,64],"datatype":"INT8","data":[300]}]}'
check_status "v2 value that does not fit INT8: 400" 400
api POST /v2/models/digits/infer -d '{"inputs":[{"name":"pixels","shape":[1,3],"datatype":"FP32","data":[1,2,3]}]}'
check_status "v2 wrong shape: 400" 400
api POST /v2/models/digits/infer -d 'nonsense'
check_status "v2 garbage: 400" 400
check_json "v2 errors are {error}" 'keys | join(",")' "error"
api POST /v2/models/digits/infer -d "{\"inputs\":[{\"name\":\"pixels\",\"shape\":[1,64],\"datatype\":\"FP32\",\"data\":[$row1]}]}"
check_status "v2 still serving: 200" 200

# ---- a SeldonDeployment: canary split, shadow, OAuth, request log
OWN=$(free_port)
cat >"$T/canary.yaml" <<EOF
apiVersion: machinelearning.seldon.io/v1
kind: SeldonDeployment
metadata:
  name: split
  namespace: team-a
spec:
  name: split
  port: $OWN
  oauth_key: k3y
  oauth_secret: s3cret
  request_log: true
  predictors:
    - name: main
      replicas: 2
      traffic: 80
      graph: {name: main-model, type: MODEL, endpoint: {type: REST}, children: []}
      componentSpecs:
        - spec:
            containers:
              - name: main-model
                image: example/model:1
                resources: {requests: {memory: 1Mi}}
                env: [{name: TRAINING_ID, value: "$jid"}]
    - name: canary
      traffic: 20
      graph: {name: canary-model, type: MODEL, endpoint: {type: REST}, children: []}
      componentSpecs:
        - spec:
            containers:
              - name: canary-model
                env: [{name: TRAINING_ID, value: "$jid"}]
    - name: watcher
      shadow: true
      graph: {name: shadow-model, type: MODEL, endpoint: {type: REST}, children: []}
      componentSpecs:
        - spec:
            containers:
              - name: shadow-model
                env: [{name: TRAINING_ID, value: "$jid"}]
EOF
api POST /v1/deployments --data-binary "@$T/canary.yaml"
check_status "SeldonDeployment (YAML) deploy: 201" 201
check_json "three predictors" '[.predictors[] | "\(.name):\(.traffic):\(.shadow)"] | join(",")' \
	"main:80:false,canary:20:false,watcher:0:true"
check_match "ignored fields are reported with their path" 'resources' "$(jq -c .ignored <<<"$BODY")"
api POST /v1/deployments --data-binary "@$T/canary.yaml"
check_error "the same name again: 409" 409
N=400
for i in $(seq $N); do
	curl -s -H "Authorization: Bearer $ADMIN_TOKEN" "$WEFT_SERVER/seldon/team-a/split/api/v1.0/predictions" \
		-d "{\"data\":{\"ndarray\":[[$row1]]}}"
	echo
done >"$T/split.out"
main=$(grep -c '"main-model"' "$T/split.out")
canary=$(grep -c '"canary-model"' "$T/split.out")
diag "canary split over $N requests: main $main, canary $canary"
check_eq "every request answered by main or canary, none by the shadow" "$N" "$((main + canary))"
check "the canary gets 20% within 4 standard deviations (48..112 of 400)" test "$canary" -ge 48 -a "$canary" -le 112
sleep 1
check "the shadow's answers are logged" test "$(wc -l <"$WEFT_HOME/deployments/split/shadow.jsonl")" -ge $((N - 10))
check_match "shadow log lines name the shadow predictor" '"predictor":"watcher"' "$(head -1 "$WEFT_HOME/deployments/split/shadow.jsonl")"
check_eq "the request log has every request" "$N" "$(wc -l <"$WEFT_HOME/deployments/split/requests.jsonl")"
check_match "request log lines hold request, response and status" '"status":200' \
	"$(head -1 "$WEFT_HOME/deployments/split/requests.jsonl")"
api POST /seldon/default/split/api/v1.0/predictions -d "{\"data\":{\"ndarray\":[[$row1]]}}"
check_status "the wrong namespace in the URL: 404" 404
check_match "the 404 names the namespace" 'team-a' "$(jbody .status.info)"
own=$(curl -s -H "Authorization: Bearer $ADMIN_TOKEN" "http://127.0.0.1:$OWN/api/v1.0/predictions" \
	-d "{\"data\":{\"ndarray\":[[$row1]]}}")
check_json_of() { local b=$BODY; BODY=$2; check_json "$1" "$3" "$4"; BODY=$b; }
check_json_of "the deployment's own port answers /api/v1.0/predictions" "$own" '.data.ndarray[0] | length' "10"
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $ADMIN_TOKEN" "http://127.0.0.1:$OWN/v1/models")
check_eq "its own port serves nothing else: 404" "404" "$code"
api_noauth POST /oauth/token -u k3y:s3cret -d grant_type=client_credentials
check_status "OAuth token: 200" 200
otok=$(jbody .access_token)
api_as "$otok" POST /seldon/team-a/split/api/v1.0/predictions -d "{\"data\":{\"ndarray\":[[$row1]]}}"
check_status "predict with the OAuth token: 200" 200
api_as "$otok" POST "$SP/predictions" -d "{\"data\":{\"ndarray\":[[$row1]]}}"
check_status "the token is for its deployment only: 404" 404
api_noauth POST /oauth/token -u k3y:wrong -d grant_type=client_credentials
check_error "a wrong secret: 401" 401
user_token=$(api POST /v1/users -d '{"name":"servuser"}' >/dev/null; jbody .token)
api_as "$user_token" POST "$SP/predictions" -d "{\"data\":{\"ndarray\":[[$row1]]}}"
check_status "another user cannot use the deployment: 404" 404
api_as "$user_token" GET /v1/deployments
check_json "another user sees no deployments" '.deployments | length' "0"

# ---- micro-batching: concurrent one-row requests share model runs
cat >"$T/batched.yaml" <<EOF
spec:
  name: batched
  predictors:
    - name: b
      training_id: $jid
      batching: {max_batch_size: 8, max_wait_ms: 50}
      graph: {name: b, type: MODEL, endpoint: {type: REST}, children: []}
EOF
api POST /v1/deployments --data-binary "@$T/batched.yaml"
check_status "a deployment with batching: 201" 201
seq 32 | xargs -P 16 -I{} curl -s -o /dev/null -w '%{http_code}\n' -H "Authorization: Bearer $ADMIN_TOKEN" \
	"$WEFT_SERVER/seldon/default/batched/api/v1.0/predictions" -d "{\"data\":{\"ndarray\":[[$row1]]}}" >"$T/batched.out"
check_eq "32 concurrent requests, all 200" "32" "$(grep -c '^200$' "$T/batched.out")"
api_noauth GET /metrics
bcount=$(sed -n 's/^weft_serve_batch_size_count{deployment="batched",predictor="b"} //p' <<<"$BODY")
bsum=$(sed -n 's/^weft_serve_batch_size_sum{deployment="batched",predictor="b"} //p' <<<"$BODY")
diag "batched: $bsum rows in $bcount multi-request runs"
check "requests were batched (some model runs took several requests)" test "${bcount:-0}" -ge 1
check "no batch exceeded max_batch_size 8" test "$(sed -n 's/^weft_serve_batch_size_bucket{deployment="batched",predictor="b",le="8"} //p' <<<"$BODY")" = "$bcount"

# ---- REST: list, show (lineage), metrics
api GET /v1/deployments
check_json "list: every deployment" '[.deployments[].name] | sort | join(",")' "batched,digits,split"
api GET /v1/deployments/split
check_json "show: request counts" '.requests.by_code["200"] >= 400' "true"
check_json "show: lineage names the job and its framework" '"\(.lineage.training_id) \(.lineage.job.name) \(.lineage.job.status)"' \
	"$jid digits-c COMPLETED"
check_match "show: lineage has the manifest" 'framework' "$(jbody .lineage.manifest)"
check_json "show: lineage has the data store" '.lineage.data_stores[0].training_data' "digits"
check_json "show: lineage has the final metrics" '[.lineage.metrics[].name] | index("test_accuracy") != null' "true"
check_json "show: secrets are not shown" '.spec | tostring | contains("s3cret")' "false"
api_noauth GET /metrics
check_match "requests counted per deployment and predictor" \
	'weft_serve_requests_total\{deployment="split",predictor="canary",code="200"\} [0-9]+' "$BODY"
check_match "latency histogram" 'weft_serve_request_duration_seconds_count\{deployment="digits",predictor="default"\}' "$BODY"
cp "$T/body" "$T/metrics.txt"
if promtool check metrics <"$T/metrics.txt" >/dev/null 2>&1; then ok "promtool accepts the serving series"; else
	not_ok "promtool accepts the serving series" "$(promtool check metrics <"$T/metrics.txt" 2>&1 | head -5)"; fi

# ---- a restarted server serves its deployments again
stop_server
# a stored spec that no longer parses: not started, but it can be deleted
sqlite3 "$WEFT_HOME/weft.db" "INSERT INTO deployments(name, user_name, spec, created_ms) VALUES('broken', 'admin', 'spec: {name: broken', 0)"
SERVER_ARGS="--max-predict-body 65536" restart_server
check_match "the unparsable stored spec is reported at start" 'deployment broken: its stored spec no longer parses' \
	"$(cat "$WEFT_HOME/server.log")"
api POST /v1/deployments -d "{\"training_id\": \"$jid\", \"name\": \"broken\"}"
check_error "its name stays taken: 409" 409
api DELETE /v1/deployments/broken
check_status "it can be undeployed: 200" 200
api DELETE /v1/deployments/broken
check_error "and is gone: 404" 404
api POST "$SP/predictions" -d "{\"data\":{\"ndarray\":[[$row1]]}}"
check_status "after a restart the deployment answers: 200" 200

# ---- undeploy
api DELETE /v1/deployments/digits
check_status "undeploy: 200" 200
api POST "$SP/predictions" -d "{\"data\":{\"ndarray\":[[$row1]]}}"
check_status "an undeployed model: 404" 404
api DELETE /v1/deployments/digits
check_error "undeploy twice: 404" 404
api POST /v1/deployments -d '{"training_id": "training-nope"}'
check_error "deploy an unknown job: 404" 404
api POST /v1/deployments -d 'spec: {name: x'
check_error "a spec that does not parse: 400" 400

done_testing

#!/usr/bin/env bash
# custom.sh - custom model servers: examples/model-server/server.py (Python's standard
# library) serves the digits-c job's model.bin over Seldon's internal API; weft starts
# two replicas with FfDL's variables, balances requests over them (Seldon and OIP v2),
# and when one replica is killed under load no request fails: it is retried on the
# other, and the dead one is restarted (counted in `deployment show`).
. "$(dirname "$0")/../lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
start_server

train_digits_c
jid=$JOB_ID
row=$(sed -n 2p "$T/digits/digits-test.csv" | cut -d, -f1-64)
label=$(sed -n 2p "$T/digits/digits-test.csv" | cut -d, -f65)

cat >"$T/custom.yaml" <<YAML
apiVersion: machinelearning.seldon.io/v1
kind: SeldonDeployment
metadata:
  name: pyserver
spec:
  name: pyserver
  predictors:
    - name: py
      replicas: 2
      command: python3 $ROOT/examples/model-server/server.py
      graph: {name: digits-py, type: MODEL, endpoint: {type: REST}, children: []}
      componentSpecs:
        - spec:
            containers:
              - name: digits-py
                image: example/digits-server:1
                env: [{name: TRAINING_ID, value: "$jid"}, {name: GREETING, value: hello}]
YAML
api POST /v1/deployments --data-binary "@$T/custom.yaml"
check_status "custom deployment: 201" 201
check_json "AVAILABLE with 2 ready replicas" '"\(.status) \(.predictors[0].runtime) \(.predictors[0].ready_replicas)"' \
	"AVAILABLE custom 2"
SP=/seldon/default/pyserver/api/v1.0
api POST "$SP/predictions" -d "{\"data\":{\"ndarray\":[[$row]]}}"
check_status "Seldon prediction through the model server: 200" 200
check_json "its answer: 10 probabilities, the right digit" \
	'.data.ndarray[0] | "\(length) \(to_entries | max_by(.value) | .key)"' "10 $label"
check_json "weft adds meta.puid and meta.requestPath to the server's answer" \
	'"\(.meta.puid | length > 0) \(.meta.requestPath["digits-py"])"' "true example/digits-server:1"
api POST "$SP/predictions" -d "{\"meta\":{\"puid\":\"req42\"},\"data\":{\"ndarray\":[[$row]]}}"
check_json "the request's puid names the answer" '.meta.puid' "req42"
api POST /v2/models/pyserver/infer -d "{\"inputs\":[{\"name\":\"x\",\"shape\":[1,64],\"datatype\":\"FP32\",\"data\":[$row]}]}"
check_status "OIP v2 through the model server: 200" 200
check_json "v2 answer has 10 values" '.outputs[0].data | length' "10"
api POST "$SP/predictions" -d '{"data":{"ndarray":[[1,2,3]]}}'
check "a bad row is the model server's error, not a crash (4xx/5xx)" test "$HTTP_STATUS" -ge 400

api GET /v1/deployments/pyserver
pid0=$(jbody '.predictors[0].replica_states[0].pid')
check "replica 0 has a pid" test "${pid0:-0}" -gt 1
check_match "FfDL's variables reach the replica" "TRAINING_ID=$jid" "$(tr '\0' '\n' </proc/"$pid0"/environ 2>/dev/null)"
check_match "the spec's env reaches the replica" "GREETING=hello" "$(tr '\0' '\n' </proc/"$pid0"/environ 2>/dev/null)"

# replica death under load: 4 clients, 300 requests, replica 0 killed in the middle
loaders=()
for c in 1 2 3 4; do
	(for i in $(seq 75); do
		curl -s -o /dev/null -w '%{http_code}\n' -H "Authorization: Bearer $ADMIN_TOKEN" \
			"$WEFT_SERVER$SP/predictions" -d "{\"data\":{\"ndarray\":[[$row]]}}"
	done >"$T/load-$c.txt") &
	loaders+=($!)
done
sleep 0.5
kill -9 "$pid0"
wait "${loaders[@]}" # not a bare wait: the server runs in the background too
codes=$(cat "$T"/load-*.txt | sort | uniq -c | awk '{printf "%s:%s ", $2, $1}')
diag "answers under load with a replica killed: $codes"
check_eq "300 requests, every one answered 200" "300" "$(cat "$T"/load-*.txt | grep -c '^200$')"
ok_restart=0
for i in $(seq 50); do
	api GET /v1/deployments/pyserver
	if [ "$(jbody '.predictors[0].replica_states[0].restarts')" -ge 1 ] &&
		[ "$(jbody '.predictors[0].ready_replicas')" = 2 ]; then ok_restart=1; break; fi
	sleep 0.2
done
check "the killed replica is restarted and ready again (restarts counted)" test "$ok_restart" = 1
check_ne "it runs under a new pid" "$pid0" "$(jbody '.predictors[0].replica_states[0].pid')"
check "the replicas' output is kept in the deployment's log" test -s "$WEFT_HOME/deployments/pyserver/py.log"

rpids=$(jbody '[.predictors[0].replica_states[].pid] | map(tostring) | join(" ")')
api DELETE /v1/deployments/pyserver
check_status "undeploy: 200" 200
gone=0
for i in $(seq 50); do
	alive=0
	for p in $rpids; do kill -0 "$p" 2>/dev/null && alive=1; done
	[ $alive = 0 ] && { gone=1; break; }
	sleep 0.2
done
check "the replicas are stopped (pids $rpids)" test "$gone" = 1

done_testing

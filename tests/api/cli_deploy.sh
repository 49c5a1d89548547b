#!/usr/bin/env bash
# cli_deploy.sh - the serving side of the weft CLI: --help and usage errors of deploy,
# deployments, deployment show, predict and undeploy; exit 2 with the server unreachable;
# then, against a real server, a round trip with the digits-c example: train it, deploy it
# (short form, YAML and JSON specs, stdin), list, show (lineage), predict over Seldon and
# OIP v2 (10 probabilities per row summing to ~1, the right digit), the printed curl
# command, OAuth credentials, undeploy. --wait is checked against a small stand-in server
# (python3), since weft's own server answers POST only once a deployment is ready.
. "$(dirname "$0")/../lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
W=$WEFT_BIN
start_server

# run_cli NAME EXPECTED_RC CMD...: runs the CLI, keeps stdout in $OUT, stderr in $ERR.
run_cli() {
	local name=$1 want=$2 rc
	shift 2
	"$@" >"$T/out" 2>"$T/err" </dev/null
	rc=$?
	OUT=$(cat "$T/out")
	ERR=$(cat "$T/err")
	if [ "$rc" = "$want" ]; then ok "$name"; else not_ok "$name" "command: $*" "expected exit $want, got $rc" "stdout: ${OUT:0:600}" "stderr: ${ERR:0:400}"; fi
}

# check_line NAME ERE: some line of $OUT matches ERE (^ and $ anchor at lines).
check_line() {
	if grep -qE -- "$2" <<<"$OUT"; then ok "$1"; else not_ok "$1" "expected a line matching: $2" "got: ${OUT:0:800}"; fi
}

# ---- help and usage errors (no server needed)
for c in deploy deployments deployment predict undeploy; do
	run_cli "weft $c --help exits 0" 0 "$W" "$c" --help
	check_match "weft $c --help prints a usage naming $c" "usage: weft $c" "$OUT"
done
run_cli "weft deployment show --help exits 0" 0 "$W" deployment show --help
run_cli "weft --help lists deploy" 0 "$W" --help
check_match "weft --help names the serving commands" 'deploy.*deployments.*deployment.*predict.*undeploy' "$(tr '\n' ' ' <<<"$OUT")"
check_match "deploy --help documents --wait and --timeout" '--no-wait.*--timeout' "$(tr '\n' ' ' <<<"$(
	"$W" deploy --help
)")"

run_cli "deploy without SPEC exits 1" 1 "$W" deploy
check_match "deploy without SPEC says what is missing" 'missing the SPEC' "$ERR"
run_cli "deploy SPEC --training-id exits 1" 1 "$W" deploy x.yaml --training-id training-x
check_match "deploy with both says so" 'not both' "$ERR"
run_cli "deploy SPEC --name exits 1" 1 "$W" deploy x.yaml --name foo
check_match "deploy SPEC --name names --name" '\-\-name' "$ERR"
run_cli "deploy --replicas x exits 1" 1 "$W" deploy --training-id training-x --replicas x
check_match "deploy --replicas x names the flag and value" "--replicas: 'x' is not an integer" "$ERR"
run_cli "deploy --replicas 0 exits 1" 1 "$W" deploy --training-id training-x --replicas 0
check_match "deploy --replicas 0 is out of range" 'out of range' "$ERR"
run_cli "deploy --timeout abc exits 1" 1 "$W" deploy --training-id training-x --timeout abc
run_cli "deploy --frob exits 1" 1 "$W" deploy --frob x.yaml
check_match "deploy --frob names the option" "unknown option '--frob'" "$ERR"
run_cli "deploy with two SPECs exits 1" 1 "$W" deploy a.yaml b.yaml
run_cli "deploy of a missing file exits 1" 1 "$W" deploy "$T/nope.yaml"
check_match "deploy of a missing file names it" 'nope\.yaml' "$ERR"
: >"$T/empty.yaml"
run_cli "deploy of an empty file exits 1" 1 "$W" deploy "$T/empty.yaml"
check_match "deploy of an empty file says empty" 'empty' "$ERR"
run_cli "deployments with an argument exits 1" 1 "$W" deployments foo
run_cli "deployment without a subcommand exits 1" 1 "$W" deployment
run_cli "deployment frob exits 1" 1 "$W" deployment frob x
check_match "deployment frob names the subcommand" "'frob' is not a deployment subcommand" "$ERR"
run_cli "deployment show without NAME exits 1" 1 "$W" deployment show
run_cli "undeploy without NAME exits 1" 1 "$W" undeploy
run_cli "undeploy with two names exits 1" 1 "$W" undeploy a b
run_cli "predict without NAME exits 1" 1 "$W" predict
run_cli "predict without --data or --file exits 1" 1 "$W" predict m
check_match "predict without input says how to give it" '--data JSON or --file F' "$ERR"
run_cli "predict with --data and --file exits 1" 1 "$W" predict m --data '[[1]]' --file x.json
run_cli "predict with --data that is not JSON exits 1" 1 "$W" predict m --data '[[1,2'
check_match "predict bad JSON says not JSON" 'not JSON' "$ERR"
run_cli "predict --data 5 (a scalar) exits 1" 1 "$W" predict m --data 5
run_cli "predict --v2 with a ragged array exits 1" 1 "$W" predict m --v2 --data '[[1,2],[3]]'
check_match "ragged array: names the row" 'data\[1\]' "$ERR"
run_cli "predict --v2 with a string value exits 1" 1 "$W" predict m --v2 --data '[[1,"a"]]'
check_match "string value: names the element" 'data\[0\]\[1\] is not a number' "$ERR"
run_cli "predict --oauth-key without a secret exits 1" 1 "$W" predict m --data '[[1]]' --oauth-key k
run_cli "predict of a missing --file exits 1" 1 "$W" predict m --file "$T/nope.json"

# ---- server unreachable: exit 2
dead=http://127.0.0.1:$(free_port)
echo 'spec: {name: x}' >"$T/x.yaml"
for c in "deploy --training-id training-x" "deploy $T/x.yaml" deployments "deployment show x" "undeploy x" \
	"predict x --data [[1]]" "predict x --v2 --data [[1]]"; do
	# shellcheck disable=SC2086
	run_cli "weft $c with the server unreachable exits 2" 2 env WEFT_SERVER="$dead" "$W" $c
done
check_match "unreachable: the message names the server" "cannot reach the weft server at ${dead}" "$ERR"

# ---- against the real server
api GET /v1/deployments
if [ "$HTTP_STATUS" != 200 ]; then
	skip "serving round trip" "this server does not answer GET /v1/deployments (HTTP $HTTP_STATUS)"
	done_testing
fi
run_cli "deployments with none exits 0" 0 "$W" deployments
check_line "deployments has the column headers" '^NAME +STATUS +TRAINING-ID +PREDICTORS +REPLICAS +CREATED$' "$OUT"
run_cli "deploy of an unknown training job exits 1" 1 "$W" deploy --training-id training-ZZZZZZZZZ
check_match "unknown job: the server's message" 'training-ZZZZZZZZZ' "$ERR"
printf 'spec:\n  name: bad\n  predictors:\n    - name: p\n      replicas: two\n' >"$T/bad.yaml"
run_cli "deploy of a bad spec exits 1" 1 "$W" deploy "$T/bad.yaml"
check_imatch "bad spec: the error names the field" 'replicas' "$ERR"

# train digits-c (as tests/lifecycle/examples.sh does)
if ! /usr/bin/python3 "$ROOT/scripts/export-digits.py" "$T/digits" >/dev/null 2>&1; then
	not_ok "export the digits data set (python3-sklearn)"
	done_testing
fi
for f in "$T"/digits/*.csv; do
	api PUT "/v1/data/digits/$(basename "$f")" --data-binary "@$f"
done
zc=$T/digits-c.zip
(cd "$ROOT/examples/digits-c" && zip -q "$zc" train.c)
submit "$ROOT/examples/digits-c/manifest.yml" "$zc"
check_status "digits-c submitted" 201
id=$JOB_ID
if wait_status "$id" 'COMPLETED|FAILED' $((120 * TIME_SCALE)); then ok "digits-c ends"; else not_ok "digits-c ends"; fi
check_eq "digits-c COMPLETED" COMPLETED "$LAST_STATUS"

# deploy, short form
run_cli "deploy --training-id exits 0" 0 "$W" deploy --training-id "$id" --name digits --replicas 2
check_match "deploy prints the name" 'Deployment: +digits' "$OUT"
check_match "deploy prints AVAILABLE" 'Status: +AVAILABLE' "$OUT"
check_match "deploy prints the predictor: native, 2/2 replicas, 100%" "default +native +$id +2/2 +100%" "$OUT"
check_match "deploy prints the Seldon endpoint as a full URL" "$WEFT_SERVER/seldon/default/digits/api/v1.0/predictions" "$OUT"
check_match "deploy prints the v2 endpoint as a full URL" "$WEFT_SERVER/v2/models/digits/infer" "$OUT"
# the printed curl example runs as is
sed -n '/^Try it/,/^  weft predict/p' "$T/out" | sed '1d;$d' >"$T/curl.sh"
check_match "deploy prints a curl example" 'curl -s' "$(cat "$T/curl.sh")"
check_eq "the curl example answers 10 probabilities" 10 "$(bash "$T/curl.sh" 2>&1 | jq '.data.ndarray[0] | length' 2>&1)"
run_cli "deploy of an existing name exits 1" 1 "$W" deploy --training-id "$id" --name digits
check_match "existing name: says it exists" 'exists' "$ERR"

# deploy a YAML spec from a file: canary-free, a shadow predictor and an ignored field
cat >"$T/spec.yaml" <<EOF
apiVersion: machinelearning.seldon.io/v1
kind: SeldonDeployment
metadata:
  name: digits-yaml
spec:
  name: digits-yaml
  predictors:
    - name: main
      replicas: 1
      graph: {name: classifier, type: MODEL, endpoint: {type: REST}, children: []}
      componentSpecs:
        - spec:
            containers:
              - name: classifier
                resources:
                  requests: {memory: 1Mi}
                env:
                  - {name: TRAINING_ID, value: $id}
    - name: mirror
      shadow: true
      training_id: $id
      graph: {name: classifier, type: MODEL, endpoint: {type: REST}, children: []}
EOF
run_cli "deploy SPEC.yaml exits 0" 0 "$W" deploy "$T/spec.yaml"
check_match "YAML spec: the ignored field with its line" 'ignored: spec\.predictors\[0\]\.componentSpecs\[0\]\.spec\.containers\[0\]\.resources \(line 15\)' "$OUT"
check_match "YAML spec: the shadow predictor" 'mirror +native +training-[^ ]+ +1/1 +shadow' "$OUT"
# a JSON spec on standard input, --json --no-wait
json_spec=$(jq -nc --arg id "$id" '{kind: "SeldonDeployment", metadata: {name: "digits-json", namespace: "team-a"},
	spec: {name: "digits-json", oauth_key: "k1", oauth_secret: "s3cret", predictors: [{name: "p", training_id: $id,
	graph: {name: "c", type: "MODEL", endpoint: {type: "REST"}, children: []}}]}}')
"$W" deploy - --json --no-wait <<<"$json_spec" >"$T/out" 2>"$T/err"
check_eq "deploy - (stdin) --json exits 0" 0 "$?"
BODY=$(cat "$T/out")
check_json "deploy --json is the server's answer" '.name + " " + .status' "digits-json AVAILABLE"
check_json "deploy --json: the namespace is in the Seldon endpoint" '.endpoints.seldon' "/seldon/team-a/digits-json/api/v1.0/predictions"

# list
run_cli "deployments exits 0" 0 "$W" deployments
check_match "deployments lists digits with its job and replicas" "digits +AVAILABLE +$id +default\(100%\) +2/2 +[0-9]{4}-" "$OUT"
check_match "deployments lists the shadow" 'digits-yaml +AVAILABLE .*mirror\(shadow\)' "$OUT"
run_cli "deployments --json exits 0" 0 "$W" deployments --json
check_eq "deployments --json has the three" 3 "$(jq '.deployments | length' <<<"$OUT" 2>&1)"

# predict: the first five test rows
rows=$(sed -n 2,6p "$T/digits/digits-test.csv" | cut -d, -f1-64 | sed 's/.*/[&]/' | paste -sd, | sed 's/.*/[&]/')
labels=$(sed -n 2,6p "$T/digits/digits-test.csv" | cut -d, -f65 | paste -sd, | sed 's/.*/[&]/')
run_cli "predict (Seldon) exits 0" 0 "$W" predict digits --data "$rows"
check_eq "Seldon: 5 rows of 10 probabilities" "5 10" "$(jq -r '.data.ndarray | "\(length) \(.[0] | length)"' <<<"$OUT" 2>&1)"
check_eq "Seldon: each row sums to ~1" true "$(jq '[.data.ndarray[] | add | (. > 0.999 and . < 1.001)] | all' <<<"$OUT" 2>&1)"
seldon_argmax=$(jq -c '[.data.ndarray[] | index(max)]' <<<"$OUT" 2>&1)
check "Seldon: at least 4 of 5 digits right" jq -n --argjson p "$seldon_argmax" --argjson l "$labels" \
	'[range(5) as $i | select($p[$i] == $l[$i])] | length >= 4' -e
check_match "Seldon: meta.puid" '"puid"' "$OUT"
check_line "predict prints arrays of numbers on one line" '^      \[[-0-9.e]+, ' "$OUT"
run_cli "predict --v2 exits 0" 0 "$W" predict digits --v2 --data "$rows"
check_eq "v2: one output of shape [5,10]" "[5,10] 50" "$(jq -c '.outputs[0] | "\(.shape | tojson) \(.data | length)"' -r <<<"$OUT" 2>&1)"
check_eq "v2: each row sums to ~1" true "$(jq '[.outputs[0].data as $d | range(5) | $d[. * 10:. * 10 + 10] | add | (. > 0.999 and . < 1.001)] | all' <<<"$OUT" 2>&1)"
check_eq "v2: the same digits as Seldon" "$seldon_argmax" \
	"$(jq -c '[.outputs[0].data as $d | range(5) | $d[. * 10:. * 10 + 10] | index(max)]' <<<"$OUT" 2>&1)"
one=$(sed -n 2p "$T/digits/digits-test.csv" | cut -d, -f1-64)
run_cli "predict --v2 of one row (1-D) exits 0" 0 "$W" predict digits --v2 --data "[$one]"
check_eq "v2: a 1-D row is a batch of one" "[1,10]" "$(jq -c '.outputs[0].shape' <<<"$OUT" 2>&1)"
echo "{\"data\":{\"tensor\":{\"shape\":[1,64],\"values\":[$one]}}}" >"$T/msg.json"
run_cli "predict --file SeldonMessage exits 0" 0 "$W" predict digits --file "$T/msg.json"
check_eq "a tensor message is answered as a tensor" "[1,10]" "$(jq -c '.data.tensor.shape' <<<"$OUT" 2>&1)"
run_cli "predict of a wrong shape exits 1" 1 "$W" predict digits --data '[[1,2,3]]'
check_match "wrong shape: the server's message" '64' "$ERR"
run_cli "predict --v2 of a wrong shape exits 1" 1 "$W" predict digits --v2 --data '[[1,2,3]]'
check_match "v2 wrong shape: the server's message" '64' "$ERR"
run_cli "predict to an unknown deployment exits 1" 1 "$W" predict nosuch --data "[[$one]]"
run_cli "predict --v2 to an unknown deployment exits 1" 1 "$W" predict nosuch --v2 --data "[[$one]]"

# OAuth: the spec's key and secret, no weft credentials at all
run_cli "predict with --oauth-key/--oauth-secret exits 0" 0 env WEFT_HOME="$T/nohome" "$W" predict digits-json \
	-n team-a --oauth-key k1 --oauth-secret s3cret --data "[[$one]]"
check_eq "OAuth: an answer of 10" 10 "$(jq '.data.ndarray[0] | length' <<<"$OUT" 2>&1)"
run_cli "predict with a wrong oauth secret exits 1" 1 env WEFT_HOME="$T/nohome" WEFT_OAUTH_SECRET=wrong "$W" \
	predict digits-json -n team-a --oauth-key k1 --data "[[$one]]"
run_cli "predict without credentials exits 1" 1 env WEFT_HOME="$T/nohome" "$W" predict digits --data "[[$one]]"

# show, with lineage
run_cli "deployment show exits 0" 0 "$W" deployment show digits
check_match "show: status" 'Status: +AVAILABLE' "$OUT"
check_match "show: endpoint URL" "$WEFT_SERVER/v2/models/digits/infer" "$OUT"
check_match "show: predictor with replica readiness" 'default: native runtime, 2/2 replicas ready, traffic 100%' "$OUT"
check_match "show: requests by code" 'Requests: +[0-9]+ \(.*200: [0-9]+.*400: [0-9]+' "$OUT"
check_match "show: lineage names the job" "Training job: +$id \(digits-c\)" "$OUT"
check_match "show: lineage job status and framework" 'Status: +COMPLETED.*Framework: +custom:1' "$(tr '\n' ' ' <<<"$OUT")"
check_match "show: lineage data stores" 'digits-store \(local\): training data digits, results digits-results' "$OUT"
check_match "show: lineage final metrics" 'train +test_accuracy +0\.9[0-9]* +20' "$OUT"
check_line "show: the manifest, indented" '^    name: digits-c$' "$OUT"
run_cli "deployment show --json exits 0" 0 "$W" deployment show digits --json
check_eq "show --json: lineage.training_id" "$id" "$(jq -r '.lineage.training_id' <<<"$OUT" 2>&1)"
run_cli "deployment show of an unknown name exits 1" 1 "$W" deployment show nosuch

# another user sees none of these
api POST /v1/users -H 'Content-Type: application/json' --data '{"name":"bob"}'
BOB=$(jbody '.token // empty')
run_cli "bob's deployments: none" 0 env WEFT_TOKEN="$BOB" "$W" deployments --json
check_eq "bob sees no deployment" 0 "$(jq '.deployments | length' <<<"$OUT" 2>&1)"
run_cli "bob cannot undeploy admin's" 1 env WEFT_TOKEN="$BOB" "$W" undeploy digits

# undeploy
run_cli "undeploy exits 0" 0 "$W" undeploy digits
check_eq "undeploy prints NAME undeployed" "digits undeployed" "$OUT"
run_cli "deployment show after undeploy exits 1" 1 "$W" deployment show digits
run_cli "predict after undeploy exits 1" 1 "$W" predict digits --data "[[$one]]"
run_cli "undeploy again exits 1" 1 "$W" undeploy digits
run_cli "undeploy the YAML one" 0 "$W" undeploy digits-yaml
run_cli "undeploy the JSON one" 0 "$W" undeploy digits-json
run_cli "deployments is empty again" 0 "$W" deployments --json
check_eq "no deployment left" 0 "$(jq '.deployments | length' <<<"$OUT" 2>&1)"

# ---- --wait: a stand-in server whose deployments are CREATING for a while
sport=$(free_port)
cat >"$T/stub.py" <<'EOF'
import json, sys
from http.server import BaseHTTPRequestHandler, HTTPServer
polls = {}
class H(BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def answer(self, code, obj):
        b = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(b)))
        self.end_headers()
        self.wfile.write(b)
    def dep(self, name):
        n = polls.get(name, 0)
        status = {"slow": "AVAILABLE" if n >= 2 else "CREATING", "broken": "FAILED" if n >= 1 else "CREATING"}.get(name, "CREATING")
        ready = 1 if status == "AVAILABLE" else 0
        return {"name": name, "status": status, "message": "replica 0 exited with code 2" if status == "FAILED" else "",
                "predictors": [{"name": "default", "runtime": "custom", "replicas": 1, "traffic": 100,
                                "shadow": False, "training_id": "training-x", "ready_replicas": ready}],
                "ignored": [], "endpoints": {"seldon": "/seldon/default/%s/api/v1.0/predictions" % name,
                                             "v2": "/v2/models/%s/infer" % name}}
    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        polls[body["name"]] = 0
        self.answer(201, self.dep(body["name"]))
    def do_GET(self):
        p = self.path.split("/")
        if self.path.startswith("/v1/deployments/"):
            polls[p[3]] = polls.get(p[3], 0) + 1
            self.answer(200, self.dep(p[3]))
        else:
            self.answer(404, {"error": "no such model"})
HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
EOF
python3 "$T/stub.py" "$sport" &
stub=$!
for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$sport") 2>/dev/null && break; sleep 0.1; done
S=http://127.0.0.1:$sport
run_cli "deploy waits for CREATING to become AVAILABLE (exit 0)" 0 env WEFT_SERVER="$S" "$W" deploy --training-id training-x --name slow
check_match "the wait is reported on stderr" 'waiting for slow: CREATING, 0/1 replicas ready' "$ERR"
check_match "the summary shows the final status" 'Status: +AVAILABLE' "$OUT"
run_cli "deploy --no-wait returns at once (exit 0)" 0 env WEFT_SERVER="$S" "$W" deploy --training-id training-x --name slow --no-wait
check_match "--no-wait: CREATING" 'Status: +CREATING' "$OUT"
run_cli "deploy that ends FAILED exits 1" 1 env WEFT_SERVER="$S" "$W" deploy --training-id training-x --name broken
check_match "FAILED: the message" 'broken FAILED: replica 0 exited with code 2' "$ERR"
run_cli "deploy still CREATING after --timeout exits 2" 2 env WEFT_SERVER="$S" "$W" deploy --training-id training-x --name stuck --timeout 1
check_match "timeout: says so" 'still CREATING after 1 s' "$ERR"
run_cli "deploy --json --timeout: still prints the answer" 2 env WEFT_SERVER="$S" "$W" deploy --training-id training-x --name stuck --timeout 1 --json
check_eq "--json after a timeout: the last status" CREATING "$(jq -r .status <<<"$OUT" 2>&1)"
kill "$stub" 2>/dev/null
wait "$stub" 2>/dev/null

done_testing

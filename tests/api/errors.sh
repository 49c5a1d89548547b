#!/usr/bin/env bash
# errors.sh - bad requests get FfDL's Error object with the right status and error code:
# bad manifests (C101, naming field and line), bad zips (C102), data stores weft cannot
# use (C103: S3 types, a missing bucket), bad PATCH bodies, state conflicts (409),
# unknown ids and routes (404 JSON), bad log queries.
. "$(dirname "$0")/../lib.sh"
start_server
seed_bucket tdata
M=$FIXTURES/manifests

post() { # post MANIFEST ZIP
	api POST /v1/models -F "manifest=@$1" -F "model_definition=@$2"
}

# ---- C101: bad manifests
post "$M/bad-memory.yml" "$MODEL_ZIP"
check_error "bad memory size: 400 C101" 400 C101
d=$(jbody .description)
check_imatch "bad memory: description names the field" 'memory' "$d"
check_imatch "bad memory: description names line 3" 'line 3([^0-9]|$)' "$d"
check_match "bad memory: description quotes the value" '12XB' "$d"

post "$M/bad-learners.yml" "$MODEL_ZIP"
check_error "learners: lots: 400 C101" 400 C101
d=$(jbody .description)
check_imatch "bad learners: description names the field" 'learners' "$d"
check_imatch "bad learners: description names line 4" 'line 4([^0-9]|$)' "$d"

post "$M/no-name.yml" "$MODEL_ZIP"
check_error "missing name: 400 C101" 400 C101
check_imatch "missing name: description says name" 'name' "$(jbody .description)"

post "$M/not-yaml.yml" "$MODEL_ZIP"
check_error "not YAML: 400 C101" 400 C101
check_imatch "not YAML: description gives a line" 'line [0-9]+' "$(jbody .description)"

api POST /v1/models -F "model_definition=@$MODEL_ZIP"
check_error "no manifest part: 400" 400

api POST /v1/models -F "manifest=@$M/unknown-key.yml" -F "model_definition=@$MODEL_ZIP"
check_status "an unknown manifest key is only a warning: 201" 201
[ "$HTTP_STATUS" = 201 ] && api DELETE "/v1/models/$(jbody .model_id)"

api POST /v1/models -H 'Content-Type: application/json' --data '{"name":"x"}'
check_error "a JSON body instead of multipart: 400" 400

# ---- C102: bad zips
printf 'this is not a zip file at all\n' >"$T/bad.zip"
post "$T/bad.zip" "$T/bad.zip"
check_error "manifest part that is not YAML but zip-named still 400" 400
post "$M/unknown-key.yml" "$T/bad.zip"
check_error "model_definition that is not a zip: 400 C102" 400 C102
head -c 300 "$MODEL_ZIP" >"$T/truncated.zip"
post "$M/unknown-key.yml" "$T/truncated.zip"
check_error "truncated zip: 400 C102" 400 C102
api POST /v1/models -F "manifest=@$M/unknown-key.yml"
check_error "no model_definition part: 400" 400

# ---- C103: data stores weft cannot use
post "$M/s3.yml" "$MODEL_ZIP"
check_error "s3_datastore: 400 C103" 400 C103
d=$(jbody .description)
check_imatch "s3_datastore: description says S3" 's3' "$d"
check_imatch "s3_datastore: description says it is not supported yet" 'not (yet )?supported|unsupported|not available|not implemented' "$d"
check_nomatch "s3_datastore: error does not echo the password" 's3-secret-never-shown' "$BODY"

post "$M/mount-cos.yml" "$MODEL_ZIP"
check_error "mount_cos (S3-backed): 400 C103" 400 C103

post "$M/no-bucket.yml" "$MODEL_ZIP"
check_error "missing bucket for type local: 400 C103" 400 C103
check_match "missing bucket: description names the bucket" 'no-such-bucket-here' "$(jbody .description)"

api GET /v1/models
check_json "rejected submissions create no job" '.models | length' "0"

# ---- PATCH bodies and state conflicts
submit "$(manifest errors-done 'echo done')"
done_id=$JOB_ID
submit "$(manifest errors-running 'sleep 60')"
run_id=$JOB_ID
api PATCH "/v1/models/$run_id" -H 'Content-Type: application/json' --data '{"status":"explode"}'
check_error "PATCH status explode: 400" 400
api PATCH "/v1/models/$run_id" -H 'Content-Type: application/json' --data '{"status":'
check_error "PATCH malformed JSON: 400" 400
api PATCH "/v1/models/$run_id" -H 'Content-Type: application/json' --data '{}'
check_error "PATCH without status: 400" 400
check_match "bad PATCHes leave the job running" '^(PENDING|QUEUED|DOWNLOADING|PROCESSING)$' "$(job_status "$run_id")"
api PATCH "/v1/models/$run_id" -H 'Content-Type: application/json' --data '{"status":"resume"}'
check_error "resume of a running job: 409" 409

if wait_status "$done_id" COMPLETED 30; then ok "short job completes"; else not_ok "short job completes"; fi
api PATCH "/v1/models/$done_id" -H 'Content-Type: application/json' --data '{"status":"halt"}'
check_error "halt of a COMPLETED job: 409" 409
api PATCH "/v1/models/$done_id" -H 'Content-Type: application/json' --data '{"status":"resume"}'
check_error "resume of a COMPLETED job: 409" 409
check_eq "conflicting PATCHes leave COMPLETED alone" "COMPLETED" "$(job_status "$done_id")"
api DELETE "/v1/models/$run_id"

# ---- unknown ids and routes
nope=training-ZZZZZZZZZ
api GET "/v1/models/$nope"
check_error "GET unknown id: 404" 404
api PATCH "/v1/models/$nope" -H 'Content-Type: application/json' --data '{"status":"halt"}'
check_error "PATCH unknown id: 404" 404
api DELETE "/v1/models/$nope"
check_error "DELETE unknown id: 404" 404
api GET "/v1/models/$nope/definition"
check_error "definition of unknown id: 404" 404
api GET "/v1/models/$nope/trained_model"
check_error "trained_model of unknown id: 404" 404
api GET "/v1/logs/$nope/loglines"
check_error "loglines of unknown id: 404" 404
api GET "/v1/models/..%2F..%2Fadmin.token" --path-as-is
check_match "an id with a path in it: 400 or 404" '^(400|404)$' "$HTTP_STATUS"
check_nomatch "an id with a path in it does not leak a file" "$ADMIN_TOKEN" "$BODY"
api GET "/v1/models/../../admin.token" --path-as-is
check_nomatch "a path with .. does not leak the admin token" "$ADMIN_TOKEN" "$BODY"
api GET /v1/no/such/route
check_error "unknown route: 404 JSON" 404
check_match "unknown route answers JSON" '^application/json' "$(header content-type)"
api GET /nothing-here
check_error "unknown top-level path: 404 JSON" 404
api PUT /v1/models
if [ "$HTTP_STATUS" = 404 ] || [ "$HTTP_STATUS" = 405 ]; then
	check_error "PUT /v1/models: $HTTP_STATUS Error object" "$HTTP_STATUS"
else
	not_ok "PUT /v1/models: 404 or 405" "got HTTP $HTTP_STATUS"
fi

# ---- bad log queries
api GET "/v1/logs/$done_id/loglines?pos=abc"
check_error "loglines pos=abc: 400" 400
api GET "/v1/logs/$done_id/loglines?pagesize=lots"
check_error "loglines pagesize=lots: 400" 400
api GET "/v1/logs/$done_id/loglines?since_time=yesterday"
check_error "loglines since_time=yesterday: 400" 400

# ---- the server survived all of it
api_noauth GET /health
check_status "server still healthy after bad requests" 200

done_testing

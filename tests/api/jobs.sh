#!/usr/bin/env bash
# jobs.sh - the training-job REST API over real HTTP: create (201, id format, Location),
# list, show (every documented Model field), no password in any answer or log,
# definition download (same bytes), trained_model (404 before results, then a zip
# with the results and learner-1/training-log.txt), the ignored version parameter.
. "$(dirname "$0")/../lib.sh"
start_server
seed_bucket tdata

SECRET='pa55-Wrd-never-shown-7731'
m=$(manifest jobs-basic 'bash lines.sh 5 0.1' "$(
	cat <<EOF
data_stores:
  - id: teststore
    type: local
    training_data:
      container: tdata
    training_results:
      container: tresults
    connection:
      auth_url: ""
      user_name: someone
      password: $SECRET
EOF
)")

# ---- create
submit "$m"
check_status "POST /v1/models answers 201" 201
check_match "model_id looks like training-XXXXXXXXX" '^training-[A-Za-z0-9_-]{9}$' "$JOB_ID"
id=$JOB_ID
check_json "body location is /v1/models/ID" '.location' "/v1/models/$id"
check_match "Location header names the job" "(^|/)v1/models/$id\$" "$(header location)"
check_match "POST answer is JSON" '^application/json' "$(header content-type)"
created_body=$BODY

# a second job, to see list order (newest first) and distinct ids
sleep 0.05
submit "$(manifest jobs-second 'echo second')"
id2=$JOB_ID
check_ne "two jobs get different ids" "$id" "$id2"

# ---- list
api GET /v1/models
check_status "GET /v1/models answers 200" 200
check_json "list has both jobs, newest first" '[.models[].model_id] | join(" ")' "$id2 $id"
list_body=$BODY

# ---- show
api GET "/v1/models/$id"
check_status "GET /v1/models/ID answers 200" 200
show_body=$BODY
check_json "model_id" '.model_id' "$id"
check_json "location" '.location' "/v1/models/$id"
check_json "name" '.name' "jobs-basic"
check_json "description" '.description' "weft test job jobs-basic"
check_json "user_id is admin" '.user_id' "admin"
check_json "framework name/version" '"\(.framework.name) \(.framework.version)"' "custom 1"
check_json "training.command" '.training.command' "bash lines.sh 5 0.1"
check_json "training.cpus" '.training.cpus' "0.5"
check_json "training.gpus" '.training.gpus' "0"
check_json "training.memory, memory_unit" '"\(.training.memory) \(.training.memory_unit)"' "256 MiB"
check_json "training.memory_bytes" '.training.memory_bytes' "268435456"
check_json "training.learners" '.training.learners' "1"
check_json "training.input_data" '.training.input_data | join(",")' "tdata"
check_json "training.output_data" '.training.output_data | join(",")' "tresults"
check_json "training.limits_enforced is a boolean" '.training.limits_enforced | type' "boolean"
check_json "training_status has every field" \
	'.training.training_status | [has("status","status_description","status_message","error_code","submitted","completed")] | all' "true"
check_match "status is a known value" '^(PENDING|QUEUED|DOWNLOADING|PROCESSING|STORING|COMPLETED)$' \
	"$(jbody .training.training_status.status)"
check_match "submitted is a ms timestamp string" '^1[0-9]{12}$' "$(jbody '.training.training_status.submitted')"
check_json "data_stores entry" '.data_stores[0] | "\(.data_store_id) \(.type)"' "teststore local"
check_json "data_stores connection has the documented fields" \
	'.data_stores[0].connection | [has("path","auth_url","user_name","region")] | all' "true"
check_json "connection has no password field" '[.. | objects | has("password")] | any' "false"
check_json "status_history starts with PENDING" '.status_history[0].status' "PENDING"
check_json "status_history entries have status/time/error_code/message" \
	'[.status_history[] | has("status","time","error_code","message")] | all' "true"

# ---- version parameter accepted and ignored
api GET "/v1/models/$id?version=2017-02-13"
check_status "GET /v1/models/ID?version=... answers 200" 200
check_json "?version=... gives the same job" '.model_id' "$id"
api GET "/v1/models?version=2017-02-13"
check_status "GET /v1/models?version=... answers 200" 200

# ---- definition: the same bytes
api_download "/v1/models/$id/definition" "$T/def.zip"
check_status "GET definition answers 200" 200
check "definition is the submitted zip, byte for byte" cmp "$MODEL_ZIP" "$T/def.zip"
check_match "definition content type is application/zip" '^application/zip' "$(header content-type)"

# ---- results
if wait_status "$id" COMPLETED 30; then ok "job completes"; else not_ok "job completes"; fi
api GET "/v1/models/$id"
check_match "completed is a ms timestamp string" '^1[0-9]{12}$' "$(jbody '.training.training_status.completed')"
check_json "completed job has no error_code" '.training.training_status.error_code' ""
api_download "/v1/models/$id/trained_model" "$T/trained.zip"
check_status "GET trained_model answers 200" 200
check_match "trained_model content type is application/zip" '^application/zip' "$(header content-type)"
members=$(unzip_list "$T/trained.zip")
check_match "trained_model has out.txt" '(^|[[:space:]])out\.txt($|[[:space:]])' "$members"
check_match "trained_model has learner-1/training-log.txt" '(^|[[:space:]])learner-1/training-log\.txt($|[[:space:]])' "$members"
check_eq "out.txt content" "wrote 5 lines" "$(unzip -p "$T/trained.zip" out.txt 2>/dev/null)"
check "training-log.txt has the learner's lines" \
	grep -qx 'line 5' <(unzip -p "$T/trained.zip" learner-1/training-log.txt 2>/dev/null)

# trained_model before the job has stored results: 404
submit "$(manifest jobs-slow 'sleep 30')"
slow=$JOB_ID
api GET "/v1/models/$slow/trained_model"
check_error "trained_model before results answers 404" 404
api DELETE "/v1/models/$slow"

# ---- no password anywhere
api GET "/v1/models"
all="$created_body $list_body $show_body $BODY"
api GET "/v1/logs/$id/loglines?pagesize=10000"
all="$all $BODY"
check_nomatch "no answer contains the data store password" "$SECRET" "$all"
check_not "server log does not contain the password" grep -qF "$SECRET" "$WEFT_HOME/server.log"
logs=$(find "$WEFT_HOME" -type f \( -name '*log*' -o -name '*.txt' \) 2>/dev/null)
check_not "no log file under the home contains the password" grep -qF "$SECRET" $logs /dev/null

done_testing

#!/usr/bin/env bash
# auth.sh - authentication and isolation over real HTTP: /health without auth; Bearer and
# Basic user:token; FfDL's X-Watson-Userinfo only for the authenticated user; 401 for
# missing/bad credentials; users created by the admin (POST /v1/users, `weft user add`),
# 403 for others; a user never sees, changes or deletes another user's job (404).
. "$(dirname "$0")/../lib.sh"
start_server
seed_bucket tdata

# ---- health and the admin token
api_noauth GET /health
check_status "GET /health without credentials: 200" 200
check_json "health says ok" '.status' "ok"
check_json "health has a version string" '.version | type' "string"
check_match "admin.token exists and is not empty" '.' "$ADMIN_TOKEN"
check_eq "admin.token has mode 0600" "600" "$(stat -c %a "$WEFT_HOME/admin.token" 2>/dev/null)"

# ---- 401s
api_noauth GET /v1/models
check_error "no Authorization header: 401" 401
api_as "not-a-real-token" GET /v1/models
check_error "bad Bearer token: 401" 401
api_as "" GET /v1/models
check_error "empty Bearer token: 401" 401
api_as "${ADMIN_TOKEN}x" GET /v1/models
check_error "admin token plus one character: 401" 401
api_noauth GET /v1/models -H "Authorization: Bearer"
check_error "'Bearer' without a token: 401" 401
api_noauth GET /v1/models -H "Authorization: Basic !!!notbase64"
check_error "Basic with garbage: 401" 401
api_noauth GET /v1/models -H "X-Watson-Userinfo: bluemix-instance-id=admin"
check_error "X-Watson-Userinfo alone is no credential: 401" 401

# ---- good credentials
api GET /v1/models
check_status "Bearer admin token: 200" 200
api_noauth GET /v1/models -u "admin:$ADMIN_TOKEN"
check_status "Basic admin:token: 200" 200
api_noauth GET /v1/models -u "admin:wrong"
check_error "Basic admin:wrong: 401" 401
api_noauth GET /v1/models -u "mallory:$ADMIN_TOKEN"
check_error "Basic with the admin's token under another name: 401" 401
api GET /v1/models -H "X-Watson-Userinfo: bluemix-instance-id=admin"
check_status "X-Watson-Userinfo naming self: 200" 200
api_noauth GET /v1/models -u "admin:$ADMIN_TOKEN" -H "X-Watson-Userinfo: bluemix-instance-id=admin"
check_status "Basic + X-Watson-Userinfo naming self: 200" 200

# ---- users
api POST /v1/users -H 'Content-Type: application/json' --data '{"name":"bob"}'
check_status "admin POST /v1/users: 201" 201
check_json "new user answer has the name" '.name' "bob"
BOB=$(jbody '.token // empty')
check_match "new user answer has a token" '.' "$BOB"
api POST /v1/users -H 'Content-Type: application/json' --data '{"name":"bob"}'
check_error "POST /v1/users for an existing user: 409" 409
api POST /v1/users -H 'Content-Type: application/json' --data '{"name":""}'
check_error "POST /v1/users with an empty name: 400" 400
api POST /v1/users -H 'Content-Type: application/json' --data '{"nom":"x"}'
check_error "POST /v1/users without a name: 400" 400
api_as "$BOB" GET /v1/models
check_status "bob's token works" 200
api_noauth GET /v1/models -u "bob:$BOB"
check_status "Basic bob:token works" 200
api_as "$BOB" GET /v1/models -H "X-Watson-Userinfo: bluemix-instance-id=admin"
check_error "bob's token with X-Watson-Userinfo naming admin: 401" 401
api GET /v1/models -H "X-Watson-Userinfo: bluemix-instance-id=bob"
check_error "admin's token with X-Watson-Userinfo naming bob: 401" 401
api_as "$BOB" POST /v1/users -H 'Content-Type: application/json' --data '{"name":"eve"}'
check_error "non-admin POST /v1/users: 403" 403

out=$("$WEFT_BIN" user add carol 2>"$T/err")
rc=$?
check_eq "weft user add carol exits 0" 0 "$rc"
CAROL=$(grep -oE '[A-Za-z0-9_.~+/=-]{16,}' <<<"$out" | tail -n 1)
api_as "$CAROL" GET /v1/models
check_status "the token printed by weft user add works" 200
WEFT_TOKEN=$BOB "$WEFT_BIN" user add dave >/dev/null 2>&1
check_eq "weft user add by a non-admin exits 1" 1 "$?"

# ---- isolation
submit "$(manifest admin-job 'sleep 30')"
A=$JOB_ID
submit "$(manifest bob-job 'sleep 30')" "$MODEL_ZIP" "$BOB"
check_status "bob submits a job: 201" 201
B=$JOB_ID
api_as "$BOB" GET "/v1/models/$B"
check_json "bob's job belongs to bob" '.user_id' "bob"

api_as "$BOB" GET /v1/models
check_json "bob's list has only bob's job" '[.models[].model_id] | join(" ")' "$B"
api GET /v1/models
check_json "admin's list has only admin's job" '[.models[].model_id] | join(" ")' "$A"

api_as "$BOB" GET "/v1/models/$A"
check_error "bob GET admin's job: 404" 404
api_as "$BOB" GET "/v1/models/$A?version=2017-02-13"
check_error "bob GET admin's job with ?version: 404" 404
api_as "$BOB" GET "/v1/models/$A/definition"
check_error "bob downloads admin's definition: 404" 404
api_as "$BOB" GET "/v1/models/$A/trained_model"
check_error "bob downloads admin's trained_model: 404" 404
api_as "$BOB" GET "/v1/logs/$A/loglines"
check_error "bob reads admin's log: 404" 404
api_as "$BOB" GET "/v1/logs/$A/loglines?follow=true"
check_error "bob follows admin's log: 404" 404
api_as "$BOB" PATCH "/v1/models/$A" -H 'Content-Type: application/json' --data '{"status":"halt"}'
check_error "bob halts admin's job: 404" 404
api_as "$BOB" DELETE "/v1/models/$A"
check_error "bob deletes admin's job: 404" 404
api_noauth GET "/v1/models/$A" -u "bob:$BOB"
check_error "bob (Basic) GET admin's job: 404" 404
api GET "/v1/models/$B"
check_error "admin GET bob's job: 404" 404
api GET "/v1/models/$A"
check_status "admin's job still exists after bob's attempts" 200
check_match "admin's job was not halted by bob" '^(PENDING|QUEUED|DOWNLOADING|PROCESSING)$' "$(jbody .training.training_status.status)"

api_as "$BOB" GET /v1/data/tdata
check_status "buckets are shared: bob lists admin's bucket" 200
api_as "$BOB" DELETE "/v1/models/$B"
check_status "bob deletes his own job: 200" 200
api DELETE "/v1/models/$A"
check_status "admin deletes his own job: 200" 200

done_testing

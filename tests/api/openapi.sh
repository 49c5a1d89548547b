#!/usr/bin/env bash
# openapi.sh - GET /v1/openapi.json (no credentials needed) is a valid OpenAPI 3
# document that lists every route the server answers.
. "$(dirname "$0")/../lib.sh"
start_server
api_noauth GET /v1/openapi.json
check_status "GET /v1/openapi.json without credentials: 200" 200
check_match "content type is JSON" 'application/json' "$(header Content-Type)"
check "the body is JSON" jq -e . <<<"$BODY"
check_json "it is OpenAPI 3" '.openapi | startswith("3.")' true
for p in /health /metrics /v1/openapi.json /v1/models '/v1/models/{id}' '/v1/models/{id}/definition' \
	'/v1/models/{id}/trained_model' '/v1/logs/{id}/loglines' /v1/users '/v1/data/{bucket}' '/v1/data/{bucket}/{key}'; do
	check_json "documents $p" ".paths | has(\"$p\")" true
done
check_json "documents the Error shape" '.components.schemas.Error.required | sort | join(",")' "code,description,error"
done_testing

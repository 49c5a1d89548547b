#!/usr/bin/env bash
# review_http.sh - regressions found by the review of the server core, HTTP side:
# errors whose text is not UTF-8 are still Error objects, a multipart body that never
# closes is refused, extreme loglines numbers do not overflow, a follower whose client
# went away releases its connection, a second server on the same home is refused, and
# `weft server` refuses an empty port or non-numeric options.
. "$(dirname "$0")/../lib.sh"
start_server
seed_bucket tdata

# ---- an error about a URL that is not UTF-8 is still FfDL's Error object
api GET "/v1/models/%ff%fe"
check_error "GET /v1/models/<invalid UTF-8>: 404 Error object" 404
api GET "/v1/nothing/%c3"
check_error "unknown endpoint with invalid UTF-8: 404 Error object" 404

# ---- a multipart body whose last part never closes: the part is incomplete, so the
# job is refused (the zip part is complete, the manifest part is cut off)
{
	printf -- '--QQ\r\nContent-Disposition: form-data; name="model_definition"; filename="m.zip"\r\n'
	printf -- 'Content-Type: application/zip\r\n\r\n'
	cat "$MODEL_ZIP"
	printf -- '\r\n--QQ\r\nContent-Disposition: form-data; name="manifest"\r\n\r\n'
	cat "$(manifest trunc 'sleep 1')"
	for i in $(seq 1 4000); do echo "# comment line $i, long enough to fill the parser's buffer"; done
} >"$T/trunc.bin"
api POST /v1/models -H 'Content-Type: multipart/form-data; boundary=QQ' --data-binary @"$T/trunc.bin"
check_error "multipart whose manifest part never closes: 400" 400
api GET /v1/models
check_json "no job was created from the cut-off body" '.models | length' "0"

# ---- loglines with the most negative pos / since_time (no signed overflow)
submit "$(manifest few 'bash lines.sh 3 0')"
fid=$JOB_ID
wait_status "$fid" COMPLETED 30 || not_ok "job completes"
api GET "/v1/logs/$fid/loglines?pos=-9223372036854775808&pagesize=100"
check_status "pos=INT64_MIN: 200" 200
check_json "pos=INT64_MIN means every line" '[.models[].line] | join(",")' "line 1,line 2,line 3"
api GET "/v1/logs/$fid/loglines?since_time=-9223372036854775808&pagesize=100"
check_json "since_time=INT64_MIN means every line" '.models | length' "3"
curl -s -N --max-time $((10 * TIME_SCALE)) -H "Authorization: Bearer $ADMIN_TOKEN" \
	"$WEFT_SERVER/v1/logs/$fid/loglines?follow=true&pos=-9223372036854775808" >"$T/fmin.out" 2>/dev/null
check_eq "follow with pos=INT64_MIN sends every line" "line 1,line 2,line 3" \
	"$(jq -r '.line' "$T/fmin.out" 2>/dev/null | paste -sd,)"
check "alive after extreme loglines numbers" curl -sf --max-time 5 "$WEFT_SERVER/health"

# ---- a follower whose client disconnects does not keep its connection (and thread)
submit "$(manifest quiet 'sleep 300')"
qid=$JOB_ID
wait_status "$qid" PROCESSING 30 || not_ok "quiet job runs"
conns() { ss -Htn state all "( sport = :$PORT )" 2>/dev/null | grep -vc LISTEN; }
sleep 0.5
base=$(conns)
curl -s -N --max-time 60 -H "Authorization: Bearer $ADMIN_TOKEN" \
	"$WEFT_SERVER/v1/logs/$qid/loglines?follow=true" >/dev/null 2>&1 &
cpid=$!
sleep 1.5
check "the follower is connected" test "$(conns)" -gt "$base"
kill "$cpid" 2>/dev/null
wait "$cpid" 2>/dev/null
left=$(conns)
for _ in $(seq 1 $((40 * TIME_SCALE))); do
	left=$(conns)
	[ "$left" -le "$base" ] && break
	sleep 0.1
done
check "the server closes a follower's connection soon after its client left" test "$left" -le "$base"
api PATCH "/v1/models/$qid" -H 'Content-Type: application/json' --data '{"status":"halt"}'
wait_status "$qid" HALTED 30 || not_ok "quiet job halts"

# ---- a second server on the same home is refused (two lifecycle managers would
# collect the same logs twice and fight over the same learners)
p2=$(free_port)
timeout 10 "$WEFT_BIN" server --listen "127.0.0.1:$p2" --home "$WEFT_HOME" >"$T/second.log" 2>&1
rc=$?
check_eq "a second server on the same home exits with 2" 2 "$rc"
check_match "and says another server uses the home" 'another weft server' "$(cat "$T/second.log")"
check "the first server still answers" curl -sf --max-time 5 "$WEFT_SERVER/health"

# ---- option checking
timeout 5 "$WEFT_BIN" server --listen "127.0.0.1:" --home "$T/h2" >"$T/o1.log" 2>&1
check_eq "--listen with an empty port: exit 1" 1 "$?"
timeout 5 "$WEFT_BIN" server --listen "127.0.0.1:$p2" --home "$T/h3" --halt-grace soon >"$T/o2.log" 2>&1
check_eq "--halt-grace soon: exit 1" 1 "$?"
check_match "--halt-grace error names the option" 'halt-grace' "$(cat "$T/o2.log")"
timeout 5 "$WEFT_BIN" server --listen "127.0.0.1:$p2" --home "$T/h4" --max-upload 1XB >"$T/o3.log" 2>&1
check_eq "--max-upload 1XB: exit 1" 1 "$?"

done_testing

#!/usr/bin/env bash
# logs.sh - GET /v1/logs/ID/loglines: LogLine shape, rindex, pos (positive, negative),
# pagesize (default 10), since_time (ms, negative, RFC3339), pos+since_time -> 400, and
# follow=true (application/x-ndjson, every line once, ends when the job ends).
. "$(dirname "$0")/../lib.sh"
start_server
seed_bucket tdata

# 10 lines, a 2 s pause, 10 more: since_time can split the two batches exactly.
submit "$(manifest logs-batches 'bash lines.sh 10 0 "a"; sleep 2; bash lines.sh 10 0 "b"')"
id=$JOB_ID
if wait_status "$id" COMPLETED 40; then ok "job completes"; else not_ok "job completes"; fi

api GET "/v1/logs/$id/loglines?pagesize=10000"
check_status "loglines: 200" 200
all=$BODY
check_json "all 20 lines, in order" '[.models[].line] | join(",")' \
	"a1,a2,a3,a4,a5,a6,a7,a8,a9,a10,b1,b2,b3,b4,b5,b6,b7,b8,b9,b10"
check_json "rindex counts 1..20" '[.models[].meta.rindex] == [range(1;21)]' "true"
check_json "meta.training_id" "[.models[].meta.training_id | select(. != \"$id\")] | length" "0"
check_json "meta.user_id is admin" '[.models[].meta.user_id] | unique | join(",")' "admin"
check_json "meta.subid is learner-1" '[.models[].meta.subid] | unique | join(",")' "learner-1"
check_json "meta.time is a ms number, never decreasing" \
	'[.models[].meta.time] | (all(type == "number" and . > 1000000000000)) and (. == sort)' "true"

api GET "/v1/logs/$id/loglines"
check_json "default pagesize is 10" '[.models[].meta.rindex] | join(",")' "1,2,3,4,5,6,7,8,9,10"
api GET "/v1/logs/$id/loglines?version=2017-02-13"
check_status "loglines with ?version: 200" 200

api GET "/v1/logs/$id/loglines?pos=5&pagesize=3"
check_json "pos=5&pagesize=3 gives rindex 5..7" '[.models[] | "\(.meta.rindex):\(.line)"] | join(",")' "5:a5,6:a6,7:a7"
api GET "/v1/logs/$id/loglines?pos=18&pagesize=10"
check_json "pos=18 stops at the last line" '[.models[].line] | join(",")' "b8,b9,b10"
api GET "/v1/logs/$id/loglines?pos=21"
check_status "pos past the end: 200" 200
check_json "pos past the end: no lines" '.models | length' "0"
api GET "/v1/logs/$id/loglines?pos=-4"
check_json "pos=-4 gives the last 4 lines" '[.models[] | "\(.meta.rindex):\(.line)"] | join(",")' "17:b7,18:b8,19:b9,20:b10"
api GET "/v1/logs/$id/loglines?pos=-25&pagesize=100"
check_json "pos=-25 of 20 lines gives all 20" '.models | length' "20"

t_b1=$(jq -r '.models[] | select(.line == "b1") | .meta.time' <<<"$all")
t_a10=$(jq -r '.models[] | select(.line == "a10") | .meta.time' <<<"$all")
check "the 2 s pause shows in the times" test "$((t_b1 - t_a10))" -ge 1500
api GET "/v1/logs/$id/loglines?since_time=$t_b1&pagesize=100"
check_json "since_time=<time of b1> gives b1..b10" '[.models[].line] | join(",")' "b1,b2,b3,b4,b5,b6,b7,b8,b9,b10"
api GET "/v1/logs/$id/loglines?since_time=$((t_b1 + 100000))"
check_json "since_time in the future: no lines" '.models | length' "0"
api GET "/v1/logs/$id/loglines?since_time=-3"
check_json "since_time=-3 gives the last 3 lines" '[.models[].line] | join(",")' "b8,b9,b10"
rfc=$(date -u -d "@$((t_b1 / 1000))" +%Y-%m-%dT%H:%M:%SZ)
api GET "/v1/logs/$id/loglines?since_time=$rfc&pagesize=100"
check_status "since_time as RFC3339: 200" 200
check_json "since_time=$rfc gives b1..b10" '[.models[].line] | join(",")' "b1,b2,b3,b4,b5,b6,b7,b8,b9,b10"
api GET "/v1/logs/$id/loglines?since_time=2026-11-28T02:00:00%2B1:0"
check_error "since_time with a short zone offset (+1:0): 400" 400
api GET "/v1/logs/$id/loglines?pos=2&since_time=$t_b1"
check_error "pos with since_time: 400" 400

# ---- follow=true
submit "$(manifest logs-follow 'bash lines.sh 6 0.4 "f"')"
fid=$JOB_ID
start=$SECONDS
curl -s -N --max-time $((40 * TIME_SCALE)) -D "$T/follow.hdr" -H "Authorization: Bearer $ADMIN_TOKEN" \
	"$WEFT_SERVER/v1/logs/$fid/loglines?follow=true" >"$T/follow.out" 2>/dev/null
rc=$?
check_eq "follow ends by itself when the job ends (curl exit 0)" 0 "$rc"
check "follow took less than 40 s" test $((SECONDS - start)) -lt $((40 * TIME_SCALE))
check_match "follow answers application/x-ndjson" '[Cc]ontent-[Tt]ype: application/x-ndjson' "$(cat "$T/follow.hdr")"
check_eq "follow streamed every line once, in order, as LogLines" "f1,f2,f3,f4,f5,f6" \
	"$(jq -r '.line' "$T/follow.out" 2>/dev/null | paste -sd,)"
check_eq "followed lines carry rindex 1..6" "1,2,3,4,5,6" "$(jq -r '.meta.rindex' "$T/follow.out" 2>/dev/null | paste -sd,)"
check_match "the job had ended when the stream ended" '^(COMPLETED)$' "$(job_status "$fid")"

# follow of a finished job: the selected lines, then the end
curl -s -N --max-time $((10 * TIME_SCALE)) -H "Authorization: Bearer $ADMIN_TOKEN" \
	"$WEFT_SERVER/v1/logs/$id/loglines?follow=true&pos=-2" >"$T/follow2.out" 2>/dev/null
check_eq "follow of a finished job with pos=-2 returns at once" 0 "$?"
check_eq "follow with pos=-2 sends the last 2 lines" "b9,b10" "$(jq -r '.line' "$T/follow2.out" 2>/dev/null | paste -sd,)"

# follow started before the learner prints, then a halt ends it
submit "$(manifest logs-follow-halt 'sleep 1; bash lines.sh 100 0.2 "h"')"
hid=$JOB_ID
curl -s -N --max-time $((40 * TIME_SCALE)) -H "Authorization: Bearer $ADMIN_TOKEN" \
	"$WEFT_SERVER/v1/logs/$hid/loglines?follow=true" >"$T/follow3.out" 2>/dev/null &
cpid=$!
wait_log "$hid" '^h3$' 20
api PATCH "/v1/models/$hid" -H 'Content-Type: application/json' --data '{"status":"halt"}'
wait_status "$hid" HALTED 20
fdeadline=$((SECONDS + 10 * TIME_SCALE))
while kill -0 $cpid 2>/dev/null && [ $SECONDS -lt $fdeadline ]; do sleep 0.2; done
if kill -0 $cpid 2>/dev/null; then
	not_ok "follow ends when the job is HALTED"
	kill $cpid 2>/dev/null
else
	ok "follow ends when the job is HALTED"
fi
wait $cpid 2>/dev/null
loglines "$hid" >"$T/stored3.txt"
check_eq "follow sent exactly the stored lines" "$(cat "$T/stored3.txt")" "$(jq -r '.line' "$T/follow3.out" 2>/dev/null)"

# ---- odd lines: JSON specials, tabs, invalid UTF-8, a long line, no final newline
submit "$(manifest logs-odd 'printf "%s\\n" "say \"hi\" \\ back"; printf "tab\\there\\n"; printf "bad \\377\\376 utf8\\n"; printf "caf\\303\\251\\n"; head -c 20000 /dev/zero | tr "\\0" x; echo; printf "no newline at the end"')"
oid=$JOB_ID
if wait_status "$oid" COMPLETED 30; then ok "odd-lines job completes"; else not_ok "odd-lines job completes"; fi
api GET "/v1/logs/$oid/loglines?pagesize=100"
check "loglines with odd bytes is valid JSON" jq -e . "$T/body"
check_json "odd lines: 6 lines stored" '.models | length' "6"
check_json "quotes and backslashes survive" '.models[0].line' 'say "hi" \ back'
check_json "a tab survives" '.models[1].line' "$(printf 'tab\there')"
check_json "invalid UTF-8 becomes some valid text on its line" '.models[2].line | test("^bad .*utf8$")' "true"
check_json "valid UTF-8 is kept" '.models[3].line' "café"
check_json "a 20000-char line is kept whole" '.models[4].line | length' "20000"
check_json "a last line without a newline is kept" '.models[5].line' "no newline at the end"

# ---- many lines fast, pagesize cap, empty log
submit "$(manifest logs-many 'seq 1 20000')"
mid=$JOB_ID
if wait_status "$mid" COMPLETED 60; then ok "20000-line job completes"; else not_ok "20000-line job completes"; fi
api GET "/v1/logs/$mid/loglines?pos=-1"
check_json "all 20000 lines stored: the last has rindex 20000" '.models[0] | "\(.meta.rindex) \(.line)"' "20000 20000"
api GET "/v1/logs/$mid/loglines?pos=9999&pagesize=3"
check_json "line 9999..10001 in place" '[.models[].line] | join(",")' "9999,10000,10001"
api GET "/v1/logs/$mid/loglines?pagesize=20000"
if [ "$HTTP_STATUS" = 200 ]; then
	check_json "pagesize above the maximum is capped at 10000" '.models | length' "10000"
else
	check_error "pagesize above the maximum: 400" 400
fi
api GET "/v1/logs/$mid/loglines?pos=1&pagesize=10000"
check_json "pagesize=10000 gives 1..10000 in order" '[.models[].meta.rindex] == [range(1;10001)]' "true"

submit "$(manifest logs-silent 'true')"
sid=$JOB_ID
wait_status "$sid" COMPLETED 30
api GET "/v1/logs/$sid/loglines"
check_status "loglines of a silent job: 200" 200
check_json "loglines of a silent job: empty list" '.models | length' "0"

done_testing

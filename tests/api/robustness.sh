#!/usr/bin/env bash
# robustness.sh - the server survives hostile or broken HTTP: garbage request lines,
# truncated and lying bodies, broken multipart, huge headers and manifests, binary
# junk in every part, and a burst of concurrent requests; after each it still
# answers /health and keeps its jobs.
. "$(dirname "$0")/../lib.sh"
start_server
seed_bucket tdata

alive() { curl -sf --max-time 5 "$WEFT_SERVER/health" >/dev/null; }

# raw NAME BYTES: sends BYTES on a fresh TCP connection, reads for at most 2 s.
raw() {
	local name=$1 data=$2
	(
		exec 3<>"/dev/tcp/127.0.0.1/$PORT" || exit 0
		printf '%b' "$data" >&3
		timeout 2 cat <&3 >/dev/null 2>&1
	) 2>/dev/null
	check "alive after $name" alive
}

raw "a garbage request line" 'HELLO THERE\r\n\r\n'
raw "a binary request" '\x00\x01\x02\xff\xfe\r\n\r\n'
raw "a request cut in the middle of the headers" 'GET /v1/models HTTP/1.1\r\nHost: x\r\nAuthoriz'
raw "a body shorter than Content-Length" "POST /v1/models HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer $ADMIN_TOKEN\r\nContent-Type: multipart/form-data; boundary=XX\r\nContent-Length: 100000\r\n\r\n--XX\r\nContent-Disposition: form-data; name=\"manifest\"\r\n\r\nname: x\r\n"
raw "a negative Content-Length" "POST /v1/models HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n"
raw "HTTP/0.9 style request" 'GET /health\r\n\r\n'

api POST /v1/models -H 'Content-Type: multipart/form-data' --data-binary 'no boundary here'
check_error "multipart without a boundary: 400" 400
api POST /v1/models -H 'Content-Type: multipart/form-data; boundary=QQ' --data-binary $'--QQ\r\nContent-Disposition: form-data; name="manifest"\r\n\r\nname: x'
check_error "multipart that never closes: 400" 400

head -c 200000 /dev/urandom >"$T/junk.bin"
api POST /v1/models -F "manifest=@$T/junk.bin" -F "model_definition=@$T/junk.bin"
check_error "random bytes as manifest and zip: 400" 400
check "alive after random multipart parts" alive

{
	echo "name: huge"
	for i in $(seq 1 20000); do echo "key_$i: value number $i"; done
} >"$T/huge.yml"
api POST /v1/models -F "manifest=@$T/huge.yml" -F "model_definition=@$MODEL_ZIP"
check_match "a 20000-key manifest is answered (4xx, not a crash)" '^4[0-9][0-9]$' "$HTTP_STATUS"
check "alive after a huge manifest" alive

big=$(head -c 100000 /dev/zero | tr '\0' 'a')
api GET /v1/models -H "X-Big: $big"
check_match "a 100 kB header is answered or refused, not a crash" '^[0-9]{3}$' "$HTTP_STATUS"
check "alive after a huge header" alive

printf 'name: deep\nx: %s1%s\n' "$(printf '[%.0s' $(seq 1 5000))" "$(printf ']%.0s' $(seq 1 5000))" >"$T/deep.yml"
api POST /v1/models -F "manifest=@$T/deep.yml" -F "model_definition=@$MODEL_ZIP"
check_match "a manifest nested 5000 deep is refused with 400" '^400$' "$HTTP_STATUS"
check "alive after a deeply nested manifest" alive

api PATCH "/v1/models/training-ZZZZZZZZZ" -H 'Content-Type: application/json' --data-binary @"$T/junk.bin"
check_match "PATCH with binary junk: 4xx" '^4[0-9][0-9]$' "$HTTP_STATUS"
api POST /v1/users -H 'Content-Type: application/json' --data-binary "{\"name\": \"$(head -c 5000 /dev/zero | tr '\0' 'n')\"}"
check_match "POST /v1/users with a 5000-char name: 400 or 201" '^(400|201)$' "$HTTP_STATUS"
api GET "/v1/logs/training-ZZZZZZZZZ/loglines?pos=99999999999999999999999&pagesize=-1"
check_match "loglines with absurd numbers: 4xx" '^4[0-9][0-9]$' "$HTTP_STATUS"

# a burst of concurrent requests while a job runs
submit "$(manifest burst 'bash lines.sh 20 0.05')"
id=$JOB_ID
pids=()
for i in $(seq 1 40); do
	curl -s -o /dev/null -w '%{http_code}\n' --max-time 20 -H "Authorization: Bearer $ADMIN_TOKEN" \
		"$WEFT_SERVER/v1/models/$id" >>"$T/burst.txt" &
	pids+=($!)
	curl -s -o /dev/null -w '%{http_code}\n' --max-time 20 -H "Authorization: Bearer $ADMIN_TOKEN" \
		"$WEFT_SERVER/v1/logs/$id/loglines?pos=-5" >>"$T/burst.txt" &
	pids+=($!)
done
wait "${pids[@]}"
check_eq "80 concurrent requests all answered 200" "80" "$(grep -c '^200$' "$T/burst.txt")"
if wait_status "$id" COMPLETED 30; then ok "the job completed during the burst"; else not_ok "the job completed during the burst"; fi
check_eq "its log is whole" "$(seq 1 20 | sed 's/^/line /')" "$(loglines "$id")"

done_testing

# lib.sh - helpers sourced by the end-to-end shell tests (tests/api, tests/lifecycle).
# Each test file gets its own scratch dir $T, a fresh WEFT_HOME ($T/home) and its own
# `weft server` on a free port, so files are independent and may run in parallel.
# Output is plan-less TAP ("ok N - name" / "not ok N - name", "# ..." diagnostics);
# tests/run.sh counts it. The EXIT trap stops the server, kills any learner or shim
# left running under $T and removes $T (KEEP=1 keeps it for debugging).
# At a glance: start_server / stop_server / kill9_server / restart_server; api METHOD PATH
# [curl args] (as admin; also api_as TOKEN, api_noauth, api_download PATH FILE) sets
# HTTP_STATUS, BODY and HEADERS rather than printing, so a check can read all three;
# check, check_eq, check_match, check_json, check_status, check_error, skip; manifest,
# seed_bucket, submit, wait_status, loglines, wait_log, pids_under, wait_gone.

: "${WEFT_BIN:?WEFT_BIN must name the weft binary}"
TESTS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
FIXTURES=$TESTS_DIR/fixtures
TEST_NAME=${TEST_NAME:-$(basename "$0" .sh)}
# Slower under sanitizers: every timeout is multiplied by this factor.
TIME_SCALE=${TIME_SCALE:-1}

TAP_N=0
TAP_FAILED=0
SERVER_PID=
PORT=
HTTP_STATUS=
BODY=
HEADERS=

T=$(mktemp -d "${TMPDIR:-/tmp}/weft-$TEST_NAME.XXXXXX")
export WEFT_HOME=$T/home
mkdir -p "$WEFT_HOME"
unset WEFT_TOKEN
# Sanitizer reports of every weft process of this test (server, shims, CLI) land in $T,
# where done_testing looks for them (a sanitizer build prints nothing otherwise).
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}log_path=$T/sanitizer"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}print_stacktrace=1:log_path=$T/sanitizer"

# ---------------------------------------------------------------- TAP output

diag() { printf '%s\n' "$@" | sed 's/^/# /'; }

ok() {
	TAP_N=$((TAP_N + 1))
	echo "ok $TAP_N - $1"
}

# not_ok NAME [DIAGNOSTIC...]: a failure, with the last HTTP exchange and the server log tail.
not_ok() {
	local name=$1
	shift
	TAP_N=$((TAP_N + 1))
	TAP_FAILED=$((TAP_FAILED + 1))
	echo "not ok $TAP_N - $name"
	[ $# -gt 0 ] && diag "$@"
	if [ -n "$HTTP_STATUS" ]; then
		diag "last HTTP status: $HTTP_STATUS" "last body: $(head -c 600 <<<"$BODY" | tr -cd '[:print:]\t\n')"
	fi
	if [ -s "$WEFT_HOME/server.log" ]; then
		diag "server.log (tail):"
		tail -n "${DIAG_LINES:-12}" "$WEFT_HOME/server.log" | cut -c1-300 | sed 's/^/#   /'
	fi
}

skip() { # skip NAME REASON
	TAP_N=$((TAP_N + 1))
	echo "ok $TAP_N - $1 # SKIP $2"
}

# check NAME CMD...: passes when CMD exits 0.
check() {
	local name=$1 out rc
	shift
	out=$("$@" 2>&1)
	rc=$?
	if [ $rc -eq 0 ]; then ok "$name"; else not_ok "$name" "command: $*" "exit $rc, output: ${out:0:800}"; fi
}

# check_not NAME CMD...: passes when CMD exits non-zero.
check_not() {
	local name=$1 out
	shift
	if out=$("$@" 2>&1); then not_ok "$name" "command unexpectedly succeeded: $*" "output: ${out:0:800}"; else ok "$name"; fi
}

check_eq() { # check_eq NAME EXPECTED ACTUAL
	if [ "$2" == "$3" ]; then ok "$1"; else not_ok "$1" "expected: ${2:0:800}" "got:      ${3:0:800}"; fi
}

check_ne() { # check_ne NAME UNEXPECTED ACTUAL
	if [ "$2" != "$3" ]; then ok "$1"; else not_ok "$1" "expected anything but: ${2:0:800}"; fi
}

check_match() { # check_match NAME ERE ACTUAL
	if [[ $3 =~ $2 ]]; then ok "$1"; else not_ok "$1" "expected to match: $2" "got: ${3:0:800}"; fi
}

check_imatch() { # case-insensitive check_match
	local a b
	a=${2,,}
	b=${3,,}
	if [[ $b =~ $a ]]; then ok "$1"; else not_ok "$1" "expected to match (any case): $2" "got: ${3:0:800}"; fi
}

check_nomatch() { # check_nomatch NAME ERE ACTUAL
	if [[ $3 =~ $2 ]]; then not_ok "$1" "expected NOT to match: $2" "got: ${3:0:800}"; else ok "$1"; fi
}

check_status() { # check_status NAME EXPECTED_HTTP_STATUS (of the last api call)
	if [ "$HTTP_STATUS" == "$2" ]; then ok "$1"; else not_ok "$1" "expected HTTP $2, got $HTTP_STATUS"; fi
}

# check_json NAME JQ_FILTER EXPECTED: the filter applied to $BODY prints EXPECTED.
check_json() {
	local got
	got=$(jq -r "$2" <<<"$BODY" 2>&1)
	if [ "$got" == "$3" ]; then ok "$1"; else not_ok "$1" "jq $2" "expected: $3" "got:      ${got:0:800}"; fi
}

declare -A REASON=([400]="Bad Request" [401]="Unauthorized" [403]="Forbidden" [404]="Not Found"
	[405]="Method Not Allowed" [409]="Conflict" [413]="Payload Too Large" [500]="Internal Server Error")
# check_error NAME STATUS [ERROR_CODE]: the last answer is FfDL's Error object.
check_error() {
	local name=$1 status=$2 code=${3-} got
	got=$(jq -r '[(.code|tostring), (.error|type), (.description|type), (.description|length > 0)] | join(" ")' <<<"$BODY" 2>/dev/null)
	if [ "$HTTP_STATUS" != "$status" ]; then
		not_ok "$name" "expected HTTP $status, got $HTTP_STATUS"
	elif [ "$got" != "$status string string true" ]; then
		not_ok "$name" "expected an Error object {code: $status, error, description}" "got: $got"
	elif [ -n "$code" ] && [ "$(jq -r '.error_code' <<<"$BODY" 2>/dev/null)" != "$code" ]; then
		not_ok "$name" "expected error_code $code"
	elif [ -n "${REASON[$status]-}" ] && [ "$(jq -r '.error' <<<"$BODY" 2>/dev/null)" != "${REASON[$status]}" ]; then
		not_ok "$name" "expected error: \"${REASON[$status]}\" (the reason phrase of $status)"
	else
		ok "$name"
	fi
}

# done_testing: last call of a test file; checks the logs for sanitizer reports.
done_testing() {
	stop_server
	local hits
	hits=$(grep -rIlE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error: ' "$T" 2>/dev/null | head -5)
	if [ -n "$hits" ]; then
		not_ok "no sanitizer reports in logs" "$hits" "$(grep -rIhE -A8 'ERROR: (Address|Leak)Sanitizer|runtime error: ' "$T" | head -40)"
	fi
	echo "# $TEST_NAME: $TAP_N checks, $TAP_FAILED failed"
	[ "$TAP_FAILED" -eq 0 ]
	exit
}

# ---------------------------------------------------------------- server

free_port() {
	local p i
	for i in $(seq 1 100); do
		p=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return 0
		fi
	done
	return 1
}

# _launch: starts the server on $PORT with $WEFT_HOME and waits for /health (10 s).
_launch() {
	local deadline
	echo "=== $(date +%T.%N) start on port $PORT" >>"$WEFT_HOME/server.log"
	# shellcheck disable=SC2086 # SERVER_ARGS: extra flags, split on spaces
	"$WEFT_BIN" server --listen "127.0.0.1:$PORT" --home "$WEFT_HOME" ${SERVER_ARGS:-} >>"$WEFT_HOME/server.log" 2>&1 &
	SERVER_PID=$!
	export WEFT_SERVER=http://127.0.0.1:$PORT
	deadline=$((SECONDS + ${START_TIMEOUT:-10} * TIME_SCALE))
	while [ $SECONDS -le $deadline ]; do
		if ! kill -0 "$SERVER_PID" 2>/dev/null; then
			wait "$SERVER_PID" 2>/dev/null
			SERVER_PID=
			return 1
		fi
		if curl -sf --max-time 1 "$WEFT_SERVER/health" >/dev/null 2>&1; then
			if [ -s "$WEFT_HOME/admin.token" ]; then
				ADMIN_TOKEN=$(cat "$WEFT_HOME/admin.token")
				export ADMIN_TOKEN
			fi
			return 0
		fi
		sleep 0.1
	done
	return 1
}

# start_server: fresh home, free port. Exits the test file if the server never answers.
start_server() {
	local i
	for i in 1 2 3; do
		PORT=$(free_port) || break
		if _launch; then return 0; fi
		# a port race with a parallel test shows as an early exit: try another port
		[ -n "$SERVER_PID" ] && break
	done
	not_ok "server starts and answers GET /health" "$(tail -n 20 "$WEFT_HOME/server.log" 2>/dev/null)"
	done_testing
}

# restart_server: the same home and port (after stop_server or kill9_server).
restart_server() {
	local i
	for i in 1 2 3 4 5; do
		_launch && return 0
		[ -n "$SERVER_PID" ] && break
		sleep 0.5 # the port may still be held by the old process for a moment
	done
	not_ok "server restarts on port $PORT and answers GET /health"
	return 1
}

stop_server() {
	[ -n "$SERVER_PID" ] || return 0
	kill -TERM "$SERVER_PID" 2>/dev/null
	local i
	for i in $(seq 1 $((50 * TIME_SCALE))); do
		kill -0 "$SERVER_PID" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$SERVER_PID" 2>/dev/null; then
		echo "=== server did not stop on SIGTERM; SIGKILL" >>"$WEFT_HOME/server.log"
		kill -KILL "$SERVER_PID" 2>/dev/null
	fi
	wait "$SERVER_PID" 2>/dev/null
	SERVER_PID=
}

kill9_server() {
	[ -n "$SERVER_PID" ] || return 0
	kill -KILL "$SERVER_PID" 2>/dev/null
	wait "$SERVER_PID" 2>/dev/null
	echo "=== $(date +%T.%N) killed with SIGKILL" >>"$WEFT_HOME/server.log"
	SERVER_PID=
}

# pids_under DIR: processes (not this shell) whose cwd is under DIR or whose
# command line mentions DIR: learners, their children, shims. (Two processes in all:
# a fork per /proc entry would take seconds here.)
pids_under() {
	local dir=$1 me=$$ sub=$BASHPID
	{
		find /proc/[0-9]*/cwd -maxdepth 0 \( -lname "$dir" -o -lname "$dir/*" \) 2>/dev/null
		# the pattern comes from a file so that grep's own command line does not match
		grep -laF -f <(printf '%s\n' "$dir") /proc/[0-9]*/cmdline 2>/dev/null
	} | awk -F/ -v me="$me" -v sub_="$sub" '$3 != me && $3 != sub_ && !seen[$3]++ {print $3}'
}

# shim_pids: the `weft _shim` supervisors of this test's home.
shim_pids() {
	local p
	for p in $(pids_under "$WEFT_HOME"); do
		grep -qaF '_shim' "/proc/$p/cmdline" 2>/dev/null && echo "$p"
	done
}

cleanup() {
	local p
	stop_server 2>/dev/null
	for p in $(pids_under "$T"); do kill -KILL "$p" 2>/dev/null; done
	if [ "${KEEP:-0}" = 1 ]; then
		echo "# kept $T"
	else
		rm -rf "$T"
	fi
}
trap cleanup EXIT
trap 'exit 143' TERM INT

# ---------------------------------------------------------------- HTTP

# _http AUTH_HEADER METHOD PATH [curl args...]: sets HTTP_STATUS, BODY, HEADERS; the raw
# body is in $T/body. An empty AUTH_HEADER sends none.
_http() {
	local hdr=$1 method=$2 path=$3 url
	shift 3
	url=$path
	[[ $url == http* ]] || url=$WEFT_SERVER$path
	: >"$T/body"
	: >"$T/headers"
	local auth=()
	[ -n "$hdr" ] && auth=(-H "$hdr")
	HTTP_STATUS=$(curl -s --max-time "${API_TIMEOUT:-30}" -o "$T/body" -D "$T/headers" \
		-w '%{http_code}' -X "$method" "${auth[@]}" "$@" "$url" 2>/dev/null)
	BODY=$(tr -d '\000' <"$T/body")
	HEADERS=$(tr -d '\r' <"$T/headers")
}

# api METHOD PATH [curl args...]: as admin (Bearer $ADMIN_TOKEN).
api() { _http "Authorization: Bearer $ADMIN_TOKEN" "$@"; }
# api_as TOKEN METHOD PATH [curl args...]
api_as() {
	local tok=$1
	shift
	_http "Authorization: Bearer $tok" "$@"
}
# api_noauth METHOD PATH [curl args...]: no Authorization header (add your own with -H).
api_noauth() { _http "" "$@"; }

# api_download PATH FILE [TOKEN]: GET PATH into FILE (binary safe); sets HTTP_STATUS,
# HEADERS, and BODY (the file's text when the answer is an error).
api_download() {
	local path=$1 file=$2 tok=${3:-$ADMIN_TOKEN}
	_http "Authorization: Bearer $tok" GET "$path"
	cp "$T/body" "$file"
	[ "$HTTP_STATUS" = 200 ] && BODY="(binary, $(stat -c %s "$file") bytes)"
}

header() { # header NAME: value of a header of the last answer (case-insensitive)
	awk -v n="${1,,}" 'BEGIN{FS=": "} tolower($1)==n {sub(/^[^:]*: /, ""); v=$0} END{print v}' <<<"$HEADERS"
}

jbody() { jq -r "$1" <<<"$BODY"; }

# ---------------------------------------------------------------- jobs

# model_zip [DIR]: zips a model dir (default tests/fixtures/model) to $T/model.zip, prints the path.
model_zip() {
	local dir=${1:-$FIXTURES/model} out=$T/model-$RANDOM.zip
	(cd "$dir" && zip -qr "$out" .) && echo "$out"
}

# manifest NAME COMMAND [EXTRA_YAML]: writes $T/NAME.yml with a local data store reading
# bucket tdata and writing tresults; EXTRA_YAML (top-level keys) overrides defaults.
manifest() {
	local name=$1 cmd=$2 extra=${3-} f=$T/$1.yml
	{
		echo "name: $name"
		echo "description: weft test job $name"
		echo 'version: "1.0"'
		if ! grep -q '^cpus:' <<<"$extra"; then echo "cpus: 0.5"; fi
		if ! grep -q '^memory:' <<<"$extra"; then echo "memory: 256MiB"; fi
		if ! grep -q '^learners:' <<<"$extra"; then echo "learners: 1"; fi
		if ! grep -q '^data_stores:' <<<"$extra"; then
			cat <<-EOF
			data_stores:
			  - id: teststore
			    type: local
			    training_data:
			      container: tdata
			    training_results:
			      container: tresults
			EOF
		fi
		echo "framework:"
		echo "  name: custom"
		echo '  version: "1"'
		echo "  command: |-"
		sed 's/^/    /' <<<"$cmd"
		[ -n "$extra" ] && printf '%s\n' "$extra"
	} >"$f"
	echo "$f"
}

# seed_bucket [BUCKET]: puts hello.txt and sub/data.csv into a bucket through the API.
seed_bucket() {
	local b=${1:-tdata}
	api PUT "/v1/data/$b/hello.txt" --data-binary 'hello from the bucket'
	[ "$HTTP_STATUS" = 201 ] || { not_ok "seed bucket $b (PUT /v1/data)"; return 1; }
	api PUT "/v1/data/$b/sub/data.csv" --data-binary $'a,b\n1,2\n'
}

# submit MANIFEST [ZIP] [TOKEN]: POST /v1/models; sets JOB_ID (empty on failure). 0 if 201.
submit() {
	local m=$1 z=${2:-$MODEL_ZIP} tok=${3:-$ADMIN_TOKEN}
	api_as "$tok" POST /v1/models -F "manifest=@$m" -F "model_definition=@$z"
	JOB_ID=$(jq -r '.model_id // empty' <<<"$BODY" 2>/dev/null)
	[ "$HTTP_STATUS" = 201 ] && [ -n "$JOB_ID" ]
}

# job_status ID: prints training_status.status (or "HTTP nnn").
job_status() {
	local s
	api GET "/v1/models/$1"
	if [ "$HTTP_STATUS" = 200 ]; then
		s=$(jbody '.training.training_status.status')
		echo "$s"
	else
		echo "HTTP $HTTP_STATUS"
	fi
}

# wait_status ID STATUS_ERE [TIMEOUT_S]: polls until the status matches; sets LAST_STATUS.
wait_status() {
	local id=$1 want=$2 limit=${3:-30} deadline
	deadline=$((SECONDS + limit * TIME_SCALE))
	while :; do
		LAST_STATUS=$(job_status "$id")
		[[ $LAST_STATUS =~ ^($want)$ ]] && return 0
		[ $SECONDS -ge $deadline ] && break
		sleep 0.2
	done
	diag "wait_status $id: wanted $want within ${limit}s, last status $LAST_STATUS" \
		"message: $(jbody '.training.training_status.status_message' 2>/dev/null)"
	return 1
}

# loglines ID [QUERY]: GET /v1/logs/ID/loglines?QUERY, prints the lines' text one a line.
loglines() {
	api GET "/v1/logs/$1/loglines?${2:-pagesize=10000}"
	jq -r '.models[].line' <<<"$BODY" 2>/dev/null
}

# wait_log ID ERE [TIMEOUT_S]: polls the job's log until a line matches.
wait_log() {
	local id=$1 re=$2 limit=${3:-20} deadline
	deadline=$((SECONDS + limit * TIME_SCALE))
	while [ $SECONDS -lt $deadline ]; do
		loglines "$id" | grep -qE -- "$re" && return 0
		sleep 0.2
	done
	diag "wait_log $id: no line matching $re within ${limit}s"
	return 1
}

# wait_gone DIR [TIMEOUT_S]: waits until no process runs under DIR.
wait_gone() {
	local dir=$1 limit=${2:-10} deadline
	deadline=$((SECONDS + limit * TIME_SCALE))
	while [ $SECONDS -lt $deadline ]; do
		[ -z "$(pids_under "$dir")" ] && return 0
		sleep 0.2
	done
	diag "still running under $dir:" "$(for p in $(pids_under "$dir"); do tr '\0' ' ' <"/proc/$p/cmdline"; echo; done)"
	return 1
}

# unzip_list ZIP: the member names, one a line.
unzip_list() { unzip -Z1 "$1" 2>/dev/null; }

MODEL_ZIP=$(model_zip)

# train_digits_c: exports the digits data set to $T/digits, uploads it to bucket
# "digits" and trains examples/digits-c; sets JOB_ID. Ends the test file (not ok)
# if the data cannot be made or the job does not complete.
train_digits_c() {
	local root zc
	root=$(cd "$TESTS_DIR/.." && pwd)
	if ! /usr/bin/python3 "$root/scripts/export-digits.py" "$T/digits" >/dev/null 2>&1; then
		not_ok "export the digits data set (python3-sklearn)"
		done_testing
	fi
	for f in "$T"/digits/*.csv; do api PUT "/v1/data/digits/$(basename "$f")" --data-binary "@$f" >/dev/null; done
	zc=$T/digits-c.zip
	(cd "$root/examples/digits-c" && zip -q "$zc" train.c)
	submit "$root/examples/digits-c/manifest.yml" "$zc"
	if wait_status "$JOB_ID" COMPLETED 120; then ok "digits-c trains"; else not_ok "digits-c trains"; done_testing; fi
}

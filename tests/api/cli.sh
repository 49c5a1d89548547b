#!/usr/bin/env bash
# cli.sh - the weft CLI against a real server: --help everywhere, version, validate,
# train (dir and zip, --follow), list, show, logs (-f), halt, resume, delete, download,
# user add; identity from <home>/admin.token or WEFT_TOKEN; exit codes (0 ok, 1 user
# error, 2 server unreachable).
. "$(dirname "$0")/../lib.sh"
start_server
seed_bucket tdata
W=$WEFT_BIN
M=$FIXTURES/manifests
MODEL=$FIXTURES/model

# run_cli NAME EXPECTED_RC CMD...: runs the CLI, keeps stdout in $OUT, stderr in $ERR.
run_cli() {
	local name=$1 want=$2 rc
	shift 2
	"$@" >"$T/out" 2>"$T/err" </dev/null
	rc=$?
	OUT=$(cat "$T/out")
	ERR=$(cat "$T/err")
	if [ "$rc" = "$want" ]; then ok "$name"; else not_ok "$name" "command: $*" "expected exit $want, got $rc" "stdout: ${OUT:0:400}" "stderr: ${ERR:0:400}"; fi
}

# ---- help, version, usage errors
for c in server train list show logs halt resume delete download validate user data version; do
	run_cli "weft $c --help exits 0" 0 "$W" "$c" --help
	check_match "weft $c --help prints a usage naming $c" "$c" "$OUT"
done
run_cli "weft user add --help exits 0" 0 "$W" user add --help
run_cli "weft data put --help exits 0" 0 "$W" data put --help
run_cli "weft data ls --help exits 0" 0 "$W" data ls --help
run_cli "weft --help exits 0" 0 "$W" --help
check_match "weft --help lists the commands" 'train' "$OUT"
run_cli "weft without a command exits 1" 1 "$W"
run_cli "weft with an unknown command exits 1" 1 "$W" frobnicate
check_match "unknown command: says so on stderr" 'frobnicate' "$ERR"
run_cli "weft list with an unknown flag exits 1" 1 "$W" list --no-such-flag
run_cli "weft version exits 0" 0 "$W" version
check_match "weft version prints a version" '[0-9a-f]|unknown' "$OUT"

# ---- validate
run_cli "weft validate of a good manifest exits 0" 0 "$W" validate "$M/unknown-key.yml"
check_match "validate prints the resolved job" 'unknown-key' "$OUT"
check_imatch "validate warns about the unknown key" 'flavour' "$OUT$ERR"
run_cli "weft validate --json exits 0" 0 "$W" validate "$M/unknown-key.yml" --json
check_eq "validate --json is JSON naming the job" "unknown-key" "$(jq -r '.name' <<<"$OUT" 2>&1)"
check_nomatch "validate --json hides the password" 's3-secret-never-shown' "$(
	"$W" validate "$M/s3.yml" --json 2>&1
)"
run_cli "weft validate of a bad manifest exits 1" 1 "$W" validate "$M/bad-memory.yml"
check_imatch "validate error names field and line" 'line 3.*memory|memory.*line 3' "$ERR"
run_cli "weft validate of a missing file exits 1" 1 "$W" validate "$T/nope.yml"
run_cli "weft validate without an argument exits 1" 1 "$W" validate

# ---- train from a directory, list, show, logs
m=$(manifest cli-lines 'bash lines.sh 4 0.1')
run_cli "weft train MANIFEST DIR exits 0" 0 "$W" train "$m" "$MODEL"
id=$(grep -oE 'training-[A-Za-z0-9_-]{9}' <<<"$OUT" | head -n 1)
check_match "weft train prints the id" '^training-[A-Za-z0-9_-]{9}$' "$id"
run_cli "weft list exits 0" 0 "$W" list
check_match "weft list has the column headers" 'ID.*Name.*Framework.*Status.*Submitted.*Completed' "$OUT"
check_match "weft list shows the job" "$id" "$OUT"
run_cli "weft list --json exits 0" 0 "$W" list --json
check_eq "weft list --json is JSON with the job" "$id" \
	"$(jq -r "(.models // .) | .[] | select(.model_id == \"$id\") | .model_id" <<<"$OUT" 2>&1)"
wait_status "$id" COMPLETED 30
run_cli "weft show exits 0" 0 "$W" show "$id"
check_match "weft show says COMPLETED" 'COMPLETED' "$OUT"
check_match "weft show names the job" 'cli-lines' "$OUT"
run_cli "weft show --json exits 0" 0 "$W" show "$id" --json
check_eq "weft show --json has the status" "COMPLETED" "$(jq -r '.training.training_status.status' <<<"$OUT" 2>&1)"
run_cli "weft logs exits 0" 0 "$W" logs "$id"
check_eq "weft logs prints the learner's lines" $'line 1\nline 2\nline 3\nline 4' "$OUT"

# definition: the CLI zipped the directory
run_cli "weft download --definition exits 0" 0 "$W" download "$id" --definition -o "$T/def.zip"
check_match "the zipped directory holds the model files" 'lines\.sh' "$(unzip_list "$T/def.zip")"
run_cli "weft download exits 0" 0 "$W" download "$id" -o "$T/res.zip"
check_eq "the downloaded results hold out.txt" "wrote 4 lines" "$(unzip -p "$T/res.zip" out.txt 2>/dev/null)"
check_match "the downloaded results hold the log" 'learner-1/training-log\.txt' "$(unzip_list "$T/res.zip")"

# ---- train from a zip with --follow
m=$(manifest cli-follow 'bash lines.sh 5 0.3 "follow "')
run_cli "weft train ZIP --follow exits 0 when the job completes" 0 timeout $((60 * TIME_SCALE)) "$W" train "$m" "$MODEL_ZIP" --follow
check_match "train --follow printed every line (stdout or stderr)" 'follow 1.*follow 2.*follow 3.*follow 4.*follow 5' "$(tr '\n' ' ' <<<"$OUT$ERR")"

# ---- logs -f on a running job
m=$(manifest cli-logs-f 'bash lines.sh 6 0.3 "tail "')
"$W" train "$m" "$MODEL" >"$T/out" 2>&1
fid=$(grep -oE 'training-[A-Za-z0-9_-]{9}' "$T/out" | head -n 1)
run_cli "weft logs -f exits 0 when the job ends" 0 timeout $((60 * TIME_SCALE)) "$W" logs -f "$fid"
check_eq "weft logs -f printed every line once, in order" $'tail 1\ntail 2\ntail 3\ntail 4\ntail 5\ntail 6' "$OUT"

# ---- halt, resume, delete
m=$(manifest cli-counter 'bash counter.sh 8 0.3')
"$W" train "$m" "$MODEL" >"$T/out" 2>&1
cid=$(grep -oE 'training-[A-Za-z0-9_-]{9}' "$T/out" | head -n 1)
wait_log "$cid" '^step 1$' 20
run_cli "weft halt exits 0" 0 "$W" halt "$cid"
if wait_status "$cid" HALTED 20; then ok "weft halt halts the job"; else not_ok "weft halt halts the job"; fi
run_cli "weft halt of a HALTED job exits 1" 1 "$W" halt "$cid"
run_cli "weft resume exits 0" 0 "$W" resume "$cid"
if wait_status "$cid" COMPLETED 30; then ok "weft resume runs the job to the end"; else not_ok "weft resume runs the job to the end"; fi
run_cli "weft delete exits 0" 0 "$W" delete "$cid"
api GET "/v1/models/$cid"
check_status "the deleted job is gone" 404

# ---- user errors: exit 1
nope=training-ZZZZZZZZZ
for c in show logs halt resume delete download; do
	run_cli "weft $c of an unknown id exits 1" 1 "$W" "$c" "$nope"
done
run_cli "weft show without an id exits 1" 1 "$W" show
run_cli "weft train of a missing manifest exits 1" 1 "$W" train "$T/nope.yml" "$MODEL"
run_cli "weft train of a bad manifest exits 1" 1 "$W" train "$M/bad-memory.yml" "$MODEL"
check_imatch "weft train of a bad manifest says why" 'memory' "$ERR"
run_cli "weft train with a missing model dir exits 1" 1 "$W" train "$m" "$T/no-such-dir"
run_cli "weft train with an S3 store exits 1" 1 "$W" train "$M/s3.yml" "$MODEL"
check_imatch "weft train with an S3 store says S3" 's3' "$ERR"

# ---- identity
run_cli "WEFT_TOKEN=bad: exits 1" 1 env WEFT_TOKEN=bad-token "$W" list
api POST /v1/users -H 'Content-Type: application/json' --data '{"name":"bob"}'
BOB=$(jbody '.token // empty')
run_cli "WEFT_TOKEN selects another user" 0 env WEFT_TOKEN="$BOB" "$W" list --json
check_eq "bob's CLI list has none of admin's jobs" "0" "$(jq -r '(.models // .) | length' <<<"$OUT" 2>&1)"
run_cli "bob's CLI cannot show admin's job (exit 1)" 1 env WEFT_TOKEN="$BOB" "$W" show "$id"
run_cli "weft user add by admin exits 0" 0 "$W" user add erin
check_match "weft user add prints a token" '[A-Za-z0-9_-]{16,}' "$OUT"
run_cli "weft user add of an existing user exits 1" 1 "$W" user add erin
run_cli "WEFT_SERVER that is not a URL: exits 1" 1 env WEFT_SERVER=not-a-url "$W" list

# ---- server unreachable: exit 2
dead=http://127.0.0.1:$(free_port)
for c in list "show $id" "logs $id" "halt $id" "resume $id" "delete $id" "download $id -o $T/x.zip" "data ls tdata" "user add zed"; do
	# shellcheck disable=SC2086
	run_cli "weft $c with the server unreachable exits 2" 2 env WEFT_SERVER="$dead" "$W" $c
done
run_cli "weft train with the server unreachable exits 2" 2 env WEFT_SERVER="$dead" "$W" train "$m" "$MODEL"
check_match "unreachable: the message names the server" "${dead#http://}" "$ERR"

done_testing

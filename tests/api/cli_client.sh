#!/usr/bin/env bash
# cli_client.sh - the CLI's client layer against a real server, beyond tests/api/cli.sh:
# FfDL identities (DLAAS_USERNAME/DLAAS_PASSWORD, DLAAS_URL with user:pass@), 401 hints,
# `logs -f` and `train --follow` surviving a kill -9 + restart of the server with no line
# lost or repeated, --follow exit codes and status line, data put of a tree with --prefix,
# data ls, download to stdout, logs paging flags and their usage errors.
. "$(dirname "$0")/../lib.sh"
start_server
seed_bucket tdata
W=$WEFT_BIN
MODEL=$FIXTURES/model

run_cli() { # run_cli NAME EXPECTED_RC CMD...: stdout in $OUT, stderr in $ERR
	local name=$1 want=$2 rc
	shift 2
	"$@" >"$T/out" 2>"$T/err" </dev/null
	rc=$?
	OUT=$(cat "$T/out")
	ERR=$(cat "$T/err")
	if [ "$rc" = "$want" ]; then ok "$name"; else not_ok "$name" "command: $*" "expected exit $want, got $rc" "stdout: ${OUT:0:400}" "stderr: ${ERR:0:400}"; fi
}

# ---- identities
HOSTPORT=${WEFT_SERVER#http://}
run_cli "DLAAS_USERNAME/DLAAS_PASSWORD authenticate" 0 env -u WEFT_HOME DLAAS_USERNAME=admin DLAAS_PASSWORD="$ADMIN_TOKEN" "$W" list
run_cli "DLAAS_URL with user:pass@ authenticates" 0 env -u WEFT_SERVER -u WEFT_HOME DLAAS_URL="http://admin:$ADMIN_TOKEN@$HOSTPORT/" "$W" list
run_cli "WEFT_SERVER as HOST:PORT works" 0 env WEFT_SERVER="$HOSTPORT" "$W" list
run_cli "a wrong DLAAS_PASSWORD exits 1" 1 env -u WEFT_HOME DLAAS_USERNAME=admin DLAAS_PASSWORD=wrong "$W" list
check_match "the 401 hint names the source of the credentials" 'DLAAS_USERNAME/DLAAS_PASSWORD' "$ERR"
check_nomatch "the 401 message never shows the password" 'wrong' "$ERR"
run_cli "no credentials at all exits 1" 1 env WEFT_HOME="$T/nohome" "$W" list
check_match "the no-credentials hint mentions WEFT_TOKEN" 'WEFT_TOKEN' "$ERR"
BOB=$("$W" user add bob)
run_cli "X-Watson-Userinfo naming another user is refused" 1 env -u WEFT_HOME DLAAS_USERNAME=admin DLAAS_PASSWORD="$BOB" "$W" list
run_cli "bob with DLAAS_USERNAME=bob works" 0 env -u WEFT_HOME DLAAS_USERNAME=bob DLAAS_PASSWORD="$BOB" "$W" list

# ---- follow across a server crash
m=$(manifest cli-crash 'bash lines.sh 14 0.4 "c "')
"$W" train "$m" "$MODEL" --follow >"$T/f.out" 2>"$T/f.err" &
fpid=$!
for i in $(seq 1 50); do
	id=$(grep -oE 'training-[A-Za-z0-9_-]{9}' "$T/f.out")
	[ -n "$id" ] && break
	sleep 0.2
done
"$W" logs -f "$id" >"$T/l.out" 2>"$T/l.err" &
lpid=$!
wait_log "$id" '^c 4$' 20
kill9_server
sleep 1
restart_server
wait "$fpid"
frc=$?
wait "$lpid"
lrc=$?
check_eq "train --follow across a kill -9 exits 0" 0 "$frc"
check_eq "logs -f across a kill -9 exits 0" 0 "$lrc"
want=$(seq 1 14 | sed 's/^/c /')
check_eq "train --follow printed every line once, in order" "$want" "$(grep '^c ' "$T/f.err")"
check_eq "logs -f printed every line once, in order" "$want" "$(cat "$T/l.out")"
check_match "train --follow said it reconnected" 'reconnecting' "$(cat "$T/f.err")"
check_match "train --follow ends with the status on stderr" "$id COMPLETED" "$(tail -n 1 "$T/f.err")"
check_eq "train --follow printed only the id on stdout" "$id" "$(cat "$T/f.out")"

# ---- --follow of a failing job
m=$(manifest cli-fail 'echo boom; exit 3')
run_cli "train --follow of a failing job exits 1" 1 "$W" train "$m" "$MODEL" --follow
check_match "the status line gives FAILED and C201" 'FAILED C201' "$ERR"
check_match "stdout is only the id" '^training-[A-Za-z0-9_-]{9}$' "$OUT"

# ---- data put / ls
mkdir -p "$T/tree/a/b"
echo one >"$T/tree/a/b/one.txt"
echo two >"$T/tree/two.txt"
ln -s "$T/tree/a" "$T/tree/dirlink"
run_cli "data put of a tree exits 0" 0 "$W" data put tree "$T/tree" --prefix /p/q/
check_eq "data put prints one line per file" $'put tree/p/q/a/b/one.txt (4 bytes)\nput tree/p/q/two.txt (4 bytes)' "$OUT"
check_match "a link to a directory is skipped with a warning" 'dirlink' "$ERR"
run_cli "data ls exits 0" 0 "$W" data ls tree
check_match "data ls has KEY SIZE MODIFIED" '^KEY +SIZE +MODIFIED' "$OUT"
check_match "data ls lists the nested key" 'p/q/a/b/one\.txt +4 ' "$OUT"
run_cli "data ls --prefix filters" 0 "$W" data ls tree --prefix p/q/t --json
check_eq "data ls --prefix --json has only the matching key" "p/q/two.txt" "$(jq -r '.objects[].key' <<<"$OUT")"
run_cli "data ls of a missing bucket exits 1" 1 "$W" data ls no-such-bucket
run_cli "data put of a missing file exits 1" 1 "$W" data put tree "$T/nope"
run_cli "data put without a path exits 1" 1 "$W" data put tree
run_cli "data with an unknown subcommand exits 1" 1 "$W" data rm tree
head -c $((9 * 1024 * 1024)) /dev/zero >"$T/big.bin"
run_cli "data put of a 9 MiB file exits 0" 0 "$W" data put tree "$T/big.bin"
check_eq "the big file's size is right" "put tree/big.bin (9437184 bytes)" "$OUT"

# ---- download to stdout, logs flags
m=$(manifest cli-lines 'bash lines.sh 5 0 "l "')
id=$("$W" train "$m" "$MODEL")
wait_status "$id" COMPLETED 30
"$W" download "$id" -o - >"$T/s.zip" 2>"$T/err"
check_eq "download -o - exits 0" 0 "$?"
check_match "download -o - reports on stderr" 'standard output' "$(cat "$T/err")"
check_match "the zip from stdout is whole" 'out\.txt' "$(unzip_list "$T/s.zip")"
run_cli "logs --pos -2 exits 0" 0 "$W" logs "$id" --pos -2
check_eq "logs --pos -2 prints the last two lines" $'l 4\nl 5' "$OUT"
run_cli "logs --pos 2 --pagesize 2 exits 0" 0 "$W" logs "$id" --pos 2 --pagesize 2
check_eq "logs --pagesize prints one page" $'l 2\nl 3' "$OUT"
run_cli "logs --json exits 0" 0 "$W" logs "$id" --json --pos 5
check_eq "logs --json prints LogLine objects" "5 l 5" "$(jq -r '"\(.meta.rindex) \(.line)"' <<<"$OUT")"
run_cli "logs --since with --pos exits 1" 1 "$W" logs "$id" --since 1 --pos 1
run_cli "logs -f with --pagesize exits 1" 1 "$W" logs "$id" -f --pagesize 5
run_cli "logs --pos 0 exits 1" 1 "$W" logs "$id" --pos 0
run_cli "logs --pos without a value exits 1" 1 "$W" logs "$id" --pos
run_cli "logs with an unknown flag exits 1" 1 "$W" logs "$id" --bogus

done_testing

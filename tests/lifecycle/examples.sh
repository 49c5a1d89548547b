#!/usr/bin/env bash
# examples.sh - the shipped examples train through weft for real: digits-c (with a
# halt mid-training and a resume that continues from its checkpoint) and
# digits-pytorch (skipped where /usr/bin/python3 has no torch). Each must reach a
# test accuracy of at least 0.9 in the results downloaded from /trained_model.
. "$(dirname "$0")/../lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
start_server

if ! /usr/bin/python3 "$ROOT/scripts/export-digits.py" "$T/digits" >/dev/null 2>&1; then
	not_ok "export the digits data set (python3-sklearn)"
	done_testing
fi
for f in "$T"/digits/*.csv; do
	api PUT "/v1/data/digits/$(basename "$f")" --data-binary "@$f"
done
check_status "digits uploaded" 201

# accuracy JOB_ID: test_accuracy from results.json in the downloaded trained model
accuracy() {
	rm -rf "$T/res" && mkdir -p "$T/res"
	api_download "/v1/models/$1/trained_model" "$T/res/model.zip" >/dev/null
	(cd "$T/res" && unzip -qo model.zip) 2>/dev/null
	jq -r '.test_accuracy // empty' "$T/res/results.json" 2>/dev/null
}

# digits-c, slowed down so a halt lands mid-training
sed 's/^  command: /  command: export SLEEP_PER_EPOCH=0.25; /' "$ROOT/examples/digits-c/manifest.yml" >"$T/digits-c.yml"
zc=$T/digits-c.zip
(cd "$ROOT/examples/digits-c" && zip -q "$zc" train.c)
submit "$T/digits-c.yml" "$zc"
check_status "digits-c submitted" 201
id=$JOB_ID
if wait_log "$id" '^epoch 3/' 60; then ok "digits-c reaches epoch 3"; else not_ok "digits-c reaches epoch 3"; fi
api PATCH "/v1/models/$id" -H 'Content-Type: application/json' --data '{"status":"halt"}'
check_status "halt accepted" 202
if wait_status "$id" HALTED 30; then ok "digits-c HALTED"; else not_ok "digits-c HALTED"; fi
api PATCH "/v1/models/$id" -H 'Content-Type: application/json' --data '{"status":"resume"}'
check_status "resume accepted" 202
if wait_status "$id" 'COMPLETED|FAILED' 90; then ok "digits-c ends after resume"; else not_ok "digits-c ends after resume"; fi
check_eq "digits-c COMPLETED" COMPLETED "$LAST_STATUS"
check_match "the resumed run continued from a checkpoint" 'resuming from checkpoint at epoch [0-9]+' "$(loglines "$id")"
check_match "the last epoch ran" '^epoch 20/20 ' "$(loglines "$id" | grep '^epoch ' | tail -n 1)"
acc=$(accuracy "$id")
diag "digits-c test accuracy: $acc"
check "digits-c test accuracy >= 0.9" awk -v a="$acc" 'BEGIN { exit !(a != "" && a >= 0.9) }'

if /usr/bin/python3 -c 'import torch' 2>/dev/null; then
	zp=$T/digits-pytorch.zip
	(cd "$ROOT/examples/digits-pytorch" && zip -q "$zp" train.py)
	submit "$ROOT/examples/digits-pytorch/manifest.yml" "$zp"
	check_status "digits-pytorch submitted" 201
	if wait_status "$JOB_ID" 'COMPLETED|FAILED' 180; then ok "digits-pytorch ends"; else not_ok "digits-pytorch ends"; fi
	check_eq "digits-pytorch COMPLETED" COMPLETED "$LAST_STATUS"
	acc=$(accuracy "$JOB_ID")
	diag "digits-pytorch test accuracy: $acc"
	check "digits-pytorch test accuracy >= 0.9" awk -v a="$acc" 'BEGIN { exit !(a != "" && a >= 0.9) }'
else
	for n in "digits-pytorch submitted" "digits-pytorch ends" "digits-pytorch COMPLETED" "digits-pytorch test accuracy >= 0.9"; do
		skip "$n" "/usr/bin/python3 has no torch (install python3-torch, or run make with WEFT_WITH_TORCH=1)"
	done
fi
done_testing

#!/usr/bin/env bash
# storing.sh - a job stored twice (halted with partial results, then resumed to the
# end) ends with the second results in <results bucket>/ID/, swapped in whole, and no
# staging directory left in the bucket.
. "$(dirname "$0")/../lib.sh"
start_server
seed_bucket tdata
cmd='if [ -f "$CHECKPOINT_DIR/once" ]; then echo second >"$RESULT_DIR/which"; echo resumed; else touch "$CHECKPOINT_DIR/once"; echo first >"$RESULT_DIR/which"; echo waiting; sleep 60; fi'
submit "$(manifest twice "$cmd")"
check_status "submitted" 201
id=$JOB_ID
wait_log "$id" '^waiting$' 20 || not_ok "first run started"
api PATCH "/v1/models/$id" -H 'Content-Type: application/json' --data '{"status":"halt"}'
wait_status "$id" HALTED 30 && ok "HALTED" || not_ok "HALTED"
api_download "/v1/models/$id/trained_model" "$T/first.zip"
check_status "partial results downloadable after the halt" 200
check_eq "they hold the first run's file" first "$(unzip -p "$T/first.zip" which 2>/dev/null)"
api PATCH "/v1/models/$id" -H 'Content-Type: application/json' --data '{"status":"resume"}'
wait_status "$id" COMPLETED 30 && ok "COMPLETED after resume" || not_ok "COMPLETED after resume"
api_download "/v1/models/$id/trained_model" "$T/second.zip"
check_eq "the stored results are the second run's" second "$(unzip -p "$T/second.zip" which 2>/dev/null)"
check_eq "no staging directory left in the bucket" "" "$(ls -A "$WEFT_HOME/objects/tresults" | grep '^\.tmp-' || true)"
check_eq "the bucket holds the job's directory" "$id" "$(ls "$WEFT_HOME/objects/tresults")"
done_testing

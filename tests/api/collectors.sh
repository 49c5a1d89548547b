#!/usr/bin/env bash
# collectors.sh - the collectors chosen by evaluation_metrics.type: regex_extractor
# (FfDL's spec: groups, named captures, macros, a multi-line match in the lookahead
# window, bad regexes refused at submit naming the group), emetrics_file (FfDL's
# JSON-lines file, a bad line skipped with a warning), tensorboard (event files in
# run sub-directories followed as they grow, simple_value and tensor scalars, a
# corrupt file stops only itself); and log search: TERM, MATCH, NESTED, learner.
. "$(dirname "$0")/../lib.sh"
start_server
seed_bucket tdata

# ---- regex_extractor
regex_em='evaluation_metrics:
  type: regex_extractor
  line_lookahead: 4
  groups:
    train:
      regex: "step %{INT:it}: loss = %{FLOAT:loss}, lr = (?P<lr>[0-9.e-]+)"
      meta:
        subid: "trainer"
      values:
        loss: {type: FLOAT, value: $loss}
        lr: {type: FLOAT, value: $lr}
        phase: {type: STRING, value: warmup}
      etimes:
        iteration: {type: INT, value: $it}
    test:
      regex: "Evaluating at step (?P<it>\\d+)\\n[^\\n]*\\n  accuracy: %{FLOAT:acc}"
      values:
        accuracy: {type: FLOAT, value: $acc}
      etimes:
        iteration: {type: INT, value: $it}'
submit "$(manifest rx 'echo "step 10: loss = 2.5, lr = 0.1"; echo "noise"; echo "Evaluating at step 10"; echo "  (100 batches)"; echo "  accuracy: 0.625"; echo "(end of evaluation)"; echo "step 20: loss = 1.25, lr = 1e-2"' "$regex_em")"
rid=$JOB_ID
check_status "regex_extractor job accepted: 201" 201
if wait_status "$rid" COMPLETED 40; then ok "regex job completes"; else not_ok "regex job completes"; fi
api GET "/v1/logs/$rid/emetrics?pagesize=100"
check_json "3 records: train, test, train" '[.models[].grouplabel] | join(",")' "train,test,train"
check_json "train record: captures typed, literal value, etimes" \
	'.models[0] | "\(.values.loss.value) \(.values.lr.value) \(.values.phase.type):\(.values.phase.value) \(.etimes.iteration.type):\(.etimes.iteration.value)"' \
	"2.5 0.1 STRING:warmup INT:10"
check_json "meta.subid from the group's meta" '.models[0].meta.subid' "trainer"
# as FfDL: a match is tried from the window's first line, so the evaluation block
# matches once its first line is the oldest of the 4 in the window (consuming them)
check_json "multi-line test match over the window" '.models[1] | "\(.etimes.iteration.value) \(.values.accuracy.value)"' "10 0.625"
check_json "second train record" '.models[2] | "\(.etimes.iteration.value) \(.values.loss.value) \(.values.lr.value)"' "20 1.25 1e-2"
check "all 7 log lines stored" test "$(loglines "$rid" | wc -l)" -eq 7

bad_em='evaluation_metrics:
  type: regex_extractor
  groups:
    broken:
      regex: "loss = (?P<loss>[0-9."
      values:
        loss: {type: FLOAT, value: $loss}'
submit "$(manifest rx-bad 'true' "$bad_em")"
check_error "a regex that does not compile: 400" 400 C101
check_match "the error names the group" 'groups\.broken' "$(jbody .description)"
missing_em='evaluation_metrics:
  type: regex_extractor
  groups:
    g:
      regex: "loss = %{FLOAT:loss}"
      values:
        acc: {type: FLOAT, value: $acc}'
submit "$(manifest rx-missing 'true' "$missing_em")"
check_error "a value naming a missing capture: 400" 400 C101
check_match "the error names the capture" 'acc' "$(jbody .description)"
macro_em='evaluation_metrics:
  type: regex_extractor
  groups:
    g:
      regex: "x %{NOPE:y}"
      values:
        y: {type: FLOAT, value: $y}'
submit "$(manifest rx-macro 'true' "$macro_em")"
check_error "an unknown macro: 400" 400 C101
check_match "the error names the macro" 'NOPE' "$(jbody .description)"

# ---- emetrics_file: FfDL's JSON lines in $LOG_DIR/evaluation-metrics.txt
em_cmd='f=$LOG_DIR/evaluation-metrics.txt;
echo "{\"meta\":{\"time\":1700000000000},\"grouplabel\":\"train\",\"etimes\":{\"iteration\":{\"type\":2,\"value\":\"1\"}},\"values\":{\"loss\":{\"type\":3,\"value\":\"0.5\"}}}" >>$f;
echo "this is not json" >>$f;
sleep 0.4;
echo "{\"grouplabel\":\"test\",\"etimes\":{\"iteration\":{\"type\":\"INT\",\"value\":\"2\"}},\"values\":{\"acc\":{\"type\":\"FLOAT\",\"value\":0.75}}}" >>$f;
printf "%s" "{\"grouplabel\":\"train\",\"values\":{\"loss\":{\"value\":0.25}}}" >>$f;
echo done'
submit "$(manifest emfile "$em_cmd" 'evaluation_metrics:
  type: emetrics_file')"
eid=$JOB_ID
if wait_status "$eid" COMPLETED 40; then ok "emetrics_file job completes"; else not_ok "emetrics_file job completes"; fi
api GET "/v1/logs/$eid/emetrics?pagesize=100"
check_json "3 records, the bad line skipped" '[.models[] | "\(.grouplabel):\(.values | to_entries[0] | "\(.key)=\(.value.value)")"] | join(",")' \
	"train:loss=0.5,test:acc=0.75,train:loss=0.25"
check_json "meta.time from the file" '.models[0].meta.time' "1700000000000"
check_json "types as enum numbers become names" '.models[0] | "\(.etimes.iteration.type) \(.values.loss.type)"' "INT FLOAT"
check_json "a last line without newline is read at the end" '.models[2].meta.rindex' "3"
check_match "the bad line is logged as skipped" 'evaluation-metrics.txt: line skipped' "$(cat "$WEFT_HOME/server.log")"

# ---- tensorboard: event files under $JOB_STATE_DIR/logs/tb/<run>/
mkdir -p "$T/tbmodel"
cp "$TESTS_DIR/tools/tfevents.py" "$T/tbmodel/"
cat >"$T/tbmodel/train.sh" <<'EOF'
tb=$JOB_STATE_DIR/logs/tb
mkdir -p $tb/train $tb/eval $tb/bad
w() { python3 tfevents.py write "$@"; }
printf '%s\n' '{"wall_time": 1700000000.5, "file_version": "brain.Event:2"}' \
	'{"wall_time": 1700000001.25, "step": 1, "values": [{"tag": "loss", "simple_value": 0.5}, {"tag": "acc", "simple_value": 0.25}]}' \
	| w $tb/train/events.out.tfevents.1.host -
printf '%s\n' '{"wall_time": 1700000002, "step": 1, "values": [{"tag": "acc", "plugin": "scalars", "tensor": {"dtype": "float", "value": 0.75}}]}' \
	'{"wall_time": 1700000002, "step": 1, "values": [{"tag": "h", "histogram": [1, 2]}]}' \
	| w $tb/eval/events.out.tfevents.2.host -
printf '%s\n' '{"wall_time": 1700000003, "step": 5, "values": [{"tag": "x", "simple_value": 1}]}' | w bad.tmp -
printf '\xff' | dd of=bad.tmp bs=1 seek=8 conv=notrunc 2>/dev/null
mv bad.tmp $tb/bad/events.out.tfevents.3.host
mkdir -p $tb/big
{ python3 -c 'import json; print(json.dumps({"wall_time": 1700000005, "graph_def": "g" * (5 << 20)}))'
  echo '{"wall_time": 1700000006, "step": 9, "values": [{"tag": "after_graph", "simple_value": 2}]}'; } | w $tb/big/events.out.tfevents.4.host -
sleep 1
printf '%s\n' '{"wall_time": 1700000004, "step": 2, "values": [{"tag": "loss", "simple_value": 0.125}]}' \
	| w $tb/train/events.out.tfevents.1.host - --append
echo tb done
EOF
submit "$(manifest tb 'bash train.sh' 'evaluation_metrics:
  type: tensorboard')" "$(model_zip "$T/tbmodel")"
tid=$JOB_ID
if wait_status "$tid" COMPLETED 40; then ok "tensorboard job completes"; else not_ok "tensorboard job completes"; fi
api GET "/v1/logs/$tid/emetrics?pagesize=100"
check_json "records by run: big, eval, train x2 (the corrupt run gives none)" \
	'[.models[] | .grouplabel] | sort | join(",")' "big,eval,train,train"
check_json "a record after a 5 MiB graph record (larger than a read) is read" \
	'.models[] | select(.grouplabel == "big") | .values.after_graph.value' "2"
check_json "train step 1: both tags, FLOAT" \
	'.models[] | select(.grouplabel == "train" and .etimes.iteration.value == "1") | "\(.values.loss.type) \(.values.loss.value) \(.values.acc.value)"' \
	"FLOAT 0.5 0.25"
check_json "etimes: iteration INT, timestamp RFC3339, wall_time FLOAT" \
	'.models[] | select(.grouplabel == "train" and .etimes.iteration.value == "1") | "\(.etimes.iteration.type) \(.etimes.timestamp.value) \(.etimes.wall_time.type)"' \
	"INT 2023-11-14T22:13:21.250Z FLOAT"
check_json "meta.time is wall_time" \
	'.models[] | select(.grouplabel == "train" and .etimes.iteration.value == "1") | .meta.time' "1700000001250"
check_json "tensor-valued scalar (tf.summary v2)" '.models[] | select(.grouplabel == "eval") | .values.acc.value' "0.75"
check_json "the appended event is read (the file is followed)" \
	'.models[] | select(.grouplabel == "train" and .etimes.iteration.value == "2") | .values.loss.value' "0.125"
check_match "the corrupt file is reported" 'bad/events.out.tfevents.3.host' "$(cat "$WEFT_HOME/server.log")"
api GET "/v1/models/$tid/metrics"
check_json "tensorboard metrics: train/loss over steps 1, 2" \
	'[.metrics[] | select(.group == "train" and .name == "loss") | .history[] | "\(.iteration):\(.value)"] | join(",")' \
	"1:0.5,2:0.125"
outside='evaluation_metrics:
  type: tensorboard
  in: /etc'
submit "$(manifest tb-outside 'true' "$outside")"
check_error "tensorboard in: outside the job: 400" 400 C101

# ---- search and learner filters on log lines (FTS5)
srch_cmd='echo "Epoch 1 loss 0.5 on learner $LEARNER_ID"; echo "CUDA out of memory? no: 100% fine"; echo "val_loss improved"; echo "nothing here"'
submit "$(manifest search "$srch_cmd" 'learners: 2')"
sid=$JOB_ID
wait_status "$sid" COMPLETED 40
api GET "/v1/logs/$sid/loglines?pagesize=100"
check_json "8 lines from 2 learners" '.models | length' "8"
api GET "/v1/logs/$sid/loglines?search=loss&pagesize=100"
check_json "search=loss (TERM) finds the 4 lines with the word" '.models | length' "4"
api GET "/v1/logs/$sid/loglines?search=epoch%20learner&pagesize=100"
check_json "TERM: every word must appear, any case" '[.models[].line] | unique | join("|")' \
	"Epoch 1 loss 0.5 on learner 1|Epoch 1 loss 0.5 on learner 2"
api GET "/v1/logs/$sid/loglines?search=loss&learner=2&pagesize=100"
check_json "learner=2 narrows the search" '[.models[].meta.subid] | unique | join(",")' "learner-2"
check_json "learner=2: its 2 loss lines" '.models | length' "2"
api GET "/v1/logs/$sid/loglines?learner=1&pagesize=100"
check_json "learner=1 without search: its 4 lines" '[.models[] | .meta.subid] | unique | "\(length) \(.[0])"' "1 learner-1"
api GET "/v1/logs/$sid/loglines?search=memory%20OR%20improved&searchType=MATCH&pagesize=100"
check_json "MATCH takes FTS5 syntax (OR)" '.models | length' "4"
api GET "/v1/logs/$sid/loglines?search=%22out%20of%22&searchType=MATCH"
check_json "MATCH phrase" '.models | length' "2"
api GET "/v1/logs/$sid/loglines?search=AND%20AND&searchType=MATCH"
check_error "a MATCH syntax error: 400" 400
check_match "the error names search" 'search' "$(jbody .description)"
api GET "/v1/logs/$sid/loglines?search=100%25%20fine&searchType=NESTED&pagesize=100"
check_json "NESTED: substring with % in it" '.models | length' "2"
api GET "/v1/logs/$sid/loglines?search=al_lo&searchType=NESTED&pagesize=100"
check_json "NESTED: inside a word" '[.models[].line] | unique | join(",")' "val_loss improved"
api GET "/v1/logs/$sid/loglines?search=loss&searchType=ALL&pagesize=100"
check_json "searchType=ALL ignores search" '.models | length' "8"
api GET "/v1/logs/$sid/loglines?search=loss&searchType=FUZZY"
check_error "an unknown searchType: 400" 400
check_match "the error names searchType" 'searchType' "$(jbody .description)"
api GET "/v1/logs/$sid/loglines?search=loss&pagesize=1"
first=$(jbody '.models[0].meta.rindex')
api GET "/v1/logs/$sid/loglines?search=loss&pagesize=100&pos=$((first + 1))"
check_json "search pages on with pos" '.models | length' "3"
api GET "/v1/logs/$sid/loglines?learner=0"
check_error "learner=0: 400" 400

# deleting a job removes its lines from the search index too
api DELETE "/v1/models/$sid"
wait_gone "$WEFT_HOME/jobs/$sid" 20 >/dev/null
sleep 1
check_eq "search index rows of the deleted job are gone" "0" \
	"$(sqlite3 "$WEFT_HOME/weft.db" "SELECT count(*) FROM loglines_fts WHERE loglines_fts MATCH 'improved'")"

done_testing

/* emfile.h - FfDL's emetrics_file collector, one line at a time: each line of
 * a learner's evaluation-metrics.txt is one JSON emetrics record, as FfDL's
 * learners and its other collectors wrote them (print_json.py: types as enum
 * numbers, values as strings). Also parses records POSTed by learners. */
#ifndef WEFT_TDS_EMFILE_H
#define WEFT_TDS_EMFILE_H
#include "tds/record.h"
#include "util/err.h"
#include <stddef.h>

#define EMFILE_LINE_MAX (1024 * 1024)

/* Parses one line (len bytes; a trailing "\n" or "\r\n" is fine):
 *   {"meta": {"time": ms, "subid": "..."}, "grouplabel": "train",
 *    "etimes": {"iteration": {"type": 2, "value": "20"}},
 *    "values": {"loss": {"type": "FLOAT", "value": 0.25}}}
 * grouplabel (a non-empty string) and values (an object) are required; meta,
 * etimes and each type are optional; meta's training_id, user_id and rindex
 * are ignored (the store sets them). type: the enum number 0..3 or its name
 * in any case; absent: STRING for a string value (protobuf's default, which
 * FfDL's writer left out), INT or FLOAT for a JSON number. value: a string or
 * a number; INT/FLOAT/JSONSTRING values must fit their type (see
 * em_value_fit; INT is written canonically). meta.time: ms (or a timestamp,
 * see em_time_parse); absent, null or 0: the ingestion time.
 * Returns 0 having emitted one record; 0 and nothing for a blank line;
 * WEFT_EINVAL with a message naming the field and the problem (the caller
 * logs a warning and skips the line); or the emit callback's error (e is then
 * left alone). */
int emfile_parse_line(const char *line, size_t len, em_emit_fn emit, void *ctx, struct weft_err *e);

#endif

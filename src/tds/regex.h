/* regex.h - FfDL's regex_extractor: the manifest's evaluation_metrics groups
 * (a Python-syntax regex per group label, with %{MACRO} shorthands) matched
 * with PCRE2 over a sliding window of the last line_lookahead log lines, as
 * FfDL's extract_from_log.py did, each match giving one em_rec. Pure library
 * code: the collector owns the files, the offsets and the store. */
#ifndef WEFT_TDS_REGEX_H
#define WEFT_TDS_REGEX_H
#include "tds/record.h"
#include "util/err.h"
#include "util/sbuf.h"
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define RX_LOOKAHEAD_DEFAULT 4
#define RX_LOOKAHEAD_MAX 10000
#define RX_LINE_MAX (64 * 1024)     /* longer lines are cut (at a UTF-8 boundary) */
#define RX_WINDOW_MAX (1024 * 1024) /* window text beyond this drops its oldest lines */

/* The compiled spec: read-only after rx_compile, so one struct rx serves all
 * the learners of a job, from any thread. */
struct rx;
/* The sliding window of one (job, learner) stream; one thread at a time. */
struct rx_window;

/* Compiles evaluation_metrics (the jansson object from src/manifest/emetrics.c:
 * line_lookahead, groups: {label: {regex, meta: {time, subid}, values|scalars,
 * etimes}}). Returns 0 and *out (free with rx_free), or WEFT_EINVAL with a
 * message naming the field and the problem, e.g.
 *   evaluation_metrics.groups.train.regex: does not compile at offset 7: missing closing parenthesis
 *   evaluation_metrics.groups.train.regex: unknown macro %{FLAOT} at offset 12 (known: ...)
 *   evaluation_metrics.groups.train.values.loss.value: $lss names no capture of the regex (it has: iter, loss)
 * Regex dialect: Python's, run by PCRE2 with UTF, UCP, MULTILINE, DOTALL and
 * anchored at the window start (re.match). Python-only spellings are
 * translated: \Z (end of text), {,n}, \uXXXX and \UXXXXXXXX. Macros:
 * %{FLOAT} %{INT} %{INT_ANY} %{HEX} %{TIMESTAMP} %{GLOG_STAMP} insert FfDL's
 * common-patterns definitions (ASCII digits only, so captures parse as
 * numbers; TIMESTAMP is what FfDL's meant: ISO 8601 with optional fraction and
 * Z or an offset); %{NAME:cap} does the same inside a named capture (?P<cap>...).
 * values (or scalars, which wins if both are given, as in FfDL) and etimes map
 * keys to {type, value}: type FLOAT|INT|STRING|JSONSTRING (any case, or 0..3;
 * absent: inferred per value - INT if an integer, FLOAT if a number, else
 * STRING); value "$cap" (a named capture) or a literal, which must fit its
 * type. meta.time "$cap" or literal: ms or s since the epoch, or a timestamp
 * (see em_time_parse); meta.subid "$cap" or literal. A group needs only regex.
 * Groups are tried in the object's order; the first match wins. */
int rx_compile(const json_t *evaluation_metrics, struct rx **out, struct weft_err *e);
void rx_free(struct rx *rx);
/* line_lookahead: the window size in lines (default 4) */
int rx_lookahead(const struct rx *rx);
int rx_ngroups(const struct rx *rx);

/* A window for rx, which must outlive it. Never NULL. */
struct rx_window *rx_window_new(const struct rx *rx);
void rx_window_free(struct rx_window *w);
/* Empties the window. */
void rx_window_reset(struct rx_window *w);

/* Feeds one log line (len bytes, no trailing newline; any bytes are safe,
 * valid UTF-8 is expected). As FfDL: the line joins the window (with a '\n'),
 * the oldest line leaves once there are more than line_lookahead; then each
 * group's regex is tried against the window text from its start, and the
 * first that matches emits one record and empties the window. A capture that
 * did not take part in the match, or does not fit its value's type (INT
 * "abc", FLOAT "nan"), drops that value, not the record. Returns 0 or the
 * emit callback's error; on an error the window is left as it was before the
 * call, so feeding the same line again retries it. A match that hits PCRE2's
 * limits (catastrophic backtracking) counts as no match and is counted in
 * rx_window_match_errors. */
int rx_feed(struct rx_window *w, const char *line, size_t len, em_emit_fn emit, void *ctx);

/* The window's lines as text (appended to out): printable UTF-8, no NUL, for
 * storing with the log offset that follows them. "rx1 N\n" then N lines,
 * each escaped (\\, \n, \xHH for control and non-UTF-8 bytes). */
void rx_window_save(const struct rx_window *w, struct sbuf *out);
/* Restores a window saved by rx_window_save (after a server restart); an
 * empty state (len 0) gives an empty window. Bad state: WEFT_EINVAL naming
 * the problem, and the window is left empty. */
int rx_window_load(struct rx_window *w, const char *state, size_t len, struct weft_err *e);

/* Lines in the window now, and matches abandoned at PCRE2's limits so far. */
int rx_window_lines(const struct rx_window *w);
unsigned long rx_window_match_errors(const struct rx_window *w);

/* --- helpers shared with emfile.c (defined in record.c; they would sit
 * better in record.h, which this part does not own) --- */

/* Length of the valid UTF-8 sequence at s (n > 0 bytes available), or 0. */
size_t em_utf8_seq(const unsigned char *s, size_t n);
/* s (len bytes) for an error message: quoted, control bytes as '?', cut
 * after 40 bytes with "..."; written into buf (48+ bytes), which is returned. */
const char *em_quote(const char *s, size_t len, char *buf, size_t size);
/* A map key for a field path in a message: control bytes as '?', cut after
 * 40 bytes with "..."; into buf (48+ bytes), which is returned. */
const char *em_key_text(const char *key, char *buf, size_t size);
/* A JSON string or number as text: *s and *len point into v, or into nb
 * (32+ bytes) for numbers (em_fmt_double for reals). -1 for other types. */
int em_json_text(const json_t *v, char *nb, size_t nbsize, const char **s, size_t *len);

#define EM_NUMBUF 32
/* Checks text s (len bytes) against type (an enum em_type, or -1 to infer
 * INT, then FLOAT, then STRING). INT: optional sign and decimal digits, or
 * 0x hex, within int64, surrounding blanks allowed; written canonically
 * ("+007" gives "7") into numbuf (EM_NUMBUF bytes). FLOAT: a finite number
 * strtod reads whole (blanks trimmed; nan/inf refused). JSONSTRING: valid
 * JSON text. STRING: anything. Returns the type accepted and sets *out/
 * *outlen (into s or numbuf; not NUL-terminated when into s), and for INT
 * and FLOAT *num (if num is not NULL) to the value; or returns -1. */
int em_value_fit(int type, const char *s, size_t len, char *numbuf, const char **out, size_t *outlen, double *num);
/* d as the shortest text that reads back as d ("20", "0.1", "1e-05"),
 * into buf (at least 32 bytes); returns its length. */
size_t em_fmt_double(double d, char *buf, size_t size);
/* A time as ms since the epoch, from: a number (< 1e11 taken as seconds,
 * >= 1e14 as microseconds, >= 1e17 as nanoseconds, else ms; fractions ok);
 * ISO 8601 / RFC 3339 "2026-11-28T12:00:00.5Z" (also with ' ' for 'T', ','
 * for '.', an offset, or no zone: local time, as Python's naive datetimes);
 * a glog prefix "I1128 12:00:00.123456" (this year, or last year if that
 * would be more than a day ahead) or "I20261128 12:00:00.123456". Returns 0
 * when s is none of these (0 means "use the ingestion time" in em_rec). */
int64_t em_time_parse(const char *s, size_t len);

#endif

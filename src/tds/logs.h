/* logs.h - the training data service's log side: collects each learner's
 * training-log.txt into the metadata store (lines, the metric records a line
 * extractor finds in them, the extractor's state and the new offset commit in
 * one transaction, so a crash neither loses nor repeats a line or a record)
 * and answers FfDL's loglines queries, with full-text search. */
#ifndef WEFT_TDS_LOGS_H
#define WEFT_TDS_LOGS_H
#include "trainer/trainer.h"

/* Rows of a job are keyed (job key << TDS_KEY_SHIFT) | rindex. */
#define TDS_KEY_SHIFT 36
#define TDS_RINDEX_MASK ((INT64_C(1) << TDS_KEY_SHIFT) - 1)

/* How a learner's log lines become metric records. */
enum tds_lx_kind { LX_NONE, LX_AUTO, LX_REGEX };
struct rx;
struct rx_window;
struct tds_lx {
	enum tds_lx_kind kind;
	struct rx_window *win; /* LX_REGEX */
	int64_t iter;          /* LX_AUTO: last iteration seen, -1 none */
	int epoch;             /* LX_AUTO: last epoch seen, -1 none */
	int loaded;            /* state read back from the store */
};

/* Ingests new complete lines of path for (id, learner); with final, also a
 * trailing line without newline. lx (NULL = lines only) extracts records.
 * *added gets the number of lines stored. */
int tds_ingest(struct trainer *t, struct db_conn *c, const char *id, int learner, const char *path, int final,
	       struct tds_lx *lx, int *added, struct weft_err *e);

enum tds_search { TDS_SEARCH_NONE, TDS_SEARCH_TERM, TDS_SEARCH_MATCH, TDS_SEARCH_NESTED };
struct tds_query {
	int64_t pos;        /* >0: from rindex pos; <0: last |pos| rows; 0: unset */
	int64_t pagesize;   /* default 10 */
	int has_since;
	int64_t since_ms;   /* >= 0: rows at or after; < 0: last |n| rows */
	int learner;        /* > 0: only this learner's rows */
	char group[128];    /* emetrics: only this grouplabel; "" = all */
	enum tds_search search_type;
	char search[1024];  /* loglines: the search text */
};
/* Reads FfDL's query parameters (pos, pagesize, since_time, searchType) and
 * weft's (search, learner, group) through arg (which returns NULL for an
 * absent one); an error names the parameter. */
typedef const char *(*tds_arg_fn)(void *ctx, const char *name);
int tds_parse_query(tds_arg_fn arg, void *ctx, struct tds_query *q, struct weft_err *e);
/* The first rindex q asks for, in a stream of count rows. */
int64_t tds_start_rindex(const struct tds_query *q, int64_t count);
/* Lines of job id (already authorised) as an array of LogLine, following q,
 * with rindex > after (0 = no bound). */
int tds_loglines(struct trainer *t, const char *id, const char *user, const struct tds_query *q, int64_t after,
		 json_t **out, struct weft_err *e);
/* Turns a query into a follow: *after gets the rindex before the first row
 * to send (pos/negative since_time resolved now against the stream's count,
 * log_count or em_count), q keeps its time bound and filters. */
void tds_follow_query(struct trainer *t, const char *id, int emetrics, struct tds_query *q, int64_t *after);
/* Deletes every stored line, record, offset and summary of a job. */
int tds_delete_job(struct db_conn *c, const char *id);

#endif

/* logs.h - the training data service's log side: collects each learner's
 * training-log.txt into the metadata store (offset and lines commit in one
 * transaction, so a crash neither loses nor repeats a line) and answers
 * FfDL's loglines queries. */
#ifndef WEFT_TDS_LOGS_H
#define WEFT_TDS_LOGS_H
#include "trainer/trainer.h"

/* Ingests new complete lines of path for (id, learner); with final, also a
 * trailing line without newline. *added gets the number of lines stored. */
int tds_ingest(struct trainer *t, struct db_conn *c, const char *id, const char *user, int learner,
	       const char *path, int final, int *added, struct weft_err *e);

struct tds_query {
	int64_t pos;        /* >0: from rindex pos; <0: last |pos| lines; 0: unset */
	int64_t pagesize;   /* default 10 */
	int has_since;
	int64_t since_ms;   /* >= 0: lines at or after; < 0: last |n| lines */
};
/* Parses FfDL's query parameters (any may be NULL); error names the parameter. */
int tds_parse_query(const char *pos, const char *pagesize, const char *since_time, struct tds_query *q,
		    struct weft_err *e);
/* Lines of job id (already authorised) as an array of LogLine, following q,
 * with rindex > after (0 = no bound). */
int tds_loglines(struct trainer *t, const char *id, const char *user, const struct tds_query *q, int64_t after,
		 json_t **out, struct weft_err *e);
/* Turns a query into a follow: *after gets the rindex before the first line
 * to send (pos/negative since_time resolved now), q keeps only the time bound. */
void tds_follow_query(struct trainer *t, const char *id, struct tds_query *q, int64_t *after);
/* Deletes every stored line and offset of a job. */
int tds_delete_job(struct db_conn *c, const char *id);

#endif

/* emstore.h - evaluation-metrics storage: appends records (FfDL's EMetrics)
 * to a job's stream inside the caller's transaction, keeps each metric's
 * summary and downsampled history in step with them, and answers the
 * emetrics and model-metrics queries. Records get rindex 1, 2, ... per job. */
#ifndef WEFT_TDS_EMSTORE_H
#define WEFT_TDS_EMSTORE_H
#include "tds/logs.h"
#include "tds/record.h"

#define EM_HIST_MAX 2048 /* history points kept per metric */

struct em_series;
struct em_writer {
	struct db_conn *c;
	const char *id;
	int64_t key;      /* the job's integer key */
	int64_t rindex;   /* last rindex used */
	int64_t now;      /* time for records without one */
	int learner;      /* source of the records being added (0 = reported over the API) */
	const char *subid; /* subid of records without one; NULL: "learner-N" (or "api") */
	int added;
	struct em_series *series;
	int n_series, cap_series;
	struct sbuf et, va; /* scratch JSON */
};

/* Starts adding records to job id; c must be inside a transaction. */
int emw_begin(struct em_writer *w, struct db_conn *c, const char *id, struct weft_err *e);
/* Adds one record from learner w->learner. Records whose values are empty are
 * skipped. Returns 0 or WEFT_EIO. Usable as an em_emit_fn with ctx = w. */
int emw_add(void *w, const struct em_rec *r);
/* Writes the count and the touched metric summaries; frees w's memory.
 * With ok == 0 only frees (the caller rolls back). */
int emw_finish(struct em_writer *w, int ok, struct weft_err *e);

/* Records of job id following q (learner > 0 and group filter them), after
 * rindex `after`, as an array of FfDL EMetrics objects. */
int tds_emetrics(struct trainer *t, const char *id, const char *user, const struct tds_query *q, int64_t after,
		 json_t **out, struct weft_err *e);
/* GET /v1/models/{id}/metrics: summary and history (at most points entries)
 * of each numeric metric. */
int tds_model_metrics(struct trainer *t, const char *id, int points, json_t **out, struct weft_err *e);
/* Stores records posted by a learner or a user: body is one record, an array,
 * or {"records": [...]}. *added gets the number stored. A bad record fails
 * the whole request with a message naming its index and field. With
 * running_only (a learner's job token), a job that has ended gives
 * WEFT_ECONFLICT. */
int tds_post_emetrics(struct trainer *t, const char *id, const json_t *body, int running_only, int *added,
		      struct weft_err *e);
/* Deletes a job's records, sources and summaries. */
int tds_delete_emetrics(struct db_conn *c, const char *id);

#endif

/* collect.h - the per-job collectors of the training data service: the
 * lifecycle manager calls tds_collect on each pass for every running job and
 * once more, with final, when its learners have ended. */
#ifndef WEFT_TDS_COLLECT_H
#define WEFT_TDS_COLLECT_H
#include "tds/logs.h"

/* Collects what is new for job id: log lines of each learner (and their
 * metric records, for `auto` and `regex_extractor`), and the metrics files
 * of `tensorboard` and `emetrics_file`. With final, reads to the end,
 * including a last line without newline. Errors are logged, not returned. */
void tds_collect(struct trainer *t, const char *id, const char *job_dir, int learners, const json_t *em,
		 int final);
/* Drops the in-memory collector of a job that ended or was deleted. */
void tds_collect_forget(const char *id);
/* Checks an evaluation_metrics block beyond its shape (regexes compile,
 * `in` stays in the job directory): 0, or WEFT_EINVAL naming the field. */
int tds_check_spec(const json_t *em, struct weft_err *e);
/* The collector evaluation_metrics selects; *name gets its type name. */
int tds_collector_kind(const json_t *em, const char **name);
/* The directory a tensorboard collector follows, or NULL and an error. */
char *tds_tensorboard_dir(const json_t *em, const char *job_dir, struct weft_err *e);

#endif

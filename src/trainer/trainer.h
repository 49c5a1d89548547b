/* trainer.h - the control plane's core: owns the home directory, the metadata
 * store and the job state machine. The REST API calls these functions; the
 * lifecycle manager (lcm/) drives jobs through their states; auth/ and tds/
 * hang off the same struct. One struct trainer per server process. */
#ifndef WEFT_TRAINER_H
#define WEFT_TRAINER_H
#include "manifest/manifest.h"
#include "store/db.h"
#include "util/err.h"
#include <jansson.h>
#include <pthread.h>
#include <stdint.h>

/* FfDL's status names */
#define ST_PENDING "PENDING"
#define ST_QUEUED "QUEUED"
#define ST_DOWNLOADING "DOWNLOADING"
#define ST_PROCESSING "PROCESSING"
#define ST_STORING "STORING"
#define ST_COMPLETED "COMPLETED"
#define ST_FAILED "FAILED"
#define ST_HALTED "HALTED"

struct trainer_opts {
	const char *home;        /* required */
	int halt_grace_s;        /* SIGTERM -> SIGKILL grace (default 10) */
	int no_cgroups;          /* never try to enforce limits */
};

struct trainer {
	char *home, *objects_root, *jobs_root;
	struct db *db;
	int limits_enforced;          /* cgroups usable */
	char cgroup_why[256];
	int halt_grace_s;
	int64_t started_ms;

	/* lcm wake-up: set pending + signal when a job needs attention */
	pthread_mutex_t wake_lock;    /* guards wake_pending */
	pthread_cond_t wake_cond;
	int wake_pending;

	/* log followers wait here; logs_seq grows on every ingested batch or status change */
	pthread_mutex_t logs_lock;    /* guards logs_seq */
	pthread_cond_t logs_cond;
	uint64_t logs_seq;

	char api_url[256];            /* how learners reach the API (WEFT_API_URL); "" if not serving */
	unsigned char job_key[32];    /* signs per-job tokens (WEFT_JOB_TOKEN); <home>/job-token.key */

	volatile int stopping;
	pthread_t lcm_thread;
	int lcm_running;
};

/* A caller of the API, after authentication. */
struct principal {
	char name[128];
	int is_admin;
};

int trainer_open(const struct trainer_opts *o, struct trainer **out, struct weft_err *e);
void trainer_close(struct trainer *t);

/* Wakes the lifecycle manager / log followers. */
void trainer_wake_lcm(struct trainer *t);
void trainer_notify_logs(struct trainer *t);
/* Blocks until logs_seq != seen or timeout_ms passes; returns the current seq. */
uint64_t trainer_wait_logs(struct trainer *t, uint64_t seen, int timeout_ms);

/* Validates and stores a new job. manifest is YAML text; zip_path is the
 * uploaded model definition (moved into the job's directory on success).
 * On error, *fcode gets FfDL's code ("C101", "C102", "C103") for the message. */
int trainer_create_job(struct trainer *t, const struct principal *p, const char *manifest, size_t len,
		       const char *zip_path, char id_out[32], const char **fcode, struct weft_err *e);

/* Model JSON (FfDL shape). with_history adds status_history. New reference. */
int trainer_get_job(struct trainer *t, const struct principal *p, const char *id, int with_history, json_t **out,
		    struct weft_err *e);
int trainer_list_jobs(struct trainer *t, const struct principal *p, json_t **out, struct weft_err *e);
/* "halt", "resume" or "delete". */
int trainer_request(struct trainer *t, const struct principal *p, const char *id, const char *what,
		    struct weft_err *e);
/* Path of the submitted zip (caller frees); WEFT_ENOTFOUND if not visible. */
int trainer_definition_path(struct trainer *t, const struct principal *p, const char *id, char **path,
			    struct weft_err *e);
/* Directory holding the stored results (<results bucket>/<id>); caller frees. */
int trainer_results_dir(struct trainer *t, const struct principal *p, const char *id, char **path,
			struct weft_err *e);
/* Status of a visible job into buf (for log followers); WEFT_ENOTFOUND otherwise. */
int trainer_job_status(struct trainer *t, const struct principal *p, const char *id, char *buf, size_t size,
		       struct weft_err *e);

/* For a log follower: *ended = 1 when the visible job is COMPLETED, FAILED or
 * HALTED and no resume request is pending (a job just resumed has not ended yet,
 * though its status still says so until the lifecycle manager acts on it). */
int trainer_job_ended(struct trainer *t, const struct principal *p, const char *id, int *ended, struct weft_err *e);

/* Helpers shared with lcm/ */
int status_is_terminal(const char *status);
/* Records a status change (jobs row + history) in one transaction. completed_ms set for terminal states. */
int trainer_set_status(struct trainer *t, struct db_conn *c, const char *id, const char *status, const char *code,
		       const char *message, struct weft_err *e);
/* Data-store resolution: where DATA_DIR is and where results go. */
struct job_paths {
	char *job_dir;        /* <home>/jobs/ID */
	char *data_dir;       /* the training data bucket dir */
	char *results_dir;    /* <results bucket>/ID: where results are stored at the end */
	char *result_dir;     /* RESULT_DIR for the learners: <job_dir>/results */
	char *checkpoint_dir; /* <job_dir>/checkpoints */
};
int trainer_job_paths(struct trainer *t, const char *id, const struct manifest *m, struct job_paths *jp,
		      struct weft_err *e);
void job_paths_free(struct job_paths *jp);

#endif

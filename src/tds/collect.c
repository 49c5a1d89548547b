/* collect.c - one collector per running job, chosen by the manifest's
 * evaluation_metrics.type (FfDL's names): every type stores the learners'
 * log lines; `auto` (the default) and `regex_extractor` also turn lines into
 * metric records; `tensorboard` follows event files under `in`;
 * `emetrics_file` follows each learner's evaluation-metrics.txt. File
 * sources keep their offsets in em_sources, committed with their records,
 * so a restarted server continues each file where the last commit ended. */
#include "tds/collect.h"
#include "api/metrics.h"
#include "tds/emfile.h"
#include "tds/emstore.h"
#include "tds/regex.h"
#include "tds/tfevents.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/timeutil.h"
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define FILE_CHUNK (4 * 1024 * 1024) /* bytes read from a metrics file per pass */
#define MAX_EMFILE_LINE (1024 * 1024)
#define PASS_BUDGET_MS 250 /* reading one job's logs per pass, unless final */

enum coll_kind { C_LOGGER, C_AUTO, C_REGEX, C_TENSORBOARD, C_EMFILE };

struct coll {
	char id[32];
	enum coll_kind kind;
	int learners;
	struct rx *rx;
	struct tds_lx *lx;   /* per learner, [0] = learner 1 */
	char *tb_dir;        /* C_TENSORBOARD: the directory followed */
	int warned;          /* file-source warnings already logged */
	struct coll *next;
};

static pthread_mutex_t colls_lock = PTHREAD_MUTEX_INITIALIZER;
static struct coll *colls;

int tds_collector_kind(const json_t *em, const char **name)
{
	const char *type = em ? json_string_value(json_object_get(em, "type")) : NULL;
	*name = type ? type : "auto";
	if (!type || !strcasecmp(type, "auto"))
		return C_AUTO;
	if (!strcasecmp(type, "regex_extractor"))
		return C_REGEX;
	if (!strcasecmp(type, "tensorboard") || !strcasecmp(type, "tensorboard_extractor"))
		return C_TENSORBOARD;
	if (!strcasecmp(type, "emetrics_file") || !strcasecmp(type, "file") || !strcasecmp(type, "optivist"))
		return C_EMFILE;
	return C_LOGGER; /* none, logger, null, nil */
}

/* `in` of a tensorboard collector: $JOB_STATE_DIR/... or a path relative to
 * the job directory; NULL (with a reason) if it would leave the job directory. */
char *tds_tensorboard_dir(const json_t *em, const char *job_dir, struct weft_err *e)
{
	const char *in = em ? json_string_value(json_object_get(em, "in")) : NULL;
	if (!in || !*in)
		return fs_join(job_dir, "logs/tb");
	const char *rel = in;
	static const char *const prefixes[] = { "$JOB_STATE_DIR", "${JOB_STATE_DIR}", "/job", NULL };
	for (int i = 0; prefixes[i]; i++) {
		size_t n = strlen(prefixes[i]);
		if (!strncmp(in, prefixes[i], n) && (in[n] == '/' || !in[n])) {
			rel = in + n;
			break;
		}
	}
	while (*rel == '/' && rel != in)
		rel++;
	if (*rel == '/' || strstr(rel, "..")) {
		err_set(e, WEFT_EINVAL,
			"evaluation_metrics.in: '%s' must be under the job directory ($JOB_STATE_DIR/..., or relative)",
			in);
		return NULL;
	}
	return *rel ? fs_join(job_dir, rel) : xstrdup(job_dir);
}

int tds_check_spec(const json_t *em, struct weft_err *e)
{
	const char *name;
	int kind = tds_collector_kind(em, &name);
	if (kind == C_REGEX) {
		struct rx *rx;
		if (rx_compile(em, &rx, e))
			return WEFT_EINVAL;
		rx_free(rx);
	} else if (kind == C_TENSORBOARD) {
		char *dir = tds_tensorboard_dir(em, "/job", e);
		if (!dir)
			return WEFT_EINVAL;
		free(dir);
	}
	return 0;
}

static struct coll *coll_new(const char *id, const json_t *em, int learners, const char *job_dir)
{
	struct coll *c = xcalloc(1, sizeof *c);
	snprintf(c->id, sizeof c->id, "%s", id);
	const char *name;
	c->kind = tds_collector_kind(em, &name);
	c->learners = learners;
	struct weft_err e;
	if (c->kind == C_REGEX && rx_compile(em, &c->rx, &e)) {
		log_warn("%s: evaluation_metrics: %s; collecting log lines only", id, e.msg);
		c->kind = C_LOGGER;
	}
	if (c->kind == C_TENSORBOARD && !(c->tb_dir = tds_tensorboard_dir(em, job_dir, &e))) {
		log_warn("%s: %s; collecting log lines only", id, e.msg);
		c->kind = C_LOGGER;
	}
	c->lx = xcalloc((size_t)learners, sizeof *c->lx);
	for (int i = 0; i < learners; i++) {
		c->lx[i].kind = c->kind == C_AUTO ? LX_AUTO : c->kind == C_REGEX ? LX_REGEX : LX_NONE;
		if (c->kind == C_REGEX)
			c->lx[i].win = rx_window_new(c->rx);
		c->lx[i].iter = -1;
		c->lx[i].epoch = -1;
	}
	log_debug("%s: collector %s", id, name);
	return c;
}

static void coll_free(struct coll *c)
{
	for (int i = 0; i < c->learners; i++)
		if (c->lx[i].win)
			rx_window_free(c->lx[i].win);
	free(c->lx);
	if (c->rx)
		rx_free(c->rx);
	free(c->tb_dir);
	free(c);
}

/* --- file sources: tensorboard event files and emetrics files --- */

struct file_src {
	struct trainer *t;
	struct db_conn *c;
	struct coll *col;
	const char *job_dir;
	int final;
	int learner;
	int64_t added;
};

static int emfile_chunk(struct coll *col, const unsigned char *buf, size_t len, int at_eof, struct em_writer *w,
			size_t *consumed, const char *path)
{
	size_t start = 0;
	*consumed = 0;
	for (size_t i = 0; i <= len; i++) {
		int at_end = i == len;
		if (!at_end && buf[i] != '\n' && i - start < MAX_EMFILE_LINE)
			continue;
		if (at_end && (!at_eof || i == start))
			break;
		struct weft_err e;
		int r = emfile_parse_line((const char *)buf + start, i - start, emw_add, w, &e);
		if (r && r != WEFT_EINVAL)
			return r;
		if (r && col->warned < 20) {
			col->warned++;
			log_warn("%s: %s: line skipped: %s", col->id, path, e.msg);
		}
		start = at_end ? i : i + 1;
		*consumed = start;
	}
	return 0;
}

/* Reads what is new in one file source and stores its records with its offset. */
static int follow_file(struct file_src *fs, const char *path, const char *group, int is_tb)
{
	struct db_conn *c = fs->c;
	struct coll *col = fs->col;
	char key[4096];
	const char *rel = path;
	size_t jl = strlen(fs->job_dir);
	if (!strncmp(path, fs->job_dir, jl) && path[jl] == '/')
		rel = path + jl + 1;
	snprintf(key, sizeof key, "%s", rel);
	sqlite3_stmt *q = db_stmt(c, "SELECT offset, state FROM em_sources WHERE job_id=? AND path=?");
	sqlite3_bind_text(q, 1, col->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, key, -1, SQLITE_STATIC);
	int64_t offset = 0;
	int broken = 0;
	if (sqlite3_step(q) == SQLITE_ROW) {
		offset = sqlite3_column_int64(q, 0);
		broken = !strcmp((const char *)sqlite3_column_text(q, 1), "broken");
	}
	sqlite3_reset(q);
	if (broken)
		return 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return 0;
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size <= offset) {
		close(fd);
		return 0;
	}
	size_t want = (size_t)(st.st_size - offset);
	if (want > FILE_CHUNK)
		want = FILE_CHUNK;
	unsigned char *buf = xmalloc(want);
	ssize_t got = pread(fd, buf, want, offset);
	if (is_tb && got > 0) {
		/* a record larger than a chunk (a model's graph, an image): read all of it */
		size_t need = tfe_record_size(buf, (size_t)got);
		if (need > (size_t)got && offset + (int64_t)need <= st.st_size) {
			buf = xrealloc(buf, need);
			got = pread(fd, buf, need, offset);
		}
	}
	close(fd);
	if (got <= 0) {
		free(buf);
		return 0;
	}
	struct weft_err e;
	if (db_begin(c)) {
		free(buf);
		log_error("%s: %s", col->id, sqlite3_errmsg(db_handle(c)));
		return WEFT_EIO;
	}
	struct em_writer w;
	int rc = emw_begin(&w, c, col->id, &e);
	size_t consumed = 0;
	const char *state = "";
	if (!rc) {
		w.learner = fs->learner;
		w.subid = is_tb ? group : NULL;
		if (is_tb) {
			struct tfe_stats ts = { 0 };
			rc = tfe_parse_at(buf, (size_t)got, (uint64_t)offset, group, &consumed, emw_add, &w, &ts, &e);
			if (rc == WEFT_EINVAL) { /* framing lost: nothing after this point can be trusted */
				log_warn("%s: %s: %s; no more records are read from this file", col->id, path, e.msg);
				state = "broken";
				rc = 0;
			}
			if (ts.corrupt && col->warned < 20) {
				col->warned++;
				log_warn("%s: %s: %lld corrupt record(s) skipped", col->id, path, (long long)ts.corrupt);
			}
		} else {
			int eof = fs->final && offset + got == st.st_size;
			rc = emfile_chunk(col, buf, (size_t)got, eof, &w, &consumed, path);
		}
	}
	free(buf);
	int64_t added = w.added;
	if (!rc && (consumed || *state)) {
		q = db_stmt(c, "INSERT OR REPLACE INTO em_sources(job_id, path, offset, state) VALUES(?,?,?,?)");
		sqlite3_bind_text(q, 1, col->id, -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 2, key, -1, SQLITE_STATIC);
		sqlite3_bind_int64(q, 3, offset + (int64_t)consumed);
		sqlite3_bind_text(q, 4, state, -1, SQLITE_STATIC);
		if (sqlite3_step(q) != SQLITE_DONE)
			rc = db_error(c, &e, "storing a metrics file offset");
		sqlite3_reset(q);
	}
	if (emw_finish(&w, rc == 0, &e) && !rc)
		rc = WEFT_EIO;
	if (!rc && db_commit(c))
		rc = db_error(c, &e, "committing metric records");
	if (rc) {
		db_rollback(c);
		log_error("%s: %s: %s", col->id, path, e.msg);
		return rc;
	}
	fs->added += added;
	if (added) {
		metrics_add("weft_metric_records_ingested_total", added, NULL);
		trainer_notify_logs(fs->t);
	}
	/* more to read: the caller loops while a pass makes progress */
	return consumed > 0 && offset + (int64_t)consumed < st.st_size ? 1 : 0;
}

static int tb_found(void *ctx, const char *path, const char *group)
{
	struct file_src *fs = ctx;
	int more;
	do
		more = follow_file(fs, path, group, 1);
	while (more == 1 && fs->final);
	return 0;
}

/* --- the per-pass entry point --- */

void tds_collect(struct trainer *t, const char *id, const char *job_dir, int learners, const json_t *em,
		 int final)
{
	pthread_mutex_lock(&colls_lock);
	struct coll *col = colls;
	while (col && strcmp(col->id, id))
		col = col->next;
	if (col && col->learners != learners) { /* cannot happen for one job; be safe */
		struct coll **pp = &colls;
		while (*pp != col)
			pp = &(*pp)->next;
		*pp = col->next;
		coll_free(col);
		col = NULL;
	}
	if (!col) {
		col = coll_new(id, em, learners, job_dir);
		col->next = colls;
		colls = col;
	}
	pthread_mutex_unlock(&colls_lock);

	struct db_conn *c = db_acquire(t->db);
	/* a fast logger is read in several chunks per pass, within a time budget
	 * so that one job cannot hold up the lifecycle manager's other work */
	int64_t until = now_ms() + PASS_BUDGET_MS;
	for (int n = 1; n <= learners; n++) {
		char name[64];
		snprintf(name, sizeof name, "learner-%d/logs/training-log.txt", n);
		char *path = fs_join(job_dir, name);
		int added;
		struct weft_err e;
		do {
			if (tds_ingest(t, c, id, n, path, final, &col->lx[n - 1], &added, &e)) {
				log_error("%s: log collection: %s", id, e.msg);
				break;
			}
		} while (added > 0 && (final || now_ms() < until));
		free(path);
	}
	struct file_src fs = { .t = t, .c = c, .col = col, .job_dir = job_dir, .final = final };
	if (col->kind == C_EMFILE) {
		for (int n = 1; n <= learners; n++) {
			char name[64];
			snprintf(name, sizeof name, "learner-%d/logs/evaluation-metrics.txt", n);
			char *path = fs_join(job_dir, name);
			fs.learner = n;
			int more;
			do
				more = follow_file(&fs, path, NULL, 0);
			while (more == 1 && (final || now_ms() < until));
			free(path);
		}
	} else if (col->kind == C_TENSORBOARD) {
		struct weft_err e;
		if (tfe_find(col->tb_dir, tb_found, &fs, &e) && col->warned < 20) {
			col->warned++;
			log_warn("%s: tensorboard: %s", id, e.msg);
		}
	}
	db_release(t->db, c);
}

void tds_collect_forget(const char *id)
{
	pthread_mutex_lock(&colls_lock);
	for (struct coll **pp = &colls; *pp; pp = &(*pp)->next)
		if (!strcmp((*pp)->id, id)) {
			struct coll *c = *pp;
			*pp = c->next;
			coll_free(c);
			break;
		}
	pthread_mutex_unlock(&colls_lock);
}

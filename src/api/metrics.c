/* metrics.c - a small Prometheus registry: counters, gauges and fixed-bucket
 * histograms with labels, rendered in the text exposition format 0.0.4.
 * The metric families are a static table (so every metric has HELP and TYPE
 * lines even before its first sample); series are created on first use.
 * Locking: reg_lock guards every family's series list and all their values. */
#include "api/metrics.h"
#include "trainer/trainer.h"
#include "exec/usage.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/mem.h"
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SERIES 500  /* per family: a user-chosen label value cannot grow memory for ever */
#define MAX_BUCKETS 16

enum metric_type { M_COUNTER, M_GAUGE, M_HISTOGRAM };

struct series {
	struct series *next;
	char *labels;            /* rendered and escaped: a="x",b="y" (may be "") */
	double value;            /* counter, gauge */
	double sum;              /* histogram */
	uint64_t count;
	uint64_t buckets[MAX_BUCKETS]; /* observations <= le[i] but > le[i-1] */
};

struct family {
	const char *name;
	enum metric_type type;
	const char *help;
	const double *le;        /* histogram upper bounds, ascending (without +Inf) */
	int n_le;
	int unlabeled;           /* exported as 0 before the first update */
	struct series *series;   /* sorted by labels */
	int n_series;
	int overflow_warned;
};

static const double http_le[] = { 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10 };
#define N_HTTP_LE ((int)(sizeof http_le / sizeof http_le[0]))
static const double batch_le[] = { 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096 };
#define N_BATCH_LE ((int)(sizeof batch_le / sizeof batch_le[0]))

/* Every metric weft exports (docs/api.md lists them too). */
static struct family families[] = {
	{ "trainer_trainings_create_total", M_COUNTER, "Training jobs created (accepted by POST /v1/models), by framework.", NULL, 0, 0, NULL, 0, 0 },
	{ "trainer_trainings_success_total", M_COUNTER, "Training jobs that ended COMPLETED.", NULL, 0, 1, NULL, 0, 0 },
	{ "trainer_trainings_failed_total", M_COUNTER, "Training jobs that ended FAILED, by FfDL error code.", NULL, 0, 0, NULL, 0, 0 },
	{ "trainer_trainings_halt_total", M_COUNTER, "Halt requests accepted.", NULL, 0, 1, NULL, 0, 0 },
	{ "trainer_trainings_delete_total", M_COUNTER, "Delete requests accepted.", NULL, 0, 1, NULL, 0, 0 },
	{ "lcm_trainings_total", M_COUNTER, "Training jobs started by the lifecycle manager (each start or resume), by framework.", NULL, 0, 0, NULL, 0, 0 },
	{ "trainer_queue_size", M_GAUGE, "Training jobs waiting to start (PENDING or QUEUED).", NULL, 0, 1, NULL, 0, 0 },
	{ "weft_jobs", M_GAUGE, "Training jobs not deleted, by status.", NULL, 0, 0, NULL, 0, 0 },
	{ "weft_log_lines_ingested_total", M_COUNTER, "Learner log lines stored by the log collector.", NULL, 0, 1, NULL, 0, 0 },
	{ "weft_metric_records_ingested_total", M_COUNTER, "Evaluation-metric records stored (from collectors and POST /v1/logs/{id}/emetrics).", NULL, 0, 1, NULL, 0, 0 },
	{ "weft_serve_requests_total", M_COUNTER, "Prediction requests answered, by deployment, predictor and HTTP status.", NULL, 0, 0, NULL, 0, 0 },
	{ "weft_serve_shadow_requests_total", M_COUNTER, "Copies of requests sent to shadow predictors, by deployment, predictor and status.", NULL, 0, 0, NULL, 0, 0 },
	{ "weft_serve_request_duration_seconds", M_HISTOGRAM, "Prediction latency (request parsed to answer ready), by deployment and predictor.", http_le, N_HTTP_LE, 0, NULL, 0, 0 },
	{ "weft_serve_batch_size", M_HISTOGRAM, "Rows per model run of the native runtime's micro-batches (of more than one request).", batch_le, N_BATCH_LE, 0, NULL, 0, 0 },
	{ "weft_http_request_duration_seconds", M_HISTOGRAM, "HTTP request latency (first callback to completion), by route name and status code.", http_le, N_HTTP_LE, 0, NULL, 0, 0 },
};
#define N_FAMILIES ((int)(sizeof families / sizeof families[0]))

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;

static struct family *family_get(const char *name)
{
	for (int i = 0; i < N_FAMILIES; i++)
		if (!strcmp(families[i].name, name))
			return &families[i];
	static int warned;
	if (!__atomic_exchange_n(&warned, 1, __ATOMIC_RELAXED))
		log_warn("metrics: no metric named '%s' is declared (first unknown name; others not logged)", name);
	return NULL;
}

/* Label value escaping per the exposition format: \ " and newline. */
static void add_escaped(struct sbuf *sb, const char *s, int quote)
{
	for (; *s; s++) {
		if (*s == '\\')
			sb_adds(sb, "\\\\");
		else if (*s == '\n')
			sb_adds(sb, "\\n");
		else if (*s == '"' && quote)
			sb_adds(sb, "\\\"");
		else
			sb_addc(sb, *s);
	}
}

static void render_labels(struct sbuf *sb, va_list ap)
{
	const char *k;
	while ((k = va_arg(ap, const char *))) {
		const char *v = va_arg(ap, const char *);
		if (sb->len)
			sb_addc(sb, ',');
		sb_adds(sb, k);
		sb_adds(sb, "=\"");
		add_escaped(sb, v ? v : "", 1);
		sb_addc(sb, '"');
	}
	if (!sb->buf)
		sb_add(sb, "", 0);
}

/* The series for labels, created if new; NULL when the family is full. Under reg_lock. */
static struct series *series_get(struct family *f, const char *labels)
{
	struct series **pp = &f->series;
	for (; *pp; pp = &(*pp)->next) {
		int c = strcmp((*pp)->labels, labels);
		if (c == 0)
			return *pp;
		if (c > 0)
			break;
	}
	if (f->n_series >= MAX_SERIES) {
		if (!f->overflow_warned)
			log_warn("metrics: %s has %d label sets; new ones are not recorded", f->name, MAX_SERIES);
		f->overflow_warned = 1;
		return NULL;
	}
	struct series *s = xcalloc(1, sizeof *s);
	s->labels = xstrdup(labels);
	s->next = *pp;
	*pp = s;
	f->n_series++;
	return s;
}

enum op { OP_ADD, OP_SET, OP_OBSERVE };

static void update(const char *name, enum op op, double v, va_list ap)
{
	struct family *f = family_get(name);
	if (!f)
		return;
	if ((op == OP_OBSERVE) != (f->type == M_HISTOGRAM) || (op == OP_SET && f->type != M_GAUGE))
		return; /* the wrong call for this metric's type: a programming error, harmless */
	if (f->type == M_COUNTER && !(v >= 0))
		return;
	struct sbuf labels = SBUF_INIT;
	render_labels(&labels, ap);
	pthread_mutex_lock(&reg_lock);
	struct series *s = series_get(f, labels.buf);
	if (s) {
		if (op == OP_ADD)
			s->value += v;
		else if (op == OP_SET)
			s->value = v;
		else {
			int i = 0;
			while (i < f->n_le && !(v <= f->le[i]))
				i++;
			if (i < f->n_le)
				s->buckets[i]++;
			s->count++;
			s->sum += v;
		}
	}
	pthread_mutex_unlock(&reg_lock);
	sb_release(&labels);
}

void metrics_add(const char *name, double v, ...)
{
	va_list ap;
	va_start(ap, v);
	update(name, OP_ADD, v, ap);
	va_end(ap);
}

void metrics_set(const char *name, double v, ...)
{
	va_list ap;
	va_start(ap, v);
	update(name, OP_SET, v, ap);
	va_end(ap);
}

void metrics_observe(const char *name, double v, ...)
{
	va_list ap;
	va_start(ap, v);
	update(name, OP_OBSERVE, v, ap);
	va_end(ap);
}

static void add_number(struct sbuf *sb, double v)
{
	if (isnan(v))
		sb_adds(sb, "NaN");
	else if (isinf(v))
		sb_adds(sb, v > 0 ? "+Inf" : "-Inf");
	else if (v == floor(v) && fabs(v) < 1e15)
		sb_addf(sb, "%.0f", v);
	else
		sb_addf(sb, "%.17g", v);
}

/* name{labels[,extra]} value */
static void sample(struct sbuf *sb, const char *name, const char *suffix, const char *labels, const char *extra,
		   double v)
{
	sb_adds(sb, name);
	sb_adds(sb, suffix);
	if (*labels || extra) {
		sb_addc(sb, '{');
		sb_adds(sb, labels);
		if (extra) {
			if (*labels)
				sb_addc(sb, ',');
			sb_adds(sb, extra);
		}
		sb_addc(sb, '}');
	}
	sb_addc(sb, ' ');
	add_number(sb, v);
	sb_addc(sb, '\n');
}

void metrics_render(struct sbuf *out)
{
	static const char *type_names[] = { "counter", "gauge", "histogram" };
	pthread_mutex_lock(&reg_lock);
	for (int i = 0; i < N_FAMILIES; i++) {
		struct family *f = &families[i];
		sb_addf(out, "# HELP %s ", f->name);
		add_escaped(out, f->help, 0);
		sb_addf(out, "\n# TYPE %s %s\n", f->name, type_names[f->type]);
		if (!f->series && f->unlabeled)
			sample(out, f->name, "", "", NULL, 0);
		for (struct series *s = f->series; s; s = s->next) {
			if (f->type != M_HISTOGRAM) {
				sample(out, f->name, "", s->labels, NULL, s->value);
				continue;
			}
			uint64_t cum = 0;
			for (int b = 0; b < f->n_le; b++) {
				cum += s->buckets[b];
				struct sbuf le = SBUF_INIT;
				sb_adds(&le, "le=\"");
				add_number(&le, f->le[b]);
				sb_addc(&le, '"');
				sample(out, f->name, "_bucket", s->labels, le.buf, (double)cum);
				sb_release(&le);
			}
			sample(out, f->name, "_bucket", s->labels, "le=\"+Inf\"", (double)s->count);
			sample(out, f->name, "_sum", s->labels, NULL, s->sum);
			sample(out, f->name, "_count", s->labels, NULL, (double)s->count);
		}
	}
	pthread_mutex_unlock(&reg_lock);
}

/* Each running learner's CPU and memory, measured now (the series come and
 * go with the learners, so they are written here rather than kept in the
 * registry). */
static void learner_usage(struct trainer *t, struct sbuf *out)
{
	sb_adds(out, "# HELP weft_learner_cpu_seconds_total CPU time (user+system) used by a running learner.\n"
		     "# TYPE weft_learner_cpu_seconds_total counter\n");
	struct sbuf mem = SBUF_INIT;
	sb_adds(&mem, "# HELP weft_learner_memory_bytes Memory in use by a running learner (its cgroup's working set, "
		      "or the resident memory of its processes).\n# TYPE weft_learner_memory_bytes gauge\n");
	struct db_conn *c = db_acquire(t->db);
	sqlite3_stmt *st = db_stmt(c, "SELECT id, json_extract(spec, '$.learners') FROM jobs "
				      "WHERE deleted=0 AND status='PROCESSING' ORDER BY id");
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *id = (const char *)sqlite3_column_text(st, 0);
		int learners = sqlite3_column_int(st, 1);
		for (int n = 1; id && n <= learners && n <= 256; n++) {
			char name[96];
			snprintf(name, sizeof name, "%s/learner-%d", id, n);
			char *dir = fs_join(t->jobs_root, name);
			struct exec_usage u;
			struct weft_err e;
			int rc = exec_learner_usage(dir, &u, &e);
			free(dir);
			if (rc) {
				if (rc != WEFT_ENOTFOUND)
					log_debug("metrics: %s learner %d: %s", id, n, e.msg);
				continue;
			}
			sb_addf(out, "weft_learner_cpu_seconds_total{training_id=\"%s\",learner=\"%d\"} ", id, n);
			add_number(out, u.cpu_seconds);
			sb_addc(out, '\n');
			sb_addf(&mem, "weft_learner_memory_bytes{training_id=\"%s\",learner=\"%d\"} %llu\n", id, n,
				(unsigned long long)u.memory_bytes);
		}
	}
	sqlite3_reset(st);
	db_release(t->db, c);
	sb_add(out, mem.buf, mem.len);
	sb_release(&mem);
}

int metrics_scrape(struct trainer *t, struct sbuf *out, struct weft_err *e)
{
	static const char *statuses[] = { ST_PENDING, ST_QUEUED, ST_DOWNLOADING, ST_PROCESSING,
					  ST_STORING, ST_COMPLETED, ST_FAILED, ST_HALTED };
	enum { N_ST = sizeof statuses / sizeof statuses[0] };
	int64_t counts[N_ST] = { 0 };
	struct db_conn *c = db_acquire(t->db);
	sqlite3_stmt *st = db_stmt(c, "SELECT status, count(*) FROM jobs WHERE deleted=0 GROUP BY status");
	int rc, ret = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *s = (const char *)sqlite3_column_text(st, 0);
		for (int i = 0; s && i < N_ST; i++)
			if (!strcmp(s, statuses[i]))
				counts[i] = sqlite3_column_int64(st, 1);
	}
	if (rc != SQLITE_DONE)
		ret = db_error(c, e, "counting jobs by status");
	sqlite3_reset(st);
	db_release(t->db, c);
	if (ret)
		return ret;
	/* two scrapes at once both write the same fresh values: harmless */
	for (int i = 0; i < N_ST; i++)
		metrics_set("weft_jobs", (double)counts[i], "status", statuses[i], NULL);
	metrics_set("trainer_queue_size", (double)(counts[0] + counts[1]), NULL);
	metrics_render(out);
	learner_usage(t, out);
	return 0;
}

void metrics_reset(void)
{
	pthread_mutex_lock(&reg_lock);
	for (int i = 0; i < N_FAMILIES; i++) {
		struct family *f = &families[i];
		while (f->series) {
			struct series *s = f->series;
			f->series = s->next;
			free(s->labels);
			free(s);
		}
		f->n_series = 0;
		f->overflow_warned = 0;
	}
	pthread_mutex_unlock(&reg_lock);
}

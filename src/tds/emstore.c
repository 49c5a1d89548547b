/* emstore.c - evaluation-metrics storage and queries. A record is one row of
 * `emetrics` keyed (job key << 36) | rindex, with its etimes and values kept
 * as FfDL-shaped JSON text. Each numeric value also updates its metric's row
 * in `metric_series` (count, last, min, max and a history of at most
 * EM_HIST_MAX points that halves its resolution when full), in the same
 * transaction, so GET /v1/models/{id}/metrics reads a few rows however many
 * records a job has. */
#include "tds/emstore.h"
#include "api/metrics.h"
#include "tds/emfile.h"
#include "util/mem.h"
#include "util/timeutil.h"
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct pt {
	int64_t it;
	double v;
	int64_t t;
};

struct em_series {
	char *grp, *name;
	int exists;                /* has a row already */
	int64_t seq, count, stride;
	struct pt last, min, max;
	struct pt *hist;
	int nhist;
};

/* --- stored form of etimes and values ---
 * Compact, not JSON: each entry is key US type-digit value RS (US = 0x1f,
 * RS = 0x1e); those two bytes and the escape byte 0x1d inside a key or value
 * are written as 0x1d followed by the byte xor 0x40. Less than half the size
 * of FfDL's JSON shape, which is rebuilt when records are read. */
#define KV_US '\x1f'
#define KV_RS '\x1e'
#define KV_ESC '\x1d'

static void add_escaped(struct sbuf *sb, const char *s)
{
	const char *run = s;
	for (; *s; s++) {
		if (*s != KV_US && *s != KV_RS && *s != KV_ESC)
			continue;
		sb_add(sb, run, (size_t)(s - run));
		sb_addc(sb, KV_ESC);
		sb_addc(sb, (char)(*s ^ 0x40));
		run = s + 1;
	}
	sb_add(sb, run, (size_t)(s - run));
}

static void add_kvs(struct sbuf *sb, const struct em_kv *kv, int n)
{
	sb_reset(sb);
	for (int i = 0; i < n; i++) {
		add_escaped(sb, kv[i].key);
		sb_addc(sb, KV_US);
		sb_addc(sb, (char)('0' + (kv[i].type & 3)));
		add_escaped(sb, kv[i].value ? kv[i].value : "");
		sb_addc(sb, KV_RS);
	}
}

/* Reads one escaped field ending at stop; returns the position after it. */
static const char *get_field(const char *p, const char *e, char stop, struct sbuf *out)
{
	sb_reset(out);
	while (p < e && *p != stop) {
		if (*p == KV_ESC && p + 1 < e) {
			sb_addc(out, (char)(p[1] ^ 0x40));
			p += 2;
		} else {
			sb_addc(out, *p++);
		}
	}
	return p < e ? p + 1 : e;
}

/* The stored form back to FfDL's {key: {type, value}}. */
static json_t *kvs_json(const char *p, size_t len)
{
	json_t *obj = json_object();
	const char *e = p + len;
	struct sbuf key = SBUF_INIT, val = SBUF_INIT;
	while (p < e) {
		p = get_field(p, e, KV_US, &key);
		int type = p < e ? (*p++ - '0') & 3 : EM_STRING;
		p = get_field(p, e, KV_RS, &val);
		json_object_set_new(obj, sb_str(&key),
				    json_pack("{s:s, s:s%}", "type", em_type_name(type), "value", sb_str(&val),
					      val.len));
	}
	sb_release(&key);
	sb_release(&val);
	return obj;
}

/* A numeric value as a finite double; -1 if it is not one. */
static int num_value(const struct em_kv *kv, double *v)
{
	if (kv->type != EM_INT && kv->type != EM_FLOAT)
		return -1;

	if (!kv->value || !*kv->value)
		return -1;
	char *end;
	errno = 0;
	double d = strtod(kv->value, &end);
	if (end == kv->value || *end || !isfinite(d))
		return -1;
	*v = d;
	return 0;
}

/* --- history blobs: little-endian (it, v, t) triples --- */

static void put64(unsigned char *p, uint64_t x)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(x >> (8 * i));
}

static uint64_t get64(const unsigned char *p)
{
	uint64_t x = 0;
	for (int i = 0; i < 8; i++)
		x |= (uint64_t)p[i] << (8 * i);
	return x;
}

static unsigned char *hist_encode(const struct pt *h, int n, size_t *len)
{
	*len = (size_t)n * 24;
	unsigned char *b = xmalloc(*len ? *len : 1);
	for (int i = 0; i < n; i++) {
		uint64_t vb;
		memcpy(&vb, &h[i].v, 8);
		put64(b + 24 * i, (uint64_t)h[i].it);
		put64(b + 24 * i + 8, vb);
		put64(b + 24 * i + 16, (uint64_t)h[i].t);
	}
	return b;
}

static int hist_decode(const unsigned char *b, size_t len, struct pt **out)
{
	int n = (int)(len / 24);
	if (n > EM_HIST_MAX + 1)
		n = EM_HIST_MAX + 1;
	struct pt *h = xcalloc((size_t)EM_HIST_MAX + 2, sizeof *h);
	for (int i = 0; i < n; i++) {
		uint64_t vb = get64(b + 24 * i + 8);
		h[i].it = (int64_t)get64(b + 24 * i);
		memcpy(&h[i].v, &vb, 8);
		h[i].t = (int64_t)get64(b + 24 * i + 16);
	}
	*out = h;
	return n;
}

/* --- writer --- */

int emw_begin(struct em_writer *w, struct db_conn *c, const char *id, struct weft_err *e)
{
	memset(w, 0, sizeof *w);
	w->c = c;
	w->id = id;
	w->now = now_ms();
	sqlite3_stmt *q = db_stmt(c, "SELECT key, em_count FROM jobs WHERE id=?");
	sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
	int rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		w->key = sqlite3_column_int64(q, 0);
		w->rindex = sqlite3_column_int64(q, 1);
	}
	sqlite3_reset(q);
	if (rc != SQLITE_ROW)
		return rc == SQLITE_DONE ? err_set(e, WEFT_ENOTFOUND, "no training job %s", id)
					 : db_error(c, e, "reading the job's metric count");
	return 0;
}

static struct em_series *series_get(struct em_writer *w, const char *grp, const char *name, int index)
{
	for (int i = 0; i < w->n_series; i++)
		if (!strcmp(w->series[i].grp, grp) && !strcmp(w->series[i].name, name))
			return &w->series[i];
	if (w->n_series == w->cap_series) {
		w->cap_series = w->cap_series ? 2 * w->cap_series : 16;
		w->series = xrealloc(w->series, (size_t)w->cap_series * sizeof *w->series);
	}
	struct em_series *s = &w->series[w->n_series++];
	memset(s, 0, sizeof *s);
	s->grp = xstrdup(grp);
	s->name = xstrdup(name);
	s->stride = 1;
	sqlite3_stmt *q = db_stmt(w->c, "SELECT seq, count, last_v, last_it, last_t, min_v, min_it, min_t, max_v, "
					"max_it, max_t, stride, hist FROM metric_series WHERE job_id=? AND grp=? "
					"AND name=?");
	sqlite3_bind_text(q, 1, w->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, grp, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 3, name, -1, SQLITE_STATIC);
	if (sqlite3_step(q) == SQLITE_ROW) {
		s->exists = 1;
		s->seq = sqlite3_column_int64(q, 0);
		s->count = sqlite3_column_int64(q, 1);
		struct pt *p[3] = { &s->last, &s->min, &s->max };
		for (int k = 0; k < 3; k++) {
			p[k]->v = sqlite3_column_double(q, 2 + 3 * k);
			p[k]->it = sqlite3_column_int64(q, 3 + 3 * k);
			p[k]->t = sqlite3_column_int64(q, 4 + 3 * k);
		}
		s->stride = sqlite3_column_int64(q, 11);
		if (s->stride < 1)
			s->stride = 1;
		s->nhist = hist_decode(sqlite3_column_blob(q, 12), (size_t)sqlite3_column_bytes(q, 12), &s->hist);
	} else {
		s->seq = w->rindex * EM_MAX_VALUES + index; /* order of first appearance */
		s->hist = xcalloc((size_t)EM_HIST_MAX + 2, sizeof *s->hist);
	}
	sqlite3_reset(q);
	return s;
}

static void series_add(struct em_series *s, struct pt p)
{
	if (s->count == 0) {
		s->min = s->max = p;
	} else {
		if (p.v < s->min.v)
			s->min = p;
		if (p.v > s->max.v)
			s->max = p;
	}
	s->last = p;
	if (s->count % s->stride == 0) {
		s->hist[s->nhist++] = p;
		if (s->nhist > EM_HIST_MAX) { /* keep every other point: sample indices 0, 2s, 4s, ... */
			int k = 0;
			for (int i = 0; i < s->nhist; i += 2)
				s->hist[k++] = s->hist[i];
			s->nhist = k;
			s->stride *= 2;
		}
	}
	s->count++;
}

/* The x value of a record: etimes iteration, step or epoch, else its rindex. */
static int64_t record_x(const struct em_rec *r, int64_t rindex)
{
	static const char *const names[] = { "iteration", "step", "epoch" };
	for (int k = 0; k < 3; k++)
		for (int i = 0; i < r->n_etimes; i++) {
			if (strcmp(r->etimes[i].key, names[k]))
				continue;
			double d;
			struct em_kv kv = r->etimes[i];
			kv.type = EM_FLOAT; /* "100" and "100.0" both count */
			if (num_value(&kv, &d) == 0 && fabs(d) < 9e18)
				return (int64_t)d;
		}
	return rindex;
}

int emw_add(void *ctx, const struct em_rec *r)
{
	struct em_writer *w = ctx;
	if (r->n_values <= 0)
		return 0;
	int64_t rindex = w->rindex + 1;
	int64_t t = r->time_ms > 0 ? r->time_ms : w->now;
	char subid[32];
	if (w->learner > 0)
		snprintf(subid, sizeof subid, "learner-%d", w->learner);
	else
		snprintf(subid, sizeof subid, "api");
	const char *sid = r->subid ? r->subid : w->subid ? w->subid : subid;
	if (!strcmp(sid, subid))
		sid = ""; /* the default is not stored: it follows from the learner */
	add_kvs(&w->et, r->etimes, r->n_etimes);
	add_kvs(&w->va, r->values, r->n_values);
	sqlite3_stmt *ins = db_stmt(w->c, "INSERT INTO emetrics(id, learner, time_ms, grp, subid, etimes, vals) "
					  "VALUES(?,?,?,?,?,?,?)");
	sqlite3_bind_int64(ins, 1, (w->key << 36) | rindex);
	sqlite3_bind_int(ins, 2, w->learner);
	sqlite3_bind_int64(ins, 3, t);
	sqlite3_bind_text(ins, 4, r->group, -1, SQLITE_STATIC);
	sqlite3_bind_text(ins, 5, sid, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(ins, 6, sb_str(&w->et), (int)w->et.len, SQLITE_STATIC);
	sqlite3_bind_text(ins, 7, sb_str(&w->va), (int)w->va.len, SQLITE_STATIC);
	int ok = sqlite3_step(ins) == SQLITE_DONE;
	sqlite3_reset(ins);
	if (!ok)
		return WEFT_EIO;
	w->rindex = rindex;
	w->added++;
	int64_t x = record_x(r, rindex);
	for (int i = 0; i < r->n_values; i++) {
		double v;
		if (num_value(&r->values[i], &v))
			continue;
		series_add(series_get(w, r->group, r->values[i].key, i), (struct pt){ x, v, t });
	}
	return 0;
}

static int series_store(struct em_writer *w, struct em_series *s)
{
	size_t len;
	unsigned char *blob = hist_encode(s->hist, s->nhist, &len);
	sqlite3_stmt *q = db_stmt(w->c, "INSERT OR REPLACE INTO metric_series(job_id, grp, name, seq, count, last_v, "
					"last_it, last_t, min_v, min_it, min_t, max_v, max_it, max_t, stride, hist) "
					"VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
	sqlite3_bind_text(q, 1, w->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, s->grp, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 3, s->name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 4, s->seq);
	sqlite3_bind_int64(q, 5, s->count);
	const struct pt *p[3] = { &s->last, &s->min, &s->max };
	for (int k = 0; k < 3; k++) {
		sqlite3_bind_double(q, 6 + 3 * k, p[k]->v);
		sqlite3_bind_int64(q, 7 + 3 * k, p[k]->it);
		sqlite3_bind_int64(q, 8 + 3 * k, p[k]->t);
	}
	sqlite3_bind_int64(q, 15, s->stride);
	sqlite3_bind_blob(q, 16, blob, (int)len, SQLITE_STATIC);
	int ok = sqlite3_step(q) == SQLITE_DONE;
	sqlite3_reset(q);
	free(blob);
	return ok ? 0 : WEFT_EIO;
}

int emw_finish(struct em_writer *w, int ok, struct weft_err *e)
{
	int rc = 0;
	if (ok && w->added) {
		for (int i = 0; i < w->n_series && !rc; i++)
			if (series_store(w, &w->series[i]))
				rc = db_error(w->c, e, "storing a metric summary");
		sqlite3_stmt *q = db_stmt(w->c, "UPDATE jobs SET em_count=? WHERE id=?");
		sqlite3_bind_int64(q, 1, w->rindex);
		sqlite3_bind_text(q, 2, w->id, -1, SQLITE_STATIC);
		if (!rc && sqlite3_step(q) != SQLITE_DONE)
			rc = db_error(w->c, e, "counting metric records");
		sqlite3_reset(q);
	}
	for (int i = 0; i < w->n_series; i++) {
		free(w->series[i].grp);
		free(w->series[i].name);
		free(w->series[i].hist);
	}
	free(w->series);
	sb_release(&w->et);
	sb_release(&w->va);
	w->series = NULL;
	w->n_series = w->cap_series = 0;
	return rc;
}

/* --- queries --- */

static int64_t job_key(struct db_conn *c, const char *id, int64_t *count)
{
	sqlite3_stmt *s = db_stmt(c, "SELECT key, em_count FROM jobs WHERE id=?");
	sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
	int64_t key = -1;
	if (sqlite3_step(s) == SQLITE_ROW) {
		key = sqlite3_column_int64(s, 0);
		*count = sqlite3_column_int64(s, 1);
	}
	sqlite3_reset(s);
	return key;
}

int tds_emetrics(struct trainer *t, const char *id, const char *user, const struct tds_query *q, int64_t after,
		 json_t **out, struct weft_err *e)
{
	struct db_conn *c = db_acquire(t->db);
	int64_t count = 0, key = job_key(c, id, &count);
	if (key < 0) {
		db_release(t->db, c);
		return err_set(e, WEFT_ENOTFOUND, "no training job %s", id);
	}
	int64_t start = tds_start_rindex(q, count), min_time = 0;
	if (q->has_since && q->since_ms >= 0)
		min_time = q->since_ms;
	if (start < after + 1)
		start = after + 1;
	sqlite3_stmt *st = db_stmt(c, "SELECT id, learner, time_ms, grp, subid, etimes, vals FROM emetrics "
				      "WHERE id BETWEEN ?1 AND ?2 AND time_ms>=?3 AND (?4=0 OR learner=?4) "
				      "AND (?5='' OR grp=?5) ORDER BY id LIMIT ?6");
	sqlite3_bind_int64(st, 1, (key << 36) | start);
	sqlite3_bind_int64(st, 2, (key << 36) | ((INT64_C(1) << 36) - 1));
	sqlite3_bind_int64(st, 3, min_time);
	sqlite3_bind_int(st, 4, q->learner);
	sqlite3_bind_text(st, 5, q->group, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, q->pagesize);
	json_t *arr = json_array();
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t rindex = sqlite3_column_int64(st, 0) & ((INT64_C(1) << 36) - 1);
		const char *sid = (const char *)sqlite3_column_text(st, 4);
		char dflt[32];
		if (!sid || !*sid) {
			int l = sqlite3_column_int(st, 1);
			if (l > 0)
				snprintf(dflt, sizeof dflt, "learner-%d", l);
			else
				snprintf(dflt, sizeof dflt, "api");
			sid = dflt;
		}
		json_t *meta = json_pack("{s:s, s:s, s:I, s:I, s:s}", "training_id", id, "user_id", user, "time",
					 (json_int_t)sqlite3_column_int64(st, 2), "rindex", (json_int_t)rindex, "subid",
					 sid);
		json_t *et = kvs_json((const char *)sqlite3_column_text(st, 5), (size_t)sqlite3_column_bytes(st, 5));
		json_t *va = kvs_json((const char *)sqlite3_column_text(st, 6), (size_t)sqlite3_column_bytes(st, 6));
		json_array_append_new(arr, json_pack("{s:o, s:s, s:o, s:o}", "meta", meta, "grouplabel",
						     (const char *)sqlite3_column_text(st, 3), "etimes", et, "values",
						     va));
	}
	int ret = 0;
	if (rc != SQLITE_DONE)
		ret = db_error(c, e, "reading metric records");
	sqlite3_reset(st);
	db_release(t->db, c);
	if (ret) {
		json_decref(arr);
		return ret;
	}
	*out = arr;
	return 0;
}

static json_t *pt_json(const struct pt *p)
{
	return json_pack("{s:f, s:I, s:I}", "value", p->v, "iteration", (json_int_t)p->it, "time", (json_int_t)p->t);
}

int tds_model_metrics(struct trainer *t, const char *id, int points, json_t **out, struct weft_err *e)
{
	struct db_conn *c = db_acquire(t->db);
	sqlite3_stmt *st = db_stmt(c, "SELECT status, em_count FROM jobs WHERE id=?");
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_reset(st);
		db_release(t->db, c);
		return err_set(e, WEFT_ENOTFOUND, "no training job %s", id);
	}
	json_t *res = json_pack("{s:s, s:s, s:I}", "model_id", id, "status", (const char *)sqlite3_column_text(st, 0),
				"records", (json_int_t)sqlite3_column_int64(st, 1));
	sqlite3_reset(st);
	json_t *arr = json_array();
	st = db_stmt(c, "SELECT grp, name, count, last_v, last_it, last_t, min_v, min_it, min_t, max_v, max_it, max_t, "
			"hist FROM metric_series WHERE job_id=? ORDER BY grp, seq, name");
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct pt p[3];
		for (int k = 0; k < 3; k++) {
			p[k].v = sqlite3_column_double(st, 3 + 3 * k);
			p[k].it = sqlite3_column_int64(st, 4 + 3 * k);
			p[k].t = sqlite3_column_int64(st, 5 + 3 * k);
		}
		struct pt *h;
		int n = hist_decode(sqlite3_column_blob(st, 12), (size_t)sqlite3_column_bytes(st, 12), &h);
		/* the last point always ends the history */
		if (n == 0 || memcmp(&h[n - 1], &p[0], sizeof p[0]))
			h[n++] = p[0];
		json_t *hist = json_array();
		if (n <= points) {
			for (int i = 0; i < n; i++)
				json_array_append_new(hist, pt_json(&h[i]));
		} else if (points == 1) {
			json_array_append_new(hist, pt_json(&h[n - 1]));
		} else {
			for (int k = 0; k < points; k++)
				json_array_append_new(hist, pt_json(&h[(int)((int64_t)k * (n - 1) / (points - 1))]));
		}
		free(h);
		json_array_append_new(
			arr, json_pack("{s:s, s:s, s:I, s:o, s:o, s:o, s:o}", "group",
				       (const char *)sqlite3_column_text(st, 0), "name",
				       (const char *)sqlite3_column_text(st, 1), "count",
				       (json_int_t)sqlite3_column_int64(st, 2), "last", pt_json(&p[0]), "min",
				       pt_json(&p[1]), "max", pt_json(&p[2]), "history", hist));
	}
	int ret = 0;
	if (rc != SQLITE_DONE)
		ret = db_error(c, e, "reading metric summaries");
	sqlite3_reset(st);
	db_release(t->db, c);
	if (ret) {
		json_decref(arr);
		json_decref(res);
		return ret;
	}
	json_object_set_new(res, "metrics", arr);
	*out = res;
	return 0;
}

/* --- records posted over the API --- */

static int count_emit(void *ctx, const struct em_rec *r)
{
	(void)r;
	(*(int *)ctx)++;
	return 0;
}

int tds_post_emetrics(struct trainer *t, const char *id, const json_t *body, int running_only, int *added,
		      struct weft_err *e)
{
	*added = 0;
	if (running_only) {
		struct db_conn *c = db_acquire(t->db);
		sqlite3_stmt *st = db_stmt(c, "SELECT status FROM jobs WHERE id=? AND deleted=0");
		sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
		char status[32] = "";
		if (sqlite3_step(st) == SQLITE_ROW)
			snprintf(status, sizeof status, "%s", (const char *)sqlite3_column_text(st, 0));
		sqlite3_reset(st);
		db_release(t->db, c);
		if (!*status)
			return err_set(e, WEFT_ENOTFOUND, "no training job %s", id);
		if (!strcmp(status, ST_COMPLETED) || !strcmp(status, ST_FAILED) || !strcmp(status, ST_HALTED))
			return err_set(e, WEFT_ECONFLICT,
				       "job %s has ended (%s): its job token no longer adds records (its owner's "
				       "credentials still do)",
				       id, status);
	}
	const json_t *recs = body;
	if (json_is_object(body) && json_object_get(body, "records"))
		recs = json_object_get(body, "records");
	json_t *one = NULL;
	if (json_is_object(recs)) {
		one = json_array();
		json_array_append(one, (json_t *)recs);
		recs = one;
	}
	if (!json_is_array(recs)) {
		json_decref(one);
		return err_set(e, WEFT_EINVAL, "expected a record, an array of records or {\"records\": [...]}");
	}
	size_t n = json_array_size(recs);
	char **texts = xcalloc(n ? n : 1, sizeof *texts);
	int rc = 0;
	for (size_t i = 0; i < n && !rc; i++) {
		texts[i] = json_dumps(json_array_get(recs, i), JSON_COMPACT);
		int got = 0;
		struct weft_err pe;
		int prc = texts[i] ? emfile_parse_line(texts[i], strlen(texts[i]), count_emit, &got, &pe) : WEFT_EINVAL;
		if (prc)
			rc = err_set(e, WEFT_EINVAL, "records[%zu]: %s", i, texts[i] ? pe.msg : "is not JSON");
		else if (got != 1)
			rc = err_set(e, WEFT_EINVAL, "records[%zu]: is empty (a record needs grouplabel and values)", i);
	}
	if (!rc && n) {
		struct db_conn *c = db_acquire(t->db);
		struct em_writer w;
		if (db_begin(c)) {
			rc = db_error(c, e, "starting a transaction");
		} else {
			rc = emw_begin(&w, c, id, e);
			for (size_t i = 0; i < n && !rc; i++) {
				struct weft_err pe;
				if (emfile_parse_line(texts[i], strlen(texts[i]), emw_add, &w, &pe))
					rc = db_error(c, e, "storing a metric record");
			}
			if (emw_finish(&w, rc == 0, e) && !rc)
				rc = WEFT_EIO;
			if (rc)
				db_rollback(c);
			else if (db_commit(c))
				rc = db_error(c, e, "committing metric records");
			else
				*added = w.added;
		}
		db_release(t->db, c);
	}
	for (size_t i = 0; i < n; i++)
		free(texts[i]);
	free(texts);
	json_decref(one);
	if (*added) {
		metrics_add("weft_metric_records_ingested_total", *added, NULL);
		trainer_notify_logs(t);
	}
	return rc;
}

int tds_delete_emetrics(struct db_conn *c, const char *id)
{
	int64_t count = 0, key = job_key(c, id, &count);
	int rc = 0;
	if (key >= 0) {
		sqlite3_stmt *st = db_stmt(c, "DELETE FROM emetrics WHERE id BETWEEN ? AND ?");
		sqlite3_bind_int64(st, 1, key << 36);
		sqlite3_bind_int64(st, 2, (key << 36) | ((INT64_C(1) << 36) - 1));
		if (sqlite3_step(st) != SQLITE_DONE)
			rc = WEFT_EIO;
		sqlite3_reset(st);
	}
	const char *sqls[] = { "DELETE FROM em_sources WHERE job_id=?", "DELETE FROM metric_series WHERE job_id=?" };
	for (size_t i = 0; i < 2; i++) {
		sqlite3_stmt *st = db_stmt(c, sqls[i]);
		sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_DONE)
			rc = WEFT_EIO;
		sqlite3_reset(st);
	}
	return rc;
}

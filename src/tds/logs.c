/* logs.c - log collection. The collector reads each learner's log file from
 * its stored offset; the lines, their full-text index entries, the metric
 * records the line extractor finds, the extractor's state and the new offset
 * are committed together, so after a crash collection resumes exactly where
 * the last commit left it. Lines are stored as valid UTF-8 (bad bytes become
 * U+FFFD) so every line can be returned as JSON. */
#include "tds/logs.h"
#include "tds/autoparse.h"
#include "tds/emstore.h"
#include "tds/regex.h"
#include "api/metrics.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/timeutil.h"
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_LINE (64 * 1024)      /* longer lines are split */
#define MAX_CHUNK (4 * 1024 * 1024) /* bytes read per ingest call */

/* Appends s[0..n) to sb as valid UTF-8, replacing invalid sequences and
 * control characters other than tab with U+FFFD. */
static void add_utf8_clean(struct sbuf *sb, const unsigned char *s, size_t n)
{
	static const char repl[] = "\xEF\xBF\xBD";
	size_t i = 0;
	while (i < n) {
		unsigned char c = s[i];
		if (c < 0x80) {
			if (c < 0x20 && c != '\t')
				sb_add(sb, repl, 3);
			else
				sb_addc(sb, (char)c);
			i++;
			continue;
		}
		size_t len = 0;
		unsigned int cp = 0;
		if ((c & 0xE0) == 0xC0) {
			len = 2;
			cp = c & 0x1F;
		} else if ((c & 0xF0) == 0xE0) {
			len = 3;
			cp = c & 0x0F;
		} else if ((c & 0xF8) == 0xF0) {
			len = 4;
			cp = c & 0x07;
		}
		int ok = len && i + len <= n;
		for (size_t k = 1; ok && k < len; k++) {
			if ((s[i + k] & 0xC0) != 0x80)
				ok = 0;
			else
				cp = (cp << 6) | (s[i + k] & 0x3F);
		}
		if (ok && ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
			   cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)))
			ok = 0;
		if (ok) {
			sb_add(sb, s + i, len);
			i += len;
		} else {
			sb_add(sb, repl, 3);
			i++;
		}
	}
}


/* --- line extractors --- */

static void lx_load(struct tds_lx *lx, const char *state, const char *id, int learner)
{
	lx->loaded = 1;
	if (lx->kind == LX_AUTO) {
		long long it = -1;
		int ep = -1;
		lx->iter = -1;
		lx->epoch = -1;
		if (state && *state && sscanf(state, "auto %lld %d", &it, &ep) == 2) {
			lx->iter = it;
			lx->epoch = ep;
		}
	} else if (lx->kind == LX_REGEX && lx->win) {
		struct weft_err e;
		const char *st = state && !strncmp(state, "regex ", 6) ? state + 6 : "";
		if (*st && rx_window_load(lx->win, st, strlen(st), &e))
			log_warn("%s: learner %d: regex window state not restored (%s); starting with an empty window",
				 id, learner, e.msg);
		else if (!*st)
			rx_window_load(lx->win, "", 0, &e);
	}
}

static void lx_save(const struct tds_lx *lx, struct sbuf *sb)
{
	sb_reset(sb);
	if (lx && lx->kind == LX_AUTO)
		sb_addf(sb, "auto %lld %d", (long long)lx->iter, lx->epoch);
	else if (lx && lx->kind == LX_REGEX && lx->win) {
		sb_adds(sb, "regex ");
		rx_window_save(lx->win, sb);
	}
}

/* Formats a double so that strtod gives it back, as short as possible. */
static void fmt_double(char *buf, size_t size, double v)
{
	snprintf(buf, size, "%.15g", v);
	if (strtod(buf, NULL) != v)
		snprintf(buf, size, "%.17g", v);
}

/* weft's `auto` extractor on one line: a record when the line holds metrics;
 * the iteration and epoch carry over to later lines that lack them. */
static int auto_feed(struct tds_lx *lx, const char *line, size_t len, struct em_writer *w)
{
	struct ap_result r;
	int n = ap_parse_line(line, len, &r);
	if (r.epoch >= 0 && r.epoch != lx->epoch) {
		lx->epoch = r.epoch;
		if (r.iteration < 0)
			lx->iter = -1; /* a new epoch: the old iteration no longer applies */
	}
	int64_t it = r.iteration;
	if (it >= 0 && r.total > 0 && lx->epoch >= 1) /* Keras: batch k of N in epoch E */
		it = (int64_t)(lx->epoch - 1) * r.total + it;
	if (it >= 0)
		lx->iter = it;
	if (n <= 0)
		return 0;
	struct em_rec rec = { 0 };
	char texts[AP_MAX_METRICS + 2][32];
	rec.group = r.group;
	if (lx->iter >= 0) {
		snprintf(texts[AP_MAX_METRICS], 32, "%lld", (long long)lx->iter);
		rec.etimes[rec.n_etimes++] = (struct em_kv){ "iteration", EM_INT, texts[AP_MAX_METRICS], 0, 0 };
	}
	if (lx->epoch >= 0) {
		snprintf(texts[AP_MAX_METRICS + 1], 32, "%d", lx->epoch);
		rec.etimes[rec.n_etimes++] = (struct em_kv){ "epoch", EM_INT, texts[AP_MAX_METRICS + 1], 0, 0 };
	}
	for (int i = 0; i < n && i < EM_MAX_VALUES; i++) {
		const char *text = r.m[i].text;
		if (!*text) {
			fmt_double(texts[i], sizeof texts[i], r.m[i].value);
			text = texts[i];
		}
		rec.values[rec.n_values++] = (struct em_kv){ r.m[i].name, EM_FLOAT, text, 1, r.m[i].value };
	}
	return emw_add(w, &rec);
}

static int lx_feed(struct tds_lx *lx, const char *line, size_t len, struct em_writer *w)
{
	if (!lx)
		return 0;
	if (lx->kind == LX_AUTO)
		return auto_feed(lx, line, len, w);
	if (lx->kind == LX_REGEX && lx->win)
		return rx_feed(lx->win, line, len, emw_add, w);
	return 0;
}

int tds_ingest(struct trainer *t, struct db_conn *c, const char *id, int learner, const char *path, int final,
	       struct tds_lx *lx, int *added, struct weft_err *e)
{
	*added = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : err_sys(e, "cannot open log %s", path);
	struct stat st;
	if (fstat(fd, &st) < 0) {
		close(fd);
		return err_sys(e, "cannot stat log %s", path);
	}
	sqlite3_stmt *q = db_stmt(c, "SELECT offset, state FROM log_offsets WHERE job_id=? AND learner=?");
	sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_int(q, 2, learner);
	int64_t offset = 0;
	if (sqlite3_step(q) == SQLITE_ROW) {
		offset = sqlite3_column_int64(q, 0);
		if (lx && !lx->loaded)
			lx_load(lx, (const char *)sqlite3_column_text(q, 1), id, learner);
	} else if (lx && !lx->loaded) {
		lx_load(lx, NULL, id, learner);
	}
	sqlite3_reset(q);
	if (st.st_size < offset) {
		log_warn("%s: log of learner %d shrank (from %lld to %lld bytes); reading it from the start", id,
			 learner, (long long)offset, (long long)st.st_size);
		offset = 0;
	}
	if (st.st_size == offset) {
		close(fd);
		return 0;
	}
	size_t want = (size_t)(st.st_size - offset);
	if (want > MAX_CHUNK)
		want = MAX_CHUNK;
	unsigned char *buf = xmalloc(want);
	ssize_t got = pread(fd, buf, want, offset);
	close(fd);
	if (got <= 0) {
		free(buf);
		return got < 0 ? err_sys(e, "cannot read log %s", path) : 0;
	}
	int rc = 0;
	if (db_begin(c)) {
		free(buf);
		return db_error(c, e, "starting a transaction");
	}
	q = db_stmt(c, "SELECT log_count, key FROM jobs WHERE id=?");
	sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
	int64_t rindex = 0, key = 0;
	if (sqlite3_step(q) == SQLITE_ROW) {
		rindex = sqlite3_column_int64(q, 0);
		key = sqlite3_column_int64(q, 1);
	}
	sqlite3_reset(q);
	struct em_writer w;
	if ((rc = emw_begin(&w, c, id, e))) {
		db_rollback(c);
		free(buf);
		return rc;
	}
	w.learner = learner;
	int64_t now = w.now;
	sqlite3_stmt *ins = db_stmt(c, "INSERT INTO loglines(id, learner, time_ms, line) VALUES(?,?,?,?)");
	sqlite3_stmt *fts = db_stmt(c, "INSERT INTO loglines_fts(rowid, line) VALUES(?,?)");
	struct sbuf line = SBUF_INIT;
	size_t start = 0, consumed = 0;
	int n = 0;
	for (size_t i = 0; i <= (size_t)got; i++) {
		int at_end = i == (size_t)got;
		int is_nl = !at_end && buf[i] == '\n';
		int too_long = !at_end && i - start >= MAX_LINE;
		/* a partial last line is kept for later unless the learner has finished */
		int flush = is_nl || too_long || (at_end && final && i > start && (offset + (int64_t)got == st.st_size));
		if (!flush)
			continue;
		size_t end = i;
		if (end > start && buf[end - 1] == '\r')
			end--;
		sb_reset(&line);
		add_utf8_clean(&line, buf + start, end - start);
		int64_t rowid = (key << TDS_KEY_SHIFT) | ++rindex;
		sqlite3_bind_int64(ins, 1, rowid);
		sqlite3_bind_int(ins, 2, learner);
		sqlite3_bind_int64(ins, 3, now);
		sqlite3_bind_text(ins, 4, sb_str(&line), (int)line.len, SQLITE_STATIC);
		sqlite3_bind_int64(fts, 1, rowid);
		sqlite3_bind_text(fts, 2, sb_str(&line), (int)line.len, SQLITE_STATIC);
		int ok = sqlite3_step(ins) == SQLITE_DONE && sqlite3_step(fts) == SQLITE_DONE;
		sqlite3_reset(ins);
		sqlite3_reset(fts);
		if (!ok || lx_feed(lx, sb_str(&line), line.len, &w)) {
			rc = db_error(c, e, "storing a log line");
			break;
		}
		n++;
		start = is_nl ? i + 1 : i;
		consumed = start;
		if (too_long)
			i--; /* re-examine this byte as the first of the next piece */
	}
	free(buf);
	if (rc == 0 && consumed > 0) {
		lx_save(lx, &line);
		q = db_stmt(c, "INSERT INTO log_offsets(job_id, learner, offset, state) VALUES(?,?,?,?) "
			       "ON CONFLICT(job_id, learner) DO UPDATE SET offset=excluded.offset, state=excluded.state");
		sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
		sqlite3_bind_int(q, 2, learner);
		sqlite3_bind_int64(q, 3, offset + (int64_t)consumed);
		sqlite3_bind_text(q, 4, sb_str(&line), (int)line.len, SQLITE_STATIC);
		if (sqlite3_step(q) != SQLITE_DONE)
			rc = db_error(c, e, "storing a log offset");
		sqlite3_reset(q);
		q = db_stmt(c, "UPDATE jobs SET log_count=? WHERE id=?");
		sqlite3_bind_int64(q, 1, rindex);
		sqlite3_bind_text(q, 2, id, -1, SQLITE_STATIC);
		if (rc == 0 && sqlite3_step(q) != SQLITE_DONE)
			rc = db_error(c, e, "counting log lines");
		sqlite3_reset(q);
	}
	sb_release(&line);
	int records = w.added;
	if (emw_finish(&w, rc == 0, e) && rc == 0)
		rc = WEFT_EIO;
	if (rc == 0 && db_commit(c))
		rc = db_error(c, e, "committing log lines");
	if (rc) {
		db_rollback(c);
		if (lx)
			lx->loaded = 0; /* its state ran ahead of the store: read it back */
		return rc;
	}
	*added = n;
	if (n) {
		metrics_add("weft_log_lines_ingested_total", n, NULL);
		if (records)
			metrics_add("weft_metric_records_ingested_total", records, NULL);
		trainer_notify_logs(t);
	}
	return 0;
}

int tds_delete_job(struct db_conn *c, const char *id)
{
	int rc = tds_delete_emetrics(c, id);
	sqlite3_stmt *st = db_stmt(c, "SELECT key FROM jobs WHERE id=?");
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	int64_t key = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
	sqlite3_reset(st);
	if (key >= 0) {
		/* an external-content FTS5 index forgets a row given its old text */
		const char *sqls[] = { "INSERT INTO loglines_fts(loglines_fts, rowid, line) "
				       "SELECT 'delete', id, line FROM loglines WHERE id BETWEEN ? AND ?",
				       "DELETE FROM loglines WHERE id BETWEEN ? AND ?" };
		for (size_t i = 0; i < 2; i++) {
			st = db_stmt(c, sqls[i]);
			sqlite3_bind_int64(st, 1, key << TDS_KEY_SHIFT);
			sqlite3_bind_int64(st, 2, (key << TDS_KEY_SHIFT) | TDS_RINDEX_MASK);
			if (sqlite3_step(st) != SQLITE_DONE)
				rc = WEFT_EIO;
			sqlite3_reset(st);
		}
	}
	st = db_stmt(c, "DELETE FROM log_offsets WHERE job_id=?");
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		rc = WEFT_EIO;
	sqlite3_reset(st);
	return rc;
}

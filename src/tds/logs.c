/* logs.c - log collection and loglines queries. The collector reads each
 * learner's log file from its stored offset; lines and the new offset are
 * committed together, so after a crash collection resumes exactly where the
 * last commit left it. Lines are stored as valid UTF-8 (bad bytes become
 * U+FFFD) so every line can be returned as JSON. */
#include "tds/logs.h"
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

int tds_ingest(struct trainer *t, struct db_conn *c, const char *id, const char *user, int learner,
	       const char *path, int final, int *added, struct weft_err *e)
{
	(void)user;
	*added = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : err_sys(e, "cannot open log %s", path);
	struct stat st;
	if (fstat(fd, &st) < 0) {
		close(fd);
		return err_sys(e, "cannot stat log %s", path);
	}
	sqlite3_stmt *q = db_stmt(c, "SELECT offset FROM log_offsets WHERE job_id=? AND learner=?");
	sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_int(q, 2, learner);
	int64_t offset = sqlite3_step(q) == SQLITE_ROW ? sqlite3_column_int64(q, 0) : 0;
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
	q = db_stmt(c, "SELECT log_count FROM jobs WHERE id=?");
	sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
	int64_t rindex = sqlite3_step(q) == SQLITE_ROW ? sqlite3_column_int64(q, 0) : 0;
	sqlite3_reset(q);
	sqlite3_stmt *ins = db_stmt(c, "INSERT INTO loglines(job_id, rindex, learner, time_ms, line) VALUES(?,?,?,?,?)");
	int64_t now = now_ms();
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
		sqlite3_bind_text(ins, 1, id, -1, SQLITE_STATIC);
		sqlite3_bind_int64(ins, 2, ++rindex);
		sqlite3_bind_int(ins, 3, learner);
		sqlite3_bind_int64(ins, 4, now);
		sqlite3_bind_text(ins, 5, sb_str(&line), (int)line.len, SQLITE_STATIC);
		if (sqlite3_step(ins) != SQLITE_DONE) {
			rc = db_error(c, e, "storing a log line");
			sqlite3_reset(ins);
			break;
		}
		sqlite3_reset(ins);
		n++;
		start = is_nl ? i + 1 : i;
		consumed = start;
		if (too_long)
			i--; /* re-examine this byte as the first of the next piece */
	}
	sb_release(&line);
	free(buf);
	if (rc == 0 && consumed > 0) {
		q = db_stmt(c, "INSERT INTO log_offsets(job_id, learner, offset) VALUES(?,?,?) "
			       "ON CONFLICT(job_id, learner) DO UPDATE SET offset=excluded.offset");
		sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
		sqlite3_bind_int(q, 2, learner);
		sqlite3_bind_int64(q, 3, offset + (int64_t)consumed);
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
	if (rc) {
		db_rollback(c);
		return rc;
	}
	if (db_commit(c))
		return db_error(c, e, "committing log lines");
	*added = n;
	if (n) {
		metrics_add("weft_log_lines_ingested_total", n, NULL);
		trainer_notify_logs(t);
	}
	return 0;
}

static int parse_int64(const char *s, int64_t *v)
{
	if (!s || !*s)
		return -1;
	errno = 0;
	char *end;
	long long x = strtoll(s, &end, 10);
	if (errno || *end)
		return -1;
	*v = x;
	return 0;
}

/* RFC3339: 2026-11-28T12:00:00Z, with optional fraction and offset. */
static int parse_rfc3339(const char *s, int64_t *ms)
{
	struct tm tm = { 0 };
	const char *p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!p)
		p = strptime(s, "%Y-%m-%d %H:%M:%S", &tm);
	if (!p)
		return -1;
	int64_t frac = 0;
	if (*p == '.') {
		p++;
		int digits = 0;
		while (isdigit((unsigned char)*p)) {
			if (digits < 3) {
				frac = frac * 10 + (*p - '0');
				digits++;
			}
			p++;
		}
		while (digits++ < 3)
			frac *= 10;
	}
	int64_t off = 0;
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int sign = *p == '-' ? -1 : 1;
		int hh, mm;
		if (sscanf(p + 1, "%2d:%2d", &hh, &mm) != 2)
			return -1;
		off = sign * (hh * 3600 + mm * 60);
		p += 6;
	} else if (*p) {
		return -1;
	}
	if (*p)
		return -1;
	*ms = ((int64_t)timegm(&tm) - off) * 1000 + frac;
	return 0;
}

int tds_parse_query(const char *pos, const char *pagesize, const char *since_time, struct tds_query *q,
		    struct weft_err *e)
{
	memset(q, 0, sizeof *q);
	q->pagesize = 10;
	if (pos && *pos && parse_int64(pos, &q->pos))
		return err_set(e, WEFT_EINVAL, "pos: '%s' is not an integer", pos);
	if (pagesize && *pagesize) {
		if (parse_int64(pagesize, &q->pagesize) || q->pagesize < 1 || q->pagesize > 10000)
			return err_set(e, WEFT_EINVAL, "pagesize: '%s' is not an integer from 1 to 10000", pagesize);
	}
	if (since_time && *since_time) {
		q->has_since = 1;
		if (parse_int64(since_time, &q->since_ms) && parse_rfc3339(since_time, &q->since_ms))
			return err_set(e, WEFT_EINVAL,
				       "since_time: '%s' is not milliseconds since the epoch, a negative line count "
				       "or an RFC3339 time",
				       since_time);
		if (q->pos)
			return err_set(e, WEFT_EINVAL, "pos and since_time cannot be combined");
	}
	/* "the last |N| lines" negates these: INT64_MIN has no positive counterpart */
	if (q->pos == INT64_MIN)
		q->pos = -INT64_MAX;
	if (q->since_ms == INT64_MIN)
		q->since_ms = -INT64_MAX;
	return 0;
}

static int64_t start_rindex(struct db_conn *c, const char *id, const struct tds_query *q)
{
	int64_t start = 1;
	int64_t back = q->pos < 0 ? -q->pos : (q->has_since && q->since_ms < 0 ? -q->since_ms : 0);
	if (q->pos > 0)
		start = q->pos;
	if (back) {
		sqlite3_stmt *s = db_stmt(c, "SELECT log_count FROM jobs WHERE id=?");
		sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
		int64_t count = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
		sqlite3_reset(s);
		start = count - back + 1;
		if (start < 1)
			start = 1;
	}
	return start;
}

void tds_follow_query(struct trainer *t, const char *id, struct tds_query *q, int64_t *after)
{
	struct db_conn *c = db_acquire(t->db);
	*after = start_rindex(c, id, q) - 1;
	db_release(t->db, c);
	int keep_time = q->has_since && q->since_ms >= 0;
	int64_t since = q->since_ms;
	memset(q, 0, sizeof *q);
	q->pagesize = 1000;
	q->has_since = keep_time;
	q->since_ms = keep_time ? since : 0;
}

int tds_loglines(struct trainer *t, const char *id, const char *user, const struct tds_query *q, int64_t after,
		 json_t **out, struct weft_err *e)
{
	struct db_conn *c = db_acquire(t->db);
	int64_t start = start_rindex(c, id, q), min_time = 0;
	if (q->has_since && q->since_ms >= 0)
		min_time = q->since_ms;
	if (start < after + 1)
		start = after + 1;
	sqlite3_stmt *st = db_stmt(c, "SELECT rindex, learner, time_ms, line FROM loglines "
				      "WHERE job_id=? AND rindex>=? AND time_ms>=? ORDER BY rindex LIMIT ?");
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, start);
	sqlite3_bind_int64(st, 3, min_time);
	sqlite3_bind_int64(st, 4, q->pagesize);
	json_t *arr = json_array();
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		char subid[32];
		snprintf(subid, sizeof subid, "learner-%d", sqlite3_column_int(st, 1));
		const char *line = (const char *)sqlite3_column_text(st, 3);
		json_t *meta = json_pack("{s:s, s:s, s:I, s:I, s:s}", "training_id", id, "user_id", user, "time",
					 (json_int_t)sqlite3_column_int64(st, 2), "rindex",
					 (json_int_t)sqlite3_column_int64(st, 0), "subid", subid);
		json_t *ll = json_object();
		json_object_set_new(ll, "meta", meta);
		json_object_set_new(ll, "line", json_string(line ? line : ""));
		json_array_append_new(arr, ll);
	}
	int ret = 0;
	if (rc != SQLITE_DONE)
		ret = db_error(c, e, "reading log lines");
	sqlite3_reset(st);
	db_release(t->db, c);
	if (ret) {
		json_decref(arr);
		return ret;
	}
	*out = arr;
	return 0;
}

int tds_delete_job(struct db_conn *c, const char *id)
{
	const char *sqls[] = { "DELETE FROM loglines WHERE job_id=?", "DELETE FROM log_offsets WHERE job_id=?" };
	int rc = 0;
	for (size_t i = 0; i < 2; i++) {
		sqlite3_stmt *st = db_stmt(c, sqls[i]);
		sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_DONE)
			rc = WEFT_EIO;
		sqlite3_reset(st);
	}
	return rc;
}

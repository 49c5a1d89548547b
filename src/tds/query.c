/* query.c - FfDL's log and metrics queries: pos, pagesize, since_time (ms,
 * negative = last N rows, or RFC3339), searchType, plus weft's search text,
 * learner and group filters. Searches use the FTS5 index of log lines: TERM
 * wants every word, MATCH takes FTS5's query syntax, NESTED a substring. */
#include "tds/logs.h"
#include "util/mem.h"
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

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
		/* exactly +HH:MM (a shorter offset must not move p past the end) */
		int sign = *p == '-' ? -1 : 1;
		if (!isdigit((unsigned char)p[1]) || !isdigit((unsigned char)p[2]) || p[3] != ':' ||
		    !isdigit((unsigned char)p[4]) || !isdigit((unsigned char)p[5]))
			return -1;
		int hh = (p[1] - '0') * 10 + (p[2] - '0'), mm = (p[4] - '0') * 10 + (p[5] - '0');
		if (hh > 23 || mm > 59)
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

int tds_parse_query(tds_arg_fn arg, void *ctx, struct tds_query *q, struct weft_err *e)
{
	const char *pos = arg(ctx, "pos"), *pagesize = arg(ctx, "pagesize"), *since_time = arg(ctx, "since_time");
	const char *search = arg(ctx, "search"), *stype = arg(ctx, "searchType"), *learner = arg(ctx, "learner");
	const char *group = arg(ctx, "group");
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
	if (learner && *learner) {
		int64_t n;
		if (parse_int64(learner, &n) || n < 1 || n > 100000)
			return err_set(e, WEFT_EINVAL, "learner: '%s' is not a learner number (1, 2, ...)", learner);
		q->learner = (int)n;
	}
	if (group && *group) {
		if (strlen(group) >= sizeof q->group)
			return err_set(e, WEFT_EINVAL, "group: longer than %zu bytes", sizeof q->group - 1);
		snprintf(q->group, sizeof q->group, "%s", group);
	}
	if (search && *search) {
		if (strlen(search) >= sizeof q->search)
			return err_set(e, WEFT_EINVAL, "search: longer than %zu bytes", sizeof q->search - 1);
		snprintf(q->search, sizeof q->search, "%s", search);
		q->search_type = TDS_SEARCH_TERM;
	}
	if (stype && *stype) {
		if (!strcasecmp(stype, "TERM"))
			q->search_type = q->search[0] ? TDS_SEARCH_TERM : TDS_SEARCH_NONE;
		else if (!strcasecmp(stype, "MATCH"))
			q->search_type = q->search[0] ? TDS_SEARCH_MATCH : TDS_SEARCH_NONE;
		else if (!strcasecmp(stype, "NESTED"))
			q->search_type = q->search[0] ? TDS_SEARCH_NESTED : TDS_SEARCH_NONE;
		else if (!strcasecmp(stype, "ALL"))
			q->search_type = TDS_SEARCH_NONE;
		else
			return err_set(e, WEFT_EINVAL, "searchType: '%s' is not one of TERM, MATCH, NESTED, ALL", stype);
	}
	return 0;
}

int64_t tds_start_rindex(const struct tds_query *q, int64_t count)
{
	int64_t start = 1;
	int64_t back = q->pos < 0 ? -q->pos : (q->has_since && q->since_ms < 0 ? -q->since_ms : 0);
	if (q->pos > 0)
		start = q->pos;
	if (back) {
		start = count - back + 1;
		if (start < 1)
			start = 1;
	}
	return start;
}

/* The job's key and its number of lines (or of records); -1 if it is gone. */
static int64_t stream_info(struct db_conn *c, const char *id, int emetrics, int64_t *count)
{
	sqlite3_stmt *s = db_stmt(c, emetrics ? "SELECT key, em_count FROM jobs WHERE id=?"
					      : "SELECT key, log_count FROM jobs WHERE id=?");
	sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
	int64_t key = -1;
	*count = 0;
	if (sqlite3_step(s) == SQLITE_ROW) {
		key = sqlite3_column_int64(s, 0);
		*count = sqlite3_column_int64(s, 1);
	}
	sqlite3_reset(s);
	return key;
}

void tds_follow_query(struct trainer *t, const char *id, int emetrics, struct tds_query *q, int64_t *after)
{
	struct db_conn *c = db_acquire(t->db);
	int64_t count;
	stream_info(c, id, emetrics, &count);
	*after = tds_start_rindex(q, count) - 1;
	db_release(t->db, c);
	int keep_time = q->has_since && q->since_ms >= 0;
	q->pos = 0;
	q->pagesize = 1000;
	q->has_since = keep_time;
	if (!keep_time)
		q->since_ms = 0;
}

/* TERM search text as an FTS5 query: each word quoted, all required. */
static char *term_query(const char *s)
{
	struct sbuf sb = SBUF_INIT;
	const char *p = s;
	while (*p) {
		while (*p && isspace((unsigned char)*p))
			p++;
		if (!*p)
			break;
		if (sb.len)
			sb_addc(&sb, ' ');
		sb_addc(&sb, '"');
		for (; *p && !isspace((unsigned char)*p); p++) {
			if (*p == '"')
				sb_addc(&sb, '"');
			sb_addc(&sb, *p);
		}
		sb_addc(&sb, '"');
	}
	return sb_detach(&sb);
}

/* NESTED search text as a LIKE pattern matching it anywhere. */
static char *like_pattern(const char *s)
{
	struct sbuf sb = SBUF_INIT;
	sb_addc(&sb, '%');
	for (const char *p = s; *p; p++) {
		if (*p == '%' || *p == '_' || *p == '\\')
			sb_addc(&sb, '\\');
		sb_addc(&sb, *p);
	}
	sb_addc(&sb, '%');
	return sb_detach(&sb);
}

int tds_loglines(struct trainer *t, const char *id, const char *user, const struct tds_query *q, int64_t after,
		 json_t **out, struct weft_err *e)
{
	struct db_conn *c = db_acquire(t->db);
	int64_t count, key = stream_info(c, id, 0, &count);
	if (key < 0) {
		db_release(t->db, c);
		return err_set(e, WEFT_ENOTFOUND, "no training job %s", id);
	}
	int64_t start = tds_start_rindex(q, count), min_time = 0;
	if (q->has_since && q->since_ms >= 0)
		min_time = q->since_ms;
	if (start < after + 1)
		start = after + 1;
	if (min_time > 0) {
		/* lines carry their ingestion time, which never decreases along a job's
		 * lines: the time index finds the first one at or after since_time */
		sqlite3_stmt *s = db_stmt(c, "SELECT id FROM loglines WHERE (id >> 36) = ? AND time_ms >= ? "
					     "ORDER BY time_ms, id LIMIT 1");
		sqlite3_bind_int64(s, 1, key);
		sqlite3_bind_int64(s, 2, min_time);
		int64_t first = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int64(s, 0) & TDS_RINDEX_MASK
							      : TDS_RINDEX_MASK;
		sqlite3_reset(s);
		if (start < first)
			start = first;
	}
	sqlite3_stmt *st;
	char *text = NULL;
	if (q->search_type == TDS_SEARCH_TERM || q->search_type == TDS_SEARCH_MATCH) {
		st = db_stmt(c, "SELECT l.id, l.learner, l.time_ms, l.line FROM loglines_fts f "
				"JOIN loglines l ON l.id = f.rowid WHERE loglines_fts MATCH ?7 "
				"AND f.rowid BETWEEN ?1 AND ?2 AND l.time_ms>=?3 AND (?4=0 OR l.learner=?4) "
				"ORDER BY f.rowid LIMIT ?5");
		text = q->search_type == TDS_SEARCH_TERM ? term_query(q->search) : xstrdup(q->search);
	} else if (q->search_type == TDS_SEARCH_NESTED) {
		st = db_stmt(c, "SELECT id, learner, time_ms, line FROM loglines WHERE id BETWEEN ?1 AND ?2 "
				"AND time_ms>=?3 AND (?4=0 OR learner=?4) AND line LIKE ?6 ESCAPE '\\' "
				"ORDER BY id LIMIT ?5");
		text = like_pattern(q->search);
	} else {
		st = db_stmt(c, "SELECT id, learner, time_ms, line FROM loglines WHERE id BETWEEN ?1 AND ?2 "
				"AND time_ms>=?3 AND (?4=0 OR learner=?4) ORDER BY id LIMIT ?5");
	}
	sqlite3_bind_int64(st, 1, (key << TDS_KEY_SHIFT) | start);
	sqlite3_bind_int64(st, 2, (key << TDS_KEY_SHIFT) | TDS_RINDEX_MASK);
	sqlite3_bind_int64(st, 3, min_time);
	sqlite3_bind_int(st, 4, q->learner);
	sqlite3_bind_int64(st, 5, q->pagesize);
	if (q->search_type == TDS_SEARCH_NESTED)
		sqlite3_bind_text(st, 6, text, -1, SQLITE_STATIC);
	else if (text)
		sqlite3_bind_text(st, 7, text, -1, SQLITE_STATIC);
	json_t *arr = json_array();
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		char subid[32];
		snprintf(subid, sizeof subid, "learner-%d", sqlite3_column_int(st, 1));
		const char *line = (const char *)sqlite3_column_text(st, 3);
		json_t *meta = json_pack("{s:s, s:s, s:I, s:I, s:s}", "training_id", id, "user_id", user, "time",
					 (json_int_t)sqlite3_column_int64(st, 2), "rindex",
					 (json_int_t)(sqlite3_column_int64(st, 0) & TDS_RINDEX_MASK), "subid", subid);
		json_t *ll = json_object();
		json_object_set_new(ll, "meta", meta);
		json_object_set_new(ll, "line", json_string(line ? line : ""));
		json_array_append_new(arr, ll);
	}
	int ret = 0;
	if (rc != SQLITE_DONE) {
		if (q->search_type == TDS_SEARCH_MATCH)
			ret = err_set(e, WEFT_EINVAL, "search: not a valid MATCH query (%s)",
				      sqlite3_errmsg(db_handle(c)));
		else
			ret = db_error(c, e, "reading log lines");
	}
	sqlite3_reset(st);
	db_release(t->db, c);
	free(text);
	if (ret) {
		json_decref(arr);
		return ret;
	}
	*out = arr;
	return 0;
}

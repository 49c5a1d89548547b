/* node.c - typed access to libyaml document nodes for the manifest parser.
 * libyaml's document API keeps a start mark on every node, so each check
 * here can say which line was wrong. Keys are validated per mapping
 * (scalars, no duplicates) and unknown ones become warnings with a hint. */
#include "manifest/node.h"
#include "util/mem.h"
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int node_line(const yaml_node_t *n)
{
	return n ? (int)n->start_mark.line + 1 : 1;
}

const char *quote_value(const char *s, size_t len, char *buf, size_t size)
{
	size_t o = 0, max = 60;
	if (size < 8) {
		if (size)
			buf[0] = '\0';
		return buf;
	}
	buf[o++] = '\'';
	for (size_t i = 0; i < len && o + 6 < size; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (i == max) {
			memcpy(buf + o, "...", 3);
			o += 3;
			break;
		}
		if (ch < 0x20 || ch == 0x7f) {
			if (o + 5 + 2 >= size)
				break;
			o += (size_t)snprintf(buf + o, size - o, "\\x%02x", ch);
		} else {
			buf[o++] = (char)ch;
		}
	}
	buf[o++] = '\'';
	buf[o] = '\0';
	return buf;
}

const char *node_desc(const yaml_node_t *n, char *buf, size_t size)
{
	if (!n || node_is_null(n))
		snprintf(buf, size, "nothing");
	else if (n->type == YAML_SEQUENCE_NODE)
		snprintf(buf, size, "a list");
	else if (n->type == YAML_MAPPING_NODE)
		snprintf(buf, size, "a mapping");
	else
		quote_value((const char *)n->data.scalar.value, n->data.scalar.length, buf, size);
	return buf;
}

int node_is_null(const yaml_node_t *n)
{
	if (!n)
		return 1;
	if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return 0;
	const char *v = (const char *)n->data.scalar.value;
	size_t len = n->data.scalar.length;
	return len == 0 || (len == 1 && v[0] == '~') ||
	       (len == 4 && (!memcmp(v, "null", 4) || !memcmp(v, "Null", 4) || !memcmp(v, "NULL", 4)));
}

const char *path_cat(char *buf, size_t size, const char *base, const char *key)
{
	if (snprintf(buf, size, "%s%s%s", base, *base ? "." : "", key) >= (int)size && size > 4)
		memcpy(buf + size - 4, "...", 4);
	return buf;
}

int node_err(struct mctx *c, int line, const char *path, const char *fmt, ...)
{
	char msg[768];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (path && *path)
		return err_set(c->e, WEFT_EINVAL, "line %d: %s: %s", line, path, msg);
	return err_set(c->e, WEFT_EINVAL, "line %d: %s", line, msg);
}

void node_warn(struct mctx *c, int line, const char *fmt, ...)
{
	struct sbuf sb = SBUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	sb_vaddf(&sb, fmt, ap);
	va_end(ap);
	if (c->n_warn == c->cap_warn) {
		c->cap_warn = c->cap_warn ? 2 * c->cap_warn : 8;
		c->warn = xrealloc(c->warn, c->cap_warn * sizeof *c->warn);
	}
	c->warn[c->n_warn] = (struct mwarning){ line, c->n_warn, sb_detach(&sb) };
	c->n_warn++;
}

static int warning_cmp(const void *pa, const void *pb)
{
	const struct mwarning *a = pa, *b = pb;
	if (a->line != b->line)
		return a->line < b->line ? -1 : 1;
	return a->seq < b->seq ? -1 : a->seq > b->seq; /* stable */
}

void mctx_flush(struct mctx *c, struct sbuf *out)
{
	if (c->n_warn > 1)
		qsort(c->warn, c->n_warn, sizeof *c->warn, warning_cmp);
	for (size_t i = 0; i < c->n_warn; i++) {
		if (out)
			sb_addf(out, "line %d: %s\n", c->warn[i].line, c->warn[i].msg);
		free(c->warn[i].msg);
	}
	free(c->warn);
	c->warn = NULL;
	c->n_warn = c->cap_warn = 0;
}

/* Lower-cases and drops '_' and '-' so eventtypes ~ event_types ~ eventTypes. */
size_t node_fold_key(const char *s, size_t len, char *out, size_t size)
{
	size_t o = 0;
	for (size_t i = 0; i < len && o + 1 < size; i++) {
		if (s[i] == '_' || s[i] == '-')
			continue;
		out[o++] = (char)tolower((unsigned char)s[i]);
	}
	out[o] = '\0';
	return o;
}

/* Levenshtein distance of two short strings (both < 64 bytes). */
size_t node_edit_distance(const char *a, size_t la, const char *b, size_t lb)
{
	size_t row[64];
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j];
			size_t best = diag + (a[i - 1] != b[j - 1]);
			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

static const char *suggest(const char *key, size_t len, const char *const *known)
{
	char nk[64], nc[64];
	if (len >= sizeof nk)
		return NULL;
	size_t lk = node_fold_key(key, len, nk, sizeof nk);
	const char *best = NULL;
	size_t best_d = 3;
	for (size_t i = 0; known[i]; i++) {
		size_t lc = node_fold_key(known[i], strlen(known[i]), nc, sizeof nc);
		size_t d = node_edit_distance(nk, lk, nc, lc);
		size_t limit = lc <= 3 ? 1 : 2;
		if (d <= limit && d < best_d) {
			best = known[i];
			best_d = d;
		}
	}
	return best;
}

struct keyref {
	const char *s;
	size_t len;
	size_t idx;
	int line;
};

static int keyref_cmp(const void *pa, const void *pb)
{
	const struct keyref *a = pa, *b = pb;
	size_t n = a->len < b->len ? a->len : b->len;
	int r = memcmp(a->s, b->s, n);
	if (r)
		return r;
	if (a->len != b->len)
		return a->len < b->len ? -1 : 1;
	return a->idx < b->idx ? -1 : a->idx > b->idx;
}

static int is_known(const char *s, size_t len, const char *const *known)
{
	for (size_t i = 0; known[i]; i++)
		if (strlen(known[i]) == len && !memcmp(known[i], s, len))
			return 1;
	return 0;
}

int node_charge(struct mctx *c, size_t n, int line)
{
	c->visits += n;
	if (c->visits > MCTX_MAX_VISITS)
		return node_err(c, line, NULL, "the manifest is too large (over %d fields, counting each use of an alias)",
				MCTX_MAX_VISITS);
	return 0;
}

int map_check(struct mctx *c, yaml_node_t *map, int at, const char *path, const char *const *known)
{
	char d[96];
	if (!map || map->type != YAML_MAPPING_NODE)
		return node_err(c, map ? node_line(map) : at, path, "expected a mapping of fields, got %s",
				node_desc(map, d, sizeof d));
	yaml_node_pair_t *pairs = map->data.mapping.pairs.start;
	size_t n = (size_t)(map->data.mapping.pairs.top - pairs);
	if (node_charge(c, n + 1, node_line(map)))
		return WEFT_EINVAL;
	if (n == 0)
		return 0;
	struct keyref *refs = xcalloc(n, sizeof *refs);
	int rc = 0;
	for (size_t i = 0; i < n; i++) {
		yaml_node_t *k = yaml_document_get_node(c->doc, pairs[i].key);
		if (!k || k->type != YAML_SCALAR_NODE || node_is_null(k)) {
			rc = node_err(c, k ? node_line(k) : at, path, "keys must be plain names, got %s",
				      node_desc(k, d, sizeof d));
			goto out;
		}
		if (memchr(k->data.scalar.value, '\0', k->data.scalar.length)) {
			rc = node_err(c, node_line(k), path, "a key contains a NUL character");
			goto out;
		}
		refs[i] = (struct keyref){ (const char *)k->data.scalar.value, k->data.scalar.length, i,
					   node_line(k) };
	}
	/* Sorting finds duplicates in O(n log n) even for huge mappings. */
	qsort(refs, n, sizeof *refs, keyref_cmp);
	size_t dup = n;
	for (size_t i = 1; i < n; i++)
		if (refs[i].len == refs[i - 1].len && !memcmp(refs[i].s, refs[i - 1].s, refs[i].len) &&
		    (dup == n || refs[i].idx < refs[dup].idx))
			dup = i;
	if (dup < n) {
		size_t first = dup;
		while (first > 0 && refs[first - 1].len == refs[dup].len &&
		       !memcmp(refs[first - 1].s, refs[dup].s, refs[dup].len))
			first--;
		rc = node_err(c, refs[dup].line, path, "duplicate key %s (first at line %d)",
			      quote_value(refs[dup].s, refs[dup].len, d, sizeof d), refs[first].line);
		goto out;
	}
	for (size_t i = 0; known && i < n; i++) {
		yaml_node_t *k = yaml_document_get_node(c->doc, pairs[i].key);
		const char *s = (const char *)k->data.scalar.value;
		size_t len = k->data.scalar.length;
		if (is_known(s, len, known))
			continue;
		const char *hint = suggest(s, len, known);
		char q[96];
		quote_value(s, len, q, sizeof q);
		/* q is 'key'; show it with the path as 'path.key' */
		if (path && *path)
			node_warn(c, node_line(k), "unknown key '%s.%s ignored%s%s%s", path, q + 1,
				  hint ? " (did you mean '" : "", hint ? hint : "", hint ? "'?)" : "");
		else
			node_warn(c, node_line(k), "unknown key %s ignored%s%s%s", q, hint ? " (did you mean '" : "",
				  hint ? hint : "", hint ? "'?)" : "");
	}
out:
	free(refs);
	return rc;
}

yaml_node_t *map_get(struct mctx *c, yaml_node_t *map, const char *key, int at, int *kline)
{
	if (kline)
		*kline = at;
	if (!map || map->type != YAML_MAPPING_NODE)
		return NULL;
	size_t klen = strlen(key);
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(c->doc, p->key);
		if (!k || k->type != YAML_SCALAR_NODE || k->data.scalar.length != klen ||
		    memcmp(k->data.scalar.value, key, klen))
			continue;
		if (kline)
			*kline = node_line(k);
		yaml_node_t *v = yaml_document_get_node(c->doc, p->value);
		return node_is_null(v) ? NULL : v;
	}
	return NULL;
}

static int scalar_of(struct mctx *c, yaml_node_t *n, const char *path, const char *what, const char **s,
		     size_t *len)
{
	char d[96];
	if (!n || n->type != YAML_SCALAR_NODE)
		return node_err(c, node_line(n), path, "expected %s, got %s", what, node_desc(n, d, sizeof d));
	if (memchr(n->data.scalar.value, '\0', n->data.scalar.length))
		return node_err(c, node_line(n), path, "contains a NUL character");
	*s = (const char *)n->data.scalar.value;
	*len = n->data.scalar.length;
	return 0;
}

int node_text(struct mctx *c, yaml_node_t *n, const char *path, const char **s, size_t *len)
{
	return scalar_of(c, n, path, "a single value", s, len);
}

int node_string(struct mctx *c, yaml_node_t *n, const char *path, int required, char **out)
{
	const char *s;
	size_t len;
	int rc = scalar_of(c, n, path, "a string", &s, &len);
	if (rc)
		return rc;
	if (required) {
		size_t i = 0;
		while (i < len && isspace((unsigned char)s[i]))
			i++;
		if (i == len)
			return node_err(c, node_line(n), path, "must not be empty");
	}
	free(*out);
	*out = xstrndup(s, len);
	return 0;
}

int parse_decimal(const char *s, double *out)
{
	const char *p = s;
	if (*p == '+' || *p == '-')
		p++;
	size_t digits = 0;
	while (isdigit((unsigned char)*p)) {
		p++;
		digits++;
	}
	if (*p == '.') {
		p++;
		while (isdigit((unsigned char)*p)) {
			p++;
			digits++;
		}
	}
	if (!digits)
		return -1;
	if (*p == 'e' || *p == 'E') {
		p++;
		if (*p == '+' || *p == '-')
			p++;
		if (!isdigit((unsigned char)*p))
			return -1;
		while (isdigit((unsigned char)*p))
			p++;
	}
	if (*p)
		return -1;
	errno = 0;
	double v = strtod(s, NULL);
	if (errno == ERANGE || !isfinite(v))
		return -1;
	*out = v;
	return 0;
}

int node_double(struct mctx *c, yaml_node_t *n, const char *path, double *out)
{
	const char *s;
	size_t len;
	char q[96];
	int rc = scalar_of(c, n, path, "a number", &s, &len);
	if (rc)
		return rc;
	char buf[64];
	size_t b = 0, e = len;
	while (b < e && isspace((unsigned char)s[b]))
		b++;
	while (e > b && isspace((unsigned char)s[e - 1]))
		e--;
	if (e - b == 0 || e - b >= sizeof buf)
		return node_err(c, node_line(n), path, "%s is not a number", quote_value(s, len, q, sizeof q));
	memcpy(buf, s + b, e - b);
	buf[e - b] = '\0';
	if (parse_decimal(buf, out))
		return node_err(c, node_line(n), path, "%s is not a number", quote_value(s, len, q, sizeof q));
	return 0;
}

int node_int(struct mctx *c, yaml_node_t *n, const char *path, long long min, long long max, long long *out)
{
	double v;
	const char *s = "";
	size_t len = 0;
	char q[96];
	int rc = node_double(c, n, path, &v);
	if (rc)
		return rc;
	node_text(c, n, path, &s, &len);
	if (v != floor(v))
		return node_err(c, node_line(n), path, "%s is not a whole number", quote_value(s, len, q, sizeof q));
	if (v < (double)min || v > (double)max)
		return node_err(c, node_line(n), path, "%s is out of range (%lld to %lld)",
				quote_value(s, len, q, sizeof q), min, max);
	*out = (long long)v;
	return 0;
}

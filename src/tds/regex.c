/* regex.c - FfDL's regex_extractor (see regex.h): compiles each group's
 * Python-syntax regex with PCRE2 (JIT when the platform allows it) after
 * expanding FfDL's %{MACRO}s, and matches it against a per-learner window of
 * recent lines kept in one buffer (dropping a line advances an offset; the
 * text is compacted only when the buffer fills, so a line costs O(its
 * length)). Records are built on the stack and in a per-window scratch
 * buffer: no allocation per line once a window has warmed up. */
#include "tds/regex.h"
#include "util/mem.h"
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#define RX_REGEX_MAX (64 * 1024)    /* bytes of one group's regex */
#define RX_MATCH_LIMIT 2000000      /* PCRE2 backtracking steps per match */
#define RX_HEAP_LIMIT_KIB (16 * 1024)
#define RX_JIT_STACK_MAX (1024 * 1024)

struct rx_val {
	char *key;
	int type; /* enum em_type, or -1: inferred from each value */
	int cap;  /* capture number; 0: the literal lit (and num, for INT/FLOAT) */
	char *lit;
	double num;
};

struct rx_group {
	char *label;
	pcre2_code *code;
	struct rx_val *etimes, *values;
	int n_etimes, n_values;
	int time_cap, subid_cap; /* 0: none, or the literals below */
	int64_t time_lit;
	char *subid_lit;
};

struct rx {
	int lookahead, ngroups;
	struct rx_group *g;
	uint32_t ovec_pairs; /* enough for the group with the most captures */
	int jit;
	pcre2_general_context *gc;
};

struct rx_window {
	const struct rx *rx;
	char *buf;          /* the window text is buf[start, end) */
	size_t cap, start, end;
	size_t *lens;       /* ring of line lengths (with their '\n'), rx->lookahead slots */
	int head, n;
	pcre2_match_data *md;
	pcre2_match_context *mc;
	pcre2_jit_stack *js;
	struct sbuf scratch; /* captured value texts of the record being emitted */
	unsigned long match_errors;
};

static void *rx_alloc(PCRE2_SIZE n, void *d)
{
	(void)d;
	return xmalloc(n ? n : 1);
}

static void rx_dealloc(void *p, void *d)
{
	(void)d;
	free(p);
}

/* --- text helpers --- */

/* s cut to at most max bytes, not inside a UTF-8 sequence */
static size_t utf8_cut(const char *s, size_t max)
{
	size_t n = max;
	while (n > 0 && max - n < 3 && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	return n;
}

/* --- macros and the Python dialect --- */

static const struct {
	const char *name, *def;
} macros[] = {
	{ "GLOG_STAMP", "[EFIW](?:[0-9]{4}){1,2}\\s+[0-9]{2}:[0-9]{2}:[0-9]*\\.[0-9]+" },
	{ "TIMESTAMP", "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:[.][0-9]+)?(?:Z|[-+][0-9]{2}:?[0-9]{2})" },
	{ "FLOAT", "[-+]?(?:[0-9]+(?:\\.[0-9]*)?|\\.[0-9]+)(?:[eE][-+]?[0-9]+)?" },
	{ "INT", "[-+]?[0-9]+" },
	{ "INT_ANY", "[-+]?(?:0[xX][0-9A-Fa-f]+|0[0-7]*|[0-9]+)" },
	{ "HEX", "[-+]?(?:0[xX])?[0-9A-Fa-f]+" },
};
#define N_MACROS (sizeof macros / sizeof macros[0])
#define KNOWN_MACROS "GLOG_STAMP, TIMESTAMP, FLOAT, INT, INT_ANY, HEX"

/* The expanded regex, and for each of its bytes the offset in the user's. */
struct expansion {
	struct sbuf out;
	size_t *src;
	size_t nsrc, capsrc;
};

static void ex_put(struct expansion *x, const char *s, size_t n, size_t srcpos)
{
	sb_add(&x->out, s, n);
	if (x->nsrc + n > x->capsrc) {
		x->capsrc = (x->nsrc + n) * 2 + 64;
		x->src = xrealloc(x->src, x->capsrc * sizeof *x->src);
	}
	for (size_t i = 0; i < n; i++)
		x->src[x->nsrc++] = srcpos;
}

static int is_word(int c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'; }
static int is_hex(int c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

/* Characters (not bytes) before byte offset off of s, as Python counts. */
static size_t char_offset(const char *s, size_t off)
{
	size_t n = 0;
	for (size_t i = 0; i < off; i++)
		n += ((unsigned char)s[i] & 0xc0) != 0x80;
	return n;
}

/* Expands %{NAME} and %{NAME:cap}, and rewrites the Python spellings PCRE2
 * reads differently (\Z, {,n}, \uXXXX, \UXXXXXXXX); character classes are
 * tracked as Python parses them, so nothing inside one is rewritten. */
static int expand(const char *re, size_t len, struct expansion *x, const char *path, struct weft_err *e)
{
	int in_class = 0;
	size_t class_first = 0;
	for (size_t i = 0; i < len;) {
		unsigned char c = (unsigned char)re[i];
		if (c == '\\' && i + 1 < len) {
			char nx = re[i + 1];
			if (nx == 'Z' && !in_class) {
				ex_put(x, "\\z", 2, i);
				i += 2;
				continue;
			}
			if (nx == 'u' || nx == 'U') {
				size_t nd = nx == 'u' ? 4 : 8, k = 0;
				while (k < nd && i + 2 + k < len && is_hex((unsigned char)re[i + 2 + k]))
					k++;
				if (k == nd) {
					ex_put(x, "\\x{", 3, i);
					ex_put(x, re + i + 2, nd, i);
					ex_put(x, "}", 1, i);
					i += 2 + nd;
					continue;
				}
			}
			ex_put(x, re + i, 2, i);
			i += 2;
			continue;
		}
		if (in_class) {
			if (c == ']' && i != class_first)
				in_class = 0;
			ex_put(x, re + i, 1, i);
			i++;
			continue;
		}
		if (c == '[') {
			in_class = 1;
			class_first = i + 1 < len && re[i + 1] == '^' ? i + 2 : i + 1;
			ex_put(x, re + i, 1, i);
			i++;
			continue;
		}
		if (c == '%' && i + 1 < len && re[i + 1] == '{') {
			size_t n0 = i + 2, n1 = n0;
			while (n1 < len && is_word((unsigned char)re[n1]))
				n1++;
			size_t c0 = n1, c1 = n1;
			if (n1 > n0 && n1 < len && re[n1] == ':') {
				c0 = c1 = n1 + 1;
				while (c1 < len && is_word((unsigned char)re[c1]))
					c1++;
				if (c1 == c0)
					c0 = c1 = 0; /* "%{NAME:}" is not a macro */
			}
			if (n1 > n0 && c0 && c1 < len && re[c1] == '}') {
				size_t m = 0;
				while (m < N_MACROS && !(strlen(macros[m].name) == n1 - n0 && !memcmp(macros[m].name, re + n0, n1 - n0)))
					m++;
				if (m == N_MACROS) {
					int nl = n1 - n0 > 40 ? 40 : (int)(n1 - n0);
					return err_set(e, WEFT_EINVAL, "%s.regex: unknown macro %%{%.*s} at offset %zu (known: %s)", path, nl,
						       re + n0, char_offset(re, i), KNOWN_MACROS);
				}
				if (c1 > c0) {
					ex_put(x, "(?P<", 4, i);
					ex_put(x, re + c0, c1 - c0, i);
					ex_put(x, ">", 1, i);
				} else {
					ex_put(x, "(?:", 3, i);
				}
				ex_put(x, macros[m].def, strlen(macros[m].def), i);
				ex_put(x, ")", 1, i);
				i = c1 + 1;
				continue;
			}
		}
		if (c == '{' && i + 2 < len && re[i + 1] == ',') {
			size_t j = i + 2;
			while (j < len && re[j] >= '0' && re[j] <= '9')
				j++;
			if (j > i + 2 && j < len && re[j] == '}') {
				ex_put(x, "{0,", 3, i);
				i += 2;
				continue;
			}
		}
		ex_put(x, re + i, 1, i);
		i++;
	}
	return 0;
}

/* --- compiling the spec --- */

/* The names of g's captures, for error messages: "a, b" or "none". */
static void capture_names(const pcre2_code *code, char *buf, size_t size)
{
	uint32_t count = 0, esize = 0;
	PCRE2_SPTR table = NULL;
	pcre2_pattern_info(code, PCRE2_INFO_NAMECOUNT, &count);
	pcre2_pattern_info(code, PCRE2_INFO_NAMEENTRYSIZE, &esize);
	pcre2_pattern_info(code, PCRE2_INFO_NAMETABLE, &table);
	size_t o = 0;
	buf[0] = '\0';
	for (uint32_t i = 0; i < count && table; i++) {
		int n = snprintf(buf + o, size - o, "%s%s", i ? ", " : "", (const char *)table + i * esize + 2);
		if (n < 0 || (size_t)n >= size - o) {
			if (size > 4)
				strcpy(buf + size - 4, "...");
			return;
		}
		o += (size_t)n;
	}
	if (!count)
		snprintf(buf, size, "none");
}

/* "$name" -> its capture number in code (>0), or an error naming both */
static int capture_ref(const pcre2_code *code, const char *s, size_t len, const char *field, struct weft_err *e)
{
	char q[64], names[256];
	int n = PCRE2_ERROR_NOSUBSTRING;
	if (len > 1 && len < 256 && !memchr(s + 1, '\0', len - 1)) {
		char name[256];
		memcpy(name, s + 1, len - 1);
		name[len - 1] = '\0';
		n = pcre2_substring_number_from_name(code, (PCRE2_SPTR)name);
	}
	if (n > 0)
		return n;
	capture_names(code, names, sizeof names);
	return err_set(e, WEFT_EINVAL, "%s: %s names no capture of the regex (it has: %s)", field, em_quote(s, len, q, sizeof q),
		       names);
}

static int parse_type(const json_t *t, const char *field, struct weft_err *e)
{
	if (!t || json_is_null(t))
		return -1;
	if (json_is_string(t)) {
		int k = em_type_parse(json_string_value(t));
		if (k >= 0)
			return k;
	} else if (json_is_integer(t) && json_integer_value(t) >= 0 && json_integer_value(t) <= EM_FLOAT) {
		return (int)json_integer_value(t);
	}
	char q[64], nb[40];
	const char *s;
	size_t len;
	if (em_json_text(t, nb, sizeof nb, &s, &len))
		s = "(not a string)", len = strlen(s);
	err_set(e, WEFT_EINVAL, "%s.type: %s is not a value type (use FLOAT, INT, STRING or JSONSTRING)", field,
		em_quote(s, len, q, sizeof q));
	return -2;
}

static int compile_vals(const pcre2_code *code, const json_t *obj, const char *path, int max, struct rx_val **out,
			int *nout, struct weft_err *e)
{
	char kb[64], field[400], q[64];
	if (!json_is_object(obj))
		return err_set(e, WEFT_EINVAL, "%s: expected a mapping of names to {type, value}", path);
	size_t n = json_object_size(obj);
	if (n > (size_t)max)
		return err_set(e, WEFT_EINVAL, "%s: %zu entries, more than the %d a record holds", path, n, max);
	struct rx_val *v = xcalloc(n ? n : 1, sizeof *v);
	*out = v;
	*nout = 0;
	const char *key;
	json_t *ent;
	json_object_foreach((json_t *)obj, key, ent)
	{
		snprintf(field, sizeof field, "%s.%s", path, em_key_text(key, kb, sizeof kb));
		if (!*key)
			return err_set(e, WEFT_EINVAL, "%s: a name is empty", path);
		if (!json_is_object(ent))
			return err_set(e, WEFT_EINVAL, "%s: expected {type, value}", field);
		struct rx_val *x = &v[(*nout)++];
		x->key = xstrdup(key);
		if ((x->type = parse_type(json_object_get(ent, "type"), field, e)) == -2)
			return WEFT_EINVAL;
		const json_t *jv = json_object_get(ent, "value");
		const char *s;
		size_t len;
		char nb[40];
		if (!jv || em_json_text(jv, nb, sizeof nb, &s, &len))
			return err_set(e, WEFT_EINVAL, "%s.value: %s", field, jv ? "expected \"$capture\" or a literal" : "is required");
		if (len && s[0] == '$') {
			char vf[420];
			snprintf(vf, sizeof vf, "%s.value", field);
			int c = capture_ref(code, s, len, vf, e);
			if (c < 0)
				return c;
			x->cap = c;
			continue;
		}
		char numbuf[EM_NUMBUF];
		const char *o;
		size_t ol;
		int t = em_value_fit(x->type, s, len, numbuf, &o, &ol, &x->num);
		if (t < 0)
			return err_set(e, WEFT_EINVAL, "%s.value: %s is not %s", field, em_quote(s, len, q, sizeof q),
				       x->type == EM_INT ? "an integer" : x->type == EM_FLOAT ? "a finite number" : "valid JSON");
		x->type = t;
		x->lit = xstrndup(o, ol);
	}
	return 0;
}

static void free_vals(struct rx_val *v, int n)
{
	for (int i = 0; i < n; i++) {
		free(v[i].key);
		free(v[i].lit);
	}
	free(v);
}

static int compile_regex(struct rx *rx, struct rx_group *g, const json_t *jre, const char *path, struct weft_err *e)
{
	if (!json_is_string(jre))
		return err_set(e, WEFT_EINVAL, "%s.regex: %s", path, jre ? "expected a string" : "is required");
	const char *re = json_string_value(jre);
	size_t len = json_string_length(jre);
	if (len > RX_REGEX_MAX)
		return err_set(e, WEFT_EINVAL, "%s.regex: is %zu bytes long, over the limit of %d", path, len, RX_REGEX_MAX);
	struct expansion x = { SBUF_INIT, NULL, 0, 0 };
	int rc = expand(re, len, &x, path, e);
	if (rc == 0) {
		pcre2_compile_context *cc = pcre2_compile_context_create(rx->gc);
		pcre2_set_newline(cc, PCRE2_NEWLINE_LF);
		int ec;
		PCRE2_SIZE eo;
		uint32_t opts = PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF | PCRE2_MULTILINE | PCRE2_DOTALL |
				PCRE2_ANCHORED | PCRE2_NEVER_BACKSLASH_C;
		g->code = pcre2_compile((PCRE2_SPTR)sb_str(&x.out), x.out.len, opts, &ec, &eo, cc);
		pcre2_compile_context_free(cc);
		if (!g->code) {
			char msg[256];
			pcre2_get_error_message(ec, (PCRE2_UCHAR *)msg, sizeof msg);
			size_t src = eo < x.nsrc ? x.src[eo] : len;
			rc = err_set(e, WEFT_EINVAL, "%s.regex: does not compile at offset %zu: %s", path, char_offset(re, src),
				     msg);
		}
	}
	sb_release(&x.out);
	free(x.src);
	if (rc)
		return rc;
	if (pcre2_jit_compile(g->code, PCRE2_JIT_COMPLETE) == 0)
		rx->jit = 1;
	uint32_t ncap = 0;
	pcre2_pattern_info(g->code, PCRE2_INFO_CAPTURECOUNT, &ncap);
	if (ncap + 1 > rx->ovec_pairs)
		rx->ovec_pairs = ncap + 1;
	return 0;
}

static int compile_meta(struct rx_group *g, const json_t *meta, const char *path, struct weft_err *e)
{
	char field[400], nb[40], q[64];
	const char *s;
	size_t len;
	if (!meta || json_is_null(meta))
		return 0;
	if (!json_is_object(meta))
		return err_set(e, WEFT_EINVAL, "%s.meta: expected a mapping with time and subid", path);
	const json_t *t = json_object_get(meta, "time"), *sub = json_object_get(meta, "subid");
	if (t && !json_is_null(t)) {
		snprintf(field, sizeof field, "%s.meta.time", path);
		if (em_json_text(t, nb, sizeof nb, &s, &len))
			return err_set(e, WEFT_EINVAL, "%s: expected \"$capture\" or a time", field);
		if (len && s[0] == '$') {
			if ((g->time_cap = capture_ref(g->code, s, len, field, e)) < 0)
				return WEFT_EINVAL;
		} else if (len && !(g->time_lit = em_time_parse(s, len))) {
			return err_set(e, WEFT_EINVAL, "%s: %s is not a time (ms since the epoch or an ISO 8601 timestamp)", field,
				       em_quote(s, len, q, sizeof q));
		}
	}
	if (sub && !json_is_null(sub)) {
		snprintf(field, sizeof field, "%s.meta.subid", path);
		if (em_json_text(sub, nb, sizeof nb, &s, &len) || memchr(s, '\0', len))
			return err_set(e, WEFT_EINVAL, "%s: expected \"$capture\" or a name", field);
		if (len && s[0] == '$') {
			if ((g->subid_cap = capture_ref(g->code, s, len, field, e)) < 0)
				return WEFT_EINVAL;
		} else if (len) {
			g->subid_lit = xstrndup(s, len);
		}
	}
	return 0;
}

static int compile_group(struct rx *rx, struct rx_group *g, const char *label, const json_t *gj, struct weft_err *e)
{
	char path[200], kb[64];
	snprintf(path, sizeof path, "evaluation_metrics.groups.%s", em_key_text(label, kb, sizeof kb));
	g->label = xstrdup(label);
	if (!*label)
		return err_set(e, WEFT_EINVAL, "evaluation_metrics.groups: a group label is empty");
	if (!json_is_object(gj))
		return err_set(e, WEFT_EINVAL, "%s: expected a mapping with regex, meta, values and etimes", path);
	int rc = compile_regex(rx, g, json_object_get(gj, "regex"), path, e);
	if (rc)
		return rc;
	if ((rc = compile_meta(g, json_object_get(gj, "meta"), path, e)))
		return rc;
	/* FfDL: scalars wins over values */
	const char *vname = json_object_get(gj, "scalars") ? "scalars" : "values";
	const json_t *vals = json_object_get(gj, vname), *et = json_object_get(gj, "etimes");
	char field[260];
	if (vals && !json_is_null(vals)) {
		snprintf(field, sizeof field, "%s.%s", path, vname);
		if ((rc = compile_vals(g->code, vals, field, EM_MAX_VALUES, &g->values, &g->n_values, e)))
			return rc;
	}
	if (et && !json_is_null(et)) {
		snprintf(field, sizeof field, "%s.etimes", path);
		if ((rc = compile_vals(g->code, et, field, EM_MAX_ETIMES, &g->etimes, &g->n_etimes, e)))
			return rc;
	}
	return 0;
}

static int parse_lookahead(const json_t *la, int *out, struct weft_err *e)
{
	long long v = -1;
	if (json_is_integer(la)) {
		v = json_integer_value(la);
	} else if (json_is_string(la)) {
		const char *s = json_string_value(la);
		char *end;
		v = strtoll(s, &end, 10);
		if (!*s || *end)
			v = -1;
	}
	if (v < 1 || v > RX_LOOKAHEAD_MAX)
		return err_set(e, WEFT_EINVAL, "evaluation_metrics.line_lookahead: expected a number of lines from 1 to %d",
			       RX_LOOKAHEAD_MAX);
	*out = (int)v;
	return 0;
}

int rx_compile(const json_t *em, struct rx **out, struct weft_err *e)
{
	*out = NULL;
	if (!json_is_object(em))
		return err_set(e, WEFT_EINVAL, "evaluation_metrics: expected a mapping");
	struct rx *rx = xcalloc(1, sizeof *rx);
	rx->gc = pcre2_general_context_create(rx_alloc, rx_dealloc, NULL);
	rx->lookahead = RX_LOOKAHEAD_DEFAULT;
	rx->ovec_pairs = 1;
	int rc = 0;
	const json_t *la = json_object_get(em, "line_lookahead");
	if (!la)
		la = json_object_get(em, "linelookahead"); /* FfDL read both */
	if (la && !json_is_null(la) && (rc = parse_lookahead(la, &rx->lookahead, e)))
		goto fail;
	const json_t *groups = json_object_get(em, "groups");
	if (groups && !json_is_null(groups)) {
		if (!json_is_object(groups)) {
			rc = err_set(e, WEFT_EINVAL, "evaluation_metrics.groups: expected a mapping of group labels to {regex, ...}");
			goto fail;
		}
		rx->g = xcalloc(json_object_size(groups) + 1, sizeof *rx->g);
		const char *label;
		json_t *gj;
		json_object_foreach((json_t *)groups, label, gj)
		{
			if ((rc = compile_group(rx, &rx->g[rx->ngroups++], label, gj, e)))
				goto fail;
		}
	}
	*out = rx;
	return 0;
fail:
	rx_free(rx);
	return rc;
}

void rx_free(struct rx *rx)
{
	if (!rx)
		return;
	for (int i = 0; i < rx->ngroups; i++) {
		struct rx_group *g = &rx->g[i];
		free(g->label);
		pcre2_code_free(g->code);
		free_vals(g->etimes, g->n_etimes);
		free_vals(g->values, g->n_values);
		free(g->subid_lit);
	}
	free(rx->g);
	pcre2_general_context_free(rx->gc);
	free(rx);
}

int rx_lookahead(const struct rx *rx) { return rx->lookahead; }
int rx_ngroups(const struct rx *rx) { return rx->ngroups; }

/* --- windows --- */

struct rx_window *rx_window_new(const struct rx *rx)
{
	struct rx_window *w = xcalloc(1, sizeof *w);
	w->rx = rx;
	w->lens = xcalloc((size_t)rx->lookahead, sizeof *w->lens);
	w->md = pcre2_match_data_create(rx->ovec_pairs, rx->gc);
	w->mc = pcre2_match_context_create(rx->gc);
	pcre2_set_match_limit(w->mc, RX_MATCH_LIMIT);
	pcre2_set_depth_limit(w->mc, RX_MATCH_LIMIT);
	pcre2_set_heap_limit(w->mc, RX_HEAP_LIMIT_KIB);
	if (rx->jit && (w->js = pcre2_jit_stack_create(32 * 1024, RX_JIT_STACK_MAX, rx->gc)))
		pcre2_jit_stack_assign(w->mc, NULL, w->js);
	return w;
}

void rx_window_free(struct rx_window *w)
{
	if (!w)
		return;
	free(w->buf);
	free(w->lens);
	pcre2_match_data_free(w->md);
	pcre2_match_context_free(w->mc);
	pcre2_jit_stack_free(w->js);
	sb_release(&w->scratch);
	free(w);
}

void rx_window_reset(struct rx_window *w)
{
	w->start = w->end = 0;
	w->head = w->n = 0;
}

int rx_window_lines(const struct rx_window *w) { return w->n; }
unsigned long rx_window_match_errors(const struct rx_window *w) { return w->match_errors; }

/* Room for need more bytes at the end. The live text moves to the front only
 * when the end is reached, and the buffer then keeps at least as much free as
 * live, so each byte is moved O(1) times on average. */
static void make_room(struct rx_window *w, size_t need)
{
	if (w->end + need <= w->cap)
		return;
	if (w->start) {
		memmove(w->buf, w->buf + w->start, w->end - w->start);
		w->end -= w->start;
		w->start = 0;
	}
	if ((w->end + need) * 2 > w->cap) {
		w->cap = (w->end + need) * 2 + 4096;
		w->buf = xrealloc(w->buf, w->cap);
	}
}

static void drop_oldest(struct rx_window *w)
{
	w->start += w->lens[w->head];
	w->head = (w->head + 1) % w->rx->lookahead;
	w->n--;
}

/* Appends line + '\n' (room made) and drops lines as FfDL did; returns the
 * ring slot written and its old value, for undoing. */
static int push_line(struct rx_window *w, const char *line, size_t len, size_t *old)
{
	int la = w->rx->lookahead;
	if (line != w->buf + w->end) /* rx_window_load decodes in place */
		memcpy(w->buf + w->end, line, len);
	w->buf[w->end + len] = '\n';
	w->end += len + 1;
	if (w->n == la)
		drop_oldest(w);
	int slot = (w->head + w->n) % la;
	*old = w->lens[slot];
	w->lens[slot] = len + 1;
	w->n++;
	while (w->end - w->start > RX_WINDOW_MAX && w->n > 1)
		drop_oldest(w);
	return slot;
}

/* Capture k of the last match as text, or 0 when it did not take part. */
static int capture(const struct rx_window *w, int k, const char **s, size_t *len)
{
	PCRE2_SIZE *ov = pcre2_get_ovector_pointer(w->md);
	if ((uint32_t)k >= pcre2_get_ovector_count(w->md))
		return 0;
	PCRE2_SIZE a = ov[2 * k], b = ov[2 * k + 1];
	if (a == PCRE2_UNSET || b == PCRE2_UNSET || b < a || b > w->end - w->start)
		return 0;
	*s = w->buf + w->start + a;
	*len = b - a;
	return 1;
}

/* The values of v as em_kvs; captured texts go to the scratch buffer, their
 * offsets in off[] (SIZE_MAX for literals) until the buffer stops moving. */
static int fill(struct rx_window *w, const struct rx_val *v, int n, struct em_kv *kv, size_t *off)
{
	int k = 0;
	for (int i = 0; i < n; i++) {
		kv[k].key = v[i].key;
		if (!v[i].cap) {
			kv[k].type = (enum em_type)v[i].type;
			kv[k].value = v[i].lit;
			kv[k].has_num = v[i].type == EM_INT || v[i].type == EM_FLOAT;
			kv[k].num = v[i].num;
			off[k++] = SIZE_MAX;
			continue;
		}
		const char *s, *o;
		size_t len, ol;
		char nb[EM_NUMBUF];
		if (!capture(w, v[i].cap, &s, &len))
			continue;
		double num = 0;
		int t = em_value_fit(v[i].type, s, len, nb, &o, &ol, &num);
		if (t < 0)
			continue;
		kv[k].type = (enum em_type)t;
		kv[k].value = NULL;
		kv[k].has_num = t == EM_INT || t == EM_FLOAT;
		kv[k].num = num;
		off[k++] = w->scratch.len;
		sb_add(&w->scratch, o, ol);
		sb_addc(&w->scratch, '\0');
	}
	return k;
}

static int emit_match(struct rx_window *w, const struct rx_group *g, em_emit_fn emit, void *ctx)
{
	struct em_rec r;
	size_t off_e[EM_MAX_ETIMES], off_v[EM_MAX_VALUES], off_sub = SIZE_MAX;
	const char *s;
	size_t len;
	sb_reset(&w->scratch);
	r.group = g->label;
	r.time_ms = g->time_lit;
	if (g->time_cap)
		r.time_ms = capture(w, g->time_cap, &s, &len) ? em_time_parse(s, len) : 0;
	r.subid = g->subid_lit;
	if (g->subid_cap) {
		r.subid = NULL;
		if (capture(w, g->subid_cap, &s, &len) && len) {
			off_sub = w->scratch.len;
			sb_add(&w->scratch, s, len);
			sb_addc(&w->scratch, '\0');
		}
	}
	r.n_etimes = fill(w, g->etimes, g->n_etimes, r.etimes, off_e);
	r.n_values = fill(w, g->values, g->n_values, r.values, off_v);
	if (off_sub != SIZE_MAX)
		r.subid = w->scratch.buf + off_sub;
	for (int i = 0; i < r.n_etimes; i++)
		if (off_e[i] != SIZE_MAX)
			r.etimes[i].value = w->scratch.buf + off_e[i];
	for (int i = 0; i < r.n_values; i++)
		if (off_v[i] != SIZE_MAX)
			r.values[i].value = w->scratch.buf + off_v[i];
	return emit(ctx, &r);
}

int rx_feed(struct rx_window *w, const char *line, size_t len, em_emit_fn emit, void *ctx)
{
	const struct rx *rx = w->rx;
	if (!line)
		len = 0;
	if (len > RX_LINE_MAX)
		len = utf8_cut(line, RX_LINE_MAX);
	make_room(w, len + 1);
	size_t o_start = w->start, o_end = w->end, o_slot;
	int o_head = w->head, o_n = w->n;
	int slot = push_line(w, line ? line : "", len, &o_slot);
	for (int i = 0; i < rx->ngroups; i++) {
		const struct rx_group *g = &rx->g[i];
		int rc = pcre2_match(g->code, (PCRE2_SPTR)(w->buf + w->start), w->end - w->start, 0, 0, w->md, w->mc);
		if (rc == PCRE2_ERROR_NOMATCH)
			continue;
		if (rc < 0) {
			w->match_errors++;
			continue;
		}
		int erc = emit_match(w, g, emit, ctx);
		if (erc) {
			w->start = o_start, w->end = o_end, w->head = o_head, w->n = o_n;
			w->lens[slot] = o_slot;
			return erc;
		}
		rx_window_reset(w); /* FfDL: the window restarts after a match */
		return 0;
	}
	return 0;
}

/* --- saving and restoring a window --- */

void rx_window_save(const struct rx_window *w, struct sbuf *out)
{
	static const char hex[] = "0123456789abcdef";
	sb_addf(out, "rx1 %d\n", w->n);
	size_t pos = w->start;
	for (int k = 0; k < w->n; k++) {
		size_t len = w->lens[(w->head + k) % w->rx->lookahead];
		const unsigned char *s = (const unsigned char *)w->buf + pos;
		pos += len;
		len--; /* our '\n' */
		for (size_t i = 0; i < len;) {
			unsigned char c = s[i];
			size_t u;
			if (c == '\\') {
				sb_add(out, "\\\\", 2);
			} else if (c == '\n') {
				sb_add(out, "\\n", 2);
			} else if (c < 0x20 || c == 0x7f || (c >= 0x80 && !(u = em_utf8_seq(s + i, len - i)))) {
				char x[4] = { '\\', 'x', hex[c >> 4], hex[c & 15] };
				sb_add(out, x, 4);
			} else if (c >= 0x80) {
				sb_add(out, s + i, u);
				i += u;
				continue;
			} else {
				sb_addc(out, (char)c);
			}
			i++;
		}
		sb_addc(out, '\n');
	}
}

static int hexv(int c) { return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1; }

/* Decodes the escaped text s[0, n) into dst; returns the length or -1. */
static long unescape(const char *s, size_t n, char *dst)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c == 0x7f)
			return -1;
		if (c != '\\') {
			dst[o++] = (char)c;
			continue;
		}
		if (++i >= n)
			return -1;
		if (s[i] == '\\') {
			dst[o++] = '\\';
		} else if (s[i] == 'n') {
			dst[o++] = '\n';
		} else if (s[i] == 'x' && i + 2 < n) {
			int a = hexv((unsigned char)s[i + 1]), b = hexv((unsigned char)s[i + 2]);
			if (a < 0 || b < 0)
				return -1;
			dst[o++] = (char)(a * 16 + b);
			i += 2;
		} else {
			return -1;
		}
	}
	return (long)o;
}

int rx_window_load(struct rx_window *w, const char *state, size_t len, struct weft_err *e)
{
	rx_window_reset(w);
	if (len == 0)
		return 0;
	size_t p = 4;
	long n = 0;
	if (len < 6 || memcmp(state, "rx1 ", 4) != 0)
		return err_set(e, WEFT_EINVAL, "regex window state: does not start with \"rx1 N\"");
	for (; p < len && state[p] >= '0' && state[p] <= '9'; p++)
		if (n <= RX_LOOKAHEAD_MAX)
			n = n * 10 + (state[p] - '0');
	if (p == 4 || p >= len || state[p] != '\n')
		return err_set(e, WEFT_EINVAL, "regex window state: does not start with \"rx1 N\"");
	if (n > RX_LOOKAHEAD_MAX)
		return err_set(e, WEFT_EINVAL, "regex window state: holds more than %d lines, more than line_lookahead (%d)",
			       RX_LOOKAHEAD_MAX, w->rx->lookahead);
	if (n > w->rx->lookahead)
		return err_set(e, WEFT_EINVAL, "regex window state: holds %ld lines, more than line_lookahead (%d)", n,
			       w->rx->lookahead);
	p++;
	for (long k = 0; k < n; k++) {
		const char *nl = memchr(state + p, '\n', len - p);
		if (!nl) {
			rx_window_reset(w);
			return err_set(e, WEFT_EINVAL, "regex window state: ends inside line %ld of %ld", k + 1, n);
		}
		size_t el = (size_t)(nl - (state + p)), o_slot;
		make_room(w, el + 1);
		long dl = unescape(state + p, el, w->buf + w->end);
		if (dl < 0 || dl > RX_LINE_MAX) {
			rx_window_reset(w);
			return err_set(e, WEFT_EINVAL, "regex window state: line %ld %s", k + 1,
				       dl < 0 ? "has a bad escape or a control byte" : "is too long");
		}
		char *line = w->buf + w->end;
		push_line(w, line, (size_t)dl, &o_slot);
		p = (size_t)(nl - state) + 1;
	}
	if (p != len) {
		rx_window_reset(w);
		return err_set(e, WEFT_EINVAL, "regex window state: unexpected text after %ld lines", n);
	}
	return 0;
}

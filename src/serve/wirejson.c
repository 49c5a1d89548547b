/* wirejson.c - the reading half of wirejson.h: a strict JSON cursor (RFC 8259:
 * no NaN, no comments, no trailing commas, UTF-8 checked, the same text
 * jansson accepts) and the numeric array reader on the prediction hot path.
 * Numbers take Clinger's exact fast path (<= 19 digits, |exp| <= 22) and
 * strtod_l in the C locale otherwise. Nothing here allocates per value. */
#include "serve/wirejson.h"
#include "util/mem.h"
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const double p10[23] = {
	1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
	1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
};

void wj_init(struct wj *s, const char *buf, size_t len, struct weft_err *e)
{
	s->beg = s->p = buf;
	s->end = buf + len;
	s->depth = 0;
	s->syntax = 0;
	s->e = e;
}

int wj_syntax(struct wj *s, const char *at, const char *fmt, ...)
{
	if (!at)
		at = s->p;
	if (at > s->end)
		at = s->end;
	int line = 1;
	const char *ls = s->beg;
	for (const char *q = s->beg; q < at; q++)
		if (*q == '\n') {
			line++;
			ls = q + 1;
		}
	char what[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	s->syntax = 1;
	return err_set(s->e, WEFT_EINVAL, "not valid JSON at line %d column %d: %s", line, (int)(at - ls) + 1, what);
}

static inline void ws(struct wj *s)
{
	const char *p = s->p;
	while (p < s->end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
		p++;
	s->p = p;
}

int wj_peek(struct wj *s)
{
	ws(s);
	return s->p < s->end ? (unsigned char)*s->p : -1;
}

const char *wj_kind(int c)
{
	switch (c) {
	case '{': return "an object";
	case '[': return "an array";
	case '"': return "a string";
	case 't': case 'f': return "a boolean";
	case 'n': return "null";
	default:
		if (c == '-' || (c >= '0' && c <= '9'))
			return "a number";
		return NULL;
	}
}

/* 'x' for a printable character, else byte 0xNN */
static const char *show_char(char *buf, int c)
{
	if (c > 0x20 && c < 0x7f)
		snprintf(buf, 24, "character '%c'", c);
	else
		snprintf(buf, 24, "byte 0x%02x", c & 0xff);
	return buf;
}

/* The error for a value of the wrong kind: a type error if the text starts a
 * JSON value, a syntax error if it does not. */
static int wrong_kind(struct wj *s, const char *field, const char *want)
{
	char buf[24];
	int c = wj_peek(s);
	if (c < 0)
		return wj_syntax(s, NULL, "the text ends where %s's value should be", field);
	const char *k = wj_kind(c);
	if (!k)
		return wj_syntax(s, NULL, "unexpected %s where a value should be", show_char(buf, c));
	return err_set(s->e, WEFT_EINVAL, "%s must be %s, not %s", field, want, k);
}

int wj_finish(struct wj *s)
{
	ws(s);
	if (s->p != s->end)
		return wj_syntax(s, NULL, "unexpected text after the JSON value");
	return 0;
}

static int enter(struct wj *s)
{
	if (++s->depth > WJ_MAX_DEPTH)
		return wj_syntax(s, NULL, "nested deeper than %d arrays and objects", WJ_MAX_DEPTH);
	return 0;
}

int wj_obj_open(struct wj *s, const char *field)
{
	if (wj_peek(s) != '{')
		return wrong_kind(s, field, "an object");
	s->p++;
	return enter(s);
}

int wj_obj_next(struct wj *s, struct sbuf *key, int *n)
{
	int c = wj_peek(s);
	if (*n > 0) {
		if (c == ',') {
			s->p++;
			c = wj_peek(s);
			if (c != '"')
				return wj_syntax(s, NULL, "expected a member name after ','");
		} else if (c == '}') {
			s->p++;
			s->depth--;
			return 0;
		} else {
			return wj_syntax(s, NULL, "expected ',' or '}' after an object member");
		}
	} else if (c == '}') {
		s->p++;
		s->depth--;
		return 0;
	} else if (c != '"') {
		return wj_syntax(s, NULL, "expected a member name in quotes or '}'");
	}
	sb_reset(key);
	int rc = wj_string(s, key);
	if (rc)
		return rc;
	if (wj_peek(s) != ':')
		return wj_syntax(s, NULL, "expected ':' after the member name");
	s->p++;
	ws(s);
	(*n)++;
	return 1;
}

int wj_arr_open(struct wj *s, const char *field)
{
	if (wj_peek(s) != '[')
		return wrong_kind(s, field, "an array");
	s->p++;
	return enter(s);
}

int wj_arr_next(struct wj *s, int *n)
{
	int c = wj_peek(s);
	if (c == ']') {
		s->p++;
		s->depth--;
		return 0;
	}
	if (*n > 0) {
		if (c != ',')
			return wj_syntax(s, NULL, "expected ',' or ']' after an array element");
		s->p++;
		c = wj_peek(s);
		if (c == ']' || c == ',')
			return wj_syntax(s, NULL, "expected a value after ','");
	}
	(*n)++;
	return 1;
}

static int hex4(const char *p)
{
	int v = 0;
	for (int i = 0; i < 4; i++) {
		int c = (unsigned char)p[i], d;
		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			return -1;
		v = v * 16 + d;
	}
	return v;
}

static void put_utf8(struct sbuf *out, unsigned cp)
{
	char b[4];
	size_t n;
	if (cp < 0x80) {
		b[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		b[0] = (char)(0xc0 | cp >> 6);
		b[1] = (char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		b[0] = (char)(0xe0 | cp >> 12);
		b[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		b[2] = (char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		b[0] = (char)(0xf0 | cp >> 18);
		b[1] = (char)(0x80 | (cp >> 12 & 0x3f));
		b[2] = (char)(0x80 | (cp >> 6 & 0x3f));
		b[3] = (char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	sb_add(out, b, n);
}

size_t wj_utf8_len(const unsigned char *p, const unsigned char *end)
{
	unsigned c = p[0];
	size_t n;
	unsigned min;
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
		min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		min = 0x10000;
	} else {
		return 0;
	}
	if ((size_t)(end - p) < n)
		return 0;
	unsigned cp = c & (0x3f >> (n - 1));
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

int wj_string(struct wj *s, struct sbuf *out)
{
	const char *p = s->p + 1, *end = s->end, *run = p;
	for (;;) {
		while (p < end && (unsigned char)*p >= 0x20 && *p != '"' && *p != '\\' && (unsigned char)*p < 0x80)
			p++;
		if (p >= end)
			return wj_syntax(s, s->p, "a string is not closed");
		unsigned char c = (unsigned char)*p;
		if (c == '"')
			break;
		if (c < 0x20)
			return wj_syntax(s, p, "control character 0x%02x inside a string (escape it)", c);
		if (c >= 0x80) {
			size_t n = wj_utf8_len((const unsigned char *)p, (const unsigned char *)end);
			if (!n)
				return wj_syntax(s, p, "invalid UTF-8 inside a string");
			p += n;
			continue;
		}
		/* a backslash */
		if (out)
			sb_add(out, run, (size_t)(p - run));
		if (end - p < 2)
			return wj_syntax(s, s->p, "a string is not closed");
		char esc = p[1], ch = 0;
		switch (esc) {
		case '"': ch = '"'; break;
		case '\\': ch = '\\'; break;
		case '/': ch = '/'; break;
		case 'b': ch = '\b'; break;
		case 'f': ch = '\f'; break;
		case 'n': ch = '\n'; break;
		case 'r': ch = '\r'; break;
		case 't': ch = '\t'; break;
		case 'u': {
			int hi = end - p >= 6 ? hex4(p + 2) : -1;
			if (hi < 0)
				return wj_syntax(s, p, "\\u needs four hex digits");
			unsigned cp = (unsigned)hi;
			size_t used = 6;
			if (hi >= 0xdc00 && hi <= 0xdfff)
				return wj_syntax(s, p, "\\u%04x is a lone low surrogate", hi);
			if (hi >= 0xd800 && hi <= 0xdbff) {
				int lo = end - p >= 12 && p[6] == '\\' && p[7] == 'u' ? hex4(p + 8) : -1;
				if (lo < 0xdc00 || lo > 0xdfff)
					return wj_syntax(s, p, "\\u%04x is a high surrogate without its low half", hi);
				cp = 0x10000 + (((unsigned)hi - 0xd800) << 10) + ((unsigned)lo - 0xdc00);
				used = 12;
			}
			if (out)
				put_utf8(out, cp);
			p += used;
			run = p;
			continue;
		}
		default:
			return wj_syntax(s, p, "invalid escape '\\%c' in a string", esc);
		}
		if (out)
			sb_addc(out, ch);
		p += 2;
		run = p;
	}
	if (out) {
		sb_add(out, run, (size_t)(p - run));
		if (!out->buf)
			sb_add(out, "", 0);
	}
	s->p = p + 1;
	return 0;
}

int wj_get_string(struct wj *s, const char *field, struct sbuf *out)
{
	if (wj_peek(s) != '"')
		return wrong_kind(s, field, "a string");
	return wj_string(s, out);
}

static locale_t c_locale;
static pthread_once_t c_locale_once = PTHREAD_ONCE_INIT;
static void c_locale_init(void) { c_locale = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0); }

static double slow_strtod(const char *tok, size_t len)
{
	char small[64], *buf = len < sizeof small ? small : xmalloc(len + 1);
	memcpy(buf, tok, len);
	buf[len] = '\0';
	pthread_once(&c_locale_once, c_locale_init);
	double d = c_locale ? strtod_l(buf, NULL, c_locale) : strtod(buf, NULL);
	if (buf != small)
		free(buf);
	return d;
}

/* Parses the number at s->p (which starts with '-' or a digit). */
static inline int number(struct wj *s, struct wj_num *n)
{
	const char *p = s->p, *end = s->end, *start = p;
	n->neg = 0;
	if (*p == '-') {
		n->neg = 1;
		p++;
	}
	if (p >= end || *p < '0' || *p > '9')
		return wj_syntax(s, start, "'-' must be followed by digits");
	uint64_t m = 0, mag = 0;
	int sig = 0, exp10 = 0, inexact = 0, big = 0;
	if (*p == '0') {
		p++;
		if (p < end && *p >= '0' && *p <= '9')
			return wj_syntax(s, start, "numbers cannot have leading zeros");
	} else {
		while (p < end && *p >= '0' && *p <= '9') {
			unsigned d = (unsigned)(*p - '0');
			if (sig < 19) {
				m = m * 10 + d;
				sig++;
			} else {
				exp10++;
				inexact |= d != 0;
			}
			if (!big) {
				if (mag > (UINT64_MAX - d) / 10)
					big = 1;
				else
					mag = mag * 10 + d;
			}
			p++;
		}
	}
	int integral = 1;
	if (p < end && *p == '.') {
		integral = 0;
		p++;
		if (p >= end || *p < '0' || *p > '9')
			return wj_syntax(s, start, "a digit must follow the decimal point");
		while (p < end && *p >= '0' && *p <= '9') {
			unsigned d = (unsigned)(*p - '0');
			if (sig < 19) {
				m = m * 10 + d;
				if (m)
					sig++;
				exp10--;
			} else {
				inexact |= d != 0;
			}
			p++;
		}
	}
	if (p < end && (*p == 'e' || *p == 'E')) {
		integral = 0;
		p++;
		int eneg = 0, e = 0;
		if (p < end && (*p == '+' || *p == '-'))
			eneg = *p++ == '-';
		if (p >= end || *p < '0' || *p > '9')
			return wj_syntax(s, start, "an exponent needs digits");
		while (p < end && *p >= '0' && *p <= '9') {
			if (e < 100000)
				e = e * 10 + (*p - '0');
			p++;
		}
		exp10 += eneg ? -e : e;
	}
	n->tok = start;
	n->len = (size_t)(p - start);
	n->integral = integral;
	n->big = big;
	n->mag = mag;
	double d;
	if (m == 0)
		d = 0.0;
	else if (!inexact && m <= (1ULL << 53) && exp10 >= -22 && exp10 <= 22)
		d = exp10 >= 0 ? (double)m * p10[exp10] : (double)m / p10[-exp10];
	else
		d = fabs(slow_strtod(start, n->len));
	n->d = n->neg ? -d : d;
	s->p = p;
	return 0;
}

int wj_number(struct wj *s, struct wj_num *n)
{
	int c = wj_peek(s);
	if (c != '-' && !(c >= '0' && c <= '9'))
		return wj_syntax(s, NULL, "expected a number");
	return number(s, n);
}

int wj_get_int(struct wj *s, const char *field, int64_t lo, int64_t hi, int64_t *out)
{
	int c = wj_peek(s);
	if (c != '-' && !(c >= '0' && c <= '9'))
		return wrong_kind(s, field, "an integer");
	struct wj_num n;
	int rc = number(s, &n);
	if (rc)
		return rc;
	int64_t v;
	if (n.integral && !n.big && n.mag <= (uint64_t)INT64_MAX)
		v = n.neg ? -(int64_t)n.mag : (int64_t)n.mag;
	else if (!n.integral && n.d == floor(n.d) && fabs(n.d) < 9.2e18)
		v = (int64_t)n.d;
	else if (!n.integral && n.d != floor(n.d))
		return err_set(s->e, WEFT_EINVAL, "%s must be an integer, not %.*s", field, (int)(n.len > 40 ? 40 : n.len), n.tok);
	else
		return err_set(s->e, WEFT_EINVAL, "%s is %.*s, out of range %lld..%lld", field,
			       (int)(n.len > 40 ? 40 : n.len), n.tok, (long long)lo, (long long)hi);
	if (v < lo)
		return err_set(s->e, WEFT_EINVAL, "%s is %.*s; it must be at least %lld", field,
			       (int)(n.len > 40 ? 40 : n.len), n.tok, (long long)lo);
	if (v > hi)
		return err_set(s->e, WEFT_EINVAL, "%s is %.*s; it must be at most %lld", field,
			       (int)(n.len > 40 ? 40 : n.len), n.tok, (long long)hi);
	*out = v;
	return 0;
}

static int literal(struct wj *s)
{
	static const char *const lits[] = { "true", "false", "null" };
	for (int i = 0; i < 3; i++) {
		size_t n = strlen(lits[i]);
		if ((size_t)(s->end - s->p) >= n && memcmp(s->p, lits[i], n) == 0) {
			s->p += n;
			return 0;
		}
	}
	return wj_syntax(s, NULL, "unknown literal (JSON has true, false and null)");
}

int wj_skip(struct wj *s)
{
	char buf[24];
	struct sbuf key = SBUF_INIT;
	int c = wj_peek(s), rc = 0, n = 0;
	struct wj_num num;
	switch (c) {
	case -1:
		return wj_syntax(s, NULL, "the text ends where a value should be");
	case '"':
		return wj_string(s, NULL);
	case '{':
		if ((rc = wj_obj_open(s, "")))
			return rc;
		while ((rc = wj_obj_next(s, &key, &n)) == 1)
			if ((rc = wj_skip(s)))
				break;
		sb_release(&key);
		return rc;
	case '[':
		if ((rc = wj_arr_open(s, "")))
			return rc;
		while ((rc = wj_arr_next(s, &n)) == 1)
			if ((rc = wj_skip(s)))
				break;
		return rc;
	case 't': case 'f': case 'n':
		return literal(s);
	default:
		if (c == '-' || (c >= '0' && c <= '9'))
			return number(s, &num);
		if (c == 'N' || c == 'I')
			return wj_syntax(s, NULL, "NaN and Infinity are not JSON numbers");
		return wj_syntax(s, NULL, "unexpected %s where a value should be", show_char(buf, c));
	}
}

int wj_load(struct wj *s, json_t **out)
{
	ws(s);
	const char *start = s->p;
	int rc = wj_skip(s);
	if (rc)
		return rc;
	json_error_t je;
	*out = json_loadb(start, (size_t)(s->p - start), JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
	if (!*out) {
		/* text our scanner accepts but jansson will not hold (an integer over
		 * 64 bits, a real that overflows a double) */
		size_t at = je.position > 0 ? (size_t)je.position - 1 : 0;
		return wj_syntax(s, start + at, "%s", je.text);
	}
	return 0;
}

/* ---- numeric arrays ---------------------------------------------------- */

const char *wj_conv_name(enum wj_conv c)
{
	static const char *const names[] = {
		[WJ_F32] = "FP32", [WJ_F64] = "FP64", [WJ_F16] = "FP16", [WJ_BF16] = "BF16", [WJ_BOOL] = "BOOL",
		[WJ_I8] = "INT8", [WJ_I16] = "INT16", [WJ_I32] = "INT32", [WJ_I64] = "INT64",
		[WJ_U8] = "UINT8", [WJ_U16] = "UINT16", [WJ_U32] = "UINT32", [WJ_U64] = "UINT64",
	};
	return (unsigned)c < sizeof names / sizeof *names ? names[c] : "?";
}

/* field[i0][i1]... for the first k indices */
static const char *path(char *buf, size_t size, const char *field, const int64_t *idx, int k)
{
	size_t n = (size_t)snprintf(buf, size, "%s", field);
	for (int i = 0; i < k && n < size; i++)
		n += (size_t)snprintf(buf + n, size - n, "[%lld]", (long long)idx[i]);
	return buf;
}

struct ndstate {
	int64_t idx[WT_MAX_DIMS];      /* elements done in each open array */
	int64_t ref[WT_MAX_DIMS][WT_MAX_DIMS]; /* where the first array of each depth was */
	int known[WT_MAX_DIMS];
	int64_t leaf_at[WT_MAX_DIMS];  /* where the first leaf was */
	int64_t deep_at[WT_MAX_DIMS];  /* where the first array at max_depth was */
};

static int ragged(struct wj *s, struct wj_nd *nd, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int ragged(struct wj *s, struct wj_nd *nd, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	err_set(s->e, WEFT_EINVAL, "%s", msg);
	return nd->lenient ? WJ_RAGGED : WEFT_EINVAL;
}

static int bad_value(struct wj *s, struct wj_nd *nd, const char *field, const int64_t *idx, int depth,
		     const struct wj_num *n, const char *why)
{
	char at[512];
	path(at, sizeof at, field, idx, depth);
	return err_set(s->e, WEFT_EINVAL, "%s is %.*s%s, which does not fit %s%s", at, (int)(n->len > 40 ? 40 : n->len),
		       n->tok, n->len > 40 ? "..." : "", wj_conv_name(nd->conv), why);
}

/* One leaf (the cursor on a number, or on true/false for BOOL) as a float. */
static inline int leaf(struct wj *s, struct wj_nd *nd, const char *field, const int64_t *idx, int depth, float *out)
{
	int c = (unsigned char)*s->p;
	if (nd->conv == WJ_BOOL && (c == 't' || c == 'f')) {
		if (s->end - s->p >= 4 && memcmp(s->p, "true", 4) == 0) {
			s->p += 4;
			*out = 1.0f;
			return 0;
		}
		if (s->end - s->p >= 5 && memcmp(s->p, "false", 5) == 0) {
			s->p += 5;
			*out = 0.0f;
			return 0;
		}
		return wj_syntax(s, NULL, "unknown literal (JSON has true, false and null)");
	}
	struct wj_num n;
	int rc = number(s, &n);
	if (rc)
		return rc;
	double d = n.d, lim;
	switch (nd->conv) {
	case WJ_F32: case WJ_F64: case WJ_BF16: case WJ_F16:
		/* below 0x1.ffffffp127 rounds to FLT_MAX at most; FP16 and BF16 are
		 * checked on the float, so what is kept reads back the same */
		if (!(fabs(d) < 0x1.ffffffp127))
			return bad_value(s, nd, field, idx, depth, &n, nd->conv == WJ_F64 ? " (weft computes in float32)" : "");
		*out = (float)d;
		lim = nd->conv == WJ_F16 ? 65520.0 : nd->conv == WJ_BF16 ? 0x1.ffp127 : INFINITY;
		if (!(fabsf(*out) < lim))
			return bad_value(s, nd, field, idx, depth, &n, "");
		return 0;
	case WJ_BOOL:
		if (d != 0.0 && d != 1.0)
			return bad_value(s, nd, field, idx, depth, &n, " (true, false, 0 or 1)");
		*out = d != 0.0 ? 1.0f : 0.0f; /* -0 too is false, +0 */
		return 0;
	default:
		break;
	}
	static const int64_t lo[] = { [WJ_I8] = -128, [WJ_I16] = -32768, [WJ_I32] = INT32_MIN, [WJ_I64] = INT64_MIN,
				      [WJ_U8] = 0, [WJ_U16] = 0, [WJ_U32] = 0, [WJ_U64] = 0 };
	static const uint64_t hi[] = { [WJ_I8] = 127, [WJ_I16] = 32767, [WJ_I32] = INT32_MAX, [WJ_I64] = INT64_MAX,
				       [WJ_U8] = 255, [WJ_U16] = 65535, [WJ_U32] = UINT32_MAX, [WJ_U64] = UINT64_MAX };
	static const char *const range[] = { [WJ_I8] = " (-128..127)", [WJ_I16] = " (-32768..32767)",
					     [WJ_I32] = " (-2147483648..2147483647)",
					     [WJ_I64] = " (-9223372036854775808..9223372036854775807)",
					     [WJ_U8] = " (0..255)", [WJ_U16] = " (0..65535)", [WJ_U32] = " (0..4294967295)",
					     [WJ_U64] = " (0..18446744073709551615)" };
	uint64_t mag;
	if (n.integral) {
		if (n.big)
			return bad_value(s, nd, field, idx, depth, &n, range[nd->conv]);
		mag = n.mag;
	} else {
		if (d != floor(d))
			return bad_value(s, nd, field, idx, depth, &n, ": not an integer");
		if (fabs(d) >= 18446744073709551616.0)
			return bad_value(s, nd, field, idx, depth, &n, range[nd->conv]);
		mag = (uint64_t)fabs(d);
	}
	int neg = n.neg && mag != 0;
	if (neg ? (lo[nd->conv] == 0 || mag - 1 > (uint64_t)(-(lo[nd->conv] + 1))) : mag > hi[nd->conv])
		return bad_value(s, nd, field, idx, depth, &n, range[nd->conv]);
	*out = neg ? -(float)mag : (float)mag;
	return 0;
}

static int push_value(struct wj *s, struct wj_nd *nd, const char *field, float v)
{
	if (nd->fixed) {
		if (nd->n < nd->fixed_n)
			nd->fixed[nd->n] = v;
		nd->n++;
		return 0;
	}
	if (nd->n >= nd->cap) {
		if (nd->n >= nd->max_numel)
			return err_set(s->e, WEFT_ETOOBIG, "%s has more than %lld values, the limit", field,
				       (long long)nd->max_numel);
		int64_t cap = nd->cap ? nd->cap * 2 : 256;
		if (cap > nd->max_numel)
			cap = nd->max_numel;
		nd->data = xrealloc(nd->data, (size_t)cap * sizeof *nd->data);
		nd->cap = cap;
	}
	nd->data[nd->n++] = v;
	return 0;
}

int wj_fits(const struct wj *s, int64_t numel)
{
	return numel <= (int64_t)((s->end - s->p) / 2) + 1;
}

int wj_ndarray(struct wj *s, struct wj_nd *nd, const char *field)
{
	int rc = wj_arr_open(s, field);
	if (rc)
		return rc;
	struct ndstate st;
	char a[512], b[512];
	int depth = 1, max_depth = 1, leaf_depth = -1;
	st.idx[0] = 0;
	memset(st.known, 0, sizeof st.known);
	nd->n = 0;
	nd->ndim = 0;
	for (;;) {
		ws(s);
		if (s->p >= s->end)
			return wj_syntax(s, NULL, "the text ends inside %s", field);
		int c = (unsigned char)*s->p;
		if (c == ']' && st.idx[depth - 1] == 0)
			goto close;
		/* an element */
		if (c == '[') {
			if (leaf_depth >= 0 && depth >= leaf_depth)
				return ragged(s, nd, "%s is an array, but %s is a number: the array is ragged",
					      path(a, sizeof a, field, st.idx, depth),
					      path(b, sizeof b, field, st.leaf_at, leaf_depth));
			if (depth >= WT_MAX_DIMS)
				return ragged(s, nd, "%s nests deeper than %d levels", field, WT_MAX_DIMS);
			if ((rc = enter(s)))
				return rc;
			s->p++;
			st.idx[depth++] = 0;
			if (depth > max_depth) {
				max_depth = depth;
				memcpy(st.deep_at, st.idx, sizeof st.idx[0] * (size_t)(depth - 1));
			}
			continue;
		}
		if (c == '-' || (c >= '0' && c <= '9') || (nd->conv == WJ_BOOL && (c == 't' || c == 'f'))) {
			if (leaf_depth != depth) {
				if (leaf_depth >= 0 || max_depth > depth)
					return ragged(s, nd, "%s is a number, but %s is an array: the array is ragged",
						      path(a, sizeof a, field, st.idx, depth),
						      path(b, sizeof b, field, leaf_depth >= 0 ? st.leaf_at : st.deep_at, depth));
				leaf_depth = depth;
				memcpy(st.leaf_at, st.idx, sizeof st.idx[0] * (size_t)depth);
			}
			float v = 0;
			if ((rc = leaf(s, nd, field, st.idx, depth, &v)))
				return nd->lenient && !s->syntax ? WJ_RAGGED : rc; /* maybe beside strings */
			if ((rc = push_value(s, nd, field, v)))
				return rc;
			st.idx[depth - 1]++;
		} else {
			const char *k = wj_kind(c);
			if (!k && (c == 'N' || c == 'I'))
				return wj_syntax(s, NULL, "NaN and Infinity are not JSON numbers");
			if (!k)
				return wj_syntax(s, NULL, "unexpected %s in %s", show_char(a, c), field);
			if (nd->lenient)
				return WJ_NOT_NUMERIC;
			return err_set(s->e, WEFT_EINVAL, "%s is %s, not a number (%s)", path(a, sizeof a, field, st.idx, depth),
				       k, wj_conv_name(nd->conv));
		}
	after:
		ws(s);
		if (s->p >= s->end)
			return wj_syntax(s, NULL, "the text ends inside %s", field);
		if (*s->p == ',') {
			s->p++;
			ws(s);
			if (s->p < s->end && (*s->p == ']' || *s->p == ','))
				return wj_syntax(s, NULL, "expected a value after ','");
			continue;
		}
		if (*s->p != ']')
			return wj_syntax(s, NULL, "expected ',' or ']' in %s", field);
	close:
		s->p++;
		s->depth--;
		{
			int lv = depth - 1;
			int64_t count = st.idx[lv];
			if (!st.known[lv]) {
				st.known[lv] = 1;
				nd->shape[lv] = count;
				memcpy(st.ref[lv], st.idx, sizeof st.idx[0] * (size_t)lv);
			} else if (nd->shape[lv] != count) {
				return ragged(s, nd, "%s has %lld values, %s has %lld: the array is ragged",
					      path(a, sizeof a, field, st.idx, lv), (long long)count,
					      path(b, sizeof b, field, st.ref[lv], lv), (long long)nd->shape[lv]);
			}
			if (--depth == 0)
				break;
			st.idx[depth - 1]++;
		}
		goto after;
	}
	nd->ndim = leaf_depth >= 0 ? leaf_depth : max_depth;
	return 0;
}

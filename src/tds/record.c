/* record.c - the small vocabulary every metrics extractor shares: FfDL's
 * value type names, checking a value's text against its type (so the store
 * can trust that INT/FLOAT values are finite numbers), reading the many ways
 * logs write a time, and quoting user text safely into error messages. All
 * pure, locale-independent for numbers, and safe on arbitrary bytes. */
#include "tds/record.h"
#include "tds/regex.h"
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static const char *const type_names[] = { "STRING", "JSONSTRING", "INT", "FLOAT" };

const char *em_type_name(enum em_type t)
{
	if ((int)t < 0 || (int)t > EM_FLOAT)
		return "STRING";
	return type_names[t];
}

int em_type_parse(const char *name)
{
	if (!name)
		return -1;
	for (int i = 0; i <= EM_FLOAT; i++)
		if (!strcasecmp(name, type_names[i]))
			return i;
	return -1;
}

static int is_digit(int c) { return c >= '0' && c <= '9'; }
static int is_blank(int c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v'; }

static int hexval(int c)
{
	if (is_digit(c))
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static void trim(const char **s, size_t *len)
{
	while (*len && is_blank((unsigned char)**s))
		(*s)++, (*len)--;
	while (*len && is_blank((unsigned char)(*s)[*len - 1]))
		(*len)--;
}

/* [+-]? (digits | 0x hexdigits) within int64 */
static int parse_int(const char *s, size_t len, int64_t *out)
{
	size_t i = 0;
	int neg = 0;
	if (i < len && (s[i] == '+' || s[i] == '-'))
		neg = s[i++] == '-';
	int base = 10;
	if (i + 2 < len && s[i] == '0' && (s[i + 1] == 'x' || s[i + 1] == 'X')) {
		base = 16;
		i += 2;
	}
	if (i == len)
		return -1;
	/* accumulate as a negative number: its range is one larger */
	const int64_t lim = INT64_MIN;
	int64_t v = 0;
	for (; i < len; i++) {
		int d = base == 16 ? hexval((unsigned char)s[i]) : (is_digit((unsigned char)s[i]) ? s[i] - '0' : -1);
		if (d < 0)
			return -1;
		if (v < (lim + d) / base)
			return -1;
		v = v * base - d;
	}
	if (!neg) {
		if (v == INT64_MIN)
			return -1;
		v = -v;
	}
	*out = v;
	return 0;
}

/* a finite number that strtod reads whole */
static int parse_float(const char *s, size_t len, double *out)
{
	char buf[130];
	if (len == 0 || len >= sizeof buf)
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	/* strtod skips leading blanks and knows "nan", "inf", "infinity": the
	 * first byte must start a number */
	unsigned char c0 = (unsigned char)buf[buf[0] == '+' || buf[0] == '-'];
	if (!is_digit(c0) && c0 != '.')
		return -1;
	char *end;
	double d = strtod(buf, &end);
	if (end != buf + len || !isfinite(d))
		return -1;
	*out = d;
	return 0;
}

int em_value_fit(int type, const char *s, size_t len, char *numbuf, const char **out, size_t *outlen, double *num)
{
	const char *t = s;
	size_t tl = len;
	int64_t iv;
	double dv;
	switch (type) {
	case EM_STRING:
		*out = s, *outlen = len;
		return EM_STRING;
	case EM_JSONSTRING: {
		json_t *j = json_loadb(s, len, JSON_DECODE_ANY, NULL);
		if (!j)
			return -1;
		json_decref(j);
		*out = s, *outlen = len;
		return EM_JSONSTRING;
	}
	case EM_INT:
	case EM_FLOAT:
	case -1:
		trim(&t, &tl);
		if (type != EM_FLOAT && parse_int(t, tl, &iv) == 0) {
			int n = snprintf(numbuf, EM_NUMBUF, "%lld", (long long)iv);
			*out = numbuf, *outlen = (size_t)n;
			if (num)
				*num = (double)iv;
			return EM_INT;
		}
		if (type != EM_INT && parse_float(t, tl, &dv) == 0) {
			*out = t, *outlen = tl;
			if (num)
				*num = dv;
			return EM_FLOAT;
		}
		if (type == -1) {
			*out = s, *outlen = len;
			return EM_STRING;
		}
		return -1;
	default:
		return -1;
	}
}

size_t em_fmt_double(double d, char *buf, size_t size)
{
	int n = 0;
	if (fabs(d) < 1e15 && d == (double)(long long)d) {
		n = snprintf(buf, size, "%lld", (long long)d);
	} else {
		for (int p = 1; p <= 17; p++) {
			n = snprintf(buf, size, "%.*g", p, d);
			if (strtod(buf, NULL) == d)
				break;
		}
	}
	return n > 0 ? (size_t)n : 0;
}

/* --- text for messages and JSON scalars --- */

/* Length of the valid UTF-8 sequence at s (n bytes available), or 0. */
size_t em_utf8_seq(const unsigned char *s, size_t n)
{
	unsigned c = s[0];
	size_t len;
	unsigned min;
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2, min = 0x80;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3, min = 0x800;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4, min = 0x10000;
	else
		return 0;
	if (n < len)
		return 0;
	unsigned cp = c & (0x7f >> len);
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

/* s[0, len) into buf for a message: control bytes and invalid UTF-8 as '?',
 * cut (at a character boundary) after 40 bytes with "..." */
static size_t message_text(const char *s, size_t len, char *buf, size_t size)
{
	size_t o = 0, i = 0;
	while (i < len && i < 40) {
		const unsigned char *p = (const unsigned char *)s + i;
		size_t n = em_utf8_seq(p, len - i);
		if (o + n + 5 > size)
			break;
		if (n == 0 || *p < 0x20 || *p == 0x7f) {
			buf[o++] = '?';
			i++;
			continue;
		}
		memcpy(buf + o, p, n);
		o += n, i += n;
	}
	if (i < len && o + 4 <= size) {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o] = '\0';
	return o;
}

const char *em_quote(const char *s, size_t len, char *buf, size_t size)
{
	buf[0] = '"';
	size_t o = 1 + message_text(s, len, buf + 1, size - 2);
	buf[o++] = '"';
	buf[o] = '\0';
	return buf;
}

const char *em_key_text(const char *s, char *buf, size_t size)
{
	message_text(s, strlen(s), buf, size);
	return buf;
}

/* A JSON string or number as text in s and len (numbers written into nb). */
int em_json_text(const json_t *v, char *nb, size_t nbsize, const char **s, size_t *len)
{
	if (json_is_string(v)) {
		*s = json_string_value(v);
		*len = json_string_length(v);
	} else if (json_is_integer(v)) {
		*len = (size_t)snprintf(nb, nbsize, "%lld", (long long)json_integer_value(v));
		*s = nb;
	} else if (json_is_real(v)) {
		*len = em_fmt_double(json_real_value(v), nb, nbsize);
		*s = nb;
	} else {
		return -1;
	}
	return 0;
}

/* --- times --- */

/* n digits at s[*i] as a number; -1 if not all digits */
static int digits(const char *s, size_t len, size_t *i, int n)
{
	if (*i + (size_t)n > len)
		return -1;
	int v = 0;
	for (int k = 0; k < n; k++) {
		unsigned char c = (unsigned char)s[*i + (size_t)k];
		if (!is_digit(c))
			return -1;
		v = v * 10 + (c - '0');
	}
	*i += (size_t)n;
	return v;
}

/* fractional seconds after '.' or ',' at s[*i] as ms */
static int fraction_ms(const char *s, size_t len, size_t *i)
{
	int ms = 0, n = 0;
	if (*i < len && (s[*i] == '.' || s[*i] == ',') && *i + 1 < len && is_digit((unsigned char)s[*i + 1])) {
		(*i)++;
		while (*i < len && is_digit((unsigned char)s[*i])) {
			if (n < 3)
				ms = ms * 10 + (s[*i] - '0');
			n++;
			(*i)++;
		}
		while (n < 3)
			ms *= 10, n++;
	}
	return ms;
}

static int valid_tm(const struct tm *tm)
{
	return tm->tm_mon >= 0 && tm->tm_mon < 12 && tm->tm_mday >= 1 && tm->tm_mday <= 31 && tm->tm_hour <= 23 &&
	       tm->tm_min <= 59 && tm->tm_sec <= 60;
}

/* tm in UTC minus offset_s, or local time when local */
static int64_t tm_to_ms(struct tm *tm, int local, long offset_s, int ms)
{
	time_t t;
	if (local) {
		tm->tm_isdst = -1;
		t = mktime(tm);
	} else {
		t = timegm(tm);
	}
	if (t == (time_t)-1)
		return 0;
	int64_t r = ((int64_t)t - offset_s) * 1000 + ms;
	return r > 0 ? r : 0;
}

static int64_t parse_iso(const char *s, size_t len)
{
	size_t i = 0;
	struct tm tm = { 0 };
	int y = digits(s, len, &i, 4);
	if (y < 1970 || i >= len || s[i++] != '-')
		return 0;
	int mo = digits(s, len, &i, 2);
	if (mo < 0 || i >= len || s[i++] != '-')
		return 0;
	int d = digits(s, len, &i, 2);
	if (d < 0)
		return 0;
	tm.tm_year = y - 1900, tm.tm_mon = mo - 1, tm.tm_mday = d;
	int ms = 0, local = 1;
	long off = 0;
	if (i < len && (s[i] == 'T' || s[i] == 't' || s[i] == ' ')) {
		i++;
		int h = digits(s, len, &i, 2);
		if (h < 0 || i >= len || s[i++] != ':')
			return 0;
		int mi = digits(s, len, &i, 2);
		if (mi < 0)
			return 0;
		int sec = 0;
		if (i < len && s[i] == ':') {
			i++;
			if ((sec = digits(s, len, &i, 2)) < 0)
				return 0;
			ms = fraction_ms(s, len, &i);
		}
		tm.tm_hour = h, tm.tm_min = mi, tm.tm_sec = sec;
		if (i < len && (s[i] == 'Z' || s[i] == 'z')) {
			local = 0;
			i++;
		} else if (i < len && (s[i] == '+' || s[i] == '-')) {
			int sign = s[i++] == '-' ? -1 : 1;
			int oh = digits(s, len, &i, 2), om = 0;
			if (oh < 0 || oh > 23)
				return 0;
			if (i < len && s[i] == ':')
				i++;
			if (i < len && is_digit((unsigned char)s[i]) && (om = digits(s, len, &i, 2)) < 0)
				return 0;
			local = 0;
			off = sign * (oh * 3600L + om * 60L);
		}
	}
	if (i != len || !valid_tm(&tm))
		return 0;
	return tm_to_ms(&tm, local, off, ms);
}

/* glog: [IWEF]MMDD or [IWEF]YYYYMMDD, then " HH:MM:SS.uuuuuu" */
static int64_t parse_glog(const char *s, size_t len)
{
	size_t i = 1, n = 1;
	while (n < len && is_digit((unsigned char)s[n]))
		n++;
	if (n != 5 && n != 9)
		return 0;
	struct tm tm = { 0 };
	int y = n == 9 ? digits(s, len, &i, 4) : 0;
	int mo = digits(s, len, &i, 2), d = digits(s, len, &i, 2);
	if (i >= len || s[i] != ' ')
		return 0;
	while (i < len && s[i] == ' ')
		i++;
	int h = digits(s, len, &i, 2);
	if (h < 0 || i >= len || s[i++] != ':')
		return 0;
	int mi = digits(s, len, &i, 2);
	if (mi < 0 || i >= len || s[i++] != ':')
		return 0;
	int sec = digits(s, len, &i, 2);
	if (sec < 0)
		return 0;
	int ms = fraction_ms(s, len, &i);
	if (i != len)
		return 0;
	time_t now = time(NULL);
	struct tm lt;
	localtime_r(&now, &lt);
	tm.tm_year = n == 9 ? y - 1900 : lt.tm_year;
	tm.tm_mon = mo - 1, tm.tm_mday = d, tm.tm_hour = h, tm.tm_min = mi, tm.tm_sec = sec;
	if (!valid_tm(&tm) || tm.tm_year < 70)
		return 0;
	struct tm keep = tm;
	int64_t r = tm_to_ms(&tm, 1, 0, ms);
	if (n == 5 && r > (int64_t)now * 1000 + 86400000) {
		keep.tm_year--;
		r = tm_to_ms(&keep, 1, 0, ms);
	}
	return r;
}

int64_t em_time_parse(const char *s, size_t len)
{
	trim(&s, &len);
	if (len == 0 || len > 64)
		return 0;
	if (len >= 10 && is_digit((unsigned char)s[0]) && s[4] == '-')
		return parse_iso(s, len);
	if ((s[0] == 'I' || s[0] == 'W' || s[0] == 'E' || s[0] == 'F') && len > 1 && is_digit((unsigned char)s[1]))
		return parse_glog(s, len);
	double d;
	if (!is_digit((unsigned char)s[0]) || parse_float(s, len, &d))
		return 0;
	if (d < 1e11)
		d *= 1000; /* seconds, as time.time() prints */
	else if (d >= 1e17)
		d /= 1e6; /* nanoseconds */
	else if (d >= 1e14)
		d /= 1e3; /* microseconds */
	if (d < 1 || d > 9e15)
		return 0;
	return (int64_t)d;
}

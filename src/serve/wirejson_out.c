/* wirejson_out.c - the writing half of wirejson.h: escaped strings, the
 * shortest float32 text that reads back exactly, value arrays written straight
 * into the sbuf (one grow per array), base64 and random request ids.
 * The float printer tries 6..9 significant digits and checks each candidate
 * by exact double arithmetic (m / 10^k is correctly rounded for |k| <= 22,
 * the same value strtod gives); outside that range it asks snprintf/strtod_l. */
#include "serve/wirejson.h"
#include "util/mem.h"
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

static const double p10[23] = {
	1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
	1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
};

/* 10^e for the decimal exponents a float32 can have (-46..39); the compiler
 * rounds each literal as strtod does */
static const double pow10_table[86] = {
	1e-46, 1e-45, 1e-44, 1e-43, 1e-42, 1e-41, 1e-40, 1e-39, 1e-38, 1e-37, 1e-36, 1e-35, 1e-34, 1e-33,
	1e-32, 1e-31, 1e-30, 1e-29, 1e-28, 1e-27, 1e-26, 1e-25, 1e-24, 1e-23, 1e-22, 1e-21, 1e-20, 1e-19,
	1e-18, 1e-17, 1e-16, 1e-15, 1e-14, 1e-13, 1e-12, 1e-11, 1e-10, 1e-9, 1e-8, 1e-7, 1e-6, 1e-5, 1e-4,
	1e-3, 1e-2, 1e-1, 1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14,
	1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22, 1e23, 1e24, 1e25, 1e26, 1e27, 1e28, 1e29, 1e30,
	1e31, 1e32, 1e33, 1e34, 1e35, 1e36, 1e37, 1e38, 1e39,
};

static inline double p10x(int e)
{
	return pow10_table[e + 46];
}

static locale_t c_locale;
static pthread_once_t c_locale_once = PTHREAD_ONCE_INIT;
static void c_locale_init(void) { c_locale = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0); }

/* m (prec digits) * 10^(e10 - prec + 1) read back as a float, by strtod_l */
static float readback(uint64_t m, int e10, int prec)
{
	char buf[48];
	snprintf(buf, sizeof buf, "%llue%d", (unsigned long long)m, e10 - prec + 1);
	pthread_once(&c_locale_once, c_locale_init);
	return (float)(c_locale ? strtod_l(buf, NULL, c_locale) : strtod(buf, NULL));
}

/* The digits of d (> 0) at prec significant digits, by snprintf: m, e10. */
static void digits_slow(double d, int prec, uint64_t *m, int *e10)
{
	char buf[48];
	snprintf(buf, sizeof buf, "%.*e", prec - 1, d);
	uint64_t v = 0;
	const char *p = buf;
	for (; *p && *p != 'e'; p++)
		if (*p >= '0' && *p <= '9')
			v = v * 10 + (uint64_t)(*p - '0');
	*m = v;
	*e10 = *p == 'e' ? atoi(p + 1) : 0;
}

static char *put_u64(char *p, uint64_t v)
{
	char tmp[24];
	int n = 0;
	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		*p++ = tmp[--n];
	return p;
}

/* d (= fa > 0, first digit at 10^e10) rounded to prec significant digits:
 * m and its exponent; 1 if that text reads back as fa. */
static int try_prec(double d, float fa, int e10, int prec, uint64_t *m, int *me10)
{
	int k = prec - 1 - e10;
	if (k > 22 || k < -22) {
		digits_slow(d, prec, m, me10);
		return readback(*m, *me10, prec) == fa;
	}
	double sc = k >= 0 ? d * p10[k] : d / p10[-k];
	*m = (uint64_t)(sc + 0.5);
	*me10 = e10;
	if ((double)*m >= p10[prec]) { /* rounded up to 10^prec */
		*m /= 10;
		(*me10)++;
		k--;
		if (k < -22)
			return readback(*m, *me10, prec) == fa;
	}
	double v = k >= 0 ? (double)*m / p10[k] : (double)*m * p10[-k];
	return (float)v == fa;
}

int wj_fmt_f32(char *out, float f)
{
	if (!isfinite(f)) {
		memcpy(out, "null", 5);
		return 4;
	}
	char *p = out;
	if (signbit(f))
		*p++ = '-';
	float fa = fabsf(f);
	double d = fa;
	if (d == 0) {
		memcpy(p, "0.0", 4);
		return (int)(p - out) + 3;
	}
	/* floor(log10(d)) from the binary exponent (78913 / 2^18 ~ log10(2)), then exact */
	int e2;
	frexp(d, &e2);
	int e10 = ((e2 - 1) * 78913) >> 18;
	while (e10 < 39 && d >= p10x(e10 + 1))
		e10++;
	while (e10 > -46 && d < p10x(e10))
		e10--;
	uint64_t m = 0;
	int me10 = e10, prec;
	/* subnormals have few significant digits: search them from 1 */
	for (prec = fa < 0x1p-126f ? 1 : 6; prec <= 9; prec++)
		if (try_prec(d, fa, e10, prec, &m, &me10))
			break;
	if (prec > 9) { /* not reached for IEEE floats; be safe */
		prec = 9;
		digits_slow(d, prec, &m, &me10);
	} else if (prec == 6 && m % 10 == 0 && fa >= 0x1p-126f) {
		/* a short number: is there a shorter text than the 6-digit rounding
		 * (whose zeros are dropped below)? e.g. 1e-45 for 1.4013e-45 */
		int nd6 = 6;
		for (uint64_t v = m; v % 10 == 0; v /= 10)
			nd6--;
		for (int p2 = 1; p2 < nd6; p2++) {
			uint64_t m2;
			int e2b;
			if (try_prec(d, fa, e10, p2, &m2, &e2b)) {
				m = m2;
				me10 = e2b;
				break;
			}
		}
	}
	/* digits, trailing zeros dropped */
	char dig[24];
	int nd = 0;
	{
		char tmp[24];
		int n = 0;
		uint64_t v = m;
		do {
			tmp[n++] = (char)('0' + v % 10);
			v /= 10;
		} while (v);
		while (n)
			dig[nd++] = tmp[--n];
		while (nd > 1 && dig[nd - 1] == '0')
			nd--;
	}
	if (me10 < -4 || me10 >= 16) {
		*p++ = dig[0];
		if (nd > 1) {
			*p++ = '.';
			memcpy(p, dig + 1, (size_t)nd - 1);
			p += nd - 1;
		}
		*p++ = 'e';
		*p++ = me10 < 0 ? '-' : '+';
		int ae = me10 < 0 ? -me10 : me10;
		if (ae < 10)
			*p++ = '0';
		p = put_u64(p, (uint64_t)ae);
	} else if (me10 >= 0) {
		for (int i = 0; i <= me10; i++)
			*p++ = i < nd ? dig[i] : '0';
		*p++ = '.';
		if (nd > me10 + 1) {
			memcpy(p, dig + me10 + 1, (size_t)(nd - me10 - 1));
			p += nd - me10 - 1;
		} else {
			*p++ = '0';
		}
	} else {
		*p++ = '0';
		*p++ = '.';
		for (int i = -1; i > me10; i--)
			*p++ = '0';
		memcpy(p, dig, (size_t)nd);
		p += nd;
	}
	*p = '\0';
	return (int)(p - out);
}

static char *put_int(char *p, float v, enum wj_conv conv)
{
	if (!isfinite(v)) {
		memcpy(p, "null", 4);
		return p + 4;
	}
	double r = nearbyint((double)v);
	static const double lo[] = { [WJ_I8] = -128, [WJ_I16] = -32768, [WJ_I32] = -2147483648.0,
				     [WJ_I64] = -9223372036854775808.0, [WJ_U8] = 0, [WJ_U16] = 0, [WJ_U32] = 0, [WJ_U64] = 0 };
	static const double hi[] = { [WJ_I8] = 127, [WJ_I16] = 32767, [WJ_I32] = 2147483647.0,
				     [WJ_I64] = 9223372036854775807.0, [WJ_U8] = 255, [WJ_U16] = 65535,
				     [WJ_U32] = 4294967295.0, [WJ_U64] = 18446744073709551615.0 };
	if (r < lo[conv])
		r = lo[conv];
	if (r < 0) {
		*p++ = '-';
		if (r <= -9223372036854775808.0)
			return put_u64(p, 9223372036854775808ULL);
		return put_u64(p, (uint64_t)-r);
	}
	if (r >= hi[conv])
		return put_u64(p, conv == WJ_U64 ? UINT64_MAX : conv == WJ_I64 ? (uint64_t)INT64_MAX : (uint64_t)hi[conv]);
	return put_u64(p, (uint64_t)r);
}

void wj_put_values(struct sbuf *sb, const float *v, int64_t n, enum wj_conv conv)
{
	if (n <= 0)
		return;
	char *p = NULL;
	for (int64_t i = 0; i < n; i++) {
		if (i % 1024 == 0) { /* room for 1024 values of at most 24 bytes and a comma */
			if (p)
				sb->len = (size_t)(p - sb->buf);
			sb_grow(sb, 1024 * 25);
			p = sb->buf + sb->len;
		}
		if (i)
			*p++ = ',';
		switch (conv) {
		case WJ_F32: case WJ_F64: case WJ_F16: case WJ_BF16:
			p += wj_fmt_f32(p, v[i]);
			break;
		case WJ_BOOL:
			if (v[i] != 0.0f) {
				memcpy(p, "true", 4);
				p += 4;
			} else {
				memcpy(p, "false", 5);
				p += 5;
			}
			break;
		default:
			p = put_int(p, v[i], conv);
		}
	}
	sb->len = (size_t)(p - sb->buf);
	sb->buf[sb->len] = '\0';
}

static const float *nest(struct sbuf *sb, const float *v, int ndim, const int64_t *shape, enum wj_conv conv)
{
	sb_addc(sb, '[');
	if (ndim == 1) {
		wj_put_values(sb, v, shape[0], conv);
		v += shape[0];
	} else {
		for (int64_t i = 0; i < shape[0]; i++) {
			if (i)
				sb_addc(sb, ',');
			v = nest(sb, v, ndim - 1, shape + 1, conv);
		}
	}
	sb_addc(sb, ']');
	return v;
}

void wj_put_nested(struct sbuf *sb, const float *v, int ndim, const int64_t *shape, enum wj_conv conv)
{
	if (ndim <= 0)
		wj_put_values(sb, v, 1, conv);
	else
		nest(sb, v, ndim, shape, conv);
}

void wj_put_shape(struct sbuf *sb, int ndim, const int64_t *shape)
{
	sb_grow(sb, (size_t)ndim * 21 + 2);
	char *p = sb->buf + sb->len;
	*p++ = '[';
	for (int i = 0; i < ndim; i++) {
		if (i)
			*p++ = ',';
		if (shape[i] < 0) {
			*p++ = '-';
			p = put_u64(p, (uint64_t)(-(shape[i] + 1)) + 1);
		} else {
			p = put_u64(p, (uint64_t)shape[i]);
		}
	}
	*p++ = ']';
	sb->len = (size_t)(p - sb->buf);
	sb->buf[sb->len] = '\0';
}

void wj_put_str(struct sbuf *sb, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s, *end = p + n, *run;
	sb_grow(sb, n + 2);
	sb_addc(sb, '"');
	while (p < end) {
		run = p;
		while (p < end && *p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\')
			p++;
		sb_add(sb, run, (size_t)(p - run));
		if (p >= end)
			break;
		unsigned c = *p;
		if (c >= 0x80) {
			size_t len = wj_utf8_len(p, end);
			if (len) {
				sb_add(sb, p, len);
				p += len;
			} else {
				sb_adds(sb, "\\ufffd");
				p++;
			}
			continue;
		}
		char esc[7] = { '\\', 0 };
		size_t el = 2;
		switch (c) {
		case '"': esc[1] = '"'; break;
		case '\\': esc[1] = '\\'; break;
		case '\n': esc[1] = 'n'; break;
		case '\r': esc[1] = 'r'; break;
		case '\t': esc[1] = 't'; break;
		case '\b': esc[1] = 'b'; break;
		case '\f': esc[1] = 'f'; break;
		default:
			memcpy(esc + 1, "u00", 3);
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
			el = 6;
		}
		sb_add(sb, esc, el);
		p++;
	}
	sb_addc(sb, '"');
}

void wj_put_strz(struct sbuf *sb, const char *s)
{
	wj_put_str(sb, s ? s : "", s ? strlen(s) : 0);
}

static int dump_cb(const char *buf, size_t size, void *data)
{
	sb_add(data, buf, size);
	return 0;
}

void wj_put_json(struct sbuf *sb, const json_t *j)
{
	if (!j) {
		sb_adds(sb, "null");
		return;
	}
	json_dump_callback(j, dump_cb, sb, JSON_COMPACT | JSON_ENCODE_ANY);
}

/* ---- base64 ------------------------------------------------------------- */

static int b64_val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+' || c == '-')
		return 62;
	if (c == '/' || c == '_')
		return 63;
	return -1;
}

int wj_b64_decode(const char *in, size_t n, unsigned char **out, size_t *outlen, size_t *bad)
{
	size_t len = n;
	while (len > 0 && n - len < 2 && in[len - 1] == '=')
		len--;
	if (len % 4 == 1 || (len != n && (n % 4) != 0)) {
		*bad = len % 4 == 1 ? len - 1 : len;
		return -1;
	}
	unsigned char *o = xmalloc(len / 4 * 3 + 3);
	size_t k = 0;
	uint32_t acc = 0;
	int bits = 0;
	for (size_t i = 0; i < len; i++) {
		int v = b64_val((unsigned char)in[i]);
		if (v < 0) {
			free(o);
			*bad = i;
			return -1;
		}
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			o[k++] = (unsigned char)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	*out = o;
	*outlen = k;
	return 0;
}

void wj_b64_encode(struct sbuf *sb, const unsigned char *in, size_t n)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	sb_grow(sb, (n + 2) / 3 * 4);
	char *p = sb->buf + sb->len;
	size_t i = 0;
	for (; i + 3 <= n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		*p++ = tab[v >> 18];
		*p++ = tab[v >> 12 & 63];
		*p++ = tab[v >> 6 & 63];
		*p++ = tab[v & 63];
	}
	if (i < n) {
		uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0);
		*p++ = tab[v >> 18];
		*p++ = tab[v >> 12 & 63];
		*p++ = i + 1 < n ? tab[v >> 6 & 63] : '=';
		*p++ = '=';
	}
	sb->len = (size_t)(p - sb->buf);
	sb->buf[sb->len] = '\0';
}

/* ---- random ids ----------------------------------------------------------- */

static _Thread_local uint64_t rng_state;

static uint64_t rng_next(void)
{
	if (!rng_state) {
		uint64_t seed = 0;
		if (getrandom(&seed, sizeof seed, 0) != (ssize_t)sizeof seed) {
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			seed = (uint64_t)ts.tv_nsec * 0x9e3779b97f4a7c15ULL ^ (uint64_t)ts.tv_sec ^ (uint64_t)(uintptr_t)&seed;
		}
		rng_state = seed ? seed : 0x853c49e6748fea9bULL;
	}
	/* xorshift64* */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dULL;
}

void wj_random_id(char *out, size_t n)
{
	static const char alnum[] = "abcdefghijklmnopqrstuvwxyz0123456789";
	for (size_t i = 0; i < n; i++)
		out[i] = alnum[(rng_next() >> 32) % 36];
	out[n] = '\0';
}

void wj_uuid(char *out)
{
	unsigned char b[16];
	uint64_t a = rng_next(), c = rng_next();
	memcpy(b, &a, 8);
	memcpy(b + 8, &c, 8);
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
	static const char hex[] = "0123456789abcdef";
	char *p = out;
	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			*p++ = '-';
		*p++ = hex[b[i] >> 4];
		*p++ = hex[b[i] & 15];
	}
	*p = '\0';
}

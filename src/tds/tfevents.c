/* tfevents.c - TensorBoard event-file reader (see tfevents.h): TFRecord
 * framing checked with CRC-32C, Event protobufs decoded by protobuf-c into a
 * per-call arena (no malloc per record), scalar values turned into em_rec
 * records. Hot path: one CRC pass over each record, one protobuf decode, a few
 * number-to-text conversions; nothing else touches the record's bytes.
 * tfe_find, which lists a log directory's event files, is in tfevents_find.c. */
#include "tds/tfevents.h"
#include "util/mem.h"
#include "tfevent.pb-c.h"
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <nmmintrin.h>
#define TFE_HW_CRC 1
#endif

/* --- CRC-32C ------------------------------------------------------------ */

static uint32_t crc_table[8][256];
static bool crc_use_hw;
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void crc_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ (0x82f63b78u & (0u - (c & 1)));
		crc_table[0][i] = c;
	}
	for (int t = 1; t < 8; t++)
		for (int i = 0; i < 256; i++)
			crc_table[t][i] = (crc_table[t - 1][i] >> 8) ^ crc_table[0][crc_table[t - 1][i] & 0xff];
#ifdef TFE_HW_CRC
	__builtin_cpu_init();
	crc_use_hw = __builtin_cpu_supports("sse4.2");
#endif
}

static inline uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t le64(const unsigned char *p) { return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32; }

static uint32_t crc_sw(uint32_t crc, const unsigned char *p, size_t n)
{
	while (n >= 8) {
		uint32_t lo = le32(p) ^ crc, hi = le32(p + 4);
		crc = crc_table[7][lo & 0xff] ^ crc_table[6][(lo >> 8) & 0xff] ^ crc_table[5][(lo >> 16) & 0xff] ^
		      crc_table[4][lo >> 24] ^ crc_table[3][hi & 0xff] ^ crc_table[2][(hi >> 8) & 0xff] ^
		      crc_table[1][(hi >> 16) & 0xff] ^ crc_table[0][hi >> 24];
		p += 8;
		n -= 8;
	}
	while (n--)
		crc = (crc >> 8) ^ crc_table[0][(crc ^ *p++) & 0xff];
	return crc;
}

#ifdef TFE_HW_CRC
__attribute__((target("sse4.2"))) static uint32_t crc_hw(uint32_t crc, const unsigned char *p, size_t n)
{
	uint64_t c = crc;
	while (n >= 8) {
		uint64_t v;
		memcpy(&v, p, 8); /* x86 is little-endian, as the CRC wants */
		c = _mm_crc32_u64(c, v);
		p += 8;
		n -= 8;
	}
	uint32_t c32 = (uint32_t)c;
	while (n--)
		c32 = _mm_crc32_u8(c32, *p++);
	return c32;
}
#endif

uint32_t tfe_crc32c(const void *p, size_t n)
{
	pthread_once(&crc_once, crc_init);
#ifdef TFE_HW_CRC
	if (crc_use_hw)
		return ~crc_hw(~0u, p, n);
#endif
	return ~crc_sw(~0u, p, n);
}

uint32_t tfe_crc32c_sw(const void *p, size_t n)
{
	pthread_once(&crc_once, crc_init);
	return ~crc_sw(~0u, p, n);
}

uint32_t tfe_masked_crc(uint32_t crc) { return ((crc >> 15) | (crc << 17)) + 0xa282ead8u; }

/* --- arena allocator for protobuf-c ---------------------------------------- */
/* Every record's decoded Event lives in chunks that are reset, not freed,
 * between records; the first, 16 KiB, comes with the call's context. A cap
 * (a generous multiple of the record's size) stops a crafted record from
 * making the decoder allocate without bound: the decode then fails and the
 * record counts as corrupt. */

#define ARENA_ALIGN 16
#define ARENA_INLINE 16384
#define ARENA_CAP_MAX ((size_t)256 << 20)

struct chunk {
	struct chunk *next;
	size_t cap, used;
	unsigned char *data;
};

struct arena {
	struct chunk first, *cur, *tail;
	size_t total, limit;
	_Alignas(ARENA_ALIGN) unsigned char inl[ARENA_INLINE];
};

static void arena_init(struct arena *a)
{
	a->first = (struct chunk){ NULL, sizeof a->inl, 0, a->inl };
	a->cur = a->tail = &a->first;
	a->total = 0;
	a->limit = ARENA_CAP_MAX;
}

/* Starts a record of n bytes. */
static void arena_reset(struct arena *a, size_t n)
{
	for (struct chunk *c = &a->first; c; c = c->next)
		c->used = 0;
	a->cur = &a->first;
	a->total = 0;
	a->limit = n < (ARENA_CAP_MAX - ((size_t)1 << 20)) / 32 ? 32 * n + ((size_t)1 << 20) : ARENA_CAP_MAX;
}

static void arena_release(struct arena *a)
{
	struct chunk *c = a->first.next;
	while (c) {
		struct chunk *next = c->next;
		free(c);
		c = next;
	}
	a->first.next = NULL;
}

static void *arena_alloc(void *data, size_t size)
{
	struct arena *a = data;
	size = (size + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
	if (size == 0 || size > a->limit - a->total)
		return NULL;
	while (a->cur && a->cur->cap - a->cur->used < size)
		a->cur = a->cur->next;
	if (!a->cur) {
		size_t cap = a->tail->cap * 2;
		if (cap < size)
			cap = size;
		size_t head = (sizeof(struct chunk) + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
		struct chunk *c = xmalloc(head + cap);
		*c = (struct chunk){ NULL, cap, 0, (unsigned char *)c + head };
		a->tail->next = c;
		a->tail = a->cur = c;
	}
	void *p = a->cur->data + a->cur->used;
	a->cur->used += size;
	a->total += size;
	return p;
}

static void arena_free(void *data, void *p)
{
	(void)data;
	(void)p; /* everything goes at the next reset */
}

/* --- numbers and times as text ----------------------------------------- */

static void fmt_u64(char *out, uint64_t v)
{
	char tmp[24];
	int n = 0;
	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		*out++ = tmp[--n];
	*out = '\0';
}

static void fmt_i64(char *out, int64_t v)
{
	if (v < 0) {
		*out++ = '-';
		fmt_u64(out, 0 - (uint64_t)v);
	} else {
		fmt_u64(out, (uint64_t)v);
	}
}

/* Shortest round-trip text of a float or double, without printf on the hot
 * path: for a = m * 2^e (m of mbits bits), the p-digit decimal nearest to a
 * is computed exactly in 128-bit integers, and kept when it lies inside a's
 * rounding interval (so strtof/strtod give a back); p is found by binary
 * search, as a p that works means every longer one works too. Magnitudes
 * whose arithmetic would not fit 128 bits (doubles under ~1e-5, floats under
 * ~1e-21, huge values) fall back to snprintf/strto* with 1, 2, ... digits
 * until one reads back. Layout as Python's repr: "0.1", "1e-05", "3",
 * "1.5e+16"; and "NaN", "Infinity", "-Infinity". */
typedef unsigned __int128 u128;

static u128 pow10_128[39];
static pthread_once_t pow10_once = PTHREAD_ONCE_INIT;

static void pow10_init(void)
{
	pow10_128[0] = 1;
	for (int i = 1; i < 39; i++)
		pow10_128[i] = pow10_128[i - 1] * 10;
}

static bool mul_ok(u128 a, u128 b, u128 *r) { return !__builtin_mul_overflow(a, b, r); }

static bool pow2_ok(int s, u128 *r)
{
	if (s < 0 || s > 127)
		return false;
	*r = (u128)1 << s;
	return true;
}

/* The p-digit candidate for a = m * 2^e: D with a * 10^k ~= D, k = p-1-e10.
 * 1: D is a's text; 0: it is not; -1: out of 128-bit range. */
static int try_digits(uint64_t m, int e, int mbits, int e10, int p, uint64_t *D_out, int *k_out)
{
	int k = p - 1 - e10;
	if (k < -38 || k > 38)
		return -1;
	u128 t10 = pow10_128[k < 0 ? -k : k], num = m, den = 1, p2;
	/* D = round(m * 2^e * 10^k) */
	if (k >= 0 && !mul_ok(num, t10, &num))
		return -1;
	if (k < 0)
		den = t10;
	if (e >= 0) {
		if (!pow2_ok(e, &p2) || !mul_ok(num, p2, &num))
			return -1;
	} else if (!pow2_ok(-e, &p2) || !mul_ok(den, p2, &den)) {
		return -1;
	}
	if ((num >> 126) || (den >> 126))
		return -1;
	u128 D = den == 1 ? num : (k >= 0 ? (num + (den >> 1)) >> -e : (2 * num + den) / (2 * den));
	if (D >= pow10_128[18])
		return -1;
	/* inside the rounding interval? Everything times 10^max(k,0) * 2^max(2-e,0):
	 * C = D * 10^max(-k,0) * 2^max(2-e,0), A = m * 10^max(k,0) * 2^max(e,2),
	 * U = 10^max(k,0) * 2^max(e-1,1), L = U or, at a power of two, U / 2 */
	u128 pk = pow10_128[k > 0 ? k : 0], nk = pow10_128[k < 0 ? -k : 0], C, A, U, L, q;
	if (!mul_ok(D, nk, &C) || !pow2_ok(2 - e > 0 ? 2 - e : 0, &q) || !mul_ok(C, q, &C))
		return -1;
	if (!mul_ok(m, pk, &A) || !pow2_ok(e > 2 ? e : 2, &q) || !mul_ok(A, q, &A))
		return -1;
	if (!pow2_ok(e - 1 > 1 ? e - 1 : 1, &q) || !mul_ok(pk, q, &U))
		return -1;
	L = m == (uint64_t)1 << (mbits - 1) ? U >> 1 : U;
	if ((A >> 126) || (C >> 126) || A < L)
		return -1;
	bool even = (m & 1) == 0;
	bool in = even ? (C >= A - L && C <= A + U) : (C > A - L && C < A + U);
	*D_out = (uint64_t)D;
	*k_out = k;
	return in;
}

/* D * 10^-k as Python's repr lays it out (sign already written). */
static void put_decimal(char *out, uint64_t D, int k)
{
	while (D >= 10 && D % 10 == 0) {
		D /= 10;
		k--;
	}
	char dig[24];
	fmt_u64(dig, D);
	int nd = (int)strlen(dig), x = nd - 1 - k; /* x: exponent of the first digit */
	char *p = out;
	if (x < -4 || x >= 16) {
		*p++ = dig[0];
		if (nd > 1) {
			*p++ = '.';
			memcpy(p, dig + 1, (size_t)nd - 1);
			p += nd - 1;
		}
		*p++ = 'e';
		*p++ = x < 0 ? '-' : '+';
		int ax = x < 0 ? -x : x;
		if (ax < 10)
			*p++ = '0';
		fmt_u64(p, (uint64_t)ax);
		return;
	}
	if (x < 0) {
		*p++ = '0';
		*p++ = '.';
		for (int i = 0; i < -x - 1; i++)
			*p++ = '0';
		memcpy(p, dig, (size_t)nd);
		p += nd;
	} else if (x >= nd - 1) {
		memcpy(p, dig, (size_t)nd);
		p += nd;
		for (int i = 0; i < x - (nd - 1); i++)
			*p++ = '0';
	} else {
		memcpy(p, dig, (size_t)x + 1);
		p += x + 1;
		*p++ = '.';
		memcpy(p, dig + x + 1, (size_t)(nd - x - 1));
		p += nd - x - 1;
	}
	*p = '\0';
}

/* 10^0..10^22: the powers of ten a double holds exactly */
static const double pow10_dbl[23] = { 1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
				      1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22 };

/* a as text into out; is_float: a is a float's value and the text is for
 * strtof. Returns what strtod gives for the text (a itself for doubles; for
 * floats the double nearest the short decimal, e.g. 0.1 for 0.1f). */
static double fmt_real(char *out, size_t cap, double a, bool is_float)
{
	if (isnan(a)) {
		snprintf(out, cap, "NaN");
		return a;
	}
	if (isinf(a)) {
		snprintf(out, cap, "%sInfinity", a < 0 ? "-" : "");
		return a;
	}
	char *o = out;
	double sign = 1;
	if (signbit(a)) {
		*o++ = '-';
		a = -a;
		sign = -1;
	}
	if (a == 0) {
		snprintf(o, cap - 1, "0");
		return sign * 0.0;
	}
	pthread_once(&pow10_once, pow10_init);
	int mbits = is_float ? 24 : 53, maxp = is_float ? 9 : 17, ex;
	double fr = frexp(a, &ex);
	uint64_t m = (uint64_t)ldexp(fr, mbits), D = 0;
	int e = ex - mbits, e10 = (int)floor(log10(a)), lo = 1, hi = maxp, k = 0, r = 0;
	while (lo < hi) { /* the fewest digits that read back */
		int mid = (lo + hi) / 2;
		r = try_digits(m, e, mbits, e10, mid, &D, &k);
		if (r < 0)
			break;
		if (r)
			hi = mid;
		else
			lo = mid + 1;
	}
	if (r >= 0 && try_digits(m, e, mbits, e10, lo, &D, &k) == 1) {
		put_decimal(o, D, k);
		if (!is_float)
			return sign * a;
		/* D and 10^|k| exact: one correctly rounded operation, as strtod */
		if (D < ((uint64_t)1 << 53) && k >= -22 && k <= 22)
			return sign * (k >= 0 ? (double)D / pow10_dbl[k] : (double)D * pow10_dbl[-k]);
		return strtod(out, NULL);
	}
	for (int prec = 1; prec <= maxp; prec++) { /* rare: out of range */
		snprintf(o, cap - 1, "%.*g", prec, a);
		if (prec == maxp || (is_float ? (double)strtof(o, NULL) == a : strtod(o, NULL) == a))
			break;
	}
	return strtod(out, NULL);
}

static double fmt_float(char *out, size_t cap, float v) { return fmt_real(out, cap, (double)v, true); }
static double fmt_double(char *out, size_t cap, double v) { return fmt_real(out, cap, v, false); }

/* 253402300800 s = 10000-01-01T00:00:00Z: the first time RFC 3339 cannot write */
#define TFE_MAX_WALL 253402300800.0

/* "YYYY-MM-DDTHH:MM:SS.mmmZ" for ms since the epoch (0 <= ms < year 10000);
 * the civil-from-days conversion is Howard Hinnant's, with no locale or
 * time-zone look-up (unlike gmtime_r) on the hot path. */
static void fmt_rfc3339_ms(char *out, int64_t ms)
{
	int64_t secs = ms / 1000, days = secs / 86400;
	int sod = (int)(secs % 86400), msec = (int)(ms % 1000);
	int64_t z = days + 719468;
	int64_t era = z / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	unsigned d = doy - (153 * mp + 2) / 5 + 1;
	unsigned m = mp < 10 ? mp + 3 : mp - 9;
	int y = (int)(yoe + era * 400 + (m <= 2));
	int h = sod / 3600, mi = sod / 60 % 60, s = sod % 60;
	char *p = out;
	*p++ = (char)('0' + y / 1000);
	*p++ = (char)('0' + y / 100 % 10);
	*p++ = (char)('0' + y / 10 % 10);
	*p++ = (char)('0' + y % 10);
	*p++ = '-';
	*p++ = (char)('0' + m / 10);
	*p++ = (char)('0' + m % 10);
	*p++ = '-';
	*p++ = (char)('0' + d / 10);
	*p++ = (char)('0' + d % 10);
	*p++ = 'T';
	*p++ = (char)('0' + h / 10);
	*p++ = (char)('0' + h % 10);
	*p++ = ':';
	*p++ = (char)('0' + mi / 10);
	*p++ = (char)('0' + mi % 10);
	*p++ = ':';
	*p++ = (char)('0' + s / 10);
	*p++ = (char)('0' + s % 10);
	*p++ = '.';
	*p++ = (char)('0' + msec / 100);
	*p++ = (char)('0' + msec / 10 % 10);
	*p++ = (char)('0' + msec % 10);
	*p++ = 'Z';
	*p = '\0';
}

/* Replaces each byte of s that is not part of valid UTF-8 with '?'. */
static void utf8_sanitize(unsigned char *s)
{
	while (*s) {
		unsigned c = *s;
		int n;
		unsigned min;
		if (c < 0x80) {
			s++;
			continue;
		} else if ((c & 0xe0) == 0xc0) {
			n = 1, min = 0x80, c &= 0x1f;
		} else if ((c & 0xf0) == 0xe0) {
			n = 2, min = 0x800, c &= 0x0f;
		} else if ((c & 0xf8) == 0xf0) {
			n = 3, min = 0x10000, c &= 0x07;
		} else {
			*s++ = '?';
			continue;
		}
		int i;
		for (i = 1; i <= n; i++) {
			if ((s[i] & 0xc0) != 0x80)
				break;
			c = c << 6 | (s[i] & 0x3f);
		}
		if (i <= n || c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff)) {
			*s++ = '?';
			continue;
		}
		s += n + 1;
	}
}

/* --- scalar values ------------------------------------------------------- */

/* TensorFlow's DataType numbers (types.proto) that can hold a metric */
enum {
	DT_FLOAT = 1, DT_DOUBLE = 2, DT_INT32 = 3, DT_UINT8 = 4, DT_INT16 = 5, DT_INT8 = 6, DT_INT64 = 9,
	DT_BFLOAT16 = 14, DT_UINT16 = 17, DT_HALF = 19, DT_UINT32 = 22, DT_UINT64 = 23,
};

static float half_to_float(uint16_t h)
{
	int sign = h >> 15, exp = (h >> 10) & 0x1f, frac = h & 0x3ff;
	float v;
	if (exp == 0)
		v = ldexpf((float)frac, -24); /* zero or subnormal */
	else if (exp == 31)
		v = frac ? NAN : INFINITY;
	else
		v = ldexpf((float)(frac | 0x400), exp - 25);
	return sign ? -v : v;
}

static float bf16_to_float(uint16_t b)
{
	uint32_t bits = (uint32_t)b << 16;
	float v;
	memcpy(&v, &bits, sizeof v);
	return v;
}

/* Element size of a numeric dtype; 0 for the others. */
static size_t dtype_size(int dt)
{
	switch (dt) {
	case DT_UINT8: case DT_INT8: return 1;
	case DT_INT16: case DT_UINT16: case DT_HALF: case DT_BFLOAT16: return 2;
	case DT_FLOAT: case DT_INT32: case DT_UINT32: return 4;
	case DT_DOUBLE: case DT_INT64: case DT_UINT64: return 8;
	default: return 0;
	}
}

/* The text of a one-element numeric tensor's value into out, and its value
 * as strtod reads the text into *num; false when the tensor is not one
 * (other dtype, shape with more or fewer elements, no or several values). */
static bool tensor_scalar(const Weft__Tb__TensorProto *t, char *out, size_t cap, double *num)
{
	size_t es = dtype_size(t->dtype);
	if (!es)
		return false;
	const Weft__Tb__TensorShapeProto *sh = t->tensor_shape;
	if (sh) {
		if (sh->unknown_rank)
			return false;
		for (size_t i = 0; i < sh->n_dim; i++)
			if (!sh->dim[i] || sh->dim[i]->size != 1)
				return false;
	}
	const unsigned char *raw = NULL;
	if (t->tensor_content.len) {
		if (t->tensor_content.len != es)
			return false;
		raw = t->tensor_content.data;
	}
	size_t n; /* values in the typed field, when there is no raw content */
	switch (t->dtype) {
	case DT_FLOAT: n = t->n_float_val; break;
	case DT_DOUBLE: n = t->n_double_val; break;
	case DT_INT64: n = t->n_int64_val; break;
	case DT_UINT32: n = t->n_uint32_val; break;
	case DT_UINT64: n = t->n_uint64_val; break;
	case DT_HALF: case DT_BFLOAT16: n = t->n_half_val; break;
	default: n = t->n_int_val; break;
	}
	if (!raw && n != 1)
		return false;

	uint64_t u = 0; /* the raw bits, zero-extended */
	if (raw)
		for (size_t i = 0; i < es; i++)
			u |= (uint64_t)raw[i] << (8 * i);
	switch (t->dtype) {
	case DT_FLOAT: {
		float f;
		uint32_t b = (uint32_t)u;
		if (raw)
			memcpy(&f, &b, sizeof f);
		else
			f = t->float_val[0];
		*num = fmt_float(out, cap, f);
		break;
	}
	case DT_DOUBLE: {
		double d;
		if (raw)
			memcpy(&d, &u, sizeof d);
		else
			d = t->double_val[0];
		*num = fmt_double(out, cap, d);
		break;
	}
	case DT_HALF: case DT_BFLOAT16: {
		uint16_t b = raw ? (uint16_t)u : (uint16_t)t->half_val[0];
		*num = fmt_float(out, cap, t->dtype == DT_HALF ? half_to_float(b) : bf16_to_float(b));
		break;
	}
	case DT_UINT64: {
		uint64_t v = raw ? u : t->uint64_val[0];
		fmt_u64(out, v);
		*num = (double)v;
		break;
	}
	default: { /* the signed and the narrower unsigned integers */
		int64_t v;
		switch (t->dtype) {
		case DT_INT64: v = raw ? (int64_t)u : t->int64_val[0]; break;
		case DT_UINT32: v = raw ? (uint32_t)u : t->uint32_val[0]; break;
		case DT_INT32: v = raw ? (int32_t)(uint32_t)u : t->int_val[0]; break;
		case DT_INT16: v = (int16_t)(raw ? (uint16_t)u : (uint16_t)t->int_val[0]); break;
		case DT_INT8: v = (int8_t)(raw ? (uint8_t)u : (uint8_t)t->int_val[0]); break;
		case DT_UINT16: v = raw ? (uint16_t)u : (uint16_t)t->int_val[0]; break;
		case DT_UINT8: v = raw ? (uint8_t)u : (uint8_t)t->int_val[0]; break;
		default: return false;
		}
		fmt_i64(out, v);
		*num = (double)v;
		break;
	}
	}
	return true;
}

/* --- records -------------------------------------------------------------- */

#define VTEXT 32 /* longest value text: "-2.2250738585072014e-308" + NUL */

struct pctx {
	const char *group;
	em_emit_fn emit;
	void *ctx;
	struct tfe_stats *st;
	char step[24], stamp[32], wall[VTEXT];
	char vtext[EM_MAX_VALUES][VTEXT];
	struct em_rec rec;
};

/* Emits the scalars of one decoded event; 0 or emit's error. */
static int event_records(struct pctx *pc, Weft__Tb__Event *ev)
{
	if (ev->what_case != WEFT__TB__EVENT__WHAT_SUMMARY || !ev->summary || !ev->summary->n_value) {
		pc->st->skipped++;
		return 0;
	}
	struct em_rec *r = &pc->rec;
	r->time_ms = 0;
	r->subid = NULL;
	r->group = pc->group;
	r->n_etimes = 0;
	r->n_values = 0;
	fmt_i64(pc->step, ev->step);
	r->etimes[r->n_etimes++] =
		(struct em_kv){ .key = "iteration", .type = EM_INT, .value = pc->step, .has_num = 1, .num = (double)ev->step };
	double wt = ev->wall_time;
	if (isfinite(wt) && wt > 0 && wt < TFE_MAX_WALL) {
		int64_t ms = llround(wt * 1000.0);
		if (ms > 0 && ms < (int64_t)(TFE_MAX_WALL * 1000.0)) {
			r->time_ms = ms;
			fmt_rfc3339_ms(pc->stamp, ms);
			fmt_double(pc->wall, sizeof pc->wall, wt);
			r->etimes[r->n_etimes++] = (struct em_kv){ .key = "timestamp", .type = EM_STRING, .value = pc->stamp };
			r->etimes[r->n_etimes++] =
				(struct em_kv){ .key = "wall_time", .type = EM_FLOAT, .value = pc->wall, .has_num = 1, .num = wt };
		}
	}

	int64_t found = 0;
	for (size_t i = 0; i < ev->summary->n_value; i++) {
		Weft__Tb__Summary__Value *v = ev->summary->value[i];
		if (!v || !v->tag || !v->tag[0])
			continue;
		char *text = pc->vtext[r->n_values];
		double num;
		if (v->value_case == WEFT__TB__SUMMARY__VALUE__VALUE_SIMPLE_VALUE) {
			num = fmt_float(text, VTEXT, v->simple_value);
		} else if (v->value_case == WEFT__TB__SUMMARY__VALUE__VALUE_TENSOR && v->tensor) {
			const Weft__Tb__SummaryMetadata *md = v->metadata;
			if (md && md->plugin_data && md->plugin_data->plugin_name && md->plugin_data->plugin_name[0] &&
			    strcmp(md->plugin_data->plugin_name, "scalars") != 0)
				continue; /* another plugin's tensor (hparams, pr_curves, ...) */
			if (!tensor_scalar(v->tensor, text, VTEXT, &num))
				continue;
		} else {
			continue; /* image, histogram, audio */
		}
		utf8_sanitize((unsigned char *)v->tag);
		r->values[r->n_values++] =
			(struct em_kv){ .key = v->tag, .type = EM_FLOAT, .value = text, .has_num = 1, .num = num };
		found++;
		if (r->n_values == EM_MAX_VALUES) {
			int rc = pc->emit(pc->ctx, r);
			if (rc < 0)
				return rc;
			pc->st->scalars += r->n_values;
			r->n_values = 0;
		}
	}
	if (r->n_values) {
		int rc = pc->emit(pc->ctx, r);
		if (rc < 0)
			return rc;
		pc->st->scalars += r->n_values;
	}
	if (!found)
		pc->st->skipped++;
	return 0;
}

/* Whether the Event in p[0..n) has a summary (field 5), from its top-level
 * fields alone: graphs, run metadata and the file version, often large, are
 * then never decoded or copied. -1 when the top level does not parse. */
static int has_summary(const unsigned char *p, size_t n)
{
	size_t i = 0;
	int found = 0;
	while (i < n) {
		uint64_t key = 0, len = 0;
		for (int sh = 0;; sh += 7) {
			if (i >= n || sh > 63)
				return -1;
			key |= (uint64_t)(p[i] & 0x7f) << sh;
			if (!(p[i++] & 0x80))
				break;
		}
		switch (key & 7) {
		case 0: /* varint */
			for (int k = 0;; k++) {
				if (i >= n || k > 9)
					return -1;
				if (!(p[i++] & 0x80))
					break;
			}
			break;
		case 1: /* fixed64 */
			if (n - i < 8)
				return -1;
			i += 8;
			break;
		case 5: /* fixed32 */
			if (n - i < 4)
				return -1;
			i += 4;
			break;
		case 2: /* length-delimited */
			for (int sh = 0;; sh += 7) {
				if (i >= n || sh > 63)
					return -1;
				len |= (uint64_t)(p[i] & 0x7f) << sh;
				if (!(p[i++] & 0x80))
					break;
			}
			if (len > n - i)
				return -1;
			i += (size_t)len;
			if (key >> 3 == 5)
				found = 1;
			break;
		default:
			return -1;
		}
		if (key >> 3 == 0)
			return -1;
	}
	return found;
}

size_t tfe_record_size(const unsigned char *buf, size_t len)
{
	if (!buf || len < 12 || tfe_masked_crc(tfe_crc32c(buf, 8)) != le32(buf + 8) || le64(buf) > TFE_MAX_RECORD)
		return 0;
	return (size_t)le64(buf) + TFE_FRAMING;
}

int tfe_parse_at(const unsigned char *buf, size_t len, uint64_t base, const char *group, size_t *consumed,
		 em_emit_fn emit, void *ctx, struct tfe_stats *st, struct weft_err *e)
{
	struct tfe_stats dummy;
	struct arena *a = xmalloc(sizeof *a);
	struct pctx *pc = xmalloc(sizeof *pc);
	arena_init(a);
	pc->group = group;
	pc->emit = emit;
	pc->ctx = ctx;
	pc->st = st ? st : &dummy;
	ProtobufCAllocator alloc = { arena_alloc, arena_free, a };
	size_t off = 0;
	int rc = 0;
	if (!buf)
		len = 0;

	while (len - off >= 12) {
		const unsigned char *h = buf + off;
		uint64_t n = le64(h);
		if (tfe_masked_crc(tfe_crc32c(h, 8)) != le32(h + 8)) {
			rc = err_set(e, WEFT_EINVAL,
				     "event file: bad length checksum in the record at byte %llu "
				     "(corrupt, or not a TensorBoard event file)",
				     (unsigned long long)(base + off));
			break;
		}
		if (n > TFE_MAX_RECORD) {
			rc = err_set(e, WEFT_EINVAL,
				     "event file: the record at byte %llu claims %llu bytes, over the %u MiB limit "
				     "(corrupt framing)",
				     (unsigned long long)(base + off), (unsigned long long)n, TFE_MAX_RECORD >> 20);
			break;
		}
		if (len - off - 12 < n + 4)
			break; /* incomplete: the writer has not finished it yet */
		const unsigned char *data = h + 12;
		size_t next = off + 12 + (size_t)n + 4;
		if (tfe_masked_crc(tfe_crc32c(data, (size_t)n)) != le32(data + n)) {
			pc->st->corrupt++;
			pc->st->last_corrupt_at = base + off;
			off = next;
			continue;
		}
		int hs = has_summary(data, (size_t)n);
		if (hs == 0) { /* file_version, graph_def, session_log...: no scalars */
			pc->st->events++;
			pc->st->skipped++;
			off = next;
			continue;
		}
		arena_reset(a, (size_t)n);
		Weft__Tb__Event *ev = hs > 0 ? weft__tb__event__unpack(&alloc, (size_t)n, data) : NULL;
		if (!ev) {
			pc->st->corrupt++;
			pc->st->last_corrupt_at = base + off;
			off = next;
			continue;
		}
		pc->st->events++;
		rc = event_records(pc, ev);
		if (rc < 0)
			break;
		off = next;
	}
	if (consumed)
		*consumed = off;
	arena_release(a);
	free(a);
	free(pc);
	return rc;
}

int tfe_parse(const unsigned char *buf, size_t len, const char *group, size_t *consumed, em_emit_fn emit,
	      void *ctx, struct tfe_stats *st, struct weft_err *e)
{
	return tfe_parse_at(buf, len, 0, group, consumed, emit, ctx, st, e);
}

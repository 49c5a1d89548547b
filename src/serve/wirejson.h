/* wirejson.h - the small JSON scanner and writer the serving protocol codecs
 * (seldon.c, oip.c) share. Prediction bodies are mostly big arrays of
 * numbers: building a jansson tree of one json_real per value costs more than
 * the model, so the codecs walk the text with this cursor, read numeric arrays
 * straight into float buffers, and hand only the small free-form members
 * (meta, jsonData, parameters) to jansson. Errors name the line and column. */
#ifndef WEFT_SERVE_WIREJSON_H
#define WEFT_SERVE_WIREJSON_H
#include "serve/tensor.h"
#include "util/err.h"
#include "util/sbuf.h"
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define WJ_MAX_DEPTH 128 /* nesting of arrays and objects in one body */

/* A cursor over one JSON text. Functions return 0 (or 1 where said) and a
 * negative WEFT_E* code on error, with the message in *e; syntax is set when
 * the error is a JSON syntax error ("not valid JSON at line L column C: ..."). */
struct wj {
	const char *beg, *p, *end;
	int depth;
	int syntax;
	struct weft_err *e;
};

void wj_init(struct wj *s, const char *buf, size_t len, struct weft_err *e);
/* Sets a syntax error at position at (NULL: the cursor). */
int wj_syntax(struct wj *s, const char *at, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* The next non-blank character (cursor moved to it), or -1 at the end. */
int wj_peek(struct wj *s);
/* "an object", "an array", "a string", "a number", "a boolean", "null" for a
 * value starting with c; NULL when c starts no JSON value. */
const char *wj_kind(int c);
/* After the top-level value: only blanks may follow. */
int wj_finish(struct wj *s);

/* Objects: wj_obj_open checks the next value is an object (else "FIELD must be
 * an object, not a string"); wj_obj_next reads one member key into key (reset
 * first) and the ':' and returns 1, or 0 at the closing '}'. n counts members. */
int wj_obj_open(struct wj *s, const char *field);
int wj_obj_next(struct wj *s, struct sbuf *key, int *n);
/* Arrays: wj_arr_next returns 1 when an element follows (cursor on it), 0 at ']'. */
int wj_arr_open(struct wj *s, const char *field);
int wj_arr_next(struct wj *s, int *n);

/* A string at the cursor, decoded (UTF-8 checked, escapes resolved) and
 * appended to out (NULL: checked and skipped). */
int wj_string(struct wj *s, struct sbuf *out);
/* Like wj_string, with "FIELD must be a string, not ..." when it is not one. */
int wj_get_string(struct wj *s, const char *field, struct sbuf *out);

struct wj_num {
	double d;         /* the value, correctly rounded */
	int integral;     /* no fraction or exponent in the text */
	int neg;
	int big;          /* integral but |value| > UINT64_MAX */
	uint64_t mag;     /* |value| when integral and !big */
	const char *tok;  /* the text, for messages */
	size_t len;
};
int wj_number(struct wj *s, struct wj_num *n);
/* A number that is an integer in [lo, hi] ("FIELD must be an integer ..."). */
int wj_get_int(struct wj *s, const char *field, int64_t lo, int64_t hi, int64_t *out);

/* Any value, checked and skipped. */
int wj_skip(struct wj *s);
/* Any value as a jansson tree (caller json_decref's *out). */
int wj_load(struct wj *s, json_t **out);

/* How a numeric array's leaves become float32: every JSON number that fits
 * the type (integers must be integral and in range; floats in range). */
enum wj_conv {
	WJ_F32, WJ_F64, WJ_F16, WJ_BF16, WJ_BOOL,
	WJ_I8, WJ_I16, WJ_I32, WJ_I64, WJ_U8, WJ_U16, WJ_U32, WJ_U64,
};
const char *wj_conv_name(enum wj_conv c); /* "FP32", "INT8", ... */

/* A nested array of numbers (any depth up to WT_MAX_DIMS) read into floats,
 * row-major, with its shape; it must be rectangular. */
struct wj_nd {
	/* set by the caller */
	enum wj_conv conv;
	int lenient;          /* 1: a non-numeric leaf returns WJ_NOT_NUMERIC; a ragged or
			       * too deep array, or a number that does not fit, WJ_RAGGED
			       * (message in *e): the caller decides if they are errors */
	int64_t max_numel;    /* more values than this: WEFT_ETOOBIG (growable buffer) */
	float *fixed;         /* non-NULL: store the first fixed_n values here; more are */
	int64_t fixed_n;      /* only counted (n says how many there were) */
	/* A caller that knows how many values to expect may size fixed from a
	 * claimed shape: wj_fits says whether the rest of the text could even
	 * hold that many (2 bytes a value), so a 30-byte body claiming 16M values
	 * is counted (fixed_n 0), not given 64 MB. */
	/* results */
	int ndim;
	int64_t shape[WT_MAX_DIMS];
	int64_t n;            /* values read */
	float *data;          /* the growable buffer when fixed is NULL: caller frees */
	int64_t cap;
};
#define WJ_NOT_NUMERIC 1
#define WJ_RAGGED 2
int wj_ndarray(struct wj *s, struct wj_nd *nd, const char *field);
int wj_fits(const struct wj *s, int64_t numel);

/* Writers (append to sb). Strings are escaped, invalid UTF-8 becomes U+FFFD. */
void wj_put_str(struct sbuf *sb, const char *s, size_t n);
void wj_put_strz(struct sbuf *sb, const char *s);
void wj_put_json(struct sbuf *sb, const json_t *j); /* compact */
/* The shortest text that reads back (through double, as most clients read
 * JSON) as the same float32, e.g. 0.1, 3.0, 1e-07, 3.4028235e+38; "null"
 * for NaN and infinities, which JSON cannot carry. out needs 24 bytes. */
int wj_fmt_f32(char *out, float f);
/* n values separated by commas, as printed by conv: floats as wj_fmt_f32,
 * integer types rounded to the nearest integer and clamped to the type,
 * BOOL as true/false. */
void wj_put_values(struct sbuf *sb, const float *v, int64_t n, enum wj_conv conv);
/* The same values nested to the shape: [[1.0,2.0],[3.0,4.0]]. */
void wj_put_nested(struct sbuf *sb, const float *v, int ndim, const int64_t *shape, enum wj_conv conv);
void wj_put_shape(struct sbuf *sb, int ndim, const int64_t *shape); /* [2,3] */

/* Length of the valid UTF-8 sequence at p (lead byte >= 0x80), 0 if invalid
 * (overlong, surrogate, over U+10FFFF, truncated). */
size_t wj_utf8_len(const unsigned char *p, const unsigned char *end);

/* Base64 (standard or URL-safe alphabet, padding optional). decode returns 0
 * or -1 with *bad the offset of the first bad character. */
int wj_b64_decode(const char *in, size_t n, unsigned char **out, size_t *outlen, size_t *bad);
void wj_b64_encode(struct sbuf *sb, const unsigned char *in, size_t n);

/* Random request ids: n lowercase letters and digits, NUL-terminated
 * (out holds n+1); and a version-4 UUID (out holds 37). Thread-safe. */
void wj_random_id(char *out, size_t n);
void wj_uuid(char *out);

#endif

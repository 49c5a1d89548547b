/* test_seldon.c - the Seldon v1 codec on every message shape protocols.md
 * lists (ndarray, tensor, names, strData, jsonData, binData, tftensor, meta),
 * answers in the request's form with puid and requestPath, feedback and
 * metadata bodies, and on bad bodies: ragged and too deep arrays, wrong tensor
 * sizes, garbage JSON (line and column), huge claimed shapes, float32 edges.
 * Every answer is re-read with jansson to prove it is valid JSON. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "serve/seldon.h"
#include "serve/wirejson.h"
#include <float.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct seldon_msg m;
static struct seldon_err err;

static int parse(const char *body) { return seldon_parse(body, strlen(body), 0, &m, &err); }
static int parse_max(const char *body, int64_t max) { return seldon_parse(body, strlen(body), max, &m, &err); }

static void ok(const char *body)
{
	int rc = parse(body);
	if (rc)
		fail_msg("parse failed (%d): %s\nbody: %s", rc, err.info, body);
}

/* parse must fail with this HTTP status, reason, and info containing want */
static void fails(const char *body, int http, const char *reason, const char *want)
{
	int rc = parse(body);
	if (rc == 0) {
		seldon_msg_free(&m);
		fail_msg("parse accepted: %s", body);
	}
	assert_int_equal(err.http, http);
	assert_int_equal(err.code, http);
	assert_string_equal(err.reason, reason);
	if (!strstr(err.info, want))
		fail_msg("info \"%s\" lacks \"%s\"", err.info, want);
	/* nothing is left allocated on failure */
	assert_null(m.tensor.data);
	assert_null(m.payload);
	assert_null(m.names);
}

static void shape_is(int ndim, const int64_t *shape)
{
	assert_int_equal(m.tensor.ndim, ndim);
	int64_t n = 1;
	for (int i = 0; i < ndim; i++) {
		assert_int_equal(m.tensor.shape[i], shape[i]);
		n *= shape[i];
	}
	assert_int_equal(m.tensor.numel, n);
}

/* formats r, checks it is JSON, returns the tree (caller decrefs) and the text */
static json_t *format(const struct seldon_reply *r, char **text)
{
	struct sbuf sb = SBUF_INIT;
	struct seldon_err e;
	assert_int_equal(seldon_format(r, &sb, &e), 0);
	json_error_t je;
	json_t *j = json_loads(sb_str(&sb), 0, &je);
	if (!j)
		fail_msg("answer is not JSON (%s): %s", je.text, sb_str(&sb));
	if (text)
		*text = sb_detach(&sb);
	else
		sb_release(&sb);
	return j;
}

/* ---- request shapes ----------------------------------------------------- */

static void ndarray_2d(void **st)
{
	(void)st;
	ok("{\"data\": {\"names\": [\"a\", \"b\"], \"ndarray\": [[1.0, 2.0], [3.0, 4.0]]}}");
	assert_int_equal(m.kind, SELDON_NDARRAY);
	assert_true(m.numeric);
	shape_is(2, (int64_t[]){ 2, 2 });
	for (int i = 0; i < 4; i++)
		assert_true(m.tensor.data[i] == (float)(i + 1));
	assert_int_equal(m.nnames, 2);
	assert_string_equal(m.names[0], "a");
	assert_string_equal(m.names[1], "b");
	assert_null(m.meta);
	assert_null(m.puid);
	seldon_msg_free(&m);
}

static void ndarray_shapes(void **st)
{
	(void)st;
	ok("{\"data\":{\"ndarray\":[1, 2, 3]}}");
	shape_is(1, (int64_t[]){ 3 });
	seldon_msg_free(&m);
	ok("{\"data\":{\"ndarray\":[[[1,2],[3,4],[5,6]]]}}");
	shape_is(3, (int64_t[]){ 1, 3, 2 });
	assert_true(m.tensor.data[5] == 6.0f);
	seldon_msg_free(&m);
	ok("{\"data\":{\"ndarray\":[]}}");
	shape_is(1, (int64_t[]){ 0 });
	assert_non_null(m.tensor.data);
	seldon_msg_free(&m);
	ok("{\"data\":{\"ndarray\":[[],[]]}}");
	shape_is(2, (int64_t[]){ 2, 0 });
	seldon_msg_free(&m);
	/* 8 levels is the most a tensor has */
	ok("{\"data\":{\"ndarray\":[[[[[[[[7]]]]]]]]}}");
	shape_is(8, (int64_t[]){ 1, 1, 1, 1, 1, 1, 1, 1 });
	assert_true(m.tensor.data[0] == 7.0f);
	seldon_msg_free(&m);
	/* blanks everywhere JSON allows them */
	ok(" \r\n\t{ \"data\" : { \"ndarray\" : [ [ 1 , 2 ] , [ 3 , 4 ] ] } } \n");
	shape_is(2, (int64_t[]){ 2, 2 });
	seldon_msg_free(&m);
}

static void tensor_form(void **st)
{
	(void)st;
	ok("{\"data\": {\"names\": [\"a\", \"b\"], \"tensor\": {\"shape\": [2, 2], \"values\": [0, 0, 1, 1]}}}");
	assert_int_equal(m.kind, SELDON_TENSOR);
	assert_true(m.numeric);
	shape_is(2, (int64_t[]){ 2, 2 });
	assert_true(m.tensor.data[2] == 1.0f && m.tensor.data[1] == 0.0f);
	seldon_msg_free(&m);
	/* values before shape */
	ok("{\"data\":{\"tensor\":{\"values\":[1,2,3,4,5,6],\"shape\":[3,2]}}}");
	shape_is(2, (int64_t[]){ 3, 2 });
	assert_true(m.tensor.data[5] == 6.0f);
	seldon_msg_free(&m);
	/* a scalar: shape [] holds one value */
	ok("{\"data\":{\"tensor\":{\"shape\":[],\"values\":[2.5]}}}");
	shape_is(0, NULL);
	assert_true(m.tensor.data[0] == 2.5f);
	seldon_msg_free(&m);
}

static void other_payloads(void **st)
{
	(void)st;
	ok("{\"meta\": {\"tags\": {\"customer\": \"x\"}}, \"strData\": \"some text \\u00e9\\n\"}");
	assert_int_equal(m.kind, SELDON_STRDATA);
	assert_false(m.numeric);
	assert_string_equal(json_string_value(m.payload), "some text \xc3\xa9\n");
	assert_string_equal(json_string_value(json_object_get(json_object_get(m.meta, "tags"), "customer")), "x");
	seldon_msg_free(&m);

	ok("{\"jsonData\": {\"anything\": [1, 2, 3]}}");
	assert_int_equal(m.kind, SELDON_JSONDATA);
	assert_int_equal(json_array_size(json_object_get(m.payload, "anything")), 3);
	seldon_msg_free(&m);

	ok("{\"jsonData\": \"just a string\"}");
	assert_true(json_is_string(m.payload));
	seldon_msg_free(&m);

	ok("{\"binData\": \"aGVsbG8gd29ybGQ=\"}");
	assert_int_equal(m.kind, SELDON_BINDATA);
	assert_int_equal(m.binlen, 11);
	assert_memory_equal(m.bin, "hello world", 11);
	seldon_msg_free(&m);
	ok("{\"binData\": \"AP_-\"}"); /* URL-safe alphabet, no padding needed */
	assert_int_equal(m.binlen, 3);
	assert_int_equal(m.bin[0], 0x00);
	assert_int_equal(m.bin[1], 0xff);
	assert_int_equal(m.bin[2], 0xfe);
	seldon_msg_free(&m);

	ok("{\"data\":{\"tftensor\":{\"dtype\":\"DT_FLOAT\",\"tensor_shape\":{\"dim\":[{\"size\":\"1\"}]},\"float_val\":[1]}}}");
	assert_int_equal(m.kind, SELDON_TFTENSOR);
	assert_false(m.numeric);
	assert_string_equal(json_string_value(json_object_get(m.payload, "dtype")), "DT_FLOAT");
	seldon_msg_free(&m);
}

/* an ndarray that is not all numbers is kept as JSON for custom servers */
static void ndarray_not_numeric(void **st)
{
	(void)st;
	const char *bodies[] = {
		"{\"data\":{\"names\":[\"text\"],\"ndarray\":[\"In an attic\"]}}",
		"{\"data\":{\"ndarray\":[[1, \"a\"], [2, \"b\"]]}}",
		"{\"data\":{\"ndarray\":[[1, 2], [3], [\"ragged, but strings\"]]}}",
		"{\"data\":{\"ndarray\":[[true, false]]}}",
		"{\"data\":{\"ndarray\":[null]}}",
		"{\"data\":{\"ndarray\":[{\"a\": 1}]}}",
		"{\"data\":{\"ndarray\":[[[[[[[[[[\"ten deep\"]]]]]]]]]]}}",
		"{\"data\":{\"ndarray\":[1e39, \"over float32, beside a string\"]}}",
	};
	for (size_t i = 0; i < sizeof bodies / sizeof *bodies; i++) {
		ok(bodies[i]);
		assert_int_equal(m.kind, SELDON_NDARRAY);
		assert_false(m.numeric);
		assert_null(m.tensor.data);
		assert_true(json_is_array(m.payload));
		/* and it goes back out unchanged */
		struct seldon_reply r;
		seldon_reply_init(&r, &m);
		r.payload = m.payload;
		r.names = (const char *const *)m.names;
		r.nnames = m.nnames;
		json_t *j = format(&r, NULL);
		assert_true(json_equal(json_object_get(json_object_get(j, "data"), "ndarray"), m.payload));
		json_decref(j);
		seldon_msg_free(&m);
	}
}

static void meta_fields(void **st)
{
	(void)st;
	ok("{\"meta\": {\"puid\": \"abc123\", \"tags\": {\"k\": [1]}, \"routing\": {\"router\": -1},"
	   " \"requestPath\": {\"classifier\": \"image:tag\"},"
	   " \"metrics\": [{\"key\": \"c\", \"type\": \"COUNTER\", \"value\": 1, \"tags\": {}}], \"other\": 1},"
	   " \"data\": {\"ndarray\": [[0.1, 0.9]]}}");
	assert_string_equal(m.puid, "abc123");
	assert_non_null(m.meta);
	seldon_msg_free(&m);
	fails("{\"meta\":{\"puid\":5},\"strData\":\"x\"}", 400, SELDON_REASON_DATA, "meta.puid must be a string");
	fails("{\"meta\":{\"tags\":[]},\"strData\":\"x\"}", 400, SELDON_REASON_DATA, "meta.tags must be an object");
	fails("{\"meta\":{\"routing\":{\"r\":\"x\"}},\"strData\":\"x\"}", 400, SELDON_REASON_DATA,
	      "meta.routing.r must be an integer");
	fails("{\"meta\":{\"requestPath\":{\"n\":1}},\"strData\":\"x\"}", 400, SELDON_REASON_DATA,
	      "meta.requestPath.n must be a string");
	fails("{\"meta\":{\"metrics\":[{\"key\":\"k\",\"type\":\"HISTO\"}]},\"strData\":\"x\"}", 400, SELDON_REASON_DATA,
	      "meta.metrics[0].type must be COUNTER, GAUGE or TIMER");
	fails("{\"meta\":{\"metrics\":[{\"type\":\"GAUGE\"}]},\"strData\":\"x\"}", 400, SELDON_REASON_DATA,
	      "meta.metrics[0].key must be a string");
	fails("{\"meta\":[],\"strData\":\"x\"}", 400, SELDON_REASON_DATA, "meta must be an object, not an array");
}

/* ---- answers -------------------------------------------------------------- */

static void answer_ndarray(void **st)
{
	(void)st;
	ok("{\"meta\":{\"puid\":\"p-1\",\"tags\":{\"customer\":\"x\"}},\"data\":{\"ndarray\":[[1,2,3]]}}");
	float probs[] = { 0.1f, 0.9f };
	struct wtensor out = { .ndim = 2, .shape = { 1, 2 }, .numel = 2, .data = probs };
	struct seldon_node path[] = { { "classifier", "digits:1" }, { "post", "custom" } };
	struct seldon_reply r;
	seldon_reply_init(&r, &m);
	r.t = &out;
	r.path = path;
	r.npath = 2;
	char *text;
	json_t *j = format(&r, &text);
	assert_string_equal(text, "{\"data\":{\"names\":[\"t:0\",\"t:1\"],\"ndarray\":[[0.1,0.9]]},"
				  "\"meta\":{\"puid\":\"p-1\",\"tags\":{\"customer\":\"x\"},"
				  "\"requestPath\":{\"classifier\":\"digits:1\",\"post\":\"custom\"}}}");
	free(text);
	json_decref(j);
	/* given names; routing and metrics passed through */
	const char *names[] = { "zero", "one" };
	json_t *routing = json_pack("{s:i}", "router", 1);
	json_t *metrics = json_pack("[{s:s,s:s,s:f}]", "key", "k", "type", "GAUGE", "value", 2.5);
	r.names = names;
	r.nnames = 2;
	r.routing = routing;
	r.metrics = metrics;
	j = format(&r, NULL);
	json_t *meta = json_object_get(j, "meta");
	assert_string_equal(json_string_value(json_array_get(json_object_get(json_object_get(j, "data"), "names"), 1)), "one");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(meta, "routing"), "router")), 1);
	assert_true(json_equal(json_object_get(meta, "metrics"), metrics));
	json_decref(j);
	json_decref(routing);
	json_decref(metrics);
	seldon_msg_free(&m);
}

static void answer_tensor_form(void **st)
{
	(void)st;
	ok("{\"data\":{\"tensor\":{\"shape\":[1,3],\"values\":[1,2,3]}}}");
	float v[] = { 0.25f, 0.5f, 0.25f };
	struct wtensor out = { .ndim = 2, .shape = { 1, 3 }, .numel = 3, .data = v };
	struct seldon_reply r;
	seldon_reply_init(&r, &m);
	assert_int_equal(r.kind, SELDON_TENSOR);
	r.t = &out;
	r.puid = "fixed";
	char *text;
	json_t *j = format(&r, &text);
	assert_string_equal(text, "{\"data\":{\"names\":[\"t:0\",\"t:1\",\"t:2\"],\"tensor\":{\"shape\":[1,3],"
				  "\"values\":[0.25,0.5,0.25]}},\"meta\":{\"puid\":\"fixed\",\"tags\":{}}}");
	free(text);
	json_decref(j);
	seldon_msg_free(&m);
}

static void answer_puid_generated(void **st)
{
	(void)st;
	struct seldon_reply r;
	seldon_reply_init(&r, NULL);
	r.kind = SELDON_NONE;
	json_t *a = format(&r, NULL), *b = format(&r, NULL);
	const char *pa = json_string_value(json_object_get(json_object_get(a, "meta"), "puid"));
	const char *pb = json_string_value(json_object_get(json_object_get(b, "meta"), "puid"));
	assert_non_null(pa);
	assert_int_equal(strlen(pa), SELDON_PUID_LEN);
	assert_int_equal(strspn(pa, "abcdefghijklmnopqrstuvwxyz0123456789"), SELDON_PUID_LEN);
	assert_string_not_equal(pa, pb);
	assert_null(json_object_get(a, "data"));
	json_decref(a);
	json_decref(b);
}

static void answer_other_kinds(void **st)
{
	(void)st;
	struct seldon_reply r;
	char *text;
	seldon_reply_init(&r, NULL);
	r.puid = "p";
	json_t *s = json_string("quote \" backslash \\ newline \n tab \t nul-free \x01 \xc3\xa9");
	r.kind = SELDON_STRDATA;
	r.payload = s;
	json_t *j = format(&r, &text);
	assert_string_equal(json_string_value(json_object_get(j, "strData")), json_string_value(s));
	assert_non_null(strstr(text, "\\u0001"));
	free(text);
	json_decref(j);
	json_decref(s);

	json_t *js = json_pack("{s:[i,i]}", "a", 1, 2);
	r.kind = SELDON_JSONDATA;
	r.payload = js;
	j = format(&r, NULL);
	assert_true(json_equal(json_object_get(j, "jsonData"), js));
	json_decref(j);
	json_decref(js);

	unsigned char bytes[] = { 0, 1, 2, 250, 251, 252, 253 };
	r.kind = SELDON_BINDATA;
	r.payload = NULL;
	r.bin = bytes;
	r.binlen = sizeof bytes;
	j = format(&r, NULL);
	assert_string_equal(json_string_value(json_object_get(j, "binData")), "AAEC+vv8/Q==");
	json_decref(j);

	/* an inconsistent reply is refused, not crashed on */
	struct seldon_err e;
	struct sbuf sb = SBUF_INIT;
	r.kind = SELDON_TENSOR;
	r.t = NULL;
	assert_int_equal(seldon_format(&r, &sb, &e), WEFT_EINVAL);
	assert_int_equal(e.http, 500);
	sb_release(&sb);
}

/* numbers leave as the shortest text that reads back as the same float32 */
static void answer_numbers(void **st)
{
	(void)st;
	float v[] = { 0.1f, 1.0f / 3, 3.0f, -0.0f, FLT_MAX, FLT_MIN, 1e-45f, 123456789.0f, 1e-5f, 1e16f, NAN, -INFINITY };
	struct wtensor out = { .ndim = 1, .shape = { 12 }, .numel = 12, .data = v };
	struct seldon_reply r;
	seldon_reply_init(&r, NULL);
	r.t = &out;
	r.puid = "p";
	char *text;
	json_t *j = format(&r, &text);
	assert_non_null(strstr(text, "[0.1,0.33333334,3.0,-0.0,3.4028235e+38,1.1754944e-38,1e-45,123456790.0,"
				     "1e-05,1e+16,null,null]"));
	/* names only for 2+ dimensions */
	assert_non_null(strstr(text, "\"names\":[]"));
	free(text);
	json_decref(j);
}

/* format -> parse gives back every float bit for bit (random bit patterns,
 * subnormals, extremes), in both forms */
static void round_trip(void **st)
{
	(void)st;
	enum { N = 4096 };
	float *v = malloc(sizeof *v * N);
	uint32_t x = 2463534242u;
	for (int i = 0; i < N; i++) {
		uint32_t bits;
		do {
			x ^= x << 13;
			x ^= x >> 17;
			x ^= x << 5;
			bits = x;
			if (i % 7 == 0)
				bits &= 0x807fffffu; /* subnormals */
			memcpy(&v[i], &bits, 4);
		} while (!isfinite(v[i]));
	}
	v[0] = FLT_MAX;
	v[1] = -FLT_MAX;
	v[2] = FLT_MIN;
	v[3] = -0.0f;
	v[4] = 0x1p-149f;
	for (int form = 0; form < 2; form++) {
		struct wtensor out = { .ndim = 2, .shape = { 64, 64 }, .numel = N, .data = v };
		struct seldon_reply r;
		seldon_reply_init(&r, NULL);
		r.kind = form ? SELDON_TENSOR : SELDON_NDARRAY;
		r.t = &out;
		struct sbuf sb = SBUF_INIT;
		assert_int_equal(seldon_format(&r, &sb, &err), 0);
		ok(sb_str(&sb));
		assert_int_equal(m.kind, r.kind);
		shape_is(2, (int64_t[]){ 64, 64 });
		assert_memory_equal(m.tensor.data, v, sizeof *v * N);
		assert_int_equal(m.nnames, 64);
		assert_string_equal(m.names[63], "t:63");
		seldon_msg_free(&m);
		sb_release(&sb);
	}
	free(v);
}

static void float32_edges(void **st)
{
	(void)st;
	ok("{\"data\":{\"ndarray\":[3.4028235e38, -3.4028235e38, 3.40282356e38, 1e-45, 1e-46, -0.0, 0, "
	   "1.17549435e-38, 123456789012345678901234567890, 0.000000000000000000000000000001, 1E2, 1e+2, 25e-1]}}");
	float *d = m.tensor.data;
	assert_true(d[0] == FLT_MAX && d[1] == -FLT_MAX && d[2] == FLT_MAX);
	assert_true(d[3] == 0x1p-149f);
	assert_true(d[4] == 0.0f);
	assert_true(d[5] == 0.0f && signbit(d[5]));
	assert_true(d[7] == FLT_MIN);
	assert_true(d[8] == 1.2345679e29f);
	assert_true(d[9] == 1e-30f);
	assert_true(d[10] == 100.0f && d[11] == 100.0f && d[12] == 2.5f);
	seldon_msg_free(&m);
	fails("{\"data\":{\"ndarray\":[[1, 3.4028236e38]]}}", 400, SELDON_REASON_DATA,
	      "data.ndarray[0][1] is 3.4028236e38, which does not fit FP32");
	fails("{\"data\":{\"ndarray\":[1e400]}}", 400, SELDON_REASON_DATA, "data.ndarray[0] is 1e400");
	fails("{\"data\":{\"tensor\":{\"shape\":[1],\"values\":[-1e39]}}}", 400, SELDON_REASON_DATA,
	      "data.tensor.values[0] is -1e39");
	fails("{\"data\":{\"ndarray\":[NaN]}}", 400, SELDON_REASON_JSON,
	      "not valid JSON at line 1 column 21: NaN and Infinity are not JSON numbers");
	fails("{\"data\":{\"ndarray\":[Infinity]}}", 400, SELDON_REASON_JSON, "not valid JSON");
	fails("{\"data\":{\"ndarray\":[01]}}", 400, SELDON_REASON_JSON, "leading zeros");
	fails("{\"data\":{\"ndarray\":[1.]}}", 400, SELDON_REASON_JSON, "a digit must follow the decimal point");
	fails("{\"data\":{\"ndarray\":[.5]}}", 400, SELDON_REASON_JSON, "not valid JSON");
	fails("{\"data\":{\"ndarray\":[+1]}}", 400, SELDON_REASON_JSON, "not valid JSON");
	fails("{\"data\":{\"ndarray\":[1e]}}", 400, SELDON_REASON_JSON, "an exponent needs digits");
}

/* ---- bad bodies ------------------------------------------------------------- */

static void ragged(void **st)
{
	(void)st;
	fails("{\"data\":{\"ndarray\":[[1,2,3,4,5],[1,2,3,4,5],[1,2,3,4,5],[1,2,3,4]]}}", 400, SELDON_REASON_DATA,
	      "data.ndarray[3] has 4 values, data.ndarray[0] has 5");
	fails("{\"data\":{\"ndarray\":[[[1,2],[3,4]],[[5,6],[7]]]}}", 400, SELDON_REASON_DATA,
	      "data.ndarray[1][1] has 1 values, data.ndarray[0][0] has 2");
	fails("{\"data\":{\"ndarray\":[[1],[[2]]]}}", 400, SELDON_REASON_DATA,
	      "data.ndarray[1][0] is an array, but data.ndarray[0][0] is a number");
	fails("{\"data\":{\"ndarray\":[[[]],[1]]}}", 400, SELDON_REASON_DATA,
	      "data.ndarray[1][0] is a number, but data.ndarray[0][0] is an array");
	fails("{\"data\":{\"ndarray\":[[], 1]}}", 400, SELDON_REASON_DATA, "data.ndarray[1] is a number");
	fails("{\"data\":{\"ndarray\":[[1,2],[]]}}", 400, SELDON_REASON_DATA, "data.ndarray[1] has 0 values");
	fails("{\"data\":{\"ndarray\":[[[[[[[[[1]]]]]]]]]}}", 400, SELDON_REASON_DATA,
	      "data.ndarray nests deeper than 8 levels");
	fails("{\"data\":{\"ndarray\":5}}", 400, SELDON_REASON_DATA, "data.ndarray must be an array, not a number");
}

static void tensor_sizes(void **st)
{
	(void)st;
	fails("{\"data\":{\"tensor\":{\"shape\":[2,3],\"values\":[1,2,3,4,5]}}}", 400, SELDON_REASON_DATA,
	      "data.tensor.shape [2,3] needs 6 values, got 5");
	fails("{\"data\":{\"tensor\":{\"values\":[1,2,3,4,5,6,7],\"shape\":[2,3]}}}", 400, SELDON_REASON_DATA,
	      "data.tensor.shape [2,3] needs 6 values, got 7");
	fails("{\"data\":{\"tensor\":{\"shape\":[2,3],\"values\":[1,2,3,4,5,6,7,8]}}}", 400, SELDON_REASON_DATA,
	      "needs 6 values, got 8");
	fails("{\"data\":{\"tensor\":{\"shape\":[2,-3],\"values\":[]}}}", 400, SELDON_REASON_DATA,
	      "data.tensor.shape[1] is -3; it must be at least 0");
	fails("{\"data\":{\"tensor\":{\"shape\":[2.5],\"values\":[]}}}", 400, SELDON_REASON_DATA,
	      "data.tensor.shape[0] must be an integer, not 2.5");
	fails("{\"data\":{\"tensor\":{\"shape\":[1,1,1,1,1,1,1,1,1],\"values\":[1]}}}", 400, SELDON_REASON_DATA,
	      "data.tensor.shape has more than 8 dimensions");
	fails("{\"data\":{\"tensor\":{\"shape\":[2],\"values\":[[1],[2]]}}}", 400, SELDON_REASON_DATA,
	      "data.tensor.values must be a flat array");
	fails("{\"data\":{\"tensor\":{\"shape\":[2],\"values\":[1,\"2\"]}}}", 400, SELDON_REASON_DATA,
	      "data.tensor.values[1] is a string, not a number");
	fails("{\"data\":{\"tensor\":{\"shape\":[2]}}}", 400, SELDON_REASON_DATA, "data.tensor has no values");
	fails("{\"data\":{\"tensor\":{\"values\":[1]}}}", 400, SELDON_REASON_DATA, "data.tensor has no shape");
	fails("{\"data\":{\"tensor\":{\"shape\":[1],\"values\":[1],\"dtype\":1}}}", 400, SELDON_REASON_DATA,
	      "data.tensor has an unknown member \"dtype\"");
}

/* a shape claiming more than the limit is refused before anything is allocated
 * (ASan would report a 10^15-float allocation), and so is a long array */
static void huge_shapes(void **st)
{
	(void)st;
	fails("{\"data\":{\"tensor\":{\"shape\":[100000,100000,100000],\"values\":[1]}}}", 413, SELDON_REASON_TOOBIG,
	      "data.tensor.shape [100000,100000,100000] holds 1000000000000000 values, over the limit of 16777216");
	fails("{\"data\":{\"tensor\":{\"shape\":[9223372036854775807,9223372036854775807],\"values\":[1]}}}", 413,
	      SELDON_REASON_TOOBIG, "holds more than");
	assert_int_equal(parse_max("{\"data\":{\"tensor\":{\"values\":[1,2,3,4,5],\"shape\":[5]}}}", 4), WEFT_ETOOBIG);
	assert_int_equal(err.http, 413);
	assert_non_null(strstr(err.info, "data.tensor.values has more than 4 values, the limit"));
	assert_int_equal(parse_max("{\"data\":{\"ndarray\":[[1,2],[3,4],[5,6]]}}", 5), WEFT_ETOOBIG);
	assert_non_null(strstr(err.info, "data.ndarray has more than 5 values"));
	assert_int_equal(parse_max("{\"data\":{\"ndarray\":[[1,2],[3,4],[5,6]]}}", 6), 0);
	seldon_msg_free(&m);
	/* under the limit, but more than the body could hold: counted, not allocated */
	fails("{\"data\":{\"tensor\":{\"shape\":[4096,4096],\"values\":[1,2,3]}}}", 400, SELDON_REASON_DATA,
	      "data.tensor.shape [4096,4096] needs 16777216 values, got 3");
}

static void garbage_json(void **st)
{
	(void)st;
	fails("", 400, SELDON_REASON_JSON, "not valid JSON at line 1 column 1: the body is empty");
	fails("   \n ", 400, SELDON_REASON_JSON, "the body is empty");
	fails("{\"data\" {}}", 400, SELDON_REASON_JSON, "not valid JSON at line 1 column 9: expected ':'");
	fails("{\n  \"data\": {\n    \"ndarray\": [[1, 2],\n                [3 4]]\n  }\n}", 400, SELDON_REASON_JSON,
	      "not valid JSON at line 4 column 20: expected ',' or ']'");
	fails("{\"data\":{\"ndarray\":[1,2,]}}", 400, SELDON_REASON_JSON, "expected a value after ','");
	fails("{\"data\":{\"ndarray\":[1,2]},}", 400, SELDON_REASON_JSON, "expected a member name after ','");
	fails("{\"strData\":\"abc}", 400, SELDON_REASON_JSON, "a string is not closed");
	fails("{\"strData\":\"a\tb\"}", 400, SELDON_REASON_JSON, "control character 0x09");
	fails("{\"strData\":\"\\x\"}", 400, SELDON_REASON_JSON, "invalid escape");
	fails("{\"strData\":\"\\ud800\"}", 400, SELDON_REASON_JSON, "high surrogate without its low half");
	fails("{\"strData\":\"\xff\xfe\"}", 400, SELDON_REASON_JSON, "invalid UTF-8");
	fails("{\"strData\":\"\xc0\xaf\"}", 400, SELDON_REASON_JSON, "invalid UTF-8"); /* overlong '/' */
	fails("{\"strData\":\"x\"} {}", 400, SELDON_REASON_JSON, "unexpected text after the JSON value");
	fails("{\"jsonData\": tru}", 400, SELDON_REASON_JSON, "unknown literal");
	fails("{\"jsonData\": {\"a\": 1e999}}", 400, SELDON_REASON_JSON, "not valid JSON");
	fails("{\"jsonData\": 123456789012345678901234567890}", 400, SELDON_REASON_JSON, "not valid JSON");
	fails("[1, 2]", 400, SELDON_REASON_DATA, "the body must be an object, not an array");
	fails("\"text\"", 400, SELDON_REASON_DATA, "the body must be an object, not a string");
	fails("{\"binData\":\"aGVsbG8*\"}", 400, SELDON_REASON_DATA, "binData is not valid base64 (at character 8)");
	fails("{\"binData\":\"a\"}", 400, SELDON_REASON_DATA, "binData is not valid base64");
	/* a body with a NUL in it */
	assert_int_equal(seldon_parse("{\"strData\":\"a\0b\"}", 16, 0, &m, &err), WEFT_EINVAL);
	assert_non_null(strstr(err.info, "control character 0x00"));
	/* strings may carry \u0000 */
	ok("{\"strData\":\"a\\u0000b\"}");
	assert_int_equal(json_string_length(m.payload), 3);
	seldon_msg_free(&m);
}

static void wrong_members(void **st)
{
	(void)st;
	fails("{}", 400, SELDON_REASON_DATA, "the message has no data, jsonData, strData or binData");
	fails("{\"meta\":{}}", 400, SELDON_REASON_DATA, "has no data");
	fails("{\"data\":{\"ndarray\":[[1,2]]},\"strData\":\"x\"}", 400, SELDON_REASON_DATA,
	      "the message holds both data and strData");
	fails("{\"data\":{\"ndarray\":[1]},\"data\":{\"ndarray\":[2]}}", 400, SELDON_REASON_DATA,
	      "the message has \"data\" twice");
	fails("{\"data\":{\"ndarray\":[1],\"tensor\":{\"shape\":[1],\"values\":[1]}}}", 400, SELDON_REASON_DATA,
	      "data holds both ndarray and tensor");
	fails("{\"data\":{\"names\":[\"a\"]}}", 400, SELDON_REASON_DATA, "data has no ndarray, tensor or tftensor");
	fails("{\"data\":{\"names\":[\"a\", 1],\"ndarray\":[1]}}", 400, SELDON_REASON_DATA,
	      "data.names[1] must be a string, not a number");
	fails("{\"data\":{\"ndaray\":[1]}}", 400, SELDON_REASON_DATA, "data has an unknown member \"ndaray\"");
	fails("{\"date\":{\"ndarray\":[1]}}", 400, SELDON_REASON_DATA, "the message has an unknown member \"date\"");
	fails("{\"customData\":{}}", 400, SELDON_REASON_DATA, "customData (a protobuf Any) is for gRPC only");
	fails("{\"data\":[1,2]}", 400, SELDON_REASON_DATA, "data must be an object, not an array");
	fails("{\"strData\":5}", 400, SELDON_REASON_DATA, "strData must be a string, not a number");
	/* a status member (as model servers answer) is kept */
	ok("{\"status\":{\"code\":200,\"status\":\"SUCCESS\"},\"data\":{\"ndarray\":[1]}}");
	assert_string_equal(json_string_value(json_object_get(m.status, "status")), "SUCCESS");
	seldon_msg_free(&m);
}

static void deep_nesting(void **st)
{
	(void)st;
	struct sbuf sb = SBUF_INIT;
	/* 100 levels of jsonData are fine; 200 are refused without recursing 200 deep */
	for (int depth = 100; depth <= 200; depth += 100) {
		sb_reset(&sb);
		sb_adds(&sb, "{\"jsonData\":");
		for (int i = 0; i < depth; i++)
			sb_addc(&sb, '[');
		for (int i = 0; i < depth; i++)
			sb_addc(&sb, ']');
		sb_addc(&sb, '}');
		int rc = parse(sb_str(&sb));
		if (depth == 100) {
			assert_int_equal(rc, 0);
			seldon_msg_free(&m);
		} else {
			assert_int_equal(rc, WEFT_EINVAL);
			assert_string_equal(err.reason, SELDON_REASON_JSON);
			assert_non_null(strstr(err.info, "nested deeper than 128"));
		}
	}
	/* 100000 '[' in an ndarray */
	sb_reset(&sb);
	sb_adds(&sb, "{\"data\":{\"ndarray\":");
	for (int i = 0; i < 100000; i++)
		sb_addc(&sb, '[');
	fails(sb_str(&sb), 400, SELDON_REASON_JSON, "nested deeper than 128");
	sb_release(&sb);
}

/* ---- errors, feedback, metadata ----------------------------------------------- */

static void error_body(void **st)
{
	(void)st;
	fails("{\"data\":{\"ndarray\":[[1,2],[3]]}}", 400, SELDON_REASON_DATA, "ragged");
	struct sbuf sb = SBUF_INIT;
	seldon_error_body(&err, &sb);
	json_t *j = json_loads(sb_str(&sb), 0, NULL);
	assert_non_null(j);
	json_t *s = json_object_get(j, "status");
	assert_int_equal(json_integer_value(json_object_get(s, "code")), 400);
	assert_string_equal(json_string_value(json_object_get(s, "reason")), "MICROSERVICE_BAD_DATA");
	assert_string_equal(json_string_value(json_object_get(s, "status")), "FAILURE");
	assert_string_equal(json_string_value(json_object_get(s, "info")), err.info);
	json_decref(j);
	sb_reset(&sb);
	seldon_status_body(503, "MICROSERVICE_UNAVAILABLE", "no replica \"ready\"", &sb);
	assert_string_equal(sb_str(&sb), "{\"status\":{\"code\":503,\"info\":\"no replica \\\"ready\\\"\","
					 "\"reason\":\"MICROSERVICE_UNAVAILABLE\",\"status\":\"FAILURE\"}}");
	struct seldon_err e;
	seldon_err_from(&e, WEFT_ENOTFOUND, "no deployment x");
	assert_int_equal(e.http, 404);
	seldon_err_from(&e, WEFT_EIO, "boom");
	assert_int_equal(e.http, 500);
	sb_release(&sb);
}

static void feedback(void **st)
{
	(void)st;
	struct seldon_feedback f;
	const char *body = "{\"request\": {\"data\": {\"ndarray\": [[1, 2]]}},"
			   " \"response\": {\"meta\": {\"puid\": \"p1\"}, \"data\": {\"names\": [\"t:0\"], \"ndarray\": [[0.9]]}},"
			   " \"reward\": 1.0, \"truth\": {\"data\": {\"tensor\": {\"shape\": [1], \"values\": [1]}}}}";
	assert_int_equal(seldon_parse_feedback(body, strlen(body), 0, &f, &err), 0);
	assert_true(f.has_request && f.has_response && f.has_truth && f.has_reward);
	assert_true(f.reward == 1.0);
	assert_true(f.request.numeric);
	assert_int_equal(f.request.tensor.numel, 2);
	assert_string_equal(f.response.puid, "p1");
	assert_int_equal(f.truth.kind, SELDON_TENSOR);
	seldon_feedback_free(&f);

	body = "{\"reward\": 0, \"response\": {\"meta\": {\"puid\": \"only-meta\"}}}";
	assert_int_equal(seldon_parse_feedback(body, strlen(body), 0, &f, &err), 0);
	assert_false(f.has_request);
	assert_int_equal(f.response.kind, SELDON_NONE);
	seldon_feedback_free(&f);
	assert_int_equal(seldon_parse_feedback("{}", 2, 0, &f, &err), 0);
	seldon_feedback_free(&f);

	struct {
		const char *body, *want;
		int http;
	} bad[] = {
		{ "{\"reward\": \"high\"}", "reward must be a number, not a string", 400 },
		{ "{\"reward\": 1e999}", "reward 1e999 is out of range", 400 },
		{ "{\"rewards\": 1}", "the feedback has an unknown member \"rewards\"", 400 },
		{ "{\"reward\": 1, \"reward\": 2}", "the feedback has \"reward\" twice", 400 },
		{ "{\"request\": {\"data\": {\"ndarray\": [[1], [1, 2]]}}}", "request.data.ndarray[1] has 2 values", 400 },
		{ "{\"truth\": {\"strData\": \"a\", \"jsonData\": 1}}", "truth holds both strData and jsonData", 400 },
		{ "{\"request\": []}", "request must be an object, not an array", 400 },
		{ "{\"request\": {\"data\": {\"tensor\": {\"shape\": [99999999999], \"values\": []}}}}",
		  "request.data.tensor.shape [99999999999] holds", 413 },
		{ "{\"reward\": 1", "not valid JSON at line 1 column 13", 400 },
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		assert_int_not_equal(seldon_parse_feedback(bad[i].body, strlen(bad[i].body), 0, &f, &err), 0);
		if (!strstr(err.info, bad[i].want))
			fail_msg("feedback %s: info \"%s\" lacks \"%s\"", bad[i].body, err.info, bad[i].want);
		assert_int_equal(err.http, bad[i].http);
		assert_false(f.has_request || f.has_response || f.has_truth || f.has_reward);
	}
}

static void metadata(void **st)
{
	(void)st;
	const char *versions[] = { "1" };
	struct serve_tensor_spec in = { .name = "input", .datatype = "FP32", .ndim = 2, .shape = { -1, 64 } };
	struct serve_tensor_spec out = { .name = "probabilities", .datatype = "FP32", .ndim = 2, .shape = { -1, 10 } };
	struct serve_model_meta mm = { .name = "digits", .versions = versions, .nversions = 1, .platform = "onnx",
				       .inputs = &in, .ninputs = 1, .outputs = &out, .noutputs = 1 };
	struct sbuf sb = SBUF_INIT;
	seldon_model_metadata(&mm, &sb);
	assert_string_equal(sb_str(&sb), "{\"name\":\"digits\",\"versions\":[\"1\"],\"platform\":\"onnx\","
					 "\"inputs\":[{\"name\":\"input\",\"datatype\":\"FP32\",\"shape\":[-1,64]}],"
					 "\"outputs\":[{\"name\":\"probabilities\",\"datatype\":\"FP32\",\"shape\":[-1,10]}]}");
	sb_reset(&sb);
	seldon_graph_metadata("mnist", &mm, 1, &sb);
	json_t *j = json_loads(sb_str(&sb), 0, NULL);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "name")), "mnist");
	assert_string_equal(json_string_value(json_object_get(json_object_get(json_object_get(j, "models"), "digits"),
							      "platform")), "onnx");
	assert_int_equal(json_integer_value(json_array_get(
				 json_object_get(json_array_get(json_object_get(j, "graphinputs"), 0), "shape"), 1)), 64);
	assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(j, "graphoutputs"), 0),
							      "name")), "probabilities");
	json_decref(j);
	sb_release(&sb);
}

/* a custom server's answer gets puid and requestPath, and keeps the rest */
static void annotate(void **st)
{
	(void)st;
	struct seldon_node path[] = { { "model", "python:server.py" } };
	struct sbuf sb = SBUF_INIT;
	struct seldon_err e;
	const char *ans = "{\"data\":{\"names\":[\"p\"],\"ndarray\":[[0.12345678901234566]]},"
			  "\"meta\":{\"tags\":{\"t\":1},\"requestPath\":{\"inner\":\"x\"}}}";
	assert_int_equal(seldon_annotate(ans, strlen(ans), "p-9", path, 1, &sb, &e), 0);
	assert_string_equal(sb_str(&sb), "{\"data\":{\"names\":[\"p\"],\"ndarray\":[[0.12345678901234566]]},"
					 "\"meta\":{\"tags\":{\"t\":1},\"requestPath\":{\"inner\":\"x\","
					 "\"model\":\"python:server.py\"},\"puid\":\"p-9\"}}");
	sb_reset(&sb);
	ans = "{\"strData\":\"hi\",\"meta\":{\"puid\":\"server-set\"}}";
	assert_int_equal(seldon_annotate(ans, strlen(ans), NULL, NULL, 0, &sb, &e), 0);
	assert_string_equal(sb_str(&sb), "{\"strData\":\"hi\",\"meta\":{\"puid\":\"server-set\"}}");
	sb_reset(&sb);
	assert_int_equal(seldon_annotate("{\"jsonData\":1}", 14, NULL, NULL, 0, &sb, &e), 0);
	json_t *j = json_loads(sb_str(&sb), 0, NULL);
	assert_int_equal(strlen(json_string_value(json_object_get(json_object_get(j, "meta"), "puid"))), SELDON_PUID_LEN);
	json_decref(j);
	sb_reset(&sb);
	assert_int_equal(seldon_annotate("[1]", 3, NULL, NULL, 0, &sb, &e), WEFT_EINVAL);
	assert_int_equal(e.http, 500);
	assert_int_equal(seldon_annotate("<html>", 6, NULL, NULL, 0, &sb, &e), WEFT_EINVAL);
	assert_non_null(strstr(e.info, "the model server's answer is not JSON (line 1 column 1"));
	assert_int_equal(sb.len, 0);
	sb_release(&sb);
}

/* a body that ends anywhere is an error, never a crash or a read past it */
static void every_prefix(void **st)
{
	(void)st;
	const char *body = "{\"meta\":{\"puid\":\"x\",\"tags\":{\"a\":[1,{\"b\":null}]}},"
			   "\"data\":{\"names\":[\"a\",\"\\u00e9\\ud83d\\ude00\"],\"ndarray\":[[1.5e-3,-2],[3,4E+2]]}}";
	size_t n = strlen(body);
	for (size_t len = 0; len < n; len++) {
		char *copy = malloc(len ? len : 1);
		memcpy(copy, body, len);
		int rc = seldon_parse(copy, len, 0, &m, &err);
		assert_int_equal(rc, WEFT_EINVAL);
		free(copy);
	}
	ok(body);
	assert_string_equal(m.names[1], "\xc3\xa9\xf0\x9f\x98\x80");
	seldon_msg_free(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(ndarray_2d),
		cmocka_unit_test(ndarray_shapes),
		cmocka_unit_test(tensor_form),
		cmocka_unit_test(other_payloads),
		cmocka_unit_test(ndarray_not_numeric),
		cmocka_unit_test(meta_fields),
		cmocka_unit_test(answer_ndarray),
		cmocka_unit_test(answer_tensor_form),
		cmocka_unit_test(answer_puid_generated),
		cmocka_unit_test(answer_other_kinds),
		cmocka_unit_test(answer_numbers),
		cmocka_unit_test(round_trip),
		cmocka_unit_test(float32_edges),
		cmocka_unit_test(ragged),
		cmocka_unit_test(tensor_sizes),
		cmocka_unit_test(huge_shapes),
		cmocka_unit_test(garbage_json),
		cmocka_unit_test(wrong_members),
		cmocka_unit_test(deep_nesting),
		cmocka_unit_test(error_body),
		cmocka_unit_test(feedback),
		cmocka_unit_test(metadata),
		cmocka_unit_test(annotate),
		cmocka_unit_test(every_prefix),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

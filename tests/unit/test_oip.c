/* test_oip.c - the Open Inference Protocol v2 codec: the infer request of
 * protocols.md, every datatype with values at and past its limits, flat and
 * nested data, members in any order, huge claimed shapes refused before any
 * allocation, garbage JSON with line and column; the response (datatypes
 * printed as asked, id echoed or made), checks against model metadata, the
 * metadata and health answers, and a format -> parse round trip of floats. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "serve/oip.h"
#include <float.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct oip_request r;
static struct weft_err e;

static void ok(const char *body)
{
	int rc = oip_parse_request(body, strlen(body), 0, &r, &e);
	if (rc)
		fail_msg("parse failed (%d): %s\nbody: %s", rc, e.msg, body);
}

static void fails_code(const char *body, int code, const char *want)
{
	int rc = oip_parse_request(body, strlen(body), 0, &r, &e);
	if (rc == 0) {
		oip_request_free(&r);
		fail_msg("parse accepted: %s", body);
	}
	assert_int_equal(rc, code);
	assert_int_equal(e.code, code);
	if (!strstr(e.msg, want))
		fail_msg("message \"%s\" lacks \"%s\"", e.msg, want);
	assert_int_equal(r.ninputs, 0);
	assert_null(r.inputs);
	assert_null(r.id);
}

static void fails(const char *body, const char *want) { fails_code(body, WEFT_EINVAL, want); }

/* one input of datatype dt and shape [n] with the given data text */
static char *one(const char *dt, const char *shape, const char *data)
{
	static char buf[4096];
	snprintf(buf, sizeof buf, "{\"inputs\":[{\"name\":\"x\",\"shape\":%s,\"datatype\":\"%s\",\"data\":%s}]}", shape,
		 dt, data);
	return buf;
}

static void protocol_example(void **st)
{
	(void)st;
	ok("{\"id\": \"42\", \"parameters\": {\"k\": \"v\", \"n\": 1, \"b\": true},"
	   " \"inputs\": [{\"name\": \"input0\", \"shape\": [2, 2], \"datatype\": \"UINT32\", \"parameters\": {},"
	   " \"data\": [1, 2, 3, 4]}], \"outputs\": [{\"name\": \"output0\", \"parameters\": {}}]}");
	assert_string_equal(r.id, "42");
	assert_string_equal(json_string_value(json_object_get(r.parameters, "k")), "v");
	assert_int_equal(r.ninputs, 1);
	struct oip_input *in = &r.inputs[0];
	assert_string_equal(in->t.name, "input0");
	assert_int_equal(in->dtype, OIP_UINT32);
	assert_int_equal(in->t.ndim, 2);
	assert_int_equal(in->t.shape[0], 2);
	assert_int_equal(in->t.shape[1], 2);
	assert_int_equal(in->t.numel, 4);
	for (int i = 0; i < 4; i++)
		assert_true(in->t.data[i] == (float)(i + 1));
	assert_non_null(in->parameters);
	assert_null(in->bytes);
	assert_int_equal(r.noutputs, 1);
	assert_string_equal(r.outputs[0].name, "output0");
	assert_true(oip_output_wanted(&r, "output0"));
	assert_false(oip_output_wanted(&r, "other"));
	oip_request_free(&r);
	/* minimal: no id, no outputs */
	ok(one("FP32", "[1,3]", "[0.5, -1, 2e3]"));
	assert_null(r.id);
	assert_null(r.parameters);
	assert_int_equal(r.noutputs, 0);
	assert_true(oip_output_wanted(&r, "anything"));
	assert_true(r.inputs[0].t.data[2] == 2000.0f);
	oip_request_free(&r);
}

static void nested_and_order(void **st)
{
	(void)st;
	/* nested to the shape */
	ok(one("FP32", "[2,3]", "[[1,2,3],[4,5,6]]"));
	assert_true(r.inputs[0].t.data[5] == 6.0f);
	oip_request_free(&r);
	/* data before shape and datatype (read on a second pass) */
	ok("{\"inputs\":[{\"data\":[[1,2],[3,300]],\"datatype\":\"INT16\",\"name\":\"late\",\"shape\":[2,2]}]}");
	assert_string_equal(r.inputs[0].t.name, "late");
	assert_true(r.inputs[0].t.data[3] == 300.0f);
	oip_request_free(&r);
	fails("{\"inputs\":[{\"data\":[[1,2],[3,300]],\"datatype\":\"INT8\",\"name\":\"late\",\"shape\":[2,2]}]}",
	      "inputs[0] (\"late\").data[1][1] is 300, which does not fit INT8 (-128..127)");
	/* several inputs; outputs before inputs */
	ok("{\"outputs\":[{\"name\":\"a\"},{\"name\":\"b\"}],\"inputs\":["
	   "{\"name\":\"x\",\"shape\":[1],\"datatype\":\"FP32\",\"data\":[1]},"
	   "{\"name\":\"y\",\"shape\":[],\"datatype\":\"INT64\",\"data\":[7]},"
	   "{\"name\":\"z\",\"shape\":[0,4],\"datatype\":\"FP32\",\"data\":[]}]}");
	assert_int_equal(r.ninputs, 3);
	assert_int_equal(r.inputs[1].t.ndim, 0);
	assert_int_equal(r.inputs[1].t.numel, 1);
	assert_true(r.inputs[1].t.data[0] == 7.0f);
	assert_int_equal(r.inputs[2].t.numel, 0);
	assert_int_equal(r.noutputs, 2);
	oip_request_free(&r);
	fails(one("FP32", "[3,2]", "[[1,2,3],[4,5,6]]"), "inputs[0] (\"x\").data is nested as [2,3], but shape is [3,2]");
	fails(one("FP32", "[6]", "[[1,2,3],[4,5,6]]"), "is nested as [2,3], but shape is [6]");
	fails(one("FP32", "[2,3]", "[[1,2,3],[4,5]]"), "inputs[0] (\"x\").data[1] has 2 values, inputs[0] (\"x\").data[0] has 3");
	fails(one("FP32", "[2,2]", "[1,2,3]"), "inputs[0] (\"x\").shape [2,2] needs 4 values, data has 3");
	fails(one("FP32", "[2,2]", "[1,2,3,4,5]"), "needs 4 values, data has 5");
	fails(one("FP32", "[1]", "5"), "inputs[0] (\"x\").data must be an array, not a number");
}

static void datatypes(void **st)
{
	(void)st;
	struct {
		const char *dt, *data;
		float first, last;
	} good[] = {
		{ "BOOL", "[true, false]", 1, 0 },
		{ "BOOL", "[0, 1]", 0, 1 },
		{ "BOOL", "[-0, 1]", 0, 1 },
		{ "UINT8", "[0, 255]", 0, 255 },
		{ "UINT16", "[0, 65535]", 0, 65535 },
		{ "UINT32", "[0, 4294967295]", 0, 4294967295.0f },
		{ "UINT64", "[0, 18446744073709551615]", 0, 18446744073709551615.0f },
		{ "INT8", "[-128, 127]", -128, 127 },
		{ "INT16", "[-32768, 32767]", -32768, 32767 },
		{ "INT32", "[-2147483648, 2147483647]", -2147483648.0f, 2147483647.0f },
		{ "INT64", "[-9223372036854775808, 9223372036854775807]", -9223372036854775808.0f, 9223372036854775807.0f },
		{ "INT32", "[1.0, 1e2]", 1, 100 }, /* integral values written as reals */
		{ "FP16", "[-65504, 65504]", -65504, 65504 },
		{ "FP16", "[0.5, 65519.99]", 0.5f, 65519.99f },
		{ "FP32", "[-3.4028235e38, 3.4028235e38]", -FLT_MAX, FLT_MAX },
		{ "FP64", "[1e-300, 0.1]", 0, 0.1f },
		{ "BF16", "[1.5, -2]", 1.5f, -2 },
		{ "UINT8", "[-0, 1]", 0, 1 },
	};
	for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
		ok(one(good[i].dt, "[2]", good[i].data));
		assert_int_equal(r.inputs[0].dtype, oip_dtype_parse(good[i].dt));
		if (r.inputs[0].t.data[0] != good[i].first || r.inputs[0].t.data[1] != good[i].last ||
		    (r.inputs[0].dtype == OIP_BOOL && signbit(r.inputs[0].t.data[0])))
			fail_msg("%s %s read as %g, %g", good[i].dt, good[i].data, r.inputs[0].t.data[0], r.inputs[0].t.data[1]);
		oip_request_free(&r);
	}
	struct {
		const char *dt, *data, *want;
	} bad[] = {
		{ "BOOL", "[true, 2]", "data[1] is 2, which does not fit BOOL (true, false, 0 or 1)" },
		{ "BOOL", "[true, \"yes\"]", "data[1] is a string, not a number (BOOL)" },
		{ "UINT8", "[0, 256]", "data[1] is 256, which does not fit UINT8 (0..255)" },
		{ "UINT8", "[-1, 0]", "data[0] is -1, which does not fit UINT8 (0..255)" },
		{ "UINT16", "[65536, 0]", "does not fit UINT16 (0..65535)" },
		{ "UINT32", "[4294967296, 0]", "does not fit UINT32" },
		{ "UINT64", "[18446744073709551616, 0]", "is 18446744073709551616, which does not fit UINT64" },
		{ "UINT64", "[1e20, 0]", "does not fit UINT64" },
		{ "INT8", "[300, 0]", "inputs[0] (\"x\").data[0] is 300, which does not fit INT8 (-128..127)" },
		{ "INT8", "[-129, 0]", "does not fit INT8" },
		{ "INT16", "[32768, 0]", "does not fit INT16" },
		{ "INT32", "[2147483648, 0]", "does not fit INT32" },
		{ "INT32", "[1.5, 0]", "data[0] is 1.5, which does not fit INT32: not an integer" },
		{ "INT64", "[9223372036854775808, 0]", "does not fit INT64" },
		{ "INT64", "[-9223372036854775809, 0]", "does not fit INT64" },
		{ "FP16", "[65520, 0]", "data[0] is 65520, which does not fit FP16" },
		{ "FP32", "[3.5e38, 0]", "does not fit FP32" },
		{ "FP64", "[1e300, 0]", "is 1e300, which does not fit FP64 (weft computes in float32)" },
		{ "FP32", "[1, null]", "data[1] is null, not a number (FP32)" },
		{ "FP32", "[1, true]", "data[1] is a boolean, not a number (FP32)" },
		{ "FP32", "[1, {}]", "data[1] is an object, not a number (FP32)" },
		{ "FLOAT32", "[1, 2]", "inputs[0] (\"x\").datatype \"FLOAT32\" is not one of BOOL" },
		{ "fp32", "[1, 2]", "is not one of" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		fails(one(bad[i].dt, "[2]", bad[i].data), bad[i].want);
}

static void bytes_type(void **st)
{
	(void)st;
	ok(one("BYTES", "[2,1]", "[[\"hello\"],[\"w\\u00f6rld\"]]"));
	struct oip_input *in = &r.inputs[0];
	assert_int_equal(in->dtype, OIP_BYTES);
	assert_null(in->t.data);
	assert_int_equal(in->t.numel, 2);
	assert_true(json_is_array(in->bytes));
	/* it goes back out flat */
	struct oip_output o = { .t = &in->t, .dtype = OIP_BYTES, .bytes = in->bytes };
	struct oip_reply rep = { .model_name = "echo", .id = "1", .outputs = &o, .noutputs = 1 };
	struct sbuf sb = SBUF_INIT;
	assert_int_equal(oip_format_response(&rep, &sb, &e), 0);
	assert_string_equal(sb_str(&sb), "{\"model_name\":\"echo\",\"id\":\"1\",\"outputs\":[{\"name\":\"x\",\"datatype\":"
					 "\"BYTES\",\"shape\":[2,1],\"data\":[\"hello\",\"w\xc3\xb6rld\"]}]}");
	sb_release(&sb);
	oip_request_free(&r);
	fails(one("BYTES", "[2]", "[\"a\", 1]"), "inputs[0] (\"x\").data holds a number; BYTES data must be strings");
	fails(one("BYTES", "[3]", "[\"a\", \"b\"]"), "inputs[0] (\"x\").shape [3] needs 3 values, data has 2");
	fails(one("BYTES", "[1]", "\"a\""), "data must be an array, not a string");
}

static void shapes_and_limits(void **st)
{
	(void)st;
	fails_code(one("FP32", "[100000000000,100000000000]", "[]"), WEFT_ETOOBIG,
		   "inputs[0] (\"x\").shape [100000000000,100000000000] holds more than 2^63 values");
	fails_code(one("FP32", "[4096,4096,2]", "[1]"), WEFT_ETOOBIG,
		   "inputs[0] (\"x\").shape [4096,4096,2] holds 33554432 values, over the limit of 16777216");
	fails_code(one("BYTES", "[1000000000]", "[\"a\"]"), WEFT_ETOOBIG, "over the limit");
	const char *b = one("FP32", "[10]", "[1,2,3,4,5,6,7,8,9,10]");
	assert_int_equal(oip_parse_request(b, strlen(b), 9, &r, &e), WEFT_ETOOBIG);
	assert_int_equal(oip_parse_request(b, strlen(b), 10, &r, &e), 0);
	oip_request_free(&r);
	fails(one("FP32", "[4096,4096]", "[1,2,3]"), "inputs[0] (\"x\").shape [4096,4096] needs 16777216 values, data has 3");
	fails(one("FP32", "[4096,4096]", "[[1,2,3]]"), "inputs[0] (\"x\").data is nested as [1,3], but shape is [4096,4096]");
	fails(one("FP32", "[-1]", "[]"), "inputs[0] (\"x\").shape[0] is -1; it must be at least 0");
	fails(one("FP32", "[1.5]", "[]"), "inputs[0] (\"x\").shape[0] must be an integer, not 1.5");
	fails(one("FP32", "[\"2\"]", "[]"), "inputs[0] (\"x\").shape[0] must be an integer, not a string");
	fails(one("FP32", "[1,1,1,1,1,1,1,1,1]", "[1]"), "inputs[0] (\"x\").shape has more than 8 dimensions");
	fails(one("FP32", "[1e30]", "[]"), "shape[0] is 1e30, out of range");
	fails(one("FP32", "2", "[]"), "inputs[0] (\"x\").shape must be an array, not a number");
}

static void members(void **st)
{
	(void)st;
	fails("{\"inputs\":[]}", "inputs is empty");
	fails("{\"id\":\"1\"}", "the request has no inputs");
	fails("{\"inputs\":{}}", "inputs must be an array, not an object");
	fails("{\"inputs\":[{\"shape\":[1],\"datatype\":\"FP32\",\"data\":[1]}]}", "inputs[0] has no name");
	fails("{\"inputs\":[{\"name\":\"a\",\"datatype\":\"FP32\",\"data\":[1]}]}", "inputs[0] (\"a\") has no shape");
	fails("{\"inputs\":[{\"name\":\"a\",\"shape\":[1],\"data\":[1]}]}", "inputs[0] (\"a\") has no datatype");
	fails("{\"inputs\":[{\"name\":\"a\",\"shape\":[1],\"datatype\":\"FP32\"}]}", "inputs[0] (\"a\") has no data");
	fails("{\"inputs\":[{\"name\":\"a\",\"shape\":[1],\"datatype\":\"FP32\",\"data\":[1],\"dims\":[1]}]}",
	      "inputs[0] (\"a\") has an unknown member \"dims\"");
	fails("{\"inputs\":[{\"name\":\"a\",\"name\":\"b\",\"shape\":[1],\"datatype\":\"FP32\",\"data\":[1]}]}",
	      "inputs[0] (\"a\") has \"name\" twice");
	fails("{\"inputs\":[{\"name\":\"\",\"shape\":[1],\"datatype\":\"FP32\",\"data\":[1]}]}",
	      "inputs[0].name must be 1 to 127 bytes");
	fails("{\"inputs\":[{\"name\":\"a\",\"shape\":[1],\"datatype\":\"FP32\",\"data\":[1]},"
	      "{\"name\":\"a\",\"shape\":[1],\"datatype\":\"FP32\",\"data\":[2]}]}",
	      "inputs[0] and inputs[1] are both named \"a\"");
	fails("{\"inputs\":[{\"name\":\"a\",\"shape\":[1],\"datatype\":\"FP32\",\"data\":[1],"
	      "\"parameters\":{\"binary_data_size\":4}}]}",
	      "inputs[0] (\"a\").parameters.binary_data_size: binary tensor data is not supported");
	fails("{\"inputs\":[{\"name\":\"a\",\"shape\":[1],\"datatype\":\"FP32\",\"data\":[1],\"parameters\":{\"x\":[1]}}]}",
	      "inputs[0] (\"a\").parameters.x must be a string, number or boolean");
	fails("{\"id\":1,\"inputs\":[]}", "id must be a string, not a number");
	fails("{\"parameters\":[],\"inputs\":[]}", "parameters must be an object, not an array");
	fails("{\"model\":\"m\",\"inputs\":[]}", "unknown member \"model\" (an inference request has id, parameters");
	fails("{\"id\":\"1\",\"id\":\"2\"}", "the request has \"id\" twice");
	const char *in = "{\"name\":\"a\",\"shape\":[1],\"datatype\":\"FP32\",\"data\":[1]}";
	char buf[512];
	snprintf(buf, sizeof buf, "{\"inputs\":[%s],\"outputs\":[{\"name\":\"o\"},{\"name\":\"o\"}]}", in);
	fails(buf, "outputs[0] and outputs[1] both ask for \"o\"");
	snprintf(buf, sizeof buf, "{\"inputs\":[%s],\"outputs\":[{\"parameters\":{}}]}", in);
	fails(buf, "outputs[0] has no name");
	snprintf(buf, sizeof buf, "{\"inputs\":[%s],\"outputs\":[{\"name\":\"o\",\"datatype\":\"FP32\"}]}", in);
	fails(buf, "outputs[0] (\"o\") has an unknown member \"datatype\"");
	/* binary_data on an output is ignored: answers are JSON */
	snprintf(buf, sizeof buf, "{\"inputs\":[%s],\"outputs\":[{\"name\":\"o\",\"parameters\":{\"binary_data\":true}}]}", in);
	ok(buf);
	assert_true(json_is_true(json_object_get(r.outputs[0].parameters, "binary_data")));
	oip_request_free(&r);
}

static void garbage(void **st)
{
	(void)st;
	fails("", "not valid JSON at line 1 column 1: the body is empty");
	fails("{\"inputs\":[{\"name\":\"x\",\"shape\":[2],\n\"datatype\":\"FP32\",\n\"data\":[1,,2]}]}",
	      "not valid JSON at line 3 column 11: expected a value after ','");
	fails("{\"inputs\":[{\"name\":\"x\",\"shape\":[2],\"datatype\":\"FP32\",\"data\":[1,2]}]", "not valid JSON at line 1");
	fails("{\"inputs\":[{\"name\":\"x\",\"shape\":[2],\"datatype\":\"FP32\",\"data\":[1,2]}]}}", "unexpected text after");
	fails("{\"inputs\":[{\"data\":[1,2,],\"name\":\"x\",\"shape\":[2],\"datatype\":\"FP32\"}]}",
	      "expected a value after ','"); /* in deferred data */
	fails("[]", "the request body must be an object, not an array");
	fails("\x01", "not valid JSON at line 1 column 1: unexpected byte 0x01 where a value should be");
	fails("{\"inputs\":[{\"name\":\"x\",\"shape\":[1],\"datatype\":\"FP32\",\"data\":[- 1]}]}", "'-' must be followed by digits");
	/* 100 nested arrays inside data: too deep for a tensor */
	char buf[1024];
	int n = snprintf(buf, sizeof buf, "{\"inputs\":[{\"name\":\"x\",\"shape\":[1],\"datatype\":\"FP32\",\"data\":");
	for (int i = 0; i < 100; i++)
		buf[n++] = '[';
	buf[n] = '\0';
	fails(buf, "inputs[0] (\"x\").data nests deeper than 8 levels");
}

static const char *versions[] = { "1" };
static struct serve_tensor_spec spec_in[] = { { .name = "input", .datatype = "FP32", .ndim = 2, .shape = { -1, 64 } } };
static struct serve_tensor_spec spec_out[] = {
	{ .name = "label", .datatype = "INT64", .ndim = 1, .shape = { -1 } },
	{ .name = "probabilities", .datatype = "FP32", .ndim = 2, .shape = { -1, 10 } },
};
static struct serve_model_meta model = { .name = "digits", .versions = versions, .nversions = 1, .platform = "onnx",
					 .inputs = spec_in, .ninputs = 1, .outputs = spec_out, .noutputs = 2 };

static void check_against_model(void **st)
{
	(void)st;
	char data[2048];
	int n = snprintf(data, sizeof data, "[");
	for (int i = 0; i < 128; i++)
		n += snprintf(data + n, sizeof data - (size_t)n, "%s%d", i ? "," : "", i % 17);
	snprintf(data + n, sizeof data - (size_t)n, "]");
	char body[4096];
	snprintf(body, sizeof body, "{\"inputs\":[{\"name\":\"input\",\"shape\":[2,64],\"datatype\":\"INT32\",\"data\":%s}],"
		 "\"outputs\":[{\"name\":\"label\"}]}", data);
	ok(body);
	assert_int_equal(oip_check_request(&r, &model, &e), 0);
	oip_request_free(&r);
	struct {
		const char *body, *want;
	} bad[] = {
		{ "{\"inputs\":[{\"name\":\"input\",\"shape\":[1,65],\"datatype\":\"FP32\",\"data\":[%s]}]}",
		  "inputs[0] (\"input\") has shape [1,65]; model \"digits\" takes [-1,64] (-1: any size)" },
		{ "{\"inputs\":[{\"name\":\"input\",\"shape\":[65],\"datatype\":\"FP32\",\"data\":[%s]}]}",
		  "has shape [65]; model \"digits\" takes [-1,64]" },
		{ "{\"inputs\":[{\"name\":\"pixels\",\"shape\":[65],\"datatype\":\"FP32\",\"data\":[%s]}]}",
		  "inputs[0] (\"pixels\"): model \"digits\" has no such input (its inputs: input)" },
	};
	char vals[1024];
	n = 0;
	for (int i = 0; i < 65; i++)
		n += snprintf(vals + n, sizeof vals - (size_t)n, "%s1", i ? "," : "");
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		snprintf(body, sizeof body, bad[i].body, vals);
		ok(body);
		assert_int_equal(oip_check_request(&r, &model, &e), WEFT_EINVAL);
		if (!strstr(e.msg, bad[i].want))
			fail_msg("check: \"%s\" lacks \"%s\"", e.msg, bad[i].want);
		oip_request_free(&r);
	}
	ok("{\"inputs\":[{\"name\":\"input\",\"shape\":[1,64],\"datatype\":\"BYTES\",\"data\":[" /* 64 strings */
	   "\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\","
	   "\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\","
	   "\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\","
	   "\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\"]}],"
	   "\"outputs\":[{\"name\":\"logits\"}]}");
	assert_int_equal(oip_check_request(&r, &model, &e), WEFT_EINVAL);
	assert_string_equal(e.msg, "inputs[0] (\"input\") is BYTES; model \"digits\" takes FP32");
	oip_request_free(&r);
	ok("{\"inputs\":[{\"name\":\"input\",\"shape\":[0,64],\"datatype\":\"FP32\",\"data\":[]}],"
	   "\"outputs\":[{\"name\":\"logits\"}]}");
	assert_int_equal(oip_check_request(&r, &model, &e), WEFT_EINVAL);
	assert_string_equal(e.msg, "outputs[0] asks for \"logits\"; model \"digits\" has outputs: label, probabilities");
	oip_request_free(&r);
	/* a model with two inputs, one missing */
	struct serve_tensor_spec two[] = { spec_in[0], { .name = "mask", .datatype = "BOOL", .ndim = 1, .shape = { -1 } } };
	struct serve_model_meta m2 = model;
	m2.inputs = two;
	m2.ninputs = 2;
	ok("{\"inputs\":[{\"name\":\"input\",\"shape\":[0,64],\"datatype\":\"FP32\",\"data\":[]}]}");
	assert_int_equal(oip_check_request(&r, &m2, &e), WEFT_EINVAL);
	assert_string_equal(e.msg, "inputs has no \"mask\", which model \"digits\" needs (BOOL [-1])");
	oip_request_free(&r);
}

static void response(void **st)
{
	(void)st;
	float probs[] = { 0.1f, 0.9f, 0.25f, 0.75f };
	float label[] = { 1.0f, 2.6f, -3.0f };
	float flags[] = { 0.0f, 1.0f, 0.5f };
	struct wtensor tp = { .name = "probabilities", .ndim = 2, .shape = { 2, 2 }, .numel = 4, .data = probs };
	struct wtensor tl = { .name = "label", .ndim = 1, .shape = { 3 }, .numel = 3, .data = label };
	struct wtensor tf = { .name = "flags", .ndim = 1, .shape = { 3 }, .numel = 3, .data = flags };
	json_t *params = json_pack("{s:s}", "content_type", "np");
	struct oip_output outs[] = {
		{ .t = &tp, .dtype = OIP_FP32 },
		{ .t = &tl, .dtype = OIP_INT64, .parameters = params },
		{ .name = "renamed", .t = &tf, .dtype = OIP_BOOL },
		{ .t = &tl, .dtype = OIP_UINT8 },
	};
	struct oip_reply rep = { .model_name = "digits", .model_version = "1", .id = "42", .parameters = params,
				 .outputs = outs, .noutputs = 4 };
	struct sbuf sb = SBUF_INIT;
	assert_int_equal(oip_format_response(&rep, &sb, &e), 0);
	assert_string_equal(sb_str(&sb),
			    "{\"model_name\":\"digits\",\"model_version\":\"1\",\"id\":\"42\",\"parameters\":{\"content_type\":\"np\"},"
			    "\"outputs\":[{\"name\":\"probabilities\",\"datatype\":\"FP32\",\"shape\":[2,2],\"data\":[0.1,0.9,0.25,0.75]},"
			    "{\"name\":\"label\",\"datatype\":\"INT64\",\"shape\":[3],\"parameters\":{\"content_type\":\"np\"},"
			    "\"data\":[1,3,-3]},"
			    "{\"name\":\"renamed\",\"datatype\":\"BOOL\",\"shape\":[3],\"data\":[false,true,true]},"
			    "{\"name\":\"label\",\"datatype\":\"UINT8\",\"shape\":[3],\"data\":[1,3,0]}]}");
	/* no id: a UUID; no version, no parameters: omitted */
	rep.id = NULL;
	rep.model_version = NULL;
	rep.parameters = NULL;
	rep.noutputs = 1;
	sb_reset(&sb);
	assert_int_equal(oip_format_response(&rep, &sb, &e), 0);
	json_t *j = json_loads(sb_str(&sb), 0, NULL);
	assert_non_null(j);
	const char *id = json_string_value(json_object_get(j, "id"));
	assert_non_null(id);
	assert_int_equal(strlen(id), 36);
	assert_int_equal(id[14], '4');
	assert_null(json_object_get(j, "model_version"));
	assert_null(json_object_get(j, "parameters"));
	json_decref(j);
	/* an output without data is refused */
	struct oip_output bad = { .t = NULL, .dtype = OIP_FP32 };
	rep.outputs = &bad;
	assert_int_equal(oip_format_response(&rep, &sb, &e), WEFT_EINVAL);
	json_decref(params);
	sb_release(&sb);
}

/* floats -> response -> (its outputs as inputs) -> parse: bit for bit */
static void round_trip(void **st)
{
	(void)st;
	enum { N = 2000 };
	float *v = malloc(sizeof *v * N);
	uint32_t x = 88172645u;
	for (int i = 0; i < N; i++) {
		do {
			x ^= x << 13;
			x ^= x >> 17;
			x ^= x << 5;
			uint32_t bits = i % 5 == 0 ? x & 0x807fffffu : x;
			memcpy(&v[i], &bits, 4);
		} while (!isfinite(v[i]));
	}
	v[0] = FLT_MAX;
	v[1] = -FLT_MIN;
	v[2] = 0x1p-149f;
	v[3] = -0.0f;
	struct wtensor t = { .name = "y", .ndim = 2, .shape = { 2, N / 2 }, .numel = N, .data = v };
	struct oip_output o = { .t = &t, .dtype = OIP_FP32 };
	struct oip_reply rep = { .model_name = "m", .id = "r", .outputs = &o, .noutputs = 1 };
	struct sbuf sb = SBUF_INIT, req = SBUF_INIT;
	assert_int_equal(oip_format_response(&rep, &sb, &e), 0);
	const char *outs = strstr(sb_str(&sb), "\"outputs\":");
	assert_non_null(outs);
	sb_adds(&req, "{\"inputs\":");
	sb_add(&req, outs + 10, strlen(outs + 10) - 1);
	sb_addc(&req, '}');
	ok(sb_str(&req));
	assert_string_equal(r.inputs[0].t.name, "y");
	assert_int_equal(r.inputs[0].t.numel, N);
	assert_memory_equal(r.inputs[0].t.data, v, sizeof *v * N);
	oip_request_free(&r);
	sb_release(&sb);
	sb_release(&req);
	free(v);
}

static void metadata_and_health(void **st)
{
	(void)st;
	struct sbuf sb = SBUF_INIT;
	const char *ext[] = { "model_repository", "health" };
	oip_server_metadata("weft", "1.0", ext, 2, &sb);
	assert_string_equal(sb_str(&sb), "{\"name\":\"weft\",\"version\":\"1.0\",\"extensions\":[\"model_repository\",\"health\"]}");
	sb_reset(&sb);
	oip_server_metadata("weft", "1.0", NULL, 0, &sb);
	assert_string_equal(sb_str(&sb), "{\"name\":\"weft\",\"version\":\"1.0\",\"extensions\":[]}");
	sb_reset(&sb);
	oip_model_metadata(&model, &sb);
	assert_string_equal(sb_str(&sb), "{\"name\":\"digits\",\"versions\":[\"1\"],\"platform\":\"onnx\","
					 "\"inputs\":[{\"name\":\"input\",\"datatype\":\"FP32\",\"shape\":[-1,64]}],"
					 "\"outputs\":[{\"name\":\"label\",\"datatype\":\"INT64\",\"shape\":[-1]},"
					 "{\"name\":\"probabilities\",\"datatype\":\"FP32\",\"shape\":[-1,10]}]}");
	sb_reset(&sb);
	struct serve_model_meta bare = { .name = "m" };
	oip_model_metadata(&bare, &sb);
	assert_string_equal(sb_str(&sb), "{\"name\":\"m\",\"platform\":\"\",\"inputs\":[],\"outputs\":[]}");
	sb_reset(&sb);
	assert_int_equal(oip_health(1, "ignored", &sb), 200);
	assert_int_equal(sb.len, 0);
	assert_int_equal(oip_health(0, NULL, &sb), 400);
	assert_int_equal(sb.len, 0);
	assert_int_equal(oip_health(0, "model \"m\" is loading", &sb), 400);
	assert_string_equal(sb_str(&sb), "{\"error\":\"model \\\"m\\\" is loading\"}");
	sb_reset(&sb);
	oip_error_body("bad\nline \x01", &sb);
	assert_string_equal(sb_str(&sb), "{\"error\":\"bad\\nline \\u0001\"}");
	assert_int_equal(oip_http_status(WEFT_EINVAL), 400);
	assert_int_equal(oip_http_status(WEFT_ETOOBIG), 413);
	assert_int_equal(oip_http_status(WEFT_ENOTFOUND), 404);
	assert_int_equal(oip_http_status(WEFT_EIO), 500);
	for (int t = OIP_BOOL; t <= OIP_BF16; t++)
		assert_int_equal(oip_dtype_parse(oip_dtype_name((enum oip_dtype)t)), t);
	assert_int_equal(oip_dtype_parse("FP128"), -1);
	sb_release(&sb);
}

/* every prefix of a valid body is an error, read from an exact-size buffer */
static void every_prefix(void **st)
{
	(void)st;
	const char *body = "{\"id\":\"\\u00e9\",\"parameters\":{\"a\":1.5},\"inputs\":[{\"data\":[[1,2],[3,4]],"
			   "\"name\":\"x\",\"shape\":[2,2],\"datatype\":\"INT8\"},{\"name\":\"s\",\"shape\":[1],"
			   "\"datatype\":\"BYTES\",\"data\":[\"q\"]}],\"outputs\":[{\"name\":\"o\"}]}";
	size_t n = strlen(body);
	for (size_t len = 0; len < n; len++) {
		char *copy = malloc(len ? len : 1);
		memcpy(copy, body, len);
		assert_int_equal(oip_parse_request(copy, len, 0, &r, &e), WEFT_EINVAL);
		free(copy);
	}
	ok(body);
	assert_string_equal(r.id, "\xc3\xa9");
	assert_int_equal(r.ninputs, 2);
	oip_request_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(protocol_example),
		cmocka_unit_test(nested_and_order),
		cmocka_unit_test(datatypes),
		cmocka_unit_test(bytes_type),
		cmocka_unit_test(shapes_and_limits),
		cmocka_unit_test(members),
		cmocka_unit_test(garbage),
		cmocka_unit_test(check_against_model),
		cmocka_unit_test(response),
		cmocka_unit_test(round_trip),
		cmocka_unit_test(metadata_and_health),
		cmocka_unit_test(every_prefix),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

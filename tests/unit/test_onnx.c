/* test_onnx.c - weft's native ONNX runtime (src/serve/onnx.c, ops*.c) on models encoded
 * by hand here, with an encoder independent of our protobuf schema: exact results of a
 * small MLP at several batch sizes, every load error with the message it must give, bad
 * inputs and shapes at run time, the size limit, every truncation and damaged byte of a
 * model, and threads sharing one model. test_onnx_models.c checks real exported models. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "serve/onnx.h"
#include "util/fs.h"
#include "util/mem.h"
#include "util/sbuf.h"
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char tmpdir[] = "/tmp/weft-test-onnx.XXXXXX";

/* ---- a protobuf encoder for hand-made models (field numbers from ONNX's onnx.proto3) ---- */

struct pb {
	unsigned char *b;
	size_t n, cap;
};

static void pb_raw(struct pb *p, const void *d, size_t n)
{
	if (p->n + n + 1 > p->cap) {
		p->cap = (p->n + n + 1) * 2;
		p->b = xrealloc(p->b, p->cap);
	}
	if (n)
		memcpy(p->b + p->n, d, n);
	p->n += n;
}

static void pb_varint(struct pb *p, uint64_t v)
{
	do {
		unsigned char c = (unsigned char)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
		pb_raw(p, &c, 1);
		v >>= 7;
	} while (v);
}

static void pb_int(struct pb *p, int f, int64_t v) { pb_varint(p, (uint64_t)f << 3); pb_varint(p, (uint64_t)v); }
static void pb_bytes(struct pb *p, int f, const void *d, size_t n) { pb_varint(p, (uint64_t)f << 3 | 2); pb_varint(p, n); pb_raw(p, d, n); }
static void pb_str(struct pb *p, int f, const char *s) { pb_bytes(p, f, s, strlen(s)); }
static void pb_float(struct pb *p, int f, float v) { pb_varint(p, (uint64_t)f << 3 | 5); pb_raw(p, &v, 4); }
static void pb_msg(struct pb *p, int f, struct pb *sub)
{
	pb_bytes(p, f, sub->b, sub->n);
	free(sub->b);
	memset(sub, 0, sizeof *sub);
}

/* AttributeProto (name 1, f 2, i 3, s 4, t 5, ints 8, type 20), appended as NodeProto field 5 */
static void a_int(struct pb *at, const char *name, int64_t v, int type)
{
	struct pb a = {0};
	pb_str(&a, 1, name);
	pb_int(&a, 3, v);
	pb_int(&a, 20, type);
	pb_msg(at, 5, &a);
}
static void a_float(struct pb *at, const char *name, float v)
{
	struct pb a = {0};
	pb_str(&a, 1, name);
	pb_float(&a, 2, v);
	pb_int(&a, 20, 1);
	pb_msg(at, 5, &a);
}
static void a_ints(struct pb *at, const char *name, const int64_t *v, int n)
{
	struct pb a = {0};
	pb_str(&a, 1, name);
	for (int i = 0; i < n; i++)
		pb_int(&a, 8, v[i]);
	pb_int(&a, 20, 7);
	pb_msg(at, 5, &a);
}
static void a_str(struct pb *at, const char *name, const char *s)
{
	struct pb a = {0};
	pb_str(&a, 1, name);
	pb_str(&a, 4, s);
	pb_int(&a, 20, 3);
	pb_msg(at, 5, &a);
}

/* NodeProto into GraphProto field 1; ins/outs are comma-separated (empty entries allowed) */
static void g_node(struct pb *g, const char *op, const char *ins, const char *outs, struct pb *attrs)
{
	struct pb n = {0};
	const char *lists[2] = {ins, outs};
	for (int k = 0; k < 2; k++)
		for (const char *s = lists[k]; s && *s;) {
			const char *c = strchr(s, ',');
			size_t len = c ? (size_t)(c - s) : strlen(s);
			pb_bytes(&n, k + 1, s, len);
			s = c ? c + 1 : s + len;
		}
	pb_str(&n, 4, op);
	if (attrs && attrs->n)
		pb_raw(&n, attrs->b, attrs->n);
	if (attrs) {
		free(attrs->b);
		memset(attrs, 0, sizeof *attrs);
	}
	pb_msg(g, 1, &n);
}

/* TensorProto (dims 1, data_type 2, name 8, raw_data 9) into GraphProto field 5 */
static void g_init(struct pb *g, const char *name, int dtype, int ndim, const int64_t *dims,
		   const void *raw, size_t len)
{
	struct pb t = {0};
	for (int i = 0; i < ndim; i++)
		pb_int(&t, 1, dims[i]);
	pb_int(&t, 2, dtype);
	pb_str(&t, 8, name);
	pb_bytes(&t, 9, raw, len);
	pb_msg(g, 5, &t);
}

/* ValueInfoProto into GraphProto field 11 (input) or 12 (output); dims -1 = "N" */
static void g_io(struct pb *g, int field, const char *name, int elem, int ndim, const int64_t *dims)
{
	struct pb vi = {0}, type = {0}, tensor = {0}, shape = {0};
	for (int i = 0; i < ndim; i++) {
		struct pb d = {0};
		if (dims[i] < 0)
			pb_str(&d, 2, "N");
		else
			pb_int(&d, 1, dims[i]);
		pb_msg(&shape, 1, &d);
	}
	pb_int(&tensor, 1, elem);
	if (ndim >= 0)
		pb_msg(&tensor, 2, &shape);
	pb_msg(&type, 1, &tensor);
	pb_str(&vi, 1, name);
	pb_msg(&vi, 2, &type);
	pb_msg(g, field, &vi);
}

/* ModelProto {ir_version 1, graph 7, opset_import 8 {version 2}}; consumes g. */
static unsigned char *g_model(struct pb *g, int64_t opset, size_t *len)
{
	struct pb m = {0}, o = {0};
	pb_int(&m, 1, 7);
	pb_msg(&m, 7, g);
	if (opset >= 0) {
		pb_int(&o, 2, opset);
		pb_msg(&m, 8, &o);
	}
	*len = m.n;
	return m.b ? m.b : xmalloc(1);
}

/* ---- the hand-made MLP: x[N,3] -> Gemm(W1, b1, transB) -> Relu -> Gemm(W2, b2, transB) ->
 * Softmax -> y[N,2], checked against a double-precision forward pass ---- */

static const float W1[4][3] = {{0.5f, -1, 0.25f}, {1, 1, 1}, {-0.5f, 2, 0}, {0, 0, -1}};
static const float B1[4] = {0.1f, -0.2f, 0.3f, 0};
static const float W2[2][4] = {{1, -1, 0.5f, 2}, {-1, 0.5f, 1, 0}};
static const float B2[2] = {0.05f, -0.05f};

static unsigned char *mlp_bytes(size_t *len)
{
	struct pb g = {0}, at = {0};
	a_int(&at, "transB", 1, 2);
	g_node(&g, "Gemm", "x,W1,B1", "h0", &at);
	g_node(&g, "Relu", "h0", "h", NULL);
	a_int(&at, "transB", 1, 2);
	g_node(&g, "Gemm", "h,W2,B2", "z", &at);
	a_int(&at, "axis", 1, 2);
	g_node(&g, "Softmax", "z", "y", &at);
	g_init(&g, "W1", 1, 2, (int64_t[]){4, 3}, W1, sizeof W1);
	g_init(&g, "B1", 1, 1, (int64_t[]){4}, B1, sizeof B1);
	g_init(&g, "W2", 1, 2, (int64_t[]){2, 4}, W2, sizeof W2);
	g_init(&g, "B2", 1, 1, (int64_t[]){2}, B2, sizeof B2);
	g_io(&g, 11, "x", 1, 2, (int64_t[]){-1, 3});
	g_io(&g, 12, "y", 1, 2, (int64_t[]){-1, 2});
	return g_model(&g, 13, len);
}

static void mlp_expect(const float *x, double *y)
{
	double h[4], z[2];
	for (int j = 0; j < 4; j++) {
		h[j] = B1[j];
		for (int i = 0; i < 3; i++)
			h[j] += (double)W1[j][i] * x[i];
		h[j] = h[j] > 0 ? h[j] : 0;
	}
	for (int k = 0; k < 2; k++) {
		z[k] = B2[k];
		for (int j = 0; j < 4; j++)
			z[k] += (double)W2[k][j] * h[j];
	}
	double m = z[0] > z[1] ? z[0] : z[1], s = exp(z[0] - m) + exp(z[1] - m);
	y[0] = exp(z[0] - m) / s;
	y[1] = exp(z[1] - m) / s;
}

static struct onnx_model *load_ok(const void *b, size_t len)
{
	struct onnx_model *m = NULL;
	struct weft_err e = {0};
	if (onnx_load(b, len, &m, &e) != 0)
		fail_msg("load: %s", e.msg);
	return m;
}

static void input(struct wtensor *t, const char *name, int ndim, const int64_t *shape)
{
	memset(t, 0, sizeof *t);
	snprintf(t->name, sizeof t->name, "%s", name);
	assert_int_equal(wt_alloc(t, ndim, shape, 1 << 24), 0);
	for (int64_t i = 0; i < t->numel; i++)
		t->data[i] = (float)sin((double)i * 1.7 + ndim) * 3;
}

static void check_mlp(struct onnx_session *s, int rows, int by_name)
{
	struct wtensor x, y;
	input(&x, by_name ? "x" : "", 2, (int64_t[]){rows, 3});
	struct weft_err e = {0};
	if (onnx_run(s, &x, 1, &y, 1, &e) != 0)
		fail_msg("run: %s", e.msg);
	assert_int_equal(y.ndim, 2);
	assert_int_equal(y.shape[0], rows);
	assert_int_equal(y.shape[1], 2);
	assert_string_equal(y.name, "y");
	for (int r = 0; r < rows; r++) {
		double want[2];
		mlp_expect(x.data + r * 3, want);
		for (int k = 0; k < 2; k++)
			if (fabs(y.data[r * 2 + k] - want[k]) > 1e-6)
				fail_msg("row %d out %d: %g, want %g", r, k, y.data[r * 2 + k], want[k]);
	}
	wt_free(&x);
	wt_free(&y);
}

static void test_handmade_mlp(void **state)
{
	(void)state;
	size_t len;
	unsigned char *b = mlp_bytes(&len);
	struct onnx_model *m = load_ok(b, len);
	int64_t shape[WT_MAX_DIMS];
	assert_int_equal(onnx_n_inputs(m), 1);
	assert_int_equal(onnx_n_outputs(m), 1);
	assert_string_equal(onnx_input_name(m, 0), "x");
	assert_string_equal(onnx_output_name(m, 0), "y");
	assert_null(onnx_input_name(m, 1));
	assert_int_equal(onnx_input_shape(m, 0, shape), 2);
	assert_true(shape[0] == -1 && shape[1] == 3);
	assert_int_equal(onnx_output_shape(m, 0, shape), 2);
	assert_true(shape[0] == -1 && shape[1] == 2);
	assert_int_equal(onnx_n_nodes(m), 4);
	struct onnx_session *s = onnx_session_new(m);
	int rows[] = {1, 5, 2, 64, 1, 0};
	for (size_t i = 0; i < sizeof rows / sizeof *rows; i++)
		check_mlp(s, rows[i], (int)(i % 2));
	onnx_session_free(s);
	onnx_free(m);
	free(b);
}

/* ---- models that must be refused, each naming what is wrong ---- */

static unsigned char *bad_model(int k, size_t *len, const char **want, int *code)
{
	struct pb g = {0}, at = {0};
	float f4[4] = {1, 2, 3, 4};
	int64_t opset = 13;
	*code = WEFT_EINVAL;
	g_io(&g, 11, "x", 1, 2, (int64_t[]){-1, 4});
	g_io(&g, 12, "y", 1, 2, (int64_t[]){-1, 4});
	switch (k) {
	case 0:
		g_node(&g, "Relu", "x", "r", NULL);
		g_node(&g, "Resize", "r,,s", "t", NULL);
		g_node(&g, "Floor", "t", "y", NULL);
		*want = "node 1 (Resize): operator Resize is not supported (supported: Add, AveragePool, "
			"BatchNormalization, Concat, Constant, Conv, Dropout, Flatten, Gemm, "
			"GlobalAveragePool, Identity, MatMul, MaxPool, Mul, Pad, Relu, Reshape, Sigmoid, "
			"Softmax, Tanh, Transpose); other unsupported operators in the model: Floor";
		break;
	case 1: {
		struct pb n = {0};
		pb_str(&n, 1, "x"); pb_str(&n, 2, "y"); pb_str(&n, 3, "mine"); pb_str(&n, 4, "Relu");
		pb_str(&n, 7, "com.example");
		pb_msg(&g, 1, &n);
		*want = "node 0 'mine' (Relu): operator domain 'com.example' is not supported";
		break;
	}
	case 2: g_node(&g, "Relu", "x", "y", NULL); opset = -1; *want = "imports no version"; break;
	case 3: g_node(&g, "Relu", "x", "y", NULL); opset = 6; *want = "opset 6 is not supported (7 to 22 are)"; break;
	case 4:
		a_int(&at, "foo", 1, 2);
		g_node(&g, "Relu", "x", "y", &at);
		*want = "node 0 (Relu): attribute 'foo' is not supported (Relu takes no attributes)";
		break;
	case 5:
		a_float(&at, "transB", 1);
		g_node(&g, "Gemm", "x,x", "y", &at);
		*want = "node 0 (Gemm): attribute 'transB' has type FLOAT, expected INT";
		break;
	case 6: a_int(&at, "transA", 2, 2); g_node(&g, "Gemm", "x,x", "y", &at); *want = "transA=2 is not 0 or 1"; break;
	case 7: g_node(&g, "Add", "x,nope", "y", NULL); *want = "node 0 (Add): input 'nope' is not a graph input, an initializer or any node's output"; break;
	case 8: g_node(&g, "Relu", "x", "y", NULL); g_node(&g, "Tanh", "x", "y", NULL); *want = "node 1 (Tanh): output 'y' is already"; break;
	case 9: g_node(&g, "Relu", "b", "a", NULL); g_node(&g, "Relu", "a", "b", NULL); g_node(&g, "Add", "a,x", "y", NULL); *want = "is part of a cycle"; break;
	case 10: g_node(&g, "Relu", "x", "r", NULL); *want = "output 'y' is not produced by any node"; break;
	case 11: g_io(&g, 11, "i", 7, 1, (int64_t[]){2}); g_node(&g, "Relu", "x", "y", NULL); *want = "input 'i' has element type INT64; only FLOAT"; break;
	case 12:
		g_node(&g, "Dropout", "x", "d,mask", NULL);
		g_node(&g, "Mul", "d,mask", "y", NULL);
		*want = "node 1 (Mul): input 1 is a value weft does not compute (Dropout's mask)";
		break;
	case 13:
		g_init(&g, "w", 1, 2, (int64_t[]){4, 2}, f4, sizeof f4);
		g_node(&g, "MatMul", "x,w", "y", NULL);
		*want = "initializer 0: tensor 'w' of shape [4,2] (FLOAT) holds 16 bytes, not 8 values";
		break;
	case 14: {
		struct pb t = {0};
		pb_int(&t, 1, 4); pb_int(&t, 2, 1); pb_str(&t, 8, "w"); pb_int(&t, 14, 1);
		pb_msg(&g, 5, &t);
		g_node(&g, "Add", "x,w", "y", NULL);
		*want = "tensor 'w' keeps its data in an external file";
		break;
	}
	case 15: g_init(&g, "w", 11, 1, (int64_t[]){2}, f4, 16); g_node(&g, "Add", "x,w", "y", NULL); *want = "tensor 'w' has data type DOUBLE (11)"; break;
	case 16:
		a_ints(&at, "kernel_shape", (int64_t[]){1, 1, 1}, 3);
		g_node(&g, "MaxPool", "x", "y", &at);
		*want = "kernel_shape has 3 values: only 1-D and 2-D windows are supported";
		break;
	case 17:
		a_str(&at, "auto_pad", "SAME");
		a_ints(&at, "kernel_shape", (int64_t[]){2, 2}, 2);
		g_node(&g, "MaxPool", "x", "y", &at);
		*want = "auto_pad \"SAME\" is not one of NOTSET";
		break;
	case 18:
		a_ints(&at, "kernel_shape", (int64_t[]){2, 2}, 2);
		g_node(&g, "MaxPool", "x", "y,idx", &at);
		*want = "the Indices output is not supported";
		break;
	case 19:
		a_int(&at, "training_mode", 1, 2);
		g_node(&g, "BatchNormalization", "x,x,x,x,x", "y", &at);
		*want = "training_mode=1 is not supported";
		break;
	case 20: a_str(&at, "mode", "reflect"); g_node(&g, "Pad", "x,x", "y", &at); *want = "mode 'reflect' is not supported (only constant)"; break;
	case 21:
		a_int(&at, "value_int", 1, 2);
		a_float(&at, "value_float", 1);
		g_node(&g, "Constant", "", "c", &at);
		g_node(&g, "Add", "x,c", "y", NULL);
		*want = "a Constant needs exactly one of";
		break;
	case 22: {
		struct pb t = {0};
		pb_int(&t, 1, (int64_t)1 << 40); pb_int(&t, 2, 1); pb_str(&t, 8, "big");
		pb_msg(&g, 5, &t);
		g_node(&g, "Add", "x,big", "y", NULL);
		*want = "tensor 'big' of shape [1099511627776] has more than";
		*code = WEFT_ETOOBIG;
		break;
	}
	case 23: g_node(&g, "Concat", "x,x", "y", NULL); *want = "node 0 (Concat): attribute axis is required"; break;
	case 24:
		a_ints(&at, "value_ints", (int64_t[]){5, 5}, 2);
		g_node(&g, "Constant", "", "s", &at);
		a_ints(&at, "value_ints", (int64_t[]){3}, 1);
		g_node(&g, "Constant", "", "s2", &at);
		g_node(&g, "Reshape", "s,s2", "bad", NULL);
		g_node(&g, "Reshape", "x,bad", "y", NULL);
		*want = "node 2 (Reshape): cannot reshape [2] (2 values) into [3]";
		break;
	case 25: g_node(&g, "Gemm", "x", "y", NULL); *want = "node 0 (Gemm): Gemm takes 2 to 3 inputs, not 1"; break;
	case 26: g_node(&g, "Add", ",x", "y", NULL); *want = "node 0 (Add): input 0 is required"; break;
	case 27: g_node(&g, "Relu", "x", "y", NULL); opset = 23; *want = "opset 23 is not supported"; break;
	case 28:
		a_ints(&at, "perm", (int64_t[]){0, 0}, 2);
		g_node(&g, "Transpose", "x", "y", &at);
		*want = "perm is not a permutation of 0..1";
		break;
	case 29: {
		struct pb t = {0};
		pb_msg(&g, 11, &t); /* an input with no name and no type */
		g_node(&g, "Relu", "x", "y", NULL);
		*want = "graph input 1: the name '' is empty";
		break;
	}
	default:
		free(g.b);
		return NULL;
	}
	return g_model(&g, opset, len);
}

static void test_load_errors(void **state)
{
	(void)state;
	const char *want;
	size_t len;
	int code;
	unsigned char *b;
	for (int k = 0; (b = bad_model(k, &len, &want, &code)); k++) {
		struct onnx_model *m = NULL;
		struct weft_err e = {0};
		int rc = onnx_load(b, len, &m, &e);
		if (rc != code || !strstr(e.msg, want))
			fail_msg("case %d: rc %d, message \"%s\"; want %d and \"%s\"", k, rc, e.msg, code, want);
		assert_null(m);
		free(b);
	}
	struct onnx_model *m = NULL;
	struct weft_err e = {0};
	assert_int_equal(onnx_load("", 0, &m, &e), WEFT_EINVAL);
	assert_non_null(strstr(e.msg, "not an ONNX model: it is empty"));
	struct pb o = {0}, mp = {0};
	pb_int(&o, 2, 13);
	pb_msg(&mp, 8, &o);
	assert_int_equal(onnx_load(mp.b, mp.n, &m, &e), WEFT_EINVAL);
	assert_non_null(strstr(e.msg, "the model has no graph"));
	free(mp.b);
	assert_int_equal(onnx_load("\xff\xff\xff\xff", 4, &m, &e), WEFT_EINVAL);
	assert_non_null(strstr(e.msg, "not an ONNX model: the 4 bytes do not decode"));
	char *path = xasprintf("%s/absent.onnx", tmpdir);
	assert_int_equal(onnx_load_file(path, &m, &e), WEFT_EIO);
	assert_non_null(strstr(e.msg, path));
	fs_write_file_atomic(path, "junk", 4, 0644, &e);
	assert_int_equal(onnx_load_file(path, &m, &e), WEFT_EINVAL);
	assert_true(!strncmp(e.msg, path, strlen(path)) && strstr(e.msg, ": not an ONNX model"));
	assert_null(m);
	free(path);
}

static void expect_run_error(struct onnx_session *s, const struct wtensor *in, int n_in,
			     int n_out, int code, const char *want)
{
	struct wtensor out[2];
	struct weft_err e = {0};
	int rc = onnx_run(s, in, n_in, out, n_out, &e);
	if (rc != code || !strstr(e.msg, want))
		fail_msg("rc %d, message \"%s\"; want %d and \"%s\"", rc, e.msg, code, want);
}

static void test_run_errors(void **state)
{
	(void)state;
	size_t len;
	unsigned char *b = mlp_bytes(&len);
	struct onnx_model *m = load_ok(b, len);
	struct onnx_session *s = onnx_session_new(m);
	struct wtensor x[2];
	input(&x[0], "x", 2, (int64_t[]){2, 4});
	expect_run_error(s, x, 1, 1, WEFT_EINVAL, "input 'x': expected shape [?,3], got [2,4]");
	wt_free(&x[0]);
	input(&x[0], "x", 1, (int64_t[]){3});
	expect_run_error(s, x, 1, 1, WEFT_EINVAL, "input 'x': expected shape [?,3], got [3]");
	wt_free(&x[0]);
	input(&x[0], "x", 2, (int64_t[]){2, 3});
	input(&x[1], "x", 2, (int64_t[]){2, 3});
	expect_run_error(s, x, 2, 1, WEFT_EINVAL, "the model takes 1 input (x), not 2");
	expect_run_error(s, x, 0, 1, WEFT_EINVAL, "the model takes 1 input (x), not 0");
	expect_run_error(s, x, 1, 2, WEFT_EINVAL, "the model has 1 output; 2 asked for");
	snprintf(x[0].name, sizeof x[0].name, "pixels");
	expect_run_error(s, x, 1, 1, WEFT_EINVAL, "input 'pixels' is not one of the model's inputs");
	x[0].numel = 5; /* inconsistent with its shape */
	x[0].name[0] = '\0';
	expect_run_error(s, x, 1, 1, WEFT_EINVAL, "input 'x': the tensor given is malformed");
	x[0].numel = 6;
	check_mlp(s, 3, 1); /* the session still works after errors */
	wt_free(&x[0]);
	wt_free(&x[1]);
	onnx_session_free(s);
	onnx_free(m);
	free(b);

	/* shapes a node rejects at run time name the node; the limit gives WEFT_ETOOBIG */
	struct pb g = {0};
	float w[8] = {0};
	g_init(&g, "w", 1, 2, (int64_t[]){1, 8}, w, sizeof w);
	g_node(&g, "MatMul", "x,w", "y", NULL);
	g_io(&g, 11, "x", 1, -1, NULL);
	g_io(&g, 12, "y", 1, -1, NULL);
	b = g_model(&g, 13, &len);
	struct onnx_opts opts = {.max_numel = 30};
	struct weft_err e = {0};
	assert_int_equal(onnx_load_opts(b, len, &opts, &m, &e), 0);
	int64_t shape[WT_MAX_DIMS];
	assert_int_equal(onnx_input_shape(m, 0, shape), -1);
	s = onnx_session_new(m);
	input(&x[0], "x", 2, (int64_t[]){2, 5});
	expect_run_error(s, x, 1, 1, WEFT_EINVAL, "node 0 (MatMul): A [2,5] and B [1,8] do not multiply");
	wt_free(&x[0]);
	input(&x[0], "x", 2, (int64_t[]){3, 1});
	struct wtensor y;
	assert_int_equal(onnx_run(s, x, 1, &y, 1, &e), 0);
	assert_true(y.ndim == 2 && y.shape[0] == 3 && y.shape[1] == 8);
	wt_free(&y);
	wt_free(&x[0]);
	input(&x[0], "x", 2, (int64_t[]){20, 1});
	expect_run_error(s, x, 1, 1, WEFT_ETOOBIG, "node 0 (MatMul): output of shape [20,8] would hold more than 30 values");
	wt_free(&x[0]);
	input(&x[0], "x", 2, (int64_t[]){31, 1});
	expect_run_error(s, x, 1, 1, WEFT_ETOOBIG, "input 'x': the tensor given is malformed or too large");
	wt_free(&x[0]);
	onnx_session_free(s);
	onnx_free(m);
	opts.max_numel = 7;
	assert_int_equal(onnx_load_opts(b, len, &opts, &m, &e), WEFT_ETOOBIG);
	free(b);
}

/* Every truncation, and damage at every byte, gives an error or a model that runs. */
static void test_damaged_bytes(void **state)
{
	(void)state;
	size_t len;
	unsigned char *b = mlp_bytes(&len);
	int loaded = 0;
	for (size_t cut = 0; cut <= len * 2; cut++) {
		size_t n = cut <= len ? cut : len;
		unsigned char *c = xmalloc(n + 1);
		memcpy(c, b, n);
		if (cut > len)
			c[cut - len - 1] ^= (unsigned char)(0x5a + cut);
		struct onnx_model *m = NULL;
		struct weft_err e = {0};
		int rc = onnx_load(c, n, &m, &e);
		if (rc) {
			assert_true(e.msg[0] != '\0');
		} else {
			loaded++;
			struct onnx_session *s = onnx_session_new(m);
			struct wtensor x, y;
			input(&x, "", 2, (int64_t[]){2, 3});
			if (onnx_run(s, &x, onnx_n_inputs(m) == 1 ? 1 : 0, &y, 1, &e) == 0)
				wt_free(&y);
			wt_free(&x);
			onnx_session_free(s);
			onnx_free(m);
		}
		free(c);
	}
	assert_true(loaded >= 1); /* the whole model, at least */
	free(b);
}

struct thr {
	const struct onnx_model *m;
	int fails;
};

static void *thread_main(void *arg)
{
	struct thr *t = arg;
	struct onnx_session *s = onnx_session_new(t->m);
	for (int i = 0; i < 300; i++) {
		struct wtensor x, y;
		int rows = 1 + i % 7;
		input(&x, "x", 2, (int64_t[]){rows, 3});
		struct weft_err e;
		if (onnx_run(s, &x, 1, &y, 1, &e) != 0) {
			t->fails++;
		} else {
			for (int r = 0; r < rows; r++) {
				double want[2];
				mlp_expect(x.data + r * 3, want);
				t->fails += fabs(y.data[r * 2] - want[0]) > 1e-6 || fabs(y.data[r * 2 + 1] - want[1]) > 1e-6;
			}
			wt_free(&y);
		}
		wt_free(&x);
	}
	onnx_session_free(s);
	return NULL;
}

/* Tensor data in the typed fields (float_data packed, int64_data unpacked, int32_data for
 * BOOL) and in raw_data of a narrow type (INT32 read as INT64); Dropout's training_mode. */
static void test_tensor_encodings(void **state)
{
	(void)state;
	struct pb g = {0}, t = {0}, packed = {0};
	float w[4] = {1.5f, -2, 0.25f, 8};
	for (int i = 0; i < 4; i++)
		pb_raw(&packed, &w[i], 4);
	pb_int(&t, 1, 4);
	pb_int(&t, 2, 1);
	pb_bytes(&t, 4, packed.b, packed.n); /* float_data, packed */
	pb_str(&t, 8, "w");
	pb_msg(&g, 5, &t);
	free(packed.b);
	pb_int(&t, 1, 2);
	pb_int(&t, 2, 7);
	pb_int(&t, 7, -1); /* int64_data, one varint per value */
	pb_int(&t, 7, 2);
	pb_str(&t, 8, "shape");
	pb_msg(&g, 5, &t);
	int32_t s32[2] = {2, -1};
	g_init(&g, "shape32", 6, 1, (int64_t[]){2}, s32, sizeof s32);
	pb_int(&t, 2, 9);
	pb_int(&t, 5, 1); /* int32_data: true */
	pb_str(&t, 8, "train");
	pb_msg(&g, 5, &t);
	g_node(&g, "Add", "x,w", "a", NULL);
	g_node(&g, "Reshape", "a,shape", "b", NULL);
	g_node(&g, "Reshape", "b,shape32", "y", NULL);
	g_node(&g, "Dropout", "x,,train", "d", NULL);
	g_io(&g, 11, "x", 1, 1, (int64_t[]){4});
	g_io(&g, 12, "y", 1, -1, NULL);
	g_io(&g, 12, "d", 1, -1, NULL);
	size_t len;
	unsigned char *b = g_model(&g, 13, &len);
	struct onnx_model *m = load_ok(b, len);
	struct onnx_session *s = onnx_session_new(m);
	struct wtensor x, y[2];
	input(&x, "x", 1, (int64_t[]){4});
	struct weft_err e = {0};
	assert_int_equal(onnx_run(s, &x, 1, y, 1, &e), 0);
	assert_true(y[0].ndim == 2 && y[0].shape[0] == 2 && y[0].shape[1] == 2);
	for (int i = 0; i < 4; i++)
		assert_true(y[0].data[i] == x.data[i] + w[i]);
	wt_free(&y[0]);
	expect_run_error(s, &x, 1, 2, WEFT_EINVAL, "node 3 (Dropout): training_mode is true");
	wt_free(&x);
	onnx_session_free(s);
	onnx_free(m);
	free(b);

	/* an empty value_ints folds into a shape: Concat([], [2, -1]) */
	struct pb at = {0};
	a_ints(&at, "value_ints", NULL, 0);
	g_node(&g, "Constant", "", "none", &at);
	a_ints(&at, "value_ints", (int64_t[]){2, -1}, 2);
	g_node(&g, "Constant", "", "s", &at);
	a_int(&at, "axis", 0, 2);
	g_node(&g, "Concat", "none,s", "shape", &at);
	g_node(&g, "Reshape", "x,shape", "y", NULL);
	g_io(&g, 11, "x", 1, 1, (int64_t[]){4});
	g_io(&g, 12, "y", 1, 2, (int64_t[]){2, 2});
	b = g_model(&g, 13, &len);
	m = load_ok(b, len);
	assert_int_equal(onnx_n_nodes(m), 1); /* all but the Reshape folded */
	s = onnx_session_new(m);
	input(&x, "x", 1, (int64_t[]){4});
	assert_int_equal(onnx_run(s, &x, 1, y, 1, &e), 0);
	assert_true(y[0].ndim == 2 && y[0].shape[0] == 2 && y[0].shape[1] == 2);
	wt_free(&y[0]);
	wt_free(&x);
	onnx_session_free(s);
	onnx_free(m);
	free(b);
}

static void test_threads(void **state)
{
	(void)state;
	size_t len;
	unsigned char *b = mlp_bytes(&len);
	struct onnx_model *m = load_ok(b, len);
	pthread_t th[4];
	struct thr t[4];
	for (int i = 0; i < 4; i++) {
		t[i] = (struct thr){m, 0};
		assert_int_equal(pthread_create(&th[i], NULL, thread_main, &t[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(t[i].fails, 0);
	}
	onnx_free(m);
	free(b);
}

static int setup(void **state)
{
	(void)state;
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	struct weft_err e;
	fs_rm_rf(tmpdir, &e);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_handmade_mlp),
		cmocka_unit_test(test_load_errors),
		cmocka_unit_test(test_run_errors),
		cmocka_unit_test(test_damaged_bytes),
		cmocka_unit_test(test_tensor_encodings),
		cmocka_unit_test(test_threads),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}

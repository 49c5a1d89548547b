/* ops.c - the operator table of weft's native ONNX runtime: which operators exist, which
 * attributes each takes (anything else is refused at load, named), element types, tensor
 * decoding, and the element-wise kernels (Relu, Sigmoid, Tanh, broadcasting Add/Mul).
 * Data movement is in ops_shape.c, the BLAS and sliding-window kernels in ops_nn.c. */
#include "serve/ops.h"
#include "util/mem.h"
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "ONNX raw_data is little-endian; this decoder assumes a little-endian host"
#endif

enum { AT_FLOAT = 1, AT_INT = 2, AT_STRING = 3, AT_TENSOR = 4, AT_FLOATS = 6, AT_INTS = 7 };

struct aspec {
	const char *name;
	int type;
};

#define WINDOW_ATTRS {"auto_pad", AT_STRING}, {"kernel_shape", AT_INTS}, {"pads", AT_INTS}, \
	{"strides", AT_INTS}, {"dilations", AT_INTS}
static const struct aspec no_attrs[] = {{NULL, 0}};
static const struct aspec avgpool_attrs[] = {WINDOW_ATTRS, {"ceil_mode", AT_INT}, {"count_include_pad", AT_INT}, {NULL, 0}};
static const struct aspec maxpool_attrs[] = {WINDOW_ATTRS, {"ceil_mode", AT_INT}, {"storage_order", AT_INT}, {NULL, 0}};
static const struct aspec conv_attrs[] = {WINDOW_ATTRS, {"group", AT_INT}, {NULL, 0}};
static const struct aspec bn_attrs[] = {{"epsilon", AT_FLOAT}, {"momentum", AT_FLOAT}, {"spatial", AT_INT}, {"training_mode", AT_INT}, {NULL, 0}};
static const struct aspec axis_attrs[] = {{"axis", AT_INT}, {NULL, 0}};
static const struct aspec const_attrs[] = {{"value", AT_TENSOR}, {"value_float", AT_FLOAT}, {"value_floats", AT_FLOATS}, {"value_int", AT_INT}, {"value_ints", AT_INTS}, {NULL, 0}};
static const struct aspec dropout_attrs[] = {{"ratio", AT_FLOAT}, {"seed", AT_INT}, {NULL, 0}};
static const struct aspec gemm_attrs[] = {{"alpha", AT_FLOAT}, {"beta", AT_FLOAT}, {"transA", AT_INT}, {"transB", AT_INT}, {NULL, 0}};
static const struct aspec reshape_attrs[] = {{"allowzero", AT_INT}, {NULL, 0}};
static const struct aspec transpose_attrs[] = {{"perm", AT_INTS}, {NULL, 0}};
static const struct aspec pad_attrs[] = {{"mode", AT_STRING}, {"pads", AT_INTS}, {"value", AT_FLOAT}, {NULL, 0}};

#define MANY 65536
static const struct opdef {
	const char *name;
	enum op_kind kind;
	int min_in, max_in, min_out, max_out;
	const struct aspec *attrs;
	int float_only; /* every input must be FLOAT */
} opdefs[] = {
	{"Add", OP_ADD, 2, 2, 1, 1, no_attrs, 0},
	{"AveragePool", OP_AVGPOOL, 1, 1, 1, 1, avgpool_attrs, 1},
	{"BatchNormalization", OP_BATCHNORM, 5, 5, 1, 5, bn_attrs, 1},
	{"Concat", OP_CONCAT, 1, MANY, 1, 1, axis_attrs, 0},
	{"Constant", OP_CONSTANT, 0, 0, 1, 1, const_attrs, 0},
	{"Conv", OP_CONV, 2, 3, 1, 1, conv_attrs, 1},
	{"Dropout", OP_DROPOUT, 1, 3, 1, 2, dropout_attrs, 0},
	{"Flatten", OP_FLATTEN, 1, 1, 1, 1, axis_attrs, 0},
	{"Gemm", OP_GEMM, 2, 3, 1, 1, gemm_attrs, 1},
	{"GlobalAveragePool", OP_GAP, 1, 1, 1, 1, no_attrs, 1},
	{"Identity", OP_IDENTITY, 1, 1, 1, 1, no_attrs, 0},
	{"MatMul", OP_MATMUL, 2, 2, 1, 1, no_attrs, 1},
	{"MaxPool", OP_MAXPOOL, 1, 1, 1, 2, maxpool_attrs, 1},
	{"Mul", OP_MUL, 2, 2, 1, 1, no_attrs, 0},
	{"Pad", OP_PAD, 1, 4, 1, 1, pad_attrs, 0},
	{"Relu", OP_RELU, 1, 1, 1, 1, no_attrs, 1},
	{"Reshape", OP_RESHAPE, 2, 2, 1, 1, reshape_attrs, 0},
	{"Sigmoid", OP_SIGMOID, 1, 1, 1, 1, no_attrs, 1},
	{"Softmax", OP_SOFTMAX, 1, 1, 1, 1, axis_attrs, 1},
	{"Tanh", OP_TANH, 1, 1, 1, 1, no_attrs, 1},
	{"Transpose", OP_TRANSPOSE, 1, 1, 1, 1, transpose_attrs, 0},
};
#define N_OPDEFS (int)(sizeof opdefs / sizeof opdefs[0])

static char supported[512];
static pthread_once_t supported_once = PTHREAD_ONCE_INIT;

static void supported_init(void)
{
	for (int i = 0; i < N_OPDEFS; i++) {
		strcat(supported, opdefs[i].name);
		if (i + 1 < N_OPDEFS)
			strcat(supported, ", ");
	}
}

const char *op_supported_list(void)
{
	pthread_once(&supported_once, supported_init);
	return supported;
}

int op_known(const char *op_type)
{
	for (int i = 0; i < N_OPDEFS; i++)
		if (!strcmp(opdefs[i].name, op_type))
			return 1;
	return 0;
}

/* ---- tensors ---- */

size_t ox_elsize(int dtype) { return dtype == OX_INT64 ? 8 : 4; }

const char *ox_dtype_name(int dtype)
{
	static const char *names[] = {"UNDEFINED", "FLOAT", "UINT8", "INT8", "UINT16", "INT16",
		"INT32", "INT64", "STRING", "BOOL", "FLOAT16", "DOUBLE", "UINT32", "UINT64",
		"COMPLEX64", "COMPLEX128", "BFLOAT16"};
	return dtype >= 0 && dtype < (int)(sizeof names / sizeof names[0]) ? names[dtype] : "unknown";
}

char *ox_shape_str(char *buf, size_t n, int ndim, const int64_t *shape)
{
	size_t len = (size_t)snprintf(buf, n, "[");
	for (int i = 0; i < ndim && len < n; i++) {
		if (shape[i] < 0)
			len += (size_t)snprintf(buf + len, n - len, "%s?", i ? "," : "");
		else
			len += (size_t)snprintf(buf + len, n - len, "%s%lld", i ? "," : "", (long long)shape[i]);
	}
	if (len < n)
		snprintf(buf + len, n - len, "]");
	return buf;
}

int64_t ox_numel(int ndim, const int64_t *shape, int64_t max)
{
	int64_t n = 1;
	for (int i = 0; i < ndim; i++) {
		if (shape[i] < 0 || (shape[i] > 0 && n > max / shape[i]))
			return -1;
		n *= shape[i];
	}
	return n <= max ? n : -1;
}

int ox_reserve(struct ox *t, int dtype, int ndim, const int64_t *shape, const struct ox_ctx *c,
	       struct weft_err *e)
{
	int64_t n = ox_numel(ndim, shape, c->max_numel);
	if (n < 0) {
		char s[160];
		return err_set(e, WEFT_ETOOBIG, "output of shape %s would hold more than %lld values "
			       "(the limit)", ox_shape_str(s, sizeof s, ndim, shape), (long long)c->max_numel);
	}
	size_t bytes = (size_t)(n ? n : 1) * 8; /* never NULL; room for either type */
	if (bytes > t->cap) {
		void *p = realloc(t->cap ? t->data : NULL, bytes);
		if (!p)
			return err_set(e, WEFT_EIO, "out of memory for %lld values", (long long)n);
		t->data = p;
		t->cap = bytes;
	}
	if (ndim)
		memmove(t->shape, shape, sizeof *shape * (size_t)ndim);
	t->dtype = dtype;
	t->ndim = ndim;
	t->numel = n;
	return 0;
}

void ox_release(struct ox *t)
{
	if (t->cap)
		free(t->data);
	t->data = NULL;
	t->cap = 0;
	t->numel = 0;
}

static int to_int64(struct ox *out, const void *raw, size_t rawlen, const int32_t *i32, size_t n32,
		    size_t elsize, int is_signed, const char *name, int dtype, struct weft_err *e)
{
	int64_t *d = out->data;
	if (rawlen) {
		if (rawlen != (size_t)out->numel * elsize)
			return err_set(e, WEFT_EINVAL, "tensor '%s' (%s) has %zu bytes of data for %lld values",
				       name, ox_dtype_name(dtype), rawlen, (long long)out->numel);
		const unsigned char *b = raw;
		for (int64_t i = 0; i < out->numel; i++, b += elsize) {
			uint32_t u = 0;
			memcpy(&u, b, elsize); /* little-endian: the low bytes */
			if (!is_signed)
				d[i] = u;
			else if (elsize == 4)
				d[i] = (int32_t)u;
			else if (elsize == 2)
				d[i] = (int16_t)u;
			else
				d[i] = (int8_t)u;
		}
		return 0;
	}
	if (n32 != (size_t)out->numel)
		return err_set(e, WEFT_EINVAL, "tensor '%s' (%s) has %zu values for %lld elements",
			       name, ox_dtype_name(dtype), n32, (long long)out->numel);
	for (size_t i = 0; i < n32; i++)
		d[i] = i32[i];
	return 0;
}

int ox_from_proto(const Weft__Onnx__TensorProto *t, int64_t max_numel, struct ox *out,
		  struct weft_err *e)
{
	const char *name = t->name ? t->name : "";
	char s[160];
	memset(out, 0, sizeof *out);
	if (t->data_location == 1)
		return err_set(e, WEFT_EINVAL, "tensor '%s' keeps its data in an external file, which "
			       "is not supported (save the model with its tensors inside)", name);
	if (t->n_dims > WT_MAX_DIMS)
		return err_set(e, WEFT_EINVAL, "tensor '%s' has %zu dimensions (at most %d supported)",
			       name, t->n_dims, WT_MAX_DIMS);
	int ndim = (int)t->n_dims;
	for (int i = 0; i < ndim; i++)
		if (t->dims[i] < 0)
			return err_set(e, WEFT_EINVAL, "tensor '%s' has a negative dimension %lld",
				       name, (long long)t->dims[i]);
	int64_t n = ox_numel(ndim, t->dims, max_numel);
	if (n < 0)
		return err_set(e, WEFT_ETOOBIG, "tensor '%s' of shape %s has more than %lld values (the "
			       "limit)", name, ox_shape_str(s, sizeof s, ndim, t->dims), (long long)max_numel);
	int dt = t->data_type, ours;
	switch (dt) {
	case 1: ours = OX_FLOAT; break;
	case 2: case 3: case 4: case 5: case 6: case 7: case 9: ours = OX_INT64; break;
	default:
		return err_set(e, WEFT_EINVAL, "tensor '%s' has data type %s (%d); supported: FLOAT, "
			       "INT64 (and INT32, INT16, INT8, UINT16, UINT8, BOOL read as INT64)",
			       name, ox_dtype_name(dt), dt);
	}
	struct ox_ctx c = {.max_numel = max_numel};
	int rc = ox_reserve(out, ours, ndim, t->dims, &c, e);
	if (rc)
		return rc;
	size_t rawlen = t->raw_data.len;
	if (dt == 1 || dt == 7) {
		size_t el = dt == 1 ? 4 : 8, have = dt == 1 ? t->n_float_data : t->n_int64_data;
		const void *vals = dt == 1 ? (const void *)t->float_data : (const void *)t->int64_data;
		if (rawlen ? rawlen != (size_t)n * el : have != (size_t)n) {
			rc = err_set(e, WEFT_EINVAL, "tensor '%s' of shape %s (%s) holds %zu %s, not %lld "
				     "values", name, ox_shape_str(s, sizeof s, ndim, t->dims),
				     ox_dtype_name(dt), rawlen ? rawlen : have, rawlen ? "bytes" : "values",
				     (long long)n);
		} else if (n) {
			memcpy(out->data, rawlen ? t->raw_data.data : vals, (size_t)n * el);
		}
	} else {
		static const size_t els[] = {0, 4, 1, 1, 2, 2, 4, 8, 0, 1};
		rc = to_int64(out, t->raw_data.data, rawlen, t->int32_data, t->n_int32_data, els[dt],
			      dt == 3 || dt == 5 || dt == 6, name, dt, e);
	}
	if (rc)
		ox_release(out);
	return rc;
}

/* ---- attributes ---- */

static const Weft__Onnx__AttributeProto *attr(const Weft__Onnx__NodeProto *np, const char *name)
{
	for (size_t i = 0; i < np->n_attribute; i++)
		if (np->attribute[i]->name && !strcmp(np->attribute[i]->name, name))
			return np->attribute[i];
	return NULL;
}

static int64_t attr_i(const Weft__Onnx__NodeProto *np, const char *name, int64_t def)
{
	const Weft__Onnx__AttributeProto *a = attr(np, name);
	return a ? a->i : def;
}

static float attr_f(const Weft__Onnx__NodeProto *np, const char *name, float def)
{
	const Weft__Onnx__AttributeProto *a = attr(np, name);
	return a ? a->f : def;
}

static const char *at_name(int t)
{
	static const char *n[] = {"UNDEFINED", "FLOAT", "INT", "STRING", "TENSOR", "GRAPH", "FLOATS",
		"INTS", "STRINGS", "TENSORS", "GRAPHS", "SPARSE_TENSOR", "SPARSE_TENSORS"};
	return t >= 0 && t <= 12 ? n[t] : "unknown";
}

/* Every attribute must be one the operator takes, once, with its type. */
static int attrs_check(const struct opdef *d, const Weft__Onnx__NodeProto *np, struct weft_err *e)
{
	for (size_t i = 0; i < np->n_attribute; i++) {
		const Weft__Onnx__AttributeProto *a = np->attribute[i];
		const char *name = a->name ? a->name : "";
		if (a->ref_attr_name && a->ref_attr_name[0])
			return err_set(e, WEFT_EINVAL, "attribute '%s' refers to a function's attribute "
				       "'%s', which is only valid inside functions", name, a->ref_attr_name);
		const struct aspec *s = d->attrs;
		while (s->name && strcmp(s->name, name))
			s++;
		if (!s->name) {
			char takes[256] = "";
			for (s = d->attrs; s->name; s++)
				snprintf(takes + strlen(takes), sizeof takes - strlen(takes), "%s%s",
					 s == d->attrs ? "" : ", ", s->name);
			return err_set(e, WEFT_EINVAL, "attribute '%.100s' is not supported (%s takes %s)",
				       name, d->name, takes[0] ? takes : "no attributes");
		}
		if (a->type && a->type != s->type)
			return err_set(e, WEFT_EINVAL, "attribute '%s' has type %s, expected %s", name,
				       at_name(a->type), at_name(s->type));
		for (size_t j = 0; j < i; j++)
			if (np->attribute[j]->name && !strcmp(np->attribute[j]->name, name))
				return err_set(e, WEFT_EINVAL, "attribute '%s' is given twice", name);
	}
	return 0;
}

static int flag(const Weft__Onnx__NodeProto *np, const char *name, int *out, struct weft_err *e)
{
	int64_t v = attr_i(np, name, 0);
	if (v != 0 && v != 1)
		return err_set(e, WEFT_EINVAL, "attribute %s=%lld is not 0 or 1", name, (long long)v);
	*out = (int)v;
	return 0;
}

/* Reads an INTS attribute of `want` values (any count up to max when want < 0), each >= min. */
static int ints(const Weft__Onnx__NodeProto *np, const char *name, int want, int max, int64_t min,
		int64_t *dst, int *n, struct weft_err *e)
{
	const Weft__Onnx__AttributeProto *a = attr(np, name);
	*n = 0;
	if (!a)
		return 0;
	if ((want >= 0 && a->n_ints != (size_t)want) || a->n_ints > (size_t)max)
		return err_set(e, WEFT_EINVAL, "attribute %s has %zu values, expected %d%s", name,
			       a->n_ints, want >= 0 ? want : max, want >= 0 ? "" : " at most");
	for (size_t i = 0; i < a->n_ints; i++) {
		if (a->ints[i] < min || a->ints[i] > (int64_t)1 << 31)
			return err_set(e, WEFT_EINVAL, "attribute %s: value %lld is out of range", name,
				       (long long)a->ints[i]);
		dst[i] = a->ints[i];
	}
	*n = (int)a->n_ints;
	return 0;
}

/* Conv, MaxPool, AveragePool: the sliding-window attributes. */
static int window_prepare(struct op_node *n, const Weft__Onnx__NodeProto *np, struct weft_err *e)
{
	struct op_attrs *a = &n->a;
	const Weft__Onnx__AttributeProto *k = attr(np, "kernel_shape");
	if (!k && n->kind != OP_CONV)
		return err_set(e, WEFT_EINVAL, "attribute kernel_shape is required");
	if (k && (k->n_ints < 1 || k->n_ints > 2))
		return err_set(e, WEFT_EINVAL, "kernel_shape has %zu values: only 1-D and 2-D windows "
			       "are supported", k->n_ints);
	int rc, nk;
	if ((rc = ints(np, "kernel_shape", -1, 2, 1, a->kernel, &nk, e)))
		return rc;
	a->nsp = nk;
	int want = nk ? nk : -1;
	if ((rc = ints(np, "strides", want, 2, 1, a->strides, &a->n_strides, e)) ||
	    (rc = ints(np, "dilations", want, 2, 1, a->dilations, &a->n_dil, e)) ||
	    (rc = ints(np, "pads", nk ? 2 * nk : -1, 4, 0, a->pads, &a->n_pads, e)))
		return rc;
	if (!nk && a->n_pads % 2)
		return err_set(e, WEFT_EINVAL, "attribute pads has %d values, expected an even number",
			       a->n_pads);
	const Weft__Onnx__AttributeProto *ap = attr(np, "auto_pad");
	a->auto_pad = AP_NOTSET;
	if (ap) {
		static const char *modes[] = {"NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID"};
		int m = 0;
		while (m < 4 && (ap->s.len != strlen(modes[m]) || memcmp(ap->s.data, modes[m], ap->s.len)))
			m++;
		if (m == 4)
			return err_set(e, WEFT_EINVAL, "auto_pad \"%.*s\" is not one of NOTSET, SAME_UPPER, "
				       "SAME_LOWER, VALID", (int)(ap->s.len > 40 ? 40 : ap->s.len),
				       (const char *)ap->s.data);
		a->auto_pad = m;
		if (m != AP_NOTSET && a->n_pads)
			return err_set(e, WEFT_EINVAL, "pads cannot be used together with auto_pad %s", modes[m]);
	}
	if (n->kind == OP_CONV) {
		a->group = attr_i(np, "group", 1);
		if (a->group < 1 || a->group > (int64_t)1 << 31)
			return err_set(e, WEFT_EINVAL, "group %lld is not a positive number", (long long)a->group);
		return 0;
	}
	if ((rc = flag(np, "ceil_mode", &a->ceil_mode, e)))
		return rc;
	if (n->kind == OP_AVGPOOL)
		return flag(np, "count_include_pad", &a->count_include_pad, e);
	int ignored;
	if ((rc = flag(np, "storage_order", &ignored, e)))
		return rc;
	if (n->n_out > 1 && n->out[1] >= 0)
		return err_set(e, WEFT_EINVAL, "the Indices output is not supported");
	return 0;
}

static int constant_prepare(struct op_node *n, const Weft__Onnx__NodeProto *np, int64_t max_numel,
			    struct weft_err *e)
{
	if (np->n_attribute != 1)
		return err_set(e, WEFT_EINVAL, "a Constant needs exactly one of value, value_float, "
			       "value_floats, value_int, value_ints (it has %zu attributes)", np->n_attribute);
	const Weft__Onnx__AttributeProto *a = np->attribute[0];
	struct ox *v = &n->a.value;
	struct ox_ctx c = {.max_numel = max_numel};
	if (!strcmp(a->name, "value")) {
		if (!a->t)
			return err_set(e, WEFT_EINVAL, "attribute value holds no tensor");
		return ox_from_proto(a->t, max_numel, v, e);
	}
	int is_float = !strcmp(a->name, "value_float") || !strcmp(a->name, "value_floats");
	int is_list = !strcmp(a->name, "value_floats") || !strcmp(a->name, "value_ints");
	int64_t len = is_list ? (int64_t)(is_float ? a->n_floats : a->n_ints) : 1;
	int rc = ox_reserve(v, is_float ? OX_FLOAT : OX_INT64, is_list, &len, &c, e);
	if (rc)
		return rc;
	if (len && is_float)
		memcpy(v->data, is_list ? a->floats : &a->f, sizeof(float) * (size_t)len);
	else if (len)
		memcpy(v->data, is_list ? a->ints : &a->i, sizeof(int64_t) * (size_t)len);
	return 0;
}

static int pad_prepare(struct op_node *n, const Weft__Onnx__NodeProto *np, int opset,
		       struct weft_err *e)
{
	const Weft__Onnx__AttributeProto *mode = attr(np, "mode");
	if (mode && (mode->s.len != 8 || memcmp(mode->s.data, "constant", 8)))
		return err_set(e, WEFT_EINVAL, "mode '%.*s' is not supported (only constant)",
			       (int)(mode->s.len > 40 ? 40 : mode->s.len), (const char *)mode->s.data);
	if (opset >= 11) {
		if (attr(np, "pads") || attr(np, "value"))
			return err_set(e, WEFT_EINVAL, "from opset 11 on, pads and value are inputs, "
				       "not attributes");
		if (n->n_in < 2 || n->in[1] < 0)
			return err_set(e, WEFT_EINVAL, "input 1 (pads) is required");
		if (n->n_in > 3 && n->in[3] >= 0)
			return err_set(e, WEFT_EINVAL, "input 3 (axes) is not supported");
		return 0;
	}
	if (n->n_in > 1)
		return err_set(e, WEFT_EINVAL, "before opset 11, Pad takes one input");
	if (!attr(np, "pads"))
		return err_set(e, WEFT_EINVAL, "attribute pads is required");
	n->a.pad_value = attr_f(np, "value", 0);
	const Weft__Onnx__AttributeProto *p = attr(np, "pads");
	if (p->n_ints > 2 * WT_MAX_DIMS || p->n_ints % 2)
		return err_set(e, WEFT_EINVAL, "attribute pads has %zu values", p->n_ints);
	for (size_t i = 0; i < p->n_ints; i++) {
		if (p->ints[i] < -((int64_t)1 << 31) || p->ints[i] > (int64_t)1 << 31)
			return err_set(e, WEFT_EINVAL, "attribute pads: value %lld is out of range",
				       (long long)p->ints[i]);
		n->a.padlist[i] = p->ints[i];
	}
	n->a.n_padlist = (int)p->n_ints;
	return 0;
}

int op_prepare(struct op_node *n, const Weft__Onnx__NodeProto *np, int opset, int64_t max_numel,
	       struct weft_err *e)
{
	const struct opdef *d = NULL;
	for (int i = 0; i < N_OPDEFS && !d; i++)
		if (!strcmp(opdefs[i].name, np->op_type))
			d = &opdefs[i];
	if (!d)
		return err_set(e, WEFT_EINVAL, "operator %.100s is not supported (supported: %s)",
			       np->op_type, op_supported_list());
	n->kind = d->kind;
	if (n->n_in < d->min_in || n->n_in > d->max_in)
		return err_set(e, WEFT_EINVAL, "%s takes %d to %d inputs, not %d", d->name, d->min_in,
			       d->max_in, n->n_in);
	if (n->n_out < d->min_out || n->n_out > d->max_out)
		return err_set(e, WEFT_EINVAL, "%s has %d to %d outputs, not %d", d->name, d->min_out,
			       d->max_out, n->n_out);
	for (int i = 0; i < d->min_in; i++)
		if (n->in[i] < 0)
			return err_set(e, WEFT_EINVAL, "input %d is required", i);
	if (n->out[0] < 0)
		return err_set(e, WEFT_EINVAL, "output 0 has no name");
	int rc = attrs_check(d, np, e);
	if (rc)
		return rc;
	struct op_attrs *a = &n->a;
	switch (n->kind) {
	case OP_GEMM:
		a->alpha = attr_f(np, "alpha", 1.0f);
		a->beta = attr_f(np, "beta", 1.0f);
		if ((rc = flag(np, "transA", &a->trans_a, e)) || (rc = flag(np, "transB", &a->trans_b, e)))
			return rc;
		return 0;
	case OP_SOFTMAX:
		a->legacy = opset < 13;
		a->axis = attr_i(np, "axis", a->legacy ? 1 : -1);
		return 0;
	case OP_FLATTEN:
		a->axis = attr_i(np, "axis", 1);
		return 0;
	case OP_CONCAT:
		if (!attr(np, "axis"))
			return err_set(e, WEFT_EINVAL, "attribute axis is required");
		a->axis = attr_i(np, "axis", 0);
		return 0;
	case OP_RESHAPE:
		return flag(np, "allowzero", &a->allowzero, e);
	case OP_TRANSPOSE:
		if ((rc = ints(np, "perm", -1, WT_MAX_DIMS, 0, a->perm, &a->nperm, e)))
			return rc;
		for (int i = 0; i < a->nperm; i++) {
			int seen = 0;
			for (int j = 0; j < a->nperm; j++)
				seen += a->perm[j] == i;
			if (seen != 1)
				return err_set(e, WEFT_EINVAL, "perm is not a permutation of 0..%d", a->nperm - 1);
		}
		return 0;
	case OP_BATCHNORM:
		a->epsilon = attr_f(np, "epsilon", 1e-5f);
		if (attr_i(np, "spatial", 1) != 1)
			return err_set(e, WEFT_EINVAL, "spatial=0 (per-element statistics) is not supported");
		if (attr_i(np, "training_mode", 0) != 0)
			return err_set(e, WEFT_EINVAL, "training_mode=1 is not supported (inference only)");
		for (int i = 1; i < n->n_out; i++)
			if (n->out[i] >= 0)
				return err_set(e, WEFT_EINVAL, "output %d (a training statistic) is not "
					       "supported (inference only)", i);
		return 0;
	case OP_CONV:
	case OP_MAXPOOL:
	case OP_AVGPOOL:
		return window_prepare(n, np, e);
	case OP_CONSTANT:
		return constant_prepare(n, np, max_numel, e);
	case OP_PAD:
		return pad_prepare(n, np, opset, e);
	default:
		return 0;
	}
}

int op_types(const struct op_node *n, const int *in_dtype, int *out_dtype, struct weft_err *e)
{
	const struct opdef *d = NULL;
	for (int i = 0; i < N_OPDEFS && !d; i++)
		if (opdefs[i].kind == n->kind)
			d = &opdefs[i];
	for (int i = 0; i < n->n_in; i++) {
		if (n->in[i] < 0)
			continue;
		int t = in_dtype[i];
		if (t == OX_NONE)
			return err_set(e, WEFT_EINVAL, "input %d is a value weft does not compute "
				       "(Dropout's mask)", i);
		int want = d->float_only ? OX_FLOAT : 0;
		if ((n->kind == OP_RESHAPE && i == 1) || (n->kind == OP_DROPOUT && i == 2) ||
		    (n->kind == OP_PAD && i == 1))
			want = OX_INT64;
		else if (n->kind == OP_PAD && i == 2)
			want = in_dtype[0];
		else if (n->kind == OP_DROPOUT && i == 1)
			want = OX_FLOAT;
		else if ((n->kind == OP_ADD || n->kind == OP_MUL || n->kind == OP_CONCAT) && i > 0)
			want = in_dtype[0];
		if (want && t != want)
			return err_set(e, WEFT_EINVAL, "input %d is %s, expected %s", i, ox_dtype_name(t),
				       ox_dtype_name(want));
	}
	for (int i = 0; i < n->n_out; i++)
		out_dtype[i] = OX_NONE;
	switch (n->kind) {
	case OP_ADD: case OP_MUL: case OP_CONCAT: case OP_IDENTITY: case OP_FLATTEN:
	case OP_RESHAPE: case OP_TRANSPOSE: case OP_DROPOUT: case OP_PAD:
		out_dtype[0] = in_dtype[0];
		break;
	case OP_CONSTANT:
		out_dtype[0] = n->a.value.dtype;
		break;
	default:
		out_dtype[0] = OX_FLOAT;
	}
	return 0;
}

void op_node_free(struct op_node *n)
{
	ox_release(&n->a.value);
	free(n->label);
	free(n->in);
	free(n->out);
	memset(n, 0, sizeof *n);
}

/* ---- element-wise ---- */

static int unary(enum op_kind k, const struct ox *x, struct ox *y, struct ox_ctx *c, struct weft_err *e)
{
	int rc = ox_reserve(y, OX_FLOAT, x->ndim, x->shape, c, e);
	if (rc)
		return rc;
	const float *a = x->data;
	float *b = y->data;
	int64_t n = x->numel;
	if (k == OP_RELU)
		for (int64_t i = 0; i < n; i++)
			b[i] = a[i] < 0 ? 0 : a[i];
	else if (k == OP_SIGMOID)
		for (int64_t i = 0; i < n; i++)
			b[i] = 1.0f / (1.0f + expf(-a[i]));
	else
		for (int64_t i = 0; i < n; i++)
			b[i] = tanhf(a[i]);
	return 0;
}

/* Numpy broadcasting of two shapes into out (rank = the larger rank). */
static int broadcast(const struct ox *a, const struct ox *b, int *nd, int64_t *out, struct weft_err *e)
{
	int r = a->ndim > b->ndim ? a->ndim : b->ndim;
	for (int i = 0; i < r; i++) {
		int ia = i - (r - a->ndim), ib = i - (r - b->ndim);
		int64_t da = ia >= 0 ? a->shape[ia] : 1, db = ib >= 0 ? b->shape[ib] : 1;
		if (da != db && da != 1 && db != 1) {
			char s1[160], s2[160];
			return err_set(e, WEFT_EINVAL, "shapes %s and %s cannot be broadcast together",
				       ox_shape_str(s1, sizeof s1, a->ndim, a->shape),
				       ox_shape_str(s2, sizeof s2, b->ndim, b->shape));
		}
		out[i] = da == 1 ? db : da;
	}
	*nd = r;
	return 0;
}

/* Int64 arithmetic wraps (as two's complement) instead of overflowing. */
#define ADD_F(x, y) ((x) + (y))
#define MUL_F(x, y) ((x) * (y))
#define ADD_I(x, y) ((int64_t)((uint64_t)(x) + (uint64_t)(y)))
#define MUL_I(x, y) ((int64_t)((uint64_t)(x) * (uint64_t)(y)))
#define BINARY_LOOP(T, OP)                                                                     \
	do {                                                                                   \
		const T *pa = a->data, *pb = b->data;                                          \
		T *py = y->data;                                                               \
		if (a->numel == y->numel && b->numel == y->numel) {                            \
			for (int64_t i = 0; i < y->numel; i++)                                 \
				py[i] = OP(pa[i], pb[i]);                                      \
			break;                                                                 \
		}                                                                              \
		int64_t inner = y->shape[r - 1], ia = sa[r - 1], ib = sb[r - 1], oa = 0, ob = 0; \
		int64_t idx[WT_MAX_DIMS] = {0};                                                \
		for (int64_t done = 0; done < y->numel; done += inner) {                       \
			for (int64_t j = 0; j < inner; j++)                                    \
				py[done + j] = OP(pa[oa + j * ia], pb[ob + j * ib]);           \
			for (int d = r - 2; d >= 0; d--) {                                     \
				oa += sa[d];                                                   \
				ob += sb[d];                                                   \
				if (++idx[d] < y->shape[d])                                    \
					break;                                                 \
				oa -= sa[d] * idx[d];                                          \
				ob -= sb[d] * idx[d];                                          \
				idx[d] = 0;                                                    \
			}                                                                      \
		}                                                                              \
	} while (0)

static int binary(enum op_kind k, const struct ox *a, const struct ox *b, struct ox *y,
		  struct ox_ctx *c, struct weft_err *e)
{
	int r = 0;
	int64_t shape[WT_MAX_DIMS];
	int rc = broadcast(a, b, &r, shape, e);
	if (!rc)
		rc = ox_reserve(y, a->dtype, r, shape, c, e);
	if (rc || y->numel == 0)
		return rc;
	if (r == 0) { /* two scalars: treat as [1] */
		r = 1;
		y->shape[0] = 1;
	}
	int64_t sa[WT_MAX_DIMS], sb[WT_MAX_DIMS], ma = 1, mb = 1;
	for (int d = r - 1; d >= 0; d--) {
		int ia = d - (r - a->ndim), ib = d - (r - b->ndim);
		int64_t da = ia >= 0 ? a->shape[ia] : 1, db = ib >= 0 ? b->shape[ib] : 1;
		sa[d] = da == 1 ? 0 : ma;
		sb[d] = db == 1 ? 0 : mb;
		ma *= da;
		mb *= db;
	}
	if (a->dtype == OX_FLOAT) {
		if (k == OP_ADD)
			BINARY_LOOP(float, ADD_F);
		else
			BINARY_LOOP(float, MUL_F);
	} else {
		if (k == OP_ADD)
			BINARY_LOOP(int64_t, ADD_I);
		else
			BINARY_LOOP(int64_t, MUL_I);
	}
	y->ndim = a->ndim > b->ndim ? a->ndim : b->ndim; /* back to 0 for two scalars */
	return 0;
}

int op_run(const struct op_node *n, const struct ox *const *in, struct ox *const *out,
	   struct ox_ctx *c, struct weft_err *e)
{
	switch (n->kind) {
	case OP_ADD:
	case OP_MUL:
		return binary(n->kind, in[0], in[1], out[0], c, e);
	case OP_RELU:
	case OP_SIGMOID:
	case OP_TANH:
		return unary(n->kind, in[0], out[0], c, e);
	case OP_DROPOUT:
		if (n->n_in > 2 && in[2] && in[2]->numel > 0 && *(const int64_t *)in[2]->data)
			return err_set(e, WEFT_EINVAL, "training_mode is true; only inference is supported");
		return op_copy(in[0], out[0], in[0]->ndim, in[0]->shape, c, e);
	case OP_IDENTITY:
		return op_copy(in[0], out[0], in[0]->ndim, in[0]->shape, c, e);
	case OP_CONSTANT:
		return op_copy(&n->a.value, out[0], n->a.value.ndim, n->a.value.shape, c, e);
	case OP_FLATTEN:
		return op_flatten(n, in[0], out[0], c, e);
	case OP_RESHAPE:
		return op_reshape(n, in[0], in[1], out[0], c, e);
	case OP_TRANSPOSE:
		return op_transpose(n, in[0], out[0], c, e);
	case OP_CONCAT:
		return op_concat(n, in, out[0], c, e);
	case OP_PAD:
		return op_pad(n, in, out[0], c, e);
	case OP_GEMM:
		return op_gemm(n, in, out[0], c, e);
	case OP_MATMUL:
		return op_matmul(in, out[0], c, e);
	case OP_CONV:
		return op_conv(n, in, out[0], c, e);
	case OP_MAXPOOL:
	case OP_AVGPOOL:
		return op_pool(n, in[0], out[0], c, e);
	case OP_GAP:
		return op_gap(in[0], out[0], c, e);
	case OP_BATCHNORM:
		return op_batchnorm(n, in, out[0], c, e);
	case OP_SOFTMAX:
		return op_softmax(n, in[0], out[0], c, e);
	}
	return err_set(e, WEFT_EINVAL, "internal error: unknown operator kind %d", (int)n->kind);
}

/* ops.h - the operators of weft's native ONNX runtime: onnx.c reads and plans the graph,
 * these check each node's attributes once at load (op_prepare), infer its element types
 * (op_types) and compute its outputs (op_run). Tensors inside the runtime are struct ox:
 * float32 for the arithmetic, int64 only where ONNX moves shapes around (Reshape's shape,
 * Constant, Concat, Add/Mul of shapes, Identity/Flatten/Transpose of them).
 * ops.c: the table, attributes, types, element-wise; ops_shape.c: data movement;
 * ops_nn.c: the BLAS and sliding-window kernels. */
#ifndef WEFT_SERVE_OPS_H
#define WEFT_SERVE_OPS_H
#include "serve/tensor.h"
#include "util/err.h"
#include "onnx.pb-c.h"
#include <stddef.h>
#include <stdint.h>

/* Element types, by their ONNX TensorProto codes. OX_NONE marks a value weft never
 * computes (Dropout's mask): a node or graph output that reads it is refused at load. */
enum { OX_NONE = 0, OX_FLOAT = 1, OX_INT64 = 7 };

struct ox {
	int dtype;
	int ndim;
	int64_t shape[WT_MAX_DIMS];
	int64_t numel;
	void *data;
	size_t cap; /* bytes at data that this struct owns and may grow; 0: borrowed */
};

enum op_kind {
	OP_ADD, OP_AVGPOOL, OP_BATCHNORM, OP_CONCAT, OP_CONSTANT, OP_CONV, OP_DROPOUT,
	OP_FLATTEN, OP_GAP, OP_GEMM, OP_IDENTITY, OP_MATMUL, OP_MAXPOOL, OP_MUL, OP_RELU,
	OP_PAD, OP_RESHAPE, OP_SIGMOID, OP_SOFTMAX, OP_TANH, OP_TRANSPOSE,
};

enum { AP_NOTSET, AP_SAME_UPPER, AP_SAME_LOWER, AP_VALID };

/* A node's attributes after checking; which fields mean something depends on the kind. */
struct op_attrs {
	float alpha, beta, epsilon;    /* Gemm; BatchNormalization */
	int trans_a, trans_b;          /* Gemm */
	int64_t axis;                  /* Softmax, Flatten, Concat (may be negative) */
	int legacy;                    /* Softmax before opset 13: coerced to 2-D at axis */
	int allowzero;                 /* Reshape */
	/* Conv and the pools: 1 or 2 spatial dimensions; nsp = 0 (Conv without kernel_shape)
	 * means "from the weights"; unset strides/dilations are 1, unset pads 0 */
	int nsp, n_strides, n_dil, n_pads;
	int auto_pad;
	int64_t kernel[2], strides[2], dilations[2], pads[4];
	int64_t group;
	int ceil_mode, count_include_pad;
	int nperm;                     /* Transpose: 0 = reverse the dimensions */
	int64_t perm[WT_MAX_DIMS];
	int n_padlist;                 /* Pad before opset 11: pads and value attributes */
	int64_t padlist[2 * WT_MAX_DIMS];
	float pad_value;
	struct ox value;               /* Constant (owned) */
};

struct op_node {
	enum op_kind kind;
	int index;   /* position in the model's node list */
	char *label; /* "node 3 (Conv)" or "node 3 'conv1' (Conv)", for messages; owned */
	int n_in, n_out;
	int *in, *out; /* value ids; -1 = an optional input or output left out */
	int first_out; /* the lowest graph output index that needs this node (onnx.c) */
	struct op_attrs a;
};

/* What kernels allocate through: the size limit and a scratch area (im2col). */
struct ox_ctx {
	int64_t max_numel; /* elements per tensor */
	float *scratch;
	size_t scratch_cap; /* floats */
};

/* "Add, AveragePool, ..." for messages. */
const char *op_supported_list(void);
/* 1 if op_type (standard domain) is one of them. */
int op_known(const char *op_type);
/* Looks op_type up and checks arity and attributes against ONNX opset `opset`; fills n->kind
 * and n->a (n->n_in/n_out must be set). Messages do not name the node: the caller does. */
int op_prepare(struct op_node *n, const Weft__Onnx__NodeProto *np, int opset, int64_t max_numel,
	       struct weft_err *e);
/* in_dtype[i] for present inputs (-1 ids are skipped); fills out_dtype[n_out]. */
int op_types(const struct op_node *n, const int *in_dtype, int *out_dtype, struct weft_err *e);
/* Computes the outputs; in[i] NULL for a left-out input, out[i] NULL for a left-out output.
 * Outputs are (re)allocated with ox_reserve, so they keep their buffers between runs. */
int op_run(const struct op_node *n, const struct ox *const *in, struct ox *const *out,
	   struct ox_ctx *c, struct weft_err *e);
void op_node_free(struct op_node *n);

/* Decodes an initializer or Constant tensor into out (owned). FLOAT and INT64, plus INT32,
 * BOOL and the small integer types as INT64; anything else is refused, named. */
int ox_from_proto(const Weft__Onnx__TensorProto *t, int64_t max_numel, struct ox *out,
		  struct weft_err *e);
/* Sets dtype and shape, growing t's own buffer if needed; WEFT_ETOOBIG over max_numel. */
int ox_reserve(struct ox *t, int dtype, int ndim, const int64_t *shape, const struct ox_ctx *c,
	       struct weft_err *e);
void ox_release(struct ox *t);
size_t ox_elsize(int dtype);
const char *ox_dtype_name(int dtype);
/* "[2,3,?]" (negative dims print as ?); returns buf. */
char *ox_shape_str(char *buf, size_t n, int ndim, const int64_t *shape);
/* Product of dims, or -1 on overflow or past max. */
int64_t ox_numel(int ndim, const int64_t *shape, int64_t max);

/* Kernels in ops_shape.c and ops_nn.c, called by op_run with checked arity and types. */
int op_copy(const struct ox *x, struct ox *y, int ndim, const int64_t *shape, struct ox_ctx *c, struct weft_err *e);
int op_flatten(const struct op_node *n, const struct ox *x, struct ox *y, struct ox_ctx *c, struct weft_err *e);
int op_reshape(const struct op_node *n, const struct ox *x, const struct ox *sh, struct ox *y, struct ox_ctx *c, struct weft_err *e);
int op_transpose(const struct op_node *n, const struct ox *x, struct ox *y, struct ox_ctx *c, struct weft_err *e);
int op_concat(const struct op_node *n, const struct ox *const *in, struct ox *y, struct ox_ctx *c, struct weft_err *e);
int op_pad(const struct op_node *n, const struct ox *const *in, struct ox *y, struct ox_ctx *c, struct weft_err *e);
int op_gemm(const struct op_node *n, const struct ox *const *in, struct ox *out, struct ox_ctx *c, struct weft_err *e);
int op_matmul(const struct ox *const *in, struct ox *out, struct ox_ctx *c, struct weft_err *e);
int op_conv(const struct op_node *n, const struct ox *const *in, struct ox *out, struct ox_ctx *c, struct weft_err *e);
int op_pool(const struct op_node *n, const struct ox *x, struct ox *out, struct ox_ctx *c, struct weft_err *e);
int op_gap(const struct ox *x, struct ox *out, struct ox_ctx *c, struct weft_err *e);
int op_batchnorm(const struct op_node *n, const struct ox *const *in, struct ox *out, struct ox_ctx *c, struct weft_err *e);
int op_softmax(const struct op_node *n, const struct ox *x, struct ox *out, struct ox_ctx *c, struct weft_err *e);

#endif

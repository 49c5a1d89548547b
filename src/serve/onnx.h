/* onnx.h - weft's native model runtime: loads an ONNX model (our own protobuf-c schema,
 * proto/onnx.proto), checks it once (every operator supported, attributes and types valid,
 * the graph acyclic), folds what depends only on constants, and runs it in C with OpenBLAS.
 * A model is immutable after load and shared by all threads; each thread runs it through
 * its own session, whose buffers are reused from run to run. OpenBLAS is kept at one
 * thread per call: the serving layer runs requests in parallel instead.
 * Supported operators: see op_supported_list() in ops.h; anything else is refused at load. */
#ifndef WEFT_SERVE_ONNX_H
#define WEFT_SERVE_ONNX_H
#include "serve/tensor.h"
#include "util/err.h"
#include <stddef.h>
#include <stdint.h>

struct onnx_model;
struct onnx_session;

#define ONNX_DEFAULT_MAX_NUMEL ((int64_t)1 << 28) /* values per tensor (1 GiB of float32) */

struct onnx_opts {
	int64_t max_numel; /* per tensor, at load and at run; 0 = ONNX_DEFAULT_MAX_NUMEL */
};

/* Loads a model from memory (buf is not kept). Errors: WEFT_EINVAL naming what is wrong,
 * e.g. "node 3 (Resize): operator Resize is not supported (supported: Add, ...)";
 * WEFT_ETOOBIG for a tensor over the limit. *out is set only on success. */
int onnx_load(const void *buf, size_t len, struct onnx_model **out, struct weft_err *e);
int onnx_load_opts(const void *buf, size_t len, const struct onnx_opts *opts,
		   struct onnx_model **out, struct weft_err *e);
/* Reads and loads a file; messages start with the path. WEFT_EIO if it cannot be read. */
int onnx_load_file(const char *path, struct onnx_model **out, struct weft_err *e);
void onnx_free(struct onnx_model *m);

/* The graph's inputs (initializers excluded) and outputs, in model order. Shapes: the
 * return value is the rank, or -1 when the model does not say; shape[i] is -1 for a
 * dynamic (symbolic or unknown) dimension. Names stay valid while the model lives. */
int onnx_n_inputs(const struct onnx_model *m);
const char *onnx_input_name(const struct onnx_model *m, int i);
int onnx_input_shape(const struct onnx_model *m, int i, int64_t shape[WT_MAX_DIMS]);
int onnx_n_outputs(const struct onnx_model *m);
const char *onnx_output_name(const struct onnx_model *m, int i);
int onnx_output_shape(const struct onnx_model *m, int i, int64_t shape[WT_MAX_DIMS]);
/* How many nodes are left to run after constants were folded and unused nodes dropped. */
int onnx_n_nodes(const struct onnx_model *m);

/* Per-thread scratch for running m; m must outlive it. Never NULL. */
struct onnx_session *onnx_session_new(const struct onnx_model *m);
void onnx_session_free(struct onnx_session *s);

/* Runs the model. in: n_in tensors, matched by name when every one has a name, else in
 * model order; n_in must equal onnx_n_inputs. Any size on dynamic dimensions, exact sizes
 * elsewhere. out: the first n_out (1..onnx_n_outputs) outputs, allocated here with wt_alloc
 * and named (the caller wt_free's them; on error none is left allocated); nodes that only
 * later outputs need are not run. Errors:
 * WEFT_EINVAL naming the input with the expected and given shape, or the node whose
 * operator rejected the shapes it got; WEFT_ETOOBIG for a tensor over the limit. */
int onnx_run(struct onnx_session *s, const struct wtensor *in, int n_in, struct wtensor *out,
	     int n_out, struct weft_err *e);

#endif

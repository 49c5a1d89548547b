/* oip.h - the Open Inference Protocol v2 (KServe v2 / Triton / MLServer) as
 * pure JSON codecs: parse a `POST /v2/models/{m}/infer` body into float32
 * tensors (every numeric datatype converted and range-checked, BYTES kept as
 * JSON for custom servers), format the inference response, and build the
 * metadata and health answers. No HTTP here: the server routes to these.
 * Errors travel as struct weft_err (WEFT_EINVAL -> 400, WEFT_ETOOBIG -> 413)
 * and go on the wire as {"error": "..."} naming the input and field. */
#ifndef WEFT_SERVE_OIP_H
#define WEFT_SERVE_OIP_H
#include "serve/tensor.h"
#include "util/err.h"
#include "util/sbuf.h"
#include <jansson.h>
#include <stdint.h>

#define OIP_DEFAULT_MAX_NUMEL (16LL * 1024 * 1024) /* values in one request */
#define OIP_MAX_INPUTS 256

enum oip_dtype {
	OIP_BOOL, OIP_UINT8, OIP_UINT16, OIP_UINT32, OIP_UINT64,
	OIP_INT8, OIP_INT16, OIP_INT32, OIP_INT64,
	OIP_FP16, OIP_FP32, OIP_FP64, OIP_BYTES, OIP_BF16,
};
const char *oip_dtype_name(enum oip_dtype t); /* "FP32" */
int oip_dtype_parse(const char *s);           /* enum value, or -1 if unknown */

/* ---- metadata shared with the Seldon codec (seldon.h) ---- */

/* A tensor in model metadata; shape -1 marks a variable dimension. */
struct serve_tensor_spec {
	const char *name;
	const char *datatype;  /* "FP32", ... (oip_dtype_name) */
	int ndim;
	int64_t shape[WT_MAX_DIMS];
};

struct serve_model_meta {
	const char *name;
	const char *const *versions; /* may be NULL */
	int nversions;
	const char *platform;        /* e.g. "onnx" or "seldon-custom"; NULL: "" */
	const struct serve_tensor_spec *inputs;
	int ninputs;
	const struct serve_tensor_spec *outputs;
	int noutputs;
};

/* ---- requests ---- */

struct oip_input {
	struct wtensor t;       /* t.name, shape, numel; t.data for numeric types */
	enum oip_dtype dtype;   /* as the request declared it */
	json_t *bytes;          /* BYTES: data as given (array of strings, maybe nested), else NULL */
	json_t *parameters;     /* NULL when absent */
};

struct oip_requested_output {
	char name[WT_NAME_MAX];
	json_t *parameters;     /* NULL when absent (binary_data etc. are ignored: answers are JSON) */
};

struct oip_request {
	char *id;               /* NULL when absent */
	json_t *parameters;     /* NULL when absent */
	struct oip_input *inputs;
	int ninputs;
	struct oip_requested_output *outputs; /* noutputs 0: the client wants every output */
	int noutputs;
};

/* Parses an inference request body. max_numel bounds the values of each
 * input (<= 0: OIP_DEFAULT_MAX_NUMEL); a shape claiming more is refused
 * (WEFT_ETOOBIG) before anything is allocated. On error *r is left empty. */
int oip_parse_request(const char *body, size_t len, int64_t max_numel, struct oip_request *r, struct weft_err *e);
void oip_request_free(struct oip_request *r);
/* Checks a parsed request against the model's metadata: input names known and
 * none missing, shapes compatible (-1 matches any size), BYTES only where the
 * model takes BYTES, requested outputs known. Metadata with no inputs (or no
 * outputs) skips that half. */
int oip_check_request(const struct oip_request *r, const struct serve_model_meta *m, struct weft_err *e);
/* 1 if the response should carry output name (no outputs asked = all). */
int oip_output_wanted(const struct oip_request *r, const char *name);

/* ---- responses ---- */

struct oip_output {
	const char *name;           /* NULL: t->name */
	const struct wtensor *t;    /* shape (and data, for numeric types) */
	enum oip_dtype dtype;       /* how to print: OIP_FP32 for float outputs; integer
				     * types round to nearest, BOOL is value != 0 */
	const json_t *bytes;        /* BYTES: array of strings (flattened on output) */
	const json_t *parameters;   /* NULL: none */
};

struct oip_reply {
	const char *model_name;
	const char *model_version;  /* NULL: omitted */
	const char *id;             /* NULL: a new UUID */
	const json_t *parameters;   /* NULL: omitted */
	const struct oip_output *outputs;
	int noutputs;
};

/* Appends the response JSON to out. Fails (WEFT_EINVAL) only on a reply
 * that is not consistent (no tensor, BYTES without bytes). */
int oip_format_response(const struct oip_reply *r, struct sbuf *out, struct weft_err *e);

/* ---- errors, metadata, health ---- */

/* {"error": "msg"} */
void oip_error_body(const char *msg, struct sbuf *out);
/* The HTTP status for a WEFT_E* code: 400 invalid, 413 too big, 404 not
 * found, 401, 403, 409, else 500. */
int oip_http_status(int code);
/* GET /v2: {"name", "version", "extensions": [...]} */
void oip_server_metadata(const char *name, const char *version, const char *const *extensions, int n,
			 struct sbuf *out);
/* GET /v2/models/{m}: {"name", "versions"?, "platform", "inputs", "outputs"} */
void oip_model_metadata(const struct serve_model_meta *m, struct sbuf *out);
/* GET /v2/health/live|ready, /v2/models/{m}/ready: returns the HTTP status,
 * 200 with an empty body when ok, else 400 (the protocol's "4xx means
 * false") with {"error": why} when why is given, else an empty body. */
int oip_health(int ok, const char *why, struct sbuf *out);

#endif

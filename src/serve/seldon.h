/* seldon.h - Seldon Core's v1 protocol (SeldonMessage) as pure JSON codecs:
 * parse a prediction or feedback body (a numeric data.ndarray or data.tensor
 * into a float32 wtensor; strings and other JSON kept as jansson trees for
 * custom model servers), format the answer in the request's own form with
 * meta.puid and meta.requestPath, and build the metadata answers. No HTTP
 * here: the server routes to these and sends the bodies they produce. */
#ifndef WEFT_SERVE_SELDON_H
#define WEFT_SERVE_SELDON_H
#include "serve/oip.h" /* struct serve_model_meta */
#include "serve/tensor.h"
#include "util/sbuf.h"
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define SELDON_DEFAULT_MAX_NUMEL (16LL * 1024 * 1024)
#define SELDON_PUID_LEN 26

/* Errors, sent as {"status": {"code", "info", "reason", "status": "FAILURE"}}:
 *   body not JSON         HTTP 400, code 400, reason "Invalid JSON"
 *   JSON, bad message     HTTP 400, code 400, reason "MICROSERVICE_BAD_DATA"
 *   over max_numel        HTTP 413, code 413, reason "PAYLOAD_TOO_LARGE"
 * info names the field: "data.ndarray[3] has 4 values, data.ndarray[0] has 5: ..." */
struct seldon_err {
	int http;
	int code;
	const char *reason;   /* static string */
	char info[1024];
};
#define SELDON_REASON_JSON "Invalid JSON"
#define SELDON_REASON_DATA "MICROSERVICE_BAD_DATA"
#define SELDON_REASON_TOOBIG "PAYLOAD_TOO_LARGE"

enum seldon_kind {
	SELDON_NONE,     /* no payload (only meta/status) */
	SELDON_NDARRAY,  /* data.ndarray */
	SELDON_TENSOR,   /* data.tensor {shape, values} */
	SELDON_TFTENSOR, /* data.tftensor, kept as JSON (not converted) */
	SELDON_JSONDATA, /* jsonData: any JSON */
	SELDON_STRDATA,  /* strData: a string */
	SELDON_BINDATA,  /* binData: base64 bytes */
};

struct seldon_msg {
	enum seldon_kind kind;
	int numeric;            /* 1: tensor holds the payload (ndarray of numbers, or tensor) */
	struct wtensor tensor;  /* when numeric; name "" */
	char **names;           /* data.names, NULL when absent */
	int nnames;
	json_t *payload;        /* ndarray that is not all numbers, tftensor, jsonData value,
				 * strData (a JSON string); NULL otherwise */
	unsigned char *bin;     /* binData decoded */
	size_t binlen;
	json_t *meta;           /* the meta object as given (checked), NULL when absent */
	const char *puid;       /* meta.puid (inside meta), NULL when absent */
	json_t *status;         /* a status member (in answers from model servers), NULL when absent */
};

/* Parses a SeldonMessage with exactly one payload member. max_numel bounds
 * the numeric values (<= 0: SELDON_DEFAULT_MAX_NUMEL). Returns 0, or a
 * negative WEFT_E* code with *err filled and *m left empty. */
int seldon_parse(const char *body, size_t len, int64_t max_numel, struct seldon_msg *m, struct seldon_err *err);
void seldon_msg_free(struct seldon_msg *m);

/* POST .../feedback: {"request", "response", "truth": SeldonMessage, "reward": number}.
 * Each member is optional; a message may be empty ({} or only meta). */
struct seldon_feedback {
	int has_request, has_response, has_truth, has_reward;
	struct seldon_msg request, response, truth;
	double reward;
};
int seldon_parse_feedback(const char *body, size_t len, int64_t max_numel, struct seldon_feedback *f,
			  struct seldon_err *err);
void seldon_feedback_free(struct seldon_feedback *f);

/* One step of meta.requestPath: graph node name -> image (or model) name. */
struct seldon_node {
	const char *node;
	const char *image;
};

/* What to answer. Pointers are borrowed. */
struct seldon_reply {
	enum seldon_kind kind;       /* SELDON_NDARRAY or SELDON_TENSOR to send t; any other
				      * kind sends payload/bin; SELDON_NONE sends only meta */
	const struct wtensor *t;     /* the numeric answer (one tensor: Seldon has one data member) */
	const json_t *payload;       /* non-numeric NDARRAY/TFTENSOR/JSONDATA value, STRDATA string */
	const unsigned char *bin;    /* BINDATA bytes */
	size_t binlen;
	const char *const *names;    /* data.names; NULL with t: "t:0".."t:N-1" for N = shape[1]
				      * (none for fewer than 2 dimensions) */
	int nnames;
	const char *puid;            /* NULL: a new random one */
	const json_t *tags;          /* meta.tags, NULL: {} */
	const json_t *routing;       /* meta.routing, NULL: omitted */
	const struct seldon_node *path; /* meta.requestPath */
	int npath;
	const json_t *metrics;       /* meta.metrics, NULL: omitted */
};

/* Zeroes r and answers in the request's form: TENSOR for a tensor request,
 * NDARRAY otherwise; echoes its puid and tags (req may be NULL). */
void seldon_reply_init(struct seldon_reply *r, const struct seldon_msg *req);
/* Appends the answer's JSON to out. Fails (WEFT_EINVAL, err filled as a 500)
 * only when the reply is inconsistent (NDARRAY/TENSOR without t, ...). */
int seldon_format(const struct seldon_reply *r, struct sbuf *out, struct seldon_err *err);

/* For an answer a custom model server wrote (its /predict body): the same
 * JSON with meta.puid set (puid NULL: kept if the server set one, else a new
 * one) and path added to meta.requestPath; all else, numbers included, kept
 * as written (jansson, doubles at 17 digits). WEFT_EINVAL (err as a 500
 * "MICROSERVICE_INTERNAL_ERROR") if the answer is not a JSON object. */
int seldon_annotate(const char *body, size_t len, const char *puid, const struct seldon_node *path, int npath,
		    struct sbuf *out, struct seldon_err *err);

/* {"status": {"code", "info", "reason", "status": "FAILURE"}} for err, or for
 * any code/reason/info the server needs (e.g. 503 "MICROSERVICE_UNAVAILABLE"). */
void seldon_error_body(const struct seldon_err *err, struct sbuf *out);
void seldon_status_body(int code, const char *reason, const char *info, struct sbuf *out);
/* Fills err from a WEFT_E* code and message (EINVAL 400 bad data, ETOOBIG
 * 413, ENOTFOUND 404, others 500), for errors raised outside the parser. */
void seldon_err_from(struct seldon_err *err, int code, const char *info);

/* A new random puid: SELDON_PUID_LEN lowercase letters and digits (out holds +1). */
void seldon_new_puid(char *out);

/* GET .../api/v1.0/metadata/{model}: {name, versions, platform, inputs, outputs} */
void seldon_model_metadata(const struct serve_model_meta *m, struct sbuf *out);
/* GET .../api/v1.0/metadata: {"name", "models": {name: model metadata},
 * "graphinputs": the first model's inputs, "graphoutputs": the last's outputs} */
void seldon_graph_metadata(const char *name, const struct serve_model_meta *models, int n, struct sbuf *out);

#endif

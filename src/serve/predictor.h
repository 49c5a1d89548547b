/* predictor.h - one predictor of a deployment at run time: either the
 * native runtime (the training job's model.onnx run in process; each
 * replica is an ONNX session, and the rows of concurrent requests are
 * batched on the requests' own threads: adaptive micro-batching) or a set of
 * custom model server processes (Seldon's /predict API) behind
 * least-outstanding balancing. */
#ifndef WEFT_SERVE_PREDICTOR_H
#define WEFT_SERVE_PREDICTOR_H
#include "serve/oip.h"
#include "serve/spec.h"
#include "serve/tensor.h"
#include "util/err.h"
#include "util/sbuf.h"
#include <jansson.h>

struct predictor_cfg {
	const char *deployment;    /* for metrics and messages */
	const struct spec_predictor *sp;
	const char *model_path;    /* native: the job's model.onnx */
	const char *model_dir;     /* custom: the job's results directory (MODEL_DIR) */
	char **env;                /* custom: FfDL's variables and the spec's env ("K=V", NULL-ended) */
	const char *log_path;      /* custom: the replicas' output */
	int64_t max_numel;         /* per request tensor */
};

struct predictor;

int predictor_start(const struct predictor_cfg *cfg, struct predictor **out, struct weft_err *e);
void predictor_stop(struct predictor *p);
const char *predictor_name(const struct predictor *p);
enum spec_runtime predictor_runtime(const struct predictor *p);
/* Replicas ready now, of total. */
void predictor_ready(struct predictor *p, int *ready, int *total);
/* The model's inputs and outputs (native); custom predictors declare none. */
const struct serve_model_meta *predictor_meta(const struct predictor *p);
/* Replica states as JSON (for deployment show). */
json_t *predictor_replicas_json(struct predictor *p);

/* Native: runs the model on n_in inputs (rows along dimension 0 are batched
 * with other requests'); fills out[0..n_out) (caller wt_free's). Errors:
 * WEFT_EINVAL (shapes), WEFT_ETOOBIG, WEFT_EIO. */
int predictor_infer(struct predictor *p, const struct wtensor *in, int n_in, struct wtensor *out, int n_out,
		    struct weft_err *e);
/* Custom: sends a SeldonMessage to a replica's /predict (retried once on
 * another replica if the first one fails); the answer's JSON in *answer. */
int predictor_forward(struct predictor *p, const char *body, size_t len, struct sbuf *answer, long *status,
		      struct weft_err *e);

#endif

/* deploy.h - deployments: a trained job's model served behind Seldon's and
 * the Open Inference Protocol's endpoints. Specs are stored in the metadata
 * store and started again when the server starts; each deployment runs its
 * predictors (native or custom), splits traffic by weight, copies requests
 * to shadow predictors, counts requests and optionally logs them. */
#ifndef WEFT_SERVE_DEPLOY_H
#define WEFT_SERVE_DEPLOY_H
#include "serve/predictor.h"
#include "trainer/trainer.h"

#define DEPLOY_TOKEN_PREFIX "wdep_"

struct serve;
struct deployment;

/* Starts every stored deployment (failures are logged and kept as FAILED). */
int serve_open(struct trainer *t, struct serve **out, struct weft_err *e);
void serve_close(struct serve *s);

/* POST /v1/deployments: body is a spec (JSON or YAML) or the short form. */
int serve_create(struct serve *s, const struct principal *p, const char *body, size_t len, json_t **out,
		 struct weft_err *e);
int serve_list(struct serve *s, const struct principal *p, json_t **out, struct weft_err *e);
int serve_show(struct serve *s, const struct principal *p, const char *name, json_t **out, struct weft_err *e);
int serve_delete(struct serve *s, const struct principal *p, const char *name, struct weft_err *e);

/* A running deployment for a request, if p may use it (owner, admin) or
 * token is its OAuth token; release with serve_put. WEFT_ENOTFOUND if
 * unknown or not p's; WEFT_ECONFLICT if it is not AVAILABLE. */
int serve_get(struct serve *s, const struct principal *p, const char *token, const char *name,
	      struct deployment **out, struct weft_err *e);
void serve_put(struct serve *s, struct deployment *d);
/* POST /oauth/token: an access token for the deployment whose oauth_key and
 * oauth_secret these are. */
int serve_oauth_token(struct serve *s, const char *key, const char *secret, char token[80], struct weft_err *e);

const char *deploy_name(const struct deployment *d);
/* metadata.namespace, or "default" */
const char *deploy_namespace(const struct deployment *d);

/* A deployment's own port (spec.port) is served by the API layer: these
 * hooks open and close it. serve_attach starts the ports of the deployments
 * already running, and later deployments open theirs when they start. */
struct serve_port_hooks {
	void *ctx;
	int (*open)(void *ctx, const char *name, int port, void **handle, struct weft_err *e);
	void (*close)(void *handle);
};
void serve_attach(struct serve *s, const struct serve_port_hooks *h);
/* The predictor that takes a new request (by traffic weight). */
struct predictor *deploy_pick(struct deployment *d);
/* The model metadata of the deployment's main predictor. */
const struct serve_model_meta *deploy_meta(struct deployment *d);
const struct spec_predictor *deploy_spec_predictor(struct deployment *d, struct predictor *pr);
/* The shadow predictors (n of them), which get a copy of each request. */
struct predictor **deploy_shadows(struct deployment *d, int *n);
/* After a request: counts it and its latency, and logs it as a JSON line
 * when the spec asks (shadow answers always go to shadow.jsonl). */
void deploy_done(struct deployment *d, struct predictor *pr, const char *protocol, const char *body, size_t len,
		 int status, const char *answer, size_t alen, double seconds);

#endif

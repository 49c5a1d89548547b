/* spec.h - a deployment spec: Seldon's SeldonDeployment (JSON or YAML, as in
 * the FfDL article) or the short form `weft deploy --training-id ID`, parsed
 * and checked into struct deployment_spec. Errors name the field path and the
 * line; every field weft does not use is listed in `ignored` with its line
 * (never silently dropped), and the whole input is kept as JSON. */
#ifndef WEFT_SERVE_SPEC_H
#define WEFT_SERVE_SPEC_H
#include "util/err.h"
#include <jansson.h>
#include <stddef.h>

#define SPEC_NAME_MAX 63           /* DNS label: [a-z0-9-], starts and ends alphanumeric */
#define SPEC_ID_MAX 64             /* training ids: [A-Za-z0-9_-] */
#define SPEC_MAX_PREDICTORS 16
#define SPEC_MAX_REPLICAS 64
#define SPEC_MAX_ENV 256
#define SPEC_MAX_PARAMETERS 256
#define SPEC_MAX_BATCH 4096        /* batching.max_batch_size, 1.. */
#define SPEC_MAX_WAIT_MS 10000     /* batching.max_wait_ms, 0.. */
#define SPEC_DEFAULT_MAX_BATCH 32
#define SPEC_DEFAULT_MAX_WAIT_MS 0  /* adaptive: batch what queued while the model was busy */
#define SPEC_MAX_NODES 100000      /* values in one spec, counting each use of an alias */
#define SPEC_MAX_DEPTH 64          /* nesting of mappings and lists */

enum spec_runtime {
	SPEC_RUNTIME_NATIVE, /* weft runs the training job's model.onnx in process */
	SPEC_RUNTIME_CUSTOM, /* weft runs `command`, a server of Seldon's /predict API */
};

struct spec_env {
	char *name, *value;
};

/* graph.parameters[]: Seldon passes them to a model server as
 * PREDICTIVE_UNIT_PARAMETERS (JSON); value already checked against type. */
struct spec_param {
	char *name;
	char *type;  /* INT | FLOAT | DOUBLE | STRING | BOOL */
	char *value; /* as written */
};

/* A field weft does not use: kept in `source`, listed here, never acted on. */
struct spec_ignored {
	char *path;   /* "spec.predictors[0].svcOrchSpec" */
	int line;     /* 1-based line of the key */
	char *reason; /* why it has no effect, or a "did you mean" hint; may be NULL */
};

struct spec_predictor {
	char *name;                 /* DNS label, unique in the deployment */
	int replicas;               /* 1..SPEC_MAX_REPLICAS (default spec.replicas, else 1) */
	int traffic;                /* percent of requests, 0..100; the non-shadow ones sum to 100;
				       always 0 for a shadow */
	int shadow;                 /* gets a copy of each request; answers logged, not returned */
	enum spec_runtime runtime;  /* default: custom when a command is given, else native */
	char *command;              /* custom only: run with /bin/sh -c; NULL for native */
	char *training_id;          /* required: the job whose model is served (lineage) */
	/* FfDL's bucket settings from the container env; NULL when not given
	 * (then the training job's data store applies) */
	char *bucket_name, *bucket_endpoint_url, *bucket_key, *bucket_secret;
	/* the graph's container's other env entries with a literal value, in order
	 * (TRAINING_ID and BUCKET_* are in the fields above, not here) */
	struct spec_env *env;
	size_t n_env;
	int max_batch_size;         /* native micro-batching; 0 for custom */
	int max_wait_ms;
	char *graph_name;           /* the single MODEL node (DNS label) */
	const char *graph_type;     /* "MODEL" (static) */
	const char *endpoint_type;  /* "REST" (static) */
	char *image;                /* the graph container's image: kept for meta.requestPath, never run */
	struct spec_param *params;
	size_t n_params;
	json_t *annotations, *labels; /* objects of strings, never NULL */
	int line;                   /* line of the predictor entry */
};

struct deployment_spec {
	char *name;                  /* spec.name: the deployment's name in weft (DNS label) */
	char *metadata_name;         /* metadata.name (Kubernetes object name) or NULL */
	char *namespace;             /* metadata.namespace or NULL */
	char *oauth_key, *oauth_secret; /* both or neither (NULL) */
	json_t *annotations;         /* spec.annotations, object of strings, never NULL */
	json_t *labels;              /* metadata.labels, never NULL */
	json_t *meta_annotations;    /* metadata.annotations, never NULL */
	struct spec_predictor *predictors;
	size_t n_predictors;         /* 1..SPEC_MAX_PREDICTORS, at least one not shadow */
	int request_log;             /* spec.request_log: log requests as JSON lines */
	int port;                    /* spec.port: the deployment's own port, 0 = none */
	struct spec_ignored *ignored; /* in line order */
	size_t n_ignored;
	json_t *source;              /* the whole input as JSON, secrets included (owned) */
};

/* Parses a SeldonDeployment in JSON or YAML (one document). On success
 * returns 0 and *out (free with spec_free). On error returns WEFT_EINVAL
 * with e->msg like "line 12: spec.predictors[0].replicas: 'two' is not an
 * integer" and *out NULL. */
int spec_parse(const char *text, size_t len, struct deployment_spec **out, struct weft_err *e);

/* The short form: one native predictor serving training_id's model.
 * name NULL or "" derives one from the id (spec_name_from_id); replicas 0
 * means 1. The predictor is "default", its graph node is named after the
 * deployment, and `source` is the equivalent SeldonDeployment. 0 or
 * WEFT_EINVAL naming the argument ("name: 'My_Model' is not a valid name"). */
int spec_from_short(const char *training_id, const char *name, int replicas, struct deployment_spec **out,
		    struct weft_err *e);

void spec_free(struct deployment_spec *s);

/* The spec as weft uses it, rendered as a canonical SeldonDeployment: only
 * the fields weft uses, defaults filled in (replicas, traffic, runtime,
 * batching), weft's fields at predictor level. spec_parse of its text gives
 * the same spec back. Unless with_secrets, secrets are replaced by "***" as
 * in spec_source_json. New reference. */
json_t *spec_to_json(const struct deployment_spec *s, int with_secrets);

/* [{"path": ..., "line": N, "reason": ...}] in line order. New reference. */
json_t *spec_ignored_json(const struct deployment_spec *s);

/* A copy of the input as JSON (for `deployment show`); unless with_secrets,
 * spec.oauth_secret and env values whose name holds SECRET, PASSWORD or
 * TOKEN are replaced by "***". New reference. */
json_t *spec_source_json(const struct deployment_spec *s, int with_secrets);

/* 1 when s is a DNS label: 1..63 of [a-z0-9-], alphanumeric at both ends. */
int spec_name_valid(const char *s);
/* 1 when s is a training id: 1..SPEC_ID_MAX of [A-Za-z0-9_-]. */
int spec_training_id_valid(const char *s);
/* A deployment name for a training id: lower case, '_' as '-', trimmed to
 * a DNS label ("training-Ab_c" -> "training-ab-c"); "model" if nothing is
 * left. Caller frees. */
char *spec_name_from_id(const char *training_id);
/* "native" or "custom". */
const char *spec_runtime_name(enum spec_runtime r);

#endif

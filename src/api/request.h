/* request.h - one HTTP request in flight, shared by http.c (transport) and
 * the route handlers (v1.c). The struct lives from the first callback to
 * MHD's completion notice; everything it owns is freed there. */
#ifndef WEFT_API_REQUEST_H
#define WEFT_API_REQUEST_H
#include "api/api.h"
#include "store/objects.h"
#include "util/sbuf.h"
#include <jansson.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdint.h>

/* routes (v1.c decides, v1.c and serving.c answer) */
enum route {
	R_NONE,
	R_HEALTH,
	R_OPENAPI,
	R_MODELS_CREATE,
	R_MODELS_LIST,
	R_MODEL_GET,
	R_MODEL_PATCH,
	R_MODEL_DELETE,
	R_MODEL_DEFINITION,
	R_MODEL_TRAINED,
	R_LOGLINES,
	R_EMETRICS,
	R_EMETRICS_POST,
	R_MODEL_METRICS,
	R_USERS_CREATE,
	R_DATA_PUT,
	R_DATA_LIST,
	R_METRICS,
	/* serving (serving.c) */
	R_DEPLOY_CREATE,
	R_DEPLOY_LIST,
	R_DEPLOY_GET,
	R_DEPLOY_DELETE,
	R_SELDON_PREDICT,
	R_SELDON_FEEDBACK,
	R_SELDON_META,
	R_V2_LIVE,
	R_V2_READY,
	R_V2_SERVER,
	R_V2_MODEL,
	R_V2_MODEL_READY,
	R_V2_INFER,
	R_OAUTH_TOKEN,
	R_COUNT
};

enum body_kind { BODY_NONE, BODY_JSON, BODY_MULTIPART, BODY_OBJECT, BODY_PREDICT };
/* how errors are shaped: FfDL's {code, error, description}, Seldon's status, OIP's {error} */
enum protocol { PROTO_FFDL, PROTO_SELDON, PROTO_OIP };

struct request {
	struct api_server *srv;
	struct trainer *t;
	struct MHD_Connection *conn;
	const char *method, *url;
	char *seg[8];               /* path segments (owned), seg[n_seg..] NULL */
	int n_seg;
	int route;                  /* index into the route table */
	struct principal who;
	int authed;
	int job_token;              /* authenticated with the job's WEFT_JOB_TOKEN, not a user's */
	const char *deploy_token;   /* a deployment's OAuth access token (prediction routes) */
	const char *dep;            /* Seldon routes: the deployment addressed */
	const char *dep_ns;         /* its namespace in the URL (NULL on its own port) */
	enum protocol protocol;

	enum body_kind body_kind;
	struct sbuf body;           /* BODY_JSON */
	struct MHD_PostProcessor *pp; /* BODY_MULTIPART */
	struct sbuf manifest;       /* multipart part "manifest" */
	char *zip_path;             /* multipart part "model_definition", temp file */
	int zip_fd;
	uint64_t received;
	struct objects_put *put;    /* BODY_OBJECT */
	int64_t start_ns;           /* mono_ns() at the first callback, for the latency histogram */
	unsigned int status;        /* of the response queued; 0 if none was */
	int failed;                 /* a response was already decided */
	int fail_status;
	char fail_msg[1024];
	const char *fail_code;
};

struct api_server {
	struct trainer *t;
	struct MHD_Daemon *d;
	struct serve *serve;
	char *own;                  /* a deployment's own port: its name (NULL on the main port) */
	struct sockaddr_in addr;    /* the main port's address (own ports use its host) */
	uint64_t max_upload;
	uint64_t max_predict_body;
	char *tmp_dir;
};

/* Responses: each queues one and returns MHD's result. */
/* Adds Content-Type (if non-NULL) and the CORS header, queues resp and releases it. */
enum MHD_Result reply_queue(struct request *r, unsigned int status, struct MHD_Response *resp,
			    const char *content_type);
enum MHD_Result reply_json(struct request *r, unsigned int status, json_t *body); /* steals body */
enum MHD_Result reply_error(struct request *r, unsigned int status, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Maps a WEFT_E* code to an HTTP status. */
unsigned int http_status_for(int weft_code);
enum MHD_Result reply_err(struct request *r, const struct weft_err *e, const char *fcode);
const char *req_arg(struct request *r, const char *name);

/* v1.c: route handlers */
enum MHD_Result v1_dispatch(struct request *r);
/* Decides the route from method + segments; 0 if found, else sets r->failed. */
void v1_route(struct request *r);
/* Whether the matched route takes a body of which kind. */
enum body_kind v1_body_kind(const struct request *r);
int v1_route_needs_auth(const struct request *r);
/* Whether the route accepts a deployment's OAuth token (prediction routes). */
int v1_route_deploy_token(const struct request *r);
/* An error answer in the request's protocol (r->protocol). */
enum MHD_Result reply_proto_error(struct request *r, unsigned int status, const char *msg);
/* serving.c: the deployment and prediction routes */
enum MHD_Result serving_dispatch(struct request *r);
/* Whether the route accepts a job's own token (POST /v1/logs/{id}/emetrics). */
int v1_route_job_token(const struct request *r);

#endif

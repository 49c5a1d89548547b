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
#include <stdint.h>

enum body_kind { BODY_NONE, BODY_JSON, BODY_MULTIPART, BODY_OBJECT };

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
	uint64_t max_upload;
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
/* Whether the route accepts a job's own token (POST /v1/logs/{id}/emetrics). */
int v1_route_job_token(const struct request *r);

#endif

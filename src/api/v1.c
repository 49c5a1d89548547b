/* v1.c - route table and handlers: FfDL's /v1 REST API (models, logs) and
 * weft's additions (users, data, health, metrics). Handlers translate HTTP to trainer
 * calls and back; no job logic lives here. */
#include "api/metrics.h"
#include "api/openapi.h"
#include "api/request.h"
#include "auth/auth.h"
#include "tds/emstore.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/timeutil.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>



/* Fixed names for the route label of weft_http_request_duration_seconds: never the
 * raw URL, so the number of label values stays bounded. */
static const char *const route_names[R_COUNT] = {
	[R_NONE] = "other",
	[R_HEALTH] = "health",
	[R_OPENAPI] = "openapi",
	[R_MODELS_CREATE] = "models_create",
	[R_MODELS_LIST] = "models_list",
	[R_MODEL_GET] = "models_get",
	[R_MODEL_PATCH] = "models_patch",
	[R_MODEL_DELETE] = "models_delete",
	[R_MODEL_DEFINITION] = "models_definition",
	[R_MODEL_TRAINED] = "models_trained_model",
	[R_LOGLINES] = "logs_loglines",
	[R_EMETRICS] = "logs_emetrics",
	[R_EMETRICS_POST] = "logs_emetrics_post",
	[R_MODEL_METRICS] = "models_metrics",
	[R_USERS_CREATE] = "users_create",
	[R_DATA_PUT] = "data_put",
	[R_DATA_LIST] = "data_list",
	[R_METRICS] = "metrics",
	[R_DEPLOY_CREATE] = "deployments_create",
	[R_DEPLOY_LIST] = "deployments_list",
	[R_DEPLOY_GET] = "deployments_get",
	[R_DEPLOY_DELETE] = "deployments_delete",
	[R_SELDON_PREDICT] = "seldon_predictions",
	[R_SELDON_FEEDBACK] = "seldon_feedback",
	[R_SELDON_META] = "seldon_metadata",
	[R_V2_LIVE] = "v2_health_live",
	[R_V2_READY] = "v2_health_ready",
	[R_V2_SERVER] = "v2_server",
	[R_V2_MODEL] = "v2_model",
	[R_V2_MODEL_READY] = "v2_model_ready",
	[R_V2_INFER] = "v2_infer",
	[R_OAUTH_TOKEN] = "oauth_token",
};

const char *v1_route_name(int route)
{
	return route > R_NONE && route < R_COUNT && route_names[route] ? route_names[route] : "other";
}

static int is(const struct request *r, int i, const char *s)
{
	return i < r->n_seg && r->seg[i] && !strcmp(r->seg[i], s);
}

void v1_route(struct request *r)
{
	const char *m = r->method;
	int n = r->n_seg;
	int get = !strcmp(m, "GET") || !strcmp(m, "HEAD");
	r->route = R_NONE;
	int known_path = 1;
	if (r->srv->own) { /* a deployment's own port: Seldon's paths without the prefix, and v2 */
		r->dep = r->srv->own;
		if (n == 3 && is(r, 0, "api") && is(r, 1, "v1.0") && is(r, 2, "predictions")) {
			r->protocol = PROTO_SELDON;
			r->route = !strcmp(m, "POST") ? R_SELDON_PREDICT : R_NONE;
			goto done;
		} else if (n == 3 && is(r, 0, "api") && is(r, 1, "v1.0") && is(r, 2, "feedback")) {
			r->protocol = PROTO_SELDON;
			r->route = !strcmp(m, "POST") ? R_SELDON_FEEDBACK : R_NONE;
			goto done;
		} else if ((n == 3 || n == 4) && is(r, 0, "api") && is(r, 1, "v1.0") && is(r, 2, "metadata")) {
			r->protocol = PROTO_SELDON;
			r->route = get ? R_SELDON_META : R_NONE;
			goto done;
		} else if (n >= 3 && is(r, 0, "v2") && is(r, 1, "models") && !is(r, 2, r->srv->own)) {
			r->protocol = PROTO_OIP; /* only its own model on a deployment's port */
			known_path = 0;
			goto done;
		} else if (!(n >= 1 && is(r, 0, "v2")) && !(n == 1 && (is(r, 0, "health") || is(r, 0, "metrics")))) {
			r->protocol = PROTO_SELDON;
			known_path = 0;
			goto done;
		}
	}
	if (n == 1 && is(r, 0, "health"))
		r->route = get ? R_HEALTH : R_NONE;
	else if (n == 1 && is(r, 0, "metrics"))
		r->route = get ? R_METRICS : R_NONE;
	else if (n == 2 && is(r, 0, "v1") && is(r, 1, "openapi.json"))
		r->route = get ? R_OPENAPI : R_NONE;
	else if (n == 2 && is(r, 0, "v1") && is(r, 1, "models"))
		r->route = !strcmp(m, "POST") ? R_MODELS_CREATE : get ? R_MODELS_LIST : R_NONE;
	else if (n == 3 && is(r, 0, "v1") && is(r, 1, "models"))
		r->route = get ? R_MODEL_GET : !strcmp(m, "PATCH") ? R_MODEL_PATCH : !strcmp(m, "DELETE") ? R_MODEL_DELETE : R_NONE;
	else if (n == 4 && is(r, 0, "v1") && is(r, 1, "models") && is(r, 3, "definition"))
		r->route = get ? R_MODEL_DEFINITION : R_NONE;
	else if (n == 4 && is(r, 0, "v1") && is(r, 1, "models") && is(r, 3, "trained_model"))
		r->route = get ? R_MODEL_TRAINED : R_NONE;
	else if (n == 4 && is(r, 0, "v1") && is(r, 1, "models") && is(r, 3, "metrics"))
		r->route = get ? R_MODEL_METRICS : R_NONE;
	else if (n == 4 && is(r, 0, "v1") && is(r, 1, "logs") && is(r, 3, "loglines"))
		r->route = get ? R_LOGLINES : R_NONE;
	else if (n == 4 && is(r, 0, "v1") && is(r, 1, "logs") && is(r, 3, "emetrics"))
		r->route = get ? R_EMETRICS : !strcmp(m, "POST") ? R_EMETRICS_POST : R_NONE;
	else if (n == 2 && is(r, 0, "v1") && is(r, 1, "users"))
		r->route = !strcmp(m, "POST") ? R_USERS_CREATE : R_NONE;
	else if (n == 4 && is(r, 0, "v1") && is(r, 1, "data"))
		r->route = !strcmp(m, "PUT") ? R_DATA_PUT : R_NONE;
	else if (n == 3 && is(r, 0, "v1") && is(r, 1, "data"))
		r->route = get ? R_DATA_LIST : R_NONE;
	else if (n == 2 && is(r, 0, "v1") && is(r, 1, "deployments"))
		r->route = !strcmp(m, "POST") ? R_DEPLOY_CREATE : get ? R_DEPLOY_LIST : R_NONE;
	else if (n == 3 && is(r, 0, "v1") && is(r, 1, "deployments"))
		r->route = get ? R_DEPLOY_GET : !strcmp(m, "DELETE") ? R_DEPLOY_DELETE : R_NONE;
	else if (n >= 5 && is(r, 0, "seldon") && is(r, 3, "api") && is(r, 4, "v1.0")) {
		r->protocol = PROTO_SELDON;
		r->dep_ns = r->seg[1];
		r->dep = r->seg[2];
		if (n == 6 && is(r, 5, "predictions"))
			r->route = !strcmp(m, "POST") ? R_SELDON_PREDICT : R_NONE;
		else if (n == 6 && is(r, 5, "feedback"))
			r->route = !strcmp(m, "POST") ? R_SELDON_FEEDBACK : R_NONE;
		else if ((n == 6 || n == 7) && is(r, 5, "metadata"))
			r->route = get ? R_SELDON_META : R_NONE;
		else
			known_path = 0;
	} else if (n >= 1 && is(r, 0, "v2")) {
		r->protocol = PROTO_OIP;
		if (n == 1)
			r->route = get ? R_V2_SERVER : R_NONE;
		else if (n == 3 && is(r, 1, "health") && is(r, 2, "live"))
			r->route = get ? R_V2_LIVE : R_NONE;
		else if (n == 3 && is(r, 1, "health") && is(r, 2, "ready"))
			r->route = get ? R_V2_READY : R_NONE;
		else if (is(r, 1, "models") && (n == 3 || (n == 5 && is(r, 3, "versions"))))
			r->route = get ? R_V2_MODEL : R_NONE;
		else if (is(r, 1, "models") && ((n == 4 && is(r, 3, "ready")) || (n == 6 && is(r, 5, "ready"))))
			r->route = get ? R_V2_MODEL_READY : R_NONE;
		else if (is(r, 1, "models") && ((n == 4 && is(r, 3, "infer")) || (n == 6 && is(r, 5, "infer"))))
			r->route = !strcmp(m, "POST") ? R_V2_INFER : R_NONE;
		else
			known_path = 0;
	} else if (n == 2 && is(r, 0, "oauth") && is(r, 1, "token"))
		r->route = !strcmp(m, "POST") ? R_OAUTH_TOKEN : R_NONE;
	else
		known_path = 0;
done:
	if (r->route != R_NONE)
		return;
	r->failed = 1;
	if (known_path) {
		r->fail_status = 405;
		snprintf(r->fail_msg, sizeof r->fail_msg, "%s is not allowed on %s", m, r->url);
	} else {
		r->fail_status = 404;
		snprintf(r->fail_msg, sizeof r->fail_msg, "no such endpoint: %s %s (see docs/api.md)", m, r->url);
	}
}

int v1_route_needs_auth(const struct request *r)
{
	switch (r->route) {
	case R_HEALTH:
	case R_OPENAPI:
	case R_METRICS:
	case R_V2_LIVE:
	case R_V2_READY:
	case R_V2_SERVER:
	case R_OAUTH_TOKEN: /* checks the deployment's oauth_key and oauth_secret itself */
		return 0;
	default:
		return 1;
	}
}

int v1_route_deploy_token(const struct request *r)
{
	switch (r->route) {
	case R_SELDON_PREDICT:
	case R_SELDON_FEEDBACK:
	case R_SELDON_META:
	case R_V2_MODEL:
	case R_V2_MODEL_READY:
	case R_V2_INFER:
		return 1;
	default:
		return 0;
	}
}

int v1_route_job_token(const struct request *r)
{
	return r->route == R_EMETRICS_POST;
}

enum body_kind v1_body_kind(const struct request *r)
{
	switch (r->route) {
	case R_MODELS_CREATE: return BODY_MULTIPART;
	case R_SELDON_PREDICT:
	case R_SELDON_FEEDBACK:
	case R_V2_INFER:
	case R_DEPLOY_CREATE:
		return BODY_PREDICT;
	case R_EMETRICS_POST:
	case R_MODEL_PATCH:
	case R_USERS_CREATE: return BODY_JSON;
	case R_DATA_PUT: return BODY_OBJECT;
	default: return BODY_NONE;
	}
}

static enum MHD_Result do_health(struct request *r)
{
	return reply_json(r, 200, json_pack("{s:s, s:s, s:b, s:s}", "status", "ok", "version", WEFT_VERSION,
					    "limits_enforced", r->t->limits_enforced, "cgroups", r->t->cgroup_why));
}

/* Prometheus scrapes this without credentials, as it does /health. */
static enum MHD_Result do_metrics(struct request *r)
{
	struct sbuf out = SBUF_INIT;
	struct weft_err e;
	if (metrics_scrape(r->t, &out, &e)) {
		sb_release(&out);
		return reply_err(r, &e, NULL);
	}
	size_t len = out.len;
	char *text = sb_detach(&out);
	struct MHD_Response *resp = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
	return reply_queue(r, 200, resp, "text/plain; version=0.0.4; charset=utf-8");
}

static enum MHD_Result do_openapi(struct request *r)
{
	struct MHD_Response *resp =
		MHD_create_response_from_buffer(openapi_json_len, (void *)openapi_json, MHD_RESPMEM_PERSISTENT);
	return reply_queue(r, 200, resp, "application/json");
}

static enum MHD_Result do_create(struct request *r)
{
	if (!r->manifest.buf)
		return reply_error(r, 400, "C101", "the 'manifest' part is missing: send the manifest YAML as "
						   "multipart field 'manifest'");
	if (r->zip_fd >= 0) {
		close(r->zip_fd);
		r->zip_fd = -1;
	}
	char id[32];
	const char *fcode = "";
	struct weft_err e;
	int rc = trainer_create_job(r->t, &r->who, r->manifest.buf, r->manifest.len, r->zip_path, id, &fcode, &e);
	if (rc) {
		unsigned st = rc == WEFT_EINVAL ? 400 : http_status_for(rc);
		return reply_error(r, st, fcode, "%s", e.msg);
	}
	free(r->zip_path); /* moved into the job directory */
	r->zip_path = NULL;
	char loc[64];
	snprintf(loc, sizeof loc, "/v1/models/%s", id);
	char *text = xasprintf("{\"model_id\":\"%s\",\"location\":\"%s\"}\n", id, loc);
	struct MHD_Response *resp = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
	MHD_add_response_header(resp, "Location", loc);
	return reply_queue(r, 201, resp, "application/json");
}

static enum MHD_Result do_get(struct request *r)
{
	json_t *m;
	struct weft_err e;
	if (trainer_get_job(r->t, &r->who, r->seg[2], 1, &m, &e))
		return reply_err(r, &e, NULL);
	return reply_json(r, 200, m);
}

static enum MHD_Result do_list(struct request *r)
{
	json_t *m;
	struct weft_err e;
	if (trainer_list_jobs(r->t, &r->who, &m, &e))
		return reply_err(r, &e, NULL);
	return reply_json(r, 200, m);
}

static json_t *parse_body(struct request *r, char *why, size_t size)
{
	json_error_t je;
	json_t *j = json_loadb(sb_str(&r->body), r->body.len, 0, &je);
	if (!j) {
		snprintf(why, size, "request body is not valid JSON: %s (line %d, column %d)", je.text, je.line,
			 je.column);
		return NULL;
	}
	if (!json_is_object(j) && !(json_is_array(j) && r->route == R_EMETRICS_POST)) {
		json_decref(j);
		snprintf(why, size, "request body must be a JSON object");
		return NULL;
	}
	return j;
}

static enum MHD_Result do_patch(struct request *r)
{
	char why[512];
	json_t *j = parse_body(r, why, sizeof why);
	if (!j)
		return reply_error(r, 400, NULL, "%s", why);
	const char *s = json_string_value(json_object_get(j, "status"));
	if (!s || (strcmp(s, "halt") && strcmp(s, "resume"))) {
		json_decref(j);
		return reply_error(r, 400, NULL, "status must be \"halt\" or \"resume\"");
	}
	struct weft_err e;
	int rc = trainer_request(r->t, &r->who, r->seg[2], s, &e);
	json_decref(j);
	if (rc)
		return reply_err(r, &e, NULL);
	return reply_json(r, 202, json_pack("{s:s}", "model_id", r->seg[2]));
}

static enum MHD_Result do_delete(struct request *r)
{
	struct weft_err e;
	if (trainer_request(r->t, &r->who, r->seg[2], "delete", &e))
		return reply_err(r, &e, NULL);
	return reply_json(r, 200, json_pack("{s:s}", "model_id", r->seg[2]));
}

static enum MHD_Result reply_file(struct request *r, const char *path, const char *filename, int unlink_after)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return reply_error(r, errno == ENOENT ? 404 : 500, NULL, "cannot open %s: %s", filename,
				   strerror(errno));
	if (unlink_after)
		unlink(path);
	struct stat st;
	fstat(fd, &st);
	struct MHD_Response *resp = MHD_create_response_from_fd((uint64_t)st.st_size, fd);
	char cd[128];
	snprintf(cd, sizeof cd, "attachment; filename=\"%s\"", filename);
	MHD_add_response_header(resp, "Content-Disposition", cd);
	return reply_queue(r, 200, resp, "application/zip");
}

static enum MHD_Result do_definition(struct request *r)
{
	char *path;
	struct weft_err e;
	if (trainer_definition_path(r->t, &r->who, r->seg[2], &path, &e))
		return reply_err(r, &e, NULL);
	char name[64];
	snprintf(name, sizeof name, "%s-definition.zip", r->seg[2]);
	enum MHD_Result ret = reply_file(r, path, name, 0);
	free(path);
	return ret;
}

static enum MHD_Result do_trained(struct request *r)
{
	char *dir;
	struct weft_err e;
	if (trainer_results_dir(r->t, &r->who, r->seg[2], &dir, &e))
		return reply_err(r, &e, NULL);
	char *tmp = xasprintf("%s/trained-XXXXXX", r->srv->tmp_dir);
	int fd = mkstemp(tmp);
	if (fd < 0) {
		free(dir);
		free(tmp);
		return reply_error(r, 500, NULL, "cannot create a temporary file: %s", strerror(errno));
	}
	close(fd);
	enum MHD_Result ret;
	if (zip_create_from_dir(dir, NULL, tmp, &e)) {
		unlink(tmp);
		ret = reply_error(r, 500, "S303", "%s", e.msg);
	} else {
		char name[64];
		snprintf(name, sizeof name, "%s.zip", r->seg[2]);
		ret = reply_file(r, tmp, name, 1);
	}
	free(dir);
	free(tmp);
	return ret;
}

/* --- log following: a chunked response fed by a reader callback --- */

/* Whether the client of conn has closed its side. The reader below may wait for
 * hours without writing, and MHD only notices a gone client when a write fails,
 * so a follower checks the socket itself while it waits. */
static int client_gone(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	if (!ci)
		return 0;
	char b;
	ssize_t n = recv(ci->connect_fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
	return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

struct follower {
	struct trainer *t;
	struct MHD_Connection *conn;
	struct principal who;
	char id[32];
	int emetrics;          /* following records, not lines */
	int sse;               /* Server-Sent Events, not newline-delimited JSON */
	struct tds_query q;
	int64_t last;          /* last rindex sent */
	uint64_t seq;
	struct sbuf buf;       /* pending bytes */
	size_t off;
	int ended;             /* the end was queued */
};

static ssize_t follow_read(void *cls, uint64_t pos, char *out, size_t max)
{
	(void)pos;
	struct follower *f = cls;
	for (;;) {
		if (f->off < f->buf.len) {
			size_t n = f->buf.len - f->off;
			if (n > max)
				n = max;
			memcpy(out, f->buf.buf + f->off, n);
			f->off += n;
			return (ssize_t)n;
		}
		sb_reset(&f->buf);
		f->off = 0;
		if (f->ended || f->t->stopping)
			return MHD_CONTENT_READER_END_OF_STREAM;
		uint64_t seq = f->seq;
		int ended;
		struct weft_err e;
		if (trainer_job_ended(f->t, &f->who, f->id, &ended, &e))
			return MHD_CONTENT_READER_END_OF_STREAM; /* deleted while following */
		json_t *arr;
		if ((f->emetrics ? tds_emetrics : tds_loglines)(f->t, f->id, f->who.name, &f->q, f->last, &arr, &e))
			return MHD_CONTENT_READER_END_WITH_ERROR;
		size_t i;
		json_t *ll;
		json_array_foreach(arr, i, ll)
		{
			char *s = json_dumps(ll, JSON_COMPACT);
			f->last = json_integer_value(json_object_get(json_object_get(ll, "meta"), "rindex"));
			if (f->sse)
				sb_addf(&f->buf, "id: %lld\ndata: %s\n\n", (long long)f->last, s);
			else {
				sb_adds(&f->buf, s);
				sb_addc(&f->buf, '\n');
			}
			free(s);
		}
		size_t got = json_array_size(arr);
		json_decref(arr);
		if (got)
			continue;
		/* nothing new: the status was read before the rows, so a terminal
		 * status here means every row is already stored and sent */
		if (ended) {
			if (!f->sse)
				return MHD_CONTENT_READER_END_OF_STREAM;
			sb_adds(&f->buf, "event: end\ndata: {}\n\n");
			f->ended = 1;
			continue;
		}
		if (client_gone(f->conn))
			return MHD_CONTENT_READER_END_WITH_ERROR;
		f->seq = trainer_wait_logs(f->t, seq, 1000);
	}
}

static void follow_free(void *cls)
{
	struct follower *f = cls;
	sb_release(&f->buf);
	free(f);
}

static const char *query_arg(void *ctx, const char *name)
{
	return req_arg(ctx, name);
}

static int wants_sse(struct request *r)
{
	const char *accept = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Accept");
	return accept && strstr(accept, "text/event-stream");
}

/* GET /v1/logs/{id}/loglines and /v1/logs/{id}/emetrics, with follow. */
static enum MHD_Result do_logs(struct request *r, int emetrics)
{
	const char *id = r->seg[2];
	char status[32];
	struct weft_err e;
	if (trainer_job_status(r->t, &r->who, id, status, sizeof status, &e))
		return reply_err(r, &e, NULL);
	struct tds_query q;
	if (tds_parse_query(query_arg, r, &q, &e))
		return reply_err(r, &e, NULL);
	if (emetrics && q.search_type != TDS_SEARCH_NONE)
		return reply_error(r, 400, NULL, "search: only log lines can be searched (GET /v1/logs/%s/loglines)", id);
	const char *follow = req_arg(r, "follow");
	if (follow && (!strcmp(follow, "true") || !strcmp(follow, "1"))) {
		struct follower *f = xcalloc(1, sizeof *f);
		f->t = r->t;
		f->conn = r->conn;
		f->who = r->who;
		f->emetrics = emetrics;
		f->sse = wants_sse(r);
		snprintf(f->id, sizeof f->id, "%s", id);
		f->q = q;
		tds_follow_query(r->t, id, emetrics, &f->q, &f->last);
		pthread_mutex_lock(&r->t->logs_lock);
		f->seq = r->t->logs_seq;
		pthread_mutex_unlock(&r->t->logs_lock);
		struct MHD_Response *resp =
			MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 64 * 1024, follow_read, f, follow_free);
		MHD_add_response_header(resp, "Cache-Control", "no-cache");
		return reply_queue(r, 200, resp, f->sse ? "text/event-stream" : "application/x-ndjson");
	}
	json_t *arr;
	if ((emetrics ? tds_emetrics : tds_loglines)(r->t, id, r->who.name, &q, 0, &arr, &e))
		return reply_err(r, &e, NULL);
	return reply_json(r, 200, json_pack("{s:o}", "models", arr));
}

/* POST /v1/logs/{id}/emetrics: records reported by a learner (with its job
 * token) or by the job's owner. */
static enum MHD_Result do_emetrics_post(struct request *r)
{
	const char *id = r->seg[2];
	struct weft_err e;
	if (!r->job_token) {
		char status[32];
		if (trainer_job_status(r->t, &r->who, id, status, sizeof status, &e))
			return reply_err(r, &e, NULL);
	}
	char why[512];
	json_t *j = parse_body(r, why, sizeof why);
	if (!j)
		return reply_error(r, 400, NULL, "%s", why);
	int added = 0;
	int rc = tds_post_emetrics(r->t, id, j, r->job_token, &added, &e);
	json_decref(j);
	if (rc)
		return reply_err(r, &e, NULL);
	return reply_json(r, 201, json_pack("{s:i}", "added", added));
}

/* GET /v1/models/{id}/metrics: each metric's latest value, range and history. */
static enum MHD_Result do_model_metrics(struct request *r)
{
	const char *id = r->seg[2];
	char status[32];
	struct weft_err e;
	if (trainer_job_status(r->t, &r->who, id, status, sizeof status, &e))
		return reply_err(r, &e, NULL);
	long points = 200;
	const char *p = req_arg(r, "points");
	if (p && *p) {
		char *end;
		errno = 0;
		points = strtol(p, &end, 10);
		if (errno || *end || points < 1 || points > 10000)
			return reply_error(r, 400, NULL, "points: '%s' is not an integer from 1 to 10000", p);
	}
	json_t *out;
	if (tds_model_metrics(r->t, id, (int)points, &out, &e))
		return reply_err(r, &e, NULL);
	return reply_json(r, 200, out);
}

static enum MHD_Result do_users_create(struct request *r)
{
	if (!r->who.is_admin)
		return reply_error(r, 403, NULL, "only an admin can add users (you are '%s')", r->who.name);
	char why[512];
	json_t *j = parse_body(r, why, sizeof why);
	if (!j)
		return reply_error(r, 400, NULL, "%s", why);
	const char *name = json_string_value(json_object_get(j, "name"));
	if (!name) {
		json_decref(j);
		return reply_error(r, 400, NULL, "field 'name' (a string) is required");
	}
	char *token = NULL;
	struct weft_err e;
	int rc = auth_add_user(r->t, name, 0, &token, &e);
	enum MHD_Result ret;
	if (rc)
		ret = reply_err(r, &e, NULL);
	else {
		log_info("user %s added by %s", name, r->who.name);
		ret = reply_json(r, 201, json_pack("{s:s, s:s}", "name", name, "token", token));
	}
	free(token);
	json_decref(j);
	return ret;
}

static enum MHD_Result do_data_put(struct request *r)
{
	struct weft_err e;
	struct objects_put *p = r->put;
	r->put = NULL;
	if (objects_put_commit(p, &e))
		return reply_err(r, &e, NULL);
	return reply_json(r, 201, json_pack("{s:s, s:s, s:I}", "bucket", r->seg[2], "key", r->seg[3], "size",
					    (json_int_t)r->received));
}

static enum MHD_Result do_data_list(struct request *r)
{
	json_t *objs;
	struct weft_err e;
	if (objects_valid_bucket(r->seg[2], &e) ||
	    objects_list(r->t->objects_root, r->seg[2], req_arg(r, "prefix"), &objs, &e))
		return reply_err(r, &e, NULL);
	return reply_json(r, 200, json_pack("{s:s, s:o}", "bucket", r->seg[2], "objects", objs));
}

enum MHD_Result v1_dispatch(struct request *r)
{
	switch ((enum route)r->route) {
	case R_HEALTH: return do_health(r);
	case R_OPENAPI: return do_openapi(r);
	case R_MODELS_CREATE: return do_create(r);
	case R_MODELS_LIST: return do_list(r);
	case R_MODEL_GET: return do_get(r);
	case R_MODEL_PATCH: return do_patch(r);
	case R_MODEL_DELETE: return do_delete(r);
	case R_MODEL_DEFINITION: return do_definition(r);
	case R_MODEL_TRAINED: return do_trained(r);
	case R_LOGLINES: return do_logs(r, 0);
	case R_EMETRICS: return do_logs(r, 1);
	case R_EMETRICS_POST: return do_emetrics_post(r);
	case R_MODEL_METRICS: return do_model_metrics(r);
	case R_USERS_CREATE: return do_users_create(r);
	case R_DATA_PUT: return do_data_put(r);
	case R_DATA_LIST: return do_data_list(r);
	case R_METRICS: return do_metrics(r);
	case R_DEPLOY_CREATE:
	case R_DEPLOY_LIST:
	case R_DEPLOY_GET:
	case R_DEPLOY_DELETE:
	case R_SELDON_PREDICT:
	case R_SELDON_FEEDBACK:
	case R_SELDON_META:
	case R_V2_LIVE:
	case R_V2_READY:
	case R_V2_SERVER:
	case R_V2_MODEL:
	case R_V2_MODEL_READY:
	case R_V2_INFER:
	case R_OAUTH_TOKEN: return serving_dispatch(r);
	case R_NONE:
	case R_COUNT: break;
	}
	return reply_error(r, 404, NULL, "no such endpoint");
}

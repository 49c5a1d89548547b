/* http.c - HTTP transport for the API: libmicrohttpd daemon, request
 * lifecycle (authenticate and route on the first callback, stream the body
 * into memory, a temp file or the object store, dispatch on the last), and
 * the JSON/error reply helpers. Each request is timed from its first callback
 * to MHD's completion notice into weft_http_request_duration_seconds. */
#include "api/metrics.h"
#include "api/request.h"
#include "serve/oip.h"
#include "serve/seldon.h"
#include "auth/auth.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/timeutil.h"
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_JSON_BODY (1024 * 1024)
#define MAX_MANIFEST (1024 * 1024)

static const char *reason(unsigned int status)
{
	switch (status) {
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 410: return "Gone";
	case 413: return "Payload Too Large";
	case 415: return "Unsupported Media Type";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	default: return "Error";
	}
}

static void common_headers(struct MHD_Response *resp)
{
	MHD_add_response_header(resp, "Access-Control-Allow-Origin", "*");
}

enum MHD_Result reply_queue(struct request *r, unsigned int status, struct MHD_Response *resp,
			    const char *content_type)
{
	if (content_type)
		MHD_add_response_header(resp, "Content-Type", content_type);
	common_headers(resp);
	enum MHD_Result ret = MHD_queue_response(r->conn, status, resp);
	MHD_destroy_response(resp);
	if (ret == MHD_YES)
		r->status = status;
	return ret;
}

enum MHD_Result reply_json(struct request *r, unsigned int status, json_t *body)
{
	/* 15 digits: 0.989 stays 0.989 rather than 0.98899999999999999 */
	char *text = json_dumps(body, JSON_COMPACT | JSON_REAL_PRECISION(15));
	json_decref(body);
	if (!text)
		text = xstrdup("{}");
	size_t len = strlen(text);
	text = xrealloc(text, len + 2);
	text[len++] = '\n';
	struct MHD_Response *resp = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
	return reply_queue(r, status, resp, "application/json");
}

/* Replaces each byte that is not part of valid UTF-8 with '?': a message may quote
 * a URL or a value that is not UTF-8, or be cut inside a character by vsnprintf,
 * and jansson refuses such strings (the answer would lose its Error object). */
static void utf8_sanitize(char *s)
{
	unsigned char *p = (unsigned char *)s;
	while (*p) {
		size_t len = *p < 0x80 ? 1 : (*p & 0xE0) == 0xC0 ? 2 : (*p & 0xF0) == 0xE0 ? 3 : (*p & 0xF8) == 0xF0 ? 4 : 0;
		unsigned int cp = len == 1 ? *p : len == 2 ? *p & 0x1Fu : len == 3 ? *p & 0x0Fu : *p & 0x07u;
		size_t k = 1;
		for (; k < len && (p[k] & 0xC0) == 0x80; k++)
			cp = (cp << 6) | (p[k] & 0x3Fu);
		int ok = len && k == len && !(len == 2 && cp < 0x80) && !(len == 3 && cp < 0x800) &&
			 !(len == 4 && cp < 0x10000) && cp <= 0x10FFFF && !(cp >= 0xD800 && cp <= 0xDFFF);
		if (ok)
			p += len;
		else
			*p++ = '?';
	}
}

enum MHD_Result reply_error(struct request *r, unsigned int status, const char *code, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	utf8_sanitize(msg);
	json_t *body = json_pack("{s:i, s:s, s:s}", "code", (int)status, "error", reason(status), "description", msg);
	if (code && *code)
		json_object_set_new(body, "error_code", json_string(code));
	if (status >= 500)
		log_error("%s %s -> %u: %s", r->method, r->url, status, msg);
	return reply_json(r, status, body);
}

enum MHD_Result reply_proto_error(struct request *r, unsigned int status, const char *msg)
{
	struct sbuf sb = SBUF_INIT;
	if (r->protocol == PROTO_SELDON) {
		const char *reason = status == 413 ? SELDON_REASON_TOOBIG
				     : status == 401 ? "UNAUTHORIZED"
				     : status == 404 ? "NOT_FOUND"
				     : status < 500 ? SELDON_REASON_DATA
						    : "MICROSERVICE_INTERNAL_ERROR";
		seldon_status_body((int)status, reason, msg, &sb);
	} else {
		oip_error_body(msg, &sb);
	}
	size_t len = sb.len;
	struct MHD_Response *resp = MHD_create_response_from_buffer(len, sb_detach(&sb), MHD_RESPMEM_MUST_FREE);
	return reply_queue(r, status, resp, "application/json");
}

unsigned int http_status_for(int code)
{
	switch (code) {
	case WEFT_EINVAL: return 400;
	case WEFT_ENOTFOUND: return 404;
	case WEFT_EAUTH: return 401;
	case WEFT_EPERM: return 403;
	case WEFT_ECONFLICT: return 409;
	case WEFT_ETOOBIG: return 413;
	default: return 500;
	}
}

enum MHD_Result reply_err(struct request *r, const struct weft_err *e, const char *fcode)
{
	return reply_error(r, http_status_for(e->code), fcode, "%s", e->msg);
}

const char *req_arg(struct request *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

static void fail(struct request *r, unsigned int status, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void fail(struct request *r, unsigned int status, const char *code, const char *fmt, ...)
{
	if (r->failed)
		return;
	r->failed = 1;
	r->fail_status = (int)status;
	r->fail_code = code;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(r->fail_msg, sizeof r->fail_msg, fmt, ap);
	va_end(ap);
}

static void split_path(struct request *r, const char *url)
{
	const char *p = url;
	while (*p && r->n_seg < 8) {
		while (*p == '/')
			p++;
		if (!*p)
			break;
		const char *end = p;
		/* the object key of /v1/data/BUCKET/KEY keeps its slashes */
		if (r->n_seg == 3 && !strcmp(r->seg[0], "v1") && !strcmp(r->seg[1], "data"))
			end = p + strlen(p);
		else
			while (*end && *end != '/')
				end++;
		r->seg[r->n_seg++] = xstrndup(p, (size_t)(end - p));
		p = end;
	}
	if (*p && r->n_seg == 8)
		r->n_seg = 9; /* too deep: no route matches */
}

static enum MHD_Result post_iter(void *cls, enum MHD_ValueKind kind, const char *key, const char *filename,
				 const char *content_type, const char *transfer_encoding, const char *data,
				 uint64_t off, size_t size)
{
	(void)kind, (void)filename, (void)content_type, (void)transfer_encoding, (void)off;
	struct request *r = cls;
	if (!strcmp(key, "manifest")) {
		if (r->manifest.len + size > MAX_MANIFEST) {
			fail(r, 413, "C101", "manifest is larger than %d bytes", MAX_MANIFEST);
			return MHD_NO;
		}
		sb_add(&r->manifest, data, size);
		if (!r->manifest.buf)
			sb_add(&r->manifest, "", 0);
	} else if (!strcmp(key, "model_definition")) {
		if (r->zip_fd < 0) {
			r->zip_path = xasprintf("%s/upload-XXXXXX", r->srv->tmp_dir);
			r->zip_fd = mkstemp(r->zip_path);
			if (r->zip_fd < 0) {
				fail(r, 500, "S300", "cannot create a temporary file: %s", strerror(errno));
				free(r->zip_path);
				r->zip_path = NULL;
				return MHD_NO;
			}
		}
		r->received += size;
		if (r->received > r->srv->max_upload) {
			fail(r, 413, "C102", "model_definition is larger than the server's limit of %llu bytes",
			     (unsigned long long)r->srv->max_upload);
			return MHD_NO;
		}
		const char *p = data;
		size_t left = size;
		while (left) {
			ssize_t w = write(r->zip_fd, p, left);
			if (w < 0) {
				if (errno == EINTR)
					continue;
				fail(r, 500, "S300", "cannot store the upload: %s", strerror(errno));
				return MHD_NO;
			}
			p += w;
			left -= (size_t)w;
		}
	}
	/* other form fields are ignored, as FfDL ignores them */
	return MHD_YES;
}

static void request_free(struct request *r)
{
	for (int i = 0; i < r->n_seg && i < 8; i++)
		free(r->seg[i]);
	sb_release(&r->body);
	sb_release(&r->manifest);
	if (r->pp)
		MHD_destroy_post_processor(r->pp);
	if (r->zip_fd >= 0)
		close(r->zip_fd);
	if (r->zip_path) {
		unlink(r->zip_path);
		free(r->zip_path);
	}
	if (r->put)
		objects_put_abort(r->put);
	free(r);
}

static void completed(void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode toe)
{
	(void)cls, (void)conn, (void)toe;
	struct request *r = *con_cls;
	if (r && r->status) {
		char code[16];
		snprintf(code, sizeof code, "%u", r->status);
		metrics_observe("weft_http_request_duration_seconds", (double)(mono_ns() - r->start_ns) / 1e9,
				"route", v1_route_name(r->route), "code", code, NULL);
	}
	if (*con_cls)
		request_free(*con_cls);
	*con_cls = NULL;
}

static void begin(struct request *r)
{
	split_path(r, r->url);
	if (!strcmp(r->method, "OPTIONS"))
		return;
	v1_route(r);
	if (r->failed)
		return;
	if (v1_route_needs_auth(r)) {
		struct weft_err e;
		const char *authz = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Authorization");
		const char *wu = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "X-Watson-Userinfo");
		if (!wu)
			wu = req_arg(r, "watson-userinfo");
		if (authz && !strncmp(authz, "Bearer " AUTH_JOB_TOKEN_PREFIX, 7 + strlen(AUTH_JOB_TOKEN_PREFIX)) &&
		    v1_route_job_token(r)) {
			if (!auth_job_token_ok(r->t, r->seg[2], authz + 7)) {
				fail(r, 401, NULL, "this job token is not the token of job %s", r->seg[2]);
				return;
			}
			r->job_token = 1;
			r->authed = 1;
			snprintf(r->who.name, sizeof r->who.name, "job:%s", r->seg[2]);
		} else if (authz && !strncmp(authz, "Bearer wdep_", 12) && v1_route_deploy_token(r)) {
			r->deploy_token = authz + 7; /* checked against the deployment by its handler */
			r->authed = 1;
			snprintf(r->who.name, sizeof r->who.name, "oauth");
		} else if (auth_check(r->t, authz, wu, &r->who, &e)) {
			fail(r, 401, NULL, "%s", e.msg);
			return;
		}
		r->authed = 1;
	}
	r->body_kind = v1_body_kind(r);
	if (r->body_kind == BODY_PREDICT) {
		const char *cl = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Content-Length");
		if (cl && strtoull(cl, NULL, 10) > r->srv->max_predict_body) {
			fail(r, 413, NULL, "request body of %s bytes is larger than this server's limit of %llu bytes "
					   "(weft server --max-predict-body)",
			     cl, (unsigned long long)r->srv->max_predict_body);
			return;
		}
	}
	if (r->body_kind == BODY_MULTIPART) {
		r->pp = MHD_create_post_processor(r->conn, 64 * 1024, post_iter, r);
		if (!r->pp)
			fail(r, 400, "C101",
			     "send the job as multipart/form-data with parts 'manifest' and 'model_definition'");
	} else if (r->body_kind == BODY_OBJECT) {
		struct weft_err e;
		if (objects_valid_bucket(r->seg[2], &e) || objects_valid_key(r->seg[3], &e) ||
		    objects_bucket_create(r->t->objects_root, r->seg[2], &e) ||
		    objects_put_begin(r->t->objects_root, r->seg[2], r->seg[3], &r->put, &e))
			fail(r, http_status_for(e.code), NULL, "%s", e.msg);
	}
}

static void body_chunk(struct request *r, const char *data, size_t size)
{
	if (r->failed)
		return;
	switch (r->body_kind) {
	case BODY_NONE:
		break;
	case BODY_JSON:
		if (r->body.len + size > MAX_JSON_BODY)
			fail(r, 413, NULL, "request body is larger than %d bytes", MAX_JSON_BODY);
		else
			sb_add(&r->body, data, size);
		break;
	case BODY_PREDICT:
		if (r->body.len + size > r->srv->max_predict_body)
			fail(r, 413, NULL, "request body is larger than this server's limit of %llu bytes "
					   "(weft server --max-predict-body)",
			     (unsigned long long)r->srv->max_predict_body);
		else
			sb_add(&r->body, data, size);
		break;
	case BODY_MULTIPART:
		if (MHD_post_process(r->pp, data, size) != MHD_YES)
			fail(r, 400, "C101", "malformed multipart/form-data body");
		break;
	case BODY_OBJECT: {
		r->received += size;
		if (r->received > r->srv->max_upload) {
			fail(r, 413, NULL, "object is larger than the server's limit of %llu bytes",
			     (unsigned long long)r->srv->max_upload);
			break;
		}
		struct weft_err e;
		if (r->put && objects_put_write(r->put, data, size, &e))
			fail(r, http_status_for(e.code), NULL, "%s", e.msg);
		break;
	}
	}
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
			       const char *version, const char *upload_data, size_t *upload_data_size,
			       void **con_cls)
{
	(void)version;
	struct api_server *s = cls;
	struct request *r = *con_cls;
	if (!r) {
		r = xcalloc(1, sizeof *r);
		r->start_ns = mono_ns();
		r->srv = s;
		r->t = s->t;
		r->conn = conn;
		r->method = method;
		r->url = url;
		r->zip_fd = -1;
		*con_cls = r;
		begin(r);
		if (r->failed) {
			/* answer at once; MHD closes the connection instead of reading a body we refuse */
			r->body_kind = BODY_NONE;
			if (r->protocol != PROTO_FFDL)
				return reply_proto_error(r, (unsigned)r->fail_status, r->fail_msg);
			return reply_error(r, (unsigned)r->fail_status, r->fail_code, "%s", r->fail_msg);
		}
		return MHD_YES;
	}
	if (*upload_data_size) {
		body_chunk(r, upload_data, *upload_data_size);
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (r->pp) {
		/* the body is complete: a part that never reached its closing boundary was
		 * delivered only in part, so the whole request is refused */
		enum MHD_Result whole = MHD_destroy_post_processor(r->pp);
		r->pp = NULL;
		if (whole != MHD_YES)
			fail(r, 400, "C101", "malformed multipart/form-data body: it ends inside a part (no closing boundary)");
	}
	if (r->failed) {
		if (r->protocol != PROTO_FFDL)
			return reply_proto_error(r, (unsigned)r->fail_status, r->fail_msg);
		return reply_error(r, (unsigned)r->fail_status, r->fail_code, "%s", r->fail_msg);
	}
	if (!strcmp(method, "OPTIONS")) {
		struct MHD_Response *resp = MHD_create_response_from_buffer(0, "", MHD_RESPMEM_PERSISTENT);
		common_headers(resp);
		MHD_add_response_header(resp, "Access-Control-Allow-Methods", "GET, POST, PUT, PATCH, DELETE, OPTIONS");
		MHD_add_response_header(resp, "Access-Control-Allow-Headers",
					"Authorization, Content-Type, X-Watson-Userinfo");
		enum MHD_Result ret = MHD_queue_response(conn, 204, resp);
		MHD_destroy_response(resp);
		if (ret == MHD_YES)
			r->status = 204;
		return ret;
	}
	return v1_dispatch(r);
}

static struct MHD_Daemon *listen_on(struct api_server *s, struct sockaddr_in *sa)
{
	return MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL |
					MHD_USE_ERROR_LOG,
				ntohs(sa->sin_port), NULL, NULL, handler, s, MHD_OPTION_SOCK_ADDR, sa,
				MHD_OPTION_NOTIFY_COMPLETED, completed, s, MHD_OPTION_CONNECTION_TIMEOUT,
				(unsigned int)300, MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned int)1,
				MHD_OPTION_CONNECTION_LIMIT, (unsigned int)1000, MHD_OPTION_END);
}

int api_open_deploy_port(void *main_server, const char *name, int port, void **handle, struct weft_err *e)
{
	struct api_server *m = main_server;
	struct api_server *s = xcalloc(1, sizeof *s);
	*s = *m;
	s->own = xstrdup(name);
	s->tmp_dir = xstrdup(m->tmp_dir);
	struct sockaddr_in sa = m->addr;
	sa.sin_port = htons((uint16_t)port);
	s->d = listen_on(s, &sa);
	if (!s->d) {
		free(s->own);
		free(s->tmp_dir);
		free(s);
		return err_set(e, WEFT_ECONFLICT, "spec.port: cannot listen on port %d (is it in use?)", port);
	}
	log_info("deployment %s: its own port is %d", name, port);
	*handle = s;
	return 0;
}

void api_close_deploy_port(void *handle)
{
	struct api_server *s = handle;
	if (!s)
		return;
	MHD_stop_daemon(s->d);
	free(s->own);
	free(s->tmp_dir);
	free(s);
}

int api_start(struct trainer *t, const struct api_opts *o, struct api_server **out, struct weft_err *e)
{
	struct sockaddr_in sa;
	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)o->port);
	const char *host = o->host && *o->host ? o->host : "127.0.0.1";
	if (!strcmp(host, "localhost"))
		host = "127.0.0.1";
	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
		return err_set(e, WEFT_EINVAL, "--listen: '%s' is not an IPv4 address", host);
	struct api_server *s = xcalloc(1, sizeof *s);
	s->t = t;
	s->max_upload = o->max_upload ? o->max_upload : (4ULL << 30);
	s->max_predict_body = o->max_predict_body ? o->max_predict_body : (64ULL << 20);
	s->serve = o->serve;
	s->tmp_dir = fs_join(t->home, "tmp");
	/* uploads left by a server that crashed mid-request (one server per home) */
	fs_rm_rf(s->tmp_dir, NULL);
	int rc = fs_mkdir_p(s->tmp_dir, 0700, e);
	if (rc) {
		free(s->tmp_dir);
		free(s);
		return rc;
	}
	s->addr = sa;
	s->d = listen_on(s, &sa);
	if (!s->d) {
		free(s->tmp_dir);
		free(s);
		return err_set(e, WEFT_EIO, "cannot listen on %s:%d (is another server using the port?)", host,
			       o->port);
	}
	*out = s;
	return 0;
}

void api_stop(struct api_server *s)
{
	if (!s)
		return;
	MHD_stop_daemon(s->d);
	free(s->tmp_dir);
	free(s);
}

/* serving.c - the HTTP side of model serving: deployments over REST
 * (/v1/deployments), Seldon's protocol (/seldon/{ns}/{name}/api/v1.0/...),
 * the Open Inference Protocol v2 (/v2/...) and Seldon's OAuth token
 * endpoint. Protocol errors come back in each protocol's own shape. A
 * request is decoded, run by the predictor the traffic split picks, encoded,
 * counted, and copied to the shadow predictors on a background thread. */
#include "api/request.h"
#include "serve/deploy.h"
#include "serve/oip.h"
#include "serve/seldon.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/timeutil.h"
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_NUMEL (16 * 1024 * 1024)
#define MAX_SHADOWS_IN_FLIGHT 64

static enum MHD_Result reply_text(struct request *r, unsigned int status, struct sbuf *sb)
{
	size_t len = sb->len;
	struct MHD_Response *resp = MHD_create_response_from_buffer(len, len ? sb_detach(sb) : (void *)"",
								    len ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
	sb_release(sb);
	return reply_queue(r, status, resp, "application/json");
}

/* --- answering one request with one predictor (also used for shadows) --- */

struct answer {
	int status;
	struct sbuf body;
};

/* A 1-D numeric payload is one row. */
static void as_rows(struct wtensor *t)
{
	if (t->ndim == 1) {
		t->shape[1] = t->shape[0];
		t->shape[0] = 1;
		t->ndim = 2;
	}
}

static void seldon_fail(struct answer *a, int code, const char *msg)
{
	struct seldon_err err;
	seldon_err_from(&err, code, msg);
	a->status = err.http;
	seldon_error_body(&err, &a->body);
}

static void seldon_answer(struct deployment *d, struct predictor *pr, const char *body, size_t len,
			  struct answer *a)
{
	struct weft_err e;
	if (predictor_runtime(pr) == SPEC_RUNTIME_CUSTOM) {
		long st = 0;
		if (predictor_forward(pr, body, len, &a->body, &st, &e)) {
			sb_reset(&a->body);
			a->status = e.code == WEFT_ETOOBIG ? 502 : 503;
			seldon_status_body(a->status, "MICROSERVICE_UNAVAILABLE", e.msg, &a->body);
			return;
		}
		a->status = (int)st;
		if (st == 200) { /* add meta.puid and meta.requestPath, as for the native runtime */
			const struct spec_predictor *sp = deploy_spec_predictor(d, pr);
			struct seldon_node node = { sp->graph_name ? sp->graph_name : sp->name,
						    sp->image ? sp->image : "weft-custom" };
			struct sbuf ann = SBUF_INIT;
			struct seldon_err err;
			/* the request's puid, when it gave one, names the answer too */
			json_t *req = json_loadb(body, len, 0, NULL);
			const char *puid = json_string_value(json_object_get(json_object_get(req, "meta"), "puid"));
			int arc = seldon_annotate(a->body.buf, a->body.len, puid, &node, 1, &ann, &err);
			json_decref(req);
			if (arc == 0) {
				sb_release(&a->body);
				a->body = ann;
			} else {
				sb_release(&ann);
				sb_reset(&a->body);
				a->status = err.http;
				seldon_error_body(&err, &a->body);
			}
		}
		return;
	}
	struct seldon_msg m;
	struct seldon_err err;
	if (seldon_parse(body, len, MAX_NUMEL, &m, &err)) {
		a->status = err.http;
		seldon_error_body(&err, &a->body);
		return;
	}
	if (!m.numeric) {
		seldon_msg_free(&m);
		seldon_fail(a, WEFT_EINVAL,
			    "the native runtime takes numbers: data.ndarray or data.tensor (strData, binData, "
			    "jsonData need a custom model server)");
		return;
	}
	as_rows(&m.tensor);
	struct wtensor out = { 0 };
	if (predictor_infer(pr, &m.tensor, 1, &out, 1, &e)) {
		seldon_msg_free(&m);
		seldon_fail(a, e.code, e.msg);
		return;
	}
	const struct spec_predictor *sp = deploy_spec_predictor(d, pr);
	struct seldon_node node = { sp->graph_name ? sp->graph_name : sp->name,
				    sp->image ? sp->image : "weft-native-onnx" };
	struct seldon_reply rep;
	seldon_reply_init(&rep, &m);
	rep.t = &out;
	rep.path = &node;
	rep.npath = 1;
	if (seldon_format(&rep, &a->body, &err)) {
		sb_reset(&a->body);
		a->status = err.http;
		seldon_error_body(&err, &a->body);
	} else {
		a->status = 200;
	}
	wt_free(&out);
	seldon_msg_free(&m);
}

static void oip_fail(struct answer *a, int code, const char *msg)
{
	a->status = oip_http_status(code);
	oip_error_body(msg, &a->body);
}

/* OIP on a custom model server: one numeric input as a Seldon tensor. */
static void oip_custom(struct deployment *d, struct predictor *pr, struct oip_request *req, struct answer *a)
{
	struct weft_err e;
	if (req->ninputs != 1 || req->inputs[0].bytes) {
		oip_fail(a, WEFT_EINVAL, "a custom model server takes one numeric input over the v2 protocol");
		return;
	}
	const struct wtensor *t = &req->inputs[0].t;
	struct seldon_reply rep;
	seldon_reply_init(&rep, NULL);
	rep.kind = SELDON_TENSOR;
	rep.t = t;
	struct sbuf msg = SBUF_INIT, ans = SBUF_INIT;
	struct seldon_err err;
	long st = 0;
	if (seldon_format(&rep, &msg, &err) || predictor_forward(pr, msg.buf, msg.len, &ans, &st, &e)) {
		oip_fail(a, WEFT_EIO, "the model server did not answer");
		a->status = 503;
	} else {
		struct seldon_msg m;
		if (st != 200 || seldon_parse(ans.buf, ans.len, MAX_NUMEL, &m, &err) || !m.numeric) {
			oip_fail(a, WEFT_EIO, "the model server's answer holds no numeric tensor");
			a->status = 502;
			if (st == 200)
				seldon_msg_free(&m);
		} else {
			snprintf(m.tensor.name, sizeof m.tensor.name, "output-0");
			struct oip_output o = { .name = "output-0", .t = &m.tensor, .dtype = OIP_FP32 };
			struct oip_reply rp = { .model_name = deploy_name(d), .id = req->id, .outputs = &o,
						.noutputs = 1 };
			a->status = oip_format_response(&rp, &a->body, &e) ? 500 : 200;
			seldon_msg_free(&m);
		}
	}
	sb_release(&msg);
	sb_release(&ans);
}

static void oip_answer(struct deployment *d, struct predictor *pr, const char *body, size_t len, struct answer *a)
{
	struct weft_err e;
	struct oip_request req;
	if (oip_parse_request(body, len, MAX_NUMEL, &req, &e)) {
		oip_fail(a, e.code, e.msg);
		return;
	}
	if (predictor_runtime(pr) == SPEC_RUNTIME_CUSTOM) {
		oip_custom(d, pr, &req, a);
		oip_request_free(&req);
		return;
	}
	const struct serve_model_meta *meta = predictor_meta(pr);
	for (int i = 0; i < req.ninputs; i++)
		as_rows(&req.inputs[i].t); /* [64] is one row of 64 */
	if (oip_check_request(&req, meta, &e)) {
		oip_fail(a, e.code, e.msg);
		oip_request_free(&req);
		return;
	}
	int n_in = req.ninputs, n_out = meta->noutputs;
	struct wtensor *in = xcalloc((size_t)n_in, sizeof *in);
	for (int i = 0; i < n_in; i++)
		in[i] = req.inputs[i].t; /* borrowed */
	struct wtensor *out = xcalloc((size_t)(n_out ? n_out : 1), sizeof *out);
	if (predictor_infer(pr, in, n_in, out, n_out, &e)) {
		oip_fail(a, e.code, e.msg);
	} else {
		struct oip_output *o = xcalloc((size_t)n_out, sizeof *o);
		int k = 0;
		for (int i = 0; i < n_out; i++)
			if (oip_output_wanted(&req, out[i].name))
				o[k++] = (struct oip_output){ .name = out[i].name, .t = &out[i], .dtype = OIP_FP32 };
		struct oip_reply rp = { .model_name = deploy_name(d), .id = req.id, .outputs = o, .noutputs = k };
		a->status = oip_format_response(&rp, &a->body, &e) ? 500 : 200;
		free(o);
		for (int i = 0; i < n_out; i++)
			wt_free(&out[i]);
	}
	free(out);
	free(in);
	oip_request_free(&req);
}

/* --- shadows --- */

struct shadow_job {
	struct serve *s;
	struct deployment *d;
	struct predictor *pr;
	int oip;
	char *body;
	size_t len;
};

static int shadows_in_flight;

static void *shadow_main(void *arg)
{
	struct shadow_job *j = arg;
	struct answer a = { 0, SBUF_INIT };
	int64_t t0 = mono_ns();
	if (j->oip)
		oip_answer(j->d, j->pr, j->body, j->len, &a);
	else
		seldon_answer(j->d, j->pr, j->body, j->len, &a);
	deploy_done(j->d, j->pr, j->oip ? "v2" : "seldon", j->body, j->len, a.status, a.body.buf ? a.body.buf : "",
		    a.body.len, (double)(mono_ns() - t0) / 1e9);
	sb_release(&a.body);
	serve_put(j->s, j->d);
	free(j->body);
	free(j);
	__atomic_sub_fetch(&shadows_in_flight, 1, __ATOMIC_RELAXED);
	return NULL;
}

static void send_shadows(struct request *r, struct deployment *d, int oip)
{
	int n;
	struct predictor **sh = deploy_shadows(d, &n);
	for (int i = 0; i < n; i++) {
		if (__atomic_add_fetch(&shadows_in_flight, 1, __ATOMIC_RELAXED) > MAX_SHADOWS_IN_FLIGHT) {
			__atomic_sub_fetch(&shadows_in_flight, 1, __ATOMIC_RELAXED);
			log_warn("deployment %s: too many shadow requests in flight; a copy was dropped", deploy_name(d));
			continue;
		}
		struct deployment *ref;
		struct weft_err e;
		/* a reference of its own, so the deployment outlives the copy */
		if (serve_get(r->srv->serve, &r->who, r->deploy_token, deploy_name(d), &ref, &e)) {
			__atomic_sub_fetch(&shadows_in_flight, 1, __ATOMIC_RELAXED);
			continue;
		}
		struct shadow_job *j = xcalloc(1, sizeof *j);
		*j = (struct shadow_job){ r->srv->serve, ref, sh[i], oip, xstrndup(r->body.buf ? r->body.buf : "", r->body.len),
					  r->body.len };
		pthread_t th;
		pthread_attr_t at;
		pthread_attr_init(&at);
		pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
		if (pthread_create(&th, &at, shadow_main, j)) {
			serve_put(r->srv->serve, ref);
			free(j->body);
			free(j);
			__atomic_sub_fetch(&shadows_in_flight, 1, __ATOMIC_RELAXED);
		}
		pthread_attr_destroy(&at);
	}
	free(sh);
}

/* --- routes --- */

/* serve_get, and for Seldon's URLs the namespace must be the deployment's
 * (metadata.namespace, or "default" when it has none). */
static int get_dep(struct request *r, const char *name, struct deployment **d, struct weft_err *e)
{
	int rc = serve_get(r->srv->serve, &r->who, r->deploy_token, name, d, e);
	if (rc == 0 && r->dep_ns && r->protocol == PROTO_SELDON && strcmp(r->dep_ns, deploy_namespace(*d))) {
		rc = err_set(e, WEFT_ENOTFOUND, "no deployment %s in namespace %s (it is in %s)", name, r->dep_ns,
			     deploy_namespace(*d));
		serve_put(r->srv->serve, *d);
	}
	return rc;
}

static enum MHD_Result predict(struct request *r, const char *name, int oip)
{
	struct serve *s = r->srv->serve;
	struct deployment *d;
	struct weft_err e;
	if (get_dep(r, name, &d, &e))
		return reply_proto_error(r, e.code == WEFT_ECONFLICT ? 503 : 404, e.msg);
	int64_t t0 = mono_ns();
	struct predictor *pr = deploy_pick(d);
	struct answer a = { 0, SBUF_INIT };
	const char *body = r->body.buf ? r->body.buf : "";
	if (oip)
		oip_answer(d, pr, body, r->body.len, &a);
	else
		seldon_answer(d, pr, body, r->body.len, &a);
	deploy_done(d, pr, oip ? "v2" : "seldon", body, r->body.len, a.status, a.body.buf ? a.body.buf : "", a.body.len,
		    (double)(mono_ns() - t0) / 1e9);
	if (a.status < 400)
		send_shadows(r, d, oip);
	serve_put(s, d);
	return reply_text(r, (unsigned)a.status, &a.body);
}

static enum MHD_Result seldon_feedback(struct request *r, const char *name)
{
	struct deployment *d;
	struct weft_err e;
	if (get_dep(r, name, &d, &e))
		return reply_proto_error(r, e.code == WEFT_ECONFLICT ? 503 : 404, e.msg);
	struct seldon_feedback f;
	struct seldon_err err;
	struct sbuf out = SBUF_INIT;
	unsigned status = 200;
	if (seldon_parse_feedback(r->body.buf ? r->body.buf : "", r->body.len, MAX_NUMEL, &f, &err)) {
		status = (unsigned)err.http;
		seldon_error_body(&err, &out);
	} else {
		struct seldon_reply rep;
		seldon_reply_init(&rep, f.has_request ? &f.request : NULL);
		rep.kind = SELDON_NONE;
		seldon_format(&rep, &out, &err);
		deploy_done(d, deploy_pick(d), "seldon-feedback", r->body.buf ? r->body.buf : "", r->body.len, 200,
			    out.buf, out.len, 0);
		seldon_feedback_free(&f);
	}
	serve_put(r->srv->serve, d);
	return reply_text(r, status, &out);
}

static enum MHD_Result seldon_metadata(struct request *r, const char *name)
{
	struct deployment *d;
	struct weft_err e;
	if (get_dep(r, name, &d, &e))
		return reply_proto_error(r, e.code == WEFT_ECONFLICT ? 503 : 404, e.msg);
	struct sbuf out = SBUF_INIT;
	const struct serve_model_meta *m = deploy_meta(d);
	if (r->n_seg == 7 || (r->srv->own && r->n_seg == 4))
		seldon_model_metadata(m, &out);
	else
		seldon_graph_metadata(name, m, 1, &out);
	serve_put(r->srv->serve, d);
	return reply_text(r, 200, &out);
}

static enum MHD_Result v2_model(struct request *r, int ready_only)
{
	const char *name = r->seg[2];
	struct deployment *d;
	struct weft_err e;
	struct sbuf out = SBUF_INIT;
	if (serve_get(r->srv->serve, &r->who, r->deploy_token, name, &d, &e)) {
		if (ready_only && e.code == WEFT_ECONFLICT)
			return reply_text(r, (unsigned)oip_health(0, e.msg, &out), &out);
		return reply_proto_error(r, e.code == WEFT_ECONFLICT ? 503 : 404, e.msg);
	}
	unsigned status = 200;
	if (ready_only) {
		int ready = 0, total = 0;
		predictor_ready(deploy_pick(d), &ready, &total);
		status = (unsigned)oip_health(ready > 0, ready ? NULL : "no replica is ready", &out);
	} else {
		struct serve_model_meta m = *deploy_meta(d);
		m.name = name;
		oip_model_metadata(&m, &out);
	}
	serve_put(r->srv->serve, d);
	return reply_text(r, status, &out);
}

/* POST /oauth/token with HTTP Basic oauth_key:oauth_secret */
static enum MHD_Result oauth_token(struct request *r)
{
	const char *authz = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Authorization");
	char dec[512] = "";
	if (authz && !strncasecmp(authz, "Basic ", 6)) {
		const char *b = authz + 6;
		size_t bl = strlen(b);
		if (bl % 4 == 0 && bl / 4 * 3 < sizeof dec) {
			int n = EVP_DecodeBlock((unsigned char *)dec, (const unsigned char *)b, (int)bl);
			if (n >= 0) {
				if (bl >= 1 && b[bl - 1] == '=')
					n--;
				if (bl >= 2 && b[bl - 2] == '=')
					n--;
				dec[n] = '\0';
			} else {
				dec[0] = '\0';
			}
		}
	}
	char *colon = strchr(dec, ':');
	if (!colon)
		return reply_error(r, 401, NULL,
				   "send the deployment's oauth_key and oauth_secret as HTTP Basic credentials");
	*colon = '\0';
	const char *body = r->body.buf ? r->body.buf : "";
	if (r->body.len && !strstr(body, "grant_type=client_credentials") &&
	    !strstr(body, "\"grant_type\":\"client_credentials\""))
		return reply_error(r, 400, NULL, "grant_type: only client_credentials is supported");
	char token[80];
	struct weft_err e;
	if (serve_oauth_token(r->srv->serve, dec, colon + 1, token, &e))
		return reply_error(r, 401, NULL, "%s", e.msg);
	return reply_json(r, 200, json_pack("{s:s, s:s, s:i, s:s}", "access_token", token, "token_type", "bearer",
					    "expires_in", 31536000, "scope", "read write"));
}

enum MHD_Result serving_dispatch(struct request *r)
{
	struct serve *s = r->srv->serve;
	struct weft_err e;
	json_t *out;
	struct sbuf sb = SBUF_INIT;
	if (!s)
		return reply_error(r, 503, NULL, "this server does not serve models");
	switch ((enum route)r->route) {
	case R_DEPLOY_CREATE:
		if (serve_create(s, &r->who, r->body.buf ? r->body.buf : "", r->body.len, &out, &e))
			return reply_err(r, &e, NULL);
		return reply_json(r, 201, out);
	case R_DEPLOY_LIST:
		if (serve_list(s, &r->who, &out, &e))
			return reply_err(r, &e, NULL);
		return reply_json(r, 200, out);
	case R_DEPLOY_GET:
		if (serve_show(s, &r->who, r->seg[2], &out, &e))
			return reply_err(r, &e, NULL);
		return reply_json(r, 200, out);
	case R_DEPLOY_DELETE:
		if (serve_delete(s, &r->who, r->seg[2], &e))
			return reply_err(r, &e, NULL);
		return reply_json(r, 200, json_pack("{s:s, s:b}", "name", r->seg[2], "deleted", 1));
	case R_SELDON_PREDICT: return predict(r, r->dep, 0);
	case R_SELDON_FEEDBACK: return seldon_feedback(r, r->dep);
	case R_SELDON_META: return seldon_metadata(r, r->dep);
	case R_V2_LIVE: return reply_text(r, (unsigned)oip_health(1, NULL, &sb), &sb);
	case R_V2_READY: return reply_text(r, (unsigned)oip_health(!r->t->stopping, "stopping", &sb), &sb);
	case R_V2_SERVER: {
		static const char *const ext[] = { "health", "metadata", "model_repository_readonly" };
		oip_server_metadata("weft", WEFT_VERSION, ext, 3, &sb);
		return reply_text(r, 200, &sb);
	}
	case R_V2_MODEL: return v2_model(r, 0);
	case R_V2_MODEL_READY: return v2_model(r, 1);
	case R_V2_INFER: return predict(r, r->seg[2], 1);
	case R_OAUTH_TOKEN: return oauth_token(r);
	default: break;
	}
	return reply_error(r, 404, NULL, "no such endpoint");
}

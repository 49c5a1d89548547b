/* seldon.c - Seldon Core v1 (SeldonMessage) codecs (see seldon.h). Bodies are
 * walked with the wirejson cursor: a data.ndarray of numbers or a data.tensor
 * goes straight from text into floats; an ndarray holding anything else
 * (strings, booleans, objects, or a ragged shape around them) is read again
 * as a jansson tree and kept for custom model servers. meta, jsonData and
 * tftensor are small and free-form: jansson holds them. */
#include "serve/seldon.h"
#include "serve/wirejson.h"
#include "util/err.h"
#include "util/mem.h"
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ctx {
	struct wj s;
	struct weft_err e;
	struct sbuf key, str;
	int64_t max_numel;
};

static int keyis(const struct sbuf *k, const char *lit)
{
	size_t n = strlen(lit);
	return k->len == n && memcmp(k->buf, lit, n) == 0;
}

static int bad(struct ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int bad(struct ctx *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->e.msg, sizeof c->e.msg, fmt, ap);
	va_end(ap);
	c->e.code = WEFT_EINVAL;
	return WEFT_EINVAL;
}

static void shape_str(char *buf, size_t size, int ndim, const int64_t *shape)
{
	struct sbuf sb = SBUF_INIT;
	wj_put_shape(&sb, ndim, shape);
	snprintf(buf, size, "%s", sb_str(&sb));
	sb_release(&sb);
}

/* 1 if the array at the cursor holds something other than numbers and
 * arrays, 0 if not (the cursor is then past it), <0 on a syntax error */
static int has_non_number(struct wj *s)
{
	int rc = wj_arr_open(s, ""), n = 0;
	struct wj_num num;
	while (!rc && (rc = wj_arr_next(s, &n)) == 1) {
		int c = wj_peek(s);
		if (c == '[')
			rc = has_non_number(s);
		else if (c == '-' || (c >= '0' && c <= '9'))
			rc = wj_number(s, &num);
		else
			return 1;
	}
	return rc;
}

/* take nd's buffer as the message's tensor */
static void adopt(struct seldon_msg *m, struct wj_nd *nd)
{
	m->tensor.ndim = nd->ndim;
	memcpy(m->tensor.shape, nd->shape, sizeof nd->shape[0] * (size_t)nd->ndim);
	m->tensor.numel = nd->n;
	m->tensor.data = nd->data ? nd->data : xcalloc(1, sizeof(float));
	nd->data = NULL;
	m->numeric = 1;
}

static int parse_ndarray(struct ctx *c, struct seldon_msg *m, const char *field)
{
	if (wj_peek(&c->s) != '[')
		return wj_arr_open(&c->s, field);
	struct wj save = c->s;
	struct wj_nd nd = { .conv = WJ_F32, .lenient = 1, .max_numel = c->max_numel };
	int rc = wj_ndarray(&c->s, &nd, field);
	if (rc == 0) {
		adopt(m, &nd);
		m->kind = SELDON_NDARRAY;
		return 0;
	}
	free(nd.data);
	if (rc < 0)
		return rc;
	/* not all numbers, or ragged, too deep, a number over float32: if it holds
	 * anything but numbers it is for a custom server; else why is the error */
	struct weft_err why = c->e;
	c->s = save;
	if ((rc = has_non_number(&c->s)) < 0)
		return rc;
	if (rc == 0) {
		c->e = why;
		return WEFT_EINVAL;
	}
	c->s = save;
	if ((rc = wj_load(&c->s, &m->payload)))
		return rc;
	m->kind = SELDON_NDARRAY;
	return 0;
}

static int parse_tensor(struct ctx *c, struct seldon_msg *m, const char *f)
{
	char field[160], el[192], sh[200];
	int rc, n = 0, have_shape = 0, have_values = 0, ndim = 0;
	int64_t shape[WT_MAX_DIMS], numel = 1;
	struct wj_nd nd = { .conv = WJ_F32, .max_numel = c->max_numel };
	float none;
	if ((rc = wj_obj_open(&c->s, f)))
		return rc;
	while ((rc = wj_obj_next(&c->s, &c->key, &n)) == 1) {
		if (keyis(&c->key, "shape")) {
			snprintf(field, sizeof field, "%s.shape", f);
			int k = 0;
			if (have_shape++)
				rc = bad(c, "%s has \"shape\" twice", f);
			else
				rc = wj_arr_open(&c->s, field);
			while (!rc && (rc = wj_arr_next(&c->s, &k)) == 1) {
				if (ndim >= WT_MAX_DIMS) {
					rc = bad(c, "%s has more than %d dimensions", field, WT_MAX_DIMS);
					break;
				}
				snprintf(el, sizeof el, "%s[%d]", field, ndim);
				rc = wj_get_int(&c->s, el, 0, INT64_MAX, &shape[ndim++]);
			}
			if (rc)
				break;
			for (int i = 0; i < ndim; i++) {
				if (shape[i] && numel > INT64_MAX / shape[i]) {
					numel = INT64_MAX;
					break;
				}
				numel *= shape[i];
			}
			if (numel > c->max_numel) {
				shape_str(sh, sizeof sh, ndim, shape);
				rc = err_set(&c->e, WEFT_ETOOBIG, "%s %s holds %s%lld values, over the limit of %lld", field, sh,
					     numel == INT64_MAX ? "more than " : "", (long long)numel,
					     (long long)c->max_numel);
				break;
			}
		} else if (keyis(&c->key, "values")) {
			snprintf(field, sizeof field, "%s.values", f);
			if (have_values++) {
				rc = bad(c, "%s has \"values\" twice", f);
				break;
			}
			if (have_shape && !wj_fits(&c->s, numel)) { /* cannot be there: count them */
				nd.fixed = &none;
				nd.fixed_n = 0;
			} else if (have_shape) { /* the usual order: fill the exact buffer */
				if (wt_alloc(&m->tensor, ndim, shape, c->max_numel)) {
					rc = bad(c, "%s.shape is over the limit", f);
					break;
				}
				nd.fixed = m->tensor.data;
				nd.fixed_n = numel;
			}
			if ((rc = wj_ndarray(&c->s, &nd, field)))
				break;
			if (nd.ndim > 1) {
				shape_str(sh, sizeof sh, nd.ndim, nd.shape);
				rc = bad(c, "%s must be a flat array (row-major); it is nested as %s", field, sh);
				break;
			}
		} else {
			rc = bad(c, "%s has an unknown member \"%.64s\" (a tensor has shape and values)", f, c->key.buf);
			break;
		}
	}
	if (!rc && (!have_shape || !have_values))
		rc = bad(c, "%s has no %s", f, have_shape ? "values" : "shape");
	if (!rc && nd.n != numel) {
		shape_str(sh, sizeof sh, ndim, shape);
		rc = bad(c, "%s.shape %s needs %lld values, got %lld", f, sh, (long long)numel, (long long)nd.n);
	}
	if (!rc && !nd.fixed) {
		nd.ndim = ndim;
		memcpy(nd.shape, shape, sizeof *shape * (size_t)ndim);
		adopt(m, &nd);
	}
	free(nd.data);
	if (rc) {
		wt_free(&m->tensor);
		return rc;
	}
	m->numeric = 1;
	m->kind = SELDON_TENSOR;
	return 0;
}

static int parse_names(struct ctx *c, struct seldon_msg *m, const char *field)
{
	int rc = wj_arr_open(&c->s, field), n = 0, cap = 0;
	char el[160];
	if (rc)
		return rc;
	while ((rc = wj_arr_next(&c->s, &n)) == 1) {
		snprintf(el, sizeof el, "%s[%d]", field, m->nnames);
		sb_reset(&c->str);
		if ((rc = wj_get_string(&c->s, el, &c->str)))
			return rc;
		if (m->nnames == cap) {
			cap = cap ? cap * 2 : 8;
			m->names = xrealloc(m->names, sizeof *m->names * (size_t)cap);
		}
		m->names[m->nnames++] = xstrndup(c->str.buf, c->str.len);
	}
	if (!rc && !m->names)
		m->names = xcalloc(1, sizeof *m->names);
	return rc;
}

static int parse_data(struct ctx *c, struct seldon_msg *m, const char *pre)
{
	char f[64], field[128];
	const char *form = NULL;
	int rc, n = 0, have_names = 0;
	snprintf(f, sizeof f, "%sdata", pre);
	if ((rc = wj_obj_open(&c->s, f)))
		return rc;
	while ((rc = wj_obj_next(&c->s, &c->key, &n)) == 1) {
		snprintf(field, sizeof field, "%s.%.32s", f, c->key.buf);
		int is_form = keyis(&c->key, "ndarray") || keyis(&c->key, "tensor") || keyis(&c->key, "tftensor");
		if (is_form && form)
			return bad(c, "%s holds both %s and %s; it takes exactly one of ndarray, tensor, tftensor", f, form,
				   c->key.buf);
		if (keyis(&c->key, "names")) {
			if (have_names++)
				return bad(c, "%s has \"names\" twice", f);
			rc = parse_names(c, m, field);
		} else if (keyis(&c->key, "ndarray")) {
			form = "ndarray";
			rc = parse_ndarray(c, m, field);
		} else if (keyis(&c->key, "tensor")) {
			form = "tensor";
			rc = parse_tensor(c, m, field);
		} else if (keyis(&c->key, "tftensor")) {
			form = "tftensor";
			if (wj_peek(&c->s) != '{')
				return wj_obj_open(&c->s, field);
			rc = wj_load(&c->s, &m->payload);
			m->kind = SELDON_TFTENSOR;
		} else {
			return bad(c, "%s has an unknown member \"%.64s\" (data has names and one of ndarray, tensor, "
				   "tftensor)", f, c->key.buf);
		}
		if (rc)
			return rc;
	}
	if (!rc && !form)
		rc = bad(c, "%s has no ndarray, tensor or tftensor", f);
	return rc;
}

static int check_meta(struct ctx *c, struct seldon_msg *m, const char *f)
{
	const json_t *v;
	const char *k;
	json_t *meta = m->meta;
	if ((v = json_object_get(meta, "puid"))) {
		if (!json_is_string(v))
			return bad(c, "%s.puid must be a string", f);
		m->puid = json_string_value(v);
	}
	if ((v = json_object_get(meta, "tags")) && !json_is_object(v))
		return bad(c, "%s.tags must be an object", f);
	if ((v = json_object_get(meta, "routing"))) {
		if (!json_is_object(v))
			return bad(c, "%s.routing must be an object of node name to branch", f);
		const json_t *b;
		json_object_foreach((json_t *)v, k, b) {
			if (!json_is_integer(b))
				return bad(c, "%s.routing.%.64s must be an integer (the branch chosen, -1 for all)", f, k);
		}
	}
	if ((v = json_object_get(meta, "requestPath"))) {
		if (!json_is_object(v))
			return bad(c, "%s.requestPath must be an object of node name to image", f);
		const json_t *b;
		json_object_foreach((json_t *)v, k, b) {
			if (!json_is_string(b))
				return bad(c, "%s.requestPath.%.64s must be a string", f, k);
		}
	}
	if ((v = json_object_get(meta, "metrics"))) {
		if (!json_is_array(v))
			return bad(c, "%s.metrics must be an array", f);
		size_t i;
		const json_t *x;
		json_array_foreach(v, i, x) {
			const json_t *key = json_object_get(x, "key"), *type = json_object_get(x, "type"),
				     *val = json_object_get(x, "value"), *tags = json_object_get(x, "tags");
			if (!json_is_object(x))
				return bad(c, "%s.metrics[%zu] must be an object {key, type, value, tags}", f, i);
			if (!json_is_string(key))
				return bad(c, "%s.metrics[%zu].key must be a string", f, i);
			if (type && (!json_is_string(type) || (strcmp(json_string_value(type), "COUNTER") &&
							       strcmp(json_string_value(type), "GAUGE") &&
							       strcmp(json_string_value(type), "TIMER"))))
				return bad(c, "%s.metrics[%zu].type must be COUNTER, GAUGE or TIMER", f, i);
			if (val && !json_is_number(val))
				return bad(c, "%s.metrics[%zu].value must be a number", f, i);
			if (tags && !json_is_object(tags))
				return bad(c, "%s.metrics[%zu].tags must be an object", f, i);
		}
	}
	return 0;
}

static int parse_msg(struct ctx *c, struct seldon_msg *m, const char *pre, int allow_empty)
{
	char f[64];
	const char *payload = NULL;
	int rc, n = 0, have_meta = 0, have_status = 0;
	memset(m, 0, sizeof *m);
	snprintf(f, sizeof f, "%s", *pre ? pre : "the body");
	if (*pre)
		f[strlen(f) - 1] = '\0'; /* "request." -> "request" */
	if ((rc = wj_obj_open(&c->s, f)))
		return rc;
	while ((rc = wj_obj_next(&c->s, &c->key, &n)) == 1) {
		char field[96];
		snprintf(field, sizeof field, "%s%.32s", pre, c->key.buf);
		int is_payload = keyis(&c->key, "data") || keyis(&c->key, "jsonData") || keyis(&c->key, "strData") ||
				 keyis(&c->key, "binData") || keyis(&c->key, "customData");
		if (is_payload && payload && keyis(&c->key, payload))
			return bad(c, "%s has \"%s\" twice", *pre ? f : "the message", payload);
		if (is_payload && payload)
			return bad(c, "%s holds both %s and %s; a SeldonMessage holds exactly one of data, binData, "
				   "strData, jsonData", *pre ? f : "the message", payload, c->key.buf);
		if (keyis(&c->key, "data")) {
			payload = "data";
			rc = parse_data(c, m, pre);
		} else if (keyis(&c->key, "jsonData")) {
			payload = "jsonData";
			rc = wj_load(&c->s, &m->payload);
			m->kind = SELDON_JSONDATA;
		} else if (keyis(&c->key, "strData")) {
			payload = "strData";
			sb_reset(&c->str);
			if (!(rc = wj_get_string(&c->s, field, &c->str))) {
				m->payload = json_stringn(c->str.buf, c->str.len);
				m->kind = SELDON_STRDATA;
			}
		} else if (keyis(&c->key, "binData")) {
			payload = "binData";
			sb_reset(&c->str);
			size_t at;
			if (!(rc = wj_get_string(&c->s, field, &c->str))) {
				if (wj_b64_decode(c->str.buf, c->str.len, &m->bin, &m->binlen, &at))
					rc = bad(c, "%s is not valid base64 (at character %zu)", field, at + 1);
				else
					m->kind = SELDON_BINDATA;
			}
		} else if (keyis(&c->key, "customData")) {
			rc = bad(c, "%s (a protobuf Any) is for gRPC only; over REST send data, jsonData, strData or "
				 "binData", field);
		} else if (keyis(&c->key, "meta")) {
			if (have_meta++)
				return bad(c, "%s has \"meta\" twice", f);
			if (wj_peek(&c->s) != '{')
				return wj_obj_open(&c->s, field);
			if (!(rc = wj_load(&c->s, &m->meta)))
				rc = check_meta(c, m, field);
		} else if (keyis(&c->key, "status")) {
			if (have_status++)
				return bad(c, "%s has \"status\" twice", f);
			if (wj_peek(&c->s) != '{')
				return wj_obj_open(&c->s, field);
			rc = wj_load(&c->s, &m->status);
		} else {
			return bad(c, "%s has an unknown member \"%.64s\" (a SeldonMessage has data, jsonData, strData, "
				   "binData, meta and status)", *pre ? f : "the message", c->key.buf);
		}
		if (rc)
			return rc;
	}
	if (!rc && !payload && !allow_empty)
		rc = bad(c, "the message has no data, jsonData, strData or binData");
	return rc;
}

static void fill_err(struct seldon_err *err, int rc, const struct ctx *c)
{
	if (!err)
		return;
	if (rc == WEFT_ETOOBIG) {
		err->http = err->code = 413;
		err->reason = SELDON_REASON_TOOBIG;
	} else {
		err->http = err->code = 400;
		err->reason = c->s.syntax ? SELDON_REASON_JSON : SELDON_REASON_DATA;
	}
	snprintf(err->info, sizeof err->info, "%s", c->e.msg);
}

static void ctx_init(struct ctx *c, const char *body, size_t len, int64_t max_numel)
{
	memset(c, 0, sizeof *c);
	wj_init(&c->s, body ? body : "", body ? len : 0, &c->e);
	c->max_numel = max_numel > 0 ? max_numel : SELDON_DEFAULT_MAX_NUMEL;
}

int seldon_parse(const char *body, size_t len, int64_t max_numel, struct seldon_msg *m, struct seldon_err *err)
{
	struct ctx c;
	int rc;
	ctx_init(&c, body, len, max_numel);
	memset(m, 0, sizeof *m);
	if (wj_peek(&c.s) < 0)
		rc = wj_syntax(&c.s, NULL, "the body is empty");
	else if (!(rc = parse_msg(&c, m, "", 0)))
		rc = wj_finish(&c.s);
	sb_release(&c.key);
	sb_release(&c.str);
	if (rc) {
		seldon_msg_free(m);
		fill_err(err, rc, &c);
	}
	return rc;
}

void seldon_msg_free(struct seldon_msg *m)
{
	wt_free(&m->tensor);
	for (int i = 0; i < m->nnames; i++)
		free(m->names[i]);
	free(m->names);
	json_decref(m->payload);
	json_decref(m->meta);
	json_decref(m->status);
	free(m->bin);
	memset(m, 0, sizeof *m);
}

int seldon_parse_feedback(const char *body, size_t len, int64_t max_numel, struct seldon_feedback *f,
			  struct seldon_err *err)
{
	struct ctx c;
	int rc, n = 0;
	ctx_init(&c, body, len, max_numel);
	memset(f, 0, sizeof *f);
	if (wj_peek(&c.s) < 0) {
		rc = wj_syntax(&c.s, NULL, "the body is empty");
		goto out;
	}
	if ((rc = wj_obj_open(&c.s, "the feedback body")))
		goto out;
	while ((rc = wj_obj_next(&c.s, &c.key, &n)) == 1) {
		int *has = keyis(&c.key, "request") ? &f->has_request : keyis(&c.key, "response") ? &f->has_response
			 : keyis(&c.key, "truth") ? &f->has_truth : keyis(&c.key, "reward") ? &f->has_reward : NULL;
		if (!has) {
			rc = bad(&c, "the feedback has an unknown member \"%.64s\" (it has request, response, truth and "
				 "reward)", c.key.buf);
			break;
		}
		if (*has) {
			rc = bad(&c, "the feedback has \"%s\" twice", c.key.buf);
			break;
		}
		*has = 1;
		if (has == &f->has_reward) {
			struct wj_num num;
			int ch = wj_peek(&c.s);
			if (ch != '-' && !(ch >= '0' && ch <= '9')) {
				const char *k = wj_kind(ch);
				rc = k ? bad(&c, "reward must be a number, not %s", k) : wj_skip(&c.s);
			} else if (!(rc = wj_number(&c.s, &num))) {
				if (!isfinite(num.d))
					rc = bad(&c, "reward %.*s is out of range", (int)(num.len > 40 ? 40 : num.len), num.tok);
				f->reward = num.d;
			}
		} else {
			struct seldon_msg *m = has == &f->has_request ? &f->request : has == &f->has_response ? &f->response
											   : &f->truth;
			char pre[16];
			snprintf(pre, sizeof pre, "%s.", c.key.buf);
			rc = parse_msg(&c, m, pre, 1);
		}
		if (rc)
			break;
	}
	if (!rc)
		rc = wj_finish(&c.s);
out:
	sb_release(&c.key);
	sb_release(&c.str);
	if (rc) {
		seldon_feedback_free(f);
		fill_err(err, rc, &c);
	}
	return rc;
}

void seldon_feedback_free(struct seldon_feedback *f)
{
	seldon_msg_free(&f->request);
	seldon_msg_free(&f->response);
	seldon_msg_free(&f->truth);
	memset(f, 0, sizeof *f);
}

void seldon_reply_init(struct seldon_reply *r, const struct seldon_msg *req)
{
	memset(r, 0, sizeof *r);
	r->kind = req && req->kind == SELDON_TENSOR ? SELDON_TENSOR : SELDON_NDARRAY;
	if (req) {
		r->puid = req->puid;
		r->tags = json_object_get(req->meta, "tags");
	}
}

void seldon_new_puid(char *out)
{
	wj_random_id(out, SELDON_PUID_LEN);
}

static void put_names(struct sbuf *out, const struct seldon_reply *r)
{
	sb_adds(out, "\"names\":[");
	if (r->names) {
		for (int i = 0; i < r->nnames; i++) {
			if (i)
				sb_addc(out, ',');
			wj_put_strz(out, r->names[i]);
		}
	} else if (r->t && r->t->ndim >= 2) {
		for (int64_t i = 0; i < r->t->shape[1]; i++) { /* ,"t:12" without printf: this is per request */
			char b[32], *p = b + sizeof b;
			*--p = '"';
			uint64_t v = (uint64_t)i;
			do
				*--p = (char)('0' + v % 10);
			while (v /= 10);
			memcpy(p -= 3, "\"t:", 3);
			if (i)
				*--p = ',';
			sb_add(out, p, (size_t)(b + sizeof b - p));
		}
	}
	sb_addc(out, ']');
}

int seldon_format(const struct seldon_reply *r, struct sbuf *out, struct seldon_err *err)
{
	int numeric = r->kind == SELDON_NDARRAY || r->kind == SELDON_TENSOR;
	const char *missing = NULL;
	if (r->kind == SELDON_TENSOR && !r->t)
		missing = "tensor";
	else if (r->kind == SELDON_NDARRAY && !r->t && !r->payload)
		missing = "ndarray";
	else if (!numeric && r->kind != SELDON_NONE && r->kind != SELDON_BINDATA && !r->payload)
		missing = "payload";
	else if (r->kind == SELDON_STRDATA && !json_is_string(r->payload))
		missing = "string";
	else if (r->kind == SELDON_BINDATA && !r->bin && r->binlen)
		missing = "bytes";
	else if (r->t && !r->t->data)
		missing = "tensor data";
	if (missing) {
		char info[96];
		snprintf(info, sizeof info, "the model's answer has no %s to send", missing);
		if (err)
			seldon_err_from(err, WEFT_EIO, info);
		return WEFT_EINVAL;
	}
	sb_addc(out, '{');
	switch (r->kind) {
	case SELDON_NDARRAY: case SELDON_TENSOR: case SELDON_TFTENSOR:
		sb_adds(out, "\"data\":{");
		put_names(out, r);
		if (r->kind == SELDON_TFTENSOR) {
			sb_adds(out, ",\"tftensor\":");
			wj_put_json(out, r->payload);
		} else if (r->kind == SELDON_TENSOR) {
			sb_adds(out, ",\"tensor\":{\"shape\":");
			wj_put_shape(out, r->t->ndim, r->t->shape);
			sb_adds(out, ",\"values\":[");
			wj_put_values(out, r->t->data, r->t->numel, WJ_F32);
			sb_adds(out, "]}");
		} else if (r->t) {
			sb_adds(out, ",\"ndarray\":");
			if (r->t->ndim == 0) {
				sb_addc(out, '[');
				wj_put_values(out, r->t->data, 1, WJ_F32);
				sb_addc(out, ']');
			} else {
				wj_put_nested(out, r->t->data, r->t->ndim, r->t->shape, WJ_F32);
			}
		} else {
			sb_adds(out, ",\"ndarray\":");
			wj_put_json(out, r->payload);
		}
		sb_adds(out, "},");
		break;
	case SELDON_JSONDATA:
		sb_adds(out, "\"jsonData\":");
		wj_put_json(out, r->payload);
		sb_addc(out, ',');
		break;
	case SELDON_STRDATA:
		sb_adds(out, "\"strData\":");
		wj_put_str(out, json_string_value(r->payload), json_string_length(r->payload));
		sb_addc(out, ',');
		break;
	case SELDON_BINDATA:
		sb_adds(out, "\"binData\":\"");
		wj_b64_encode(out, r->bin, r->binlen);
		sb_adds(out, "\",");
		break;
	case SELDON_NONE:
		break;
	}
	char puid[SELDON_PUID_LEN + 1];
	if (!r->puid)
		seldon_new_puid(puid);
	sb_adds(out, "\"meta\":{\"puid\":");
	wj_put_strz(out, r->puid ? r->puid : puid);
	sb_adds(out, ",\"tags\":");
	if (r->tags)
		wj_put_json(out, r->tags);
	else
		sb_adds(out, "{}");
	if (r->routing) {
		sb_adds(out, ",\"routing\":");
		wj_put_json(out, r->routing);
	}
	if (r->npath > 0) {
		sb_adds(out, ",\"requestPath\":{");
		for (int i = 0; i < r->npath; i++) {
			if (i)
				sb_addc(out, ',');
			wj_put_strz(out, r->path[i].node);
			sb_addc(out, ':');
			wj_put_strz(out, r->path[i].image);
		}
		sb_addc(out, '}');
	}
	if (r->metrics) {
		sb_adds(out, ",\"metrics\":");
		wj_put_json(out, r->metrics);
	}
	sb_adds(out, "}}");
	return 0;
}

int seldon_annotate(const char *body, size_t len, const char *puid, const struct seldon_node *path, int npath,
		    struct sbuf *out, struct seldon_err *err)
{
	json_error_t je;
	json_t *j = json_loadb(body ? body : "", body ? len : 0, JSON_ALLOW_NUL, &je);
	if (!json_is_object(j)) {
		char info[300];
		if (j)
			snprintf(info, sizeof info, "the model server answered JSON that is not an object");
		else
			snprintf(info, sizeof info, "the model server's answer is not JSON (line %d column %d: %s)", je.line,
				 je.column, je.text);
		json_decref(j);
		if (err)
			seldon_err_from(err, WEFT_EIO, info);
		return WEFT_EINVAL;
	}
	json_t *meta = json_object_get(j, "meta");
	if (!json_is_object(meta)) {
		meta = json_object();
		json_object_set_new(j, "meta", meta);
	}
	char fresh[SELDON_PUID_LEN + 1];
	if (!puid && !json_is_string(json_object_get(meta, "puid"))) {
		seldon_new_puid(fresh);
		puid = fresh;
	}
	if (puid)
		json_object_set_new(meta, "puid", json_string(puid));
	if (npath > 0) {
		json_t *rp = json_object_get(meta, "requestPath");
		if (!json_is_object(rp)) {
			rp = json_object();
			json_object_set_new(meta, "requestPath", rp);
		}
		for (int i = 0; i < npath; i++)
			json_object_set_new(rp, path[i].node, json_string(path[i].image));
	}
	wj_put_json(out, j);
	json_decref(j);
	return 0;
}

void seldon_status_body(int code, const char *reason, const char *info, struct sbuf *out)
{
	sb_addf(out, "{\"status\":{\"code\":%d,\"info\":", code);
	wj_put_strz(out, info);
	sb_adds(out, ",\"reason\":");
	wj_put_strz(out, reason);
	sb_adds(out, ",\"status\":\"FAILURE\"}}");
}

void seldon_error_body(const struct seldon_err *err, struct sbuf *out)
{
	seldon_status_body(err->code, err->reason, err->info, out);
}

void seldon_err_from(struct seldon_err *err, int code, const char *info)
{
	switch (code) {
	case WEFT_EINVAL: err->http = 400; err->reason = SELDON_REASON_DATA; break;
	case WEFT_ETOOBIG: err->http = 413; err->reason = SELDON_REASON_TOOBIG; break;
	case WEFT_ENOTFOUND: err->http = 404; err->reason = "NOT_FOUND"; break;
	case WEFT_EAUTH: err->http = 401; err->reason = "UNAUTHORIZED"; break;
	case WEFT_EPERM: err->http = 403; err->reason = "FORBIDDEN"; break;
	default: err->http = 500; err->reason = "MICROSERVICE_INTERNAL_ERROR"; break;
	}
	err->code = err->http;
	snprintf(err->info, sizeof err->info, "%s", info ? info : "");
}

void seldon_model_metadata(const struct serve_model_meta *m, struct sbuf *out)
{
	oip_model_metadata(m, out);
}

static void put_specs(struct sbuf *out, const struct serve_tensor_spec *t, int n)
{
	sb_addc(out, '[');
	for (int i = 0; i < n; i++) {
		sb_adds(out, i ? ",{\"name\":" : "{\"name\":");
		wj_put_strz(out, t[i].name);
		sb_adds(out, ",\"datatype\":");
		wj_put_strz(out, t[i].datatype);
		sb_adds(out, ",\"shape\":");
		wj_put_shape(out, t[i].ndim, t[i].shape);
		sb_addc(out, '}');
	}
	sb_addc(out, ']');
}

void seldon_graph_metadata(const char *name, const struct serve_model_meta *models, int n, struct sbuf *out)
{
	sb_adds(out, "{\"name\":");
	wj_put_strz(out, name);
	sb_adds(out, ",\"models\":{");
	for (int i = 0; i < n; i++) {
		if (i)
			sb_addc(out, ',');
		wj_put_strz(out, models[i].name);
		sb_addc(out, ':');
		oip_model_metadata(&models[i], out);
	}
	sb_adds(out, "},\"graphinputs\":");
	if (n > 0)
		put_specs(out, models[0].inputs, models[0].ninputs);
	else
		sb_adds(out, "[]");
	sb_adds(out, ",\"graphoutputs\":");
	if (n > 0)
		put_specs(out, models[n - 1].outputs, models[n - 1].noutputs);
	else
		sb_adds(out, "[]");
	sb_addc(out, '}');
}

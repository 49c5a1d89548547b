/* oip.c - Open Inference Protocol v2 codecs (see oip.h). The infer body is
 * walked with the wirejson cursor: each input's data goes straight from text
 * into its float buffer, sized from the declared shape (checked against the
 * limit first); only parameters and BYTES data become jansson trees. When
 * `data` comes before `shape` or `datatype` in an input, it is checked and
 * skipped, then read on a second pass once the object is complete. */
#include "serve/oip.h"
#include "serve/wirejson.h"
#include "util/mem.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const dtype_names[] = {
	[OIP_BOOL] = "BOOL", [OIP_UINT8] = "UINT8", [OIP_UINT16] = "UINT16", [OIP_UINT32] = "UINT32",
	[OIP_UINT64] = "UINT64", [OIP_INT8] = "INT8", [OIP_INT16] = "INT16", [OIP_INT32] = "INT32",
	[OIP_INT64] = "INT64", [OIP_FP16] = "FP16", [OIP_FP32] = "FP32", [OIP_FP64] = "FP64",
	[OIP_BYTES] = "BYTES", [OIP_BF16] = "BF16",
};
#define NDTYPES ((int)(sizeof dtype_names / sizeof *dtype_names))

static const enum wj_conv dtype_conv[] = {
	[OIP_BOOL] = WJ_BOOL, [OIP_UINT8] = WJ_U8, [OIP_UINT16] = WJ_U16, [OIP_UINT32] = WJ_U32,
	[OIP_UINT64] = WJ_U64, [OIP_INT8] = WJ_I8, [OIP_INT16] = WJ_I16, [OIP_INT32] = WJ_I32,
	[OIP_INT64] = WJ_I64, [OIP_FP16] = WJ_F16, [OIP_FP32] = WJ_F32, [OIP_FP64] = WJ_F64,
	[OIP_BYTES] = WJ_F32, [OIP_BF16] = WJ_BF16,
};

const char *oip_dtype_name(enum oip_dtype t)
{
	return (int)t >= 0 && (int)t < NDTYPES ? dtype_names[t] : "?";
}

int oip_dtype_parse(const char *s)
{
	for (int i = 0; i < NDTYPES; i++)
		if (strcmp(s, dtype_names[i]) == 0)
			return i;
	return -1;
}

static int keyis(const struct sbuf *k, const char *lit)
{
	size_t n = strlen(lit);
	return k->len == n && memcmp(k->buf, lit, n) == 0;
}

/* "inputs[3]" or "inputs[3] ("name")" */
static const char *label(char *buf, size_t size, const char *what, int i, const char *name)
{
	if (name && *name)
		snprintf(buf, size, "%s[%d] (\"%s\")", what, i, name);
	else
		snprintf(buf, size, "%s[%d]", what, i);
	return buf;
}

static int dup_member(struct wj *s, const char *where, const struct sbuf *key)
{
	return err_set(s->e, WEFT_EINVAL, "%s has \"%.64s\" twice", where, key->buf);
}

/* parameters: an object whose values are strings, numbers or booleans */
static int parse_params(struct wj *s, const char *field, json_t **out)
{
	if (wj_peek(s) != '{')
		return wj_obj_open(s, field);
	int rc = wj_load(s, out);
	if (rc)
		return rc;
	const char *k;
	json_t *v;
	json_object_foreach(*out, k, v) {
		if (!json_is_string(v) && !json_is_number(v) && !json_is_boolean(v))
			return err_set(s->e, WEFT_EINVAL, "%s.%.64s must be a string, number or boolean", field, k);
	}
	return 0;
}

static int parse_shape(struct wj *s, const char *f, int64_t *shape, int *ndim)
{
	char field[300];
	snprintf(field, sizeof field, "%s.shape", f);
	int rc = wj_arr_open(s, field), n = 0;
	if (rc)
		return rc;
	*ndim = 0;
	while ((rc = wj_arr_next(s, &n)) == 1) {
		if (*ndim >= WT_MAX_DIMS)
			return err_set(s->e, WEFT_EINVAL, "%s has more than %d dimensions", field, WT_MAX_DIMS);
		char el[320];
		snprintf(el, sizeof el, "%s[%d]", field, *ndim);
		if ((rc = wj_get_int(s, el, 0, INT64_MAX, &shape[*ndim])))
			return rc;
		(*ndim)++;
	}
	return rc;
}

static void shape_str(char *buf, size_t size, int ndim, const int64_t *shape)
{
	struct sbuf sb = SBUF_INIT;
	wj_put_shape(&sb, ndim, shape);
	snprintf(buf, size, "%s", sb_str(&sb));
	sb_release(&sb);
}

/* strings in a (possibly nested) array; -1 and *bad set on a non-string */
static int64_t count_strings(const json_t *a, int depth, const json_t **bad)
{
	int64_t n = 0;
	size_t i;
	const json_t *v;
	json_array_foreach(a, i, v) {
		if (json_is_string(v)) {
			n++;
		} else if (json_is_array(v) && depth < WT_MAX_DIMS) {
			int64_t k = count_strings(v, depth + 1, bad);
			if (k < 0)
				return -1;
			n += k;
		} else {
			*bad = v;
			return -1;
		}
	}
	return n;
}

static int parse_data(struct wj *s, struct oip_input *in, const char *f, int ndim, const int64_t *shape,
		      int64_t max_numel)
{
	char field[300], sh[200];
	snprintf(field, sizeof field, "%s.data", f);
	int64_t numel = 1;
	for (int i = 0; i < ndim; i++) {
		if (shape[i] && numel > INT64_MAX / shape[i]) {
			shape_str(sh, sizeof sh, ndim, shape);
			return err_set(s->e, WEFT_ETOOBIG, "%s.shape %s holds more than 2^63 values, over the limit of %lld",
				       f, sh, (long long)max_numel);
		}
		numel *= shape[i];
	}
	if (numel > max_numel) {
		shape_str(sh, sizeof sh, ndim, shape);
		return err_set(s->e, WEFT_ETOOBIG, "%s.shape %s holds %lld values, over the limit of %lld", f, sh,
			       (long long)numel, (long long)max_numel);
	}
	int rc;
	if (in->dtype == OIP_BYTES) {
		if (wj_peek(s) != '[')
			return wj_arr_open(s, field);
		if ((rc = wj_load(s, &in->bytes)))
			return rc;
		const json_t *bad = NULL;
		int64_t n = count_strings(in->bytes, 1, &bad);
		if (n < 0)
			return err_set(s->e, WEFT_EINVAL, "%s holds %s; BYTES data must be strings", field,
				       json_is_array(bad) ? "arrays nested too deep" : json_is_number(bad) ? "a number"
						: json_is_object(bad) ? "an object" : json_is_boolean(bad) ? "a boolean" : "null");
		if (n != numel) {
			shape_str(sh, sizeof sh, ndim, shape);
			return err_set(s->e, WEFT_EINVAL, "%s.shape %s needs %lld values, data has %lld", f, sh,
				       (long long)numel, (long long)n);
		}
		in->t.ndim = ndim;
		memcpy(in->t.shape, shape, sizeof *shape * (size_t)ndim);
		in->t.numel = numel;
		return 0;
	}
	float none;
	struct wj_nd nd = { .conv = dtype_conv[in->dtype], .max_numel = max_numel, .fixed = &none, .fixed_n = 0 };
	if (wj_fits(s, numel)) {
		if (wt_alloc(&in->t, ndim, shape, max_numel))
			return err_set(s->e, WEFT_ETOOBIG, "%s.shape is over the limit of %lld values", f,
				       (long long)max_numel);
		nd.fixed = in->t.data;
		nd.fixed_n = numel;
	} /* else the text cannot hold numel values: count them for the message */
	if ((rc = wj_ndarray(s, &nd, field)))
		return rc;
	if (nd.ndim <= 1) {
		if (nd.n != numel) {
			shape_str(sh, sizeof sh, ndim, shape);
			return err_set(s->e, WEFT_EINVAL, "%s.shape %s needs %lld values, data has %lld", f, sh,
				       (long long)numel, (long long)nd.n);
		}
		return 0;
	}
	int same = nd.ndim == ndim;
	for (int i = 0; same && i < ndim; i++)
		same = nd.shape[i] == shape[i];
	if (!same) {
		char got[200];
		shape_str(sh, sizeof sh, ndim, shape);
		shape_str(got, sizeof got, nd.ndim, nd.shape);
		return err_set(s->e, WEFT_EINVAL, "%s is nested as %s, but shape is %s (send it flat or nested to the shape)",
			       field, got, sh);
	}
	return 0;
}

static int parse_input(struct wj *s, int i, struct oip_input *in, int64_t max_numel, struct sbuf *key,
		       struct sbuf *str)
{
	char f[WT_NAME_MAX + 48], field[WT_NAME_MAX + 64];
	int rc, n = 0, ndim = 0, have_shape = 0, have_dtype = 0, have_data = 0;
	int64_t shape[WT_MAX_DIMS];
	struct wj deferred;
	int defer = 0;
	in->dtype = OIP_FP32;
	label(f, sizeof f, "inputs", i, NULL);
	if ((rc = wj_obj_open(s, f)))
		return rc;
	while ((rc = wj_obj_next(s, key, &n)) == 1) {
		label(f, sizeof f, "inputs", i, in->t.name);
		if (keyis(key, "name")) {
			if (in->t.name[0])
				return dup_member(s, f, key);
			snprintf(field, sizeof field, "%s.name", f);
			sb_reset(str);
			if ((rc = wj_get_string(s, field, str)))
				return rc;
			if (str->len == 0 || str->len >= WT_NAME_MAX || strlen(str->buf) != str->len)
				return err_set(s->e, WEFT_EINVAL, "%s must be 1 to %d bytes without NUL", field, WT_NAME_MAX - 1);
			memcpy(in->t.name, str->buf, str->len + 1);
		} else if (keyis(key, "shape")) {
			if (have_shape++)
				return dup_member(s, f, key);
			if ((rc = parse_shape(s, f, shape, &ndim)))
				return rc;
		} else if (keyis(key, "datatype")) {
			if (have_dtype++)
				return dup_member(s, f, key);
			snprintf(field, sizeof field, "%s.datatype", f);
			sb_reset(str);
			if ((rc = wj_get_string(s, field, str)))
				return rc;
			int t = oip_dtype_parse(str->buf);
			if (t < 0)
				return err_set(s->e, WEFT_EINVAL,
					       "%s \"%.32s\" is not one of BOOL, UINT8, UINT16, UINT32, UINT64, INT8, INT16, "
					       "INT32, INT64, FP16, FP32, FP64, BF16, BYTES", field, str->buf);
			in->dtype = (enum oip_dtype)t;
		} else if (keyis(key, "parameters")) {
			if (in->parameters)
				return dup_member(s, f, key);
			snprintf(field, sizeof field, "%s.parameters", f);
			if ((rc = parse_params(s, field, &in->parameters)))
				return rc;
			if (json_object_get(in->parameters, "binary_data_size"))
				return err_set(s->e, WEFT_EINVAL, "%s.binary_data_size: binary tensor data is not supported; "
					       "send the values in \"data\" (JSON)", field);
		} else if (keyis(key, "data")) {
			if (have_data++)
				return dup_member(s, f, key);
			if (in->t.name[0] && have_shape && have_dtype) {
				if ((rc = parse_data(s, in, f, ndim, shape, max_numel)))
					return rc;
			} else {
				wj_peek(s);
				deferred = *s;
				defer = 1;
				if ((rc = wj_skip(s)))
					return rc;
			}
		} else {
			return err_set(s->e, WEFT_EINVAL, "%s has an unknown member \"%.64s\" (an input has name, shape, "
				       "datatype, parameters and data)", f, key->buf);
		}
	}
	if (rc)
		return rc;
	label(f, sizeof f, "inputs", i, in->t.name);
	const char *missing = !in->t.name[0] ? "name" : !have_shape ? "shape" : !have_dtype ? "datatype"
			      : !have_data ? "data" : NULL;
	if (missing)
		return err_set(s->e, WEFT_EINVAL, "%s has no %s", f, missing);
	if (defer)
		return parse_data(&deferred, in, f, ndim, shape, max_numel);
	return 0;
}

static void input_free(struct oip_input *in)
{
	wt_free(&in->t);
	json_decref(in->bytes);
	json_decref(in->parameters);
	in->bytes = in->parameters = NULL;
}

static int parse_inputs(struct wj *s, struct oip_request *r, int64_t max_numel, struct sbuf *key, struct sbuf *str)
{
	int rc = wj_arr_open(s, "inputs"), n = 0, cap = 0;
	if (rc)
		return rc;
	while ((rc = wj_arr_next(s, &n)) == 1) {
		if (r->ninputs >= OIP_MAX_INPUTS)
			return err_set(s->e, WEFT_EINVAL, "inputs has more than %d tensors", OIP_MAX_INPUTS);
		if (r->ninputs == cap) {
			cap = cap ? cap * 2 : 4;
			r->inputs = xrealloc(r->inputs, sizeof *r->inputs * (size_t)cap);
		}
		struct oip_input *in = &r->inputs[r->ninputs++];
		memset(in, 0, sizeof *in);
		if ((rc = parse_input(s, r->ninputs - 1, in, max_numel, key, str)))
			return rc;
		for (int j = 0; j < r->ninputs - 1; j++)
			if (strcmp(r->inputs[j].t.name, in->t.name) == 0)
				return err_set(s->e, WEFT_EINVAL, "inputs[%d] and inputs[%d] are both named \"%s\"", j,
					       r->ninputs - 1, in->t.name);
	}
	if (rc)
		return rc;
	if (r->ninputs == 0)
		return err_set(s->e, WEFT_EINVAL, "inputs is empty: a request needs at least one input");
	return 0;
}

static int parse_outputs(struct wj *s, struct oip_request *r, struct sbuf *key, struct sbuf *str)
{
	int rc = wj_arr_open(s, "outputs"), n = 0, cap = 0;
	char f[WT_NAME_MAX + 48];
	if (rc)
		return rc;
	while ((rc = wj_arr_next(s, &n)) == 1) {
		if (r->noutputs >= OIP_MAX_INPUTS)
			return err_set(s->e, WEFT_EINVAL, "outputs has more than %d entries", OIP_MAX_INPUTS);
		if (r->noutputs == cap) {
			cap = cap ? cap * 2 : 4;
			r->outputs = xrealloc(r->outputs, sizeof *r->outputs * (size_t)cap);
		}
		struct oip_requested_output *o = &r->outputs[r->noutputs++];
		memset(o, 0, sizeof *o);
		int i = r->noutputs - 1, m = 0;
		label(f, sizeof f, "outputs", i, NULL);
		if ((rc = wj_obj_open(s, f)))
			return rc;
		while ((rc = wj_obj_next(s, key, &m)) == 1) {
			label(f, sizeof f, "outputs", i, o->name);
			if (keyis(key, "name")) {
				char field[WT_NAME_MAX + 64];
				if (o->name[0])
					return dup_member(s, f, key);
				snprintf(field, sizeof field, "%s.name", f);
				sb_reset(str);
				if ((rc = wj_get_string(s, field, str)))
					return rc;
				if (str->len == 0 || str->len >= WT_NAME_MAX || strlen(str->buf) != str->len)
					return err_set(s->e, WEFT_EINVAL, "%s must be 1 to %d bytes without NUL", field,
						       WT_NAME_MAX - 1);
				memcpy(o->name, str->buf, str->len + 1);
			} else if (keyis(key, "parameters")) {
				char field[WT_NAME_MAX + 64];
				if (o->parameters)
					return dup_member(s, f, key);
				snprintf(field, sizeof field, "%s.parameters", f);
				if ((rc = parse_params(s, field, &o->parameters)))
					return rc;
			} else {
				return err_set(s->e, WEFT_EINVAL, "%s has an unknown member \"%.64s\" (a requested output has "
					       "name and parameters)", f, key->buf);
			}
		}
		if (rc)
			return rc;
		if (!o->name[0])
			return err_set(s->e, WEFT_EINVAL, "%s has no name", f);
		for (int j = 0; j < i; j++)
			if (strcmp(r->outputs[j].name, o->name) == 0)
				return err_set(s->e, WEFT_EINVAL, "outputs[%d] and outputs[%d] both ask for \"%s\"", j, i,
					       o->name);
	}
	return rc;
}

int oip_parse_request(const char *body, size_t len, int64_t max_numel, struct oip_request *r, struct weft_err *e)
{
	memset(r, 0, sizeof *r);
	if (max_numel <= 0)
		max_numel = OIP_DEFAULT_MAX_NUMEL;
	struct wj s;
	struct sbuf key = SBUF_INIT, str = SBUF_INIT;
	int rc, n = 0, have_inputs = 0, have_outputs = 0;
	wj_init(&s, body ? body : "", body ? len : 0, e);
	if (wj_peek(&s) < 0) {
		rc = wj_syntax(&s, NULL, "the body is empty");
		goto out;
	}
	if ((rc = wj_obj_open(&s, "the request body")))
		goto out;
	while ((rc = wj_obj_next(&s, &key, &n)) == 1) {
		if (keyis(&key, "id")) {
			if (r->id) {
				rc = dup_member(&s, "the request", &key);
				break;
			}
			sb_reset(&str);
			if ((rc = wj_get_string(&s, "id", &str)))
				break;
			r->id = xstrndup(str.buf, str.len);
		} else if (keyis(&key, "parameters")) {
			if (r->parameters) {
				rc = dup_member(&s, "the request", &key);
				break;
			}
			if ((rc = parse_params(&s, "parameters", &r->parameters)))
				break;
		} else if (keyis(&key, "inputs")) {
			if (have_inputs++) {
				rc = dup_member(&s, "the request", &key);
				break;
			}
			if ((rc = parse_inputs(&s, r, max_numel, &key, &str)))
				break;
		} else if (keyis(&key, "outputs")) {
			if (have_outputs++) {
				rc = dup_member(&s, "the request", &key);
				break;
			}
			if ((rc = parse_outputs(&s, r, &key, &str)))
				break;
		} else {
			rc = err_set(e, WEFT_EINVAL, "unknown member \"%.64s\" (an inference request has id, parameters, "
				     "inputs and outputs)", key.buf);
			break;
		}
	}
	if (!rc)
		rc = wj_finish(&s);
	if (!rc && !have_inputs)
		rc = err_set(e, WEFT_EINVAL, "the request has no inputs");
out:
	sb_release(&key);
	sb_release(&str);
	if (rc)
		oip_request_free(r);
	return rc;
}

void oip_request_free(struct oip_request *r)
{
	for (int i = 0; i < r->ninputs; i++)
		input_free(&r->inputs[i]);
	for (int i = 0; i < r->noutputs; i++)
		json_decref(r->outputs[i].parameters);
	free(r->inputs);
	free(r->outputs);
	free(r->id);
	json_decref(r->parameters);
	memset(r, 0, sizeof *r);
}

static void spec_list(struct sbuf *sb, const struct serve_tensor_spec *t, int n)
{
	for (int i = 0; i < n; i++)
		sb_addf(sb, "%s%s", i ? ", " : "", t[i].name);
}

int oip_check_request(const struct oip_request *r, const struct serve_model_meta *m, struct weft_err *e)
{
	char f[WT_NAME_MAX + 48], a[200], b[200];
	struct sbuf list = SBUF_INIT;
	int rc = 0;
	struct serve_model_meta mm = *m;
	if (!mm.name)
		mm.name = "";
	m = &mm;
	for (int i = 0; m->ninputs > 0 && i < r->ninputs && !rc; i++) {
		const struct oip_input *in = &r->inputs[i];
		const struct serve_tensor_spec *sp = NULL;
		for (int j = 0; j < m->ninputs && !sp; j++)
			if (strcmp(m->inputs[j].name, in->t.name) == 0)
				sp = &m->inputs[j];
		label(f, sizeof f, "inputs", i, in->t.name);
		if (!sp) {
			spec_list(&list, m->inputs, m->ninputs);
			rc = err_set(e, WEFT_EINVAL, "%s: model \"%s\" has no such input (its inputs: %s)", f, m->name,
				     sb_str(&list));
			break;
		}
		int ok = sp->ndim == in->t.ndim;
		for (int d = 0; ok && d < sp->ndim; d++)
			ok = sp->shape[d] < 0 || sp->shape[d] == in->t.shape[d];
		if (!ok) {
			shape_str(a, sizeof a, in->t.ndim, in->t.shape);
			shape_str(b, sizeof b, sp->ndim, sp->shape);
			rc = err_set(e, WEFT_EINVAL, "%s has shape %s; model \"%s\" takes %s (-1: any size)", f, a, m->name, b);
		} else if ((in->dtype == OIP_BYTES) != (strcmp(sp->datatype, "BYTES") == 0)) {
			rc = err_set(e, WEFT_EINVAL, "%s is %s; model \"%s\" takes %s", f, oip_dtype_name(in->dtype), m->name,
				     sp->datatype);
		}
	}
	for (int j = 0; m->ninputs > 0 && j < m->ninputs && !rc; j++) {
		int found = 0;
		for (int i = 0; i < r->ninputs && !found; i++)
			found = strcmp(m->inputs[j].name, r->inputs[i].t.name) == 0;
		if (!found) {
			shape_str(b, sizeof b, m->inputs[j].ndim, m->inputs[j].shape);
			rc = err_set(e, WEFT_EINVAL, "inputs has no \"%s\", which model \"%s\" needs (%s %s)", m->inputs[j].name,
				     m->name, m->inputs[j].datatype, b);
		}
	}
	for (int i = 0; m->noutputs > 0 && i < r->noutputs && !rc; i++) {
		int found = 0;
		for (int j = 0; j < m->noutputs && !found; j++)
			found = strcmp(m->outputs[j].name, r->outputs[i].name) == 0;
		if (!found) {
			sb_reset(&list);
			spec_list(&list, m->outputs, m->noutputs);
			rc = err_set(e, WEFT_EINVAL, "outputs[%d] asks for \"%s\"; model \"%s\" has outputs: %s", i,
				     r->outputs[i].name, m->name, sb_str(&list));
		}
	}
	sb_release(&list);
	return rc;
}

int oip_output_wanted(const struct oip_request *r, const char *name)
{
	if (r->noutputs == 0)
		return 1;
	for (int i = 0; i < r->noutputs; i++)
		if (strcmp(r->outputs[i].name, name) == 0)
			return 1;
	return 0;
}

static void put_flat_strings(struct sbuf *sb, const json_t *a, int *first)
{
	size_t i;
	const json_t *v;
	json_array_foreach(a, i, v) {
		if (json_is_array(v)) {
			put_flat_strings(sb, v, first);
			continue;
		}
		if (!*first)
			sb_addc(sb, ',');
		*first = 0;
		if (json_is_string(v))
			wj_put_str(sb, json_string_value(v), json_string_length(v));
		else
			wj_put_json(sb, v);
	}
}

int oip_format_response(const struct oip_reply *r, struct sbuf *out, struct weft_err *e)
{
	for (int i = 0; i < r->noutputs; i++) {
		const struct oip_output *o = &r->outputs[i];
		if (!o->t || (o->dtype == OIP_BYTES ? !json_is_array(o->bytes) : !o->t->data) || (int)o->dtype < 0 ||
		    (int)o->dtype >= NDTYPES)
			return err_set(e, WEFT_EINVAL, "output %d has no %s to send", i,
				       o->dtype == OIP_BYTES ? "BYTES array" : "tensor");
	}
	char uuid[40];
	sb_adds(out, "{\"model_name\":");
	wj_put_strz(out, r->model_name);
	if (r->model_version) {
		sb_adds(out, ",\"model_version\":");
		wj_put_strz(out, r->model_version);
	}
	sb_adds(out, ",\"id\":");
	if (!r->id)
		wj_uuid(uuid);
	wj_put_strz(out, r->id ? r->id : uuid);
	if (r->parameters) {
		sb_adds(out, ",\"parameters\":");
		wj_put_json(out, r->parameters);
	}
	sb_adds(out, ",\"outputs\":[");
	for (int i = 0; i < r->noutputs; i++) {
		const struct oip_output *o = &r->outputs[i];
		sb_adds(out, i ? ",{\"name\":" : "{\"name\":");
		wj_put_strz(out, o->name ? o->name : o->t->name);
		sb_adds(out, ",\"datatype\":");
		wj_put_strz(out, oip_dtype_name(o->dtype));
		sb_adds(out, ",\"shape\":");
		wj_put_shape(out, o->t->ndim, o->t->shape);
		if (o->parameters) {
			sb_adds(out, ",\"parameters\":");
			wj_put_json(out, o->parameters);
		}
		sb_adds(out, ",\"data\":[");
		if (o->dtype == OIP_BYTES) {
			int first = 1;
			put_flat_strings(out, o->bytes, &first);
		} else {
			wj_put_values(out, o->t->data, o->t->numel, dtype_conv[o->dtype]);
		}
		sb_adds(out, "]}");
	}
	sb_adds(out, "]}");
	return 0;
}

void oip_error_body(const char *msg, struct sbuf *out)
{
	sb_adds(out, "{\"error\":");
	wj_put_strz(out, msg);
	sb_addc(out, '}');
}

int oip_http_status(int code)
{
	switch (code) {
	case WEFT_EINVAL: return 400;
	case WEFT_ETOOBIG: return 413;
	case WEFT_ENOTFOUND: return 404;
	case WEFT_EAUTH: return 401;
	case WEFT_EPERM: return 403;
	case WEFT_ECONFLICT: return 409;
	default: return 500;
	}
}

void oip_server_metadata(const char *name, const char *version, const char *const *extensions, int n,
			 struct sbuf *out)
{
	sb_adds(out, "{\"name\":");
	wj_put_strz(out, name);
	sb_adds(out, ",\"version\":");
	wj_put_strz(out, version);
	sb_adds(out, ",\"extensions\":[");
	for (int i = 0; i < n; i++) {
		if (i)
			sb_addc(out, ',');
		wj_put_strz(out, extensions[i]);
	}
	sb_adds(out, "]}");
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

void oip_model_metadata(const struct serve_model_meta *m, struct sbuf *out)
{
	sb_adds(out, "{\"name\":");
	wj_put_strz(out, m->name);
	if (m->versions && m->nversions > 0) {
		sb_adds(out, ",\"versions\":[");
		for (int i = 0; i < m->nversions; i++) {
			if (i)
				sb_addc(out, ',');
			wj_put_strz(out, m->versions[i]);
		}
		sb_addc(out, ']');
	}
	sb_adds(out, ",\"platform\":");
	wj_put_strz(out, m->platform ? m->platform : "");
	sb_adds(out, ",\"inputs\":");
	put_specs(out, m->inputs, m->ninputs);
	sb_adds(out, ",\"outputs\":");
	put_specs(out, m->outputs, m->noutputs);
	sb_addc(out, '}');
}

int oip_health(int ok, const char *why, struct sbuf *out)
{
	if (ok)
		return 200;
	if (why)
		oip_error_body(why, out);
	return 400;
}

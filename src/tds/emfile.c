/* emfile.c - one line of FfDL's evaluation-metrics.txt (or one POSTed
 * record) to an em_rec: jansson parses the JSON, em_value_fit checks each
 * value against its type, and the record points into the parsed JSON and a
 * local buffer for the length of the emit call. A bad line is reported with
 * the field at fault and never half-emitted. */
#include "tds/emfile.h"
#include "tds/regex.h"
#include "util/sbuf.h"
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *json_kind(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: return "an object";
	case JSON_ARRAY: return "an array";
	case JSON_STRING: return "a string";
	case JSON_INTEGER:
	case JSON_REAL: return "a number";
	case JSON_TRUE:
	case JSON_FALSE: return "a boolean";
	default: return "null";
	}
}

/* Fills kv[] from obj ({name: {type, value}}); value texts are copied into
 * sb, their offsets in off[] until sb stops growing. */
static int parse_kvs(const json_t *obj, const char *name, int max, struct em_kv *kv, size_t *off, int *n,
		     struct sbuf *sb, struct weft_err *e)
{
	char kb[64], q[64], nb[40], numbuf[EM_NUMBUF];
	*n = 0;
	if (!json_is_object(obj))
		return err_set(e, WEFT_EINVAL, "%s: expected an object of {type, value}, got %s", name, json_kind(obj));
	if (json_object_size(obj) > (size_t)max)
		return err_set(e, WEFT_EINVAL, "%s: %zu entries, more than the %d a record holds", name, json_object_size(obj),
			       max);
	const char *key;
	json_t *ent;
	json_object_foreach((json_t *)obj, key, ent)
	{
		const char *k = em_key_text(key, kb, sizeof kb);
		if (!*key)
			return err_set(e, WEFT_EINVAL, "%s: a name is empty", name);
		if (!json_is_object(ent))
			return err_set(e, WEFT_EINVAL, "%s.%s: expected {\"type\": ..., \"value\": ...}, got %s", name, k,
				       json_kind(ent));
		const json_t *jt = json_object_get(ent, "type"), *jv = json_object_get(ent, "value");
		const char *s, *o;
		size_t len, ol;
		if (!jv)
			return err_set(e, WEFT_EINVAL, "%s.%s.value: is required", name, k);
		if (em_json_text(jv, nb, sizeof nb, &s, &len))
			return err_set(e, WEFT_EINVAL, "%s.%s.value: expected a string or a number, got %s", name, k,
				       json_kind(jv));
		int type;
		if (!jt || json_is_null(jt)) {
			type = json_is_integer(jv) ? EM_INT : json_is_real(jv) ? EM_FLOAT : EM_STRING;
		} else if (json_is_integer(jt) && json_integer_value(jt) >= 0 && json_integer_value(jt) <= EM_FLOAT) {
			type = (int)json_integer_value(jt);
		} else if (!json_is_string(jt) || (type = em_type_parse(json_string_value(jt))) < 0) {
			char tb[40];
			const char *ts;
			size_t tl;
			if (em_json_text(jt, tb, sizeof tb, &ts, &tl))
				ts = json_kind(jt), tl = strlen(ts);
			return err_set(e, WEFT_EINVAL,
				       "%s.%s.type: %s is not a value type (use 0..3 or STRING, JSONSTRING, INT, FLOAT)", name,
				       k, em_quote(ts, tl, q, sizeof q));
		}
		double num = 0;
		int t = em_value_fit(type, s, len, numbuf, &o, &ol, &num);
		if (t < 0)
			return err_set(e, WEFT_EINVAL, "%s.%s.value: %s is not %s", name, k, em_quote(s, len, q, sizeof q),
				       type == EM_INT ? "an integer" : type == EM_FLOAT ? "a finite number" : "valid JSON text");
		if (type == EM_STRING && memchr(s, '\0', len))
			return err_set(e, WEFT_EINVAL, "%s.%s.value: contains a NUL character", name, k);
		kv[*n].key = key;
		kv[*n].type = (enum em_type)t;
		kv[*n].value = NULL;
		kv[*n].has_num = t == EM_INT || t == EM_FLOAT;
		kv[*n].num = num;
		off[(*n)++] = sb->len;
		sb_add(sb, o, ol);
		sb_addc(sb, '\0');
	}
	return 0;
}

static int parse_meta(const json_t *meta, struct em_rec *r, char *subbuf, size_t subsize, struct weft_err *e)
{
	char q[64], nb[40];
	const char *s;
	size_t len;
	if (!meta || json_is_null(meta))
		return 0;
	if (!json_is_object(meta))
		return err_set(e, WEFT_EINVAL, "meta: expected an object, got %s", json_kind(meta));
	const json_t *t = json_object_get(meta, "time"), *sub = json_object_get(meta, "subid");
	if (t && !json_is_null(t)) {
		if (em_json_text(t, nb, sizeof nb, &s, &len))
			return err_set(e, WEFT_EINVAL, "meta.time: expected ms since the epoch, got %s", json_kind(t));
		/* 0 or negative: the ingestion time, as an unset protobuf field */
		int unset = json_is_number(t) ? json_number_value(t) <= 0 : (len == 0 || (len == 1 && s[0] == '0'));
		if (!unset && !(r->time_ms = em_time_parse(s, len)))
			return err_set(e, WEFT_EINVAL, "meta.time: %s is not a time (ms since the epoch or an ISO 8601 timestamp)",
				       em_quote(s, len, q, sizeof q));
	}
	if (sub && !json_is_null(sub)) {
		if (em_json_text(sub, subbuf, subsize, &s, &len) || json_is_real(sub))
			return err_set(e, WEFT_EINVAL, "meta.subid: expected a string, got %s", json_kind(sub));
		if (memchr(s, '\0', len))
			return err_set(e, WEFT_EINVAL, "meta.subid: contains a NUL character");
		r->subid = len ? s : NULL;
	}
	return 0;
}

int emfile_parse_line(const char *line, size_t len, em_emit_fn emit, void *ctx, struct weft_err *e)
{
	size_t i = 0;
	while (i < len && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r' || line[i] == '\n'))
		i++;
	if (i == len)
		return 0;
	if (len > EMFILE_LINE_MAX)
		return err_set(e, WEFT_EINVAL, "the line is %zu bytes long, over the limit of %d", len, EMFILE_LINE_MAX);
	json_error_t je;
	json_t *j = json_loadb(line, len, JSON_DECODE_ANY, &je);
	if (!j)
		return err_set(e, WEFT_EINVAL, "not JSON: %s at character %d", je.text, je.position);
	struct sbuf sb = SBUF_INIT;
	struct em_rec r;
	size_t off_e[EM_MAX_ETIMES], off_v[EM_MAX_VALUES];
	char subbuf[40];
	int rc;
	memset(&r, 0, sizeof r);
	if (!json_is_object(j)) {
		rc = err_set(e, WEFT_EINVAL, "expected a JSON object (an emetrics record), got %s", json_kind(j));
		goto out;
	}
	const json_t *gl = json_object_get(j, "grouplabel"), *et = json_object_get(j, "etimes"),
		     *vals = json_object_get(j, "values");
	if (!json_is_string(gl) || !json_string_length(gl) || memchr(json_string_value(gl), '\0', json_string_length(gl))) {
		rc = err_set(e, WEFT_EINVAL, "grouplabel: %s",
			     !gl ? "is required" : json_is_string(gl) ? "must be a non-empty name" : "expected a string");
		goto out;
	}
	r.group = json_string_value(gl);
	if ((rc = parse_meta(json_object_get(j, "meta"), &r, subbuf, sizeof subbuf, e)))
		goto out;
	if (et && !json_is_null(et) && (rc = parse_kvs(et, "etimes", EM_MAX_ETIMES, r.etimes, off_e, &r.n_etimes, &sb, e)))
		goto out;
	if (!vals) {
		rc = err_set(e, WEFT_EINVAL, "values: is required");
		goto out;
	}
	if ((rc = parse_kvs(vals, "values", EM_MAX_VALUES, r.values, off_v, &r.n_values, &sb, e)))
		goto out;
	for (int k = 0; k < r.n_etimes; k++)
		r.etimes[k].value = sb.buf + off_e[k];
	for (int k = 0; k < r.n_values; k++)
		r.values[k].value = sb.buf + off_v[k];
	rc = emit(ctx, &r);
out:
	sb_release(&sb);
	json_decref(j);
	return rc;
}

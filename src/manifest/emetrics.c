/* emetrics.c - the manifest's evaluation_metrics block (FfDL's log-collector
 * spec): checked for shape against the YAML nodes, so errors carry lines,
 * and copied into a jansson object holding only the known fields. FfDL
 * crashed on a regex group without `meta`; here meta is simply optional. */
#include "manifest/manifest.h"
#include "manifest/node.h"
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define EM "evaluation_metrics"
#define EM_MAX_LOOKAHEAD 10000

static const char *const em_types[] = { "none", "logger", "null", "nil", "regex_extractor", "tensorboard",
					"tensorboard_extractor", "emetrics_file", "file", "optivist", "auto", NULL };
static const char *const value_types[] = { "STRING", "JSONSTRING", "INT", "FLOAT", NULL };

/* Copies a user-given map key into buf for use in a field path. */
static const char *key_for_path(struct mctx *c, yaml_node_pair_t *p, char *buf, size_t size)
{
	yaml_node_t *k = yaml_document_get_node(c->doc, p->key);
	size_t len = k->data.scalar.length, o = 0;
	const char *s = (const char *)k->data.scalar.value;
	for (size_t i = 0; i < len && o + 4 < size && i < 40; i++)
		buf[o++] = (s[i] < 0x20 || s[i] == 0x7f) ? '?' : s[i];
	if (len > 40 && o + 4 < size) {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o] = '\0';
	return buf;
}

/* obj[key node's text] = v (map_check already refused NUL bytes in keys). */
static void set_by_key(json_t *obj, yaml_node_t *k, json_t *v)
{
	json_object_setn_new(obj, (const char *)k->data.scalar.value, k->data.scalar.length, v);
}

static int get_jstring(struct mctx *c, yaml_node_t *map, const char *key, int at, const char *path, int required,
		       json_t *obj)
{
	int kl;
	char fp[FIELD_PATH_MAX];
	path_cat(fp, sizeof fp, path, key);
	yaml_node_t *v = map_get(c, map, key, at, &kl);
	if (!v) {
		if (required)
			return node_err(c, kl, fp, "is required");
		return 0;
	}
	char *s = NULL;
	int rc = node_string(c, v, fp, required, &s);
	if (rc)
		return rc;
	json_object_set_new(obj, key, json_string(s));
	free(s);
	return 0;
}

/* values / scalars / etimes: {name: {type: FLOAT, value: "$loss"}} */
static int parse_typed_values(struct mctx *c, yaml_node_t *n, int at, const char *path, json_t **out)
{
	static const char *const known[] = { "type", "value", NULL };
	char kb[64], fp[FIELD_PATH_MAX], d[96];
	if (!n || n->type != YAML_MAPPING_NODE)
		return node_err(c, n ? node_line(n) : at, path, "expected a mapping of names to {type, value}, got %s",
				node_desc(n, d, sizeof d));
	int rc = map_check(c, n, at, path, NULL); /* names are free-form */
	if (rc)
		return rc;
	json_t *obj = json_object();
	for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(c->doc, p->key);
		yaml_node_t *v = yaml_document_get_node(c->doc, p->value);
		path_cat(fp, sizeof fp, path, key_for_path(c, p, kb, sizeof kb));
		if ((rc = map_check(c, v, node_line(k), fp, known)))
			goto fail;
		json_t *entry = json_object();
		int tl;
		yaml_node_t *t = map_get(c, v, "type", node_line(k), &tl);
		if (t) {
			const char *s;
			size_t len;
			char tp[FIELD_PATH_MAX];
			path_cat(tp, sizeof tp, fp, "type");
			if ((rc = node_text(c, t, tp, &s, &len))) {
				json_decref(entry);
				goto fail;
			}
			const char *canon = NULL;
			for (size_t i = 0; value_types[i]; i++)
				if (strlen(value_types[i]) == len && !strncasecmp(value_types[i], s, len))
					canon = value_types[i];
			if (!canon) {
				json_decref(entry);
				rc = node_err(c, node_line(t), tp, "%s is not a value type (use FLOAT, INT, STRING or JSONSTRING)",
					      quote_value(s, len, d, sizeof d));
				goto fail;
			}
			json_object_set_new(entry, "type", json_string(canon));
		}
		if ((rc = get_jstring(c, v, "value", node_line(k), fp, 1, entry))) {
			json_decref(entry);
			goto fail;
		}
		set_by_key(obj, k, entry);
	}
	*out = obj;
	return 0;
fail:
	json_decref(obj);
	return rc;
}

static int parse_group(struct mctx *c, yaml_node_t *g, int at, const char *path, json_t **out)
{
	static const char *const known[] = { "regex", "meta", "values", "scalars", "etimes", NULL };
	static const char *const meta_known[] = { "time", "subid", NULL };
	int rc = map_check(c, g, at, path, known);
	if (rc)
		return rc;
	json_t *obj = json_object();
	if ((rc = get_jstring(c, g, "regex", at, path, 1, obj)))
		goto fail;
	int kl;
	char fp[FIELD_PATH_MAX];
	yaml_node_t *meta = map_get(c, g, "meta", at, &kl);
	if (meta) {
		path_cat(fp, sizeof fp, path, "meta");
		if ((rc = map_check(c, meta, kl, fp, meta_known)))
			goto fail;
		json_t *m = json_object();
		if ((rc = get_jstring(c, meta, "time", kl, fp, 0, m)) ||
		    (rc = get_jstring(c, meta, "subid", kl, fp, 0, m))) {
			json_decref(m);
			goto fail;
		}
		json_object_set_new(obj, "meta", m);
	}
	static const char *const maps[] = { "values", "scalars", "etimes" };
	for (size_t i = 0; i < 3; i++) {
		yaml_node_t *v = map_get(c, g, maps[i], at, &kl);
		if (!v)
			continue;
		json_t *j = NULL;
		path_cat(fp, sizeof fp, path, maps[i]);
		if ((rc = parse_typed_values(c, v, kl, fp, &j)))
			goto fail;
		json_object_set_new(obj, maps[i], j);
	}
	*out = obj;
	return 0;
fail:
	json_decref(obj);
	return rc;
}

static int parse_groups(struct mctx *c, yaml_node_t *n, int at, json_t *em)
{
	const char *path = EM ".groups";
	char d[96], kb[64], fp[FIELD_PATH_MAX];
	if (n->type != YAML_MAPPING_NODE)
		return node_err(c, node_line(n), path, "expected a mapping of group names to {regex, meta, values}, got %s",
				node_desc(n, d, sizeof d));
	int rc = map_check(c, n, at, path, NULL); /* group names are free-form */
	if (rc)
		return rc;
	json_t *groups = json_object();
	for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(c->doc, p->key);
		yaml_node_t *v = yaml_document_get_node(c->doc, p->value);
		path_cat(fp, sizeof fp, path, key_for_path(c, p, kb, sizeof kb));
		json_t *g = NULL;
		if (node_is_null(v)) {
			json_decref(groups);
			return node_err(c, node_line(k), fp, "is empty (a group needs at least a regex)");
		}
		if ((rc = parse_group(c, v, node_line(k), fp, &g))) {
			json_decref(groups);
			return rc;
		}
		set_by_key(groups, k, g);
	}
	json_object_set_new(em, "groups", groups);
	return 0;
}

int emetrics_parse(struct mctx *c, yaml_node_t *n, int at, json_t **out)
{
	static const char *const known[] = { "type", "in", "line_lookahead", "eventTypes", "groups", "image_tag", NULL };
	char d[96];
	int rc = map_check(c, n, at, EM, known);
	if (rc)
		return rc;
	json_t *em = json_object();
	int kl;
	yaml_node_t *t = map_get(c, n, "type", at, &kl);
	const char *type = NULL;
	if (t) {
		const char *s;
		size_t len;
		if ((rc = node_text(c, t, EM ".type", &s, &len)))
			goto fail;
		for (size_t i = 0; em_types[i]; i++)
			if (strlen(em_types[i]) == len && !strncasecmp(em_types[i], s, len))
				type = em_types[i];
		if (!type) {
			rc = node_err(c, node_line(t), EM ".type",
				      "%s is not a collector type (use tensorboard, regex_extractor, emetrics_file, logger, none or auto)",
				      quote_value(s, len, d, sizeof d));
			goto fail;
		}
		json_object_set_new(em, "type", json_string(type));
	}
	if ((rc = get_jstring(c, n, "in", at, EM, 0, em)) || (rc = get_jstring(c, n, "image_tag", at, EM, 0, em)))
		goto fail;
	yaml_node_t *la = map_get(c, n, "line_lookahead", at, &kl);
	if (la) {
		long long v;
		if ((rc = node_int(c, la, EM ".line_lookahead", 1, EM_MAX_LOOKAHEAD, &v)))
			goto fail;
		json_object_set_new(em, "line_lookahead", json_integer(v));
	}
	yaml_node_t *ev = map_get(c, n, "eventTypes", at, &kl);
	if (ev) {
		if (ev->type != YAML_SEQUENCE_NODE) {
			rc = node_err(c, node_line(ev), EM ".eventTypes", "expected a list such as [scalars], got %s",
				      node_desc(ev, d, sizeof d));
			goto fail;
		}
		json_t *arr = json_array();
		json_object_set_new(em, "eventTypes", arr);
		if ((rc = node_charge(c, (size_t)(ev->data.sequence.items.top - ev->data.sequence.items.start),
				      node_line(ev))))
			goto fail;
		size_t i = 0;
		for (yaml_node_item_t *it = ev->data.sequence.items.start; it < ev->data.sequence.items.top; it++, i++) {
			char fp[FIELD_PATH_MAX], *s = NULL;
			snprintf(fp, sizeof fp, EM ".eventTypes[%zu]", i);
			if ((rc = node_string(c, yaml_document_get_node(c->doc, *it), fp, 1, &s)))
				goto fail;
			json_array_append_new(arr, json_string(s));
			free(s);
		}
	}
	yaml_node_t *groups = map_get(c, n, "groups", at, &kl);
	if (groups && (rc = parse_groups(c, groups, kl, em)))
		goto fail;
	if (type && !strcmp(type, "regex_extractor") && !groups)
		node_warn(c, t ? node_line(t) : at, EM ": type regex_extractor without groups extracts no metrics");
	*out = em;
	return 0;
fail:
	json_decref(em);
	return rc;
}

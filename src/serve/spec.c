/* spec.c - parses a deployment spec (Seldon's SeldonDeployment, JSON or YAML)
 * into struct deployment_spec: loads the document with libyaml (JSON is
 * YAML), keeps all of it as JSON, then walks the fields weft uses with the
 * manifest's node helpers, so each error names the line and field path and
 * each field weft does not use is listed as ignored. Predictors are parsed
 * in spec_predictor.c, the walk's helpers are in spec_walk.c, rendering
 * and the short form in spec_json.c. */
#include "serve/spec.h"
#include "serve/spec_walk.h"
#include "util/mem.h"
#include "util/sbuf.h"
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- names */

int spec_name_valid(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	if (n == 0 || n > SPEC_NAME_MAX || s[0] == '-' || s[n - 1] == '-')
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return 0;
	return 1;
}

/* metadata.name is a Kubernetes object name: a DNS subdomain (labels joined by '.'). */
static int subdomain_valid(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 253)
		return 0;
	char *copy = xstrdup(s), *save = NULL;
	int ok = s[0] != '.' && s[n - 1] != '.' && !strstr(s, "..");
	for (char *l = strtok_r(copy, ".", &save); ok && l; l = strtok_r(NULL, ".", &save))
		ok = spec_name_valid(l);
	free(copy);
	return ok;
}

int spec_training_id_valid(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	if (n == 0 || n > SPEC_ID_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '_')
			return 0;
	return 1;
}

char *spec_name_from_id(const char *id)
{
	char buf[SPEC_NAME_MAX + 1];
	size_t o = 0;
	for (size_t i = 0; id && id[i] && o < SPEC_NAME_MAX; i++) {
		unsigned char c = (unsigned char)id[i];
		char out = isalnum(c) && c < 0x80 ? (char)tolower(c) : '-';
		if (out == '-' && (o == 0 || buf[o - 1] == '-'))
			continue; /* no leading or doubled '-' */
		buf[o++] = out;
	}
	while (o > 0 && buf[o - 1] == '-')
		o--;
	buf[o] = '\0';
	return xstrdup(o ? buf : "model");
}

const char *spec_runtime_name(enum spec_runtime r)
{
	return r == SPEC_RUNTIME_CUSTOM ? "custom" : "native";
}

/* ---- the whole input as JSON */

/* A plain YAML scalar as JSON: null, true/false, integer, number or string;
 * quoted scalars (all JSON strings) stay strings. */
static json_t *scalar_json(const yaml_node_t *n)
{
	const char *v = (const char *)n->data.scalar.value;
	size_t len = n->data.scalar.length;
	if (n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && !memchr(v, '\0', len)) {
		if (node_is_null(n))
			return json_null();
		if ((len == 4 && (!memcmp(v, "true", 4) || !memcmp(v, "True", 4) || !memcmp(v, "TRUE", 4))))
			return json_true();
		if ((len == 5 && (!memcmp(v, "false", 5) || !memcmp(v, "False", 5) || !memcmp(v, "FALSE", 5))))
			return json_false();
		char buf[64];
		double d;
		if (len < sizeof buf) {
			memcpy(buf, v, len);
			buf[len] = '\0';
			size_t i = buf[0] == '-' || buf[0] == '+';
			int digits = buf[i] != '\0';
			for (size_t j = i; buf[j]; j++)
				digits &= isdigit((unsigned char)buf[j]) != 0;
			if (digits && len < 19)
				return json_integer(strtoll(buf, NULL, 10));
			if (!parse_decimal(buf, &d))
				return json_real(d);
		}
	}
	return json_stringn(v, len);
}

static int to_json(struct sctx *s, yaml_node_t *n, const char *path, int depth, size_t *count, json_t **out);

static int seq_json(struct sctx *s, yaml_node_t *n, const char *path, int depth, size_t *count, json_t *arr)
{
	char kp[FIELD_PATH_MAX];
	for (size_t i = 0; i < spec_seq_len(n); i++) {
		json_t *item;
		spec_index_path(kp, sizeof kp, path, i);
		int rc = to_json(s, spec_seq_item(s, n, i), kp, depth + 1, count, &item);
		if (rc)
			return rc;
		json_array_append_new(arr, item);
	}
	return 0;
}

static int map_json(struct sctx *s, yaml_node_t *n, const char *path, int depth, size_t *count, json_t *obj)
{
	char kp[FIELD_PATH_MAX], d[96];
	for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(s->m.doc, p->key);
		if (!k || k->type != YAML_SCALAR_NODE)
			return node_err(&s->m, k ? node_line(k) : node_line(n), path, "keys must be plain names, got %s",
					node_desc(k, d, sizeof d));
		const char *key = (const char *)k->data.scalar.value;
		size_t len = k->data.scalar.length;
		spec_key_path(kp, sizeof kp, path, key, len);
		if (memchr(key, '\0', len))
			return node_err(&s->m, node_line(k), kp, "the key contains a NUL character");
		if (json_object_getn(obj, key, len)) {
			int first = node_line(k);
			for (yaml_node_pair_t *q = n->data.mapping.pairs.start; q < p; q++) {
				yaml_node_t *qk = yaml_document_get_node(s->m.doc, q->key);
				if (qk->data.scalar.length == len && !memcmp(qk->data.scalar.value, key, len)) {
					first = node_line(qk);
					break;
				}
			}
			return node_err(&s->m, node_line(k), kp, "duplicate key (first at line %d)", first);
		}
		json_t *v;
		int rc = to_json(s, yaml_document_get_node(s->m.doc, p->value), kp, depth + 1, count, &v);
		if (rc)
			return rc;
		if (json_object_setn_new(obj, key, len, v))
			return node_err(&s->m, node_line(k), kp, "the key is not valid UTF-8");
	}
	return 0;
}

/* The YAML tree under n as JSON in *out (NULL on error), within the node
 * budget and depth (a recursive alias would otherwise never end). */
static int to_json(struct sctx *s, yaml_node_t *n, const char *path, int depth, size_t *count, json_t **out)
{
	int rc;
	*out = NULL;
	if (++*count > SPEC_MAX_NODES)
		return node_err(&s->m, node_line(n), NULL,
				"the spec is too large (over %d values, counting each use of an alias)", SPEC_MAX_NODES);
	if (depth > SPEC_MAX_DEPTH)
		return node_err(&s->m, node_line(n), path, "nested deeper than %d levels (a recursive alias?)",
				SPEC_MAX_DEPTH);
	if (!n)
		return node_err(&s->m, 1, path, "refers to a missing node");
	if (n->type == YAML_SCALAR_NODE) {
		if (!(*out = scalar_json(n)))
			return node_err(&s->m, node_line(n), path, "is not valid UTF-8");
		return 0;
	}
	if (n->type == YAML_SEQUENCE_NODE) {
		*out = json_array();
		rc = seq_json(s, n, path, depth, count, *out);
	} else {
		*out = json_object();
		rc = map_json(s, n, path, depth, count, *out);
	}
	if (rc) {
		json_decref(*out);
		*out = NULL;
	}
	return rc;
}

/* ---- the document */

static int parse_metadata(struct sctx *s, yaml_node_t *root, int at, struct deployment_spec *d)
{
	static const char *const used[] = { "name", "namespace", "labels", "annotations", NULL };
	char q[96];
	int kl, rc;
	yaml_node_t *md = map_get(&s->m, root, "metadata", at, &kl);
	d->labels = json_object();
	d->meta_annotations = json_object();
	if (!md)
		return 0;
	if ((rc = spec_walk_map(s, md, kl, "metadata", used)) ||
	    (rc = spec_get_string(s, md, "name", kl, "metadata", 0, &d->metadata_name)) ||
	    (rc = spec_get_string(s, md, "namespace", kl, "metadata", 0, &d->namespace)) ||
	    (rc = spec_get_strmap(s, md, "labels", kl, "metadata", &d->labels)) ||
	    (rc = spec_get_strmap(s, md, "annotations", kl, "metadata", &d->meta_annotations)))
		return rc;
	if (d->metadata_name && !subdomain_valid(d->metadata_name)) {
		map_get(&s->m, md, "name", kl, &kl);
		return node_err(&s->m, kl, "metadata.name",
				"%s is not a valid Kubernetes name (a-z, 0-9, '-' and '.', at most 253)",
				quote_value(d->metadata_name, strlen(d->metadata_name), q, sizeof q));
	}
	if (d->namespace) {
		map_get(&s->m, md, "namespace", kl, &kl);
		return spec_check_name(s, kl, "metadata.namespace", d->namespace);
	}
	return 0;
}

/* oauth_key and oauth_secret come together. */
static int check_oauth(struct sctx *s, yaml_node_t *sp, int at, struct deployment_spec *d)
{
	int kl;
	if (!d->oauth_key == !d->oauth_secret)
		return 0;
	const char *missing = d->oauth_key ? "oauth_secret" : "oauth_key";
	map_get(&s->m, sp, d->oauth_key ? "oauth_key" : "oauth_secret", at, &kl);
	char fp[FIELD_PATH_MAX];
	return node_err(&s->m, kl, path_cat(fp, sizeof fp, "spec", missing),
			"is required with %s (clients authenticate with both)", d->oauth_key ? "oauth_key" : "oauth_secret");
}

/* Splits traffic: either every predictor that is not a shadow gives one and
 * they sum to 100, or none does and 100 is split evenly. */
static int split_traffic(struct sctx *s, struct deployment_spec *d, const int *given, const int *line, int at)
{
	size_t n_main = 0, n_given = 0, first_given = 0;
	int sum = 0;
	for (size_t i = 0; i < d->n_predictors; i++) {
		if (d->predictors[i].shadow)
			continue;
		if (given[i] && !n_given++)
			first_given = i;
		n_main++;
		sum += given[i] ? d->predictors[i].traffic : 0;
	}
	if (n_main == 0)
		return node_err(&s->m, at, "spec.predictors",
				"every predictor is a shadow; at least one must answer requests");
	if (n_given == 0) {
		size_t k = 0;
		for (size_t i = 0; i < d->n_predictors; i++)
			if (!d->predictors[i].shadow)
				d->predictors[i].traffic = (int)(100 / n_main + (k++ < 100 % n_main));
		return 0;
	}
	for (size_t i = 0; i < d->n_predictors; i++)
		if (!d->predictors[i].shadow && !given[i]) {
			char fp[FIELD_PATH_MAX];
			snprintf(fp, sizeof fp, "spec.predictors[%zu].traffic", i);
			return node_err(&s->m, d->predictors[i].line, fp,
					"is missing while spec.predictors[%zu].traffic is set (line %d): give every predictor "
					"that is not a shadow a traffic, or none to split evenly",
					first_given, line[first_given]);
		}
	if (sum != 100) {
		struct sbuf sb = SBUF_INIT;
		for (size_t i = 0; i < d->n_predictors; i++)
			if (!d->predictors[i].shadow)
				sb_addf(&sb, "%s%s %d", sb.len ? ", " : "", d->predictors[i].name, d->predictors[i].traffic);
		int rc = node_err(&s->m, at, "spec.predictors",
				  "the traffic of the predictors that are not shadows sums to %d, not 100 (%s)", sum,
				  sb_str(&sb));
		sb_release(&sb);
		return rc;
	}
	return 0;
}

static int parse_predictors(struct sctx *s, yaml_node_t *sp, int at, struct deployment_spec *d)
{
	char q[96];
	int kl, rc, default_replicas = 1;
	if ((rc = spec_get_int(s, sp, "replicas", at, "spec", 1, SPEC_MAX_REPLICAS, &default_replicas, NULL)))
		return rc;
	yaml_node_t *v = map_get(&s->m, sp, "predictors", at, &kl);
	if (!v)
		return node_err(&s->m, kl, "spec.predictors", "is required (a list with at least one predictor)");
	if (v->type != YAML_SEQUENCE_NODE)
		return node_err(&s->m, node_line(v), "spec.predictors", "expected a list of predictors, got %s",
				node_desc(v, q, sizeof q));
	size_t n = spec_seq_len(v);
	if (n == 0)
		return node_err(&s->m, kl, "spec.predictors", "is empty (at least one predictor is required)");
	if (n > SPEC_MAX_PREDICTORS)
		return node_err(&s->m, kl, "spec.predictors", "has %zu predictors (at most %d)", n, SPEC_MAX_PREDICTORS);
	int given[SPEC_MAX_PREDICTORS] = { 0 }, line[SPEC_MAX_PREDICTORS] = { 0 };
	d->predictors = xcalloc(n, sizeof *d->predictors);
	for (size_t i = 0; i < n; i++) {
		struct spec_predictor *p = &d->predictors[i];
		d->n_predictors = i + 1;
		if ((rc = spec_parse_predictor(s, spec_seq_item(s, v, i), i, default_replicas, p, &given[i], &line[i])))
			return rc;
		for (size_t j = 0; j < i; j++)
			if (!strcmp(d->predictors[j].name, p->name)) {
				char fp[FIELD_PATH_MAX];
				int nl;
				map_get(&s->m, spec_seq_item(s, v, i), "name", p->line, &nl);
				snprintf(fp, sizeof fp, "spec.predictors[%zu].name", i);
				return node_err(&s->m, nl, fp, "%s is used twice (also by spec.predictors[%zu] at line %d)",
						quote_value(p->name, strlen(p->name), q, sizeof q), j, d->predictors[j].line);
			}
	}
	return split_traffic(s, d, given, line, kl);
}

static int parse_spec(struct sctx *s, yaml_node_t *root, int at, struct deployment_spec *d)
{
	static const char *const used[] = { "name",	"annotations", "oauth_key", "oauth_secret", "predictors",
					    "replicas", "request_log", "port",	    "transport",    NULL };
	char q[96];
	int kl, rc, port_given;
	yaml_node_t *sp = map_get(&s->m, root, "spec", at, &kl);
	d->annotations = json_object();
	if (!sp)
		return node_err(&s->m, kl, "spec", "is required (name and predictors)");
	if ((rc = spec_walk_map(s, sp, kl, "spec", used)))
		return rc;
	int at_spec = kl;
	if ((rc = spec_get_string(s, sp, "name", at_spec, "spec", 1, &d->name)))
		return rc;
	map_get(&s->m, sp, "name", at_spec, &kl);
	if ((rc = spec_check_name(s, kl, "spec.name", d->name)) ||
	    (rc = spec_get_strmap(s, sp, "annotations", at_spec, "spec", &d->annotations)) ||
	    (rc = spec_get_string(s, sp, "oauth_key", at_spec, "spec", 0, &d->oauth_key)) ||
	    (rc = spec_get_string(s, sp, "oauth_secret", at_spec, "spec", 0, &d->oauth_secret)) ||
	    (rc = check_oauth(s, sp, at_spec, d)) ||
	    (rc = spec_get_bool(s, sp, "request_log", at_spec, "spec", &d->request_log)) ||
	    (rc = spec_get_int(s, sp, "port", at_spec, "spec", 1, 65535, &d->port, &port_given)))
		return rc;
	yaml_node_t *tr = map_get(&s->m, sp, "transport", at_spec, &kl);
	if (tr) {
		const char *t;
		size_t len;
		if ((rc = node_text(&s->m, tr, "spec.transport", &t, &len)))
			return rc;
		if (!(len == 4 && !strncasecmp(t, "rest", 4)))
			return node_err(&s->m, node_line(tr), "spec.transport",
					"%s is not served: weft answers REST only (Seldon's /api/v1.0 and the Open "
					"Inference Protocol's /v2 over HTTP); use rest",
					quote_value(t, len, q, sizeof q));
	}
	return parse_predictors(s, sp, at_spec, d);
}

static int parse_root(struct sctx *s, yaml_node_t *root, struct deployment_spec *d)
{
	static const char *const used[] = { "apiVersion", "kind", "metadata", "spec", NULL };
	char q[96];
	int at = node_line(root), rc;
	if (root->type != YAML_MAPPING_NODE)
		return node_err(&s->m, at, NULL,
				"a deployment spec must be a mapping (apiVersion, kind, metadata, spec), got %s",
				node_desc(root, q, sizeof q));
	if ((rc = spec_walk_map(s, root, at, "", used)))
		return rc;
	char *kind = NULL, *api = NULL;
	rc = spec_get_string(s, root, "apiVersion", at, "", 0, &api);
	if (!rc)
		rc = spec_get_string(s, root, "kind", at, "", 0, &kind);
	if (!rc && kind && strcmp(kind, "SeldonDeployment")) {
		int kl;
		map_get(&s->m, root, "kind", at, &kl);
		rc = node_err(&s->m, kl, "kind", "%s is not SeldonDeployment (weft deploys SeldonDeployment specs)",
			      quote_value(kind, strlen(kind), q, sizeof q));
	}
	free(kind);
	free(api);
	if (rc || (rc = parse_metadata(s, root, at, d)))
		return rc;
	return parse_spec(s, root, at, d);
}

/* libyaml's reader errors carry a byte offset rather than a mark. */
static int syntax_error(yaml_parser_t *p, const char *text, size_t len, struct weft_err *e)
{
	size_t line = p->problem_mark.line + 1;
	if (p->error == YAML_MEMORY_ERROR)
		return err_set(e, WEFT_EIO, "out of memory while reading the deployment spec");
	if (p->error == YAML_READER_ERROR) {
		line = 1;
		for (size_t i = 0; i < p->problem_offset && i < len; i++)
			line += text[i] == '\n';
	}
	const char *problem = p->problem ? p->problem : "cannot parse";
	if (p->context && p->error != YAML_READER_ERROR)
		return err_set(e, WEFT_EINVAL, "line %zu: JSON/YAML syntax error: %s (%s at line %zu)", line, problem,
			       p->context, (size_t)p->context_mark.line + 1);
	return err_set(e, WEFT_EINVAL, "line %zu: JSON/YAML syntax error: %s", line, problem);
}

/* libyaml spends O(depth) per token inside flow collections, so deep
 * nesting is refused from the event stream before the document is built. */
static int check_depth(const char *text, size_t len, struct weft_err *e)
{
	yaml_parser_t p;
	yaml_event_t ev;
	int depth = 0, rc = 0;
	if (!yaml_parser_initialize(&p))
		return err_set(e, WEFT_EIO, "out of memory while reading the deployment spec");
	yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
	while (yaml_parser_parse(&p, &ev)) {
		yaml_event_type_t type = ev.type;
		if ((type == YAML_SEQUENCE_START_EVENT || type == YAML_MAPPING_START_EVENT) &&
		    ++depth > SPEC_MAX_DEPTH)
			rc = err_set(e, WEFT_EINVAL, "line %zu: nested deeper than %d levels",
				     (size_t)ev.start_mark.line + 1, SPEC_MAX_DEPTH);
		else if (type == YAML_SEQUENCE_END_EVENT || type == YAML_MAPPING_END_EVENT)
			depth--;
		yaml_event_delete(&ev);
		if (rc || type == YAML_STREAM_END_EVENT)
			break;
	}
	yaml_parser_delete(&p);
	return rc;
}

static int ignored_cmp(const void *pa, const void *pb)
{
	const struct spec_ignored *a = pa, *b = pb;
	if (a->line != b->line)
		return a->line < b->line ? -1 : 1;
	return strcmp(a->path, b->path);
}

int spec_parse(const char *text, size_t len, struct deployment_spec **out, struct weft_err *e)
{
	yaml_parser_t parser;
	yaml_document_t doc, extra;
	*out = NULL;
	if (!text) {
		text = "";
		len = 0;
	}
	/* YAML refuses tabs where JSON allows them around the document
	 * ("\t{...}\n\t\n"): those become spaces, which keeps every line. */
	char *copy = xmalloc(len + 1);
	memcpy(copy, text, len);
	copy[len] = '\0';
	for (size_t i = 0; i < len && isspace((unsigned char)copy[i]); i++)
		copy[i] = copy[i] == '\t' ? ' ' : copy[i];
	for (size_t i = len; i > 0 && isspace((unsigned char)copy[i - 1]); i--)
		copy[i - 1] = copy[i - 1] == '\t' ? ' ' : copy[i - 1];
	text = copy;
	int rc = check_depth(text, len, e);
	if (rc) {
		free(copy);
		return rc;
	}
	if (!yaml_parser_initialize(&parser)) {
		free(copy);
		return err_set(e, WEFT_EIO, "out of memory while reading the deployment spec");
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(&parser, &doc)) {
		rc = syntax_error(&parser, text, len, e);
		yaml_parser_delete(&parser);
		free(copy);
		return rc;
	}
	yaml_node_t *root = yaml_document_get_root_node(&doc);
	if (!root || node_is_null(root)) {
		rc = err_set(e, WEFT_EINVAL, "line 1: the deployment spec is empty (it needs spec.name and spec.predictors)");
		goto out;
	}
	if (!yaml_parser_load(&parser, &extra)) {
		rc = syntax_error(&parser, text, len, e);
		goto out;
	}
	int line2 = (int)extra.start_mark.line + 1, second = yaml_document_get_root_node(&extra) != NULL;
	yaml_document_delete(&extra);
	if (second) {
		rc = err_set(e, WEFT_EINVAL, "line %d: only one document is allowed (remove the second ---)", line2);
		goto out;
	}
	struct sctx s = { .m = { .doc = &doc, .e = e } };
	struct deployment_spec *d = xcalloc(1, sizeof *d);
	size_t count = 0;
	rc = to_json(&s, root, "", 0, &count, &d->source);
	if (!rc)
		rc = parse_root(&s, root, d);
	mctx_flush(&s.m, NULL);
	d->ignored = s.ign;
	d->n_ignored = s.n_ign;
	if (d->n_ignored > 1)
		qsort(d->ignored, d->n_ignored, sizeof *d->ignored, ignored_cmp);
	if (rc)
		spec_free(d);
	else
		*out = d;
out:
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	free(copy);
	return rc;
}

void spec_free(struct deployment_spec *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->n_predictors; i++)
		spec_predictor_free(&d->predictors[i]);
	free(d->predictors);
	for (size_t i = 0; i < d->n_ignored; i++) {
		free(d->ignored[i].path);
		free(d->ignored[i].reason);
	}
	free(d->ignored);
	free(d->name);
	free(d->metadata_name);
	free(d->namespace);
	free(d->oauth_key);
	free(d->oauth_secret);
	json_decref(d->annotations);
	json_decref(d->labels);
	json_decref(d->meta_annotations);
	json_decref(d->source);
	free(d);
}

/* manifest.c - parses an FfDL training manifest (YAML) into struct manifest.
 * libyaml's document API gives every node a line, so unlike FfDL (which fell
 * back to 512MB on a bad memory string and ignored typos) a bad value is an
 * error naming the line and field, and an unknown key is a warning.
 * FfDL's defaults are applied here; manifest_to_json shows the result. */
#include "manifest/manifest.h"
#include "manifest/node.h"
#include "util/mem.h"
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const top_known[] = { "name", "description", "version", "gpus", "gpu_type", "cpus", "memory",
					 "storage", "learners", "data_stores", "framework", "evaluation_metrics",
					 "restart_policy", "max_restarts", "deadline", NULL };
static const char *const ds_known[] = { "id", "type", "training_data", "training_results", "connection", NULL };
static const char *const conn_known[] = { "auth_url", "user_name", "password", "region", "path", NULL };
static const char *const container_known[] = { "container", NULL };
static const char *const fw_known[] = { "name", "version", "command", "image_tag", NULL };
static const char *const ds_types[] = { "mount_cos", "s3_datastore", "mount_volume", "local", NULL };

/* Optional string field: left NULL when absent, null or "". */
static int opt_string(struct mctx *c, yaml_node_t *map, const char *key, int at, const char *path, char **out)
{
	int kl;
	yaml_node_t *v = map_get(c, map, key, at, &kl);
	if (!v)
		return 0;
	int rc = node_string(c, v, path, 0, out);
	if (!rc && *out && !**out) {
		free(*out);
		*out = NULL;
	}
	return rc;
}

static int req_string(struct mctx *c, yaml_node_t *map, const char *key, int at, const char *path, char **out)
{
	int kl;
	yaml_node_t *v = map_get(c, map, key, at, &kl);
	if (!v)
		return node_err(c, kl, path, "is required");
	return node_string(c, v, path, 1, out);
}

/* memory / storage: a size with a unit; 0 (with or without unit) means "default". */
static int size_field(struct mctx *c, yaml_node_t *v, const char *path, uint64_t *out)
{
	const char *s;
	size_t len;
	int rc = node_text(c, v, path, &s, &len);
	if (rc)
		return rc;
	struct weft_err se = { 0, "" };
	char *copy = xstrndup(s, len);
	rc = manifest_parse_size(copy, out, &se);
	free(copy);
	if (rc)
		return node_err(c, node_line(v), path, "%s", se.msg);
	if (*out > MANIFEST_MAX_SIZE)
		return node_err(c, node_line(v), path, "%s is more than 1PiB",
				quote_value(s, len, se.msg, sizeof se.msg));
	return 0;
}

static int parse_container(struct mctx *c, yaml_node_t *ds, const char *key, int at, const char *dspath,
			   int required, char **out)
{
	char path[FIELD_PATH_MAX], cpath[FIELD_PATH_MAX];
	int kl;
	path_cat(path, sizeof path, dspath, key);
	path_cat(cpath, sizeof cpath, path, "container");
	yaml_node_t *v = map_get(c, ds, key, at, &kl);
	if (!v) {
		if (required)
			return node_err(c, kl, cpath, "is required (the bucket name)");
		return 0;
	}
	int rc = map_check(c, v, kl, path, container_known);
	if (rc)
		return rc;
	return req_string(c, v, "container", kl, cpath, out);
}

static int parse_datastore(struct mctx *c, yaml_node_t *n, size_t idx, struct manifest_datastore *ds)
{
	char path[FIELD_PATH_MAX], fp[FIELD_PATH_MAX], d[96];
	int at = node_line(n), kl;
	snprintf(path, sizeof path, "data_stores[%zu]", idx);
	ds->line = at;
	if (node_is_null(n))
		return node_err(c, at, path, "is empty (a data store needs id, type and training_data)");
	int rc = map_check(c, n, at, path, ds_known);
	if (rc)
		return rc;
	path_cat(fp, sizeof fp, path, "id");
	if ((rc = req_string(c, n, "id", at, fp, &ds->id)))
		return rc;
	path_cat(fp, sizeof fp, path, "type");
	if ((rc = req_string(c, n, "type", at, fp, &ds->type)))
		return rc;
	int known = 0;
	for (size_t i = 0; ds_types[i]; i++)
		known |= !strcmp(ds->type, ds_types[i]);
	if (!known) {
		yaml_node_t *t = map_get(c, n, "type", at, &kl);
		return node_err(c, kl, fp, "%s is not a data store type (use mount_cos, s3_datastore, mount_volume or local)",
				node_desc(t, d, sizeof d));
	}
	if ((rc = parse_container(c, n, "training_data", at, path, 1, &ds->training_data)) ||
	    (rc = parse_container(c, n, "training_results", at, path, 0, &ds->training_results)))
		return rc;
	yaml_node_t *conn = map_get(c, n, "connection", at, &kl);
	if (conn) {
		path_cat(fp, sizeof fp, path, "connection");
		if ((rc = map_check(c, conn, kl, fp, conn_known)))
			return rc;
		char **fields[] = { &ds->auth_url, &ds->user_name, &ds->password, &ds->region, &ds->path };
		for (size_t i = 0; i < 5; i++) {
			char cp[FIELD_PATH_MAX];
			path_cat(cp, sizeof cp, fp, conn_known[i]);
			if ((rc = opt_string(c, conn, conn_known[i], kl, cp, fields[i])))
				return rc;
		}
	}
	return 0;
}

static int parse_data_stores(struct mctx *c, yaml_node_t *root, int at, struct manifest *m)
{
	int kl;
	char d[96];
	yaml_node_t *v = map_get(c, root, "data_stores", at, &kl);
	if (!v)
		return node_err(c, kl, "data_stores", "is required (a list with at least one data store)");
	if (v->type != YAML_SEQUENCE_NODE)
		return node_err(c, node_line(v), "data_stores", "expected a list of data stores (- id: ...), got %s",
				node_desc(v, d, sizeof d));
	size_t n = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
	if (n == 0)
		return node_err(c, kl, "data_stores", "is empty (at least one data store is required)");
	if (n > MANIFEST_MAX_DATA_STORES)
		return node_err(c, kl, "data_stores", "has %zu entries (at most %d)", n, MANIFEST_MAX_DATA_STORES);
	m->data_stores = xcalloc(n, sizeof *m->data_stores);
	for (size_t i = 0; i < n; i++) {
		struct manifest_datastore *ds = &m->data_stores[i];
		m->n_data_stores = (int)i + 1;
		int rc = parse_datastore(c, yaml_document_get_node(c->doc, v->data.sequence.items.start[i]), i, ds);
		if (rc)
			return rc;
		for (size_t j = 0; j < i; j++)
			if (!strcmp(m->data_stores[j].id, ds->id)) {
				char path[FIELD_PATH_MAX];
				snprintf(path, sizeof path, "data_stores[%zu].id", i);
				return node_err(c, ds->line, path, "%s is used twice (also at line %d)",
						quote_value(ds->id, strlen(ds->id), d, sizeof d), m->data_stores[j].line);
			}
	}
	return 0;
}

/* FfDL joins a multi-line command with spaces ("Newlines become spaces").
 * A line break and the indentation around it become one space, so a folded
 * block with more-indented continuation lines reads as one clean line. */
static void flatten_command(char *s)
{
	char *w = s;
	const char *r = s;
	while (*r == ' ' || *r == '\t' || *r == '\n' || *r == '\r')
		r++;
	while (*r) {
		const char *q = r;
		int newline = 0;
		while (*q == ' ' || *q == '\t' || *q == '\n' || *q == '\r')
			newline |= (*q++ == '\n' || q[-1] == '\r');
		if (q != r && !*q)
			break; /* trailing whitespace */
		if (newline) {
			*w++ = ' ';
			r = q;
		} else {
			*w++ = *r++;
		}
	}
	*w = '\0';
}

static int parse_framework(struct mctx *c, yaml_node_t *root, int at, struct manifest *m)
{
	int kl, rc;
	yaml_node_t *fw = map_get(c, root, "framework", at, &kl);
	if (!fw)
		return node_err(c, kl, "framework", "is required (name, version and command)");
	if ((rc = map_check(c, fw, kl, "framework", fw_known)) ||
	    (rc = req_string(c, fw, "name", kl, "framework.name", &m->framework_name)) ||
	    (rc = req_string(c, fw, "version", kl, "framework.version", &m->framework_version)) ||
	    (rc = req_string(c, fw, "command", kl, "framework.command", &m->framework_command)) ||
	    (rc = opt_string(c, fw, "image_tag", kl, "framework.image_tag", &m->framework_image_tag)))
		return rc;
	flatten_command(m->framework_command);
	return 0;
}

static int parse_resources(struct mctx *c, yaml_node_t *root, int at, struct manifest *m)
{
	int kl, rc;
	long long v;
	char q[96];
	yaml_node_t *n;
	if ((n = map_get(c, root, "gpus", at, &kl))) {
		if ((rc = node_int(c, n, "gpus", 0, MANIFEST_MAX_GPUS, &v)))
			return rc;
		m->gpus = (int)v;
	}
	if ((n = map_get(c, root, "cpus", at, &kl))) {
		double d;
		const char *s;
		size_t len;
		if ((rc = node_double(c, n, "cpus", &d)))
			return rc;
		node_text(c, n, "cpus", &s, &len);
		if (d < 0)
			return node_err(c, node_line(n), "cpus", "%s is negative (give a number of CPUs such as 0.5 or 2)",
					quote_value(s, len, q, sizeof q));
		if (d > MANIFEST_MAX_CPUS)
			return node_err(c, node_line(n), "cpus", "%s is more than %g", quote_value(s, len, q, sizeof q),
					MANIFEST_MAX_CPUS);
		if (d > 0 && d < 0.001)
			return node_err(c, node_line(n), "cpus", "%s is less than 0.001 (one millicore)",
					quote_value(s, len, q, sizeof q));
		if (d > 0)
			m->cpus = d;
	}
	if ((n = map_get(c, root, "memory", at, &kl))) {
		uint64_t b;
		if ((rc = size_field(c, n, "memory", &b)))
			return rc;
		if (b)
			m->memory = b;
	}
	if ((n = map_get(c, root, "storage", at, &kl)) && (rc = size_field(c, n, "storage", &m->storage)))
		return rc;
	if ((n = map_get(c, root, "learners", at, &kl))) {
		if ((rc = node_int(c, n, "learners", 0, MANIFEST_MAX_LEARNERS, &v)))
			return rc;
		m->learners = v ? (int)v : 1;
	}
	return 0;
}

/* weft's additions: restart_policy, max_restarts, deadline. */
static int parse_weft(struct mctx *c, yaml_node_t *root, int at, struct manifest *m)
{
	int kl, rc, pl = 0;
	long long v;
	char q[96];
	yaml_node_t *n;
	if ((n = map_get(c, root, "restart_policy", at, &pl))) {
		if ((rc = node_string(c, n, "restart_policy", 1, &m->restart_policy)))
			return rc;
		if (strcmp(m->restart_policy, "never") && strcmp(m->restart_policy, "on-failure"))
			return node_err(c, node_line(n), "restart_policy", "%s is not a restart policy (use never or on-failure)",
					quote_value(m->restart_policy, strlen(m->restart_policy), q, sizeof q));
	}
	if ((n = map_get(c, root, "max_restarts", at, &kl))) {
		if ((rc = node_int(c, n, "max_restarts", 0, MANIFEST_MAX_RESTARTS, &v)))
			return rc;
		m->max_restarts = (int)v;
	}
	if (!m->restart_policy) {
		/* max_restarts alone means "restart on failure, this many times" */
		m->restart_policy = xstrdup(m->max_restarts > 0 ? "on-failure" : "never");
	} else if (!strcmp(m->restart_policy, "never") && m->max_restarts > 0) {
		node_warn(c, kl, "max_restarts: %d has no effect with restart_policy never", m->max_restarts);
	} else if (!strcmp(m->restart_policy, "on-failure") && m->max_restarts == 0) {
		node_warn(c, pl, "restart_policy: on-failure with max_restarts 0 never restarts (set max_restarts)");
	}
	if ((n = map_get(c, root, "deadline", at, &kl))) {
		const char *s;
		size_t len;
		if ((rc = node_text(c, n, "deadline", &s, &len)))
			return rc;
		struct weft_err de = { 0, "" };
		char *copy = xstrndup(s, len);
		rc = manifest_parse_duration(copy, &m->deadline_s, &de);
		free(copy);
		if (rc)
			return node_err(c, node_line(n), "deadline", "%s", de.msg);
	}
	return 0;
}

static int parse_root(struct mctx *c, yaml_node_t *root, struct manifest *m)
{
	int at = node_line(root), kl, rc;
	char d[96];
	if (root->type != YAML_MAPPING_NODE)
		return node_err(c, at, NULL, "the manifest must be a mapping of fields (name: ..., framework: ...), got %s",
				node_desc(root, d, sizeof d));
	if ((rc = map_check(c, root, at, "", top_known)))
		return rc;
	if ((rc = req_string(c, root, "name", at, "name", &m->name)) ||
	    (rc = opt_string(c, root, "description", at, "description", &m->description)) ||
	    (rc = opt_string(c, root, "version", at, "version", &m->version)) ||
	    (rc = opt_string(c, root, "gpu_type", at, "gpu_type", &m->gpu_type)))
		return rc;
	if (!m->gpu_type)
		m->gpu_type = xstrdup(MANIFEST_DEFAULT_GPU_TYPE);
	if ((rc = parse_resources(c, root, at, m)) || (rc = parse_data_stores(c, root, at, m)) ||
	    (rc = parse_framework(c, root, at, m)))
		return rc;
	yaml_node_t *em = map_get(c, root, "evaluation_metrics", at, &kl);
	if (em && (rc = emetrics_parse(c, em, kl, &m->evaluation_metrics)))
		return rc;
	return parse_weft(c, root, at, m);
}

/* libyaml's reader errors carry a byte offset rather than a mark. */
static int syntax_error(yaml_parser_t *p, const char *text, size_t len, struct weft_err *e)
{
	size_t line = p->problem_mark.line + 1;
	if (p->error == YAML_READER_ERROR) {
		line = 1;
		for (size_t i = 0; i < p->problem_offset && i < len; i++)
			line += text[i] == '\n';
	}
	const char *problem = p->problem ? p->problem : "cannot parse";
	if (p->error == YAML_MEMORY_ERROR)
		return err_set(e, WEFT_EIO, "out of memory while reading the manifest");
	if (p->context && p->error != YAML_READER_ERROR)
		return err_set(e, WEFT_EINVAL, "line %zu: YAML syntax error: %s (%s at line %zu)", line, problem,
			       p->context, (size_t)p->context_mark.line + 1);
	return err_set(e, WEFT_EINVAL, "line %zu: YAML syntax error: %s", line, problem);
}

/* libyaml's scanner spends O(depth) per token inside flow collections, so a
 * 100 KB "[[[[..." takes minutes to load. A first pass over the events (which
 * libyaml produces lazily) refuses deep nesting before the document is built.
 * Syntax errors are left for the loader to report. */
static int check_depth(const char *text, size_t len, struct weft_err *e)
{
	yaml_parser_t p;
	yaml_event_t ev;
	int depth = 0, rc = 0;
	if (!yaml_parser_initialize(&p))
		return err_set(e, WEFT_EIO, "out of memory while reading the manifest");
	yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
	while (yaml_parser_parse(&p, &ev)) {
		yaml_event_type_t type = ev.type;
		if (type == YAML_SEQUENCE_START_EVENT || type == YAML_MAPPING_START_EVENT) {
			if (++depth > MANIFEST_MAX_DEPTH) {
				rc = err_set(e, WEFT_EINVAL, "line %zu: nested deeper than %d levels",
					     (size_t)ev.start_mark.line + 1, MANIFEST_MAX_DEPTH);
				yaml_event_delete(&ev);
				break;
			}
		} else if (type == YAML_SEQUENCE_END_EVENT || type == YAML_MAPPING_END_EVENT) {
			depth--;
		}
		yaml_event_delete(&ev);
		if (type == YAML_STREAM_END_EVENT)
			break;
	}
	yaml_parser_delete(&p);
	return rc;
}

int manifest_parse(const char *text, size_t len, struct manifest **out, struct sbuf *warnings,
		   struct weft_err *e)
{
	yaml_parser_t parser;
	yaml_document_t doc, extra;
	*out = NULL;
	if (!text)
		len = 0;
	int rc = check_depth(text ? text : "", len, e);
	if (rc)
		return rc;
	if (!yaml_parser_initialize(&parser))
		return err_set(e, WEFT_EIO, "out of memory while reading the manifest");
	yaml_parser_set_input_string(&parser, (const unsigned char *)(text ? text : ""), len);
	if (!yaml_parser_load(&parser, &doc)) {
		int rc = syntax_error(&parser, text, len, e);
		yaml_parser_delete(&parser);
		return rc;
	}
	yaml_node_t *root = yaml_document_get_root_node(&doc);
	if (!root || node_is_null(root)) {
		rc = err_set(e, WEFT_EINVAL, "line 1: the manifest is empty (it needs at least name, data_stores and framework)");
		goto out;
	}
	/* A second document would be silently ignored: refuse it. */
	if (!yaml_parser_load(&parser, &extra)) {
		rc = syntax_error(&parser, text, len, e);
		goto out;
	}
	yaml_node_t *root2 = yaml_document_get_root_node(&extra);
	int line2 = (int)extra.start_mark.line + 1;
	yaml_document_delete(&extra);
	if (root2) {
		rc = err_set(e, WEFT_EINVAL, "line %d: only one YAML document is allowed (remove the second ---)", line2);
		goto out;
	}
	struct manifest *m = xcalloc(1, sizeof *m);
	m->cpus = MANIFEST_DEFAULT_CPUS;
	m->memory = MANIFEST_DEFAULT_MEMORY;
	m->learners = 1;
	struct mctx c = { .doc = &doc, .e = e };
	rc = parse_root(&c, root, m);
	mctx_flush(&c, warnings);
	if (rc)
		manifest_free(m);
	else
		*out = m;
out:
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	return rc;
}

void manifest_free(struct manifest *m)
{
	if (!m)
		return;
	for (int i = 0; i < m->n_data_stores; i++) {
		struct manifest_datastore *ds = &m->data_stores[i];
		free(ds->id);
		free(ds->type);
		free(ds->training_data);
		free(ds->training_results);
		free(ds->auth_url);
		free(ds->user_name);
		free(ds->password);
		free(ds->region);
		free(ds->path);
	}
	free(m->data_stores);
	free(m->name);
	free(m->description);
	free(m->version);
	free(m->gpu_type);
	free(m->framework_name);
	free(m->framework_version);
	free(m->framework_command);
	free(m->framework_image_tag);
	json_decref(m->evaluation_metrics);
	free(m->restart_policy);
	free(m);
}

static void set_str(json_t *obj, const char *key, const char *s)
{
	if (s)
		json_object_set_new(obj, key, json_string(s));
}

json_t *manifest_to_json(const struct manifest *m, int with_secrets)
{
	char mem[32];
	json_t *j = json_object();
	set_str(j, "name", m->name);
	set_str(j, "description", m->description);
	set_str(j, "version", m->version);
	json_object_set_new(j, "gpus", json_integer(m->gpus));
	set_str(j, "gpu_type", m->gpu_type);
	json_object_set_new(j, "cpus", json_real(m->cpus));
	manifest_format_size(m->memory, mem, sizeof mem);
	json_object_set_new(j, "memory", json_string(mem));
	json_object_set_new(j, "memory_bytes", json_integer((json_int_t)m->memory));
	json_object_set_new(j, "storage_bytes", json_integer((json_int_t)m->storage));
	json_object_set_new(j, "learners", json_integer(m->learners));
	json_t *dss = json_array();
	for (int i = 0; i < m->n_data_stores; i++) {
		const struct manifest_datastore *ds = &m->data_stores[i];
		json_t *o = json_object();
		set_str(o, "id", ds->id);
		set_str(o, "type", ds->type);
		json_object_set_new(o, "training_data", json_pack("{ss}", "container", ds->training_data));
		if (ds->training_results)
			json_object_set_new(o, "training_results", json_pack("{ss}", "container", ds->training_results));
		json_t *conn = json_object();
		set_str(conn, "auth_url", ds->auth_url);
		set_str(conn, "user_name", ds->user_name);
		if (with_secrets)
			set_str(conn, "password", ds->password);
		set_str(conn, "region", ds->region);
		set_str(conn, "path", ds->path);
		json_object_set_new(o, "connection", conn);
		json_array_append_new(dss, o);
	}
	json_object_set_new(j, "data_stores", dss);
	json_t *fw = json_object();
	set_str(fw, "name", m->framework_name);
	set_str(fw, "version", m->framework_version);
	set_str(fw, "command", m->framework_command);
	set_str(fw, "image_tag", m->framework_image_tag);
	json_object_set_new(j, "framework", fw);
	if (m->evaluation_metrics)
		json_object_set_new(j, "evaluation_metrics", json_deep_copy(m->evaluation_metrics));
	set_str(j, "restart_policy", m->restart_policy ? m->restart_policy : "never");
	json_object_set_new(j, "max_restarts", json_integer(m->max_restarts));
	json_object_set_new(j, "deadline_s", json_integer(m->deadline_s));
	return j;
}

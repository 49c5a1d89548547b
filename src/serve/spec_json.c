/* spec_json.c - a parsed deployment spec as JSON: the canonical
 * SeldonDeployment weft uses (defaults filled in, only used fields, and
 * parseable again into the same spec), the ignored-field list, the input
 * with secrets masked for `deployment show`, and the short form
 * `weft deploy --training-id ID [--name N] [--replicas K]`. */
#include "manifest/node.h"
#include "serve/spec.h"
#include "util/mem.h"
#include <stdio.h>
#include <string.h>
#include <strings.h>

static void set_str(json_t *o, const char *key, const char *v)
{
	if (v)
		json_object_set_new(o, key, json_string(v));
}

/* A copy of a non-empty object of strings, or nothing. */
static void set_map(json_t *o, const char *key, const json_t *map)
{
	if (json_object_size(map))
		json_object_set_new(o, key, json_deep_copy(map));
}

static void add_env(json_t *env, const char *name, const char *value)
{
	if (value)
		json_array_append_new(env, json_pack("{s:s, s:s}", "name", name, "value", value));
}

static json_t *graph_json(const struct spec_predictor *p)
{
	json_t *g = json_object();
	set_str(g, "name", p->graph_name);
	set_str(g, "type", p->graph_type ? p->graph_type : "MODEL");
	json_object_set_new(g, "endpoint", json_pack("{s:s}", "type", p->endpoint_type ? p->endpoint_type : "REST"));
	if (p->n_params) {
		json_t *ps = json_array();
		for (size_t i = 0; i < p->n_params; i++)
			json_array_append_new(ps, json_pack("{s:s, s:s, s:s}", "name", p->params[i].name, "type",
							    p->params[i].type, "value", p->params[i].value));
		json_object_set_new(g, "parameters", ps);
	}
	json_object_set_new(g, "children", json_array());
	return g;
}

static json_t *predictor_json(const struct spec_predictor *p)
{
	json_t *o = json_object();
	set_str(o, "name", p->name);
	json_object_set_new(o, "replicas", json_integer(p->replicas));
	if (!p->shadow)
		json_object_set_new(o, "traffic", json_integer(p->traffic));
	json_object_set_new(o, "shadow", json_boolean(p->shadow));
	set_str(o, "runtime", spec_runtime_name(p->runtime));
	set_str(o, "command", p->command);
	set_str(o, "training_id", p->training_id);
	if (p->runtime == SPEC_RUNTIME_NATIVE)
		json_object_set_new(o, "batching", json_pack("{s:i, s:i}", "max_batch_size", p->max_batch_size,
							     "max_wait_ms", p->max_wait_ms));
	set_map(o, "annotations", p->annotations);
	set_map(o, "labels", p->labels);
	json_object_set_new(o, "graph", graph_json(p));
	json_t *env = json_array();
	add_env(env, "BUCKET_NAME", p->bucket_name);
	add_env(env, "BUCKET_ENDPOINT_URL", p->bucket_endpoint_url);
	add_env(env, "BUCKET_KEY", p->bucket_key);
	add_env(env, "BUCKET_SECRET", p->bucket_secret);
	for (size_t i = 0; i < p->n_env; i++)
		add_env(env, p->env[i].name, p->env[i].value);
	if (p->image || json_array_size(env)) {
		json_t *c = json_object();
		set_str(c, "name", p->graph_name);
		set_str(c, "image", p->image);
		if (json_array_size(env))
			json_object_set(c, "env", env);
		json_object_set_new(o, "componentSpecs",
				    json_pack("[{s:{s:[o]}}]", "spec", "containers", c));
	}
	json_decref(env);
	return o;
}

/* Environment variable names that hold secrets. */
static int secret_name(const char *n)
{
	static const char *const words[] = { "SECRET", "PASSWORD", "PASSWD", "TOKEN", "CREDENTIAL" };
	for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
		if (strcasestr(n, words[i]))
			return 1;
	return 0;
}

/* Replaces the value of each {name: SECRET-ish, value: ...} pair, anywhere. */
static void mask_env(json_t *j, int depth)
{
	if (depth > SPEC_MAX_DEPTH + 2)
		return;
	if (json_is_array(j)) {
		size_t i;
		json_t *v;
		json_array_foreach(j, i, v)
			mask_env(v, depth + 1);
		return;
	}
	if (!json_is_object(j))
		return;
	const char *name = json_string_value(json_object_get(j, "name"));
	if (name && secret_name(name) && json_object_get(j, "value"))
		json_object_set_new(j, "value", json_string("***"));
	const char *k;
	json_t *v;
	json_object_foreach(j, k, v)
		mask_env(v, depth + 1);
}

static void mask_secrets(json_t *root)
{
	json_t *sp = json_object_get(root, "spec");
	if (json_is_object(sp) && json_object_get(sp, "oauth_secret"))
		json_object_set_new(sp, "oauth_secret", json_string("***"));
	mask_env(root, 0);
}

json_t *spec_to_json(const struct deployment_spec *d, int with_secrets)
{
	json_t *root = json_pack("{s:s, s:s}", "apiVersion", "machinelearning.seldon.io/v1", "kind", "SeldonDeployment");
	json_t *md = json_object();
	set_str(md, "name", d->metadata_name);
	set_str(md, "namespace", d->namespace);
	set_map(md, "labels", d->labels);
	set_map(md, "annotations", d->meta_annotations);
	if (json_object_size(md))
		json_object_set(root, "metadata", md);
	json_decref(md);
	json_t *sp = json_object();
	set_str(sp, "name", d->name);
	set_map(sp, "annotations", d->annotations);
	set_str(sp, "oauth_key", d->oauth_key);
	set_str(sp, "oauth_secret", d->oauth_secret);
	json_object_set_new(sp, "request_log", json_boolean(d->request_log));
	if (d->port)
		json_object_set_new(sp, "port", json_integer(d->port));
	json_t *ps = json_array();
	for (size_t i = 0; i < d->n_predictors; i++)
		json_array_append_new(ps, predictor_json(&d->predictors[i]));
	json_object_set_new(sp, "predictors", ps);
	json_object_set_new(root, "spec", sp);
	if (!with_secrets)
		mask_secrets(root);
	return root;
}

json_t *spec_ignored_json(const struct deployment_spec *d)
{
	json_t *a = json_array();
	for (size_t i = 0; i < d->n_ignored; i++) {
		json_t *o = json_pack("{s:s, s:i}", "path", d->ignored[i].path, "line", d->ignored[i].line);
		if (o && d->ignored[i].reason)
			json_object_set_new(o, "reason", json_string(d->ignored[i].reason));
		if (o)
			json_array_append_new(a, o);
	}
	return a;
}

json_t *spec_source_json(const struct deployment_spec *d, int with_secrets)
{
	json_t *j = json_deep_copy(d->source);
	if (!j)
		return json_null();
	if (!with_secrets)
		mask_secrets(j);
	return j;
}

int spec_from_short(const char *training_id, const char *name, int replicas, struct deployment_spec **out,
		    struct weft_err *e)
{
	char q[96];
	*out = NULL;
	if (!training_id || !*training_id)
		return err_set(e, WEFT_EINVAL, "training_id: is required (the training job whose model to serve)");
	if (!spec_training_id_valid(training_id))
		return err_set(e, WEFT_EINVAL,
			       "training_id: %s is not a training id (1 to %d of letters, digits, '-' and '_', like "
			       "training-Ab3xYz_12)",
			       quote_value(training_id, strlen(training_id), q, sizeof q), SPEC_ID_MAX);
	if (name && *name && !spec_name_valid(name))
		return err_set(e, WEFT_EINVAL,
			       "name: %s is not a valid name (1 to %d of a-z, 0-9 and '-', starting and ending with a "
			       "letter or digit)",
			       quote_value(name, strlen(name), q, sizeof q), SPEC_NAME_MAX);
	if (replicas < 0 || replicas > SPEC_MAX_REPLICAS)
		return err_set(e, WEFT_EINVAL, "replicas: %d is out of range (1 to %d)", replicas, SPEC_MAX_REPLICAS);
	struct deployment_spec *d = xcalloc(1, sizeof *d);
	d->name = name && *name ? xstrdup(name) : spec_name_from_id(training_id);
	d->annotations = json_object();
	d->labels = json_object();
	d->meta_annotations = json_object();
	d->predictors = xcalloc(1, sizeof *d->predictors);
	d->n_predictors = 1;
	struct spec_predictor *p = &d->predictors[0];
	p->name = xstrdup("default");
	p->replicas = replicas ? replicas : 1;
	p->traffic = 100;
	p->runtime = SPEC_RUNTIME_NATIVE;
	p->training_id = xstrdup(training_id);
	p->max_batch_size = SPEC_DEFAULT_MAX_BATCH;
	p->max_wait_ms = SPEC_DEFAULT_MAX_WAIT_MS;
	p->graph_name = xstrdup(d->name);
	p->graph_type = "MODEL";
	p->endpoint_type = "REST";
	p->annotations = json_object();
	p->labels = json_object();
	p->line = 1;
	d->source = spec_to_json(d, 1);
	*out = d;
	return 0;
}

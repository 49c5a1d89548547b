/* spec_predictor.c - one predictor of a SeldonDeployment: its graph (weft
 * serves a single MODEL node over REST), the graph's container (matched by
 * name, as Seldon does) whose env carries FfDL's TRAINING_ID and BUCKET_*,
 * and weft's own fields (runtime, command, batching, training_id), which may
 * sit on the predictor or on the graph node, but not on both. */
#include "serve/spec.h"
#include "serve/spec_walk.h"
#include "util/mem.h"
#include "util/sbuf.h"
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const pred_used[] = { "name",   "replicas",	     "traffic", "shadow",  "annotations", "labels",
					 "graph",  "componentSpecs", "runtime", "command", "batching",	  "training_id",
					 NULL };
static const char *const graph_used[] = { "name",     "type",	 "endpoint", "parameters",	"children",
					  "runtime", "command", "batching", "training_id", NULL };
static const char *const endpoint_used[] = { "type", NULL };
static const char *const param_used[] = { "name", "type", "value", NULL };
static const char *const batching_used[] = { "max_batch_size", "max_wait_ms", NULL };
static const char *const cs_used[] = { "spec", NULL };
static const char *const pod_used[] = { "containers", NULL };
static const char *const container_used[] = { "name", "image", "env", NULL };
static const char *const env_used[] = { "name", "value", NULL };
static const char *const seldon_types[] = { "ROUTER", "COMBINER", "TRANSFORMER", "OUTPUT_TRANSFORMER", "UNKNOWN_TYPE",
					    NULL };
static const char *const param_types[] = { "INT", "FLOAT", "DOUBLE", "STRING", "BOOL", NULL };

/* What the walk of one predictor found, for the checks at its end. */
struct pwalk {
	const char *ppath, *gpath;
	yaml_node_t *pred, *graph;
	int pat, gat;
	char *env_tid;                /* TRAINING_ID from the container's env */
	char env_tid_path[FIELD_PATH_MAX];
	int env_tid_line;
};

static int in_list(const char *s, size_t len, const char *const *list)
{
	for (size_t i = 0; list[i]; i++)
		if (strlen(list[i]) == len && !memcmp(list[i], s, len))
			return 1;
	return 0;
}

/* ---- the graph node */

static int parse_endpoint(struct sctx *s, yaml_node_t *g, int gat, const char *gpath)
{
	char fp[FIELD_PATH_MAX], tp[FIELD_PATH_MAX], q[96];
	int kl, rc;
	yaml_node_t *ep = map_get(&s->m, g, "endpoint", gat, &kl);
	if (!ep)
		return 0;
	path_cat(fp, sizeof fp, gpath, "endpoint");
	if ((rc = spec_walk_map(s, ep, kl, fp, endpoint_used)))
		return rc;
	yaml_node_t *t = map_get(&s->m, ep, "type", kl, NULL);
	const char *v;
	size_t len;
	path_cat(tp, sizeof tp, fp, "type");
	if (!t)
		return 0;
	if ((rc = node_text(&s->m, t, tp, &v, &len)))
		return rc;
	if (len == 4 && !strncasecmp(v, "REST", 4))
		return 0;
	if (len == 4 && !strncasecmp(v, "GRPC", 4))
		return node_err(&s->m, node_line(t), tp,
				"GRPC is not served: weft answers REST only (Seldon's /api/v1.0 and the Open Inference "
				"Protocol's /v2 over HTTP, and Seldon's internal /predict for custom servers); use REST");
	return node_err(&s->m, node_line(t), tp, "%s is not an endpoint type (use REST)", quote_value(v, len, q, sizeof q));
}

static int parse_params(struct sctx *s, yaml_node_t *g, int gat, const char *gpath, struct spec_predictor *p)
{
	char fp[FIELD_PATH_MAX], ip[FIELD_PATH_MAX], vp[FIELD_PATH_MAX], q[96];
	int kl, rc;
	yaml_node_t *ps = map_get(&s->m, g, "parameters", gat, &kl);
	if (!ps)
		return 0;
	path_cat(fp, sizeof fp, gpath, "parameters");
	if (ps->type != YAML_SEQUENCE_NODE)
		return node_err(&s->m, node_line(ps), fp, "expected a list of {name, type, value}, got %s",
				node_desc(ps, q, sizeof q));
	size_t n = spec_seq_len(ps);
	if (n > SPEC_MAX_PARAMETERS)
		return node_err(&s->m, kl, fp, "has %zu parameters (at most %d)", n, SPEC_MAX_PARAMETERS);
	p->params = xcalloc(n ? n : 1, sizeof *p->params);
	for (size_t i = 0; i < n; i++) {
		yaml_node_t *it = spec_seq_item(s, ps, i);
		struct spec_param *pa = &p->params[i];
		int at = node_line(it);
		p->n_params = i + 1;
		spec_index_path(ip, sizeof ip, fp, i);
		if ((rc = spec_walk_map(s, it, at, ip, param_used)) ||
		    (rc = spec_get_string(s, it, "name", at, ip, 1, &pa->name)) ||
		    (rc = spec_get_string(s, it, "type", at, ip, 1, &pa->type)))
			return rc;
		yaml_node_t *t = map_get(&s->m, it, "type", at, &kl);
		if (!in_list(pa->type, strlen(pa->type), param_types))
			return node_err(&s->m, node_line(t), path_cat(vp, sizeof vp, ip, "type"),
					"%s is not a parameter type (use INT, FLOAT, DOUBLE, STRING or BOOL)",
					quote_value(pa->type, strlen(pa->type), q, sizeof q));
		yaml_node_t *v = map_get(&s->m, it, "value", at, &kl);
		path_cat(vp, sizeof vp, ip, "value");
		if (!v)
			return node_err(&s->m, kl, vp, "is required");
		long long iv;
		double dv;
		int bv;
		if (!strcmp(pa->type, "INT"))
			rc = spec_node_int(s, v, vp, -(1LL << 53), 1LL << 53, &iv);
		else if (!strcmp(pa->type, "FLOAT") || !strcmp(pa->type, "DOUBLE"))
			rc = node_double(&s->m, v, vp, &dv);
		else if (!strcmp(pa->type, "BOOL"))
			rc = spec_node_bool(s, v, vp, &bv);
		if (rc || (rc = node_string(&s->m, v, vp, 0, &pa->value)))
			return rc;
		for (size_t j = 0; j < i; j++)
			if (!strcmp(p->params[j].name, pa->name))
				return node_err(&s->m, at, path_cat(vp, sizeof vp, ip, "name"),
						"%s is given twice (also %s[%zu])",
						quote_value(pa->name, strlen(pa->name), q, sizeof q), fp, j);
	}
	return 0;
}

static int parse_graph(struct sctx *s, struct pwalk *w, struct spec_predictor *p)
{
	char fp[FIELD_PATH_MAX], q[96];
	int kl, rc;
	yaml_node_t *g = w->graph;
	if ((rc = spec_walk_map(s, g, w->gat, w->gpath, graph_used)) ||
	    (rc = spec_get_string(s, g, "name", w->gat, w->gpath, 1, &p->graph_name)))
		return rc;
	map_get(&s->m, g, "name", w->gat, &kl);
	if ((rc = spec_check_name(s, kl, path_cat(fp, sizeof fp, w->gpath, "name"), p->graph_name)))
		return rc;
	p->graph_type = "MODEL";
	p->endpoint_type = "REST";
	yaml_node_t *t = map_get(&s->m, g, "type", w->gat, &kl);
	if (t) {
		const char *v;
		size_t len;
		path_cat(fp, sizeof fp, w->gpath, "type");
		if ((rc = node_text(&s->m, t, fp, &v, &len)))
			return rc;
		if (in_list(v, len, seldon_types))
			return node_err(&s->m, node_line(t), fp,
					"%s is not supported: weft serves one MODEL node per predictor",
					quote_value(v, len, q, sizeof q));
		if (!(len == 5 && !memcmp(v, "MODEL", 5)))
			return node_err(&s->m, node_line(t), fp, "%s is not a graph node type (use MODEL)",
					quote_value(v, len, q, sizeof q));
	}
	if ((rc = parse_endpoint(s, g, w->gat, w->gpath)))
		return rc;
	yaml_node_t *ch = map_get(&s->m, g, "children", w->gat, &kl);
	if (ch) {
		path_cat(fp, sizeof fp, w->gpath, "children");
		if (ch->type != YAML_SEQUENCE_NODE)
			return node_err(&s->m, node_line(ch), fp, "expected a list of graph nodes, got %s",
					node_desc(ch, q, sizeof q));
		if (spec_seq_len(ch))
			return node_err(&s->m, kl, fp, "graphs of several nodes are not supported; use one MODEL node");
	}
	return parse_params(s, g, w->gat, w->gpath, p);
}

/* ---- the graph's container and its env */

/* Kubernetes' rule: letters, digits, '_', '-' and '.', not starting with a digit. */
static int env_name_valid(const char *s)
{
	if (!*s || isdigit((unsigned char)*s))
		return 0;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-' && *s != '.')
			return 0;
	return 1;
}

/* A BUCKET_* from a Kubernetes secret: say what applies instead. */
static void note_bucket_ref(struct sctx *s, const char *entry_path, const char *name)
{
	char path[FIELD_PATH_MAX];
	path_cat(path, sizeof path, entry_path, "valueFrom");
	for (size_t i = s->n_ign; i-- > 0;)
		if (!strcmp(s->ign[i].path, path)) {
			free(s->ign[i].reason);
			s->ign[i].reason = xasprintf("Kubernetes secrets are not resolved: without a value, %s comes "
						     "from the training job's data store",
						     name);
			return;
		}
}

static int parse_env(struct sctx *s, struct pwalk *w, yaml_node_t *ctr, int cat, const char *cpath,
		     struct spec_predictor *p)
{
	char fp[FIELD_PATH_MAX], ip[FIELD_PATH_MAX], vp[FIELD_PATH_MAX], q[96];
	int kl, rc;
	yaml_node_t *env = map_get(&s->m, ctr, "env", cat, &kl);
	if (!env)
		return 0;
	path_cat(fp, sizeof fp, cpath, "env");
	if (env->type != YAML_SEQUENCE_NODE)
		return node_err(&s->m, node_line(env), fp, "expected a list of {name, value}, got %s",
				node_desc(env, q, sizeof q));
	size_t n = spec_seq_len(env);
	if (n > SPEC_MAX_ENV)
		return node_err(&s->m, kl, fp, "has %zu variables (at most %d)", n, SPEC_MAX_ENV);
	char **names = xcalloc(n ? n : 1, sizeof *names);
	int *lines = xcalloc(n ? n : 1, sizeof *lines);
	p->env = xcalloc(n ? n : 1, sizeof *p->env);
	rc = 0;
	for (size_t i = 0; i < n && !rc; i++) {
		yaml_node_t *it = spec_seq_item(s, env, i);
		int at = node_line(it), vl;
		char *value = NULL;
		spec_index_path(ip, sizeof ip, fp, i);
		lines[i] = at;
		if ((rc = spec_walk_map(s, it, at, ip, env_used)) ||
		    (rc = spec_get_string(s, it, "name", at, ip, 1, &names[i])))
			break;
		path_cat(vp, sizeof vp, ip, "name");
		if (!env_name_valid(names[i])) {
			rc = node_err(&s->m, at, vp, "%s is not a variable name (letters, digits, '_', '-' and '.')",
				      quote_value(names[i], strlen(names[i]), q, sizeof q));
			break;
		}
		for (size_t j = 0; j < i && !rc; j++)
			if (!strcmp(names[j], names[i]))
				rc = node_err(&s->m, at, vp, "%s is set twice (also %s[%zu] at line %d)",
					      quote_value(names[i], strlen(names[i]), q, sizeof q), fp, j, lines[j]);
		if (rc)
			break;
		yaml_node_t *v = map_get(&s->m, it, "value", at, &vl);
		path_cat(vp, sizeof vp, ip, "value");
		if (v && (rc = node_string(&s->m, v, vp, 0, &value)))
			break;
		int from_ref = !v && map_get(&s->m, it, "valueFrom", at, NULL);
		const char *name = names[i];
		if (!strcmp(name, "TRAINING_ID")) {
			if (from_ref)
				rc = node_err(&s->m, at, ip,
					      "TRAINING_ID needs a literal value (Kubernetes references are not resolved)");
			else if (!value || !*value)
				rc = node_err(&s->m, vl, vp,
					      "TRAINING_ID is empty (give the id of the training job whose model to serve)");
			if (rc) {
				free(value);
				break;
			}
			w->env_tid = value;
			snprintf(w->env_tid_path, sizeof w->env_tid_path, "%s", vp);
			w->env_tid_line = vl;
			continue;
		}
		char **bucket = !strcmp(name, "BUCKET_NAME")	     ? &p->bucket_name
				: !strcmp(name, "BUCKET_ENDPOINT_URL") ? &p->bucket_endpoint_url
				: !strcmp(name, "BUCKET_KEY")	       ? &p->bucket_key
				: !strcmp(name, "BUCKET_SECRET")       ? &p->bucket_secret
								       : NULL;
		if (bucket) {
			if (from_ref)
				note_bucket_ref(s, ip, name);
			if (value && *value)
				*bucket = value; /* empty or a reference: the job's data store applies */
			else
				free(value);
			continue;
		}
		if (from_ref)
			continue; /* listed as ignored by the walk */
		p->env[p->n_env].name = xstrdup(name);
		p->env[p->n_env].value = value ? value : xstrdup("");
		p->n_env++;
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	free(lines);
	return rc;
}

static int parse_containers(struct sctx *s, struct pwalk *w, yaml_node_t *cs, int csl, const char *cspath,
			    struct spec_predictor *p, size_t *n_seen, int *found_line)
{
	char pp[FIELD_PATH_MAX], fp[FIELD_PATH_MAX], cp[FIELD_PATH_MAX], q[96];
	int kl, rc;
	yaml_node_t *pod = map_get(&s->m, cs, "spec", csl, &kl);
	if (!pod)
		return 0;
	path_cat(pp, sizeof pp, cspath, "spec");
	if ((rc = spec_walk_map(s, pod, kl, pp, pod_used)))
		return rc;
	yaml_node_t *cl = map_get(&s->m, pod, "containers", kl, &kl);
	if (!cl)
		return 0;
	path_cat(fp, sizeof fp, pp, "containers");
	if (cl->type != YAML_SEQUENCE_NODE)
		return node_err(&s->m, node_line(cl), fp, "expected a list of containers, got %s", node_desc(cl, q, sizeof q));
	for (size_t i = 0; i < spec_seq_len(cl); i++) {
		yaml_node_t *c = spec_seq_item(s, cl, i);
		int at = node_line(c);
		char *name = NULL;
		spec_index_path(cp, sizeof cp, fp, i);
		++*n_seen;
		if ((rc = map_check(&s->m, c, at, cp, NULL)) || (rc = spec_get_string(s, c, "name", at, cp, 1, &name)))
			return rc;
		if (strcmp(name, p->graph_name)) {
			char reason[160];
			snprintf(reason, sizeof reason,
				 "no graph node is named %s (Seldon matches containers to graph nodes by name)",
				 quote_value(name, strlen(name), q, sizeof q));
			spec_ignore(s, at, cp, reason);
			free(name);
			continue;
		}
		free(name);
		if (*found_line)
			return node_err(&s->m, at, cp, "a second container is named '%s' (the first is at line %d)",
					p->graph_name, *found_line);
		*found_line = at;
		if ((rc = spec_walk_map(s, c, at, cp, container_used)) ||
		    (rc = spec_get_string(s, c, "image", at, cp, 0, &p->image)))
			return rc;
		if (map_get(&s->m, c, "image", at, &kl))
			spec_ignore(s, kl, path_cat(pp, sizeof pp, cp, "image"), NULL);
		if ((rc = parse_env(s, w, c, at, cp, p)))
			return rc;
	}
	return 0;
}

static int parse_component_specs(struct sctx *s, struct pwalk *w, struct spec_predictor *p)
{
	char fp[FIELD_PATH_MAX], ip[FIELD_PATH_MAX], q[96];
	int kl, rc, found_line = 0;
	size_t n_seen = 0;
	yaml_node_t *cs = map_get(&s->m, w->pred, "componentSpecs", w->pat, &kl);
	if (!cs)
		return 0;
	path_cat(fp, sizeof fp, w->ppath, "componentSpecs");
	if (cs->type != YAML_SEQUENCE_NODE)
		return node_err(&s->m, node_line(cs), fp, "expected a list of component specs, got %s",
				node_desc(cs, q, sizeof q));
	for (size_t i = 0; i < spec_seq_len(cs); i++) {
		yaml_node_t *it = spec_seq_item(s, cs, i);
		spec_index_path(ip, sizeof ip, fp, i);
		if ((rc = spec_walk_map(s, it, node_line(it), ip, cs_used)) ||
		    (rc = parse_containers(s, w, it, node_line(it), ip, p, &n_seen, &found_line)))
			return rc;
	}
	if (n_seen && !found_line)
		return node_err(&s->m, kl, fp,
				"no container is named '%s', the graph node's name (Seldon matches containers to graph "
				"nodes by name)",
				p->graph_name);
	return 0;
}

/* ---- weft's fields */

/* A weft field given on the predictor or on its graph node, not both. */
static yaml_node_t *weft_field(struct sctx *s, struct pwalk *w, const char *key, char *path, size_t size, int *line,
			       int *rc)
{
	int pl, gl;
	yaml_node_t *pv = map_get(&s->m, w->pred, key, w->pat, &pl);
	yaml_node_t *gv = map_get(&s->m, w->graph, key, w->gat, &gl);
	*rc = 0;
	path_cat(path, size, pv ? w->ppath : w->gpath, key);
	*line = pv ? pl : gl;
	if (pv && gv) {
		path_cat(path, size, w->gpath, key);
		*rc = node_err(&s->m, gl, path, "is also given at %s.%s (line %d); give it once", w->ppath, key, pl);
	}
	return pv ? pv : gv;
}

/* Appends s to sb quoted for /bin/sh when it needs it. */
static void shell_word(struct sbuf *sb, const char *s, size_t len)
{
	int plain = len > 0;
	for (size_t i = 0; i < len && plain; i++)
		plain = isalnum((unsigned char)s[i]) || strchr("_./:=@%+,-", s[i]);
	if (plain) {
		sb_add(sb, s, len);
		return;
	}
	sb_addc(sb, '\'');
	for (size_t i = 0; i < len; i++)
		if (s[i] == '\'')
			sb_adds(sb, "'\\''");
		else
			sb_addc(sb, s[i]);
	sb_addc(sb, '\'');
}

/* command: a shell command line, or a list of words (Kubernetes style) quoted into one. */
static int parse_command(struct sctx *s, yaml_node_t *v, const char *path, char **out)
{
	char ip[FIELD_PATH_MAX];
	int rc;
	if (v->type != YAML_SEQUENCE_NODE) {
		if ((rc = node_string(&s->m, v, path, 1, out)))
			return rc;
		size_t n = strlen(*out);
		while (n > 0 && isspace((unsigned char)(*out)[n - 1]))
			(*out)[--n] = '\0';
		return 0;
	}
	size_t n = spec_seq_len(v);
	if (n == 0)
		return node_err(&s->m, node_line(v), path, "is empty (give the program to run and its arguments)");
	struct sbuf sb = SBUF_INIT;
	for (size_t i = 0; i < n; i++) {
		const char *t;
		size_t len;
		spec_index_path(ip, sizeof ip, path, i);
		if ((rc = node_text(&s->m, spec_seq_item(s, v, i), ip, &t, &len))) {
			sb_release(&sb);
			return rc;
		}
		if (i)
			sb_addc(&sb, ' ');
		shell_word(&sb, t, len);
	}
	*out = sb_detach(&sb);
	return 0;
}

static int parse_weft_fields(struct sctx *s, struct pwalk *w, struct spec_predictor *p)
{
	char rpath[FIELD_PATH_MAX], cpath[FIELD_PATH_MAX], bpath[FIELD_PATH_MAX], q[96];
	int rline, cline, bline, rc;
	yaml_node_t *rt = weft_field(s, w, "runtime", rpath, sizeof rpath, &rline, &rc);
	if (rc)
		return rc;
	yaml_node_t *cmd = weft_field(s, w, "command", cpath, sizeof cpath, &cline, &rc);
	if (rc)
		return rc;
	yaml_node_t *bt = weft_field(s, w, "batching", bpath, sizeof bpath, &bline, &rc);
	if (rc)
		return rc;
	p->runtime = cmd ? SPEC_RUNTIME_CUSTOM : SPEC_RUNTIME_NATIVE;
	if (rt) {
		const char *v;
		size_t len;
		if ((rc = node_text(&s->m, rt, rpath, &v, &len)))
			return rc;
		if (len == 6 && !memcmp(v, "native", 6))
			p->runtime = SPEC_RUNTIME_NATIVE;
		else if (len == 6 && !memcmp(v, "custom", 6))
			p->runtime = SPEC_RUNTIME_CUSTOM;
		else
			return node_err(&s->m, node_line(rt), rpath,
					"%s is not a runtime (use native: weft serves the job's model.onnx, or custom: "
					"weft runs `command`)",
					quote_value(v, len, q, sizeof q));
	}
	if (cmd && p->runtime == SPEC_RUNTIME_NATIVE)
		return node_err(&s->m, cline, cpath,
				"is only for runtime custom (runtime native at line %d serves the job's model.onnx)", rline);
	if (!cmd && p->runtime == SPEC_RUNTIME_CUSTOM)
		return node_err(&s->m, rline, rpath,
				"custom needs a command (the program that serves Seldon's POST /predict and GET "
				"/health/ping on the port in its environment)");
	if (cmd && (rc = parse_command(s, cmd, cpath, &p->command)))
		return rc;
	if (p->runtime == SPEC_RUNTIME_CUSTOM) {
		if (bt)
			return node_err(&s->m, bline, bpath,
					"applies to the native runtime only (a custom server gets each request as it comes)");
		return 0;
	}
	p->max_batch_size = SPEC_DEFAULT_MAX_BATCH;
	p->max_wait_ms = SPEC_DEFAULT_MAX_WAIT_MS;
	if (!bt)
		return 0;
	if ((rc = spec_walk_map(s, bt, bline, bpath, batching_used)) ||
	    (rc = spec_get_int(s, bt, "max_batch_size", bline, bpath, 1, SPEC_MAX_BATCH, &p->max_batch_size, NULL)))
		return rc;
	return spec_get_int(s, bt, "max_wait_ms", bline, bpath, 0, SPEC_MAX_WAIT_MS, &p->max_wait_ms, NULL);
}

static int resolve_training_id(struct sctx *s, struct pwalk *w, struct spec_predictor *p)
{
	char tpath[FIELD_PATH_MAX], q[96], q2[96];
	int tline, rc;
	yaml_node_t *t = weft_field(s, w, "training_id", tpath, sizeof tpath, &tline, &rc);
	if (rc || (t && (rc = node_string(&s->m, t, tpath, 1, &p->training_id))))
		return rc;
	const char *bad_path = p->training_id ? tpath : w->env_tid_path;
	int bad_line = p->training_id ? node_line(t) : w->env_tid_line;
	const char *id = p->training_id ? p->training_id : w->env_tid;
	if (!id)
		return node_err(&s->m, w->pat, w->ppath,
				"no training id: set TRAINING_ID in the env of the container named '%s', or training_id "
				"(the training job whose model to serve)",
				p->graph_name);
	if (!spec_training_id_valid(id))
		return node_err(&s->m, bad_line, bad_path,
				"%s is not a training id (1 to %d of letters, digits, '-' and '_', like training-Ab3xYz_12)",
				quote_value(id, strlen(id), q, sizeof q), SPEC_ID_MAX);
	if (p->training_id && w->env_tid && strcmp(p->training_id, w->env_tid))
		return node_err(&s->m, node_line(t), tpath, "%s differs from TRAINING_ID %s at %s (line %d)",
				quote_value(p->training_id, strlen(p->training_id), q, sizeof q),
				quote_value(w->env_tid, strlen(w->env_tid), q2, sizeof q2), w->env_tid_path, w->env_tid_line);
	if (!p->training_id) {
		p->training_id = w->env_tid;
		w->env_tid = NULL;
	}
	return 0;
}

int spec_parse_predictor(struct sctx *s, yaml_node_t *n, size_t idx, int default_replicas, struct spec_predictor *p,
			 int *traffic_given, int *traffic_line)
{
	char ppath[FIELD_PATH_MAX], gpath[FIELD_PATH_MAX], fp[FIELD_PATH_MAX];
	int kl, rc;
	struct pwalk w = { .ppath = ppath, .gpath = gpath, .pred = n, .pat = node_line(n) };
	snprintf(ppath, sizeof ppath, "spec.predictors[%zu]", idx);
	path_cat(gpath, sizeof gpath, ppath, "graph");
	p->line = w.pat;
	p->replicas = default_replicas;
	p->annotations = json_object();
	p->labels = json_object();
	if (node_is_null(n))
		return node_err(&s->m, w.pat, ppath, "is empty (a predictor needs a name and a graph)");
	if ((rc = spec_walk_map(s, n, w.pat, ppath, pred_used)) ||
	    (rc = spec_get_string(s, n, "name", w.pat, ppath, 1, &p->name)))
		return rc;
	map_get(&s->m, n, "name", w.pat, &kl);
	if ((rc = spec_check_name(s, kl, path_cat(fp, sizeof fp, ppath, "name"), p->name)) ||
	    (rc = spec_get_int(s, n, "replicas", w.pat, ppath, 1, SPEC_MAX_REPLICAS, &p->replicas, NULL)) ||
	    (rc = spec_get_bool(s, n, "shadow", w.pat, ppath, &p->shadow)) ||
	    (rc = spec_get_int(s, n, "traffic", w.pat, ppath, 0, 100, &p->traffic, traffic_given)) ||
	    (rc = spec_get_strmap(s, n, "annotations", w.pat, ppath, &p->annotations)) ||
	    (rc = spec_get_strmap(s, n, "labels", w.pat, ppath, &p->labels)))
		return rc;
	map_get(&s->m, n, "traffic", w.pat, traffic_line);
	if (p->shadow && *traffic_given) {
		spec_ignore(s, *traffic_line, path_cat(fp, sizeof fp, ppath, "traffic"),
			    "a shadow gets a copy of every request; its traffic is not used");
		*traffic_given = 0;
		p->traffic = 0;
	}
	w.graph = map_get(&s->m, n, "graph", w.pat, &w.gat);
	if (!w.graph)
		rc = node_err(&s->m, w.gat, gpath, "is required (one node: name, type MODEL, endpoint REST)");
	if (rc || (rc = parse_graph(s, &w, p)) || (rc = parse_weft_fields(s, &w, p)) ||
	    (rc = parse_component_specs(s, &w, p)) || (rc = resolve_training_id(s, &w, p))) {
		free(w.env_tid);
		return rc;
	}
	free(w.env_tid);
	return 0;
}

void spec_predictor_free(struct spec_predictor *p)
{
	free(p->name);
	free(p->command);
	free(p->training_id);
	free(p->bucket_name);
	free(p->bucket_endpoint_url);
	free(p->bucket_key);
	free(p->bucket_secret);
	for (size_t i = 0; i < p->n_env; i++) {
		free(p->env[i].name);
		free(p->env[i].value);
	}
	free(p->env);
	free(p->graph_name);
	free(p->image);
	for (size_t i = 0; i < p->n_params; i++) {
		free(p->params[i].name);
		free(p->params[i].type);
		free(p->params[i].value);
	}
	free(p->params);
	json_decref(p->annotations);
	json_decref(p->labels);
}

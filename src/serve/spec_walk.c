/* spec_walk.c - the deployment spec parser's walk helpers: typed getters
 * over libyaml nodes (on top of the manifest's node.c, so messages read
 * "line N: PATH: ..."), field paths, and the `ignored` list: each key weft
 * does not use is recorded with its line and a reason (a stock one for
 * well-known Seldon/Kubernetes fields, or a "did you mean" hint for typos). */
#include "serve/spec.h"
#include "serve/spec_walk.h"
#include "util/mem.h"
#include "util/sbuf.h"
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- ignored fields */

/* Why well-known Seldon and Kubernetes fields have no effect here. */
static const struct {
	const char *key, *reason;
} stock_reasons[] = {
	{ "image", "container images are not run here: weft serves the job's model natively, or runs `command`" },
	{ "imagePullPolicy", "container images are not run here" },
	{ "resources", "replicas run on this machine without resource limits" },
	{ "valueFrom", "Kubernetes secrets and field references are not resolved (give a value)" },
	{ "svcOrchSpec", "weft routes requests itself (there is no service orchestrator)" },
	{ "engineResources", "weft routes requests itself (there is no service orchestrator)" },
	{ "explainer", "explainers are not supported" },
	{ "implementation", "prepackaged model servers are not run: weft serves the training job's model" },
	{ "modelUri", "the model is the training job's (training_id / TRAINING_ID)" },
	{ "envSecretRefName", "Kubernetes secrets are not resolved" },
	{ "protocol", "weft answers both the Seldon v1 protocol and the Open Inference Protocol v2" },
	{ "hpaSpec", "replicas are fixed (no autoscaling)" },
	{ "kedaSpec", "replicas are fixed (no autoscaling)" },
	{ "pdbSpec", "replicas run on one machine (no disruption budget)" },
	{ "logger", "use spec.request_log: true to log requests" },
	{ "ports", "weft gives each replica its port" },
	{ "livenessProbe", "weft checks replicas with GET /health/ping" },
	{ "readinessProbe", "weft checks replicas with GET /health/ping" },
	{ "command", "a container's command runs inside its image; give the predictor a `command` to run here" },
	{ "args", "a container's args run inside its image; give the predictor a `command` to run here" },
};

void spec_ignore(struct sctx *s, int line, const char *path, const char *reason)
{
	if (!reason) {
		const char *last = strrchr(path, '.');
		last = last ? last + 1 : path;
		for (size_t i = 0; i < sizeof stock_reasons / sizeof stock_reasons[0]; i++)
			if (!strcmp(last, stock_reasons[i].key))
				reason = stock_reasons[i].reason;
	}
	if (s->n_ign == s->cap_ign) {
		s->cap_ign = s->cap_ign ? 2 * s->cap_ign : 16;
		s->ign = xrealloc(s->ign, s->cap_ign * sizeof *s->ign);
	}
	s->ign[s->n_ign++] = (struct spec_ignored){ xstrdup(path), line, xstrdup(reason) };
}

static int plain_key(const char *k, size_t len)
{
	if (len == 0)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (!isalnum((unsigned char)k[i]) && k[i] != '_' && k[i] != '-' && k[i] != '/')
			return 0;
	return 1;
}

const char *spec_key_path(char *buf, size_t size, const char *base, const char *key, size_t len)
{
	struct sbuf sb = SBUF_INIT;
	sb_adds(&sb, base);
	if (plain_key(key, len)) {
		if (*base)
			sb_addc(&sb, '.');
		sb_add(&sb, key, len > 80 ? 80 : len);
		if (len > 80)
			sb_adds(&sb, "...");
	} else {
		sb_adds(&sb, "[\"");
		for (size_t i = 0; i < len && i < 40; i++) {
			unsigned char c = (unsigned char)key[i];
			if (c < 0x20 || c == 0x7f)
				sb_addf(&sb, "\\x%02x", c);
			else if (c == '"' || c == '\\')
				sb_addf(&sb, "\\%c", c);
			else
				sb_addc(&sb, (char)c);
		}
		sb_adds(&sb, len > 40 ? "...\"]" : "\"]");
	}
	snprintf(buf, size, "%s", sb_str(&sb));
	if (sb.len >= size && size > 4)
		memcpy(buf + size - 4, "...", 4);
	sb_release(&sb);
	return buf;
}

const char *spec_index_path(char *buf, size_t size, const char *base, size_t i)
{
	char idx[32];
	snprintf(idx, sizeof idx, "[%zu]", i);
	size_t bl = strlen(base), il = strlen(idx);
	if (size < 8)
		return buf;
	if (bl + il + 1 > size) {
		size_t keep = size - il - 4;
		memcpy(buf, base, keep);
		memcpy(buf + keep, "...", 3);
		memcpy(buf + keep + 3, idx, il + 1);
	} else {
		memcpy(buf, base, bl);
		memcpy(buf + bl, idx, il + 1);
	}
	return buf;
}

/* The used key a typo most likely meant, or NULL (keys compared without case,
 * '_' and '-', so model_uri ~ modelUri). */
static const char *near_key(const char *k, size_t len, const char *const *used)
{
	char a[48], b[48];
	if (len >= sizeof a)
		return NULL;
	size_t la = node_fold_key(k, len, a, sizeof a);
	const char *best = NULL;
	size_t best_d = 3;
	for (size_t i = 0; used[i]; i++) {
		size_t lb = node_fold_key(used[i], strlen(used[i]), b, sizeof b);
		size_t d = node_edit_distance(a, la, b, lb), limit = lb <= 4 ? 1 : 2;
		if (d <= limit && d < best_d) {
			best = used[i];
			best_d = d;
		}
	}
	return best;
}

int spec_walk_map(struct sctx *s, yaml_node_t *n, int at, const char *path, const char *const *used)
{
	int rc = map_check(&s->m, n, at, path, NULL);
	if (rc)
		return rc;
	for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(s->m.doc, p->key);
		const char *key = (const char *)k->data.scalar.value;
		size_t len = k->data.scalar.length;
		int known = 0;
		for (size_t i = 0; used[i] && !known; i++)
			known = strlen(used[i]) == len && !memcmp(used[i], key, len);
		if (known)
			continue;
		char kp[FIELD_PATH_MAX];
		spec_key_path(kp, sizeof kp, path, key, len);
		const char *hint = near_key(key, len, used);
		if (hint) {
			char reason[96];
			snprintf(reason, sizeof reason, "not used by weft (did you mean '%s'?)", hint);
			spec_ignore(s, node_line(k), kp, reason);
		} else {
			spec_ignore(s, node_line(k), kp, NULL);
		}
	}
	return 0;
}

/* ---- typed getters */

size_t spec_seq_len(const yaml_node_t *n)
{
	return n && n->type == YAML_SEQUENCE_NODE ? (size_t)(n->data.sequence.items.top - n->data.sequence.items.start)
						    : 0;
}

yaml_node_t *spec_seq_item(struct sctx *s, yaml_node_t *n, size_t i)
{
	return yaml_document_get_node(s->m.doc, n->data.sequence.items.start[i]);
}

int spec_check_name(struct sctx *s, int line, const char *path, const char *v)
{
	char q[96];
	if (spec_name_valid(v))
		return 0;
	return node_err(&s->m, line, path,
			"%s is not a valid name (1 to %d of a-z, 0-9 and '-', starting and ending with a letter or digit)",
			quote_value(v, strlen(v), q, sizeof q), SPEC_NAME_MAX);
}

int spec_node_int(struct sctx *s, yaml_node_t *n, const char *path, long long min, long long max, long long *out)
{
	const char *t;
	size_t len;
	char q[96], buf[64];
	double v;
	if (!n || n->type != YAML_SCALAR_NODE)
		return node_err(&s->m, node_line(n), path, "expected an integer, got %s", node_desc(n, q, sizeof q));
	int rc = node_text(&s->m, n, path, &t, &len);
	if (rc)
		return rc;
	size_t b = 0, e = len;
	while (b < e && isspace((unsigned char)t[b]))
		b++;
	while (e > b && isspace((unsigned char)t[e - 1]))
		e--;
	if (e - b == 0 || e - b >= sizeof buf)
		return node_err(&s->m, node_line(n), path, "%s is not an integer", quote_value(t, len, q, sizeof q));
	memcpy(buf, t + b, e - b);
	buf[e - b] = '\0';
	if (parse_decimal(buf, &v) || v != floor(v))
		return node_err(&s->m, node_line(n), path, "%s is not an integer", quote_value(t, len, q, sizeof q));
	if (v < (double)min || v > (double)max)
		return node_err(&s->m, node_line(n), path, "%s is out of range (%lld to %lld)",
				quote_value(t, len, q, sizeof q), min, max);
	*out = (long long)v;
	return 0;
}

int spec_node_bool(struct sctx *s, yaml_node_t *n, const char *path, int *out)
{
	const char *t;
	size_t len;
	char q[96];
	if (!n || n->type != YAML_SCALAR_NODE)
		return node_err(&s->m, node_line(n), path, "expected true or false, got %s", node_desc(n, q, sizeof q));
	int rc = node_text(&s->m, n, path, &t, &len);
	if (rc)
		return rc;
	static const char *const yes[] = { "true", "True", "TRUE" }, *const no[] = { "false", "False", "FALSE" };
	for (size_t i = 0; i < 3; i++) {
		if (len == strlen(yes[i]) && !memcmp(t, yes[i], len)) {
			*out = 1;
			return 0;
		}
		if (len == strlen(no[i]) && !memcmp(t, no[i], len)) {
			*out = 0;
			return 0;
		}
	}
	return node_err(&s->m, node_line(n), path, "%s is not true or false", quote_value(t, len, q, sizeof q));
}

int spec_get_string(struct sctx *s, yaml_node_t *map, const char *key, int at, const char *path, int required,
		    char **out)
{
	char fp[FIELD_PATH_MAX];
	int kl;
	yaml_node_t *v = map_get(&s->m, map, key, at, &kl);
	path_cat(fp, sizeof fp, path, key);
	if (!v)
		return required ? node_err(&s->m, kl, fp, "is required") : 0;
	int rc = node_string(&s->m, v, fp, required, out);
	if (!rc && !**out) {
		free(*out);
		*out = NULL;
	}
	return rc;
}

int spec_get_int(struct sctx *s, yaml_node_t *map, const char *key, int at, const char *path, long long min,
		 long long max, int *out, int *given)
{
	char fp[FIELD_PATH_MAX];
	long long v;
	yaml_node_t *n = map_get(&s->m, map, key, at, NULL);
	if (given)
		*given = 0;
	if (!n)
		return 0;
	path_cat(fp, sizeof fp, path, key);
	int rc = spec_node_int(s, n, fp, min, max, &v);
	if (rc)
		return rc;
	*out = (int)v;
	if (given)
		*given = 1;
	return 0;
}

int spec_get_bool(struct sctx *s, yaml_node_t *map, const char *key, int at, const char *path, int *out)
{
	char fp[FIELD_PATH_MAX];
	yaml_node_t *n = map_get(&s->m, map, key, at, NULL);
	if (!n)
		return 0;
	return spec_node_bool(s, n, path_cat(fp, sizeof fp, path, key), out);
}

int spec_get_strmap(struct sctx *s, yaml_node_t *map, const char *key, int at, const char *path, json_t **out)
{
	char fp[FIELD_PATH_MAX], kp[FIELD_PATH_MAX];
	int kl;
	json_decref(*out);
	*out = json_object();
	yaml_node_t *n = map_get(&s->m, map, key, at, &kl);
	if (!n)
		return 0;
	path_cat(fp, sizeof fp, path, key);
	int rc = map_check(&s->m, n, kl, fp, NULL);
	if (rc)
		return rc;
	for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(s->m.doc, p->key);
		yaml_node_t *v = yaml_document_get_node(s->m.doc, p->value);
		const char *t = "";
		size_t len = 0;
		spec_key_path(kp, sizeof kp, fp, (const char *)k->data.scalar.value, k->data.scalar.length);
		if (!node_is_null(v) && (rc = node_text(&s->m, v, kp, &t, &len)))
			return rc;
		json_t *str = json_stringn(t, len);
		if (!str)
			return node_err(&s->m, node_line(v), kp, "is not valid UTF-8");
		json_object_setn_new(*out, (const char *)k->data.scalar.value, k->data.scalar.length, str);
	}
	return 0;
}

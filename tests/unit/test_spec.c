/* test_spec.c - the deployment spec parser: the FfDL article's
 * SeldonDeployment (adapted and as printed), JSON and YAML forms giving the
 * same spec, canary and shadow traffic, defaults, weft's runtime fields,
 * every error (each asserting the field path and the line), the ignored-field
 * list, secret masking, the canonical JSON round trip and the short form. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "serve/spec.h"
#include "util/fs.h"
#include "util/mem.h"
#include "util/sbuf.h"
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* tests/fixtures/deployments/article.yaml, line for line. */
static const char article[] =
	"# The FfDL article's SeldonDeployment (fashion-mnist), in YAML: the same\n" /* 1 */
	"# spec as article.json, with TRAINING_ID and BUCKET_NAME filled in.\n"
	"apiVersion: machinelearning.seldon.io/v1alpha2\n"
	"kind: SeldonDeployment\n"
	"metadata:\n" /* 5 */
	"  labels:\n"
	"    app: seldon\n"
	"  name: ffdl-fashion-mnist\n"
	"spec:\n"
	"  annotations:\n" /* 10 */
	"    project_name: FfDL fashion-mnist\n"
	"    deployment_version: v1\n"
	"  name: fashion-mnist\n"
	"  oauth_key: oauth-key\n"
	"  oauth_secret: oauth-secret\n" /* 15 */
	"  predictors:\n"
	"    - componentSpecs:\n"
	"        - spec:\n"
	"            containers:\n"
	"              - image: docker.io/ffdl/fashion-mnist-seldon:0.1\n" /* 20 */
	"                imagePullPolicy: IfNotPresent\n"
	"                name: classifier\n"
	"                resources:\n"
	"                  requests:\n"
	"                    memory: 1Mi\n" /* 25 */
	"                env:\n"
	"                  - name: TRAINING_ID\n"
	"                    value: training-Fm2x_9kQa\n"
	"                  - name: BUCKET_NAME\n"
	"                    value: fashion-mnist-models\n" /* 30 */
	"                  - name: BUCKET_ENDPOINT_URL\n"
	"                    valueFrom:\n"
	"                      secretKeyRef:\n"
	"                        localObjectReference: {name: bucket-credentials}\n"
	"                        key: endpoint\n" /* 35 */
	"                  - name: BUCKET_KEY\n"
	"                    valueFrom:\n"
	"                      secretKeyRef:\n"
	"                        localObjectReference: {name: bucket-credentials}\n"
	"                        key: key\n" /* 40 */
	"                  - name: BUCKET_SECRET\n"
	"                    valueFrom:\n"
	"                      secretKeyRef:\n"
	"                        localObjectReference: {name: bucket-credentials}\n"
	"                        key: secret\n" /* 45 */
	"            terminationGracePeriodSeconds: 20\n"
	"      graph:\n"
	"        children: []\n"
	"        name: classifier\n"
	"        endpoint:\n" /* 50 */
	"          type: REST\n"
	"        type: MODEL\n"
	"      name: single-model\n"
	"      replicas: 1\n"
	"      annotations:\n" /* 55 */
	"        predictor_version: v1\n";

/* A minimal spec: MIN_SPEC GRAPH is 7 lines, so a field appended with indent
 * 6 (the predictor's) or 2 (spec's) is on line 8. Without GRAPH, a graph
 * appended is on line 7. */
#define MIN_SPEC                                                                                             \
	"kind: SeldonDeployment\n"                                                                           \
	"spec:\n"                                                                                            \
	"  name: m\n"                                                                                        \
	"  predictors:\n"                                                                                    \
	"    - name: p\n"                                                                                    \
	"      training_id: training-Abc123\n"
#define GRAPH "      graph: {name: g}\n"

/* ---- helpers */

static struct deployment_spec *parse_ok(const char *text)
{
	struct deployment_spec *d = NULL;
	struct weft_err e = { 0, "" };
	int rc = spec_parse(text, strlen(text), &d, &e);
	if (rc)
		fail_msg("unexpected error: %s\n--- input:\n%s", e.msg, text);
	assert_non_null(d);
	return d;
}

static void expect_err_(const char *text, const char *want, int line)
{
	struct deployment_spec *d = NULL;
	struct weft_err e = { 0, "" };
	int rc = spec_parse(text, strlen(text), &d, &e);
	if (rc == 0) {
		spec_free(d);
		fail_msg("test line %d: parsed, expected \"%s\"\n--- input:\n%s", line, want, text);
	}
	assert_int_equal(rc, WEFT_EINVAL);
	assert_null(d);
	if (!strstr(e.msg, want))
		fail_msg("test line %d: error \"%s\" lacks \"%s\"", line, e.msg, want);
}
#define expect_err(text, want) expect_err_((text), (want), __LINE__)

static char *dump(json_t *j)
{
	char *s = json_dumps(j, JSON_SORT_KEYS | JSON_COMPACT);
	json_decref(j);
	assert_non_null(s);
	return s;
}

/* The ignored entry for path, or NULL. */
static const struct spec_ignored *ignored(const struct deployment_spec *d, const char *path)
{
	for (size_t i = 0; i < d->n_ignored; i++)
		if (!strcmp(d->ignored[i].path, path))
			return &d->ignored[i];
	return NULL;
}

static void expect_ignored_(const struct deployment_spec *d, const char *path, int line, const char *reason, int tl)
{
	const struct spec_ignored *ig = ignored(d, path);
	if (!ig) {
		struct sbuf sb = SBUF_INIT;
		for (size_t i = 0; i < d->n_ignored; i++)
			sb_addf(&sb, "  %s (line %d)\n", d->ignored[i].path, d->ignored[i].line);
		fail_msg("test line %d: %s is not listed as ignored; the list:\n%s", tl, path, sb_str(&sb));
	}
	if (ig->line != line)
		fail_msg("test line %d: %s: line %d, expected %d", tl, path, ig->line, line);
	if (reason && (!ig->reason || !strstr(ig->reason, reason)))
		fail_msg("test line %d: %s: reason \"%s\" lacks \"%s\"", tl, path, ig->reason ? ig->reason : "(none)", reason);
}
#define expect_ignored(d, path, line, reason) expect_ignored_((d), (path), (line), (reason), __LINE__)

/* The canonical JSON parses back into the same spec. */
static void assert_round_trip(const struct deployment_spec *d)
{
	char *a = dump(spec_to_json(d, 1));
	struct deployment_spec *d2 = parse_ok(a);
	char *b = dump(spec_to_json(d2, 1));
	if (strcmp(a, b))
		fail_msg("round trip differs:\n%s\n%s", a, b);
	free(a);
	free(b);
	spec_free(d2);
}

/* s with the first `from` replaced by `to`; caller frees. */
static char *replace(const char *s, const char *from, const char *to)
{
	const char *p = strstr(s, from);
	assert_non_null(p);
	return xasprintf("%.*s%s%s", (int)(p - s), s, to, p + strlen(from));
}

/* tests/fixtures/deployments/NAME from the working directory or above
 * WEFT_BIN; NULL when the repository is not found. */
static char *fixture(const char *name)
{
	char dir[PATH_MAX];
	const char *bin = getenv("WEFT_BIN");
	const char *starts[2] = { ".", bin };
	for (int s = 0; s < 2; s++) {
		if (!starts[s] || !realpath(starts[s], dir))
			continue;
		for (;;) {
			char *path = xasprintf("%s/tests/fixtures/deployments/%s", dir, name);
			struct sbuf sb = SBUF_INIT;
			struct weft_err e = { 0, "" };
			if (!fs_read_file(path, &sb, &e)) {
				free(path);
				return sb_detach(&sb);
			}
			sb_release(&sb);
			free(path);
			char *slash = strrchr(dir, '/');
			if (!slash || slash == dir)
				break;
			*slash = '\0';
		}
	}
	return NULL;
}

/* ---- the article */

static void test_article(void **state)
{
	(void)state;
	struct deployment_spec *d = parse_ok(article);
	assert_string_equal(d->name, "fashion-mnist");
	assert_string_equal(d->metadata_name, "ffdl-fashion-mnist");
	assert_null(d->namespace);
	assert_string_equal(d->oauth_key, "oauth-key");
	assert_string_equal(d->oauth_secret, "oauth-secret");
	assert_string_equal(json_string_value(json_object_get(d->annotations, "project_name")), "FfDL fashion-mnist");
	assert_string_equal(json_string_value(json_object_get(d->annotations, "deployment_version")), "v1");
	assert_string_equal(json_string_value(json_object_get(d->labels, "app")), "seldon");
	assert_int_equal(d->request_log, 0);
	assert_int_equal(d->port, 0);
	assert_int_equal(d->n_predictors, 1);
	const struct spec_predictor *p = &d->predictors[0];
	assert_string_equal(p->name, "single-model");
	assert_int_equal(p->replicas, 1);
	assert_int_equal(p->traffic, 100);
	assert_int_equal(p->shadow, 0);
	assert_int_equal(p->runtime, SPEC_RUNTIME_NATIVE);
	assert_null(p->command);
	assert_string_equal(p->training_id, "training-Fm2x_9kQa");
	assert_string_equal(p->bucket_name, "fashion-mnist-models");
	assert_null(p->bucket_endpoint_url); /* from a Kubernetes secret: the job's data store applies */
	assert_null(p->bucket_key);
	assert_null(p->bucket_secret);
	assert_int_equal(p->n_env, 0);
	assert_string_equal(p->graph_name, "classifier");
	assert_string_equal(p->graph_type, "MODEL");
	assert_string_equal(p->endpoint_type, "REST");
	assert_string_equal(p->image, "docker.io/ffdl/fashion-mnist-seldon:0.1");
	assert_int_equal(p->max_batch_size, SPEC_DEFAULT_MAX_BATCH);
	assert_int_equal(p->max_wait_ms, SPEC_DEFAULT_MAX_WAIT_MS);
	assert_string_equal(json_string_value(json_object_get(p->annotations, "predictor_version")), "v1");
	assert_int_equal(p->line, 17);

	/* every field weft does not use, with its line, in line order */
	const char *c0 = "spec.predictors[0].componentSpecs[0].spec.containers[0]";
	char path[256];
	snprintf(path, sizeof path, "%s.image", c0);
	expect_ignored(d, path, 20, "not run");
	snprintf(path, sizeof path, "%s.imagePullPolicy", c0);
	expect_ignored(d, path, 21, NULL);
	snprintf(path, sizeof path, "%s.resources", c0);
	expect_ignored(d, path, 23, "resource limits");
	snprintf(path, sizeof path, "%s.env[2].valueFrom", c0);
	expect_ignored(d, path, 32, "BUCKET_ENDPOINT_URL comes from the training job's data store");
	snprintf(path, sizeof path, "%s.env[3].valueFrom", c0);
	expect_ignored(d, path, 37, "BUCKET_KEY");
	snprintf(path, sizeof path, "%s.env[4].valueFrom", c0);
	expect_ignored(d, path, 42, "BUCKET_SECRET");
	expect_ignored(d, "spec.predictors[0].componentSpecs[0].spec.terminationGracePeriodSeconds", 46, NULL);
	assert_int_equal(d->n_ignored, 7);
	for (size_t i = 1; i < d->n_ignored; i++)
		assert_true(d->ignored[i - 1].line <= d->ignored[i].line);

	/* the input is kept whole, with its types */
	json_t *src = d->source;
	assert_string_equal(json_string_value(json_object_get(src, "apiVersion")), "machinelearning.seldon.io/v1alpha2");
	json_t *c = json_array_get(json_object_get(json_object_get(json_array_get(json_object_get(json_array_get(
		json_object_get(json_object_get(src, "spec"), "predictors"), 0), "componentSpecs"), 0), "spec"),
		"containers"), 0);
	assert_string_equal(json_string_value(json_object_get(json_object_get(json_object_get(c, "resources"), "requests"),
							       "memory")),
			    "1Mi");
	json_t *pod = json_object_get(json_array_get(json_object_get(json_array_get(json_object_get(json_object_get(src, "spec"),
												"predictors"), 0), "componentSpecs"), 0), "spec");
	assert_true(json_is_integer(json_object_get(pod, "terminationGracePeriodSeconds")));
	assert_int_equal(json_integer_value(json_object_get(pod, "terminationGracePeriodSeconds")), 20);
	assert_round_trip(d);
	spec_free(d);
}

/* The article's values as printed: TRAINING_ID is "" there. */
static void test_article_as_printed(void **state)
{
	(void)state;
	char *t = replace(article, "value: training-Fm2x_9kQa", "value: \"\"");
	expect_err(t, "line 28: spec.predictors[0].componentSpecs[0].spec.containers[0].env[0].value: TRAINING_ID is empty");
	free(t);
	/* without any TRAINING_ID there is no lineage: refused */
	t = replace(article, "                  - name: TRAINING_ID\n                    value: training-Fm2x_9kQa\n", "");
	expect_err(t, "line 17: spec.predictors[0]: no training id: set TRAINING_ID in the env of the container named "
		      "'classifier', or training_id");
	free(t);
	/* an empty BUCKET_NAME means the job's own */
	t = replace(article, "value: fashion-mnist-models", "value: \"\"");
	struct deployment_spec *d = parse_ok(t);
	assert_null(d->predictors[0].bucket_name);
	spec_free(d);
	free(t);
}

/* ---- JSON and YAML */

static const char json_form[] =
	"{\"apiVersion\": \"machinelearning.seldon.io/v1\", \"kind\": \"SeldonDeployment\",\n"
	" \"metadata\": {\"name\": \"iris\", \"namespace\": \"models\", \"labels\": {\"team\": \"ml\", \"tier\": 2}},\n"
	" \"spec\": {\"name\": \"iris\", \"oauth_key\": \"k\", \"oauth_secret\": \"s\", \"request_log\": true,\n"
	"  \"port\": 9200, \"svcOrchSpec\": {},\n"
	"  \"predictors\": [\n"
	"   {\"name\": \"main\", \"replicas\": 4, \"traffic\": 75, \"labels\": {\"v\": \"1\"},\n"
	"    \"graph\": {\"name\": \"iris\", \"type\": \"MODEL\", \"endpoint\": {\"type\": \"REST\"}, \"children\": [],\n"
	"              \"parameters\": [{\"name\": \"k\", \"type\": \"INT\", \"value\": \"3\"}]},\n"
	"    \"componentSpecs\": [{\"spec\": {\"containers\": [{\"name\": \"iris\", \"image\": \"i:1\",\n"
	"       \"env\": [{\"name\": \"TRAINING_ID\", \"value\": \"training-Iris01\"},\n"
	"                 {\"name\": \"BUCKET_ENDPOINT_URL\", \"value\": \"http://s3:9000\"},\n"
	"                 {\"name\": \"OMP_NUM_THREADS\", \"value\": \"2\"}]}]}}]},\n"
	"   {\"name\": \"next\", \"traffic\": 25, \"runtime\": \"custom\", \"command\": \"python3 serve.py\",\n"
	"    \"training_id\": \"training-Iris02\", \"graph\": {\"name\": \"iris\"}},\n"
	"   {\"name\": \"mirror\", \"shadow\": true, \"training_id\": \"training-Iris03\",\n"
	"    \"graph\": {\"name\": \"iris\", \"batching\": {\"max_batch_size\": 8, \"max_wait_ms\": 5}}}]}}\n";

static const char yaml_form[] =
	"apiVersion: machinelearning.seldon.io/v1\n"
	"kind: SeldonDeployment\n"
	"metadata:\n"
	"  name: iris\n"
	"  namespace: models\n"
	"  labels: {team: ml, tier: 2}\n"
	"spec:\n"
	"  name: iris\n"
	"  oauth_key: k\n"
	"  oauth_secret: s\n"
	"  request_log: true\n"
	"  port: 9200\n"
	"  svcOrchSpec: {}\n"
	"  predictors:\n"
	"    - name: main\n"
	"      replicas: 4\n"
	"      traffic: 75\n"
	"      labels:\n"
	"        v: '1'\n"
	"      graph:\n"
	"        name: iris\n"
	"        type: MODEL\n"
	"        endpoint: {type: REST}\n"
	"        children: []\n"
	"        parameters:\n"
	"          - name: k\n"
	"            type: INT\n"
	"            value: '3'\n"
	"      componentSpecs:\n"
	"        - spec:\n"
	"            containers:\n"
	"              - name: iris\n"
	"                image: i:1\n"
	"                env:\n"
	"                  - {name: TRAINING_ID, value: training-Iris01}\n"
	"                  - {name: BUCKET_ENDPOINT_URL, value: 'http://s3:9000'}\n"
	"                  - {name: OMP_NUM_THREADS, value: '2'}\n"
	"    - name: next\n"
	"      traffic: 25\n"
	"      runtime: custom\n"
	"      command: python3 serve.py\n"
	"      training_id: training-Iris02\n"
	"      graph:\n"
	"        name: iris\n"
	"    - name: mirror\n"
	"      shadow: true\n"
	"      training_id: training-Iris03\n"
	"      graph:\n"
	"        name: iris\n"
	"        batching:\n"
	"          max_batch_size: 8\n"
	"          max_wait_ms: 5\n";

static void test_json_and_yaml_same(void **state)
{
	(void)state;
	struct deployment_spec *j = parse_ok(json_form), *y = parse_ok(yaml_form);
	char *a = dump(spec_to_json(j, 1)), *b = dump(spec_to_json(y, 1));
	assert_string_equal(a, b);
	free(a);
	free(b);
	assert_int_equal(j->n_ignored, y->n_ignored);
	for (size_t i = 0; i < j->n_ignored; i++)
		assert_string_equal(j->ignored[i].path, y->ignored[i].path);
	/* the kept input: same JSON too (labels' 2 is a number in both) */
	a = dump(json_incref(j->source));
	b = dump(json_incref(y->source));
	assert_string_equal(a, b);
	free(a);
	free(b);

	const struct deployment_spec *d = y;
	assert_string_equal(d->namespace, "models");
	assert_string_equal(json_string_value(json_object_get(d->labels, "tier")), "2");
	assert_int_equal(d->request_log, 1);
	assert_int_equal(d->port, 9200);
	assert_int_equal(d->n_predictors, 3);
	const struct spec_predictor *m = &d->predictors[0], *n = &d->predictors[1], *s = &d->predictors[2];
	assert_int_equal(m->replicas, 4);
	assert_int_equal(m->traffic, 75);
	assert_string_equal(m->bucket_endpoint_url, "http://s3:9000");
	assert_int_equal(m->n_env, 1);
	assert_string_equal(m->env[0].name, "OMP_NUM_THREADS");
	assert_string_equal(m->env[0].value, "2");
	assert_int_equal(m->n_params, 1);
	assert_string_equal(m->params[0].name, "k");
	assert_string_equal(m->params[0].type, "INT");
	assert_string_equal(m->params[0].value, "3");
	assert_string_equal(m->image, "i:1");
	assert_int_equal(n->runtime, SPEC_RUNTIME_CUSTOM);
	assert_string_equal(n->command, "python3 serve.py");
	assert_int_equal(n->max_batch_size, 0);
	assert_int_equal(n->traffic, 25);
	assert_int_equal(s->shadow, 1);
	assert_int_equal(s->traffic, 0);
	assert_int_equal(s->max_batch_size, 8);
	assert_int_equal(s->max_wait_ms, 5);
	expect_ignored(d, "spec.svcOrchSpec", 13, "service orchestrator");
	expect_ignored(d, "spec.predictors[0].componentSpecs[0].spec.containers[0].image", 33, NULL);
	expect_ignored(j, "spec.svcOrchSpec", 4, NULL);
	assert_round_trip(j);
	spec_free(j);
	spec_free(y);
}

static void test_fixture_files(void **state)
{
	(void)state;
	static const struct {
		const char *file, *err; /* err NULL = valid */
	} cases[] = {
		{ "article.json", NULL },
		{ "article.yaml", NULL },
		{ "canary.yaml", NULL },
		{ "shadow.yaml", NULL },
		{ "custom.yaml", NULL },
		{ "grpc.json", "line 12: spec.predictors[0].graph.endpoint.type: GRPC is not served" },
		{ "graph-children.yaml", "line 11: spec.predictors[0].graph.children: graphs of several nodes are not "
					 "supported; use one MODEL node" },
	};
	char *first = fixture(cases[0].file);
	if (!first)
		skip();
	free(first);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *t = fixture(cases[i].file);
		if (!t)
			fail_msg("fixture %s is missing", cases[i].file);
		if (cases[i].err) {
			expect_err(t, cases[i].err);
		} else {
			struct deployment_spec *d = parse_ok(t);
			assert_round_trip(d);
			spec_free(d);
		}
		free(t);
	}
	/* the article in JSON and in YAML: one spec */
	char *tj = fixture("article.json"), *ty = fixture("article.yaml");
	struct deployment_spec *j = parse_ok(tj), *y = parse_ok(ty);
	char *a = dump(spec_to_json(j, 1)), *b = dump(spec_to_json(y, 1));
	assert_string_equal(a, b);
	assert_int_equal(j->n_ignored, 7);
	assert_int_equal(y->n_ignored, 7);
	for (size_t i = 0; i < j->n_ignored; i++)
		assert_string_equal(j->ignored[i].path, y->ignored[i].path);
	expect_ignored(j, "spec.predictors[0].componentSpecs[0].spec.containers[0].resources", 27, NULL);
	free(a);
	free(b);
	spec_free(j);
	spec_free(y);
	free(tj);
	free(ty);
	/* the custom server's list command became one shell line */
	char *tc = fixture("custom.yaml");
	struct deployment_spec *c = parse_ok(tc);
	assert_string_equal(c->predictors[0].command, "python3 examples/serve/model_server.py --model model.onnx");
	assert_int_equal(c->predictors[0].replicas, 3);
	assert_int_equal(c->port, 9100);
	assert_string_equal(c->predictors[0].bucket_secret, "s3cr3t");
	spec_free(c);
	free(tc);
}

/* ---- traffic */

static void test_canary(void **state)
{
	(void)state;
	struct deployment_spec *d = parse_ok("kind: SeldonDeployment\n"
					     "spec:\n"
					     "  name: digits\n"
					     "  predictors:\n"
					     "    - {name: main, traffic: 90, training_id: training-A1, graph: {name: m}}\n"
					     "    - {name: canary, traffic: 10, training_id: training-B2, graph: {name: m}}\n");
	assert_int_equal(d->n_predictors, 2);
	assert_int_equal(d->predictors[0].traffic, 90);
	assert_int_equal(d->predictors[1].traffic, 10);
	assert_string_equal(d->predictors[1].training_id, "training-B2");
	assert_round_trip(d);
	spec_free(d);

	/* all traffic may go to one of them */
	d = parse_ok("spec:\n  name: d\n  predictors:\n"
		     "    - {name: a, traffic: 100, training_id: t1, graph: {name: m}}\n"
		     "    - {name: b, traffic: 0, training_id: t2, graph: {name: m}}\n");
	assert_int_equal(d->predictors[1].traffic, 0);
	spec_free(d);

	expect_err("spec:\n  name: d\n  predictors:\n"
		   "    - {name: a, traffic: 90, training_id: t1, graph: {name: m}}\n"
		   "    - {name: b, traffic: 20, training_id: t2, graph: {name: m}}\n",
		   "line 3: spec.predictors: the traffic of the predictors that are not shadows sums to 110, not 100 (a 90, b 20)");
	expect_err("spec:\n  name: d\n  predictors:\n"
		   "    - {name: a, traffic: 90, training_id: t1, graph: {name: m}}\n"
		   "    - {name: b, training_id: t2, graph: {name: m}}\n",
		   "line 5: spec.predictors[1].traffic: is missing while spec.predictors[0].traffic is set (line 4)");
	expect_err("spec:\n  name: d\n  predictors:\n"
		   "    - {name: a, traffic: 101, training_id: t1, graph: {name: m}}\n",
		   "line 4: spec.predictors[0].traffic: '101' is out of range (0 to 100)");
	expect_err("spec:\n  name: d\n  predictors:\n"
		   "    - {name: a, traffic: 50, training_id: t1, graph: {name: m}}\n",
		   "sums to 50, not 100");
	expect_err("spec:\n  name: d\n  predictors:\n"
		   "    - {name: a, traffic: -5, training_id: t1, graph: {name: m}}\n",
		   "'-5' is out of range (0 to 100)");
	expect_err("spec:\n  name: d\n  predictors:\n"
		   "    - {name: a, traffic: 33.3, training_id: t1, graph: {name: m}}\n",
		   "line 4: spec.predictors[0].traffic: '33.3' is not an integer");
}

static void test_even_split(void **state)
{
	(void)state;
	struct deployment_spec *d = parse_ok("spec:\n  name: d\n  predictors:\n"
					     "    - {name: a, training_id: t1, graph: {name: m}}\n"
					     "    - {name: b, training_id: t2, graph: {name: m}}\n"
					     "    - {name: c, training_id: t3, graph: {name: m}}\n"
					     "    - {name: s, shadow: true, training_id: t4, graph: {name: m}}\n");
	assert_int_equal(d->predictors[0].traffic, 34);
	assert_int_equal(d->predictors[1].traffic, 33);
	assert_int_equal(d->predictors[2].traffic, 33);
	assert_int_equal(d->predictors[3].traffic, 0);
	assert_int_equal(d->predictors[3].shadow, 1);
	assert_round_trip(d);
	spec_free(d);
}

static void test_shadow(void **state)
{
	(void)state;
	struct deployment_spec *d = parse_ok("spec:\n  name: d\n  predictors:\n"
					     "    - {name: main, training_id: t1, graph: {name: m}}\n"
					     "    - name: next\n"
					     "      shadow: true\n"
					     "      traffic: 100\n"
					     "      training_id: t2\n"
					     "      graph: {name: m}\n");
	assert_int_equal(d->predictors[0].traffic, 100);
	assert_int_equal(d->predictors[0].shadow, 0);
	assert_int_equal(d->predictors[1].shadow, 1);
	assert_int_equal(d->predictors[1].traffic, 0);
	/* a shadow's traffic is not part of the split: listed, not dropped */
	expect_ignored(d, "spec.predictors[1].traffic", 7, "shadow gets a copy of every request");
	assert_round_trip(d);
	spec_free(d);

	/* shadow: false is an ordinary predictor */
	d = parse_ok(MIN_SPEC GRAPH "      shadow: false\n");
	assert_int_equal(d->predictors[0].shadow, 0);
	spec_free(d);

	expect_err("spec:\n  name: d\n  predictors:\n"
		   "    - {name: a, shadow: true, training_id: t1, graph: {name: m}}\n",
		   "line 3: spec.predictors: every predictor is a shadow; at least one must answer requests");
	expect_err(MIN_SPEC GRAPH "      shadow: yes\n", "line 8: spec.predictors[0].shadow: 'yes' is not true or false");
	expect_err(MIN_SPEC GRAPH "      shadow: [true]\n",
		   "line 8: spec.predictors[0].shadow: expected true or false, got a list");
}

/* ---- defaults and weft's fields */

static void test_defaults(void **state)
{
	(void)state;
	struct deployment_spec *d = parse_ok(MIN_SPEC GRAPH);
	assert_string_equal(d->name, "m");
	assert_null(d->metadata_name);
	assert_null(d->oauth_key);
	assert_null(d->oauth_secret);
	assert_int_equal(d->request_log, 0);
	assert_int_equal(d->port, 0);
	assert_int_equal(json_object_size(d->annotations), 0);
	assert_int_equal(json_object_size(d->labels), 0);
	assert_int_equal(d->n_ignored, 0);
	const struct spec_predictor *p = &d->predictors[0];
	assert_string_equal(p->name, "p");
	assert_int_equal(p->replicas, 1);
	assert_int_equal(p->traffic, 100);
	assert_int_equal(p->shadow, 0);
	assert_int_equal(p->runtime, SPEC_RUNTIME_NATIVE);
	assert_null(p->command);
	assert_string_equal(p->training_id, "training-Abc123");
	assert_null(p->bucket_name);
	assert_int_equal(p->n_env, 0);
	assert_int_equal(p->n_params, 0);
	assert_null(p->image);
	assert_string_equal(p->graph_name, "g");
	assert_string_equal(p->graph_type, "MODEL");
	assert_string_equal(p->endpoint_type, "REST");
	assert_int_equal(p->max_batch_size, SPEC_DEFAULT_MAX_BATCH);
	assert_int_equal(p->max_wait_ms, SPEC_DEFAULT_MAX_WAIT_MS);
	assert_int_equal(p->line, 5);
	spec_free(d);

	/* spec.replicas is every predictor's default; a predictor's own wins */
	d = parse_ok("spec:\n  name: d\n  replicas: 3\n  predictors:\n"
		     "    - {name: a, training_id: t1, graph: {name: m}, traffic: 50}\n"
		     "    - {name: b, training_id: t2, graph: {name: m}, traffic: 50, replicas: 64}\n");
	assert_int_equal(d->predictors[0].replicas, 3);
	assert_int_equal(d->predictors[1].replicas, 64);
	spec_free(d);

	/* nulls count as absent */
	d = parse_ok(MIN_SPEC GRAPH "      replicas: null\n      traffic: ~\n      annotations:\n");
	assert_int_equal(d->predictors[0].replicas, 1);
	assert_int_equal(d->predictors[0].traffic, 100);
	spec_free(d);
}

static void test_runtime(void **state)
{
	(void)state;
	/* a command alone means custom */
	struct deployment_spec *d = parse_ok(MIN_SPEC GRAPH "      command: ./serve --port $PORT\n");
	assert_int_equal(d->predictors[0].runtime, SPEC_RUNTIME_CUSTOM);
	assert_string_equal(d->predictors[0].command, "./serve --port $PORT");
	assert_int_equal(d->predictors[0].max_batch_size, 0);
	spec_free(d);
	/* a list of words is quoted for the shell */
	d = parse_ok(MIN_SPEC GRAPH "      runtime: custom\n      command: [python3, -c, \"print('hi there')\", a b]\n");
	assert_string_equal(d->predictors[0].command, "python3 -c 'print('\\''hi there'\\'')' 'a b'");
	spec_free(d);
	/* a block command keeps its lines, without the trailing newline */
	d = parse_ok(MIN_SPEC GRAPH "      command: |\n        cd model\n        exec python3 serve.py\n");
	assert_string_equal(d->predictors[0].command, "cd model\nexec python3 serve.py");
	spec_free(d);
	/* weft's fields may sit on the graph node */
	d = parse_ok(MIN_SPEC "      graph:\n        name: g\n        runtime: custom\n        command: ./serve\n");
	assert_int_equal(d->predictors[0].runtime, SPEC_RUNTIME_CUSTOM);
	assert_string_equal(d->predictors[0].command, "./serve");
	spec_free(d);
	d = parse_ok(MIN_SPEC GRAPH "      runtime: native\n      batching: {max_batch_size: 1}\n");
	assert_int_equal(d->predictors[0].runtime, SPEC_RUNTIME_NATIVE);
	assert_int_equal(d->predictors[0].max_batch_size, 1);
	assert_int_equal(d->predictors[0].max_wait_ms, SPEC_DEFAULT_MAX_WAIT_MS);
	spec_free(d);

	expect_err(MIN_SPEC GRAPH "      runtime: custom\n",
		   "line 8: spec.predictors[0].runtime: custom needs a command");
	expect_err(MIN_SPEC GRAPH "      runtime: native\n      command: ./serve\n",
		   "line 9: spec.predictors[0].command: is only for runtime custom (runtime native at line 8");
	expect_err(MIN_SPEC GRAPH "      runtime: onnx\n",
		   "line 8: spec.predictors[0].runtime: 'onnx' is not a runtime (use native");
	expect_err(MIN_SPEC GRAPH "      command: ./serve\n      batching: {max_batch_size: 4}\n",
		   "line 9: spec.predictors[0].batching: applies to the native runtime only");
	expect_err(MIN_SPEC GRAPH "      command: []\n", "line 8: spec.predictors[0].command: is empty");
	expect_err(MIN_SPEC GRAPH "      command: \"  \"\n", "line 8: spec.predictors[0].command: must not be empty");
	expect_err(MIN_SPEC GRAPH "      command: [a, [b]]\n",
		   "line 8: spec.predictors[0].command[1]: expected a single value, got a list");
	expect_err(MIN_SPEC "      runtime: custom\n      command: a\n      graph: {name: g, runtime: native}\n",
		   "line 9: spec.predictors[0].graph.runtime: is also given at spec.predictors[0].runtime (line 7); give it once");
	expect_err(MIN_SPEC GRAPH "      batching: {max_batch_size: 0}\n",
		   "line 8: spec.predictors[0].batching.max_batch_size: '0' is out of range (1 to 4096)");
	expect_err(MIN_SPEC GRAPH "      batching: {max_wait_ms: 10001}\n",
		   "line 8: spec.predictors[0].batching.max_wait_ms: '10001' is out of range (0 to 10000)");
	expect_err(MIN_SPEC GRAPH "      batching: 8\n",
		   "line 8: spec.predictors[0].batching: expected a mapping of fields, got '8'");
}

static void test_training_id(void **state)
{
	(void)state;
	const char *head = "spec:\n"
			   "  name: m\n"
			   "  predictors:\n"
			   "    - name: p\n"
			   "      graph: {name: g}\n"
			   "      componentSpecs:\n"
			   "        - spec:\n"
			   "            containers:\n"
			   "              - name: g\n"
			   "                env:\n"; /* 10 lines */
	char *t = xasprintf("%s                  - {name: TRAINING_ID, value: training-Env1}\n", head);
	struct deployment_spec *d = parse_ok(t);
	assert_string_equal(d->predictors[0].training_id, "training-Env1");
	spec_free(d);
	free(t);
	/* the field and the env may both say it, if they agree */
	t = xasprintf("%s                  - {name: TRAINING_ID, value: training-Env1}\n"
		      "      training_id: training-Env1\n",
		      head);
	d = parse_ok(t);
	assert_string_equal(d->predictors[0].training_id, "training-Env1");
	spec_free(d);
	free(t);
	t = xasprintf("%s                  - {name: TRAINING_ID, value: training-Env1}\n"
		      "      training_id: training-Other\n",
		      head);
	expect_err(t, "line 12: spec.predictors[0].training_id: 'training-Other' differs from TRAINING_ID 'training-Env1' at "
		      "spec.predictors[0].componentSpecs[0].spec.containers[0].env[0].value (line 11)");
	free(t);
	t = xasprintf("%s                  - name: TRAINING_ID\n"
		      "                    valueFrom: {secretKeyRef: {name: ids, key: id}}\n",
		      head);
	expect_err(t, "line 11: spec.predictors[0].componentSpecs[0].spec.containers[0].env[0]: TRAINING_ID needs a literal value");
	free(t);
	t = xasprintf("%s                  - {name: TRAINING_ID, value: ../../etc}\n", head);
	expect_err(t, "line 11: spec.predictors[0].componentSpecs[0].spec.containers[0].env[0].value: '../../etc' is not a "
		      "training id");
	free(t);
	expect_err("spec:\n  name: m\n  predictors:\n    - name: p\n      graph: {name: g}\n",
		   "line 4: spec.predictors[0]: no training id");
	expect_err("spec:\n  name: m\n  predictors:\n    - name: p\n      training_id: a b\n      graph: {name: g}\n",
		   "line 5: spec.predictors[0].training_id: 'a b' is not a training id");
	expect_err("spec:\n  name: m\n  predictors:\n    - name: p\n      training_id: [a]\n      graph: {name: g}\n",
		   "line 5: spec.predictors[0].training_id: expected a string, got a list");
	expect_err("spec:\n  name: m\n  predictors:\n    - name: p\n      training_id: t\n"
		   "      graph: {name: g, training_id: t}\n",
		   "line 6: spec.predictors[0].graph.training_id: is also given at spec.predictors[0].training_id (line 5)");
}

static void test_containers_and_env(void **state)
{
	(void)state;
	const char *head = MIN_SPEC GRAPH "      componentSpecs:\n" /* 8 */
				      "        - spec:\n"
				      "            containers:\n"; /* 10 */
	/* containers of other names are listed whole: Seldon matches them by name */
	char *t = xasprintf("%s              - {name: sidecar, image: x}\n"
			    "              - name: g\n"
			    "                image: model:1\n"
			    "                ports: [{containerPort: 9000}]\n"
			    "                env:\n"
			    "                  - {name: A, value: '1'}\n"
			    "                  - {name: B}\n"
			    "                  - {name: C, valueFrom: {fieldRef: {fieldPath: x}}}\n"
			    "                  - {name: BUCKET_KEY, value: AKIA}\n"
			    "                  - {name: DB_PASSWORD, value: hunter2}\n",
			    head);
	struct deployment_spec *d = parse_ok(t);
	const struct spec_predictor *p = &d->predictors[0];
	expect_ignored(d, "spec.predictors[0].componentSpecs[0].spec.containers[0]", 11, "no graph node is named 'sidecar'");
	expect_ignored(d, "spec.predictors[0].componentSpecs[0].spec.containers[1].image", 13, "not run");
	expect_ignored(d, "spec.predictors[0].componentSpecs[0].spec.containers[1].ports", 14, NULL);
	expect_ignored(d, "spec.predictors[0].componentSpecs[0].spec.containers[1].env[2].valueFrom", 18, "not resolved");
	assert_string_equal(p->image, "model:1");
	assert_int_equal(p->n_env, 3);
	assert_string_equal(p->env[0].name, "A");
	assert_string_equal(p->env[0].value, "1");
	assert_string_equal(p->env[1].name, "B");
	assert_string_equal(p->env[1].value, "");
	assert_string_equal(p->env[2].name, "DB_PASSWORD");
	assert_string_equal(p->bucket_key, "AKIA");
	/* secrets are masked unless asked for */
	char *masked = dump(spec_to_json(d, 0)), *plain = dump(spec_to_json(d, 1));
	assert_null(strstr(masked, "hunter2"));
	assert_non_null(strstr(masked, "AKIA"));
	assert_non_null(strstr(plain, "hunter2"));
	free(masked);
	free(plain);
	masked = dump(spec_source_json(d, 0));
	plain = dump(spec_source_json(d, 1));
	assert_null(strstr(masked, "hunter2"));
	assert_non_null(strstr(masked, "\"***\""));
	assert_non_null(strstr(plain, "hunter2"));
	free(masked);
	free(plain);
	assert_round_trip(d);
	spec_free(d);
	free(t);

	t = xasprintf("%s              - {name: other}\n", head);
	expect_err(t, "line 8: spec.predictors[0].componentSpecs: no container is named 'g', the graph node's name");
	free(t);
	t = xasprintf("%s              - {name: g}\n              - {name: g}\n", head);
	expect_err(t, "line 12: spec.predictors[0].componentSpecs[0].spec.containers[1]: a second container is named 'g' "
		      "(the first is at line 11)");
	free(t);
	t = xasprintf("%s              - {image: x}\n", head);
	expect_err(t, "line 11: spec.predictors[0].componentSpecs[0].spec.containers[0].name: is required");
	free(t);
	t = xasprintf("%s              - {name: g, env: [{name: A, value: 1}, {name: A, value: 2}]}\n", head);
	expect_err(t, "line 11: spec.predictors[0].componentSpecs[0].spec.containers[0].env[1].name: 'A' is set twice");
	free(t);
	t = xasprintf("%s              - {name: g, env: [{name: 1ABC, value: 1}]}\n", head);
	expect_err(t, "env[0].name: '1ABC' is not a variable name");
	free(t);
	t = xasprintf("%s              - {name: g, env: {A: 1}}\n", head);
	expect_err(t, "line 11: spec.predictors[0].componentSpecs[0].spec.containers[0].env: expected a list of {name, "
		      "value}, got a mapping");
	free(t);
	t = xasprintf("%s              - {name: g, env: [{name: A, value: [1]}]}\n", head);
	expect_err(t, "env[0].value: expected a string, got a list");
	free(t);
	t = xasprintf("%s              name: g\n", head);
	expect_err(t, "line 11: spec.predictors[0].componentSpecs[0].spec.containers: expected a list of containers, got a "
		      "mapping");
	free(t);
	expect_err(MIN_SPEC GRAPH "      componentSpecs: {spec: {}}\n",
		   "line 8: spec.predictors[0].componentSpecs: expected a list of component specs, got a mapping");
	expect_err(MIN_SPEC GRAPH "      componentSpecs: [[]]\n",
		   "line 8: spec.predictors[0].componentSpecs[0]: expected a mapping of fields, got a list");
	/* component specs without containers are fine (only listed) */
	d = parse_ok(MIN_SPEC GRAPH "      componentSpecs: [{hpaSpec: {maxReplicas: 3}}]\n");
	expect_ignored(d, "spec.predictors[0].componentSpecs[0].hpaSpec", 8, "autoscaling");
	spec_free(d);
}

/* ---- the graph */

static void test_graph(void **state)
{
	(void)state;
	struct deployment_spec *d = parse_ok(MIN_SPEC "      graph:\n" /* 7 */
							"        name: g\n"
							"        type: MODEL\n"
							"        implementation: SKLEARN_SERVER\n" /* 10 */
							"        modelUri: gs://bucket/model\n"
							"        endpoint: {type: rest, httpPort: 9000}\n"
							"        logger: {mode: all}\n"
							"        parameters:\n"
							"          - {name: a, type: BOOL, value: 'true'}\n" /* 15 */
							"          - {name: b, type: DOUBLE, value: 0.5}\n"
							"          - {name: c, type: STRING, value: hello}\n");
	const struct spec_predictor *p = &d->predictors[0];
	assert_string_equal(p->endpoint_type, "REST");
	assert_int_equal(p->n_params, 3);
	assert_string_equal(p->params[1].value, "0.5");
	expect_ignored(d, "spec.predictors[0].graph.implementation", 10, "prepackaged");
	expect_ignored(d, "spec.predictors[0].graph.modelUri", 11, "training job");
	expect_ignored(d, "spec.predictors[0].graph.endpoint.httpPort", 12, NULL);
	expect_ignored(d, "spec.predictors[0].graph.logger", 13, "request_log");
	assert_round_trip(d);
	spec_free(d);

	expect_err(MIN_SPEC "      graph: {name: g, endpoint: {type: GRPC}}\n",
		   "line 7: spec.predictors[0].graph.endpoint.type: GRPC is not served: weft answers REST only");
	expect_err(MIN_SPEC "      graph: {name: g, endpoint: {type: SOAP}}\n",
		   "line 7: spec.predictors[0].graph.endpoint.type: 'SOAP' is not an endpoint type (use REST)");
	expect_err(MIN_SPEC "      graph: {name: g, type: ROUTER}\n",
		   "line 7: spec.predictors[0].graph.type: 'ROUTER' is not supported: weft serves one MODEL node");
	expect_err(MIN_SPEC "      graph: {name: g, type: MODELL}\n",
		   "line 7: spec.predictors[0].graph.type: 'MODELL' is not a graph node type (use MODEL)");
	expect_err(MIN_SPEC "      graph:\n        name: g\n        children:\n          - {name: h, type: MODEL}\n",
		   "line 9: spec.predictors[0].graph.children: graphs of several nodes are not supported; use one MODEL node");
	expect_err(MIN_SPEC "      graph: {name: g, children: {name: h}}\n",
		   "line 7: spec.predictors[0].graph.children: expected a list of graph nodes, got a mapping");
	expect_err(MIN_SPEC "      graph: [{name: g}]\n",
		   "line 7: spec.predictors[0].graph: expected a mapping of fields, got a list");
	expect_err(MIN_SPEC "      replicas: 2\n",
		   "line 5: spec.predictors[0].graph: is required (one node: name, type MODEL, endpoint REST)");
	expect_err(MIN_SPEC "      graph: {type: MODEL}\n", "line 7: spec.predictors[0].graph.name: is required");
	expect_err(MIN_SPEC "      graph: {name: My_Model}\n",
		   "line 7: spec.predictors[0].graph.name: 'My_Model' is not a valid name");
	expect_err(MIN_SPEC "      graph: {name: g, parameters: [{name: k, type: INT, value: three}]}\n",
		   "line 7: spec.predictors[0].graph.parameters[0].value: 'three' is not an integer");
	expect_err(MIN_SPEC "      graph: {name: g, parameters: [{name: k, type: BOOL, value: 1}]}\n",
		   "spec.predictors[0].graph.parameters[0].value: '1' is not true or false");
	expect_err(MIN_SPEC "      graph: {name: g, parameters: [{name: k, type: FLOAT, value: x}]}\n",
		   "spec.predictors[0].graph.parameters[0].value: 'x' is not a number");
	expect_err(MIN_SPEC "      graph: {name: g, parameters: [{name: k, type: LONG, value: 1}]}\n",
		   "spec.predictors[0].graph.parameters[0].type: 'LONG' is not a parameter type");
	expect_err(MIN_SPEC "      graph: {name: g, parameters: [{name: k, type: INT}]}\n",
		   "spec.predictors[0].graph.parameters[0].value: is required");
	expect_err(MIN_SPEC "      graph: {name: g, parameters: [{name: k, type: INT, value: 1}, "
			    "{name: k, type: INT, value: 2}]}\n",
		   "spec.predictors[0].graph.parameters[1].name: 'k' is given twice");
	expect_err(MIN_SPEC "      graph: {name: g, parameters: {k: 1}}\n",
		   "spec.predictors[0].graph.parameters: expected a list of {name, type, value}, got a mapping");
}

/* ---- the top of the document */

static void test_names(void **state)
{
	(void)state;
	expect_err("spec:\n  name: Fashion_MNIST\n  predictors: []\n",
		   "line 2: spec.name: 'Fashion_MNIST' is not a valid name (1 to 63 of a-z, 0-9 and '-'");
	expect_err("spec:\n  name: -a\n", "line 2: spec.name: '-a' is not a valid name");
	expect_err("spec:\n  name: a-\n", "line 2: spec.name: 'a-' is not a valid name");
	char *t = xasprintf("spec:\n  name: %064d\n", 0);
	expect_err(t, "line 2: spec.name:");
	free(t);
	t = xasprintf("%s", MIN_SPEC GRAPH);
	t[strstr(t, "name: m") - t + 6] = 'M';
	expect_err(t, "line 3: spec.name: 'M' is not a valid name");
	free(t);
	expect_err("spec:\n  name: \"\"\n", "line 2: spec.name: must not be empty");
	expect_err("spec:\n  predictors: []\n", "line 1: spec.name: is required");
	expect_err("spec:\n  name: m\n  predictors:\n    - name: Main\n", "line 4: spec.predictors[0].name: 'Main' is not a valid name");
	expect_err("spec:\n  name: m\n  predictors:\n    - graph: {name: g}\n", "line 4: spec.predictors[0].name: is required");
	expect_err("metadata: {name: Bad_Name}\n" MIN_SPEC GRAPH,
		   "line 1: metadata.name: 'Bad_Name' is not a valid Kubernetes name");
	expect_err("metadata: {namespace: a.b}\n" MIN_SPEC GRAPH,
		   "line 1: metadata.namespace: 'a.b' is not a valid name");
	struct deployment_spec *d = parse_ok("metadata: {name: model.v1.example, namespace: seldon}\n" MIN_SPEC GRAPH);
	assert_string_equal(d->metadata_name, "model.v1.example");
	assert_string_equal(d->namespace, "seldon");
	spec_free(d);
	char name63[64];
	memset(name63, 'a', 63);
	name63[63] = '\0';
	assert_true(spec_name_valid(name63));
	assert_true(spec_name_valid("a"));
	assert_true(spec_name_valid("0-9"));
	assert_false(spec_name_valid(""));
	assert_false(spec_name_valid(NULL));
	assert_false(spec_name_valid("a.b"));
	assert_false(spec_name_valid("a b"));
	memset(name63, 'a', 63);
	char name64[65];
	memset(name64, 'a', 64);
	name64[64] = '\0';
	assert_false(spec_name_valid(name64));
}

static void test_document_errors(void **state)
{
	(void)state;
	expect_err("", "line 1: the deployment spec is empty");
	expect_err("# nothing\n", "the deployment spec is empty");
	expect_err("null\n", "the deployment spec is empty");
	expect_err("[1, 2]\n", "line 1: a deployment spec must be a mapping (apiVersion, kind, metadata, spec), got a list");
	expect_err("just words\n", "got 'just words'");
	expect_err("kind: SeldonDeployment\n", "line 1: spec: is required");
	expect_err("kind: Deployment\n" "spec: {}\n", "line 1: kind: 'Deployment' is not SeldonDeployment");
	expect_err("spec: [a]\n", "line 1: spec: expected a mapping of fields, got a list");
	expect_err("spec:\n  name: m\n", "line 1: spec.predictors: is required");
	expect_err("spec:\n  name: m\n  predictors: []\n", "line 3: spec.predictors: is empty");
	expect_err("spec:\n  name: m\n  predictors: {name: p}\n", "line 3: spec.predictors: expected a list of predictors, got a mapping");
	expect_err("spec:\n  name: m\n  predictors:\n    -\n", "line 4: spec.predictors[0]: is empty");
	expect_err("spec:\n  name: m\n  predictors: [a]\n", "line 3: spec.predictors[0]: expected a mapping of fields, got 'a'");
	expect_err("metadata: [x]\n" MIN_SPEC GRAPH, "line 1: metadata: expected a mapping of fields, got a list");
	expect_err("metadata: {labels: [a]}\n" MIN_SPEC GRAPH, "line 1: metadata.labels: expected a mapping of fields, got a list");
	expect_err("metadata: {labels: {a: [b]}}\n" MIN_SPEC GRAPH, "line 1: metadata.labels.a: expected a single value, got a list");
	expect_err(MIN_SPEC GRAPH "      annotations: {a: {b: c}}\n",
		   "line 8: spec.predictors[0].annotations.a: expected a single value, got a mapping");
	/* replicas */
	expect_err("spec:\n  name: m\n  predictors:\n    - name: p\n      graph: {name: g}\n"
		   "      training_id: t\n"
		   "      replicas: two\n",
		   "line 7: spec.predictors[0].replicas: 'two' is not an integer");
	expect_err(MIN_SPEC GRAPH "      replicas: 0\n", "line 8: spec.predictors[0].replicas: '0' is out of range (1 to 64)");
	expect_err(MIN_SPEC GRAPH "      replicas: 65\n", "line 8: spec.predictors[0].replicas: '65' is out of range (1 to 64)");
	expect_err(MIN_SPEC GRAPH "      replicas: 1.5\n", "'1.5' is not an integer");
	expect_err(MIN_SPEC GRAPH "      replicas: 0x10\n", "'0x10' is not an integer");
	expect_err(MIN_SPEC GRAPH "      replicas: [2]\n", "line 8: spec.predictors[0].replicas: expected an integer, got a list");
	expect_err("spec:\n  name: m\n  replicas: 99\n", "line 3: spec.replicas: '99' is out of range (1 to 64)");
	/* duplicate predictors */
	expect_err("spec:\n  name: m\n  predictors:\n"
		   "    - {name: a, training_id: t, graph: {name: g}}\n"
		   "    - {name: a, training_id: t, graph: {name: g}}\n",
		   "line 5: spec.predictors[1].name: 'a' is used twice (also by spec.predictors[0] at line 4)");
	/* limits */
	struct sbuf sb = SBUF_INIT;
	sb_adds(&sb, "spec:\n  name: m\n  predictors:\n");
	for (int i = 0; i < SPEC_MAX_PREDICTORS; i++)
		sb_addf(&sb, "    - {name: p%d, training_id: t, graph: {name: g}}\n", i);
	struct deployment_spec *d = parse_ok(sb.buf);
	assert_int_equal(d->n_predictors, SPEC_MAX_PREDICTORS);
	int sum = 0;
	for (size_t i = 0; i < d->n_predictors; i++)
		sum += d->predictors[i].traffic;
	assert_int_equal(sum, 100);
	spec_free(d);
	sb_adds(&sb, "    - {name: last, training_id: t, graph: {name: g}}\n");
	expect_err(sb.buf, "line 3: spec.predictors: has 17 predictors (at most 16)");
	sb_release(&sb);
	/* the deployment's own settings */
	expect_err(MIN_SPEC GRAPH "  port: 70000\n", "line 8: spec.port: '70000' is out of range (1 to 65535)");
	expect_err(MIN_SPEC GRAPH "  port: http\n", "line 8: spec.port: 'http' is not an integer");
	expect_err(MIN_SPEC GRAPH "  request_log: maybe\n", "line 8: spec.request_log: 'maybe' is not true or false");
	expect_err(MIN_SPEC GRAPH "  oauth_key: k\n", "line 8: spec.oauth_secret: is required with oauth_key");
	expect_err(MIN_SPEC GRAPH "  oauth_secret: s\n", "line 8: spec.oauth_key: is required with oauth_secret");
	expect_err(MIN_SPEC GRAPH "  transport: grpc\n", "line 8: spec.transport: 'grpc' is not served: weft answers REST only");
	d = parse_ok(MIN_SPEC GRAPH "  transport: rest\n  request_log: True\n  port: 8081\n");
	assert_int_equal(d->request_log, 1);
	assert_int_equal(d->port, 8081);
	spec_free(d);
}

static void test_syntax_errors(void **state)
{
	(void)state;
	expect_err("{\"spec\": {\"name\": \"m\",\n \"predictors\": [}\n", "line 2: JSON/YAML syntax error");
	expect_err("spec:\n  name: m\n   bad: indent\n", "line 3: JSON/YAML syntax error");
	expect_err("spec: {name: m}\n---\nspec: {name: n}\n", "line 2: only one document is allowed");
	expect_err("spec: \"\\xff\xff\"\n", "JSON/YAML syntax error");
	/* duplicate keys, where weft reads and where it does not */
	expect_err("spec:\n  name: m\n  name: n\n", "line 3: spec.name: duplicate key (first at line 2)");
	expect_err(MIN_SPEC GRAPH "      svcOrchSpec: {env: 1, env: 2}\n",
		   "line 8: spec.predictors[0].svcOrchSpec.env: duplicate key (first at line 8)");
	expect_err(MIN_SPEC GRAPH "      extra: {[a]: 1}\n", "line 8: spec.predictors[0].extra: keys must be plain names, got a list");
	/* nesting and aliases */
	struct sbuf sb = SBUF_INIT;
	for (int i = 0; i < 100; i++)
		sb_addc(&sb, '[');
	expect_err(sb.buf, "line 1: nested deeper than 64 levels");
	sb_release(&sb);
	expect_err("spec: &a\n  name: m\n  x: *a\n", "nested deeper than 64 levels (a recursive alias?)");
	sb_adds(&sb, "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
	for (int i = 1; i < 9; i++)
		sb_addf(&sb, "a%d: &a%d [*a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d]\n", i, i, i - 1, i - 1, i - 1,
			i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1);
	expect_err(sb.buf, "the spec is too large (over 100000 values, counting each use of an alias)");
	sb_release(&sb);
	/* aliases within the budget work like copies */
	struct deployment_spec *d = parse_ok("spec:\n  name: m\n  predictors:\n"
					     "    - {name: a, training_id: t, graph: &g {name: g}, traffic: 50}\n"
					     "    - {name: b, training_id: t, graph: *g, traffic: 50}\n");
	assert_string_equal(d->predictors[1].graph_name, "g");
	spec_free(d);
	expect_err("spec:\n  name: \"a\\0b\"\n", "line 2: spec.name: contains a NUL character");
}

/* JSON as editors and tools write it: tabs, CRLF, a byte-order mark. */
static void test_json_layouts(void **state)
{
	(void)state;
	struct deployment_spec *d = parse_ok("\t{\n"
					     "\t\"spec\": {\n"
					     "\t\t\"name\": \"m\",\n"
					     "\t\t\"predictors\": [{\"name\": \"p\", \"training_id\": \"t\", \"graph\": {\"name\": \"g\"}}]\n"
					     "\t}\n"
					     "}\n\t\n");
	assert_string_equal(d->name, "m");
	spec_free(d);
	d = parse_ok("\xef\xbb\xbf{\"spec\":{\"name\":\"m\",\"predictors\":[{\"name\":\"p\",\"training_id\":\"t\",\"graph\":{\"name\":\"g\"}}]}}");
	assert_string_equal(d->predictors[0].graph_name, "g");
	spec_free(d);
	/* CRLF line ends count as one line each */
	expect_err("spec:\r\n  name: m\r\n  predictors:\r\n    - name: p\r\n      replicas: two\r\n",
		   "line 5: spec.predictors[0].replicas: 'two' is not an integer");
	expect_err("{\"spec\": {\"name\": \"m\",\r\n  \"predictors\": [{\"name\": \"p\",\r\n  \"replicas\": [1]}]}}",
		   "line 3: spec.predictors[0].replicas: expected an integer, got a list");
	/* a tab inside a quoted value is kept */
	d = parse_ok("{\"spec\": {\"name\": \"m\", \"annotations\": {\"a\": \"x\\ty\\u00e9\"},"
		     " \"predictors\": [{\"name\": \"p\", \"training_id\": \"t\", \"graph\": {\"name\": \"g\"}}]}}");
	assert_string_equal(json_string_value(json_object_get(d->annotations, "a")), "x\ty\xc3\xa9");
	assert_round_trip(d);
	spec_free(d);
}

static void test_ignored_fields(void **state)
{
	(void)state;
	struct deployment_spec *d = parse_ok("apiVersion: machinelearning.seldon.io/v1\n"
					     "kind: SeldonDeployment\n"
					     "metadata:\n"
					     "  name: m\n"
					     "  uid: 1234\n" /* 5 */
					     "spec:\n"
					     "  name: m\n"
					     "  protocol: seldon\n"
					     "  predictors:\n"
					     "    - name: p\n" /* 10 */
					     "      replcas: 3\n"
					     "      training_id: t\n"
					     "      explainer: {type: AnchorTabular}\n"
					     "      svcOrchSpec: {env: [{name: SELDON_LOG_LEVEL, value: DEBUG}]}\n"
					     "      graph:\n" /* 15 */
					     "        name: g\n"
					     "        endpoint: {type: REST, service_port: 9000}\n"
					     "        \"odd key\\t\": 1\n"
					     "status: {state: Available}\n");
	expect_ignored(d, "metadata.uid", 5, NULL);
	expect_ignored(d, "spec.protocol", 8, "Open Inference Protocol");
	expect_ignored(d, "spec.predictors[0].replcas", 11, "did you mean 'replicas'?");
	expect_ignored(d, "spec.predictors[0].explainer", 13, "not supported");
	expect_ignored(d, "spec.predictors[0].svcOrchSpec", 14, "service orchestrator");
	expect_ignored(d, "spec.predictors[0].graph.endpoint.service_port", 17, NULL);
	expect_ignored(d, "spec.predictors[0].graph[\"odd key\\x09\"]", 18, NULL);
	expect_ignored(d, "status", 19, NULL);
	assert_int_equal(d->n_ignored, 8);
	assert_int_equal(d->predictors[0].replicas, 1); /* the typo had no effect, and says so */

	json_t *a = spec_ignored_json(d);
	assert_int_equal(json_array_size(a), 8);
	json_t *first = json_array_get(a, 0);
	assert_string_equal(json_string_value(json_object_get(first, "path")), "metadata.uid");
	assert_int_equal(json_integer_value(json_object_get(first, "line")), 5);
	assert_null(json_object_get(first, "reason"));
	json_t *typo = json_array_get(a, 2);
	assert_string_equal(json_string_value(json_object_get(typo, "path")), "spec.predictors[0].replcas");
	assert_non_null(strstr(json_string_value(json_object_get(typo, "reason")), "replicas"));
	json_decref(a);
	/* kept in the source all the same */
	json_t *sp = json_object_get(d->source, "spec");
	assert_string_equal(json_string_value(json_object_get(sp, "protocol")), "seldon");
	assert_string_equal(json_string_value(json_object_get(json_object_get(d->source, "status"), "state")), "Available");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(d->source, "metadata"), "uid")), 1234);
	spec_free(d);
}

static void test_source_types(void **state)
{
	(void)state;
	struct deployment_spec *d = parse_ok(MIN_SPEC GRAPH "      x: {i: 12, f: 1.5, t: true, n: null, s: '12', e: , w: hi}\n");
	json_t *x = json_object_get(json_array_get(json_object_get(json_object_get(d->source, "spec"), "predictors"), 0), "x");
	assert_true(json_is_integer(json_object_get(x, "i")));
	assert_true(json_is_real(json_object_get(x, "f")));
	assert_true(json_is_true(json_object_get(x, "t")));
	assert_true(json_is_null(json_object_get(x, "n")));
	assert_true(json_is_null(json_object_get(x, "e")));
	assert_string_equal(json_string_value(json_object_get(x, "s")), "12");
	assert_string_equal(json_string_value(json_object_get(x, "w")), "hi");
	spec_free(d);
	/* oauth_secret is masked in both JSON forms unless asked for */
	d = parse_ok(MIN_SPEC GRAPH "  oauth_key: client\n  oauth_secret: s3cret\n");
	char *a = dump(spec_source_json(d, 0)), *b = dump(spec_to_json(d, 0)), *c = dump(spec_source_json(d, 1));
	assert_null(strstr(a, "s3cret"));
	assert_null(strstr(b, "s3cret"));
	assert_non_null(strstr(a, "client"));
	assert_non_null(strstr(c, "s3cret"));
	free(a);
	free(b);
	free(c);
	spec_free(d);
}

/* ---- the short form */

static void test_short_form(void **state)
{
	(void)state;
	struct deployment_spec *d = NULL;
	struct weft_err e = { 0, "" };
	assert_int_equal(spec_from_short("training-Ab_3xYz", NULL, 0, &d, &e), 0);
	assert_string_equal(d->name, "training-ab-3xyz");
	assert_int_equal(d->n_predictors, 1);
	const struct spec_predictor *p = &d->predictors[0];
	assert_string_equal(p->name, "default");
	assert_int_equal(p->replicas, 1);
	assert_int_equal(p->traffic, 100);
	assert_int_equal(p->runtime, SPEC_RUNTIME_NATIVE);
	assert_string_equal(p->training_id, "training-Ab_3xYz");
	assert_string_equal(p->graph_name, "training-ab-3xyz");
	assert_int_equal(d->n_ignored, 0);
	/* its source is a SeldonDeployment that parses into the same spec */
	char *src = dump(json_incref(d->source));
	struct deployment_spec *d2 = parse_ok(src);
	char *a = dump(spec_to_json(d, 1)), *b = dump(spec_to_json(d2, 1));
	assert_string_equal(a, b);
	free(a);
	free(b);
	free(src);
	spec_free(d2);
	spec_free(d);

	assert_int_equal(spec_from_short("training-x", "digits", 4, &d, &e), 0);
	assert_string_equal(d->name, "digits");
	assert_int_equal(d->predictors[0].replicas, 4);
	spec_free(d);

	assert_int_equal(spec_from_short(NULL, NULL, 0, &d, &e), WEFT_EINVAL);
	assert_null(d);
	assert_non_null(strstr(e.msg, "training_id: is required"));
	assert_int_equal(spec_from_short("a/b", NULL, 0, &d, &e), WEFT_EINVAL);
	assert_non_null(strstr(e.msg, "training_id: 'a/b' is not a training id"));
	assert_int_equal(spec_from_short("t", "My_Model", 0, &d, &e), WEFT_EINVAL);
	assert_non_null(strstr(e.msg, "name: 'My_Model' is not a valid name"));
	assert_int_equal(spec_from_short("t", NULL, 65, &d, &e), WEFT_EINVAL);
	assert_non_null(strstr(e.msg, "replicas: 65 is out of range (1 to 64)"));
	assert_int_equal(spec_from_short("t", NULL, -1, &d, &e), WEFT_EINVAL);
	assert_null(d);
}

static void test_name_from_id(void **state)
{
	(void)state;
	static const struct {
		const char *id, *name;
	} cases[] = {
		{ "training-abc123xyz", "training-abc123xyz" },
		{ "training-AbC_dEf", "training-abc-def" },
		{ "__x__", "x" },
		{ "___", "model" },
		{ "", "model" },
		{ "a--b", "a-b" },
		{ "-Lead", "lead" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *n = spec_name_from_id(cases[i].id);
		assert_string_equal(n, cases[i].name);
		assert_true(spec_name_valid(n));
		free(n);
	}
	char longid[SPEC_ID_MAX + 1];
	memset(longid, 'A', SPEC_ID_MAX);
	longid[SPEC_ID_MAX] = '\0';
	assert_true(spec_training_id_valid(longid));
	char *n = spec_name_from_id(longid);
	assert_int_equal(strlen(n), SPEC_NAME_MAX);
	assert_true(spec_name_valid(n));
	free(n);
	longid[SPEC_NAME_MAX - 1] = '_'; /* a cut that would end on '-' */
	n = spec_name_from_id(longid);
	assert_true(spec_name_valid(n));
	free(n);
	assert_false(spec_training_id_valid("a b"));
	assert_false(spec_training_id_valid("../x"));
	assert_false(spec_training_id_valid(""));
	assert_string_equal(spec_runtime_name(SPEC_RUNTIME_CUSTOM), "custom");
	assert_string_equal(spec_runtime_name(SPEC_RUNTIME_NATIVE), "native");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_article),
		cmocka_unit_test(test_article_as_printed),
		cmocka_unit_test(test_json_and_yaml_same),
		cmocka_unit_test(test_fixture_files),
		cmocka_unit_test(test_canary),
		cmocka_unit_test(test_even_split),
		cmocka_unit_test(test_shadow),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_runtime),
		cmocka_unit_test(test_training_id),
		cmocka_unit_test(test_containers_and_env),
		cmocka_unit_test(test_graph),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_document_errors),
		cmocka_unit_test(test_syntax_errors),
		cmocka_unit_test(test_json_layouts),
		cmocka_unit_test(test_ignored_fields),
		cmocka_unit_test(test_source_types),
		cmocka_unit_test(test_short_form),
		cmocka_unit_test(test_name_from_id),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

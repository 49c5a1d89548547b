/* test_manifest.c - the FfDL manifest parser: the article's example, every
 * field, FfDL's defaults, each size/duration unit, and every bad input we
 * could think of, each asserting that the error names the field and the
 * right line. Ends with `weft validate` end to end when WEFT_BIN is built. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "manifest/manifest.h"
#include "util/fs.h"
#include "util/mem.h"
#include "util/sbuf.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* The FfDL tf_convolutional_network_tutorial manifest as printed in the
 * article, with the keys and indentation the article lost restored. */
static const char article[] =
	"name: tf_convolutional_network_tutorial\n"                          /* 1 */
	"description: Convolutional network model using tensorflow\n"
	"version: \"1.0\"\n"
	"gpus: 0\n"
	"cpus: 0.5\n"                                                       /* 5 */
	"memory: 1Gb\n"
	"learners: 1\n"
	"\n"
	"# Object stores that allow the system to retrieve training data.\n"
	"data_stores:\n"                                                    /* 10 */
	"  - id: sl-internal-os\n"
	"    type: mount_cos\n"
	"    training_data:\n"
	"      container: tf_training_data\n"
	"    training_results:\n"                                           /* 15 */
	"      container: tf_trained_model\n"
	"    connection:\n"
	"      auth_url: http://s3.default.svc.cluster.local\n"
	"      user_name: test\n"
	"      password: test\n"                                            /* 20 */
	"\n"
	"framework:\n"
	"  name: tensorflow\n"
	"  version: \"1.5.0-py3\"\n"
	"  command: >\n"                                                    /* 25 */
	"    python3 --trainImagesFile ${DATA_DIR}/train-images-idx3-ubyte.gz\n"
	"      --trainLabelsFile ${DATA_DIR}/train-labels-idx1-ubyte.gz --testImagesFile ${DATA_DIR}/t10k-images-idx3-ubyte.gz\n"
	"      --testLabelsFile ${DATA_DIR}/t10k-labels-idx1-ubyte.gz --learningRate 0.001\n"
	"      --trainingIters 2000\n"
	"\n"                                                                /* 30 */
	"evaluation_metrics:\n"
	"  type: tensorboard\n"
	"  in: \"$JOB_STATE_DIR/logs/tb\"\n"
	"  # (Eventual) Available event types: 'images', 'distributions', 'histograms', 'images'\n"
	"  # 'audio', 'scalars', 'tensors', 'graph', 'meta_graph', 'run_metadata'\n"
	"  #  event_types: [scalars]\n";

/* A minimal valid manifest: 10 lines, so an appended field is on line 11. */
#define BASE                                                                                                 \
	"name: job\n"                                                                                        \
	"framework:\n"                                                                                       \
	"  name: pytorch\n"                                                                                  \
	"  version: latest\n"                                                                                \
	"  command: python3 train.py\n"                                                                      \
	"data_stores:\n"                                                                                     \
	"  - id: store\n"                                                                                    \
	"    type: local\n"                                                                                  \
	"    training_data:\n"                                                                               \
	"      container: data\n"

/* Everything but the data stores (5 lines); a data_stores block appended starts on line 6. */
#define HEAD                                                                                                 \
	"name: job\n"                                                                                        \
	"framework:\n"                                                                                       \
	"  name: pytorch\n"                                                                                  \
	"  version: latest\n"                                                                                \
	"  command: python3 train.py\n"

static struct manifest *parse_ok_w(const char *yaml, struct sbuf *w)
{
	struct manifest *m = NULL;
	struct weft_err e = { 0, "" };
	int rc = manifest_parse(yaml, strlen(yaml), &m, w, &e);
	if (rc)
		fail_msg("unexpected error: %s\n--- manifest:\n%s", e.msg, yaml);
	assert_non_null(m);
	return m;
}

static struct manifest *parse_ok(const char *yaml)
{
	return parse_ok_w(yaml, NULL);
}

/* Asserts that yaml fails and that the message contains want (and want2). */
static void expect_err2(const char *yaml, const char *want, const char *want2)
{
	struct manifest *m = NULL;
	struct weft_err e = { 0, "" };
	int rc = manifest_parse(yaml, strlen(yaml), &m, NULL, &e);
	if (rc == 0)
		fail_msg("expected an error containing \"%s\"\n--- manifest:\n%s", want, yaml);
	assert_int_equal(rc, WEFT_EINVAL);
	assert_null(m);
	if (!strstr(e.msg, want) || (want2 && !strstr(e.msg, want2)))
		fail_msg("error \"%s\" does not contain \"%s\"%s%s", e.msg, want, want2 ? " and " : "",
			 want2 ? want2 : "");
}

static void expect_err(const char *yaml, const char *want)
{
	expect_err2(yaml, want, NULL);
}

/* ---- the article's example ---- */

static void test_article_example(void **state)
{
	(void)state;
	struct sbuf w = SBUF_INIT;
	struct manifest *m = parse_ok_w(article, &w);
	assert_string_equal(sb_str(&w), ""); /* the event_types line is a comment */
	assert_string_equal(m->name, "tf_convolutional_network_tutorial");
	assert_string_equal(m->description, "Convolutional network model using tensorflow");
	assert_string_equal(m->version, "1.0");
	assert_int_equal(m->gpus, 0);
	assert_true(m->cpus == 0.5);
	assert_true(m->memory == 1000000000ULL); /* 1Gb = 1 GB = 1000 MB */
	assert_int_equal(m->learners, 1);
	assert_string_equal(m->gpu_type, "nvidia-TeslaK80");
	assert_int_equal(m->n_data_stores, 1);
	struct manifest_datastore *ds = &m->data_stores[0];
	assert_string_equal(ds->id, "sl-internal-os");
	assert_string_equal(ds->type, "mount_cos");
	assert_string_equal(ds->training_data, "tf_training_data");
	assert_string_equal(ds->training_results, "tf_trained_model");
	assert_string_equal(ds->auth_url, "http://s3.default.svc.cluster.local");
	assert_string_equal(ds->user_name, "test");
	assert_string_equal(ds->password, "test");
	assert_null(ds->region);
	assert_int_equal(ds->line, 11);
	assert_string_equal(m->framework_name, "tensorflow");
	assert_string_equal(m->framework_version, "1.5.0-py3");
	assert_string_equal(m->framework_command,
			    "python3 --trainImagesFile ${DATA_DIR}/train-images-idx3-ubyte.gz"
			    " --trainLabelsFile ${DATA_DIR}/train-labels-idx1-ubyte.gz"
			    " --testImagesFile ${DATA_DIR}/t10k-images-idx3-ubyte.gz"
			    " --testLabelsFile ${DATA_DIR}/t10k-labels-idx1-ubyte.gz --learningRate 0.001"
			    " --trainingIters 2000");
	assert_null(m->framework_image_tag);
	assert_non_null(m->evaluation_metrics);
	assert_string_equal(json_string_value(json_object_get(m->evaluation_metrics, "type")), "tensorboard");
	assert_string_equal(json_string_value(json_object_get(m->evaluation_metrics, "in")), "$JOB_STATE_DIR/logs/tb");
	assert_int_equal(json_object_size(m->evaluation_metrics), 2);
	assert_string_equal(m->restart_policy, "never");
	assert_int_equal(m->max_restarts, 0);
	assert_int_equal(m->deadline_s, 0);
	manifest_free(m);
	sb_release(&w);
}

static void test_article_to_json(void **state)
{
	(void)state;
	struct manifest *m = parse_ok(article);
	json_t *j = manifest_to_json(m, 0);
	assert_string_equal(json_string_value(json_object_get(j, "name")), "tf_convolutional_network_tutorial");
	assert_string_equal(json_string_value(json_object_get(j, "memory")), "1GB");
	assert_int_equal(json_integer_value(json_object_get(j, "memory_bytes")), 1000000000);
	assert_int_equal(json_integer_value(json_object_get(j, "storage_bytes")), 0);
	assert_true(json_real_value(json_object_get(j, "cpus")) == 0.5);
	assert_int_equal(json_integer_value(json_object_get(j, "gpus")), 0);
	assert_int_equal(json_integer_value(json_object_get(j, "learners")), 1);
	assert_string_equal(json_string_value(json_object_get(j, "gpu_type")), "nvidia-TeslaK80");
	json_t *ds = json_array_get(json_object_get(j, "data_stores"), 0);
	assert_string_equal(json_string_value(json_object_get(ds, "id")), "sl-internal-os");
	assert_string_equal(json_string_value(json_object_get(json_object_get(ds, "training_data"), "container")),
			    "tf_training_data");
	assert_string_equal(json_string_value(json_object_get(json_object_get(ds, "training_results"), "container")),
			    "tf_trained_model");
	json_t *conn = json_object_get(ds, "connection");
	assert_string_equal(json_string_value(json_object_get(conn, "user_name")), "test");
	assert_null(json_object_get(conn, "password"));
	json_t *fw = json_object_get(j, "framework");
	assert_string_equal(json_string_value(json_object_get(fw, "name")), "tensorflow");
	assert_string_equal(json_string_value(json_object_get(fw, "version")), "1.5.0-py3");
	assert_non_null(json_object_get(fw, "command"));
	assert_string_equal(json_string_value(json_object_get(json_object_get(j, "evaluation_metrics"), "type")),
			    "tensorboard");
	assert_string_equal(json_string_value(json_object_get(j, "restart_policy")), "never");
	assert_int_equal(json_integer_value(json_object_get(j, "max_restarts")), 0);
	assert_int_equal(json_integer_value(json_object_get(j, "deadline_s")), 0);
	json_decref(j);
	manifest_free(m);
}

static void test_secrets_not_in_json(void **state)
{
	(void)state;
	struct manifest *m = parse_ok(BASE "    connection:\n      user_name: alice\n"
					   "      password: s3cr3t-Pa55\n");
	json_t *j = manifest_to_json(m, 0);
	char *s = json_dumps(j, 0);
	assert_null(strstr(s, "s3cr3t-Pa55"));
	assert_null(strstr(s, "password"));
	assert_non_null(strstr(s, "alice"));
	free(s);
	json_decref(j);
	j = manifest_to_json(m, 1);
	json_t *conn = json_object_get(json_array_get(json_object_get(j, "data_stores"), 0), "connection");
	assert_string_equal(json_string_value(json_object_get(conn, "password")), "s3cr3t-Pa55");
	json_decref(j);
	manifest_free(m);
}

/* ---- defaults and every field ---- */

static void test_defaults(void **state)
{
	(void)state;
	struct manifest *m = parse_ok(BASE);
	assert_true(m->cpus == MANIFEST_DEFAULT_CPUS);
	assert_true(m->memory == 12ULL * 1024 * 1024 * 1024);
	assert_int_equal(m->gpus, 0);
	assert_int_equal(m->learners, 1);
	assert_string_equal(m->gpu_type, "nvidia-TeslaK80");
	assert_true(m->storage == 0);
	assert_null(m->description);
	assert_null(m->version);
	assert_null(m->evaluation_metrics);
	assert_null(m->data_stores[0].training_results);
	assert_null(m->data_stores[0].password);
	assert_string_equal(m->restart_policy, "never");
	json_t *j = manifest_to_json(m, 1);
	assert_string_equal(json_string_value(json_object_get(j, "memory")), "12GiB");
	assert_null(json_object_get(j, "evaluation_metrics"));
	assert_null(json_object_get(json_array_get(json_object_get(j, "data_stores"), 0), "training_results"));
	json_decref(j);
	manifest_free(m);
}

static void test_zero_means_default(void **state)
{
	(void)state;
	struct manifest *m = parse_ok(BASE "cpus: 0\nmemory: 0\nlearners: 0\ngpus: 0\n");
	assert_true(m->cpus == 5.0);
	assert_true(m->memory == MANIFEST_DEFAULT_MEMORY);
	assert_int_equal(m->learners, 1);
	manifest_free(m);
	m = parse_ok(BASE "memory: 0GB\nstorage: 0\n");
	assert_true(m->memory == MANIFEST_DEFAULT_MEMORY);
	assert_true(m->storage == 0);
	manifest_free(m);
	/* an empty value is the same as leaving the field out */
	m = parse_ok(BASE "cpus:\nmemory: ~\ndescription:\n");
	assert_true(m->cpus == 5.0);
	assert_true(m->memory == MANIFEST_DEFAULT_MEMORY);
	assert_null(m->description);
	manifest_free(m);
}

static void test_every_field(void **state)
{
	(void)state;
	static const char yaml[] = "name: full\n"
				   "description: every field\n"
				   "version: 1.5\n"
				   "gpus: 2\n"
				   "gpu_type: nvidia-TeslaV100\n"
				   "cpus: 1.25\n"
				   "memory: 512MiB\n"
				   "storage: 10GB\n"
				   "learners: 4\n"
				   "data_stores:\n"
				   "  - id: in\n"
				   "    type: s3_datastore\n"
				   "    training_data: {container: bucket-in}\n"
				   "    training_results: {container: bucket-out}\n"
				   "    connection:\n"
				   "      auth_url: http://minio:9000\n"
				   "      user_name: ak\n"
				   "      password: sk\n"
				   "      region: eu-de\n"
				   "      path: /srv/data\n"
				   "framework:\n"
				   "  name: custom\n"
				   "  version: 'my/image:1'\n"
				   "  command: ./run.sh\n"
				   "  image_tag: dev-42\n"
				   "evaluation_metrics:\n"
				   "  type: regex_extractor\n"
				   "  image_tag: collector-1\n"
				   "  line_lookahead: 4\n"
				   "  eventTypes: [scalars, images]\n"
				   "  groups:\n"
				   "    test:\n"
				   "      regex: 'loss=(?P<loss>%{FLOAT})'\n"
				   "      meta: {time: $timestamp, subid: run1}\n"
				   "      scalars:\n"
				   "        loss: {type: FLOAT, value: $loss}\n"
				   "      etimes:\n"
				   "        iteration: {type: int, value: $iter}\n"
				   "restart_policy: on-failure\n"
				   "max_restarts: 3\n"
				   "deadline: 2h\n";
	struct sbuf w = SBUF_INIT;
	struct manifest *m = parse_ok_w(yaml, &w);
	assert_string_equal(sb_str(&w), "");
	assert_string_equal(m->description, "every field");
	assert_string_equal(m->version, "1.5");
	assert_int_equal(m->gpus, 2);
	assert_string_equal(m->gpu_type, "nvidia-TeslaV100");
	assert_true(m->cpus == 1.25);
	assert_true(m->memory == 512ULL << 20);
	assert_true(m->storage == 10000000000ULL);
	assert_int_equal(m->learners, 4);
	struct manifest_datastore *ds = &m->data_stores[0];
	assert_string_equal(ds->type, "s3_datastore");
	assert_string_equal(ds->training_data, "bucket-in");
	assert_string_equal(ds->training_results, "bucket-out");
	assert_string_equal(ds->auth_url, "http://minio:9000");
	assert_string_equal(ds->region, "eu-de");
	assert_string_equal(ds->path, "/srv/data");
	assert_string_equal(m->framework_version, "my/image:1");
	assert_string_equal(m->framework_image_tag, "dev-42");
	json_t *em = m->evaluation_metrics;
	assert_string_equal(json_string_value(json_object_get(em, "type")), "regex_extractor");
	assert_string_equal(json_string_value(json_object_get(em, "image_tag")), "collector-1");
	assert_int_equal(json_integer_value(json_object_get(em, "line_lookahead")), 4);
	assert_int_equal(json_array_size(json_object_get(em, "eventTypes")), 2);
	json_t *g = json_object_get(json_object_get(em, "groups"), "test");
	assert_string_equal(json_string_value(json_object_get(g, "regex")), "loss=(?P<loss>%{FLOAT})");
	assert_string_equal(json_string_value(json_object_get(json_object_get(g, "meta"), "time")), "$timestamp");
	json_t *loss = json_object_get(json_object_get(g, "scalars"), "loss");
	assert_string_equal(json_string_value(json_object_get(loss, "type")), "FLOAT");
	assert_string_equal(json_string_value(json_object_get(loss, "value")), "$loss");
	json_t *it = json_object_get(json_object_get(g, "etimes"), "iteration");
	assert_string_equal(json_string_value(json_object_get(it, "type")), "INT"); /* canonical case */
	assert_string_equal(m->restart_policy, "on-failure");
	assert_int_equal(m->max_restarts, 3);
	assert_int_equal(m->deadline_s, 7200);
	json_t *j = manifest_to_json(m, 0);
	assert_string_equal(json_string_value(json_object_get(j, "memory")), "512MiB");
	assert_int_equal(json_integer_value(json_object_get(j, "storage_bytes")), 10000000000LL);
	assert_string_equal(json_string_value(json_object_get(json_object_get(j, "framework"), "image_tag")), "dev-42");
	json_t *conn = json_object_get(json_array_get(json_object_get(j, "data_stores"), 0), "connection");
	assert_string_equal(json_string_value(json_object_get(conn, "region")), "eu-de");
	assert_string_equal(json_string_value(json_object_get(conn, "path")), "/srv/data");
	assert_null(json_object_get(conn, "password"));
	assert_true(json_equal(json_object_get(j, "evaluation_metrics"), em));
	assert_int_equal(json_integer_value(json_object_get(j, "deadline_s")), 7200);
	json_decref(j);
	manifest_free(m);
	sb_release(&w);
}

static void test_version_kept_exact(void **state)
{
	(void)state;
	struct manifest *m = parse_ok(BASE "version: 1.10\n");
	assert_string_equal(m->version, "1.10"); /* not 1.1 */
	manifest_free(m);
	m = parse_ok(HEAD "data_stores:\n  - {id: s, type: local, training_data: {container: d}}\n");
	assert_string_equal(m->data_stores[0].training_data, "d");
	manifest_free(m);
	m = parse_ok("name: '  spaced  '\nframework: {name: tensorflow, version: 1.5, command: x}\n"
		     "data_stores: [{id: s, type: local, training_data: {container: d}}]\n");
	assert_string_equal(m->name, "  spaced  ");
	assert_string_equal(m->framework_version, "1.5");
	manifest_free(m);
}

static void test_command_newlines(void **state)
{
	(void)state;
	struct manifest *m = parse_ok("name: job\n"
				      "framework:\n"
				      "  name: pytorch\n"
				      "  version: latest\n"
				      "  command: |\n"
				      "    python3 train.py\n"
				      "      --epochs 3\n"
				      "    --lr 0.1\n"
				      "data_stores: [{id: s, type: local, training_data: {container: d}}]\n");
	assert_string_equal(m->framework_command, "python3 train.py --epochs 3 --lr 0.1");
	manifest_free(m);
	m = parse_ok("name: job\nframework: {name: a, version: b, command: \"  echo  'a  b'  \"}\n"
		     "data_stores: [{id: s, type: local, training_data: {container: d}}]\n");
	assert_string_equal(m->framework_command, "echo  'a  b'"); /* inner spaces untouched */
	manifest_free(m);
}

/* ---- sizes and durations ---- */

static uint64_t size_of(const char *s)
{
	uint64_t b = 0;
	struct weft_err e = { 0, "" };
	if (manifest_parse_size(s, &b, &e))
		fail_msg("'%s': %s", s, e.msg);
	return b;
}

static void test_size_units(void **state)
{
	(void)state;
	assert_true(size_of("1Gb") == 1000000000ULL);
	assert_true(size_of("1GB") == 1000000000ULL);
	assert_true(size_of("1gb") == 1000000000ULL);
	assert_true(size_of("1GiB") == 1073741824ULL);
	assert_true(size_of("512MiB") == 536870912ULL);
	assert_true(size_of("0.5GiB") == 536870912ULL);
	assert_true(size_of("100b") == 100);
	assert_true(size_of("100B") == 100);
	assert_true(size_of("2TB") == 2000000000000ULL);
	assert_true(size_of("1tib") == 1099511627776ULL);
	assert_true(size_of("1.5 GB") == 1500000000ULL);
	assert_true(size_of(" 12 GiB ") == 12ULL << 30);
	assert_true(size_of("300MiB") == 300ULL << 20);
	assert_true(size_of("64kb") == 64000);
	assert_true(size_of("64KiB") == 65536);
	assert_true(size_of("12Gi") == 12ULL << 30);
	assert_true(size_of("16GB") == 16000000000ULL);
	assert_true(size_of("0") == 0);
	assert_true(size_of("0MB") == 0);
	assert_true(size_of("+1MB") == 1000000);
	assert_true(size_of(".5KB") == 500);
}

static void size_bad(const char *s, const char *want)
{
	uint64_t b = 77;
	struct weft_err e = { 0, "" };
	int rc = manifest_parse_size(s, &b, &e);
	if (rc == 0)
		fail_msg("'%s' parsed as %llu", s, (unsigned long long)b);
	assert_int_equal(rc, WEFT_EINVAL);
	if (!strstr(e.msg, want))
		fail_msg("'%s': \"%s\" lacks \"%s\"", s, e.msg, want);
	assert_true(b == 77);
}

static void test_size_errors(void **state)
{
	(void)state;
	size_bad("12XB", "'12XB' has an unknown unit");
	size_bad("1024", "'1024' has no unit");
	size_bad("1.5", "has no unit");
	size_bad("-1GB", "'-1GB' is negative");
	size_bad("GB", "'GB' is not a size");
	size_bad("", "is not a size");
	size_bad("1..5GB", "is not a size");
	size_bad("1 2GB", "is not a size");
	size_bad("1GB extra", "is not a size");
	size_bad("99999999TB", "is too large");
	size_bad("18446744073709551616b", "is too large");
	size_bad("1e3MB", "is not a size");
	size_bad("0x10MB", "is not a size");
	size_bad("12 G", "unknown unit");
	size_bad("NaNGB", "is not a size");
}

static void test_format_size(void **state)
{
	(void)state;
	char buf[32];
	struct {
		uint64_t b;
		const char *s;
	} cases[] = { { 12ULL << 30, "12GiB" }, { 1000000000ULL, "1GB" }, { 300ULL << 20, "300MiB" },
		      { 1536, "1536b" },       { 0, "0b" },               { 2000, "2KB" },
		      { 2048, "2KiB" },        { 1ULL << 40, "1TiB" },    { 3000000000000ULL, "3TB" },
		      { 536870912ULL, "512MiB" } };
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		manifest_format_size(cases[i].b, buf, sizeof buf);
		assert_string_equal(buf, cases[i].s);
		assert_true(size_of(buf) == cases[i].b); /* round trip */
	}
}

static void test_durations(void **state)
{
	(void)state;
	struct {
		const char *s;
		int64_t v;
	} ok[] = { { "90s", 90 }, { "30m", 1800 }, { "2h", 7200 }, { "1h30m", 5400 }, { "3600", 3600 },
		   { "1d", 86400 }, { "0", 0 },     { " 45s ", 45 } };
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		int64_t v = -1;
		struct weft_err e = { 0, "" };
		if (manifest_parse_duration(ok[i].s, &v, &e))
			fail_msg("'%s': %s", ok[i].s, e.msg);
		assert_int_equal(v, ok[i].v);
	}
	const char *bad[] = { "-5", "5x", "1m30", "", "soon", "1.5h", "99999999999999999999s", "400d", "h" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		int64_t v = -1;
		struct weft_err e = { 0, "" };
		if (manifest_parse_duration(bad[i], &v, &e) == 0)
			fail_msg("'%s' parsed as %lld", bad[i], (long long)v);
		assert_non_null(strstr(e.msg, "'"));
	}
}

/* ---- resources: each bad value names the field and line 11 ---- */

static void test_memory_errors(void **state)
{
	(void)state;
	expect_err(BASE "memory: 12XB\n", "line 11: memory: '12XB' has an unknown unit");
	expect_err(BASE "memory: 1024\n", "line 11: memory: '1024' has no unit");
	expect_err(BASE "memory: -1GB\n", "line 11: memory: '-1GB' is negative");
	expect_err(BASE "memory: 99999999999TB\n", "line 11: memory: '99999999999TB' is too large");
	expect_err(BASE "memory: 2000TiB\n", "line 11: memory: '2000TiB' is more than 1PiB");
	expect_err(BASE "memory: lots\n", "line 11: memory: 'lots' is not a size");
	expect_err(BASE "memory: [1GB]\n", "line 11: memory: expected a single value, got a list");
	expect_err(BASE "memory:\n  size: 1GB\n", "line 12: memory: expected a single value, got a mapping");
}

static void test_storage(void **state)
{
	(void)state;
	struct manifest *m = parse_ok(BASE "storage: 2 GiB\n");
	assert_true(m->storage == 2ULL << 30);
	manifest_free(m);
	expect_err(BASE "storage: 100\n", "line 11: storage: '100' has no unit");
	expect_err(BASE "storage: 1PB\n", "line 11: storage: '1PB' has an unknown unit");
}

static void test_gpus(void **state)
{
	(void)state;
	struct manifest *m = parse_ok(BASE "gpus: 2.0\n");
	assert_int_equal(m->gpus, 2);
	manifest_free(m);
	expect_err(BASE "gpus: 1.5\n", "line 11: gpus: '1.5' is not a whole number");
	expect_err(BASE "gpus: -1\n", "line 11: gpus: '-1' is out of range (0 to 1024)");
	expect_err(BASE "gpus: two\n", "line 11: gpus: 'two' is not a number");
	expect_err(BASE "gpus: 0x2\n", "line 11: gpus: '0x2' is not a number");
	expect_err(BASE "gpus: true\n", "line 11: gpus: 'true' is not a number");
	expect_err(BASE "gpus: [1]\n", "line 11: gpus: expected a number, got a list");
	expect_err(BASE "gpus: 1e400\n", "line 11: gpus: '1e400' is not a number");
}

static void test_cpus(void **state)
{
	(void)state;
	struct manifest *m = parse_ok(BASE "cpus: 0.25\n");
	assert_true(m->cpus == 0.25);
	manifest_free(m);
	m = parse_ok(BASE "cpus: \"2\"\n");
	assert_true(m->cpus == 2.0);
	manifest_free(m);
	expect_err(BASE "cpus: -0.5\n", "line 11: cpus: '-0.5' is negative");
	expect_err(BASE "cpus: .inf\n", "line 11: cpus: '.inf' is not a number");
	expect_err(BASE "cpus: .nan\n", "line 11: cpus: '.nan' is not a number");
	expect_err(BASE "cpus: nan\n", "line 11: cpus: 'nan' is not a number");
	expect_err(BASE "cpus: 1e9\n", "line 11: cpus: '1e9' is more than 4096");
	expect_err(BASE "cpus: 0.0001\n", "line 11: cpus: '0.0001' is less than 0.001");
	expect_err(BASE "cpus: {n: 1}\n", "line 11: cpus: expected a number, got a mapping");
}

static void test_learners(void **state)
{
	(void)state;
	struct manifest *m = parse_ok(BASE "learners: 256\n");
	assert_int_equal(m->learners, 256);
	manifest_free(m);
	expect_err(BASE "learners: 257\n", "line 11: learners: '257' is out of range (0 to 256)");
	expect_err(BASE "learners: -1\n", "line 11: learners: '-1' is out of range");
	expect_err(BASE "learners: 2.5\n", "line 11: learners: '2.5' is not a whole number");
	expect_err(BASE "learners: lots\n", "line 11: learners: 'lots' is not a number");
}

/* ---- required fields and wrong types ---- */

static void test_name_errors(void **state)
{
	(void)state;
	expect_err("framework: {name: a, version: b, command: c}\n"
		   "data_stores: [{id: s, type: local, training_data: {container: d}}]\n",
		   "line 1: name: is required");
	expect_err("name: \"\"\n" "framework: {name: a, version: b, command: c}\n"
		   "data_stores: [{id: s, type: local, training_data: {container: d}}]\n",
		   "line 1: name: must not be empty");
	expect_err("name: [a, b]\n", "line 1: name: expected a string, got a list");
	expect_err("description: x\nname:\n  first: a\n", "line 3: name: expected a string, got a mapping");
	expect_err("name: ~\nframework: {name: a, version: b, command: c}\n", "line 1: name: is required");
}

static void test_framework_errors(void **state)
{
	(void)state;
	static const char ds[] = "data_stores: [{id: s, type: local, training_data: {container: d}}]\n";
	char buf[512];
	expect_err("name: job\n"
		   "data_stores: [{id: s, type: local, training_data: {container: d}}]\n",
		   "framework: is required");
	snprintf(buf, sizeof buf, "name: job\n%sframework:\n  name: pytorch\n  version: latest\n", ds);
	expect_err(buf, "line 3: framework.command: is required");
	snprintf(buf, sizeof buf, "name: job\n%sframework:\n  version: latest\n  command: x\n", ds);
	expect_err(buf, "line 3: framework.name: is required");
	snprintf(buf, sizeof buf, "name: job\n%sframework:\n  name: x\n  command: x\n", ds);
	expect_err(buf, "line 3: framework.version: is required");
	snprintf(buf, sizeof buf, "name: job\n%sframework: tensorflow\n", ds);
	expect_err(buf, "line 3: framework: expected a mapping of fields, got 'tensorflow'");
	snprintf(buf, sizeof buf, "name: job\n%sframework:\n  name: x\n  version: y\n  command: '   '\n", ds);
	expect_err(buf, "line 6: framework.command: must not be empty");
	snprintf(buf, sizeof buf, "name: job\n%sframework:\n  name: x\n  version: y\n  command: [a, b]\n", ds);
	expect_err(buf, "line 6: framework.command: expected a string, got a list");
}

static void test_data_stores_shape(void **state)
{
	(void)state;
	expect_err(HEAD, "line 1: data_stores: is required");
	expect_err(HEAD "data_stores: []\n", "line 6: data_stores: is empty");
	expect_err(HEAD "data_stores:\n  id: x\n", "line 7: data_stores: expected a list of data stores");
	expect_err(HEAD "data_stores: local\n", "line 6: data_stores: expected a list of data stores (- id: ...), got 'local'");
	expect_err(HEAD "data_stores:\n  -\n", "line 7: data_stores[0]: is empty");
	expect_err(HEAD "data_stores:\n  - just-a-string\n", "line 7: data_stores[0]: expected a mapping of fields");
}

static void test_data_store_fields(void **state)
{
	(void)state;
	expect_err(HEAD "data_stores:\n  - type: local\n    training_data: {container: d}\n",
		   "line 7: data_stores[0].id: is required");
	expect_err(HEAD "data_stores:\n  - id: s\n    training_data: {container: d}\n",
		   "line 7: data_stores[0].type: is required");
	expect_err(HEAD "data_stores:\n  - id: s\n    type: swift_datastore\n    training_data: {container: d}\n",
		   "line 8: data_stores[0].type: 'swift_datastore' is not a data store type (use mount_cos, s3_datastore, mount_volume or local)");
	expect_err(HEAD "data_stores:\n  - id: s\n    type: local\n",
		   "line 7: data_stores[0].training_data.container: is required");
}

static void test_data_store_containers(void **state)
{
	(void)state;
	expect_err(HEAD "data_stores:\n  - id: s\n    type: local\n    training_data:\n      bucket: d\n",
		   "line 9: data_stores[0].training_data.container: is required");
	expect_err(HEAD "data_stores:\n  - id: s\n    type: local\n    training_data: d\n",
		   "line 9: data_stores[0].training_data: expected a mapping of fields, got 'd'");
	expect_err(HEAD "data_stores:\n  - id: s\n    type: local\n    training_data: {container: d}\n"
			"    training_results: {}\n",
		   "line 10: data_stores[0].training_results.container: is required");
}

static void test_data_store_connection(void **state)
{
	(void)state;
	struct manifest *m = parse_ok(BASE "    connection:\n      auth_url: ''\n      region: ~\n");
	assert_null(m->data_stores[0].auth_url); /* empty optional strings are absent */
	assert_null(m->data_stores[0].region);
	manifest_free(m);
	expect_err(HEAD "data_stores:\n  - id: s\n    type: local\n    training_data: {container: d}\n"
			"    connection: [a]\n",
		   "line 10: data_stores[0].connection: expected a mapping of fields, got a list");
	expect_err(HEAD "data_stores:\n  - id: s\n    type: local\n    training_data: {container: d}\n"
			"    connection:\n      password: [x]\n",
		   "line 11: data_stores[0].connection.password: expected a string, got a list");
}

static void test_multiple_data_stores(void **state)
{
	(void)state;
	struct manifest *m = parse_ok(HEAD "data_stores:\n"
					   "  - id: a\n    type: local\n    training_data: {container: in}\n"
					   "  - id: b\n    type: mount_volume\n    training_data: {container: more}\n"
					   "    training_results: {container: out}\n    connection: {path: /mnt/x}\n"
					   "  - id: c\n    type: mount_cos\n    training_data: {container: z}\n");
	assert_int_equal(m->n_data_stores, 3);
	assert_string_equal(m->data_stores[1].id, "b");
	assert_string_equal(m->data_stores[1].type, "mount_volume");
	assert_string_equal(m->data_stores[1].path, "/mnt/x");
	assert_string_equal(m->data_stores[1].training_results, "out");
	assert_int_equal(m->data_stores[0].line, 7);
	assert_int_equal(m->data_stores[1].line, 10);
	assert_int_equal(m->data_stores[2].line, 15);
	json_t *j = manifest_to_json(m, 0);
	assert_int_equal(json_array_size(json_object_get(j, "data_stores")), 3);
	json_decref(j);
	manifest_free(m);
	/* the second entry's error names index 1 and its line */
	expect_err(HEAD "data_stores:\n"
			"  - id: a\n    type: local\n    training_data: {container: in}\n"
			"  - id: b\n    type: nfs\n    training_data: {container: more}\n",
		   "line 11: data_stores[1].type: 'nfs' is not a data store type");
	expect_err(HEAD "data_stores:\n"
			"  - id: a\n    type: local\n    training_data: {container: in}\n"
			"  - id: a\n    type: local\n    training_data: {container: more}\n",
		   "line 10: data_stores[1].id: 'a' is used twice (also at line 7)");
}

/* ---- warnings ---- */

static void test_unknown_keys_warn(void **state)
{
	(void)state;
	struct sbuf w = SBUF_INIT;
	struct manifest *m = parse_ok_w("name: job\n"
					"colour: blue\n"
					"framework:\n"
					"  name: pytorch\n"
					"  version: latest\n"
					"  command: python3 train.py\n"
					"  comand: typo\n"
					"data_stores:\n"
					"  - id: store\n"
					"    type: local\n"
					"    training_data:\n"
					"      container: data\n"
					"      prefix: x/\n"
					"    connection:\n"
					"      domain_name: d\n"
					"memroy: 1GB\n"
					"evaluation_metrics:\n"
					"  type: tensorboard\n"
					"  event_types: [scalars]\n",
					&w);
	assert_string_equal(sb_str(&w), "line 2: unknown key 'colour' ignored\n"
					"line 7: unknown key 'framework.comand' ignored (did you mean 'command'?)\n"
					"line 13: unknown key 'data_stores[0].training_data.prefix' ignored\n"
					"line 15: unknown key 'data_stores[0].connection.domain_name' ignored\n"
					"line 16: unknown key 'memroy' ignored (did you mean 'memory'?)\n"
					"line 19: unknown key 'evaluation_metrics.event_types' ignored (did you mean 'eventTypes'?)\n");
	/* the unknown memroy did not set memory */
	assert_true(m->memory == MANIFEST_DEFAULT_MEMORY);
	manifest_free(m);
	sb_release(&w);
}

static void test_unknown_key_control_chars(void **state)
{
	(void)state;
	struct sbuf w = SBUF_INIT;
	struct manifest *m = parse_ok_w(BASE "\"bad\\e[31mkey\": 1\n", &w);
	assert_string_equal(sb_str(&w), "line 11: unknown key 'bad\\x1b[31mkey' ignored\n");
	manifest_free(m);
	sb_release(&w);
}

static void test_restart_warnings(void **state)
{
	(void)state;
	struct sbuf w = SBUF_INIT;
	struct manifest *m = parse_ok_w(BASE "restart_policy: never\nmax_restarts: 2\n", &w);
	assert_string_equal(sb_str(&w), "line 12: max_restarts: 2 has no effect with restart_policy never\n");
	manifest_free(m);
	sb_reset(&w);
	m = parse_ok_w(BASE "restart_policy: on-failure\n", &w);
	assert_non_null(strstr(sb_str(&w), "line 11: restart_policy: on-failure with max_restarts 0"));
	manifest_free(m);
	sb_release(&w);
	/* max_restarts alone implies on-failure */
	m = parse_ok(BASE "max_restarts: 5\n");
	assert_string_equal(m->restart_policy, "on-failure");
	assert_int_equal(m->max_restarts, 5);
	manifest_free(m);
}

/* ---- document-level errors ---- */

static void test_document_errors(void **state)
{
	(void)state;
	struct manifest *m = (struct manifest *)1;
	struct weft_err e = { 0, "" };
	assert_int_equal(manifest_parse("", 0, &m, NULL, &e), WEFT_EINVAL);
	assert_null(m);
	assert_non_null(strstr(e.msg, "line 1: the manifest is empty"));
	assert_int_equal(manifest_parse(NULL, 0, &m, NULL, &e), WEFT_EINVAL);
	expect_err("# only a comment\n\n", "the manifest is empty");
	expect_err("---\n...\n", "the manifest is empty");
	expect_err("~\n", "the manifest is empty");
	expect_err("- name: x\n", "line 1: the manifest must be a mapping of fields (name: ..., framework: ...), got a list");
	expect_err("just text\n", "line 1: the manifest must be a mapping of fields (name: ..., framework: ...), got 'just text'");
	expect_err(BASE "---\nname: second\n", "line 11: only one YAML document is allowed");
}

static void test_yaml_syntax_errors(void **state)
{
	(void)state;
	expect_err2("name: job\nmemory: 1GB\n  cpus: 2\n", "line 3: YAML syntax error: ", "mapping values are not allowed");
	expect_err2("name: [unclosed\n  memory: {{{\n", "YAML syntax error", "line ");
	expect_err2("name: job\n\tcpus: 1\n", "line 2: YAML syntax error", "tab");
	expect_err2("name: \"unterminated\n", "YAML syntax error", "line 1");
	expect_err2(BASE "cpus: *nowhere\n", "line 11: YAML syntax error", "undefined alias");
	/* invalid UTF-8 on line 2 */
	expect_err2("name: job\ndescription: \xff\xfe\n", "line 2: YAML syntax error", "UTF-8");
	/* a NUL byte in the text */
	static const char nul[] = "name: job\nversion: a\0b\n";
	struct manifest *m = NULL;
	struct weft_err e = { 0, "" };
	assert_int_equal(manifest_parse(nul, sizeof nul - 1, &m, NULL, &e), WEFT_EINVAL);
	assert_non_null(strstr(e.msg, "line 2"));
}

static void test_duplicate_keys(void **state)
{
	(void)state;
	expect_err(BASE "name: again\n", "line 11: duplicate key 'name' (first at line 1)");
	expect_err(HEAD "data_stores:\n  - id: s\n    type: local\n    id: t\n    training_data: {container: d}\n",
		   "line 9: data_stores[0]: duplicate key 'id' (first at line 7)");
	expect_err(BASE "unknown: 1\nunknown: 2\n", "line 12: duplicate key 'unknown' (first at line 11)");
}

static void test_odd_keys(void **state)
{
	(void)state;
	expect_err(BASE "? [a, b]\n: 1\n", "line 11: keys must be plain names, got a list");
	expect_err(BASE "~: 1\n", "line 11: keys must be plain names, got nothing");
	expect_err(BASE "version: \"a\\0b\"\n", "line 11: version: contains a NUL character");
	expect_err(BASE "\"k\\0\": 1\n", "line 11: a key contains a NUL character");
}

static void test_aliases(void **state)
{
	(void)state;
	struct manifest *m = parse_ok(HEAD "data_stores:\n"
					   "  - id: a\n    type: s3_datastore\n    training_data: {container: in}\n"
					   "    connection: &conn {auth_url: 'http://s3:9000', user_name: u, password: p}\n"
					   "  - id: b\n    type: s3_datastore\n    training_data: {container: in2}\n"
					   "    connection: *conn\n");
	assert_string_equal(m->data_stores[1].auth_url, "http://s3:9000");
	assert_string_equal(m->data_stores[1].password, "p");
	manifest_free(m);
	/* a recursive alias must neither hang nor crash */
	expect_err(BASE "evaluation_metrics: &em\n  type: regex_extractor\n  groups: *em\n",
		   "evaluation_metrics.groups.type");
}

/* ---- evaluation_metrics ---- */

static void test_emetrics_group_without_meta(void **state)
{
	(void)state;
	struct manifest *m = parse_ok(BASE "evaluation_metrics:\n"
					   "  type: regex_extractor\n"
					   "  groups:\n"
					   "    train:\n"
					   "      regex: 'acc=(?P<acc>%{FLOAT})'\n"
					   "      values:\n"
					   "        acc: {value: $acc}\n");
	json_t *g = json_object_get(json_object_get(m->evaluation_metrics, "groups"), "train");
	assert_non_null(g);
	assert_null(json_object_get(g, "meta"));
	assert_string_equal(json_string_value(json_object_get(json_object_get(json_object_get(g, "values"), "acc"),
							      "value")),
			    "$acc");
	manifest_free(m);
}

static void test_emetrics_types(void **state)
{
	(void)state;
	const char *types[] = { "none", "logger", "'null'", "nil", "regex_extractor", "tensorboard",
				"tensorboard_extractor", "emetrics_file", "file", "optivist", "auto", "TensorBoard" };
	for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
		char buf[512];
		snprintf(buf, sizeof buf, BASE "evaluation_metrics:\n  type: %s\n", types[i]);
		struct manifest *m = parse_ok(buf);
		assert_non_null(json_object_get(m->evaluation_metrics, "type"));
		manifest_free(m);
	}
	struct manifest *m = parse_ok(BASE "evaluation_metrics:\n  type: TensorBoard\n");
	assert_string_equal(json_string_value(json_object_get(m->evaluation_metrics, "type")), "tensorboard");
	manifest_free(m);
	/* a YAML null (type: null) is an absent type, the default collector */
	m = parse_ok(BASE "evaluation_metrics:\n  type: null\n  in: /x\n");
	assert_null(json_object_get(m->evaluation_metrics, "type"));
	manifest_free(m);
	expect_err(BASE "evaluation_metrics:\n  type: prometheus\n",
		   "line 12: evaluation_metrics.type: 'prometheus' is not a collector type");
}

static void test_emetrics_errors(void **state)
{
	(void)state;
	expect_err(BASE "evaluation_metrics: tensorboard\n",
		   "line 11: evaluation_metrics: expected a mapping of fields, got 'tensorboard'");
	expect_err(BASE "evaluation_metrics:\n  line_lookahead: 0\n",
		   "line 12: evaluation_metrics.line_lookahead: '0' is out of range (1 to 10000)");
	expect_err(BASE "evaluation_metrics:\n  line_lookahead: four\n",
		   "line 12: evaluation_metrics.line_lookahead: 'four' is not a number");
	expect_err(BASE "evaluation_metrics:\n  line_lookahead: 2.5\n",
		   "line 12: evaluation_metrics.line_lookahead: '2.5' is not a whole number");
	expect_err(BASE "evaluation_metrics:\n  eventTypes: scalars\n",
		   "line 12: evaluation_metrics.eventTypes: expected a list such as [scalars], got 'scalars'");
	expect_err(BASE "evaluation_metrics:\n  eventTypes: [scalars, [x]]\n",
		   "line 12: evaluation_metrics.eventTypes[1]: expected a string, got a list");
	expect_err(BASE "evaluation_metrics:\n  in: [a]\n", "line 12: evaluation_metrics.in: expected a string, got a list");
	expect_err(BASE "evaluation_metrics:\n  groups: [a]\n",
		   "line 12: evaluation_metrics.groups: expected a mapping of group names");
	expect_err(BASE "evaluation_metrics:\n  groups:\n    g1:\n      meta: {time: $t}\n",
		   "line 13: evaluation_metrics.groups.g1.regex: is required");
	expect_err(BASE "evaluation_metrics:\n  groups:\n    g1:\n", "line 13: evaluation_metrics.groups.g1: is empty");
	expect_err(BASE "evaluation_metrics:\n  groups:\n    g1:\n      regex: x\n      meta: now\n",
		   "line 15: evaluation_metrics.groups.g1.meta: expected a mapping of fields, got 'now'");
	expect_err(BASE "evaluation_metrics:\n  groups:\n    g1:\n      regex: x\n      values:\n        acc: {type: DOUBLE, value: $a}\n",
		   "line 16: evaluation_metrics.groups.g1.values.acc.type: 'DOUBLE' is not a value type");
	expect_err(BASE "evaluation_metrics:\n  groups:\n    g1:\n      regex: x\n      scalars:\n        acc: {type: FLOAT}\n",
		   "line 16: evaluation_metrics.groups.g1.scalars.acc.value: is required");
	expect_err(BASE "evaluation_metrics:\n  groups:\n    g1:\n      regex: x\n      etimes: [1]\n",
		   "line 15: evaluation_metrics.groups.g1.etimes: expected a mapping of names to {type, value}, got a list");
	expect_err(BASE "evaluation_metrics:\n  groups:\n    g1:\n      regex: x\n    g1:\n      regex: y\n",
		   "line 15: evaluation_metrics.groups: duplicate key 'g1' (first at line 13)");
}

static void test_emetrics_warnings(void **state)
{
	(void)state;
	struct sbuf w = SBUF_INIT;
	struct manifest *m = parse_ok_w(BASE "evaluation_metrics:\n"
					     "  type: regex_extractor\n"
					     "  groups:\n"
					     "    g1:\n"
					     "      regex: x\n"
					     "      colour: red\n"
					     "      meta: {tim: $t}\n",
					&w);
	assert_string_equal(sb_str(&w), "line 16: unknown key 'evaluation_metrics.groups.g1.colour' ignored\n"
					"line 17: unknown key 'evaluation_metrics.groups.g1.meta.tim' ignored (did you mean 'time'?)\n");
	/* unknown keys are not copied */
	json_t *g = json_object_get(json_object_get(m->evaluation_metrics, "groups"), "g1");
	assert_null(json_object_get(g, "colour"));
	assert_int_equal(json_object_size(json_object_get(g, "meta")), 0);
	manifest_free(m);
	sb_reset(&w);
	m = parse_ok_w(BASE "evaluation_metrics:\n  type: regex_extractor\n", &w);
	assert_string_equal(sb_str(&w), "line 12: evaluation_metrics: type regex_extractor without groups extracts no metrics\n");
	manifest_free(m);
	sb_release(&w);
}

/* ---- weft additions ---- */

static void test_weft_additions(void **state)
{
	(void)state;
	struct manifest *m = parse_ok(BASE "deadline: 90\n");
	assert_int_equal(m->deadline_s, 90);
	manifest_free(m);
	m = parse_ok(BASE "deadline: 30m\nrestart_policy: never\n");
	assert_int_equal(m->deadline_s, 1800);
	manifest_free(m);
	expect_err(BASE "restart_policy: always\n",
		   "line 11: restart_policy: 'always' is not a restart policy (use never or on-failure)");
	expect_err(BASE "restart_policy: ''\n", "line 11: restart_policy: must not be empty");
	expect_err(BASE "max_restarts: -1\n", "line 11: max_restarts: '-1' is out of range (0 to 1000)");
	expect_err(BASE "max_restarts: 1.5\n", "line 11: max_restarts: '1.5' is not a whole number");
	expect_err(BASE "deadline: soon\n", "line 11: deadline: 'soon' is not a duration");
	expect_err(BASE "deadline: -5m\n", "line 11: deadline: '-5m' is negative");
	expect_err(BASE "deadline: 9999d\n", "line 11: deadline: '9999d' is too long");
	expect_err(BASE "deadline: [1h]\n", "line 11: deadline: expected a single value, got a list");
}

static void test_fixture_files(void **state)
{
	(void)state;
	/* the example manifests other tests use, when run from the repository root */
	struct {
		const char *file;
		const char *err; /* NULL = valid */
	} cases[] = {
		{ "tests/fixtures/manifests/mount-cos.yml", NULL },
		{ "tests/fixtures/manifests/bad-memory.yml", "line 3: memory: '12XB'" },
		{ "tests/fixtures/manifests/bad-learners.yml", "line 4: learners: 'lots' is not a number" },
		{ "tests/fixtures/manifests/no-name.yml", "name: is required" },
		{ "tests/fixtures/manifests/not-yaml.yml", "YAML syntax error" },
		{ "fuzz/corpus/fuzz_manifest/article.yml", NULL },
	};
	int found = 0;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct sbuf sb = SBUF_INIT;
		struct weft_err e = { 0, "" };
		if (fs_read_file(cases[i].file, &sb, &e)) {
			sb_release(&sb);
			continue;
		}
		found++;
		struct manifest *m = NULL;
		int rc = manifest_parse(sb.buf, sb.len, &m, NULL, &e);
		if (cases[i].err) {
			assert_int_equal(rc, WEFT_EINVAL);
			if (!strstr(e.msg, cases[i].err))
				fail_msg("%s: \"%s\" lacks \"%s\"", cases[i].file, e.msg, cases[i].err);
		} else if (rc) {
			fail_msg("%s: %s", cases[i].file, e.msg);
		}
		manifest_free(m);
		sb_release(&sb);
	}
	if (!found)
		skip();
}

/* ---- `weft validate` end to end (needs the weft binary) ---- */

struct run {
	int status;
	char *out, *err;
};

static char tmpdir[64];

static void run_validate(const char *args, const char *yaml, struct run *r)
{
	const char *bin = getenv("WEFT_BIN");
	char path[128], cmd[1024], outp[128], errp[128];
	struct weft_err e = { 0, "" };
	snprintf(path, sizeof path, "%s/job.yml", tmpdir);
	snprintf(outp, sizeof outp, "%s/out", tmpdir);
	snprintf(errp, sizeof errp, "%s/err", tmpdir);
	if (yaml)
		assert_int_equal(fs_write_file_atomic(path, yaml, strlen(yaml), 0644, &e), 0);
	snprintf(cmd, sizeof cmd, "cd '%s' && '%s' validate %s >'%s' 2>'%s'", tmpdir, bin, args, outp, errp);
	int st = system(cmd);
	r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128;
	struct sbuf o = SBUF_INIT, er = SBUF_INIT;
	fs_read_file(outp, &o, &e);
	fs_read_file(errp, &er, &e);
	sb_add(&o, "", 0); /* NUL-terminates even when the file was empty */
	sb_add(&er, "", 0);
	r->out = sb_detach(&o);
	r->err = sb_detach(&er);
}

static void run_free(struct run *r)
{
	free(r->out);
	free(r->err);
}

static int have_weft(void)
{
	const char *bin = getenv("WEFT_BIN");
	return bin && access(bin, X_OK) == 0;
}

static int setup_tmp(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof tmpdir, "/tmp/weft-test-manifest.XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown_tmp(void **state)
{
	(void)state;
	struct weft_err e;
	fs_rm_rf(tmpdir, &e);
	return 0;
}

static void test_validate_summary(void **state)
{
	(void)state;
	if (!have_weft())
		skip();
	struct run r;
	run_validate("job.yml", article, &r);
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "tf_convolutional_network_tutorial"));
	assert_non_null(strstr(r.out, "0.5 cpus, 0 gpus (nvidia-TeslaK80), 1GB memory"));
	assert_non_null(strstr(r.out, "password:           ********"));
	assert_null(strstr(r.out, "password: test"));
	assert_non_null(strstr(r.out, "--trainingIters 2000"));
	assert_string_equal(r.err, "");
	run_free(&r);
}

static void test_validate_json_masks_password(void **state)
{
	(void)state;
	if (!have_weft())
		skip();
	struct run r;
	run_validate("--json job.yml", BASE "    connection:\n      password: hunter2-secret\n", &r);
	assert_int_equal(r.status, 0);
	assert_null(strstr(r.out, "hunter2-secret"));
	json_error_t je;
	json_t *j = json_loads(r.out, 0, &je);
	assert_non_null(j);
	json_t *conn = json_object_get(json_array_get(json_object_get(j, "data_stores"), 0), "connection");
	assert_string_equal(json_string_value(json_object_get(conn, "password")), "********");
	assert_int_equal(json_integer_value(json_object_get(j, "memory_bytes")), 12LL << 30);
	assert_string_equal(json_string_value(json_object_get(j, "memory")), "12GiB");
	json_decref(j);
	run_free(&r);
	/* from standard input too */
	char cmd[512];
	snprintf(cmd, sizeof cmd, "'%s' validate --json - <'%s/job.yml' | grep -q hunter2", getenv("WEFT_BIN"), tmpdir);
	assert_int_not_equal(system(cmd), 0);
	snprintf(cmd, sizeof cmd, "'%s' validate - <'%s/job.yml' >/dev/null", getenv("WEFT_BIN"), tmpdir);
	assert_int_equal(system(cmd), 0);
}

static void test_validate_error_exit(void **state)
{
	(void)state;
	if (!have_weft())
		skip();
	struct run r;
	run_validate("job.yml", BASE "colour: red\nmemory: 12XB\n", &r);
	assert_int_equal(r.status, 1);
	assert_string_equal(r.out, "");
	assert_non_null(strstr(r.err, "job.yml:line 11: unknown key 'colour' ignored\n"));
	assert_non_null(strstr(r.err, "weft: job.yml: line 12: memory: '12XB'"));
	run_free(&r);
}

static void test_validate_warnings(void **state)
{
	(void)state;
	if (!have_weft())
		skip();
	struct run r;
	run_validate("job.yml", BASE "colour: red\n", &r);
	assert_int_equal(r.status, 0);
	assert_string_equal(r.err, "job.yml:line 11: unknown key 'colour' ignored\n");
	assert_non_null(strstr(r.out, "name:"));
	run_free(&r);
}

static void test_validate_usage(void **state)
{
	(void)state;
	if (!have_weft())
		skip();
	struct run r;
	run_validate("missing.yml", NULL, &r);
	assert_int_equal(r.status, 1);
	assert_non_null(strstr(r.err, "missing.yml"));
	run_free(&r);
	run_validate("--help", NULL, &r);
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "usage: weft validate MANIFEST [--json]"));
	run_free(&r);
	run_validate("-h", NULL, &r);
	assert_int_equal(r.status, 0);
	run_free(&r);
	run_validate("", NULL, &r);
	assert_int_equal(r.status, 1);
	assert_non_null(strstr(r.err, "usage"));
	run_free(&r);
	run_validate("a.yml b.yml", NULL, &r);
	assert_int_equal(r.status, 1);
	run_free(&r);
	run_validate("--frobnicate job.yml", NULL, &r);
	assert_int_equal(r.status, 1);
	run_free(&r);
}

static void test_many_keys(void **state)
{
	(void)state;
	/* 20000 unknown keys: warnings for each, and a duplicate among them is
	 * found (sorting, not pairwise comparison, keeps this fast) */
	struct sbuf y = SBUF_INIT, w = SBUF_INIT;
	sb_adds(&y, BASE);
	for (int i = 0; i < 20000; i++)
		sb_addf(&y, "extra%d: %d\n", i, i);
	struct manifest *m = parse_ok_w(y.buf, &w);
	assert_non_null(strstr(sb_str(&w), "line 20010: unknown key 'extra19999' ignored\n"));
	manifest_free(m);
	sb_addf(&y, "extra7: again\n");
	expect_err(y.buf, "line 20011: duplicate key 'extra7' (first at line 18)");
	sb_release(&y);
	sb_release(&w);
}

static void test_alias_bomb(void **state)
{
	(void)state;
	/* one 2000-key mapping named by 2000 groups: small text, 4 million
	 * fields to walk; the budget refuses it instead of working for minutes */
	struct sbuf y = SBUF_INIT;
	sb_adds(&y, BASE "evaluation_metrics:\n  type: regex_extractor\n  groups:\n    g0:\n      regex: x\n"
		       "      values: &v\n");
	for (int i = 0; i < 2000; i++)
		sb_addf(&y, "        k%d: {value: x}\n", i);
	for (int i = 1; i < 2000; i++)
		sb_addf(&y, "    g%d: {regex: x, values: *v}\n", i);
	expect_err(y.buf, "the manifest is too large");
	sb_release(&y);
	/* "[[[[..." is quadratic in libyaml's scanner: refused by depth first */
	sb_adds(&y, BASE "extra: ");
	for (int i = 0; i < 100000; i++)
		sb_addc(&y, '[');
	expect_err(y.buf, "line 11: nested deeper than 64 levels");
	sb_release(&y);
	sb_adds(&y, BASE "extra:\n");
	for (int i = 0; i < 70; i++)
		sb_addf(&y, "%*sk:\n", 2 + 2 * i, "");
	expect_err(y.buf, "nested deeper than 64 levels");
	sb_release(&y);
	/* too many data stores */
	sb_adds(&y, HEAD "data_stores:\n");
	for (int i = 0; i < 65; i++)
		sb_addf(&y, "  - {id: s%d, type: local, training_data: {container: d}}\n", i);
	expect_err(y.buf, "line 6: data_stores: has 65 entries (at most 64)");
	sb_release(&y);
}

static void test_warnings_may_be_null(void **state)
{
	(void)state;
	struct manifest *m = NULL;
	struct weft_err e = { 0, "" };
	static const char y[] = BASE "colour: red\nrestart_policy: never\nmax_restarts: 1\n";
	assert_int_equal(manifest_parse(y, sizeof y - 1, &m, NULL, &e), 0);
	manifest_free(m);
	manifest_free(NULL);
	/* len bounds the text: a valid prefix parses although garbage follows */
	static const char z[] = BASE "memory: [";
	assert_int_equal(manifest_parse(z, strlen(BASE), &m, NULL, &e), 0);
	manifest_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_article_example),
		cmocka_unit_test(test_article_to_json),
		cmocka_unit_test(test_secrets_not_in_json),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_zero_means_default),
		cmocka_unit_test(test_every_field),
		cmocka_unit_test(test_version_kept_exact),
		cmocka_unit_test(test_command_newlines),
		cmocka_unit_test(test_size_units),
		cmocka_unit_test(test_size_errors),
		cmocka_unit_test(test_format_size),
		cmocka_unit_test(test_durations),
		cmocka_unit_test(test_memory_errors),
		cmocka_unit_test(test_storage),
		cmocka_unit_test(test_gpus),
		cmocka_unit_test(test_cpus),
		cmocka_unit_test(test_learners),
		cmocka_unit_test(test_name_errors),
		cmocka_unit_test(test_framework_errors),
		cmocka_unit_test(test_data_stores_shape),
		cmocka_unit_test(test_data_store_fields),
		cmocka_unit_test(test_data_store_containers),
		cmocka_unit_test(test_data_store_connection),
		cmocka_unit_test(test_multiple_data_stores),
		cmocka_unit_test(test_unknown_keys_warn),
		cmocka_unit_test(test_unknown_key_control_chars),
		cmocka_unit_test(test_restart_warnings),
		cmocka_unit_test(test_document_errors),
		cmocka_unit_test(test_yaml_syntax_errors),
		cmocka_unit_test(test_duplicate_keys),
		cmocka_unit_test(test_odd_keys),
		cmocka_unit_test(test_aliases),
		cmocka_unit_test(test_emetrics_group_without_meta),
		cmocka_unit_test(test_emetrics_types),
		cmocka_unit_test(test_emetrics_errors),
		cmocka_unit_test(test_emetrics_warnings),
		cmocka_unit_test(test_weft_additions),
		cmocka_unit_test(test_fixture_files),
		cmocka_unit_test(test_many_keys),
		cmocka_unit_test(test_alias_bomb),
		cmocka_unit_test(test_warnings_may_be_null),
		cmocka_unit_test(test_validate_summary),
		cmocka_unit_test(test_validate_json_masks_password),
		cmocka_unit_test(test_validate_error_exit),
		cmocka_unit_test(test_validate_warnings),
		cmocka_unit_test(test_validate_usage),
	};
	return cmocka_run_group_tests(tests, setup_tmp, teardown_tmp);
}

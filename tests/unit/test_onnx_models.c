/* test_onnx_models.c - weft's native ONNX runtime against outputs it did not compute:
 * PyTorch (torch.onnx.export) and numpy references for random models of every supported
 * operator, made by tests/tools/onnx_models.py (skipped, saying why, when /usr/bin/python3
 * lacks torch or onnx); unsupported operators refused by name; and the two example
 * learners' model.onnx: digits-c's against its own model.bin forward pass, digits-pytorch's
 * against torch. Also reports the digits model's single-row latency. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "serve/onnx.h"
#include "util/fs.h"
#include "util/mem.h"
#include "util/sbuf.h"
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>


#define PY "/usr/bin/python3"
#define TOOL "tests/tools/onnx_models.py"
#define TOL 1e-4

static char tmpdir[] = "/tmp/weft-test-onnx-models.XXXXXX";
static int have_torch, models_rc = -1;

/* ---- reference models from PyTorch / numpy ---- */

static float *read_f32(const char *path, int64_t n)
{
	struct sbuf sb = SBUF_INIT;
	struct weft_err e;
	if (fs_read_file(path, &sb, &e) != 0)
		fail_msg("%s", e.msg);
	if (sb.len != (size_t)n * 4)
		fail_msg("%s: %zu bytes, want %lld floats", path, sb.len, (long long)n);
	float *f = xmalloc(sb.len + 4);
	memcpy(f, sb.buf, sb.len);
	sb_release(&sb);
	return f;
}

static int json_shape(json_t *t, int64_t *shape)
{
	json_t *s = json_object_get(t, "shape"), *v;
	size_t i;
	json_array_foreach(s, i, v) shape[i] = json_integer_value(v);
	return (int)json_array_size(s);
}

static double max_diff(const float *a, const float *b, int64_t n)
{
	double d = 0;
	for (int64_t i = 0; i < n; i++) {
		double x = fabs((double)a[i] - b[i]);
		if (!(x <= d))
			d = isnan(x) ? INFINITY : x;
	}
	return d;
}

/* Runs one case of a model; returns the largest difference, or -1 after a message. */
static double run_case(struct onnx_session *s, json_t *c, const char *dir, int by_name, struct sbuf *why)
{
	json_t *ins = json_object_get(c, "inputs"), *outs = json_object_get(c, "outputs"), *t;
	int n_in = (int)json_array_size(ins), n_out = (int)json_array_size(outs);
	struct wtensor in[8], out[8];
	size_t i;
	json_array_foreach(ins, i, t) {
		int64_t shape[WT_MAX_DIMS];
		int nd = json_shape(t, shape);
		memset(&in[i], 0, sizeof in[i]);
		assert_int_equal(wt_alloc(&in[i], nd, shape, 1 << 24), 0);
		char *p = xasprintf("%s/%s", dir, json_string_value(json_object_get(t, "file")));
		float *f = read_f32(p, in[i].numel);
		memcpy(in[i].data, f, sizeof *f * (size_t)in[i].numel);
		free(f);
		free(p);
		if (by_name)
			snprintf(in[i].name, sizeof in[i].name, "%s", json_string_value(json_object_get(t, "name")));
	}
	struct weft_err e = {0};
	double worst = 0;
	if (onnx_run(s, in, n_in, out, n_out, &e) != 0) {
		sb_addf(why, "%srun: %s", why->len ? "; " : "", e.msg);
		worst = -1;
		n_out = 0;
	}
	for (int k = 0; k < n_out; k++) {
		json_t *o = json_array_get(outs, (size_t)k);
		int64_t shape[WT_MAX_DIMS];
		int nd = json_shape(o, shape), same = nd == out[k].ndim;
		for (int d = 0; same && d < nd; d++)
			same = shape[d] == out[k].shape[d];
		if (!same) {
			sb_addf(why, "%soutput %d has shape [", why->len ? "; " : "", k);
			for (int d = 0; d < out[k].ndim; d++)
				sb_addf(why, "%s%lld", d ? "," : "", (long long)out[k].shape[d]);
			sb_addf(why, "], want [");
			for (int d = 0; d < nd; d++)
				sb_addf(why, "%s%lld", d ? "," : "", (long long)shape[d]);
			sb_addc(why, ']');
			worst = -1;
		} else if (worst >= 0) {
			char *p = xasprintf("%s/%s", dir, json_string_value(json_object_get(o, "file")));
			float *ref = read_f32(p, out[k].numel);
			double d = max_diff(out[k].data, ref, out[k].numel);
			worst = d > worst ? d : worst;
			free(ref);
			free(p);
		}
		wt_free(&out[k]);
	}
	for (int k = 0; k < n_in; k++)
		wt_free(&in[k]);
	return worst;
}

static void test_reference_models(void **state)
{
	(void)state;
	assert_int_equal(models_rc, 0);
	char *dir = xasprintf("%s/models", tmpdir), *ip = xasprintf("%s/index.json", dir);
	json_error_t je;
	json_t *idx = json_load_file(ip, 0, &je), *mj;
	assert_non_null(idx);
	static const char *ops[] = {"Add", "AveragePool", "BatchNormalization", "Concat", "Constant",
		"Conv", "Dropout", "Flatten", "Gemm", "GlobalAveragePool", "Identity", "MatMul",
		"MaxPool", "Mul", "Pad", "Relu", "Reshape", "Sigmoid", "Softmax", "Tanh", "Transpose"};
	int n_ops = (int)(sizeof ops / sizeof *ops), covered[32] = {0}, failed = 0, n = 0;
	size_t i;
	json_array_foreach(json_object_get(idx, "models"), i, mj) {
		const char *name = json_string_value(json_object_get(mj, "name"));
		char *p = xasprintf("%s/%s", dir, json_string_value(json_object_get(mj, "file")));
		struct onnx_model *m = NULL;
		struct weft_err e = {0};
		struct sbuf why = SBUF_INIT;
		double worst = 0;
		if (onnx_load_file(p, &m, &e) != 0) {
			sb_addf(&why, "%s", e.msg);
			worst = -1;
		} else {
			struct onnx_session *s = onnx_session_new(m);
			json_t *c;
			size_t k;
			json_array_foreach(json_object_get(mj, "cases"), k, c) {
				double d = run_case(s, c, dir, k % 2 == 0, &why);
				worst = d < 0 || worst < 0 ? -1 : d > worst ? d : worst;
			}
			onnx_session_free(s);
			onnx_free(m);
		}
		int ok = worst >= 0 && worst <= TOL;
		printf("# %-28s %s max |diff| %.2g%s%s\n", name, ok ? "ok  " : "FAIL", worst,
		       why.len ? ": " : "", sb_str(&why));
		failed += !ok;
		n++;
		json_t *op;
		size_t j;
		json_array_foreach(json_object_get(mj, "ops"), j, op)
			for (int k = 0; k < n_ops && ok; k++)
				covered[k] |= !strcmp(ops[k], json_string_value(op));
		sb_release(&why);
		free(p);
	}
	for (int k = 0; k < n_ops; k++)
		if (!covered[k])
			fail_msg("no passing model covers %s", ops[k]);
	if (failed)
		fail_msg("%d of %d models differ from the reference by more than %g", failed, n, TOL);
	assert_true(n >= 80);

	json_array_foreach(json_object_get(idx, "unsupported"), i, mj) {
		char *p = xasprintf("%s/%s", dir, json_string_value(json_object_get(mj, "file")));
		char *want = xasprintf("operator %s is not supported (supported: ",
				       json_string_value(json_object_get(mj, "op")));
		struct onnx_model *m = NULL;
		struct weft_err e = {0};
		int rc = onnx_load_file(p, &m, &e);
		printf("# refused: %s\n", e.msg);
		if (rc != WEFT_EINVAL || !strstr(e.msg, want) || strncmp(e.msg, p, strlen(p)))
			fail_msg("%s: rc %d, \"%s\"", p, rc, e.msg);
		free(want);
		free(p);
	}
	json_decref(idx);
	free(ip);
	free(dir);
}

/* ---- the example learners' model.onnx ---- */

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	struct sbuf cmd = SBUF_INIT;
	sb_vaddf(&cmd, fmt, ap);
	va_end(ap);
	int rc = system(cmd.buf);
	sb_release(&cmd);
	return rc;
}

/* The digits CSVs: scikit-learn's when /usr/bin/python3 has it, else synthetic digits
 * (ten random prototypes plus noise) in the same format. */
static const char *digits_dir(void)
{
	static char *dir;
	if (dir)
		return dir;
	dir = xasprintf("%s/digits", tmpdir);
	if (sh(PY " scripts/export-digits.py %s >/dev/null 2>&1", dir) == 0)
		return dir;
	printf("# scikit-learn missing: synthetic digits\n");
	struct weft_err e;
	fs_mkdir_p(dir, 0755, &e);
	uint64_t r = 42;
	int proto[10][64];
	for (int k = 0; k < 10; k++)
		for (int i = 0; i < 64; i++)
			proto[k][i] = (int)((r = r * 6364136223846793005ULL + 1442695040888963407ULL) >> 60);
	const char *files[] = {"digits-train.csv", "digits-test.csv"};
	for (int f = 0; f < 2; f++) {
		char *p = xasprintf("%s/%s", dir, files[f]);
		FILE *fp = fopen(p, "w");
		fprintf(fp, "header\n");
		for (int row = 0; row < (f ? 100 : 600); row++) {
			int k = row % 10;
			for (int i = 0; i < 64; i++) {
				int v = proto[k][i] + (int)((r = r * 6364136223846793005ULL + 1) >> 62) - 1;
				fprintf(fp, "%d,", v < 0 ? 0 : v > 16 ? 16 : v);
			}
			fprintf(fp, "%d\n", k);
		}
		fclose(fp);
		free(p);
	}
	return dir;
}

/* Reads the test CSV: pixel rows [n,64] (raw 0..16) and labels. */
static float *read_test_csv(int *n, int **labels)
{
	char *p = xasprintf("%s/digits-test.csv", digits_dir());
	FILE *f = fopen(p, "r");
	assert_non_null(f);
	float *x = xmalloc(sizeof *x * 64 * 2000);
	*labels = xmalloc(sizeof **labels * 2000);
	char line[4096];
	*n = 0;
	while (fgets(line, sizeof line, f) && *n < 2000) {
		if (line[0] < '0' || line[0] > '9')
			continue;
		char *s = line;
		for (int i = 0; i < 65; i++) {
			double v = strtod(s, &s);
			s++;
			if (i < 64)
				x[*n * 64 + i] = (float)v;
			else
				(*labels)[*n] = (int)v;
		}
		(*n)++;
	}
	fclose(f);
	free(p);
	return x;
}

static void test_digits_c(void **state)
{
	(void)state;
	char *bin = xasprintf("%s/digits-train", tmpdir), *res = xasprintf("%s/digits-c", tmpdir);
	assert_int_equal(sh("cc -O2 -std=c11 -o %s examples/digits-c/train.c -lm", bin), 0);
	assert_int_equal(sh("mkdir -p %s && DATA_DIR=%s RESULT_DIR=%s EPOCHS=5 %s >/dev/null 2>&1",
			    res, digits_dir(), res, bin), 0);
	int n, *labels;
	float *x = read_test_csv(&n, &labels);
	/* the learner's own format (README): magic, layers, then per layer I, O, activation,
	 * O*I weights and O biases, all little-endian */
	char *p = xasprintf("%s/model.bin", res);
	struct sbuf mb = SBUF_INIT;
	struct weft_err e = {0};
	assert_int_equal(fs_read_file(p, &mb, &e), 0);
	assert_int_equal(mb.len, 19276);
	const float *w1 = (const float *)(mb.buf + 24), *b1 = w1 + 64 * 64;
	const float *w2 = (const float *)(mb.buf + 24 + 4 * (64 * 64 + 64) + 12), *b2 = w2 + 640;
	free(p);
	p = xasprintf("%s/model.onnx", res);
	struct onnx_model *m = NULL;
	if (onnx_load_file(p, &m, &e) != 0)
		fail_msg("%s", e.msg);
	assert_string_equal(onnx_input_name(m, 0), "pixels");
	assert_string_equal(onnx_output_name(m, 0), "probabilities");
	struct onnx_session *s = onnx_session_new(m);
	struct wtensor in, out;
	memset(&in, 0, sizeof in);
	assert_int_equal(wt_alloc(&in, 2, (int64_t[]){n, 64}, 1 << 24), 0);
	memcpy(in.data, x, sizeof *x * 64 * (size_t)n);
	if (onnx_run(s, &in, 1, &out, 1, &e) != 0)
		fail_msg("%s", e.msg);
	double worst = 0;
	int correct = 0;
	for (int r = 0; r < n; r++) {
		double h[64], z[10], mx = -1e300, sum = 0;
		for (int j = 0; j < 64; j++) {
			h[j] = b1[j];
			for (int i = 0; i < 64; i++)
				h[j] += (double)w1[j * 64 + i] * (x[r * 64 + i] / 16.0);
			h[j] = h[j] > 0 ? h[j] : 0;
		}
		for (int k = 0; k < 10; k++) {
			z[k] = b2[k];
			for (int j = 0; j < 64; j++)
				z[k] += (double)w2[k * 64 + j] * h[j];
			mx = z[k] > mx ? z[k] : mx;
		}
		for (int k = 0; k < 10; k++)
			sum += exp(z[k] - mx);
		int best = 0;
		for (int k = 0; k < 10; k++) {
			double d = fabs(exp(z[k] - mx) / sum - out.data[r * 10 + k]);
			worst = d > worst ? d : worst;
			best = out.data[r * 10 + k] > out.data[r * 10 + best] ? k : best;
		}
		correct += best == labels[r];
	}
	printf("# digits-c model.onnx vs model.bin forward pass on %d rows: max |diff| %.2g, "
	       "accuracy %.4f\n", n, worst, (double)correct / n);
	assert_true(worst <= TOL);
	assert_true((double)correct / n >= 0.8);
	wt_free(&out);
	wt_free(&in);

	/* single-row latency, the serving case */
	enum { RUNS = 5000 };
	static double us[RUNS];
	assert_int_equal(wt_alloc(&in, 2, (int64_t[]){1, 64}, 64), 0);
	memcpy(in.data, x, sizeof *x * 64);
	for (int i = 0; i < RUNS + 200; i++) {
		struct timespec t0, t1;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		assert_int_equal(onnx_run(s, &in, 1, &out, 1, &e), 0);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		wt_free(&out);
		if (i >= 200)
			us[i - 200] = (double)(t1.tv_sec - t0.tv_sec) * 1e6 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e3;
	}
	for (int i = 1; i < RUNS; i++) /* insertion sort: small and already nearly sorted */
		for (int j = i; j > 0 && us[j - 1] > us[j]; j--) {
			double t = us[j];
			us[j] = us[j - 1];
			us[j - 1] = t;
		}
	printf("# digits single-row latency (onnx_run, 64 inputs): median %.2f us, p99 %.2f us, "
	       "over %d runs\n", us[RUNS / 2], us[RUNS * 99 / 100], RUNS);
	wt_free(&in);
	onnx_session_free(s);
	onnx_free(m);
	sb_release(&mb);
	free(x);
	free(labels);
	free(p);
	free(res);
	free(bin);
}

static void test_digits_pytorch(void **state)
{
	(void)state;
	char *res = xasprintf("%s/digits-pytorch", tmpdir);
	assert_int_equal(sh("mkdir -p %s && DATA_DIR=%s RESULT_DIR=%s EPOCHS=3 " PY
			    " examples/digits-pytorch/train.py >/dev/null 2>&1", res, digits_dir(), res), 0);
	assert_int_equal(sh(PY " " TOOL " digits-ref %s/model.pt %s/digits-test.csv %s/in.f32 %s/ref.f32",
			    res, digits_dir(), res, res), 0);
	int n, *labels;
	float *x = read_test_csv(&n, &labels);
	char *p = xasprintf("%s/in.f32", res);
	float *in_ref = read_f32(p, (int64_t)n * 64);
	assert_true(max_diff(in_ref, x, (int64_t)n * 64) == 0);
	free(p);
	p = xasprintf("%s/ref.f32", res);
	float *ref = read_f32(p, (int64_t)n * 10);
	free(p);
	p = xasprintf("%s/model.onnx", res);
	struct onnx_model *m = NULL;
	struct weft_err e = {0};
	if (onnx_load_file(p, &m, &e) != 0)
		fail_msg("%s", e.msg);
	struct onnx_session *s = onnx_session_new(m);
	struct wtensor in, out;
	memset(&in, 0, sizeof in);
	snprintf(in.name, sizeof in.name, "pixels");
	assert_int_equal(wt_alloc(&in, 2, (int64_t[]){n, 64}, 1 << 24), 0);
	memcpy(in.data, x, sizeof *x * 64 * (size_t)n);
	if (onnx_run(s, &in, 1, &out, 1, &e) != 0)
		fail_msg("%s", e.msg);
	assert_true(out.ndim == 2 && out.shape[0] == n && out.shape[1] == 10);
	double d = max_diff(out.data, ref, (int64_t)n * 10);
	printf("# digits-pytorch model.onnx vs torch on %d rows: max |diff| %.2g\n", n, d);
	assert_true(d <= TOL);
	wt_free(&in);
	wt_free(&out);
	onnx_session_free(s);
	onnx_free(m);
	free(ref);
	free(in_ref);
	free(x);
	free(labels);
	free(p);
	free(res);
}

static int setup(void **state)
{
	(void)state;
	if (!mkdtemp(tmpdir))
		return -1;
	if (have_torch)
		models_rc = sh(PY " " TOOL " models %s/models >/dev/null 2>%s/models.log", tmpdir, tmpdir);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	struct weft_err e;
	fs_rm_rf(tmpdir, &e);
	return 0;
}

int main(void)
{
	/* Without torch the PyTorch checks are reported as TAP skips with the reason (cmocka's
	 * own skip() prints "not ok ... # SKIP", which tests/run.sh would count as failed). */
	have_torch = system(PY " -c 'import torch, onnx, numpy' >/dev/null 2>&1") == 0;
	const struct CMUnitTest with_torch[] = {
		cmocka_unit_test(test_reference_models),
		cmocka_unit_test(test_digits_c),
		cmocka_unit_test(test_digits_pytorch),
	};
	const struct CMUnitTest without_torch[] = {
		cmocka_unit_test(test_digits_c),
	};
	if (have_torch)
		return cmocka_run_group_tests(with_torch, setup, teardown);
	printf("ok - test_reference_models # SKIP " PY " cannot import torch, onnx and numpy "
	       "(apt-get install python3-torch python3-onnx)\n");
	printf("ok - test_digits_pytorch # SKIP " PY " cannot import torch\n");
	fflush(stdout);
	return cmocka_run_group_tests(without_torch, setup, teardown);
}

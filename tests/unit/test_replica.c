/* test_replica.c - custom model servers against real processes: the example
 * examples/model-server/server.py serving a digits-c model trained here (answers
 * checked against the weights and against examples/digits-c/predict.py), replicas
 * that exit at once, hang at start, answer garbage, huge or slow answers, ignore
 * SIGTERM, a replica_set restarting a kill -9'd replica, 8 threads predicting at once,
 * and replicas killed under load without a failed request. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "serve/replica.h"
#include "util/fs.h"
#include "util/mem.h"
#include "util/sbuf.h"
#include "util/timeutil.h"
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define N_IN 64
#define N_OUT 10

static char tmp[64];
static char *root;       /* the repository */
static char *python;     /* python3 for the example (standard library only) */
static char *model_dir;  /* <tmp>/objects/digits-results/training-t1 */
static char *serve_cmd;  /* "exec python3 .../server.py" */
static char *bad_cmd;    /* the misbehaving server */
static char *model_env;  /* "MODEL_DIR=..." */
static int n_layers;
static int lay_in[4], lay_out[4], lay_act[4];
static float *lay_w[4], *lay_b[4];

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

static int run(const char *cmd)
{
	int st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

/* A misbehaving model server: what /predict does depends on the body. */
static const char bad_py[] =
	"import json, os, signal, sys, threading, time\n"
	"from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer\n"
	"frozen = threading.Event()\n"
	"if os.environ.get('IGNORE_TERM'):\n"
	"    signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
	"class H(BaseHTTPRequestHandler):\n"
	"    protocol_version = 'HTTP/1.1'\n"
	"    disable_nagle_algorithm = True\n"
	"    def log_message(self, *a): pass\n"
	"    def send(self, code, body, ctype='application/json'):\n"
	"        b = body.encode()\n"
	"        self.send_response(code); self.send_header('Content-Type', ctype)\n"
	"        self.send_header('Content-Length', str(len(b))); self.end_headers(); self.wfile.write(b)\n"
	"    def do_GET(self):\n"
	"        if self.path == '/health/ping':\n"
	"            if frozen.is_set(): time.sleep(3600)\n"
	"            return self.send(200, 'pong', 'text/plain')\n"
	"        if self.path == '/env': return self.send(200, json.dumps(dict(os.environ)))\n"
	"        self.send(404, '{}')\n"
	"    def do_POST(self):\n"
	"        body = self.rfile.read(int(self.headers.get('Content-Length', '0'))).decode()\n"
	"        if body == 'garbage':\n"
	"            self.wfile.write(b'\\x00\\x01SPAM SPAM\\r\\n\\r\\n'); self.close_connection = True; return\n"
	"        if body == 'notjson': return self.send(200, '<html>oops</html>', 'text/html')\n"
	"        if body == 'error500': return self.send(500, 'internal trouble', 'text/plain')\n"
	"        if body == 'hang': time.sleep(30); return\n"
	"        if body == 'close': self.close_connection = True; return\n"
	"        if body in ('huge', 'huge-nolength'):\n"
	"            if body == 'huge':\n"
	"                self.send_response(200); self.send_header('Content-Length', str(50 << 20)); self.end_headers()\n"
	"            else:\n"
	"                self.wfile.write(b'HTTP/1.1 200 OK\\r\\nConnection: close\\r\\n\\r\\n'); self.close_connection = True\n"
	"            try:\n"
	"                for _ in range(50): self.wfile.write(b'x' * (1 << 20))\n"
	"            except OSError: pass\n"
	"            return\n"
	"        if body == 'freeze': frozen.set(); return self.send(200, '{}')\n"
	"        self.send(200, json.dumps({'data': {'ndarray': [[1.0]]}, 'echo': body}))\n"
	"class S(ThreadingHTTPServer):\n"
	"    daemon_threads = True\n"
	"    request_queue_size = 64\n"
	"print('bad server on', os.environ['PORT'], flush=True)\n"
	"S(('127.0.0.1', int(os.environ['PORT'])), H).serve_forever()\n";

/* Holds 127.0.0.1:$PORT for 4 s in its own session (outside the replica's group). */
static const char hold_py[] =
	"import os, socket, sys, time\n"
	"s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
	"s.bind(('127.0.0.1', int(sys.argv[1]))); s.listen(1)\n"
	"open(sys.argv[2], 'w').close()\n"
	"time.sleep(4)\n";

/* Deterministic digits-like rows: pixel values 0..16 whose pattern depends on the label. */
static _Thread_local uint64_t rng_state = 12345;
static unsigned rnd(unsigned n)
{
	rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
	return (unsigned)(rng_state >> 33) % n;
}

static void make_row(int label, int *px)
{
	for (int i = 0; i < N_IN; i++) {
		int on = (i % 10) == label || (i / 7) % 10 == label;
		px[i] = on ? 10 + (int)rnd(7) : (int)rnd(4);
	}
}

static int write_csv(const char *path, int rows)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	fprintf(f, "header\n");
	for (int r = 0; r < rows; r++) {
		int px[N_IN], label = r % 10;
		make_row(label, px);
		for (int i = 0; i < N_IN; i++)
			fprintf(f, "%d,", px[i]);
		fprintf(f, "%d\n", label);
	}
	return fclose(f);
}

static uint32_t le32(const unsigned char *b)
{
	return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

/* Reads model.bin as examples/digits-c/README.md describes it. */
static int load_model(const char *path)
{
	struct sbuf sb = SBUF_INIT;
	if (fs_read_file(path, &sb, NULL) || sb.len < 12 || memcmp(sb.buf, "WEFTMLP1", 8) != 0)
		return -1;
	const unsigned char *b = (const unsigned char *)sb.buf;
	size_t off = 12;
	n_layers = (int)le32(b + 8);
	if (n_layers < 1 || n_layers > 4)
		return -1;
	for (int l = 0; l < n_layers; l++) {
		lay_in[l] = (int)le32(b + off);
		lay_out[l] = (int)le32(b + off + 4);
		lay_act[l] = (int)le32(b + off + 8);
		off += 12;
		size_t nw = (size_t)lay_in[l] * (size_t)lay_out[l];
		lay_w[l] = xmalloc(nw * 4);
		lay_b[l] = xmalloc((size_t)lay_out[l] * 4);
		memcpy(lay_w[l], b + off, nw * 4);
		off += nw * 4;
		memcpy(lay_b[l], b + off, (size_t)lay_out[l] * 4);
		off += (size_t)lay_out[l] * 4;
	}
	int ok = off == sb.len;
	sb_release(&sb);
	return ok ? 0 : -1;
}

/* The reference: a = x/16, a = act(W a + b) per layer, softmax at the end. */
static void forward(const int *px, double *prob)
{
	double a[128], z[128];
	for (int i = 0; i < N_IN; i++)
		a[i] = px[i] / 16.0;
	for (int l = 0; l < n_layers; l++) {
		for (int o = 0; o < lay_out[l]; o++) {
			double s = lay_b[l][o];
			for (int i = 0; i < lay_in[l]; i++)
				s += (double)lay_w[l][o * lay_in[l] + i] * a[i];
			z[o] = lay_act[l] == 1 && s < 0 ? 0 : s;
		}
		memcpy(a, z, sizeof(double) * (size_t)lay_out[l]);
	}
	double m = a[0], sum = 0;
	for (int k = 1; k < N_OUT; k++)
		m = a[k] > m ? a[k] : m;
	for (int k = 0; k < N_OUT; k++)
		sum += (prob[k] = exp(a[k] - m));
	for (int k = 0; k < N_OUT; k++)
		prob[k] /= sum;
}

static char *find_root(void)
{
	const char *env = getenv("WEFT_SRC_ROOT");
	char buf[4096];
	if (env)
		return xstrdup(env);
	if (getcwd(buf, sizeof buf)) {
		char *p = fs_join(buf, "examples/model-server/server.py");
		int ok = fs_exists(p);
		free(p);
		if (ok)
			return xstrdup(buf);
	}
	const char *bin = getenv("WEFT_BIN");
	if (bin && realpath(bin, buf)) {
		for (char *slash; (slash = strrchr(buf, '/')) && slash != buf;) {
			*slash = '\0';
			char *p = fs_join(buf, "examples/model-server/server.py");
			int ok = fs_exists(p);
			free(p);
			if (ok)
				return xstrdup(buf);
		}
	}
	return NULL;
}

static int group_setup(void **state)
{
	(void)state;
	signal(SIGPIPE, SIG_IGN);
	snprintf(tmp, sizeof tmp, "/tmp/weft-replica-XXXXXX");
	if (!mkdtemp(tmp) || !(root = find_root())) {
		fprintf(stderr, "# cannot find the repository (examples/model-server/server.py)\n");
		return -1;
	}
	/* python3 from PATH (the example needs only the standard library); resolved once, as
	 * a pyenv shim costs a second per start */
	char *exe = xasprintf("%s/python.txt", tmp);
	char *cmd0 = xasprintf("python3 -c 'import sys; print(sys.executable)' >%s 2>/dev/null", exe);
	struct sbuf pb = SBUF_INIT;
	if (run(cmd0) == 0 && fs_read_file(exe, &pb, NULL) == 0 && pb.len > 1) {
		pb.buf[strcspn(pb.buf, "\n")] = '\0';
		python = sb_detach(&pb);
	} else {
		python = xstrdup("/usr/bin/python3");
	}
	sb_release(&pb);
	free(cmd0);
	free(exe);
	model_dir = xasprintf("%s/objects/digits-results/training-t1", tmp);
	char *data = xasprintf("%s/data", tmp), *cmd, *p;
	fs_mkdir_p(data, 0755, NULL);
	fs_mkdir_p(model_dir, 0755, NULL);
	p = fs_join(data, "digits-train.csv");
	write_csv(p, 300);
	free(p);
	p = fs_join(data, "digits-test.csv");
	write_csv(p, 50);
	free(p);
	/* train the real digits-c learner for 3 epochs: its model.bin and results.json */
	cmd = xasprintf("cc -O1 -std=c11 -o %s/digits-train %s/examples/digits-c/train.c -lm && "
			"DATA_DIR=%s RESULT_DIR=%s EPOCHS=3 %s/digits-train >%s/train.log 2>&1",
			tmp, root, data, model_dir, tmp, tmp);
	int rc = run(cmd);
	free(cmd);
	free(data);
	p = fs_join(model_dir, "model.bin");
	if (rc != 0 || load_model(p) != 0) {
		fprintf(stderr, "# training digits-c failed (%d); see %s/train.log\n", rc, tmp);
		free(p);
		return -1;
	}
	free(p);
	serve_cmd = xasprintf("exec %s %s/examples/model-server/server.py", python, root);
	model_env = xasprintf("MODEL_DIR=%s", model_dir);
	p = fs_join(tmp, "bad.py");
	fs_write_file_atomic(p, bad_py, sizeof bad_py - 1, 0644, NULL);
	bad_cmd = xasprintf("exec %s %s", python, p);
	free(p);
	p = fs_join(tmp, "hold.py");
	fs_write_file_atomic(p, hold_py, sizeof hold_py - 1, 0644, NULL);
	free(p);
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	if (!getenv("KEEP_TMP"))
		fs_rm_rf(tmp, NULL);
	for (int l = 0; l < n_layers; l++) {
		free(lay_w[l]);
		free(lay_b[l]);
	}
	free(root);
	free(python);
	free(model_dir);
	free(serve_cmd);
	free(bad_cmd);
	free(model_env);
	return 0;
}

static struct replica_cfg model_cfg(const char *name, char **env)
{
	static char logs[8][256];
	static int k;
	char *log = logs[k++ % 8];
	snprintf(log, 256, "%s/%s.log", tmp, name);
	struct replica_cfg c = { .name = name, .command = serve_cmd, .cwd = tmp, .env = env,
				 .log_path = log, .start_timeout_ms = 15000 };
	return c;
}

/* A ndarray request body for rows[0..n) and the rows themselves. */
static char *rows_body(int n, int (*rows)[N_IN], int tensor)
{
	struct sbuf sb = SBUF_INIT;
	if (tensor)
		sb_addf(&sb, "{\"data\": {\"tensor\": {\"shape\": [%d, %d], \"values\": [", n, N_IN);
	else
		sb_adds(&sb, "{\"data\": {\"ndarray\": [");
	for (int r = 0; r < n; r++) {
		make_row((int)rnd(10), rows[r]);
		if (!tensor)
			sb_adds(&sb, r ? ", [" : "[");
		for (int i = 0; i < N_IN; i++)
			sb_addf(&sb, "%s%d", i || (tensor && r) ? ", " : "", rows[r][i]);
		if (!tensor)
			sb_adds(&sb, "]");
	}
	sb_adds(&sb, tensor ? "]}}}" : "]}}");
	return sb_detach(&sb);
}

/* Checks an answer's probabilities against the reference; returns the worst error. */
static double check_answer(json_t *ans, int n, int (*rows)[N_IN], int tensor)
{
	json_t *data = json_object_get(ans, "data");
	assert_non_null(data);
	double worst = 0;
	json_t *vals = NULL, *nd = NULL;
	if (tensor) {
		json_t *t = json_object_get(data, "tensor");
		assert_non_null(t);
		assert_int_equal(json_integer_value(json_array_get(json_object_get(t, "shape"), 0)), n);
		assert_int_equal(json_integer_value(json_array_get(json_object_get(t, "shape"), 1)), N_OUT);
		vals = json_object_get(t, "values");
		assert_int_equal(json_array_size(vals), (size_t)n * N_OUT);
	} else {
		nd = json_object_get(data, "ndarray");
		assert_int_equal(json_array_size(nd), (size_t)n);
	}
	for (int r = 0; r < n; r++) {
		double want[N_OUT];
		forward(rows[r], want);
		for (int k = 0; k < N_OUT; k++) {
			json_t *v = tensor ? json_array_get(vals, (size_t)(r * N_OUT + k))
					   : json_array_get(json_array_get(nd, (size_t)r), (size_t)k);
			assert_true(json_is_number(v));
			double d = fabs(json_number_value(v) - want[k]);
			worst = d > worst ? d : worst;
		}
	}
	return worst;
}

static void test_predict_matches_model(void **state)
{
	(void)state;
	char *env[] = { model_env, "TRAINING_ID=training-t1", NULL };
	struct replica_cfg cfg = model_cfg("digits", env);
	struct replica *r;
	struct weft_err e = { 0 };
	assert_int_equal(replica_start(&cfg, &r, &e), 0);
	assert_true(replica_alive(r));
	assert_int_equal(replica_ping(r, 1000), 0);
	int rows[5][N_IN];
	struct sbuf ans = SBUF_INIT;
	long code;
	for (int tensor = 0; tensor <= 1; tensor++) {
		char *body = rows_body(5, rows, tensor);
		json_t *j = NULL;
		enum replica_fail why;
		assert_int_equal(replica_predict(r, body, strlen(body), 5000, &ans, &code, &j, &why, &e), 0);
		assert_int_equal(code, 200);
		assert_int_equal(why, REPLICA_OK);
		double worst = check_answer(j, 5, rows, tensor);
		assert_true(worst < 1e-9);
		json_decref(j);
		free(body);
	}
	/* the same rows through examples/digits-c/predict.py (numpy: Debian's python3) */
	char *body = rows_body(5, rows, 0);
	json_t *j = NULL;
	assert_int_equal(replica_predict(r, body, strlen(body), 5000, &ans, &code, &j, NULL, &e), 0);
	char *rowsjson = xstrndup(strstr(body, "[["), strlen(strstr(body, "[[")) - 2);
	char *cmd = xasprintf("cd %s/examples/digits-c && /usr/bin/python3 -c 'import json, sys, numpy as np, predict\n"
			      "L = predict.load(sys.argv[1]); x = np.array(json.loads(sys.argv[2]), dtype=float)\n"
			      "a = x / 16.0\n"
			      "for w, b, act in L:\n"
			      "    a = a @ w.T + b\n"
			      "    a = np.maximum(a, 0) if act == 1 else a\n"
			      "p = np.exp(a - a.max(axis=1, keepdims=True)); p /= p.sum(axis=1, keepdims=True)\n"
			      "print(json.dumps({\"argmax\": predict.predict(L, x).tolist(), \"p\": p.tolist()}))'"
			      " %s/model.bin '%s' >%s/predict.out 2>%s/predict.err",
			      root, model_dir, rowsjson, tmp, tmp);
	if (run("/usr/bin/python3 -c 'import numpy' 2>/dev/null") == 0) {
		assert_int_equal(run(cmd), 0);
		char *out = fs_join(tmp, "predict.out");
		json_t *py = json_load_file(out, 0, NULL);
		free(out);
		assert_non_null(py);
		json_t *nd = json_object_get(json_object_get(j, "data"), "ndarray");
		for (size_t i = 0; i < 5; i++) {
			json_t *row = json_array_get(nd, i), *prow = json_array_get(json_object_get(py, "p"), i);
			size_t best = 0;
			for (size_t k = 0; k < N_OUT; k++) {
				double v = json_number_value(json_array_get(row, k));
				assert_true(fabs(v - json_number_value(json_array_get(prow, k))) < 1e-6);
				if (v > json_number_value(json_array_get(row, best)))
					best = k;
			}
			assert_int_equal(best, json_integer_value(json_array_get(json_object_get(py, "argmax"), i)));
		}
		json_decref(py);
	} else {
		print_message("# numpy is missing from /usr/bin/python3: predict.py comparison skipped\n");
	}
	free(cmd);
	free(rowsjson);
	free(body);
	json_decref(j);
	/* bad bodies get a clear 400 in Seldon's shape and the server keeps serving */
	const char *bad[] = { "not json", "{\"data\": {\"ndarray\": [[1, 2]]}}", "{\"strData\": \"x\"}",
			      "{\"data\": {\"tensor\": {\"shape\": [2, 64], \"values\": [1]}}}" };
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		j = NULL;
		assert_int_equal(replica_predict(r, bad[i], strlen(bad[i]), 5000, &ans, &code, &j, NULL, &e), 0);
		assert_int_equal(code, 400);
		assert_string_equal(json_string_value(json_object_get(json_object_get(j, "status"), "status")), "FAILURE");
		json_decref(j);
	}
	assert_int_equal(replica_ping(r, 1000), 0);
	sb_release(&ans);
	replica_stop(r);
}

static void test_bucket_env(void **state)
{
	(void)state;
	char *url = xasprintf("BUCKET_ENDPOINT_URL=file://%s/objects", tmp);
	char *env[] = { url, "BUCKET_NAME=digits-results", "TRAINING_ID=training-t1", "BUCKET_KEY=k",
			"BUCKET_SECRET=s", NULL };
	struct replica_cfg cfg = model_cfg("bucket", env);
	struct replica *r;
	struct weft_err e = { 0 };
	assert_int_equal(replica_start(&cfg, &r, &e), 0);
	int rows[2][N_IN];
	char *body = rows_body(2, rows, 0);
	struct sbuf ans = SBUF_INIT;
	json_t *j;
	long code;
	assert_int_equal(replica_predict(r, body, strlen(body), 5000, &ans, &code, &j, NULL, &e), 0);
	assert_true(check_answer(j, 2, rows, 0) < 1e-9);
	json_decref(j);
	replica_stop(r);
	/* a training id without results: the server exits at once, the error says why */
	env[2] = "TRAINING_ID=training-nope";
	cfg = model_cfg("bucket-nope", env);
	int64_t t0 = now_ms();
	assert_int_equal(replica_start(&cfg, &r, &e), WEFT_EIO);
	assert_null(r);
	assert_true(now_ms() - t0 < 5000);
	assert_non_null(strstr(e.msg, "exited with status 2"));
	assert_non_null(strstr(e.msg, "bucket-nope.log"));
	assert_non_null(strstr(e.msg, "training-nope does not exist"));
	free(body);
	free(url);
	sb_release(&ans);
}

/* digits-pytorch's model.pt, read without torch; answers checked against torch itself */
static void test_pytorch_model(void **state)
{
	(void)state;
	if (run("/usr/bin/python3 -c 'import torch' 2>/dev/null") != 0) {
		skip();
		return;
	}
	char *dir = xasprintf("%s/objects/digits-results/training-pt", tmp);
	fs_mkdir_p(dir, 0755, NULL);
	int rows[4][N_IN];
	char *body = rows_body(4, rows, 0);
	char *rowsjson = xstrndup(strstr(body, "[["), strlen(strstr(body, "[[")) - 2);
	char *cmd = xasprintf("/usr/bin/python3 -c 'import json, sys, torch\n"
			      "from torch import nn\n"
			      "torch.manual_seed(7)\n"
			      "m = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))\n"
			      "torch.save(m.state_dict(), sys.argv[1] + \"/model.pt\")\n"
			      "json.dump({\"framework\": \"pytorch\", \"model\": \"model.pt\"}, open(sys.argv[1] + \"/results.json\", \"w\"))\n"
			      "x = torch.tensor(json.loads(sys.argv[2]), dtype=torch.float32) / 16\n"
			      "json.dump(torch.softmax(m(x), dim=-1).tolist(), open(sys.argv[1] + \"/expected.json\", \"w\"))'"
			      " %s '%s' 2>%s/torch.err",
			      dir, rowsjson, tmp);
	assert_int_equal(run(cmd), 0);
	char *env0 = xasprintf("MODEL_DIR=%s", dir);
	char *env[] = { env0, NULL };
	struct replica_cfg cfg = model_cfg("pytorch", env);
	struct replica *r;
	struct weft_err e = { 0 };
	assert_int_equal(replica_start(&cfg, &r, &e), 0);
	struct sbuf ans = SBUF_INIT;
	json_t *j;
	long code;
	assert_int_equal(replica_predict(r, body, strlen(body), 5000, &ans, &code, &j, NULL, &e), 0);
	char *path = fs_join(dir, "expected.json");
	json_t *want = json_load_file(path, 0, NULL);
	assert_non_null(want);
	json_t *nd = json_object_get(json_object_get(j, "data"), "ndarray");
	assert_int_equal(json_array_size(nd), 4);
	for (size_t i = 0; i < 4; i++)
		for (size_t k = 0; k < N_OUT; k++) {
			double got = json_number_value(json_array_get(json_array_get(nd, i), k));
			double exp_ = json_number_value(json_array_get(json_array_get(want, i), k));
			assert_true(fabs(got - exp_) < 1e-5);
		}
	json_decref(want);
	json_decref(j);
	replica_stop(r);
	free(path);
	free(env0);
	free(cmd);
	free(rowsjson);
	free(body);
	free(dir);
	sb_release(&ans);
}

static void test_exits_at_once(void **state)
{
	(void)state;
	struct replica_cfg cfg = model_cfg("quitter", NULL);
	cfg.command = "echo starting; echo 'fatal: cannot load the model' >&2; exit 3";
	struct replica *r = (void *)1;
	struct weft_err e = { 0 };
	int64_t t0 = now_ms();
	assert_int_equal(replica_start(&cfg, &r, &e), WEFT_EIO);
	assert_null(r);
	assert_true(now_ms() - t0 < 3000);
	assert_non_null(strstr(e.msg, "exited with status 3"));
	assert_non_null(strstr(e.msg, cfg.log_path));
	assert_non_null(strstr(e.msg, "fatal: cannot load the model"));
	/* silent, killed by a signal */
	cfg.command = "kill -9 $$";
	assert_int_equal(replica_start(&cfg, &r, &e), WEFT_EIO);
	assert_non_null(strstr(e.msg, "killed by signal 9"));
	assert_non_null(strstr(e.msg, "(no output)"));
	/* a working directory that is not there */
	cfg.cwd = "/nonexistent/dir";
	cfg.command = "exit 0";
	assert_int_equal(replica_start(&cfg, &r, &e), WEFT_EIO);
	assert_non_null(strstr(e.msg, "/nonexistent/dir"));
	/* a log that cannot be opened, no command */
	cfg.cwd = NULL;
	cfg.log_path = "/nonexistent/dir/x.log";
	assert_int_equal(replica_start(&cfg, &r, &e), WEFT_EIO);
	assert_non_null(strstr(e.msg, "/nonexistent/dir/x.log"));
	cfg.command = "";
	assert_int_equal(replica_start(&cfg, &r, &e), WEFT_EINVAL);
}

static void test_start_timeout(void **state)
{
	(void)state;
	struct replica_cfg cfg = model_cfg("sleeper", NULL);
	cfg.command = "echo 'loading a very big model'; exec sleep 60";
	cfg.start_timeout_ms = 600;
	struct replica *r;
	struct weft_err e = { 0 };
	int64_t t0 = now_ms();
	assert_int_equal(replica_start(&cfg, &r, &e), WEFT_EIO);
	int64_t took = now_ms() - t0;
	assert_true(took >= 550 && took < 4000);
	assert_non_null(strstr(e.msg, "within 600 ms"));
	assert_non_null(strstr(e.msg, "loading a very big model"));
}

/* A fixed port already taken is refused at once; a picked port taken meanwhile is replaced. */
static void test_port_taken(void **state)
{
	(void)state;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t len = sizeof a;
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
	assert_int_equal(listen(fd, 1), 0);
	getsockname(fd, (struct sockaddr *)&a, &len);
	char *env[] = { model_env, NULL };
	struct replica_cfg cfg = model_cfg("fixed", env);
	cfg.port = ntohs(a.sin_port);
	struct replica *r;
	struct weft_err e = { 0 };
	assert_int_equal(replica_start(&cfg, &r, &e), WEFT_EIO);
	assert_non_null(strstr(e.msg, "already in use"));
	close(fd);
	/* first run: something else grabs the port and the server fails to bind; second: fine */
	char *cmd = xasprintf("if [ ! -e %s/held ]; then setsid %s %s/hold.py $PORT %s/held & "
			      "for i in $(seq 100); do [ -e %s/held ] && break; sleep 0.05; done; "
			      "echo \"port $PORT is taken\"; exit 3; fi; %s",
			      tmp, python, tmp, tmp, tmp, serve_cmd);
	cfg = model_cfg("moving", env);
	cfg.command = cmd;
	assert_int_equal(replica_start(&cfg, &r, &e), 0);
	assert_int_equal(replica_ping(r, 1000), 0);
	replica_stop(r);
	char *log = NULL, *path = fs_join(tmp, "moving.log");
	struct sbuf sb = SBUF_INIT;
	fs_read_file(path, &sb, NULL);
	log = sb_detach(&sb);
	int starts = 0;
	for (char *p = log; (p = strstr(p, "[weft] starting")); p++)
		starts++;
	assert_int_equal(starts, 2);
	free(log);
	free(path);
	free(cmd);
}

static void test_misbehaving_server(void **state)
{
	(void)state;
	struct replica_cfg cfg = model_cfg("bad", NULL);
	cfg.command = bad_cmd;
	cfg.max_answer_bytes = 1 << 20;
	struct replica *r;
	struct weft_err e = { 0 };
	assert_int_equal(replica_start(&cfg, &r, &e), 0);
	struct sbuf ans = SBUF_INIT;
	long code;
	enum replica_fail why;
	json_t *j;
	static const struct {
		const char *body;
		int rc;
		enum replica_fail why;
		long code;
	} cases[] = {
		{ "garbage", WEFT_EIO, REPLICA_GARBAGE, 0 },
		{ "notjson", WEFT_EIO, REPLICA_GARBAGE, 200 },
		{ "error500", 0, REPLICA_OK, 500 },
		{ "close", WEFT_EIO, REPLICA_BROKEN, 0 },
		{ "huge", WEFT_ETOOBIG, REPLICA_TOOBIG, 0 },
		{ "huge-nolength", WEFT_ETOOBIG, REPLICA_TOOBIG, 0 },
		{ "hang", WEFT_EIO, REPLICA_TIMEOUT, 0 },
		{ "ok", 0, REPLICA_OK, 200 },
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		int64_t t0 = now_ms();
		j = (void *)1;
		int rc = replica_predict(r, cases[i].body, strlen(cases[i].body), 500, &ans, &code, &j, &why, &e);
		print_message("# %s: rc %d, %s, HTTP %ld, %lld ms: %s\n", cases[i].body, rc, replica_fail_name(why),
			      code, (long long)(now_ms() - t0), rc ? e.msg : "");
		assert_int_equal(rc, cases[i].rc);
		assert_int_equal(why, cases[i].why);
		if (cases[i].code)
			assert_int_equal(code, cases[i].code);
		assert_true(now_ms() - t0 < 2000);
		if (cases[i].rc == 0 && cases[i].code == 200)
			assert_true(json_is_object(j));
		else if (cases[i].rc == 0)
			assert_null(j); /* a 500 whose body is not JSON */
		json_decref(j == (void *)1 ? NULL : j);
		assert_true(ans.len <= (1 << 20));
		/* the replica keeps answering after each */
		assert_int_equal(replica_ping(r, 2000), 0);
	}
	/* the environment: FfDL's and Seldon's variables, ours win over cfg's PORT, nothing else leaks */
	setenv("WEFT_TEST_PRIVATE", "secret", 1);
	replica_stop(r);
	char *env[] = { "TRAINING_ID=training-t1", "BUCKET_NAME=b", "PORT=1", NULL };
	cfg.env = env;
	assert_int_equal(replica_start(&cfg, &r, &e), 0);
	assert_int_equal(replica_request(r, "GET", "/env", NULL, 0, 2000, &ans, &code, NULL, &e), 0);
	j = json_loadb(ans.buf, ans.len, 0, NULL);
	char port[16];
	snprintf(port, sizeof port, "%d", replica_port(r));
	assert_string_equal(json_string_value(json_object_get(j, "PORT")), port);
	assert_string_equal(json_string_value(json_object_get(j, "PREDICTIVE_UNIT_SERVICE_PORT")), port);
	assert_string_equal(json_string_value(json_object_get(j, "TRAINING_ID")), "training-t1");
	assert_string_equal(json_string_value(json_object_get(j, "PREDICTIVE_UNIT_ID")), "bad");
	assert_null(json_object_get(j, "WEFT_TEST_PRIVATE"));
	json_decref(j);
	unsetenv("WEFT_TEST_PRIVATE");
	/* after it is stopped: refused at once */
	pid_t pid = replica_pid(r);
	assert_true(pid > 0);
	replica_stop(r);
	assert_int_equal(kill(pid, 0), -1);
	sb_release(&ans);
}

static void test_restart_and_stop(void **state)
{
	(void)state;
	struct replica_cfg cfg = model_cfg("stubborn", (char *[]){ "IGNORE_TERM=1", NULL });
	cfg.command = bad_cmd;
	struct replica *r;
	struct weft_err e = { 0 };
	assert_int_equal(replica_start(&cfg, &r, &e), 0);
	pid_t pid = replica_pid(r);
	int port = replica_port(r);
	int64_t t0 = now_ms();
	assert_int_equal(replica_restart(r, &e), 0); /* TERM ignored: killed after 2 s */
	assert_true(now_ms() - t0 >= 1900);
	assert_true(replica_pid(r) != pid && replica_pid(r) > 0);
	assert_true(replica_port(r) != port);
	assert_int_equal(kill(pid, 0), -1);
	assert_int_equal(replica_ping(r, 1000), 0);
	/* a replica that died answers refused, fast */
	pid = replica_pid(r);
	kill(pid, SIGKILL);
	for (int i = 0; i < 100 && replica_alive(r); i++)
		sleep_ms(10);
	assert_false(replica_alive(r));
	struct sbuf ans = SBUF_INIT;
	enum replica_fail why;
	t0 = now_ms();
	assert_int_equal(replica_predict(r, "ok", 2, 5000, &ans, NULL, NULL, &why, &e), WEFT_EIO);
	assert_int_equal(why, REPLICA_REFUSED);
	assert_true(replica_fail_retryable(why));
	assert_true(now_ms() - t0 < 100);
	sb_release(&ans);
	replica_stop(r);
	replica_stop(NULL);
}

/* The replica dies with its parent (PR_SET_PDEATHSIG), even one that never stopped it. */
static void test_dies_with_weft(void **state)
{
	(void)state;
	int fds[2];
	assert_int_equal(pipe(fds), 0);
	pid_t child = fork();
	if (child == 0) {
		struct replica_cfg cfg = model_cfg("orphan", NULL);
		cfg.command = bad_cmd;
		struct replica *r;
		struct weft_err e;
		pid_t pid = replica_start(&cfg, &r, &e) == 0 ? replica_pid(r) : 0;
		if (write(fds[1], &pid, sizeof pid) != sizeof pid)
			_exit(1);
		_exit(0);
	}
	pid_t pid = 0;
	assert_int_equal(read(fds[0], &pid, sizeof pid), (ssize_t)sizeof pid);
	close(fds[0]);
	close(fds[1]);
	waitpid(child, NULL, 0);
	assert_true(pid > 0);
	int gone = 0;
	for (int i = 0; i < 300 && !gone; i++) {
		char path[64], st[512] = "";
		snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
		FILE *f = fopen(path, "r");
		if (!f) {
			gone = 1;
			break;
		}
		size_t n = fread(st, 1, sizeof st - 1, f);
		fclose(f);
		st[n] = '\0';
		char *close_paren = strrchr(st, ')');
		gone = close_paren && close_paren[1] == ' ' && close_paren[2] == 'Z';
		if (!gone)
			sleep_ms(10);
	}
	assert_true(gone);
}

static int wait_state(struct replica_set *s, int idx, enum replica_state want, int restarts, int ms,
		      struct replica_info *info)
{
	for (int64_t until = now_ms() + ms; now_ms() < until; sleep_ms(20)) {
		replica_set_info(s, idx, info);
		if (info->state == want && info->restarts >= restarts)
			return 0;
	}
	return -1;
}

static void test_set_restarts_killed_replica(void **state)
{
	(void)state;
	char *env[] = { model_env, NULL };
	struct replica_cfg cfg = model_cfg("set", env);
	struct replica_set *s;
	struct weft_err e = { 0 };
	assert_int_equal(replica_set_start(&cfg, 2, &s, &e), 0);
	assert_int_equal(replica_set_size(s), 2);
	struct replica_info info;
	replica_set_info(s, 0, &info);
	assert_int_equal(info.state, REPLICA_READY);
	assert_int_equal(info.restarts, 0);
	assert_string_equal(replica_state_name(info.state), "ready");
	pid_t old = info.pid;
	assert_true(old > 0);
	int64_t t0 = now_ms();
	kill(old, SIGKILL);
	assert_int_equal(wait_state(s, 0, REPLICA_READY, 1, 5000, &info), 0);
	print_message("# replica back in %lld ms: %s\n", (long long)(now_ms() - t0), info.last_error);
	assert_int_equal(info.restarts, 1);
	assert_true(info.pid != old && info.pid > 0);
	assert_non_null(strstr(info.last_error, "killed by signal 9"));
	int rows[1][N_IN];
	char *body = rows_body(1, rows, 0);
	struct sbuf ans = SBUF_INIT;
	json_t *j;
	assert_int_equal(replica_predict(replica_set_replica(s, 0), body, strlen(body), 5000, &ans, NULL, &j, NULL, &e), 0);
	assert_true(check_answer(j, 1, rows, 0) < 1e-9);
	json_decref(j);
	replica_set_info(s, 1, &info);
	assert_int_equal(info.restarts, 0);
	/* acquire skips a replica that is not ready, and balances by outstanding requests */
	int a = replica_set_acquire(s, -1), b = replica_set_acquire(s, -1);
	assert_true(a >= 0 && b >= 0 && a != b);
	int c = replica_set_acquire(s, a);
	assert_int_equal(c, b);
	replica_set_release(s, a);
	replica_set_release(s, b);
	replica_set_release(s, c);
	replica_set_info(s, 0, &info);
	assert_int_equal(info.outstanding, 0);
	free(body);
	sb_release(&ans);
	replica_set_stop(s);
	assert_int_equal(kill(old, 0), -1);
}

/* An unhealthy replica (process alive, /health/ping hangs) is restarted. */
static void test_set_restarts_unhealthy(void **state)
{
	(void)state;
	struct replica_cfg cfg = model_cfg("frozen", NULL);
	cfg.command = bad_cmd;
	struct replica_set *s;
	struct weft_err e = { 0 };
	assert_int_equal(replica_set_start(&cfg, 1, &s, &e), 0);
	struct sbuf ans = SBUF_INIT;
	long code;
	assert_int_equal(replica_predict(replica_set_replica(s, 0), "freeze", 6, 2000, &ans, &code, NULL, NULL, &e), 0);
	struct replica_info info;
	assert_int_equal(wait_state(s, 0, REPLICA_READY, 1, 10000, &info), 0);
	assert_non_null(strstr(info.last_error, "health/ping"));
	assert_int_equal(replica_set_predict(s, "ok", 2, 2000, &ans, &code, NULL, NULL, &e), 0);
	assert_int_equal(code, 200);
	sb_release(&ans);
	replica_set_stop(s);
}

struct load {
	struct replica_set *s;
	atomic_int stop, ok, failed;
	atomic_int per[4];
	int max_requests;
};

static void *load_main(void *arg)
{
	struct load *l = arg;
	struct sbuf ans = SBUF_INIT;
	struct weft_err e;
	for (int n = 0; !atomic_load(&l->stop) && (l->max_requests == 0 || n < l->max_requests); n++) {
		int rows[2][N_IN], which;
		char *body = rows_body(2, rows, n % 2);
		json_t *j = NULL;
		long code = 0;
		int rc = replica_set_predict(l->s, body, strlen(body), 10000, &ans, &code, &j, &which, &e);
		if (rc == 0 && code == 200 && check_answer(j, 2, rows, n % 2) < 1e-9) {
			atomic_fetch_add(&l->ok, 1);
			atomic_fetch_add(&l->per[which], 1);
		} else {
			print_message("# failed: rc %d HTTP %ld: %s\n", rc, code, rc ? e.msg : ans.buf);
			atomic_fetch_add(&l->failed, 1);
		}
		json_decref(j);
		free(body);
	}
	sb_release(&ans);
	return NULL;
}

static void test_concurrent_predicts(void **state)
{
	(void)state;
	char *env[] = { model_env, NULL };
	struct replica_cfg cfg = model_cfg("busy", env);
	struct load l = { .max_requests = 40 };
	struct weft_err e = { 0 };
	assert_int_equal(replica_set_start(&cfg, 2, &l.s, &e), 0);
	pthread_t t[8];
	for (int i = 0; i < 8; i++)
		pthread_create(&t[i], NULL, load_main, &l);
	for (int i = 0; i < 8; i++)
		pthread_join(t[i], NULL);
	print_message("# %d ok (%d + %d), %d failed\n", atomic_load(&l.ok), atomic_load(&l.per[0]),
		      atomic_load(&l.per[1]), atomic_load(&l.failed));
	assert_int_equal(atomic_load(&l.ok), 8 * 40);
	assert_int_equal(atomic_load(&l.failed), 0);
	assert_true(atomic_load(&l.per[0]) > 40 && atomic_load(&l.per[1]) > 40);
	struct replica_info info;
	for (int i = 0; i < 2; i++) {
		replica_set_info(l.s, i, &info);
		assert_int_equal(info.outstanding, 0);
	}
	replica_set_stop(l.s);
}

static void test_death_under_load(void **state)
{
	(void)state;
	char *env[] = { model_env, NULL };
	struct replica_cfg cfg = model_cfg("load", env);
	struct load l = { 0 };
	struct weft_err e = { 0 };
	assert_int_equal(replica_set_start(&cfg, 2, &l.s, &e), 0);
	pthread_t t[8];
	for (int i = 0; i < 8; i++)
		pthread_create(&t[i], NULL, load_main, &l);
	struct replica_info info;
	for (int victim = 0; victim < 2; victim++) {
		sleep_ms(400);
		replica_set_info(l.s, victim, &info);
		kill(info.pid, SIGKILL);
		assert_int_equal(wait_state(l.s, victim, REPLICA_READY, 1, 8000, &info), 0);
	}
	sleep_ms(300);
	atomic_store(&l.stop, 1);
	for (int i = 0; i < 8; i++)
		pthread_join(t[i], NULL);
	print_message("# %d ok, %d failed\n", atomic_load(&l.ok), atomic_load(&l.failed));
	assert_int_equal(atomic_load(&l.failed), 0);
	assert_true(atomic_load(&l.ok) > 50);
	replica_set_stop(l.s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_predict_matches_model),
		cmocka_unit_test(test_bucket_env),
		cmocka_unit_test(test_pytorch_model),
		cmocka_unit_test(test_exits_at_once),
		cmocka_unit_test(test_start_timeout),
		cmocka_unit_test(test_port_taken),
		cmocka_unit_test(test_misbehaving_server),
		cmocka_unit_test(test_restart_and_stop),
		cmocka_unit_test(test_dies_with_weft),
		cmocka_unit_test(test_set_restarts_killed_replica),
		cmocka_unit_test(test_set_restarts_unhealthy),
		cmocka_unit_test(test_concurrent_predicts),
		cmocka_unit_test(test_death_under_load),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

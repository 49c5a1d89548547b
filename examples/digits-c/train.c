/* train.c - weft's zero-dependency example learner: a 64-64-10 MLP (ReLU, softmax,
 * Adam, mini-batches) on the 8x8 digits data set, in plain C11 with libm only.
 * It shows what a weft learner does: reads $DATA_DIR, prints one line per epoch for the
 * log collector, checkpoints every epoch into $CHECKPOINT_DIR (atomically) and resumes
 * from it after a halt, and leaves model.bin, model.onnx + results.json in $RESULT_DIR.
 * model.onnx is the same network as an ONNX graph (encoded by hand below: protobuf is a
 * handful of varints), so weft can serve it natively without a converter.
 * Formats of checkpoint.bin, model.bin and model.onnx: see README.md next to this file. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define N_IN 64
#define N_HID 64
#define N_OUT 10
#define N_PARAMS (N_HID * N_IN + N_HID + N_OUT * N_HID + N_OUT)
#define CKPT_MAGIC "WEFTCKP1"
#define MODEL_MAGIC "WEFTMLP1"
#define EXIT_BAD_INPUT 2

/* All trainable parameters live in one flat array so that Adam, the checkpoint and
 * the gradient buffer can treat them uniformly; these offsets name the pieces. */
#define OFF_W1 0
#define OFF_B1 (OFF_W1 + N_HID * N_IN)
#define OFF_W2 (OFF_B1 + N_HID)
#define OFF_B2 (OFF_W2 + N_OUT * N_HID)

struct dataset {
	int n;
	float *x; /* n * N_IN, scaled to 0..1 */
	int *y;   /* n labels 0..9 */
};

struct config {
	int epochs;
	int batch_size;
	double learning_rate;
	double sleep_per_epoch;
	uint64_t seed;
	const char *data_dir;
	const char *result_dir;
	const char *checkpoint_dir; /* NULL: checkpointing off */
};

/* Everything a resumed run needs to continue exactly where the last one stopped. */
struct state {
	uint32_t epoch; /* epochs completed */
	uint64_t rng;
	uint64_t adam_t;
	double p[N_PARAMS];
	double m[N_PARAMS];
	double v[N_PARAMS];
};

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig) { stop_signal = sig; }

/* Says what is wrong with the input on stderr and exits with EXIT_BAD_INPUT. */
static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "digits-train: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(EXIT_BAD_INPUT);
}

/* ---- random numbers: splitmix64, one 64-bit state word, easy to checkpoint ---- */

static uint64_t rng_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static double rng_uniform(uint64_t *s) /* [0, 1) */
{
	return (double)(rng_next(s) >> 11) * (1.0 / 9007199254740992.0);
}

static void shuffle(int *idx, int n, uint64_t *s)
{
	for (int i = n - 1; i > 0; i--) {
		int j = (int)(rng_next(s) % (uint64_t)(i + 1));
		int t = idx[i];
		idx[i] = idx[j];
		idx[j] = t;
	}
}

/* ---- configuration from the environment ---- */

static double env_double(const char *name, double def, double min, double max)
{
	const char *s = getenv(name);
	if (!s || !*s)
		return def;
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || *end || !(v >= min && v <= max)) {
		char range[96];
		snprintf(range, sizeof range, "a number from %g to %g", min, max);
		fprintf(stderr, "digits-train: %s=\"%s\" is not %s\n", name, s, range);
		exit(EXIT_BAD_INPUT);
	}
	return v;
}

static int env_int(const char *name, int def, int min, int max)
{
	double v = env_double(name, def, min, max);
	if (v != floor(v)) {
		fprintf(stderr, "digits-train: %s=\"%s\" is not a whole number\n", name, getenv(name));
		exit(EXIT_BAD_INPUT);
	}
	return (int)v;
}

static const char *env_str(const char *name, const char *def)
{
	const char *s = getenv(name);
	return s && *s ? s : def;
}

static void config_load(struct config *c)
{
	c->epochs = env_int("EPOCHS", 20, 1, 1000000);
	c->batch_size = env_int("BATCH_SIZE", 32, 1, 100000);
	c->learning_rate = env_double("LEARNING_RATE", 0.003, 1e-9, 10.0);
	c->sleep_per_epoch = env_double("SLEEP_PER_EPOCH", 0.0, 0.0, 86400.0);
	c->seed = (uint64_t)env_int("SEED", 42, 0, 2147483647);
	c->data_dir = env_str("DATA_DIR", ".");
	c->result_dir = env_str("RESULT_DIR", ".");
	c->checkpoint_dir = env_str("CHECKPOINT_DIR", NULL);
}

/* ---- data: CSV rows of 64 pixel values (0..16) and a label (0..9); header optional ---- */

static void dataset_load(struct dataset *d, const char *dir, const char *file)
{
	char path[4096];
	if (snprintf(path, sizeof path, "%s/%s", dir, file) >= (int)sizeof path)
		die("data path too long: %s/%s", dir, file);
	FILE *f = fopen(path, "r");
	if (!f) {
		fprintf(stderr, "digits-train: cannot open %s: %s (set DATA_DIR to the directory "
			"holding digits-train.csv and digits-test.csv)\n", path, strerror(errno));
		exit(EXIT_BAD_INPUT);
	}
	int cap = 256;
	d->n = 0;
	d->x = malloc(sizeof *d->x * N_IN * (size_t)cap);
	d->y = malloc(sizeof *d->y * (size_t)cap);
	if (!d->x || !d->y)
		die("out of memory reading %s", path);
	char *line = NULL;
	size_t linecap = 0;
	long lineno = 0;
	while (getline(&line, &linecap, f) != -1) {
		lineno++;
		char *s = line;
		s[strcspn(s, "\r\n")] = '\0';
		if (*s == '\0')
			continue;
		if (lineno == 1 && !(*s >= '0' && *s <= '9') && *s != '-' && *s != '.')
			continue; /* a header line */
		if (d->n == cap) {
			cap *= 2;
			float *nx = realloc(d->x, sizeof *d->x * N_IN * (size_t)cap);
			int *ny = realloc(d->y, sizeof *d->y * (size_t)cap);
			if (!nx || !ny)
				die("out of memory reading %s", path);
			d->x = nx;
			d->y = ny;
		}
		for (int col = 0; col <= N_IN; col++) {
			char *end;
			errno = 0;
			double v = strtod(s, &end);
			int bad = end == s || errno || !isfinite(v);
			if (!bad && col < N_IN)
				bad = *end != ',' || v < 0 || v > 16;
			else if (!bad)
				bad = *end != '\0' || v != floor(v) || v < 0 || v > 9;
			if (bad && col < N_IN && end != s && *end == '\0') {
				fprintf(stderr, "digits-train: %s line %ld has only %d values "
					"(want 64 pixel values 0..16 then a label 0..9)\n",
					path, lineno, col + 1);
				exit(EXIT_BAD_INPUT);
			}
			if (bad) {
				fprintf(stderr, "digits-train: %s line %ld column %d: bad value \"%.20s\" "
					"(want 64 pixel values 0..16 then a label 0..9, comma-separated)\n",
					path, lineno, col + 1, s);
				exit(EXIT_BAD_INPUT);
			}
			if (col < N_IN)
				d->x[(size_t)d->n * N_IN + (size_t)col] = (float)(v / 16.0);
			else
				d->y[d->n] = (int)v;
			s = end + 1;
		}
		d->n++;
	}
	int read_err = ferror(f);
	free(line);
	fclose(f);
	if (read_err)
		die("read error on %s", path);
	if (d->n == 0)
		die("%s holds no samples", path);
}

/* ---- the network ---- */

static void params_init(double *p, uint64_t *rng)
{
	double a1 = sqrt(6.0 / N_IN);           /* He uniform for the ReLU layer */
	double a2 = sqrt(6.0 / (N_HID + N_OUT)); /* Glorot uniform for the output */
	for (int i = 0; i < N_HID * N_IN; i++)
		p[OFF_W1 + i] = (2 * rng_uniform(rng) - 1) * a1;
	for (int i = 0; i < N_OUT * N_HID; i++)
		p[OFF_W2 + i] = (2 * rng_uniform(rng) - 1) * a2;
	memset(p + OFF_B1, 0, sizeof *p * N_HID);
	memset(p + OFF_B2, 0, sizeof *p * N_OUT);
}

/* Forward pass for one sample; fills h (hidden activations) and prob (softmax). */
static void forward(const double *p, const float *x, double *h, double *prob)
{
	for (int j = 0; j < N_HID; j++) {
		const double *w = p + OFF_W1 + j * N_IN;
		double z = p[OFF_B1 + j];
		for (int i = 0; i < N_IN; i++)
			z += w[i] * x[i];
		h[j] = z > 0 ? z : 0;
	}
	double zmax = -INFINITY;
	for (int k = 0; k < N_OUT; k++) {
		const double *w = p + OFF_W2 + k * N_HID;
		double z = p[OFF_B2 + k];
		for (int j = 0; j < N_HID; j++)
			z += w[j] * h[j];
		prob[k] = z;
		if (z > zmax)
			zmax = z;
	}
	double sum = 0;
	for (int k = 0; k < N_OUT; k++)
		sum += (prob[k] = exp(prob[k] - zmax));
	for (int k = 0; k < N_OUT; k++)
		prob[k] /= sum;
}

static int argmax(const double *v, int n)
{
	int best = 0;
	for (int i = 1; i < n; i++)
		if (v[i] > v[best])
			best = i;
	return best;
}

static double xent(const double *prob, int label)
{
	return -log(prob[label] > 1e-12 ? prob[label] : 1e-12);
}

/* Adds this sample's gradient of the cross-entropy loss into g. */
static void backward(const double *p, const float *x, const double *h, const double *prob,
		     int label, double *g)
{
	double dz2[N_OUT], dh[N_HID];
	for (int k = 0; k < N_OUT; k++)
		dz2[k] = prob[k] - (k == label);
	for (int j = 0; j < N_HID; j++)
		dh[j] = 0;
	for (int k = 0; k < N_OUT; k++) {
		double *gw = g + OFF_W2 + k * N_HID;
		const double *w = p + OFF_W2 + k * N_HID;
		for (int j = 0; j < N_HID; j++) {
			gw[j] += dz2[k] * h[j];
			dh[j] += dz2[k] * w[j];
		}
		g[OFF_B2 + k] += dz2[k];
	}
	for (int j = 0; j < N_HID; j++) {
		if (h[j] <= 0)
			continue;
		double *gw = g + OFF_W1 + j * N_IN;
		for (int i = 0; i < N_IN; i++)
			gw[i] += dh[j] * x[i];
		g[OFF_B1 + j] += dh[j];
	}
}

static void adam_step(struct state *st, const double *g, double scale, double lr)
{
	const double b1 = 0.9, b2 = 0.999, eps = 1e-8;
	st->adam_t++;
	double c1 = 1 - pow(b1, (double)st->adam_t), c2 = 1 - pow(b2, (double)st->adam_t);
	for (int i = 0; i < N_PARAMS; i++) {
		double gi = g[i] * scale;
		st->m[i] = b1 * st->m[i] + (1 - b1) * gi;
		st->v[i] = b2 * st->v[i] + (1 - b2) * gi * gi;
		st->p[i] -= lr * (st->m[i] / c1) / (sqrt(st->v[i] / c2) + eps);
	}
}

/* Mean loss and accuracy of the model over samples idx[0..n) of d (all if idx is NULL). */
static void evaluate(const double *p, const struct dataset *d, const int *idx, int n,
		     double *loss, double *acc)
{
	double h[N_HID], prob[N_OUT], l = 0;
	int correct = 0;
	for (int s = 0; s < n; s++) {
		int r = idx ? idx[s] : s;
		forward(p, d->x + (size_t)r * N_IN, h, prob);
		l += xent(prob, d->y[r]);
		correct += argmax(prob, N_OUT) == d->y[r];
	}
	*loss = l / n;
	*acc = (double)correct / n;
}

/* ---- little-endian binary files (checkpoint and model) ---- */

static uint64_t fnv1a(uint64_t h, const unsigned char *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ULL;
	return h;
}

struct wbuf {
	FILE *f;
	uint64_t sum;
	int err;
};

static void put_bytes(struct wbuf *w, const void *b, size_t n)
{
	w->sum = fnv1a(w->sum, b, n);
	if (fwrite(b, 1, n, w->f) != n)
		w->err = 1;
}

static void put_u64(struct wbuf *w, uint64_t v)
{
	unsigned char b[8];
	for (int i = 0; i < 8; i++)
		b[i] = (unsigned char)(v >> (8 * i));
	put_bytes(w, b, 8);
}

static void put_u32(struct wbuf *w, uint32_t v)
{
	unsigned char b[4];
	for (int i = 0; i < 4; i++)
		b[i] = (unsigned char)(v >> (8 * i));
	put_bytes(w, b, 4);
}

static void put_f64(struct wbuf *w, double d)
{
	uint64_t v;
	memcpy(&v, &d, 8);
	put_u64(w, v);
}

static void put_f32(struct wbuf *w, double d)
{
	float f = (float)d;
	uint32_t v;
	memcpy(&v, &f, 4);
	put_u32(w, v);
}

/* Writes path atomically: a temporary file in the same directory, fsync, rename. */
typedef void (*write_fn)(struct wbuf *w, const void *arg);

static int write_atomic(const char *path, write_fn fn, const void *arg)
{
	char tmp[4200];
	snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
	struct wbuf w = {fopen(tmp, "wb"), 0xcbf29ce484222325ULL, 0};
	if (!w.f) {
		fprintf(stderr, "digits-train: cannot create %s: %s\n", tmp, strerror(errno));
		return -1;
	}
	fn(&w, arg);
	if (fflush(w.f) != 0 || fsync(fileno(w.f)) != 0)
		w.err = 1;
	if (fclose(w.f) != 0)
		w.err = 1;
	if (w.err || rename(tmp, path) != 0) {
		fprintf(stderr, "digits-train: cannot write %s: %s\n", path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

static void checkpoint_body(struct wbuf *w, const void *arg)
{
	const struct state *st = arg;
	put_bytes(w, CKPT_MAGIC, 8);
	put_u32(w, N_IN);
	put_u32(w, N_HID);
	put_u32(w, N_OUT);
	put_u32(w, st->epoch);
	put_u64(w, st->rng);
	put_u64(w, st->adam_t);
	for (int i = 0; i < N_PARAMS; i++)
		put_f64(w, st->p[i]);
	for (int i = 0; i < N_PARAMS; i++)
		put_f64(w, st->m[i]);
	for (int i = 0; i < N_PARAMS; i++)
		put_f64(w, st->v[i]);
	put_u64(w, w->sum); /* FNV-1a 64 of everything before it */
}

static void model_body(struct wbuf *w, const void *arg)
{
	const double *p = arg;
	put_bytes(w, MODEL_MAGIC, 8);
	put_u32(w, 2); /* layers */
	put_u32(w, N_IN);
	put_u32(w, N_HID);
	put_u32(w, 1); /* activation: 1 relu */
	for (int i = 0; i < N_HID * N_IN; i++)
		put_f32(w, p[OFF_W1 + i]);
	for (int i = 0; i < N_HID; i++)
		put_f32(w, p[OFF_B1 + i]);
	put_u32(w, N_HID);
	put_u32(w, N_OUT);
	put_u32(w, 2); /* activation: 2 softmax */
	for (int i = 0; i < N_OUT * N_HID; i++)
		put_f32(w, p[OFF_W2 + i]);
	for (int i = 0; i < N_OUT; i++)
		put_f32(w, p[OFF_B2 + i]);
}

/* ---- model.onnx: protobuf written by hand (field numbers from ONNX's onnx.proto3) ---- */

struct pb {
	unsigned char *b;
	size_t n, cap;
};

static void pb_raw(struct pb *p, const void *d, size_t n)
{
	if (p->n + n > p->cap) {
		size_t cap = p->cap ? p->cap : 256;
		while (cap < p->n + n)
			cap *= 2;
		unsigned char *b = realloc(p->b, cap);
		if (!b)
			die("out of memory writing model.onnx");
		p->b = b;
		p->cap = cap;
	}
	if (n)
		memcpy(p->b + p->n, d, n);
	p->n += n;
}

static void pb_varint(struct pb *p, uint64_t v)
{
	unsigned char b[10];
	size_t n = 0;
	do {
		b[n++] = (unsigned char)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
		v >>= 7;
	} while (v);
	pb_raw(p, b, n);
}

static void pb_int(struct pb *p, int field, uint64_t v) /* wire type 0: varint */
{
	pb_varint(p, (uint64_t)field << 3);
	pb_varint(p, v);
}

static void pb_bytes(struct pb *p, int field, const void *d, size_t n) /* wire type 2 */
{
	pb_varint(p, (uint64_t)field << 3 | 2);
	pb_varint(p, n);
	pb_raw(p, d, n);
}

static void pb_str(struct pb *p, int field, const char *s) { pb_bytes(p, field, s, strlen(s)); }

/* Appends sub as embedded message `field` and frees it. */
static void pb_msg(struct pb *p, int field, struct pb *sub)
{
	pb_bytes(p, field, sub->b, sub->n);
	free(sub->b);
	memset(sub, 0, sizeof *sub);
}

/* NodeProto: input 1, output 2, name 3, op_type 4, attribute 5 (name 1, i 3, type 20 = INT). */
static void onnx_node(struct pb *graph, const char *op, const char *in0, const char *in1,
		      const char *in2, const char *out, const char *int_attr, int64_t value)
{
	struct pb n = {0};
	const char *ins[] = {in0, in1, in2};
	for (int i = 0; i < 3; i++)
		if (ins[i])
			pb_str(&n, 1, ins[i]);
	pb_str(&n, 2, out);
	pb_str(&n, 3, out);
	pb_str(&n, 4, op);
	if (int_attr) {
		struct pb a = {0};
		pb_str(&a, 1, int_attr);
		pb_int(&a, 3, (uint64_t)value);
		pb_int(&a, 20, 2);
		pb_msg(&n, 5, &a);
	}
	pb_msg(graph, 1, &n);
}

/* TensorProto: dims 1, data_type 2 (1 = FLOAT), name 8, raw_data 9 (little-endian). */
static void onnx_init(struct pb *graph, const char *name, int ndim, const int *dims,
		      const double *v, int n)
{
	struct pb t = {0}, raw = {0};
	for (int i = 0; i < ndim; i++)
		pb_int(&t, 1, (uint64_t)dims[i]);
	pb_int(&t, 2, 1);
	pb_str(&t, 8, name);
	for (int i = 0; i < n; i++) {
		float f = (float)v[i];
		uint32_t u;
		memcpy(&u, &f, 4);
		unsigned char b[4] = {(unsigned char)u, (unsigned char)(u >> 8),
				      (unsigned char)(u >> 16), (unsigned char)(u >> 24)};
		pb_raw(&raw, b, 4);
	}
	pb_bytes(&t, 9, raw.b, raw.n);
	free(raw.b);
	pb_msg(graph, 5, &t);
}

/* ValueInfoProto {name 1, type 2 {tensor_type 1 {elem_type 1, shape 2 {dim 1 {dim_param 2 |
 * dim_value 1}}}}}: a float tensor of shape [batch, width]. */
static void onnx_io(struct pb *graph, int field, const char *name, int width)
{
	struct pb vi = {0}, type = {0}, tensor = {0}, shape = {0}, d0 = {0}, d1 = {0};
	pb_str(&d0, 2, "batch");
	pb_int(&d1, 1, (uint64_t)width);
	pb_msg(&shape, 1, &d0);
	pb_msg(&shape, 1, &d1);
	pb_int(&tensor, 1, 1);
	pb_msg(&tensor, 2, &shape);
	pb_msg(&type, 1, &tensor);
	pb_str(&vi, 1, name);
	pb_msg(&vi, 2, &type);
	pb_msg(graph, field, &vi);
}

/* pixels (0..16) -> Mul 1/16 -> Gemm W1 b1 -> Relu -> Gemm W2 b2 -> Softmax -> probabilities */
static void model_onnx_body(struct wbuf *w, const void *arg)
{
	const double *p = arg;
	struct pb g = {0}, m = {0}, opset = {0};
	const double scale = 1.0 / 16;
	const int d_w1[] = {N_HID, N_IN}, d_b1[] = {N_HID}, d_w2[] = {N_OUT, N_HID}, d_b2[] = {N_OUT};
	onnx_node(&g, "Mul", "pixels", "scale", NULL, "scaled", NULL, 0);
	onnx_node(&g, "Gemm", "scaled", "W1", "b1", "hidden_linear", "transB", 1);
	onnx_node(&g, "Relu", "hidden_linear", NULL, NULL, "hidden", NULL, 0);
	onnx_node(&g, "Gemm", "hidden", "W2", "b2", "logits", "transB", 1);
	onnx_node(&g, "Softmax", "logits", NULL, NULL, "probabilities", "axis", 1);
	pb_str(&g, 2, "digits-c");
	onnx_init(&g, "scale", 0, NULL, &scale, 1);
	onnx_init(&g, "W1", 2, d_w1, p + OFF_W1, N_HID * N_IN);
	onnx_init(&g, "b1", 1, d_b1, p + OFF_B1, N_HID);
	onnx_init(&g, "W2", 2, d_w2, p + OFF_W2, N_OUT * N_HID);
	onnx_init(&g, "b2", 1, d_b2, p + OFF_B2, N_OUT);
	onnx_io(&g, 11, "pixels", N_IN);
	onnx_io(&g, 12, "probabilities", N_OUT);
	pb_int(&m, 1, 7);                /* ir_version */
	pb_str(&m, 2, "weft digits-c");  /* producer_name */
	pb_msg(&m, 7, &g);               /* graph */
	pb_int(&opset, 2, 13);           /* the standard domain, opset 13 */
	pb_msg(&m, 8, &opset);
	put_bytes(w, m.b, m.n);
	free(m.b);
}

static uint64_t get_u64(const unsigned char *b)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = v << 8 | b[i];
	return v;
}

static uint32_t get_u32(const unsigned char *b)
{
	return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static double get_f64(const unsigned char *b)
{
	uint64_t v = get_u64(b);
	double d;
	memcpy(&d, &v, 8);
	return d;
}

/* Loads checkpoint.bin into st. Returns 1 when loaded, 0 when there is none, and -1
 * (after saying why) when it is unusable, in which case training starts afresh. */
static int checkpoint_load(const char *path, struct state *st)
{
	enum { HEADER = 8 + 4 * 4 + 8 + 8, SIZE = HEADER + 3 * 8 * N_PARAMS + 8 };
	FILE *f = fopen(path, "rb");
	if (!f) {
		if (errno == ENOENT)
			return 0;
		fprintf(stderr, "digits-train: cannot open %s: %s; starting afresh\n", path,
			strerror(errno));
		return -1;
	}
	unsigned char *b = malloc(SIZE + 1);
	size_t n = b ? fread(b, 1, SIZE + 1, f) : 0;
	fclose(f);
	const char *why = NULL;
	if (!b)
		why = "out of memory";
	else if (n != SIZE)
		why = "wrong size";
	else if (memcmp(b, CKPT_MAGIC, 8) != 0)
		why = "not a digits-c checkpoint";
	else if (get_u64(b + SIZE - 8) != fnv1a(0xcbf29ce484222325ULL, b, SIZE - 8))
		why = "checksum mismatch";
	else if (get_u32(b + 8) != N_IN || get_u32(b + 12) != N_HID ||
		 get_u32(b + 16) != N_OUT)
		why = "different network shape";
	if (why) {
		fprintf(stderr, "digits-train: ignoring checkpoint %s (%s); starting afresh\n",
			path, why);
		free(b);
		return -1;
	}
	st->epoch = get_u32(b + 20);
	st->rng = get_u64(b + 24);
	st->adam_t = get_u64(b + 32);
	const unsigned char *q = b + HEADER;
	for (int i = 0; i < N_PARAMS; i++, q += 8)
		st->p[i] = get_f64(q);
	for (int i = 0; i < N_PARAMS; i++, q += 8)
		st->m[i] = get_f64(q);
	for (int i = 0; i < N_PARAMS; i++, q += 8)
		st->v[i] = get_f64(q);
	free(b);
	return 1;
}

static void sleep_seconds(double s)
{
	struct timespec ts = {(time_t)s, (long)((s - floor(s)) * 1e9)};
	while (!stop_signal && nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static void write_results(const struct config *c, const struct state *st,
			  int n_train, int n_val,
			  const struct dataset *test, double test_loss, double test_acc)
{
	char path[4200];
	snprintf(path, sizeof path, "%s/model.bin", c->result_dir);
	if (write_atomic(path, model_body, st->p) != 0)
		exit(1);
	snprintf(path, sizeof path, "%s/model.onnx", c->result_dir);
	if (write_atomic(path, model_onnx_body, st->p) != 0)
		exit(1);
	snprintf(path, sizeof path, "%s/results.json", c->result_dir);
	FILE *f = fopen(path, "w");
	if (!f) {
		fprintf(stderr, "digits-train: cannot create %s: %s\n", path, strerror(errno));
		exit(1);
	}
	fprintf(f, "{\"test_accuracy\": %.4f, \"test_loss\": %.4f, \"epochs\": %u, "
		"\"learning_rate\": %g, \"batch_size\": %d, \"hidden_units\": %d, "
		"\"train_samples\": %d, \"val_samples\": %d, \"test_samples\": %d, "
		"\"framework\": \"custom\", \"model\": \"model.bin\"}\n",
		test_acc, test_loss, st->epoch, c->learning_rate, c->batch_size, N_HID, n_train,
		n_val, test->n);
	if (fclose(f) != 0) {
		fprintf(stderr, "digits-train: cannot write %s: %s\n", path, strerror(errno));
		exit(1);
	}
}

int main(void)
{
	struct config c;
	config_load(&c);

	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal; /* no SA_RESTART: a sleep ends at once on SIGTERM */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	struct dataset train, test;
	dataset_load(&train, c.data_dir, "digits-train.csv");
	dataset_load(&test, c.data_dir, "digits-test.csv");
	if (train.n < 10)
		die("%s/digits-train.csv needs at least 10 samples", c.data_dir);

	/* Every 10th training row is held out for validation; the rest is trained on. */
	int *fit = malloc(sizeof *fit * (size_t)train.n), *val = malloc(sizeof *val * (size_t)train.n);
	if (!fit || !val)
		die("out of memory");
	int n_fit = 0, n_val = 0;
	for (int i = 0; i < train.n; i++) {
		if (i % 10 == 9)
			val[n_val++] = i;
		else
			fit[n_fit++] = i;
	}

	static struct state st;
	char ckpt[4200] = "";
	int loaded = 0;
	if (c.checkpoint_dir) {
		snprintf(ckpt, sizeof ckpt, "%s/checkpoint.bin", c.checkpoint_dir);
		loaded = checkpoint_load(ckpt, &st) == 1;
	} else {
		fprintf(stderr, "digits-train: CHECKPOINT_DIR is not set; not checkpointing\n");
	}
	if (loaded) {
		printf("resuming from checkpoint at epoch %u\n", st.epoch);
	} else {
		memset(&st, 0, sizeof st);
		st.rng = c.seed;
		params_init(st.p, &st.rng);
	}
	printf("training %d samples (validating on %d, testing on %d), %d epochs, batch %d, "
	       "learning rate %g\n", n_fit, n_val, test.n, c.epochs, c.batch_size, c.learning_rate);
	fflush(stdout);

	static double grad[N_PARAMS];
	double h[N_HID], prob[N_OUT];
	while ((int)st.epoch < c.epochs && !stop_signal) {
		/* Order of rows comes from the RNG, so a resumed run repeats an uninterrupted one. */
		for (int i = 0; i < n_fit; i++)
			fit[i] = i + i / 9; /* the non-validation rows, in file order */
		shuffle(fit, n_fit, &st.rng);
		double loss = 0;
		int correct = 0;
		for (int b = 0; b < n_fit && !stop_signal; b += c.batch_size) {
			int e = b + c.batch_size < n_fit ? b + c.batch_size : n_fit;
			memset(grad, 0, sizeof grad);
			for (int s = b; s < e; s++) {
				int r = fit[s];
				const float *x = train.x + (size_t)r * N_IN;
				forward(st.p, x, h, prob);
				loss += xent(prob, train.y[r]);
				correct += argmax(prob, N_OUT) == train.y[r];
				backward(st.p, x, h, prob, train.y[r], grad);
			}
			adam_step(&st, grad, 1.0 / (e - b), c.learning_rate);
		}
		if (stop_signal)
			break;
		double val_loss, val_acc;
		evaluate(st.p, &train, val, n_val, &val_loss, &val_acc);
		st.epoch++;
		if (c.checkpoint_dir && write_atomic(ckpt, checkpoint_body, &st) != 0)
			return 1;
		printf("epoch %u/%d loss=%.4f accuracy=%.4f val_loss=%.4f val_accuracy=%.4f\n",
		       st.epoch, c.epochs, loss / n_fit, (double)correct / n_fit, val_loss, val_acc);
		fflush(stdout);
		if (c.sleep_per_epoch > 0 && (int)st.epoch < c.epochs)
			sleep_seconds(c.sleep_per_epoch);
	}
	if (stop_signal) {
		printf("stopping on signal %d; the checkpoint at epoch %u is kept\n",
		       (int)stop_signal, st.epoch);
		fflush(stdout);
		return 128 + (int)stop_signal;
	}

	double test_loss, test_acc;
	evaluate(st.p, &test, NULL, test.n, &test_loss, &test_acc);
	write_results(&c, &st, n_fit, n_val, &test, test_loss, test_acc);
	printf("test_loss=%.4f\n", test_loss);
	printf("test_accuracy=%.4f\n", test_acc);
	fflush(stdout);
	free(fit);
	free(val);
	free(train.x);
	free(train.y);
	free(test.x);
	free(test.y);
	return 0;
}

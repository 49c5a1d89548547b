/* autoparse.c - weft's `auto` metrics recogniser (see autoparse.h for the
 * formats and conventions). Each format is a small hand-written matcher over
 * a [p, e) byte span: no regex, no allocation, no read past the span, so it
 * is cheap enough for every log line and safe on arbitrary bytes (fuzzed by
 * fuzz/fuzz_autoparse.c). Matchers are tried from the most specific (glog
 * prefix, Keras progress counter) to the most general (name=value). */
#include "tds/autoparse.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ASCII-only classes: independent of the locale and of signed char */
static int is_digit(int c) { return c >= '0' && c <= '9'; }
static int is_alpha(int c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
static int is_space(int c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
static int is_name_start(int c) { return is_alpha(c) || c == '_'; }
static int is_name_char(int c) { return is_alpha(c) || is_digit(c) || c == '_' || c == '.' || c == '/' || c == '-' || c == '@'; }
static int lower(int c) { return (c >= 'A' && c <= 'Z') ? c + 32 : c; }

static int starts_with(const char *p, const char *e, const char *lit)
{
	size_t n = strlen(lit);
	return (size_t)(e - p) >= n && memcmp(p, lit, n) == 0;
}

static int starts_with_ci(const char *p, const char *e, const char *lit)
{
	size_t n = strlen(lit);
	if ((size_t)(e - p) < n)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (lower((unsigned char)p[i]) != lit[i])
			return 0;
	return 1;
}

static const char *skip_spaces(const char *p, const char *e)
{
	while (p < e && is_space((unsigned char)*p))
		p++;
	return p;
}

/* Digits at p as an integer (at most 18 of them); returns the end or NULL. */
static const char *scan_int(const char *p, const char *e, int64_t *v)
{
	const char *s = p;
	int64_t x = 0;
	while (p < e && is_digit((unsigned char)*p) && p - s < 18)
		x = x * 10 + (*p++ - '0');
	if (p == s || (p < e && is_digit((unsigned char)*p)))
		return NULL;
	*v = x;
	return p;
}

/* A decimal or scientific number at p ([+-]? (d+ (.d*)? | .d+) ([eE][+-]?d+)?);
 * returns its end and the value (which may be inf on overflow) or NULL. */
static const char *scan_number(const char *p, const char *e, double *v)
{
	const char *s = p, *q = p;
	int digits = 0;
	if (q < e && (*q == '+' || *q == '-'))
		q++;
	while (q < e && is_digit((unsigned char)*q))
		q++, digits++;
	if (q < e && *q == '.') {
		q++;
		while (q < e && is_digit((unsigned char)*q))
			q++, digits++;
	}
	if (!digits)
		return NULL;
	if (q < e && (*q == 'e' || *q == 'E')) {
		const char *x = q + 1;
		if (x < e && (*x == '+' || *x == '-'))
			x++;
		if (x < e && is_digit((unsigned char)*x)) {
			while (x < e && is_digit((unsigned char)*x))
				x++;
			q = x;
		}
	}
	/* Clinger's fast path: an exact integer mantissa below 2^53 and a power
	 * of ten up to 22 (both exact doubles) give the correctly rounded value
	 * with one multiply or divide, the same as strtod, at a fraction of the cost */
	static const double pow10[] = { 1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
					1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22 };
	uint64_t mant = 0;
	int exp10 = 0, sig = 0, neg = *s == '-';
	const char *c = s + (*s == '+' || *s == '-');
	for (; c < q && (is_digit((unsigned char)*c) || *c == '.'); c++) {
		if (*c == '.') {
			exp10 = 0; /* counts fraction digits from here */
			sig |= 0x100;
			continue;
		}
		if (mant || *c != '0')
			sig++;
		mant = mant * 10 + (uint64_t)(*c - '0');
		if (sig & 0x100)
			exp10--;
		if ((sig & 0xff) > 15)
			goto slow;
	}
	if (c < q) { /* exponent */
		c++;
		int eneg = *c == '-', ex = 0;
		c += (*c == '+' || *c == '-');
		for (; c < q; c++) {
			ex = ex * 10 + (*c - '0');
			if (ex > 400)
				goto slow;
		}
		exp10 += eneg ? -ex : ex;
	}
	if (exp10 >= -22 && exp10 <= 22) {
		double d = (double)mant;
		d = exp10 < 0 ? d / pow10[-exp10] : d * pow10[exp10];
		*v = neg ? -d : d;
		return q;
	}
slow:;
	char buf[64];
	if ((size_t)(q - s) >= sizeof buf)
		return NULL;
	memcpy(buf, s, (size_t)(q - s));
	buf[q - s] = '\0';
	*v = strtod(buf, NULL);
	return q;
}

/* Adds a metric unless the name is empty/too long, the value not finite, or
 * the record full. fold lower-cases the name. */
/* t0..t1: the number's text as scanned (NULL if v was computed) */
static void add_metric(struct ap_result *out, const char *name, size_t n, double v, int fold, const char *t0,
		       const char *t1)
{
	if (n == 0 || n >= AP_NAME_MAX || !isfinite(v) || out->n >= AP_MAX_METRICS)
		return;
	struct ap_metric *m = &out->m[out->n++];
	for (size_t i = 0; i < n; i++)
		m->name[i] = fold ? (char)lower((unsigned char)name[i]) : name[i];
	m->name[n] = '\0';
	m->value = v;
	m->text[0] = '\0';
	if (t0 && t1 > t0 && (size_t)(t1 - t0) < sizeof m->text) {
		memcpy(m->text, t0, (size_t)(t1 - t0));
		m->text[t1 - t0] = '\0';
	}
}

static int name_is(const char *p, size_t n, const char *lit)
{
	return strlen(lit) == n && starts_with_ci(p, p + n, lit);
}

/* epoch/step names fill the record's counters instead of becoming metrics */
static int take_counter(struct ap_result *out, const char *name, size_t n, double v)
{
	if (name_is(name, n, "epoch")) {
		if (v >= 0 && v < 1e9 && v == floor(v))
			out->epoch = (int)v;
		return 1;
	}
	if (name_is(name, n, "step") || name_is(name, n, "iter") || name_is(name, n, "iteration") ||
	    name_is(name, n, "global_step")) {
		if (v >= 0 && v < 1e18 && v == floor(v))
			out->iteration = (int64_t)v;
		return 1;
	}
	return 0;
}

/* --- name=value (Katib StdOut) -------------------------------------------- */

static int pair_sep(int c) { return is_space(c) || c == ',' || c == ';' || c == '|'; }

/* OMP_NUM_THREADS=1, CUDA_VISIBLE_DEVICES=0: environment dumps, not metrics */
static int env_name(const char *p, const char *e)
{
	int under = 0;
	for (; p < e; p++) {
		if (*p >= 'a' && *p <= 'z')
			return 0;
		under |= *p == '_';
	}
	return under;
}

static void parse_pairs(const char *s, const char *e, struct ap_result *out)
{
	for (const char *p = s; p < e; p++) {
		if (*p != '=')
			continue;
		const char *n = p;
		while (n > s && is_name_char((unsigned char)n[-1]))
			n--;
		if (n == p || !is_name_start((unsigned char)*n) || (n > s && !pair_sep((unsigned char)n[-1])))
			continue;
		double v;
		const char *q = scan_number(p + 1, e, &v);
		if (!q || (q < e && !pair_sep((unsigned char)*q)))
			continue;
		if (env_name(n, p))
			continue;
		if (!take_counter(out, n, (size_t)(p - n), v))
			add_metric(out, n, (size_t)(p - n), v, 0, p + 1, q);
		p = q - 1;
	}
}

/* `epoch 3/20 ...`, `Epoch 3/10`, `Epoch: 3` at the start of a line */
static void leading_epoch(const char *p, const char *e, struct ap_result *out)
{
	if (!starts_with_ci(p, e, "epoch"))
		return;
	p += 5;
	if (p < e && *p == ':')
		p++;
	const char *q = skip_spaces(p, e);
	int64_t v;
	if (q == p || !(q = scan_int(q, e, &v)) || (q < e && !is_space((unsigned char)*q) && *q != '/' && *q != ','))
		return;
	if (v < 1000000000)
		out->epoch = (int)v;
}

/* --- Caffe glog --------------------------------------------------------- */

/* `I0412 10:15:02.123456  1234 solver.cpp:218] `: returns the body or NULL */
static const char *glog_body(const char *p, const char *e)
{
	if (e - p < 8 || !*p || !strchr("IWEF", *p) || !is_digit((unsigned char)p[1]) || !is_digit((unsigned char)p[4]))
		return NULL;
	for (const char *q = p + 5; q + 1 < e && q - p < 128; q++)
		if (q[0] == ']' && q[1] == ' ')
			return q + 2;
	return NULL;
}

/* `name = value` pairs outside parentheses, as Caffe prints them */
static void caffe_pairs(const char *s, const char *e, struct ap_result *out)
{
	int depth = 0;
	for (const char *p = s; p + 2 < e; p++) {
		if (*p == '(')
			depth++;
		else if (*p == ')' && depth > 0)
			depth--;
		if (depth || p[0] != ' ' || p[1] != '=' || p[2] != ' ')
			continue;
		const char *n = p;
		while (n > s && is_name_char((unsigned char)n[-1]))
			n--;
		if (n == p || !is_name_start((unsigned char)*n) || (n > s && !is_space((unsigned char)n[-1])))
			continue;
		double v;
		const char *q = scan_number(p + 3, e, &v);
		if (!q || (q < e && !is_space((unsigned char)*q) && *q != ','))
			continue;
		add_metric(out, n, (size_t)(p - n), v, 0, p + 3, q);
		p = q - 1;
	}
}

/* Caffe's solver lines; returns 1 if the body was one (even with 0 metrics) */
static int parse_caffe(const char *p, const char *e, struct ap_result *out)
{
	p = skip_spaces(p, e);
	int64_t it;
	if (starts_with(p, e, "Iteration ")) {
		const char *q = scan_int(p + 10, e, &it);
		if (!q)
			return 0;
		out->iteration = it;
		caffe_pairs(q, e, out);
		return 1;
	}
	int test = starts_with(p, e, "Test net output #");
	if (!test && !starts_with(p, e, "Train net output #"))
		return 0;
	if (test)
		strcpy(out->group, "test");
	p += 17 + !test;
	if (!(p = scan_int(p, e, &it)) || p >= e || *p != ':')
		return 1;
	caffe_pairs(p + 1, e, out);
	return 1;
}

/* --- Keras -------------------------------------------------------------- */

static const char *find_lit(const char *p, const char *e, const char *lit)
{
	size_t n = strlen(lit);
	while ((size_t)(e - p) >= n) {
		const char *c = memchr(p, lit[0], (size_t)(e - p) - n + 1);
		if (!c)
			return NULL;
		if (memcmp(c, lit, n) == 0)
			return c;
		p = c + 1;
	}
	return NULL;
}

/* `1875/1875 [====] - 5s 3ms/step - loss: 0.1 - accuracy: 0.9`: segments
 * split on " - ", each `name: value` one metric. Returns 1 if Keras. */
static int parse_keras(const char *s, const char *e, struct ap_result *out)
{
	const char *p = skip_spaces(s, e);
	int64_t step, total;
	const char *q = scan_int(p, e, &step);
	int progress = q && q < e && *q == '/' && (q = scan_int(q + 1, e, &total)) && (q == e || is_space((unsigned char)*q));
	if (!progress && !starts_with(p, e, "- ") && !find_lit(p, e, "/step") && !find_lit(p, e, "/sample"))
		return 0;
	if (progress) {
		out->iteration = step;
		out->total = total;
	}
	const char *seg = p;
	while (seg < e) {
		const char *end = find_lit(seg, e, " - ");
		if (!end)
			end = e;
		const char *a = skip_spaces(seg, end);
		if (a < end && *a == '-')
			a = skip_spaces(a + 1, end);
		const char *n = a;
		while (a < end && is_name_char((unsigned char)*a))
			a++;
		double v;
		if (a > n && is_name_start((unsigned char)*n) && a + 1 < end && *a == ':' && a[1] == ' ') {
			const char *v0 = skip_spaces(a + 1, end);
			const char *vq = scan_number(v0, end, &v);
			if (vq && skip_spaces(vq, end) == end)
				add_metric(out, n, (size_t)(a - n), v, 0, v0, vq);
		}
		seg = end == e ? e : end + 1;
	}
	return 1;
}

/* --- PyTorch / Horovod examples ----------------------------------------- */

/* `Word: number` or `Word: a/b` (a fraction) pairs, names lower-cased */
static void colon_pairs(const char *s, const char *e, struct ap_result *out)
{
	for (const char *p = s; p < e; p++) {
		if (*p != ':')
			continue;
		const char *n = p;
		while (n > s && (is_alpha((unsigned char)n[-1]) || is_digit((unsigned char)n[-1]) || n[-1] == '_'))
			n--;
		if (n == p || !is_name_start((unsigned char)*n) || (n > s && !pair_sep((unsigned char)n[-1])))
			continue;
		double v, d;
		const char *v0 = skip_spaces(p + 1, e);
		const char *q = scan_number(v0, e, &v), *v1 = q;
		if (!q)
			continue;
		if (q < e && *q == '/') {
			const char *r = scan_number(q + 1, e, &d);
			if (!r || d == 0)
				continue;
			v /= d;
			q = r;
			v0 = NULL; /* a computed ratio: no text */
		}
		if (q < e && !pair_sep((unsigned char)*q) && *q != '(')
			continue;
		add_metric(out, n, (size_t)(p - n), v, 1, v0, v1);
		p = q - 1;
	}
}

static int parse_pytorch(const char *p, const char *e, struct ap_result *out)
{
	int64_t a, b;
	const char *q;
	if (starts_with(p, e, "Train Epoch: ")) {
		if (!(q = scan_int(p + 13, e, &a)))
			return 0;
		if (a < 1000000000)
			out->epoch = (int)a;
		if ((q = memchr(q, ']', (size_t)(e - q))) != NULL)
			colon_pairs(q + 1, e, out);
		return 1;
	}
	if (starts_with(p, e, "Test set: ")) {
		strcpy(out->group, "test");
		colon_pairs(p + 10, e, out);
		return 1;
	}
	/* `[1,  2000] loss: 2.187` */
	if (p < e && *p == '[' && (q = scan_int(p + 1, e, &a)) && q < e && *q == ',' &&
	    (q = scan_int(skip_spaces(q + 1, e), e, &b)) && q < e && *q == ']') {
		if (a < 1000000000)
			out->epoch = (int)a;
		out->iteration = b;
		colon_pairs(q + 1, e, out);
		return 1;
	}
	return 0;
}

/* Moves counter-named metrics (step, global_step, iteration, epoch) into
 * the record's iteration/epoch. */
static void take_counters(struct ap_result *out)
{
	int k = 0;
	for (int i = 0; i < out->n; i++) {
		if (take_counter(out, out->m[i].name, strlen(out->m[i].name), out->m[i].value))
			continue;
		if (k != i)
			out->m[k] = out->m[i];
		k++;
	}
	out->n = k;
}

/* `Name value` or `Name value (average)`: one metric, the current value */
static void meter_entry(const char *p, const char *e, struct ap_result *out)
{
	p = skip_spaces(p, e);
	const char *n = p;
	while (p < e && !is_space((unsigned char)*p))
		p++;
	if (p == n || !is_name_start((unsigned char)*n))
		return;
	for (const char *c = n; c < p; c++)
		if (!is_name_char((unsigned char)*c))
			return;
	double v;
	const char *v0 = skip_spaces(p, e);
	const char *q = scan_number(v0, e, &v);
	if (!q || (q < e && !is_space((unsigned char)*q)))
		return;
	add_metric(out, n, (size_t)(p - n), v, 1, v0, q);
}

/* PyTorch's ImageNet example (its ProgressMeter): `Epoch: [3][  10/5005]`
 * or `Test: [ 10/196]`, then tab-separated `Time  0.355 ( 0.420)`, `Loss
 * 6.9088e+00 (6.9137e+00)`, `Acc@1   0.00 (  0.11)`; and its summary line
 * `* Acc@1 76.130 Acc@5 92.862`. Names are lower-cased; a value is the
 * current one, not the running average in parentheses. */
static int parse_meter(const char *p, const char *e, struct ap_result *out)
{
	int64_t a, b, c;
	const char *q;
	if (starts_with(p, e, "* ") && find_lit(p, e, "Acc@")) {
		strcpy(out->group, "test");
		p += 2;
		while (p < e) { /* space-separated `Name value` pairs */
			const char *n = skip_spaces(p, e), *x = n;
			while (x < e && !is_space((unsigned char)*x))
				x++;
			const char *v = skip_spaces(x, e), *y = v;
			while (y < e && !is_space((unsigned char)*y))
				y++;
			if (n == e)
				break;
			meter_entry(n, y, out);
			p = y;
		}
		return 1;
	}
	if (starts_with(p, e, "Epoch: [")) {
		if (!(q = scan_int(skip_spaces(p + 8, e), e, &a)) || e - q < 2 || q[0] != ']' || q[1] != '[')
			return 0;
		p = q + 2;
		if (a >= 0 && a < 1000000000)
			out->epoch = (int)a;
	} else if (starts_with(p, e, "Test: [")) {
		p += 7;
		strcpy(out->group, "test");
	} else {
		return 0;
	}
	if (!(q = scan_int(skip_spaces(p, e), e, &b)) || q >= e || *q != '/' || !(q = scan_int(q + 1, e, &c)) ||
	    q >= e || *q != ']')
		return 0;
	/* the example counts epochs from 0: batch b of c in epoch E is step E*c + b */
	out->iteration = out->epoch >= 0 && strcmp(out->group, "test") ? (int64_t)out->epoch * c + b : b;
	for (p = q + 1; p < e;) {
		const char *t = memchr(p, '\t', (size_t)(e - p));
		const char *end = t ? t : e;
		meter_entry(p, end, out);
		p = t ? t + 1 : e;
	}
	return 1;
}

/* TensorFlow's Estimator and absl logging: `INFO:tensorflow:loss = 0.52,
 * step = 100 (0.5 sec)`, `INFO:tensorflow:global_step/sec: 12.3`, `Saving
 * dict for global step 1000: accuracy = 0.91, ...` (group test); and the
 * common `Step 100: loss = 0.5` (or `step 100, loss: 0.5`). */
static int parse_tf(const char *p, const char *e, struct ap_result *out)
{
	int tf = 0;
	int64_t st;
	const char *q;
	if (starts_with(p, e, "INFO:tensorflow:")) {
		p += 16;
		tf = 1;
	}
	if (starts_with_ci(p, e, "step ") && (q = scan_int(skip_spaces(p + 5, e), e, &st)) && q < e &&
	    (*q == ':' || *q == ',')) {
		out->iteration = st;
		caffe_pairs(q + 1, e, out);
		if (out->n == 0)
			colon_pairs(q + 1, e, out);
		if (out->n == 0)
			parse_pairs(q + 1, e, out);
		take_counters(out);
		return 1;
	}
	if (!tf)
		return 0;
	if (starts_with(p, e, "Saving dict for global step ")) {
		if ((q = scan_int(p + 28, e, &st)) && q < e && *q == ':') {
			out->iteration = st;
			strcpy(out->group, "test");
			caffe_pairs(q + 1, e, out);
			take_counters(out);
		}
		return 1;
	}
	if (starts_with(p, e, "global_step/sec: ")) {
		double v;
		const char *v0 = p + 17;
		if ((q = scan_number(v0, e, &v)) && skip_spaces(q, e) == e)
			add_metric(out, p, 15, v, 0, v0, q);
		return 1;
	}
	caffe_pairs(p, e, out);
	take_counters(out);
	return 1;
}

/* --- line preparation --------------------------------------------------- */

static int blank(const char *p, const char *e) { return skip_spaces(p, e) == e; }

int ap_parse_line(const char *line, size_t len, struct ap_result *out)
{
	strcpy(out->group, "train");
	out->iteration = -1;
	out->epoch = -1;
	out->total = -1;
	out->n = 0;
	if (!line)
		return 0;
	const char *e = line + len, *s = NULL, *seg = line, *se = NULL;
	int esc = 0;
	/* the last non-blank part after a \r or \b redraw; refuse binary */
	for (const char *p = line; p < e; p++) {
		unsigned char c = (unsigned char)*p;
		if (c == '\r' || c == '\b') {
			if (!blank(seg, p))
				s = seg, se = p;
			seg = p + 1;
		} else if (c == 0x1b) {
			esc = 1;
		} else if ((c < 0x20 && c != '\t' && c != '\n') || c == 0x7f) {
			return 0;
		}
	}
	if (!blank(seg, e))
		s = seg, se = e;
	if (!s)
		return 0;
	e = se;
	/* ANSI colour escapes: strip into a bounded stack copy */
	char clean[1024];
	if (esc) {
		size_t n = 0;
		for (const char *p = s; p < e; p++) {
			if (*p == 0x1b) {
				if (p + 1 < e && p[1] == '[') {
					p += 2;
					while (p < e && !(*p >= 0x40 && *p <= 0x7e))
						p++;
				} else {
					p++;
				}
				continue;
			}
			if (n == sizeof clean)
				return 0;
			clean[n++] = *p;
		}
		s = clean;
		e = clean + n;
	}
	s = skip_spaces(s, e);
	/* mpirun --tag-output: `[1,0]<stdout>:` */
	const char *q;
	int64_t a, b;
	if (s < e && *s == '[' && (q = scan_int(s + 1, e, &a)) && q < e && *q == ',' && (q = scan_int(q + 1, e, &b)) &&
	    q < e && *q == ']' && starts_with(q + 1, e, "<std")) {
		const char *c = memchr(q, ':', (size_t)(e - q));
		if (c)
			s = skip_spaces(c + 1, e);
	}
	const char *body = glog_body(s, e);
	if (body) {
		if (parse_caffe(body, e, out))
			return out->n;
		s = skip_spaces(body, e);
	} else if (starts_with(s, e, "Iteration ") && parse_caffe(s, e, out)) {
		return out->n;
	}
	if (parse_meter(s, e, out) || parse_tf(s, e, out) || parse_pytorch(s, e, out))
		return out->n;
	if (parse_keras(s, e, out))
		return out->n;
	leading_epoch(s, e, out);
	parse_pairs(s, e, out);
	return out->n;
}

/* tfevents.c - event-file reading benchmark for `make bench` (run by
 * bench/tfevents.sh): writes an event file of N scalar events, half as
 * TF 2.x's tf.summary.scalar writes them (a float32 tensor_content with the
 * "scalars" plugin's metadata), half as torch.utils.tensorboard's add_scalar
 * (simple_value), then times tfe_parse over the file's bytes (records/s,
 * best of --runs) and, as a floor, the CRC-checked framing pass alone.
 * Prints key=value lines for the script. Links libweft.a (protobuf-c). */
#include "tds/tfevents.h"
#include "tfevent.pb-c.h"
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "bench/tfevents: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(1);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void put_le(unsigned char *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

/* Appends one framed Event to f. */
static void write_event(FILE *f, const Weft__Tb__Event *ev)
{
	static unsigned char buf[4096];
	size_t n = weft__tb__event__get_packed_size(ev);
	if (n + 16 > sizeof buf)
		die("event too large");
	weft__tb__event__pack(ev, buf + 12);
	put_le(buf, n, 8);
	put_le(buf + 8, tfe_masked_crc(tfe_crc32c(buf, 8)), 4);
	put_le(buf + 12 + n, tfe_masked_crc(tfe_crc32c(buf + 12, n)), 4);
	if (fwrite(buf, 1, n + 16, f) != n + 16)
		die("write: %s", strerror(errno));
}

static void write_file(const char *path, long n)
{
	FILE *f = fopen(path, "wb");
	if (!f)
		die("cannot create %s: %s", path, strerror(errno));
	Weft__Tb__Event ev = WEFT__TB__EVENT__INIT;
	ev.wall_time = 1795867200.0;
	ev.what_case = WEFT__TB__EVENT__WHAT_FILE_VERSION;
	ev.file_version = "brain.Event:2";
	write_event(f, &ev);

	Weft__Tb__Summary sum = WEFT__TB__SUMMARY__INIT;
	Weft__Tb__Summary__Value val = WEFT__TB__SUMMARY__VALUE__INIT, *vals[1] = { &val };
	Weft__Tb__TensorProto t = WEFT__TB__TENSOR_PROTO__INIT;
	Weft__Tb__TensorShapeProto shape = WEFT__TB__TENSOR_SHAPE_PROTO__INIT;
	Weft__Tb__SummaryMetadata md = WEFT__TB__SUMMARY_METADATA__INIT;
	Weft__Tb__SummaryMetadata__PluginData pd = WEFT__TB__SUMMARY_METADATA__PLUGIN_DATA__INIT;
	pd.plugin_name = "scalars";
	md.plugin_data = &pd;
	t.dtype = 1; /* DT_FLOAT */
	t.tensor_shape = &shape;
	unsigned char content[4];
	t.tensor_content.data = content;
	t.tensor_content.len = 4;
	sum.n_value = 1;
	sum.value = vals;
	ev.what_case = WEFT__TB__EVENT__WHAT_SUMMARY;
	ev.summary = &sum;
	for (long i = 0; i < n; i++) {
		float loss = (float)(2.5 * exp(-(double)i / (double)n * 4.0) + 0.01 * (double)(i % 17));
		ev.step = i / 2 + 1;
		ev.wall_time = 1795867200.0 + (double)i * 0.0123457;
		if (i % 2 == 0) { /* TF 2.x */
			uint32_t bits;
			memcpy(&bits, &loss, 4);
			put_le(content, bits, 4);
			val.tag = "epoch_loss";
			val.value_case = WEFT__TB__SUMMARY__VALUE__VALUE_TENSOR;
			val.tensor = &t;
			val.metadata = &md;
		} else { /* torch add_scalar */
			val.tag = "Loss/train";
			val.value_case = WEFT__TB__SUMMARY__VALUE__VALUE_SIMPLE_VALUE;
			val.simple_value = loss;
			val.metadata = NULL;
		}
		write_event(f, &ev);
	}
	if (fclose(f) != 0)
		die("write %s: %s", path, strerror(errno));
}

static unsigned char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		die("cannot open %s: %s", path, strerror(errno));
	fseek(f, 0, SEEK_END);
	long sz = ftell(f);
	fseek(f, 0, SEEK_SET);
	unsigned char *buf = malloc(sz > 0 ? (size_t)sz : 1);
	if (!buf || fread(buf, 1, (size_t)sz, f) != (size_t)sz)
		die("cannot read %s", path);
	fclose(f);
	*len = (size_t)sz;
	return buf;
}

struct sink {
	long records;
	size_t bytes; /* of value text: makes sure every text was produced */
};

static int consume(void *ctx, const struct em_rec *r)
{
	struct sink *s = ctx;
	s->records++;
	for (int i = 0; i < r->n_values; i++)
		s->bytes += strlen(r->values[i].value);
	for (int i = 0; i < r->n_etimes; i++)
		s->bytes += strlen(r->etimes[i].value);
	return 0;
}

/* The framing pass alone: lengths, both CRCs, no decoding. */
static long frame_only(const unsigned char *buf, size_t len)
{
	long n = 0;
	size_t off = 0;
	while (len - off >= 16) {
		uint64_t rl = 0;
		for (int i = 0; i < 8; i++)
			rl |= (uint64_t)buf[off + i] << (8 * i);
		uint32_t lc = (uint32_t)buf[off + 8] | (uint32_t)buf[off + 9] << 8 | (uint32_t)buf[off + 10] << 16 |
			      (uint32_t)buf[off + 11] << 24;
		if (tfe_masked_crc(tfe_crc32c(buf + off, 8)) != lc || rl > len - off - 16)
			die("framing pass: bad record at %zu", off);
		const unsigned char *d = buf + off + 12;
		uint32_t dc = (uint32_t)d[rl] | (uint32_t)d[rl + 1] << 8 | (uint32_t)d[rl + 2] << 16 |
			      (uint32_t)d[rl + 3] << 24;
		if (tfe_masked_crc(tfe_crc32c(d, (size_t)rl)) != dc)
			die("framing pass: bad data CRC at %zu", off);
		n++;
		off += 16 + (size_t)rl;
	}
	return n;
}

int main(int argc, char **argv)
{
	const char *path = NULL;
	long n = 1000000;
	int runs = 3;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-n") == 0 && i + 1 < argc)
			n = strtol(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc)
			runs = atoi(argv[++i]);
		else if (argv[i][0] != '-' && !path)
			path = argv[i];
		else
			die("usage: tfevents FILE [-n EVENTS] [--runs N]");
	}
	if (!path || n < 1 || runs < 1)
		die("usage: tfevents FILE [-n EVENTS] [--runs N]");

	double t0 = now_s();
	write_file(path, n);
	double write_s = now_s() - t0;
	size_t len;
	unsigned char *buf = slurp(path, &len);

	double best = 1e30, best_frame = 1e30;
	struct sink s = { 0, 0 };
	struct tfe_stats st = { 0 };
	for (int r = 0; r < runs; r++) {
		s = (struct sink){ 0, 0 };
		st = (struct tfe_stats){ 0 };
		struct weft_err e = { 0 };
		size_t used = 0;
		t0 = now_s();
		int rc = tfe_parse(buf, len, "train", &used, consume, &s, &st, &e);
		double dt = now_s() - t0;
		if (rc != 0 || used != len)
			die("tfe_parse: rc %d, consumed %zu of %zu: %s", rc, used, len, e.msg);
		if (s.records != n || st.scalars != n || st.corrupt != 0 || st.skipped != 1)
			die("tfe_parse: %ld records, %lld scalars, %lld corrupt, %lld skipped (wanted %ld, %ld, 0, 1)",
			    s.records, (long long)st.scalars, (long long)st.corrupt, (long long)st.skipped, n, n);
		if (dt < best)
			best = dt;
		t0 = now_s();
		long fr = frame_only(buf, len);
		dt = now_s() - t0;
		if (fr != n + 1)
			die("framing pass: %ld records", fr);
		if (dt < best_frame)
			best_frame = dt;
	}
	printf("file=%s\nbytes=%zu\nrecords=%ld\nscalar_events=%ld\nwrite_s=%.3f\n", path, len, n + 1, n, write_s);
	printf("parse_s=%.4f\nparse_rps=%.0f\nparse_mbps=%.1f\n", best, (double)(n + 1) / best, (double)len / best / 1e6);
	printf("frame_s=%.4f\nframe_rps=%.0f\n", best_frame, (double)(n + 1) / best_frame);
	printf("text_bytes=%zu\n", s.bytes);
	free(buf);
	return 0;
}

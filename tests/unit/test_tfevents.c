/* test_tfevents.c - the TensorBoard event-file reader on files written by an
 * independent writer (tests/tools/tfevents.py, whose output for TF 2.x's
 * tf.summary.scalar was checked byte for byte against a file TensorFlow
 * wrote): simple_value and tensor scalars of every numeric dtype, non-scalar
 * events, truncation at every byte, corrupt data and framing, garbage, the
 * emit callback's errors, and tfe_find over runs in subdirectories. Each
 * record is rendered as one line of text so expectations read plainly. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "tds/tfevents.h"
#include "util/fs.h"
#include "util/mem.h"
#include "util/sbuf.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <stdbool.h>
#include <unistd.h>

#define TOOL "tests/tools/tfevents.py"

static char tmpdir[] = "/tmp/weft-test-tfevents.XXXXXX";

/* --- helpers --------------------------------------------------------------- */

/* Writes SPEC (JSON lines) with the Python writer into tmpdir/name; returns
 * the file's bytes in an exactly-sized heap buffer (so ASan sees over-reads). */
static unsigned char *make_file(const char *name, const char *spec, size_t *len)
{
	char *specpath = xasprintf("%s/%s.spec", tmpdir, name), *path = xasprintf("%s/%s", tmpdir, name);
	struct weft_err e = { 0 };
	assert_int_equal(fs_write_file_atomic(specpath, spec, strlen(spec), 0644, &e), 0);
	char *cmd = xasprintf("python3 " TOOL " write '%s' '%s'", path, specpath);
	assert_int_equal(system(cmd), 0);
	struct sbuf sb = SBUF_INIT;
	assert_int_equal(fs_read_file(path, &sb, &e), 0);
	unsigned char *buf = xmalloc(sb.len ? sb.len : 1);
	memcpy(buf, sb.buf, sb.len);
	*len = sb.len;
	sb_release(&sb);
	free(cmd);
	free(specpath);
	free(path);
	return buf;
}

struct got {
	struct sbuf text; /* one line per record */
	int n;
	int fail_at; /* emit returns WEFT_EIO on this record (1-based); 0 never */
};

/* record.h: a number strtod accepts, and num (when given) is what it reads */
static void check_num(const struct em_kv *kv)
{
	if (kv->type == EM_STRING) {
		assert_false(kv->has_num);
		return;
	}
	char *end;
	double v = strtod(kv->value, &end);
	assert_true(end != kv->value && *end == '\0');
	if (kv->has_num && !(isnan(v) && isnan(kv->num)) && !(v == kv->num && signbit(v) == signbit(kv->num)))
		fail_msg("%s: text %s reads as %.17g, num is %.17g", kv->key, kv->value, v, kv->num);
}

/* Renders a record: "group|time_ms|iteration=..,timestamp=..|tag=v;tag=v" */
static int collect(void *ctx, const struct em_rec *r)
{
	struct got *g = ctx;
	if (g->fail_at && g->n + 1 == g->fail_at)
		return WEFT_EIO;
	g->n++;
	assert_non_null(r->group);
	assert_null(r->subid);
	assert_true(r->n_etimes >= 1 && r->n_etimes <= EM_MAX_ETIMES);
	assert_true(r->n_values >= 1 && r->n_values <= EM_MAX_VALUES);
	sb_addf(&g->text, "%s|%lld|", r->group, (long long)r->time_ms);
	for (int i = 0; i < r->n_etimes; i++) {
		assert_true(r->etimes[i].key[0]);
		check_num(&r->etimes[i]);
		sb_addf(&g->text, "%s%s=%s", i ? "," : "", r->etimes[i].key, r->etimes[i].value);
	}
	assert_int_equal(r->etimes[0].type, EM_INT);
	sb_adds(&g->text, "|");
	for (int i = 0; i < r->n_values; i++) {
		assert_true(r->values[i].key[0]);
		assert_int_equal(r->values[i].type, EM_FLOAT);
		assert_true(r->values[i].has_num);
		check_num(&r->values[i]);
		sb_addf(&g->text, "%s%s=%s", i ? ";" : "", r->values[i].key, r->values[i].value);
	}
	sb_adds(&g->text, "\n");
	return 0;
}

static int parse(const unsigned char *buf, size_t len, struct got *g, struct tfe_stats *st, size_t *used,
		 struct weft_err *e)
{
	return tfe_parse(buf, len, "train", used, collect, g, st, e);
}

/* Parses a whole file that must parse cleanly; returns the rendered text. */
static char *parse_all(const unsigned char *buf, size_t len, struct tfe_stats *st)
{
	struct got g = { SBUF_INIT, 0, 0 };
	struct weft_err e = { 0 };
	size_t used = 12345;
	memset(st, 0, sizeof *st);
	assert_int_equal(parse(buf, len, &g, st, &used, &e), 0);
	assert_int_equal(used, len);
	return sb_detach(&g.text);
}

#define STATS(st, ev, sc, co, sk)                                                                           \
	do {                                                                                                 \
		assert_int_equal((st).events, ev);                                                           \
		assert_int_equal((st).scalars, sc);                                                          \
		assert_int_equal((st).corrupt, co);                                                          \
		assert_int_equal((st).skipped, sk);                                                          \
	} while (0)

/* --- CRC ------------------------------------------------------------------ */

static void crc_vectors(void **state)
{
	(void)state;
	unsigned char b[32];
	assert_int_equal(tfe_crc32c("123456789", 9), 0xe3069283u);
	assert_int_equal(tfe_crc32c("", 0), 0);
	/* RFC 3720 (iSCSI) appendix B.4 */
	memset(b, 0, 32);
	assert_int_equal(tfe_crc32c(b, 32), 0x8a9136aau);
	memset(b, 0xff, 32);
	assert_int_equal(tfe_crc32c(b, 32), 0x62a8ab43u);
	for (int i = 0; i < 32; i++)
		b[i] = (unsigned char)i;
	assert_int_equal(tfe_crc32c(b, 32), 0x46dd794eu);
	for (int i = 0; i < 32; i++)
		b[i] = (unsigned char)(31 - i);
	assert_int_equal(tfe_crc32c(b, 32), 0x113fdb5cu);
	/* masked CRC of the length field of a 24-byte record, as TensorFlow wrote it */
	unsigned char len24[8] = { 24 };
	assert_int_equal(tfe_masked_crc(tfe_crc32c(len24, 8)), 0x224b7fa3u);
}

static void crc_hw_matches_tables(void **state)
{
	(void)state;
	unsigned char *buf = xmalloc(1100);
	uint32_t x = 12345;
	for (int i = 0; i < 1100; i++) {
		x = x * 1103515245u + 12345u;
		buf[i] = (unsigned char)(x >> 16);
	}
	for (size_t off = 0; off < 9; off++)
		for (size_t n = 0; n + off <= 1100; n += (n < 40 ? 1 : 37))
			assert_int_equal(tfe_crc32c(buf + off, n), tfe_crc32c_sw(buf + off, n));
	free(buf);
}

/* --- scalars ---------------------------------------------------------------- */

static void simple_values(void **state)
{
	(void)state;
	size_t len;
	unsigned char *buf = make_file("simple", "{\"wall_time\": 1795867200.123, \"file_version\": \"brain.Event:2\"}\n"
						  "{\"wall_time\": 1795867200.123, \"step\": 1, \"values\": [{\"tag\": "
						  "\"loss\", \"simple_value\": 0.25}]}\n"
						  "{\"wall_time\": 1709251199.9994, \"step\": 2, \"values\": [{\"tag\": "
						  "\"loss\", \"simple_value\": 0.1}, {\"tag\": \"train/accuracy\", "
						  "\"simple_value\": 0.96875}, {\"tag\": \"lr\", \"simple_value\": 1e-05}]}\n",
				       &len);
	struct tfe_stats st;
	char *text = parse_all(buf, len, &st);
	assert_string_equal(text, "train|1795867200123|iteration=1,timestamp=2026-11-28T12:00:00.123Z,"
				  "wall_time=1795867200.123|loss=0.25\n"
				  "train|1709251199999|iteration=2,timestamp=2024-02-29T23:59:59.999Z,"
				  "wall_time=1709251199.9994|loss=0.1;train/accuracy=0.96875;lr=1e-05\n");
	STATS(st, 3, 4, 0, 1);
	free(text);
	free(buf);
}

static void tensor_values(void **state)
{
	(void)state;
	size_t len;
	/* TF 2.x: float32 tensor_content, plugin scalars on every value; torch
	 * new_style: float_val; and every other numeric dtype, both encodings */
	unsigned char *buf = make_file(
		"tensor",
		"{\"wall_time\": 1.5, \"step\": 10, \"values\": ["
		"{\"tag\": \"tf2\", \"plugin\": \"scalars\", \"tensor\": {\"dtype\": \"float\", \"value\": 0.5, \"content\": true}},"
		"{\"tag\": \"fval\", \"plugin\": \"scalars\", \"tensor\": {\"dtype\": \"float\", \"value\": 0.1}},"
		"{\"tag\": \"unpacked\", \"tensor\": {\"dtype\": \"float\", \"value\": 2.5, \"packed\": false}},"
		"{\"tag\": \"dc\", \"tensor\": {\"dtype\": \"double\", \"value\": 0.1, \"content\": true}},"
		"{\"tag\": \"dv\", \"tensor\": {\"dtype\": \"double\", \"value\": 1e300}},"
		"{\"tag\": \"hc\", \"tensor\": {\"dtype\": \"half\", \"value\": 1.5, \"content\": true}},"
		"{\"tag\": \"hv\", \"tensor\": {\"dtype\": \"half\", \"value\": -0.25}},"
		"{\"tag\": \"bf\", \"tensor\": {\"dtype\": \"bfloat16\", \"value\": 3.0}},"
		"{\"tag\": \"bfc\", \"tensor\": {\"dtype\": \"bfloat16\", \"value\": -2.0, \"content\": true}},"
		"{\"tag\": \"i32\", \"tensor\": {\"dtype\": \"int32\", \"value\": -7}},"
		"{\"tag\": \"i64\", \"tensor\": {\"dtype\": \"int64\", \"value\": -9000000000, \"content\": true}},"
		"{\"tag\": \"i64v\", \"tensor\": {\"dtype\": \"int64\", \"value\": 9000000000}},"
		"{\"tag\": \"u8\", \"tensor\": {\"dtype\": \"uint8\", \"value\": 200}},"
		"{\"tag\": \"i8c\", \"tensor\": {\"dtype\": \"int8\", \"value\": -3, \"content\": true}},"
		"{\"tag\": \"i16\", \"tensor\": {\"dtype\": \"int16\", \"value\": -300}},"
		"{\"tag\": \"u16c\", \"tensor\": {\"dtype\": \"uint16\", \"value\": 65535, \"content\": true}},"
		"{\"tag\": \"u32\", \"tensor\": {\"dtype\": \"uint32\", \"value\": 4000000000}},"
		"{\"tag\": \"u64\", \"tensor\": {\"dtype\": \"uint64\", \"value\": 18446744073709551615}},"
		"{\"tag\": \"shape1\", \"tensor\": {\"dtype\": \"float\", \"values\": [4.0], \"shape\": [1, 1]}}"
		"]}\n",
		&len);
	struct tfe_stats st;
	char *text = parse_all(buf, len, &st);
	assert_string_equal(text, "train|1500|iteration=10,timestamp=1970-01-01T00:00:01.500Z,wall_time=1.5|"
				  "tf2=0.5;fval=0.1;unpacked=2.5;dc=0.1;dv=1e+300;hc=1.5;hv=-0.25;bf=3;bfc=-2;"
				  "i32=-7;i64=-9000000000;i64v=9000000000;u8=200;i8c=-3;i16=-300;u16c=65535;"
				  "u32=4000000000;u64=18446744073709551615;shape1=4\n");
	STATS(st, 1, 19, 0, 0);
	free(text);
	free(buf);
}

static void not_scalars(void **state)
{
	(void)state;
	size_t len;
	unsigned char *buf = make_file(
		"other",
		"{\"wall_time\": 2, \"file_version\": \"brain.Event:2\"}\n"
		"{\"wall_time\": 2, \"graph_def\": \"node { name: 'x' }\"}\n"
		"{\"wall_time\": 2, \"step\": 1, \"values\": [{\"tag\": \"w\", \"histogram\": [1, 2, 3]}]}\n"
		"{\"wall_time\": 2, \"step\": 1, \"values\": [{\"tag\": \"img\", \"image\": \"PNG...\"}]}\n"
		"{\"wall_time\": 2, \"step\": 1, \"values\": [{\"tag\": \"note\", \"text\": \"hello\"}]}\n"
		"{\"wall_time\": 2, \"step\": 1, \"values\": [{\"tag\": \"vec\", \"tensor\": {\"dtype\": \"float\", "
		"\"values\": [1, 2, 3]}}]}\n"
		"{\"wall_time\": 2, \"step\": 1, \"values\": [{\"tag\": \"_hparams_/session_start_info\", \"plugin\": "
		"\"hparams\", \"tensor\": {\"dtype\": \"float\", \"value\": 0}}]}\n"
		"{\"wall_time\": 2, \"step\": 1, \"values\": [{\"tag\": \"flag\", \"tensor\": {\"dtype\": \"bool\", "
		"\"value\": true}}]}\n"
		"{\"wall_time\": 2, \"step\": 1, \"values\": [{\"tag\": \"empty\", \"tensor\": {\"dtype\": \"float\", "
		"\"values\": [], \"shape\": []}}]}\n"
		"{\"wall_time\": 2, \"step\": 1, \"values\": [{\"tag\": \"two\", \"tensor\": {\"dtype\": \"float\", "
		"\"values\": [1, 2], \"shape\": []}}]}\n"
		"{\"wall_time\": 2, \"step\": 1, \"values\": [{\"tag\": \"\", \"simple_value\": 1}]}\n"
		"{\"wall_time\": 2, \"step\": 1, \"values\": []}\n"
		"{\"wall_time\": 2, \"step\": 5, \"values\": [{\"tag\": \"img\", \"image\": \"x\"}, {\"tag\": \"loss\", "
		"\"simple_value\": 1.25}, {\"tag\": \"w\", \"histogram\": [1]}]}\n",
		&len);
	struct tfe_stats st;
	char *text = parse_all(buf, len, &st);
	assert_string_equal(text, "train|2000|iteration=5,timestamp=1970-01-01T00:00:02.000Z,wall_time=2|loss=1.25\n");
	STATS(st, 13, 1, 0, 12);
	free(text);
	free(buf);
}

static void odd_numbers(void **state)
{
	(void)state;
	size_t len;
	/* no wall_time (proto3's 0): no timestamp, time_ms 0; negative step;
	 * values that are not finite; a tag that is not UTF-8 */
	unsigned char *buf = make_file("odd",
				       "{\"step\": -3, \"values\": [{\"tag\": \"nan\", \"simple_value\": NaN}, "
				       "{\"tag\": \"inf\", \"simple_value\": Infinity}, {\"tag\": \"ninf\", \"tensor\": "
				       "{\"dtype\": \"double\", \"value\": -Infinity}}]}\n"
				       "{\"wall_time\": 3, \"values\": [{\"tag\": \"caf\\u00e9\", \"simple_value\": 3.4028234663852886e+38}]}\n"
				       "{\"raw_hex\": \"2a0d0a0b0a04ff61c0ff150000803f\"}\n"
				       /* 3e10 lies halfway between these two floats: it reads back as the
					* even one only (ties to even), so the odd one needs 8 digits */
				       "{\"step\": 4, \"values\": [{\"tag\": \"odd\", \"simple_value\": 29999998976}, "
				       "{\"tag\": \"even\", \"simple_value\": 30000001024}]}\n",
				       &len);
	struct tfe_stats st;
	char *text = parse_all(buf, len, &st);
	assert_string_equal(text, "train|0|iteration=-3|nan=NaN;inf=Infinity;ninf=-Infinity\n"
				  "train|3000|iteration=0,timestamp=1970-01-01T00:00:03.000Z,wall_time=3|"
				  "caf\xc3\xa9=3.4028235e+38\n"
				  "train|0|iteration=0|?a?" "?=1\n"
				  "train|0|iteration=4|odd=29999999000;even=30000000000\n");
	STATS(st, 4, 7, 0, 0);
	free(text);
	free(buf);
}

static void many_values(void **state)
{
	(void)state;
	struct sbuf spec = SBUF_INIT;
	sb_adds(&spec, "{\"wall_time\": 10, \"step\": 7, \"values\": [");
	for (int i = 0; i < 70; i++)
		sb_addf(&spec, "%s{\"tag\": \"m%d\", \"simple_value\": %d}", i ? ", " : "", i, i);
	sb_adds(&spec, "]}\n");
	size_t len;
	unsigned char *buf = make_file("many", sb_str(&spec), &len);
	struct got g = { SBUF_INIT, 0, 0 };
	struct tfe_stats st = { 0 };
	size_t used;
	struct weft_err e = { 0 };
	assert_int_equal(parse(buf, len, &g, &st, &used, &e), 0);
	assert_int_equal(g.n, 2); /* 64 + 6, the same etimes */
	const char *second = strchr(sb_str(&g.text), '\n') + 1;
	assert_true(strncmp(second, "train|10000|iteration=7,", 24) == 0);
	assert_non_null(strstr(second, "|m64=64;m65=65;m66=66;m67=67;m68=68;m69=69\n"));
	STATS(st, 1, 70, 0, 0);
	sb_release(&g.text);
	sb_release(&spec);
	free(buf);
}

/* --- framing ----------------------------------------------------------------- */

static const char *SMALL = "{\"wall_time\": 100.25, \"file_version\": \"brain.Event:2\"}\n"
			   "{\"wall_time\": 100.5, \"step\": 1, \"values\": [{\"tag\": \"loss\", \"simple_value\": 0.5}]}\n"
			   "{\"wall_time\": 101, \"step\": 2, \"values\": [{\"tag\": \"loss\", \"plugin\": \"scalars\", "
			   "\"tensor\": {\"dtype\": \"float\", \"value\": 0.25, \"content\": true}}]}\n"
			   "{\"wall_time\": 102, \"step\": 3, \"values\": [{\"tag\": \"w\", \"histogram\": [1, 2]}]}\n"
			   "{\"wall_time\": 103, \"step\": 4, \"values\": [{\"tag\": \"loss\", \"simple_value\": 0.125}, "
			   "{\"tag\": \"acc\", \"simple_value\": 0.75}]}\n";

/* record boundaries of a well-formed file: ends[i] = end of record i */
static int boundaries(const unsigned char *buf, size_t len, size_t *ends, int max)
{
	int n = 0;
	size_t off = 0;
	while (off < len && n < max) {
		uint64_t rl = 0;
		for (int i = 0; i < 8; i++)
			rl |= (uint64_t)buf[off + i] << (8 * i);
		off += 16 + rl;
		ends[n++] = off;
	}
	assert_int_equal(off, len);
	return n;
}

static void truncation_every_byte(void **state)
{
	(void)state;
	size_t len;
	unsigned char *buf = make_file("small", SMALL, &len);
	size_t ends[8];
	int nrec = boundaries(buf, len, ends, 8);
	assert_int_equal(nrec, 5);
	struct tfe_stats st;
	char *full = parse_all(buf, len, &st);
	STATS(st, 5, 4, 0, 2);

	for (size_t cut = 0; cut <= len; cut++) {
		unsigned char *part = xmalloc(cut ? cut : 1); /* exact size: ASan catches over-reads */
		memcpy(part, buf, cut);
		struct got g = { SBUF_INIT, 0, 0 };
		struct tfe_stats s1 = { 0 };
		struct weft_err e = { 0 };
		size_t used = 99999;
		assert_int_equal(parse(part, cut, &g, &s1, &used, &e), 0);
		size_t want = 0;
		for (int i = 0; i < nrec; i++)
			if (ends[i] <= cut)
				want = ends[i];
		assert_int_equal(used, want);
		/* the rest, from where the first call stopped, once the file is whole */
		size_t used2 = 0;
		assert_int_equal(parse(buf + used, len - used, &g, &s1, &used2, &e), 0);
		assert_int_equal(used + used2, len);
		assert_string_equal(sb_str(&g.text), full);
		STATS(s1, 5, 4, 0, 2);
		sb_release(&g.text);
		free(part);
	}
	free(full);
	free(buf);
}

static void flipped_data_byte(void **state)
{
	(void)state;
	size_t len;
	unsigned char *buf = make_file("flipdata", SMALL, &len);
	size_t ends[8];
	boundaries(buf, len, ends, 8);
	/* a byte inside the 2nd record's data (loss=0.5 at step 1) */
	buf[ends[0] + 12 + 5] ^= 0x40;
	struct tfe_stats st;
	char *text = parse_all(buf, len, &st);
	STATS(st, 4, 3, 1, 2);
	assert_int_equal(st.last_corrupt_at, ends[0]);
	assert_null(strstr(text, "iteration=1,"));
	assert_non_null(strstr(text, "iteration=2,"));
	assert_non_null(strstr(text, "|loss=0.125;acc=0.75\n"));
	free(text);
	/* a flipped data CRC byte: the same */
	buf[ends[0] + 12 + 5] ^= 0x40;
	buf[ends[1] - 1] ^= 0x01;
	text = parse_all(buf, len, &st);
	STATS(st, 4, 3, 1, 2);
	assert_null(strstr(text, "iteration=1,"));
	free(text);
	free(buf);
}

static void flipped_length_byte(void **state)
{
	(void)state;
	size_t len;
	unsigned char *buf = make_file("fliplen", SMALL, &len);
	size_t ends[8];
	boundaries(buf, len, ends, 8);
	for (int which = 0; which < 12; which++) { /* every byte of the 3rd record's length and its CRC */
		buf[ends[1] + which] ^= 0x10;
		struct got g = { SBUF_INIT, 0, 0 };
		struct tfe_stats st = { 0 };
		struct weft_err e = { 0 };
		size_t used = 0;
		assert_int_equal(parse(buf, len, &g, &st, &used, &e), WEFT_EINVAL);
		assert_int_equal(used, ends[1]);
		char want[64];
		snprintf(want, sizeof want, "at byte %zu ", ends[1]);
		assert_non_null(strstr(e.msg, want));
		assert_int_equal(g.n, 1); /* the records before it were emitted */
		STATS(st, 2, 1, 0, 1);
		/* with the file offset of buf[0] */
		assert_int_equal(tfe_parse_at(buf + ends[0], len - ends[0], ends[0], "x", &used, collect, &g, NULL, &e),
				 WEFT_EINVAL);
		assert_int_equal(used, ends[1] - ends[0]);
		assert_non_null(strstr(e.msg, want));
		sb_release(&g.text);
		buf[ends[1] + which] ^= 0x10;
	}
	free(buf);
}

/* a frame with a valid length CRC around any payload */
static size_t put_record(unsigned char *out, const void *data, uint64_t n, bool good_data_crc)
{
	for (int i = 0; i < 8; i++)
		out[i] = (unsigned char)(n >> (8 * i));
	uint32_t c = tfe_masked_crc(tfe_crc32c(out, 8));
	for (int i = 0; i < 4; i++)
		out[8 + i] = (unsigned char)(c >> (8 * i));
	memcpy(out + 12, data, n);
	c = tfe_masked_crc(tfe_crc32c(data, n)) + !good_data_crc;
	for (int i = 0; i < 4; i++)
		out[12 + n + i] = (unsigned char)(c >> (8 * i));
	return 16 + n;
}

static void garbage(void **state)
{
	(void)state;
	struct got g = { SBUF_INIT, 0, 0 };
	struct tfe_stats st = { 0 };
	struct weft_err e = { 0 };
	size_t used = 1;
	/* text, and random bytes: bad length CRC at byte 0 */
	const char *txt = "Epoch 1/10\n1875/1875 [====] - loss: 0.1234\n";
	assert_int_equal(parse((const unsigned char *)txt, strlen(txt), &g, &st, &used, &e), WEFT_EINVAL);
	assert_int_equal(used, 0);
	assert_non_null(strstr(e.msg, "at byte 0 "));
	unsigned char *rnd = xmalloc(4096);
	uint32_t x = 99;
	for (int i = 0; i < 4096; i++) {
		x = x * 1664525u + 1013904223u;
		rnd[i] = (unsigned char)(x >> 24);
	}
	assert_int_equal(parse(rnd, 4096, &g, &st, &used, &e), WEFT_EINVAL);
	assert_int_equal(used, 0);
	/* fewer than 12 bytes: nothing to do yet; empty and NULL buffers */
	assert_int_equal(parse(rnd, 11, &g, &st, &used, &e), 0);
	assert_int_equal(used, 0);
	assert_int_equal(parse(rnd, 0, &g, &st, &used, &e), 0);
	assert_int_equal(parse(NULL, 0, &g, &st, &used, &e), 0);
	assert_int_equal(used, 0);

	/* good framing around payloads that are not Events: corrupt, skipped */
	unsigned char *buf = xmalloc(8192);
	size_t n = 0;
	n += put_record(buf + n, "\xff\xff\xff", 3, true);                /* bad key */
	n += put_record(buf + n, "\x2a\x7f\x00", 3, true);                /* summary longer than the data */
	n += put_record(buf + n, "\x09\x00\x00", 3, true);                /* truncated double */
	n += put_record(buf + n, rnd, 300, true);                          /* noise */
	n += put_record(buf + n, "", 0, true);                             /* empty Event: no scalars */
	n += put_record(buf + n, "\x2a\x07\x0a\x05\x0a\x01\x78\x15\x00", 9, true); /* truncated float */
	unsigned char *exact = xmalloc(n);
	memcpy(exact, buf, n);
	memset(&st, 0, sizeof st);
	assert_int_equal(parse(exact, n, &g, &st, &used, &e), 0);
	assert_int_equal(used, n);
	assert_int_equal(g.n, 0);
	assert_int_equal(st.events + st.corrupt, 6);
	assert_true(st.corrupt >= 4);
	assert_int_equal(st.scalars, 0);
	free(exact);

	/* a length over 64 MiB with a valid length CRC: corrupt framing */
	unsigned char big[16];
	uint64_t huge = (64u << 20) + 1;
	for (int i = 0; i < 8; i++)
		big[i] = (unsigned char)(huge >> (8 * i));
	uint32_t c = tfe_masked_crc(tfe_crc32c(big, 8));
	for (int i = 0; i < 4; i++)
		big[8 + i] = (unsigned char)(c >> (8 * i));
	memset(big + 12, 0, 4);
	assert_int_equal(parse(big, sizeof big, &g, &st, &used, &e), WEFT_EINVAL);
	assert_non_null(strstr(e.msg, "64 MiB"));
	/* a 64 MiB length that is not all there yet: wait for it */
	huge = 64u << 20;
	for (int i = 0; i < 8; i++)
		big[i] = (unsigned char)(huge >> (8 * i));
	c = tfe_masked_crc(tfe_crc32c(big, 8));
	for (int i = 0; i < 4; i++)
		big[8 + i] = (unsigned char)(c >> (8 * i));
	assert_int_equal(parse(big, sizeof big, &g, &st, &used, &e), 0);
	assert_int_equal(used, 0);
	sb_release(&g.text);
	free(rnd);
	free(buf);
}

/* A graph of megabytes: never decoded, and tfe_record_size tells a reader
 * that has only part of it how much to read. */
static void big_records(void **state)
{
	(void)state;
	size_t glen = 5u << 20;
	char *graph = xmalloc(glen + 1);
	memset(graph, 'g', glen);
	graph[glen] = '\0';
	char *spec = xasprintf("{\"wall_time\": 5, \"file_version\": \"brain.Event:2\"}\n"
			       "{\"wall_time\": 5, \"graph_def\": \"%s\"}\n"
			       "{\"wall_time\": 6, \"step\": 9, \"values\": [{\"tag\": \"loss\", \"simple_value\": 2}]}\n",
			       graph);
	size_t len;
	unsigned char *buf = make_file("big", spec, &len);
	size_t ends[4];
	assert_int_equal(boundaries(buf, len, ends, 4), 3);
	struct tfe_stats st;
	char *text = parse_all(buf, len, &st);
	assert_string_equal(text, "train|6000|iteration=9,timestamp=1970-01-01T00:00:06.000Z,wall_time=6|loss=2\n");
	STATS(st, 3, 1, 0, 2);
	free(text);
	/* a reader holding the first 1 MiB */
	struct got g = { SBUF_INIT, 0, 0 };
	struct weft_err e = { 0 };
	size_t used = 0, part = 1u << 20;
	assert_int_equal(parse(buf, part, &g, &st, &used, &e), 0);
	assert_int_equal(used, ends[0]);
	assert_int_equal(tfe_record_size(buf + used, part - used), ends[1] - ends[0]);
	assert_true(tfe_record_size(buf + used, part - used) > glen);
	assert_int_equal(tfe_record_size(buf + used, 11), 0);   /* no whole header yet */
	assert_int_equal(tfe_record_size(buf + 1, part - 1), 0); /* not a record start */
	assert_int_equal(tfe_record_size(NULL, 0), 0);
	sb_release(&g.text);
	free(buf);
	free(spec);
	free(graph);
}

static void emit_error_stops(void **state)
{
	(void)state;
	size_t len;
	unsigned char *buf = make_file("emiterr", SMALL, &len);
	size_t ends[8];
	boundaries(buf, len, ends, 8);
	struct got g = { SBUF_INIT, 0, 2 }; /* the 2nd record (step 2, the 3rd in the file) fails */
	struct weft_err e = { 0 };
	size_t used = 0;
	assert_int_equal(parse(buf, len, &g, NULL, &used, &e), WEFT_EIO);
	assert_int_equal(used, ends[1]); /* retried from its start */
	assert_int_equal(g.n, 1);
	g.fail_at = 0;
	size_t used2 = 0;
	assert_int_equal(parse(buf + used, len - used, &g, NULL, &used2, &e), 0);
	assert_int_equal(used + used2, len);
	assert_int_equal(g.n, 3);
	sb_release(&g.text);
	free(buf);
}

/* The C reader and the Python reader agree on every value of a mixed file. */
static void agrees_with_python(void **state)
{
	(void)state;
	size_t len;
	struct sbuf spec = SBUF_INIT;
	uint32_t x = 7;
	const char *dt[] = { "float", "double", "half" };
	for (int i = 0; i < 300; i++) {
		x = x * 1103515245u + 12345u;
		double v = (double)(x >> 8) / (double)(1u << 20) - 3.0;
		sb_addf(&spec, "{\"wall_time\": %.6f, \"step\": %d, \"values\": [{\"tag\": \"a\", \"simple_value\": %.17g}, "
			       "{\"tag\": \"b\", \"tensor\": {\"dtype\": \"%s\", \"value\": %.17g, \"content\": %s}}]}\n",
			1700000000.0 + i * 0.37, i, v, dt[i % 3], v * 1e-3, i % 2 ? "true" : "false");
	}
	unsigned char *buf = make_file("mixed", sb_str(&spec), &len);
	struct tfe_stats st;
	char *text = parse_all(buf, len, &st);
	STATS(st, 300, 600, 0, 0);
	char *cmd = xasprintf("python3 " TOOL " read '%s/mixed' 2>/dev/null", tmpdir);
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	char line[1024];
	const char *c = text;
	int n = 0;
	while (fgets(line, sizeof line, p)) {
		double wall, pa, pb;
		int step;
		char sa[64], sb[64];
		assert_int_equal(sscanf(line, "{\"step\": %d, \"wall_time\": %lf, \"values\": {\"a\": \"%63[^\"]\", \"b\": \"%63[^\"]\"",
					&step, &wall, sa, sb),
				 4);
		pa = strtod(sa, NULL);
		pb = strtod(sb, NULL);
		/* ours: "train|ms|iteration=S,timestamp=..,wall_time=W|a=A;b=B" */
		long long ms;
		int cstep;
		char cts[40];
		double cwall, ca, cb;
		assert_int_equal(sscanf(c, "train|%lld|iteration=%d,timestamp=%39[^,],wall_time=%lf|a=%lf;b=%lf", &ms, &cstep,
					cts, &cwall, &ca, &cb),
				 6);
		assert_int_equal(cstep, step);
		assert_true(cwall == wall);
		assert_int_equal(ms, llround(wall * 1000));
		assert_true((float)ca == (float)pa);
		if (n % 3 == 1)
			assert_true(cb == pb); /* double: exact */
		else
			assert_true((float)cb == (float)pb);
		c = strchr(c, '\n') + 1;
		n++;
	}
	assert_int_equal(pclose(p), 0);
	assert_int_equal(n, 300);
	assert_int_equal(*c, '\0');
	free(cmd);
	free(text);
	sb_release(&spec);
	free(buf);
}

/* --- tfe_find ---------------------------------------------------------------- */

static int add_found(void *ctx, const char *path, const char *group)
{
	struct sbuf *sb = ctx;
	const char *base = strrchr(path, '/') + 1;
	sb_addf(sb, "%s:%s\n", group, base);
	struct stat s;
	assert_int_equal(stat(path, &s), 0);
	return 0;
}

static int stop_found(void *ctx, const char *path, const char *group)
{
	(void)path;
	(void)group;
	(*(int *)ctx)++;
	return WEFT_ECONFLICT;
}

static void touch(const char *rel)
{
	char *p = xasprintf("%s/logs/%s", tmpdir, rel);
	struct weft_err e = { 0 };
	char *slash = strrchr(p, '/');
	*slash = '\0';
	assert_int_equal(fs_mkdir_p(p, 0755, &e), 0);
	*slash = '/';
	assert_int_equal(fs_write_file_atomic(p, "", 0, 0644, &e), 0);
	free(p);
}

static void find_runs(void **state)
{
	(void)state;
	struct weft_err e = { 0 };
	struct sbuf sb = SBUF_INIT;
	char *logs = xasprintf("%s/logs", tmpdir);
	/* missing: no files, no error */
	assert_int_equal(tfe_find(logs, add_found, &sb, &e), 0);
	assert_int_equal(sb.len, 0);

	touch("events.out.tfevents.1700000002.host.1.v2");
	touch("events.out.tfevents.1700000001.host.1.v2");
	touch("train/events.out.tfevents.1700000003.host.2.v2");
	touch("train/checkpoint");
	touch("train/plugins/profile/x.trace.json.gz");
	touch("eval/sub/events.out.tfevents.1700000004.host.3.v2");
	touch("eval/sub/events.out.tfevents.1700000004.host.3.v2.profile-empty");
	touch("validation/notes.txt");
	touch("a/b/c/d/e/f/g/h/events.out.tfevents.deep8");    /* 8 levels below: found */
	touch("a/b/c/d/e/f/g/h/i/events.out.tfevents.deep9");  /* 9: not */
	char *outside = xasprintf("%s/outside", tmpdir);
	char *link = xasprintf("%s/linkout", logs), *loop = xasprintf("%s/train/loop", logs);
	char *flink = xasprintf("%s/eval/events.out.tfevents.link", logs);
	char *inlink = xasprintf("%s/linkin", logs);
	assert_int_equal(fs_mkdir_p(outside, 0755, &e), 0);
	char *of = xasprintf("%s/events.out.tfevents.outside", outside);
	assert_int_equal(fs_write_file_atomic(of, "", 0, 0644, &e), 0);
	assert_int_equal(symlink(outside, link), 0);                          /* out of the dir: not followed */
	assert_int_equal(symlink("..", loop), 0);                             /* a cycle */
	assert_int_equal(symlink("sub/events.out.tfevents.1700000004.host.3.v2", flink), 0); /* the same file again */
	assert_int_equal(symlink("train", inlink), 0);                        /* a run walked twice */

	assert_int_equal(tfe_find(logs, add_found, &sb, &e), 0);
	assert_string_equal(sb_str(&sb), ".:events.out.tfevents.1700000001.host.1.v2\n"
					 ".:events.out.tfevents.1700000002.host.1.v2\n"
					 "a/b/c/d/e/f/g/h:events.out.tfevents.deep8\n"
					 "eval/sub:events.out.tfevents.1700000004.host.3.v2\n"
					 "eval/sub:events.out.tfevents.1700000004.host.3.v2.profile-empty\n"
					 "train:events.out.tfevents.1700000003.host.2.v2\n");
	/* a trailing slash changes nothing */
	sb_reset(&sb);
	char *slash = xasprintf("%s/", logs);
	assert_int_equal(tfe_find(slash, add_found, &sb, &e), 0);
	assert_non_null(strstr(sb_str(&sb), "train:events.out.tfevents.1700000003.host.2.v2\n"));
	/* the callback's error stops the walk */
	int calls = 0;
	assert_int_equal(tfe_find(logs, stop_found, &calls, &e), WEFT_ECONFLICT);
	assert_int_equal(calls, 1);
	/* not a directory */
	assert_int_equal(tfe_find(of, add_found, &sb, &e), WEFT_EINVAL);
	assert_non_null(strstr(e.msg, "not a directory"));
	free(slash);
	free(of);
	free(inlink);
	free(flink);
	free(loop);
	free(link);
	free(outside);
	free(logs);
	sb_release(&sb);
}

static int setup(void **state)
{
	(void)state;
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	struct weft_err e;
	return fs_rm_rf(tmpdir, &e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(crc_vectors),
		cmocka_unit_test(crc_hw_matches_tables),
		cmocka_unit_test(simple_values),
		cmocka_unit_test(tensor_values),
		cmocka_unit_test(not_scalars),
		cmocka_unit_test(odd_numbers),
		cmocka_unit_test(many_values),
		cmocka_unit_test(truncation_every_byte),
		cmocka_unit_test(flipped_data_byte),
		cmocka_unit_test(flipped_length_byte),
		cmocka_unit_test(garbage),
		cmocka_unit_test(big_records),
		cmocka_unit_test(emit_error_stops),
		cmocka_unit_test(agrees_with_python),
		cmocka_unit_test(find_runs),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}

/* fuzz_tfevents.c - libFuzzer target for the TensorBoard event-file reader.
 * The first byte picks the mode: even = the rest is an event file as is (the
 * framing and its CRCs under attack); odd = the rest is a list of
 * (2-byte length, payload) pairs that the harness frames with valid CRCs, so
 * the fuzzer reaches the protobuf decoder and the scalar extraction. Input
 * lives in an exactly-sized heap buffer so ASan catches any over-read.
 * Checks: every record and value as record.h promises (num = the text's
 * value), valid UTF-8 keys, *consumed within the input, and a second call
 * from *consumed consuming nothing more. */
#include "tds/tfevents.h"
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static int valid_utf8(const unsigned char *s)
{
	while (*s) {
		int n = *s < 0x80 ? 0 : (*s & 0xe0) == 0xc0 ? 1 : (*s & 0xf0) == 0xe0 ? 2 : (*s & 0xf8) == 0xf0 ? 3 : -1;
		if (n < 0)
			return 0;
		for (int i = 1; i <= n; i++)
			if ((s[i] & 0xc0) != 0x80)
				return 0;
		s += n + 1;
	}
	return 1;
}

static void check_kv(const struct em_kv *kv, int numeric)
{
	if (!kv->key || !kv->key[0] || !kv->value || !valid_utf8((const unsigned char *)kv->key))
		abort();
	if (numeric) {
		char *end;
		double v = strtod(kv->value, &end);
		if (end == kv->value || *end)
			abort();
		if (kv->has_num && v != kv->num && !(isnan(v) && isnan(kv->num)))
			abort(); /* num must be what the text reads as */
	}
}

static int check(void *ctx, const struct em_rec *r)
{
	(*(int64_t *)ctx)++;
	if (!r->group || strcmp(r->group, "run") || r->subid || r->time_ms < 0)
		abort();
	if (r->n_etimes < 1 || r->n_etimes > EM_MAX_ETIMES || r->n_values < 1 || r->n_values > EM_MAX_VALUES)
		abort();
	for (int i = 0; i < r->n_etimes; i++)
		check_kv(&r->etimes[i], r->etimes[i].type != EM_STRING);
	for (int i = 0; i < r->n_values; i++) {
		if (r->values[i].type != EM_FLOAT)
			abort();
		check_kv(&r->values[i], 1);
	}
	return 0;
}

static void put_le(unsigned char *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	unsigned char *buf;
	size_t len = 0;
	if (!(data[0] & 1)) {
		len = size - 1;
		buf = malloc(len ? len : 1);
		memcpy(buf, data + 1, len);
	} else {
		/* at most 16 bytes of framing per pair of at least 2 input bytes */
		unsigned char *tmp = malloc(size * 8 + 16);
		size_t i = 1;
		while (i < size) {
			size_t n = data[i];
			if (i + 1 < size)
				n |= (size_t)data[i + 1] << 8;
			i = i + 2 < size ? i + 2 : size;
			if (n > size - i)
				n = size - i;
			put_le(tmp + len, n, 8);
			put_le(tmp + len + 8, tfe_masked_crc(tfe_crc32c(tmp + len, 8)), 4);
			memcpy(tmp + len + 12, data + i, n);
			put_le(tmp + len + 12 + n, tfe_masked_crc(tfe_crc32c(data + i, n)), 4);
			len += 16 + n;
			i += n;
		}
		buf = malloc(len ? len : 1);
		memcpy(buf, tmp, len);
		free(tmp);
	}

	struct tfe_stats st = { 0 };
	struct weft_err e = { 0 };
	int64_t emitted = 0;
	size_t used = (size_t)-1;
	int rc = tfe_parse(buf, len, "run", &used, check, &emitted, &st, &e);
	if ((rc != 0 && rc != WEFT_EINVAL) || used > len || (rc && !e.msg[0]))
		abort();
	if (st.events < 0 || st.scalars < emitted || st.events + st.corrupt > (int64_t)(len / 16 + 1))
		abort();
	if (!(data[0] & 1) && rc == 0 && used != len && len - used >= 12) {
		/* what is left is one incomplete record: nothing more to take */
		size_t again = 1;
		if (tfe_parse(buf + used, len - used, "run", &again, check, &emitted, NULL, &e) != 0 || again != 0)
			abort();
	}
	if ((data[0] & 1) && (rc != 0 || used != len)) /* framed by us: always whole and valid */
		abort();
	free(buf);
	return 0;
}

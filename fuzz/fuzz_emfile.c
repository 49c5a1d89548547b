/* fuzz_emfile.c - libFuzzer target for one line of evaluation-metrics.txt
 * (src/tds/emfile.c): arbitrary bytes in an exactly-sized heap buffer. The
 * result must be 0 with at most one record, or WEFT_EINVAL with a message
 * and none; a record must keep em_rec's promises (named, finite numbers,
 * valid JSON for JSONSTRING). */
#include "tds/emfile.h"
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static int check(void *ctx, const struct em_rec *r)
{
	(*(int *)ctx)++;
	if (!r->group || !*r->group || r->time_ms < 0 || r->n_etimes < 0 || r->n_etimes > EM_MAX_ETIMES ||
	    r->n_values < 0 || r->n_values > EM_MAX_VALUES || (r->subid && !*r->subid))
		abort();
	for (int s = 0; s < 2; s++) {
		const struct em_kv *kv = s ? r->values : r->etimes;
		int n = s ? r->n_values : r->n_etimes;
		for (int i = 0; i < n; i++) {
			if (!kv[i].key || !*kv[i].key || !kv[i].value)
				abort();
			size_t len = strlen(kv[i].value);
			if (kv[i].type == EM_INT || kv[i].type == EM_FLOAT) {
				char *end;
				double d = strtod(kv[i].value, &end);
				if (!len || *end || !isfinite(d) || !kv[i].has_num || kv[i].num != d)
					abort();
			} else if (kv[i].has_num) {
				abort();
			} else if (kv[i].type == EM_JSONSTRING) {
				json_t *j = json_loadb(kv[i].value, len, JSON_DECODE_ANY, NULL);
				if (!j)
					abort();
				json_decref(j);
			} else if (kv[i].type != EM_STRING) {
				abort();
			}
		}
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size ? size : 1);
	if (size)
		memcpy(buf, data, size);
	int n = 0;
	struct weft_err e;
	memset(&e, 0, sizeof e);
	int rc = emfile_parse_line(buf, size, check, &n, &e);
	if (rc == 0 ? n > 1 : (rc != WEFT_EINVAL || n != 0 || !e.msg[0]))
		abort();
	free(buf);
	return 0;
}

/* fuzz_query.c - libFuzzer target for the loglines/emetrics query parser
 * (pos, pagesize, since_time: integers, negative counts, RFC3339 times;
 * searchType, search, learner, group). Input: the seven parameters
 * separated by NUL bytes. */
#include "tds/logs.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char *const names[] = { "pos", "pagesize", "since_time", "searchType", "search", "learner", "group" };
#define N_PARAMS (sizeof names / sizeof names[0])

struct params {
	const char *v[N_PARAMS];
};

static const char *arg(void *ctx, const char *name)
{
	struct params *p = ctx;
	for (size_t i = 0; i < N_PARAMS; i++)
		if (!strcmp(names[i], name))
			return p->v[i];
	return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 1);
	memcpy(buf, data, size);
	buf[size] = '\0';
	struct params p = { { buf } };
	size_t k = 1;
	for (size_t i = 0; i < size && k < N_PARAMS; i++)
		if (buf[i] == '\0')
			p.v[k++] = buf + i + 1;
	struct tds_query q;
	struct weft_err e;
	if (tds_parse_query(arg, &p, &q, &e) == 0) {
		/* a parsed query always has a usable page size and bounded strings */
		if (q.pagesize < 1 || q.pagesize > 10000 || q.learner < 0 || strlen(q.search) >= sizeof q.search ||
		    (q.search_type != TDS_SEARCH_NONE && !q.search[0]))
			abort();
		(void)tds_start_rindex(&q, (int64_t)size);
	}
	free(buf);
	return 0;
}

/* fuzz_query.c - libFuzzer target for the loglines query parser
 * (pos, pagesize, since_time: integers, negative counts, RFC3339 times).
 * Input: the three parameters separated by NUL bytes. */
#include "tds/logs.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 3);
	memcpy(buf, data, size);
	buf[size] = buf[size + 1] = buf[size + 2] = '\0';
	const char *parts[3] = { buf, "", "" };
	size_t k = 1;
	for (size_t i = 0; i < size && k < 3; i++)
		if (buf[i] == '\0')
			parts[k++] = buf + i + 1;
	struct tds_query q;
	struct weft_err e;
	if (tds_parse_query(parts[0], parts[1], parts[2], &q, &e) == 0 && q.pagesize < 1)
		abort(); /* a parsed query always has a usable page size */
	free(buf);
	return 0;
}

/* fuzz_autoparse.c - libFuzzer target for the `auto` metrics recogniser:
 * arbitrary bytes as one log line, in an exactly-sized heap buffer so ASan
 * catches any read past len. Checks the result's invariants: n in 0..32,
 * every name NUL-terminated and non-empty, every value finite, a known group. */
#include "tds/autoparse.h"
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size ? size : 1);
	if (size)
		memcpy(buf, data, size);
	struct ap_result r;
	memset(&r, 0xa5, sizeof r); /* garbage in, so a field left unset shows */
	int n = ap_parse_line(buf, size, &r);
	if (n != r.n || n < 0 || n > AP_MAX_METRICS)
		abort();
	if (r.iteration < -1 || r.epoch < -1)
		abort();
	if (!memchr(r.group, '\0', sizeof r.group) ||
	    (strcmp(r.group, "train") && strcmp(r.group, "validate") && strcmp(r.group, "test")))
		abort();
	for (int i = 0; i < n; i++) {
		const char *nul = memchr(r.m[i].name, '\0', AP_NAME_MAX);
		if (!nul || nul == r.m[i].name || !isfinite(r.m[i].value))
			abort();
	}
	free(buf);
	return 0;
}

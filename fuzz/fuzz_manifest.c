/* fuzz_manifest.c - libFuzzer target for the manifest parser: any bytes go
 * through manifest_parse (YAML, checks, warnings) and, when they parse,
 * through manifest_to_json and the size formatter. A crash, leak, hang or
 * sanitizer report is a bug; an error message must always be set. */
#include "manifest/manifest.h"
#include "util/sbuf.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct manifest *m = NULL;
	struct sbuf warnings = SBUF_INIT;
	struct weft_err e = { 0, "" };
	int rc = manifest_parse((const char *)data, size, &m, &warnings, &e);
	if (rc) {
		if (m || !e.msg[0])
			abort(); /* an error must leave no manifest and say why */
	} else {
		if (!m || !m->name || !m->framework_command || m->n_data_stores < 1 || m->learners < 1 ||
		    m->learners > MANIFEST_MAX_LEARNERS || m->cpus <= 0 || m->memory == 0)
			abort(); /* a parsed manifest always has its required fields and sane resources */
		for (int s = 0; s < 2; s++) {
			json_t *j = manifest_to_json(m, s);
			char *text = json_dumps(j, JSON_COMPACT);
			/* passwords only with secrets */
			if (!s && text && json_object_get(json_object_get(json_array_get(json_object_get(j, "data_stores"), 0),
									  "connection"),
							  "password"))
				abort();
			free(text);
			json_decref(j);
		}
		char buf[32];
		manifest_format_size(m->memory, buf, sizeof buf);
		uint64_t back = 0;
		if (manifest_parse_size(buf, &back, &e) || back != m->memory)
			abort(); /* the formatted size reads back exactly */
		manifest_free(m);
	}
	/* the unit parsers on the raw bytes as a string */
	if (size < 64) {
		char s[64];
		memcpy(s, data, size);
		s[size] = '\0';
		uint64_t b;
		int64_t d;
		manifest_parse_size(s, &b, &e);
		manifest_parse_duration(s, &d, &e);
	}
	sb_release(&warnings);
	return 0;
}

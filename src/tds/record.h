/* record.h - one evaluation-metrics record (FfDL's EMetrics) as a collector
 * produces it, before the store adds training_id, user_id and rindex. Every
 * extractor (auto, regex_extractor, tensorboard, emetrics_file) hands its
 * records to an em_emit_fn; the pointers are only valid during that call, so
 * extractors can build records in stack or scratch buffers without
 * allocating. */
#ifndef WEFT_TDS_RECORD_H
#define WEFT_TDS_RECORD_H
#include <stddef.h>
#include <stdint.h>

/* FfDL's value types; the numbers are FfDL's enum values */
enum em_type { EM_STRING = 0, EM_JSONSTRING = 1, EM_INT = 2, EM_FLOAT = 3 };

#define EM_MAX_ETIMES 8
#define EM_MAX_VALUES 64

struct em_kv {
	const char *key;   /* NUL-terminated, never empty */
	enum em_type type;
	const char *value; /* the value as text, as FfDL keeps it: "0.5", "100",
			    * "2026-11-28T12:00:00Z"; for INT/FLOAT a number that
			    * strtod accepts; for JSONSTRING valid JSON text */
	int has_num;       /* optional: 1 if num already holds value as a double */
	double num;        /* (saves the store parsing the text again) */
};

struct em_rec {
	int64_t time_ms;   /* 0: the store uses the ingestion time */
	const char *subid; /* NULL: the store uses "learner-N" of the source */
	const char *group; /* grouplabel: "train", "test", a run name; never NULL */
	int n_etimes, n_values;
	struct em_kv etimes[EM_MAX_ETIMES];
	struct em_kv values[EM_MAX_VALUES];
};

/* Receives one record. Returns 0, or a negative WEFT_E* code to stop the
 * extractor (which then returns that code). */
typedef int (*em_emit_fn)(void *ctx, const struct em_rec *r);

/* Type names as the manifest and the JSON shapes spell them, and back
 * (case-insensitive; -1 for an unknown name). */
const char *em_type_name(enum em_type t);
int em_type_parse(const char *name);

#endif

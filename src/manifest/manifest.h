/* manifest.h - the FfDL training manifest (YAML), parsed and validated.
 * One parse gives a struct manifest with FfDL's defaults applied, or an error
 * that names the field and the line. Unknown keys are warnings, not errors. */
#ifndef WEFT_MANIFEST_H
#define WEFT_MANIFEST_H
#include "util/err.h"
#include "util/sbuf.h"
#include <jansson.h>
#include <stdint.h>

/* FfDL defaults */
#define MANIFEST_DEFAULT_CPUS 5.0
#define MANIFEST_DEFAULT_MEMORY (12ULL * 1024 * 1024 * 1024) /* 12 GiB */
#define MANIFEST_DEFAULT_GPU_TYPE "nvidia-TeslaK80"
#define MANIFEST_MAX_LEARNERS 256
/* weft's sanity limits (errors beyond them name the field and the limit) */
#define MANIFEST_MAX_GPUS 1024
#define MANIFEST_MAX_CPUS 4096.0
#define MANIFEST_MAX_RESTARTS 1000
#define MANIFEST_MAX_DEADLINE (365 * 86400) /* seconds */
#define MANIFEST_MAX_SIZE (1ULL << 50)      /* memory / storage: 1 PiB */
#define MANIFEST_MAX_DATA_STORES 64
#define MANIFEST_MAX_DEPTH 64               /* nesting of mappings and lists */

struct manifest_datastore {
	char *id;
	char *type;                /* mount_cos | s3_datastore | mount_volume | local */
	char *training_data;       /* training_data.container (required) */
	char *training_results;    /* training_results.container (may be NULL) */
	/* connection */
	char *auth_url, *user_name, *password, *region, *path;
	int line;                  /* line of the list entry, for later errors */
};

struct manifest {
	char *name;                /* required */
	char *description, *version, *gpu_type;
	int gpus;                  /* per learner, >= 0 */
	double cpus;               /* per learner, > 0 (default 5) */
	uint64_t memory;           /* bytes per learner (default 12 GiB) */
	uint64_t storage;          /* bytes, 0 = none */
	int learners;              /* >= 1 */
	struct manifest_datastore *data_stores;
	int n_data_stores;         /* >= 1 */
	char *framework_name, *framework_version, *framework_command, *framework_image_tag;
	/* evaluation_metrics as given (type, in, line_lookahead, eventTypes,
	 * groups, ...), checked for shape; NULL when absent. Owned. */
	json_t *evaluation_metrics;
	/* weft additions (optional) */
	char *restart_policy;      /* never | on-failure (default never) */
	int max_restarts;          /* default 0 */
	int64_t deadline_s;        /* 0 = none; accepts "90s", "30m", "2h" or seconds */
};

/* Parses YAML text. On success returns 0 and *out (free with manifest_free);
 * each unknown key appends one "line N: unknown key 'x' ignored\n" to warnings
 * (may be NULL; x is the key's path such as 'framework.comand', maybe followed
 * by " (did you mean 'command'?)"; warnings come in line order).
 * On error returns WEFT_EINVAL with e->msg like
 * "line 7: memory: '12XB' is not a size (use a number and a unit such as 512MB or 2GiB)". */
int manifest_parse(const char *text, size_t len, struct manifest **out, struct sbuf *warnings,
		   struct weft_err *e);
void manifest_free(struct manifest *m);

/* The resolved job as JSON (FfDL field names, defaults applied, memory in
 * bytes plus a human string). Passwords are included only if with_secrets. */
json_t *manifest_to_json(const struct manifest *m, int with_secrets);

/* Parses a size such as "1Gb", "512MiB", "0.5 GB", "100b" (units b, KB/MB/GB/TB
 * = powers of 1000, KiB/MiB/GiB/TiB = powers of 1024, case-insensitive).
 * Returns 0 and *bytes, or WEFT_EINVAL with a message naming the value. */
int manifest_parse_size(const char *s, uint64_t *bytes, struct weft_err *e);
/* Formats bytes as the largest exact binary or decimal unit ("12GiB", "1GB", "300MiB"). */
void manifest_format_size(uint64_t bytes, char *buf, size_t size);
/* Parses a duration: whole seconds ("3600") or numbers with s/m/h/d units
 * ("90s", "30m", "2h", "1h30m"). Returns 0 and *seconds, or WEFT_EINVAL. */
int manifest_parse_duration(const char *s, int64_t *seconds, struct weft_err *e);

#endif

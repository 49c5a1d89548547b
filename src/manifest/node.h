/* node.h - internal to src/manifest: typed access to libyaml document nodes.
 * Every helper knows the node's line, so each error it sets reads
 * "line N: FIELD: problem" and each unknown key becomes one warning line.
 * The first error wins: helpers return 0 or WEFT_EINVAL with c->e filled. */
#ifndef WEFT_MANIFEST_NODE_H
#define WEFT_MANIFEST_NODE_H
#include "util/err.h"
#include "util/sbuf.h"
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <yaml.h>

struct mwarning {
	int line;
	size_t seq; /* insertion order, to sort stably */
	char *msg;
};

struct mctx {
	yaml_document_t *doc;
	struct weft_err *e;
	/* warnings are collected, then sorted by line (the walk is not in
	 * document order) and appended to the caller's sbuf by mctx_flush */
	struct mwarning *warn;
	size_t n_warn, cap_warn;
	/* nodes visited so far: aliases let a small text name one mapping many
	 * times, so the walk has a budget (MCTX_MAX_VISITS) instead of none */
	size_t visits;
};
#define MCTX_MAX_VISITS 1000000

/* Appends the collected warnings in line order to out (may be NULL) and frees them. */
void mctx_flush(struct mctx *c, struct sbuf *out);

/* 1-based line of a node. */
int node_line(const yaml_node_t *n);
/* "a list", "a mapping" or the quoted, shortened scalar ("'abc'") into buf. */
const char *node_desc(const yaml_node_t *n, char *buf, size_t size);
/* A plain scalar spelling null (~, null, empty) counts as absent. */
int node_is_null(const yaml_node_t *n);
/* Quotes s[0..len) for a message: at most 60 characters, control bytes as \xNN. */
const char *quote_value(const char *s, size_t len, char *buf, size_t size);

/* Field paths are at most FIELD_PATH_MAX bytes ("data_stores[0].connection.region"). */
#define FIELD_PATH_MAX 256
/* buf = "base.key" (or "key" when base is ""), truncated with "..." if too long. */
const char *path_cat(char *buf, size_t size, const char *base, const char *key);

/* Sets "line N: PATH: <fmt>" on c->e; returns WEFT_EINVAL. */
int node_err(struct mctx *c, int line, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Records the warning "line N: <fmt>". */
void node_warn(struct mctx *c, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Charges n nodes to the walk's budget; WEFT_EINVAL once it is exceeded. */
int node_charge(struct mctx *c, size_t n, int line);

/* Checks that map is a mapping whose keys are non-empty scalars without
 * duplicates, and warns once for each key not in known (NULL-terminated),
 * with a "did you mean" hint for near misses; known == NULL accepts any key
 * (free-form names). path names the mapping. */
int map_check(struct mctx *c, yaml_node_t *map, int at, const char *path, const char *const *known);
/* The value of key in a checked mapping, or NULL when absent or null.
 * *kline gets the key's line (or `at` when absent). */
yaml_node_t *map_get(struct mctx *c, yaml_node_t *map, const char *key, int at, int *kline);

/* Scalar text (never NULL; a NUL byte inside is an error). */
int node_text(struct mctx *c, yaml_node_t *n, const char *path, const char **s, size_t *len);
/* Copies a scalar into *out (xmalloc'd). An empty string is an error when required. */
int node_string(struct mctx *c, yaml_node_t *n, const char *path, int required, char **out);
/* A decimal number (no inf/nan/hex). */
int node_double(struct mctx *c, yaml_node_t *n, const char *path, double *out);
/* A whole number in [min, max]. */
int node_int(struct mctx *c, yaml_node_t *n, const char *path, long long min, long long max, long long *out);

/* evaluation_metrics (emetrics.c): checks the block at node n (key at line
 * `at`) and returns a new JSON object of its known fields in *out. */
int emetrics_parse(struct mctx *c, yaml_node_t *n, int at, json_t **out);

/* For "did you mean" hints: s lower-cased without '_' and '-' into out
 * (size bytes, NUL-terminated), returning its length; and the Levenshtein
 * distance of two such keys (each shorter than 64 bytes). */
size_t node_fold_key(const char *s, size_t len, char *out, size_t size);
size_t node_edit_distance(const char *a, size_t la, const char *b, size_t lb);

/* Strict decimal parse of s (optional sign, digits, '.', exponent); 0 or -1. */
int parse_decimal(const char *s, double *out);

#endif

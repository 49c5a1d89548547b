/* spec_walk.h - internal to the deployment spec parser (spec.c,
 * spec_predictor.c, spec_walk.c): the walk's context and typed getters over libyaml
 * nodes. They reuse src/manifest/node.h, so errors read "line N: PATH: ..."
 * exactly as the manifest's do; keys weft does not use become `ignored`. */
#ifndef WEFT_SERVE_SPEC_WALK_H
#define WEFT_SERVE_SPEC_WALK_H
#include "manifest/node.h"
#include "serve/spec.h"

struct sctx {
	struct mctx m; /* doc, error, visit budget */
	struct spec_ignored *ign;
	size_t n_ign, cap_ign;
};

/* Records path (with line) as ignored. reason NULL: a stock reason when the
 * last key is a well-known Seldon/Kubernetes field, else none. */
void spec_ignore(struct sctx *s, int line, const char *path, const char *reason);

/* buf = base.key, or base["odd key"] when the key is not a plain name. */
const char *spec_key_path(char *buf, size_t size, const char *base, const char *key, size_t len);

/* buf = base[i], truncated with "..." if too long. */
const char *spec_index_path(char *buf, size_t size, const char *base, size_t i);

/* Checks that n is a mapping (scalar keys, no duplicates) and lists each key
 * not in used (NULL-terminated) as ignored, with a hint when it is close to
 * one of them. at: the line to blame when n is absent. */
int spec_walk_map(struct sctx *s, yaml_node_t *n, int at, const char *path, const char *const *used);

/* The getters read map[key]; path is the mapping's path (the key is added).
 * An absent or null value leaves *out alone and *given (if non-NULL) 0. */
int spec_get_string(struct sctx *s, yaml_node_t *map, const char *key, int at, const char *path, int required,
		    char **out);
int spec_get_int(struct sctx *s, yaml_node_t *map, const char *key, int at, const char *path, long long min,
		 long long max, int *out, int *given);
int spec_get_bool(struct sctx *s, yaml_node_t *map, const char *key, int at, const char *path, int *out);
/* A mapping of names to single values, copied as strings into a new object
 * (*out is replaced; an empty object when absent). */
int spec_get_strmap(struct sctx *s, yaml_node_t *map, const char *key, int at, const char *path, json_t **out);

/* Scalar checks with the standard messages. */
int spec_check_name(struct sctx *s, int line, const char *path, const char *v);
int spec_node_int(struct sctx *s, yaml_node_t *n, const char *path, long long min, long long max, long long *out);
int spec_node_bool(struct sctx *s, yaml_node_t *n, const char *path, int *out);

/* spec_predictor.c: parses spec.predictors[idx] (node n) into p. */
int spec_parse_predictor(struct sctx *s, yaml_node_t *n, size_t idx, int default_replicas, struct spec_predictor *p,
			 int *traffic_given, int *traffic_line);
void spec_predictor_free(struct spec_predictor *p);

/* Number of items of a sequence node. */
size_t spec_seq_len(const yaml_node_t *n);
yaml_node_t *spec_seq_item(struct sctx *s, yaml_node_t *n, size_t i);

#endif

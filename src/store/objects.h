/* objects.h - the embedded object store: buckets are directories under
 * ROOT (<home>/objects), objects are files under them. Names are checked so
 * no request can escape ROOT ("..", absolute paths, NUL, backslashes).
 * Writes are atomic (temp file + rename). The S3 back end comes later. */
#ifndef WEFT_OBJECTS_H
#define WEFT_OBJECTS_H
#include "util/err.h"
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>

/* Bucket names: 1-63 chars of [A-Za-z0-9._-], not starting with '.'. */
int objects_valid_bucket(const char *bucket, struct weft_err *e);
/* Object keys: relative paths of [^\0\\], no "." or ".." segment, no leading '/', <= 1024 chars.
 * Also: valid UTF-8 (keys appear in JSON), no empty segment, segments <= 255
 * bytes, and no segment starting with ".tmp-" (reserved for puts in progress). */
int objects_valid_key(const char *key, struct weft_err *e);

/* ROOT/bucket (caller frees). Bucket must be valid. */
char *objects_bucket_path(const char *root, const char *bucket);
int objects_bucket_exists(const char *root, const char *bucket);
int objects_bucket_create(const char *root, const char *bucket, struct weft_err *e);

/* Streaming put: opens a temp file; write with objects_put_write; commit renames it into place.
 * abort removes the temp file. begin creates the bucket and the key's folders as needed. */
struct objects_put;
int objects_put_begin(const char *root, const char *bucket, const char *key, struct objects_put **out,
		      struct weft_err *e);
int objects_put_write(struct objects_put *p, const void *data, size_t len, struct weft_err *e);
int objects_put_commit(struct objects_put *p, struct weft_err *e); /* frees p */
void objects_put_abort(struct objects_put *p);                    /* frees p */

/* Lists objects under bucket (recursively) whose key starts with prefix (may be NULL):
 * a JSON array of {"key", "size", "modified" (ms)} sorted by key. */
int objects_list(const char *root, const char *bucket, const char *prefix, json_t **out, struct weft_err *e);

/* Opens the directory relpath below dirfd one component at a time with
 * O_NOFOLLOW, so a symbolic link planted anywhere on the way is refused
 * (empty and "." components are skipped, ".." is refused). Creates missing
 * components (mode 0755) when create is non-zero. Returns an fd the caller
 * closes, or a negative WEFT_E* code (WEFT_ENOTFOUND for a missing component). */
int objects_open_dir_at(int dirfd, const char *relpath, int create, struct weft_err *e);
/* Writes s into buf (size >= 16) for an error message: non-printable bytes as
 * \xNN, cut to fit with "...". Returns buf. */
const char *objects_show(const char *s, char *buf, size_t size);

/* zip helpers (libzip) */
/* Checks that the zip at path opens and has at least one entry, no absolute
 * or ".." entry names; on failure a message naming the problem. Also refused:
 * backslashes in names, symbolic-link entries, encrypted entries, more than
 * 100000 entries or 4 GiB uncompressed (WEFT_ETOOBIG). */
int zip_validate(const char *path, struct weft_err *e);
/* zip_validate with label naming the zip in messages (zip_validate and
 * zip_validate_buf say "model_definition", the API's field name). */
int zip_validate_as(const char *path, const char *label, struct weft_err *e);
/* Same for an in-memory zip. */
int zip_validate_buf(const void *data, size_t len, struct weft_err *e);
/* Unpacks zip_path into dir (created). Refuses entries that escape dir. Keeps
 * the Unix mode bits when stored (so scripts stay executable). Validates like
 * zip_validate first; on a later failure dir may hold part of the tree. */
int zip_extract(const char *zip_path, const char *dir, struct weft_err *e);
/* Writes a zip of the tree at dir (entry names relative to dir, prefixed by
 * prefix/ when prefix is non-NULL) to out_path. Entries are sorted, keep their
 * Unix modes and include directories; symbolic links are left out. */
int zip_create_from_dir(const char *dir, const char *prefix, const char *out_path, struct weft_err *e);

#endif

/* fs.h - file-system helpers: every durable write goes through write_file_atomic
 * (temp file + fsync + rename) so a crash never leaves a half-written file. */
#ifndef WEFT_FS_H
#define WEFT_FS_H
#include "util/err.h"
#include "util/sbuf.h"
#include <stddef.h>
#include <sys/types.h>

int fs_mkdir_p(const char *path, mode_t mode, struct weft_err *e);
/* Removes path recursively; a missing path is not an error. */
int fs_rm_rf(const char *path, struct weft_err *e);
/* Copies the tree src into dst (created); regular files, dirs and symlinks. */
int fs_copy_tree(const char *src, const char *dst, struct weft_err *e);
int fs_copy_file(const char *src, const char *dst, struct weft_err *e);
/* Reads a whole file into sb (appended). */
int fs_read_file(const char *path, struct sbuf *sb, struct weft_err *e);
int fs_write_file_atomic(const char *path, const void *data, size_t len, mode_t mode, struct weft_err *e);
int fs_exists(const char *path);
int fs_is_dir(const char *path);
/* Joins a and b with one '/'. Caller frees. */
char *fs_join(const char *a, const char *b);
/* Total size in bytes of regular files under path (0 if missing). */
long long fs_tree_size(const char *path);

#endif

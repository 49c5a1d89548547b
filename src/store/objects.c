/* objects.c - the embedded object store: buckets are directories under ROOT,
 * objects are files below them. Every path is opened one component at a time
 * with O_NOFOLLOW (objects_open_dir_at), so neither a crafted key nor a
 * symbolic link planted in a bucket can reach outside ROOT. Puts stream into a
 * hidden ".tmp-*" file next to the target and rename it into place on commit.
 * The zip helpers live in zipio.c. */
#include "store/objects.h"
#include "util/fs.h"
#include "util/mem.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#define BUCKET_MAX 63
#define KEY_MAX 1024
#define SEGMENT_MAX 255 /* NAME_MAX on the file systems we run on */
#define TMP_PREFIX ".tmp-"

/* Keys travel in JSON listings, so they must be UTF-8 (no overlongs or surrogates). */
static int valid_utf8(const unsigned char *s)
{
	while (*s) {
		unsigned char c = *s;
		int n;
		unsigned min;
		unsigned cp;
		if (c < 0x80) {
			s++;
			continue;
		} else if ((c & 0xe0) == 0xc0) {
			n = 1, min = 0x80, cp = c & 0x1f;
		} else if ((c & 0xf0) == 0xe0) {
			n = 2, min = 0x800, cp = c & 0x0f;
		} else if ((c & 0xf8) == 0xf0) {
			n = 3, min = 0x10000, cp = c & 0x07;
		} else {
			return 0;
		}
		for (int i = 1; i <= n; i++) {
			if ((s[i] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (s[i] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		s += n + 1;
	}
	return 1;
}

const char *objects_show(const char *s, char *buf, size_t size)
{
	static const char hex[] = "0123456789abcdef";
	size_t n = 0;
	if (!s)
		s = "(null)";
	/* Valid UTF-8 is kept as is (whole characters only); otherwise every
	 * byte >= 0x80 is escaped too, so the message stays valid UTF-8 for JSON. */
	int utf8 = valid_utf8((const unsigned char *)s);
	while (*s) {
		unsigned char c = (unsigned char)*s;
		size_t len = 1, need = 1;
		if (c < 0x20 || c == 0x7f || (c >= 0x80 && !utf8))
			need = 4;
		else if (c >= 0xf0)
			len = need = 4;
		else if (c >= 0xe0)
			len = need = 3;
		else if (c >= 0xc0)
			len = need = 2;
		if (n + need + 4 > size) { /* keep room for "..." and the NUL */
			memcpy(buf + n, "...", 3);
			n += 3;
			break;
		}
		if (need == 4 && len == 1) {
			buf[n++] = '\\';
			buf[n++] = 'x';
			buf[n++] = hex[c >> 4];
			buf[n++] = hex[c & 15];
		} else {
			memcpy(buf + n, s, len);
			n += len;
		}
		s += len;
	}
	buf[n] = '\0';
	return buf;
}

int objects_valid_bucket(const char *bucket, struct weft_err *e)
{
	char show[128];
	if (!bucket || !*bucket)
		return err_set(e, WEFT_EINVAL, "bucket name is empty");
	size_t len = strlen(bucket);
	if (len > BUCKET_MAX)
		return err_set(e, WEFT_EINVAL, "bucket name '%s' is too long (%zu characters, at most %d)",
			       objects_show(bucket, show, sizeof show), len, BUCKET_MAX);
	if (bucket[0] == '.')
		return err_set(e, WEFT_EINVAL, "bucket name '%s' must not start with '.'",
			       objects_show(bucket, show, sizeof show));
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)bucket[i];
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
		    c == '_' || c == '-')
			continue;
		char bad[8];
		objects_show((char[]){ (char)c, 0 }, bad, sizeof bad);
		return err_set(e, WEFT_EINVAL,
			       "bucket name '%s' has '%s' at position %zu (allowed: letters, digits, '.', '_', '-')",
			       objects_show(bucket, show, sizeof show), bad, i + 1);
	}
	return 0;
}

int objects_valid_key(const char *key, struct weft_err *e)
{
	char show[160];
	if (!key || !*key)
		return err_set(e, WEFT_EINVAL, "object key is empty");
	size_t len = strlen(key);
	if (len > KEY_MAX)
		return err_set(e, WEFT_EINVAL, "object key '%s' is too long (%zu bytes, at most %d)",
			       objects_show(key, show, sizeof show), len, KEY_MAX);
	if (key[0] == '/')
		return err_set(e, WEFT_EINVAL, "object key '%s' must be a relative path (it starts with '/')",
			       objects_show(key, show, sizeof show));
	if (!valid_utf8((const unsigned char *)key))
		return err_set(e, WEFT_EINVAL, "object key '%s' is not valid UTF-8",
			       objects_show(key, show, sizeof show));
	if (strchr(key, '\\'))
		return err_set(e, WEFT_EINVAL, "object key '%s' contains a backslash",
			       objects_show(key, show, sizeof show));
	for (const char *seg = key;;) {
		const char *end = strchrnul(seg, '/');
		size_t n = (size_t)(end - seg);
		if (n == 0)
			return err_set(e, WEFT_EINVAL, "object key '%s' has an empty path segment ('//' or a trailing '/')",
				       objects_show(key, show, sizeof show));
		if ((n == 1 && seg[0] == '.') || (n == 2 && seg[0] == '.' && seg[1] == '.'))
			return err_set(e, WEFT_EINVAL, "object key '%s' has a '%.*s' path segment",
				       objects_show(key, show, sizeof show), (int)n, seg);
		if (n > SEGMENT_MAX)
			return err_set(e, WEFT_EINVAL, "object key '%s' has a path segment longer than %d bytes",
				       objects_show(key, show, sizeof show), SEGMENT_MAX);
		if (n >= strlen(TMP_PREFIX) && !strncmp(seg, TMP_PREFIX, strlen(TMP_PREFIX)))
			return err_set(e, WEFT_EINVAL,
				       "object key '%s' has a segment starting with '" TMP_PREFIX
				       "' (reserved for uploads in progress)",
				       objects_show(key, show, sizeof show));
		if (!*end)
			break;
		seg = end + 1;
	}
	return 0;
}

char *objects_bucket_path(const char *root, const char *bucket)
{
	return fs_join(root, bucket);
}

int objects_open_dir_at(int dirfd, const char *relpath, int create, struct weft_err *e)
{
	char show[160];
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return err_sys(e, "cannot open directory");
	const char *seg = relpath;
	while (*seg) {
		const char *end = strchrnul(seg, '/');
		size_t n = (size_t)(end - seg);
		const char *next = *end ? end + 1 : end;
		if (n == 0 || (n == 1 && seg[0] == '.')) {
			seg = next;
			continue;
		}
		if (n == 2 && seg[0] == '.' && seg[1] == '.') {
			close(fd);
			return err_set(e, WEFT_EINVAL, "path '%s' has a '..' segment",
				       objects_show(relpath, show, sizeof show));
		}
		if (n > SEGMENT_MAX) {
			close(fd);
			return err_set(e, WEFT_EINVAL, "path '%s' has a segment longer than %d bytes",
				       objects_show(relpath, show, sizeof show), SEGMENT_MAX);
		}
		char name[SEGMENT_MAX + 1];
		memcpy(name, seg, n);
		name[n] = '\0';
		int sub = openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sub < 0 && errno == ENOENT && create) {
			if (mkdirat(fd, name, 0755) < 0 && errno != EEXIST)
				goto fail;
			sub = openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		}
		if (sub < 0)
			goto fail;
		close(fd);
		fd = sub;
		seg = next;
		continue;
	fail:;
		int err = errno, rc;
		struct stat st; /* O_DIRECTORY|O_NOFOLLOW says ENOTDIR for a link */
		if (err == ENOTDIR && fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
			err = ELOOP;
		char *upto = xstrndup(relpath, (size_t)(end - relpath));
		objects_show(upto, show, sizeof show);
		free(upto);
		close(fd);
		if (err == ENOENT)
			rc = err_set(e, WEFT_ENOTFOUND, "'%s' does not exist", show);
		else if (err == ELOOP)
			rc = err_set(e, WEFT_EPERM, "'%s' is a symbolic link; refusing to follow it", show);
		else if (err == ENOTDIR)
			rc = err_set(e, WEFT_ECONFLICT, "'%s' is a file, not a directory", show);
		else {
			errno = err;
			rc = err_sys(e, "cannot open or create directory '%s'", show);
		}
		return rc;
	}
	return fd;
}

/* Opens ROOT (following links: the operator chose it) and then the bucket
 * without following one. */
static int open_bucket(const char *root, const char *bucket, int create, struct weft_err *e)
{
	int rc = objects_valid_bucket(bucket, e);
	if (rc)
		return rc;
	if (create && (rc = fs_mkdir_p(root, 0755, e)))
		return rc;
	int rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0) {
		if (errno == ENOENT && !create)
			return err_set(e, WEFT_ENOTFOUND, "no bucket '%s'", bucket);
		return err_sys(e, "cannot open object store %s", root);
	}
	int fd = objects_open_dir_at(rootfd, bucket, create, e);
	close(rootfd);
	if (fd == WEFT_ECONFLICT && create)
		return err_set(e, WEFT_ECONFLICT, "cannot create bucket '%s': a file of that name exists", bucket);
	if (fd == WEFT_ENOTFOUND || fd == WEFT_ECONFLICT)
		return err_set(e, WEFT_ENOTFOUND, "no bucket '%s'", bucket);
	if (fd == WEFT_EPERM)
		return err_set(e, WEFT_EPERM, "bucket '%s' is a symbolic link; refusing to follow it", bucket);
	return fd;
}

int objects_bucket_exists(const char *root, const char *bucket)
{
	int fd = open_bucket(root, bucket, 0, NULL);
	if (fd < 0)
		return 0;
	close(fd);
	return 1;
}

int objects_bucket_create(const char *root, const char *bucket, struct weft_err *e)
{
	int fd = open_bucket(root, bucket, 1, e);
	if (fd < 0)
		return fd;
	close(fd);
	return 0;
}

struct objects_put {
	int dirfd;     /* the directory the object goes into */
	int fd;        /* the temp file */
	char *tmpname; /* ".tmp-<hex>" in dirfd */
	char *leaf;    /* the object's file name in dirfd */
	char *key;     /* for messages */
	long long size;
};

static void put_free(struct objects_put *p)
{
	if (p->fd >= 0)
		close(p->fd);
	if (p->dirfd >= 0)
		close(p->dirfd);
	free(p->tmpname);
	free(p->leaf);
	free(p->key);
	free(p);
}

int objects_put_begin(const char *root, const char *bucket, const char *key, struct objects_put **out,
		      struct weft_err *e)
{
	char show[160];
	*out = NULL;
	int rc = objects_valid_key(key, e);
	if (rc)
		return rc;
	int bfd = open_bucket(root, bucket, 1, e);
	if (bfd < 0)
		return bfd;
	const char *slash = strrchr(key, '/');
	int dfd = bfd;
	if (slash) {
		char *parent = xstrndup(key, (size_t)(slash - key));
		struct weft_err sub;
		dfd = objects_open_dir_at(bfd, parent, 1, &sub);
		free(parent);
		close(bfd);
		if (dfd < 0) {
			if (dfd == WEFT_ECONFLICT || dfd == WEFT_EPERM)
				return err_set(e, WEFT_ECONFLICT, "cannot store object '%s' in bucket '%s': %s",
					       objects_show(key, show, sizeof show), bucket, sub.msg);
			return err_set(e, dfd, "bucket '%s': %s", bucket, sub.msg);
		}
	}
	struct objects_put *p = xcalloc(1, sizeof *p);
	p->dirfd = dfd;
	p->fd = -1;
	p->leaf = xstrdup(slash ? slash + 1 : key);
	p->key = xstrdup(key);
	for (int tries = 0; tries < 16 && p->fd < 0; tries++) {
		unsigned char rnd[8];
		if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd) {
			unsigned long long v = (unsigned long long)getpid() * 2654435761u ^ (unsigned long long)tries;
			memcpy(rnd, &v, sizeof rnd);
		}
		free(p->tmpname);
		p->tmpname = xasprintf(TMP_PREFIX "%02x%02x%02x%02x%02x%02x%02x%02x", rnd[0], rnd[1], rnd[2],
				       rnd[3], rnd[4], rnd[5], rnd[6], rnd[7]);
		p->fd = openat(dfd, p->tmpname, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
		if (p->fd < 0 && errno != EEXIST)
			break;
	}
	if (p->fd < 0) {
		err_sys(e, "cannot create a temporary file for object '%s' in bucket '%s'",
			objects_show(key, show, sizeof show), bucket);
		put_free(p);
		return WEFT_EIO;
	}
	*out = p;
	return 0;
}

int objects_put_write(struct objects_put *p, const void *data, size_t len, struct weft_err *e)
{
	const char *s = data;
	while (len) {
		ssize_t w = write(p->fd, s, len);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			char show[160];
			return err_sys(e, "cannot write object '%s'", objects_show(p->key, show, sizeof show));
		}
		s += w;
		len -= (size_t)w;
		p->size += w;
	}
	return 0;
}

int objects_put_commit(struct objects_put *p, struct weft_err *e)
{
	char show[160];
	int rc = 0;
	objects_show(p->key, show, sizeof show);
	if (fsync(p->fd) < 0) {
		rc = err_sys(e, "cannot sync object '%s'", show);
		goto fail;
	}
	int fd = p->fd;
	p->fd = -1;
	if (close(fd) < 0) {
		rc = err_sys(e, "cannot write object '%s'", show);
		goto fail;
	}
	/* renameat replaces a symbolic link at the target rather than following it. */
	if (renameat(p->dirfd, p->tmpname, p->dirfd, p->leaf) < 0) {
		if (errno == EISDIR || errno == ENOTEMPTY || errno == EEXIST)
			rc = err_set(e, WEFT_ECONFLICT, "cannot store object '%s': a folder of that name exists", show);
		else
			rc = err_sys(e, "cannot store object '%s'", show);
		goto fail;
	}
	fsync(p->dirfd); /* make the rename durable; a failure here loses nothing already visible */
	put_free(p);
	return 0;
fail:
	unlinkat(p->dirfd, p->tmpname, 0);
	put_free(p);
	return rc;
}

void objects_put_abort(struct objects_put *p)
{
	if (!p)
		return;
	unlinkat(p->dirfd, p->tmpname, 0);
	put_free(p);
}

struct listed {
	char *key;
	long long size;
	int64_t modified;
};

struct listing {
	struct listed *v;
	size_t n, cap;
	const char *prefix;
	size_t prefix_len;
};

/* Walks the directory dirfd (whose keys start with rel, "" or ending in '/');
 * takes ownership of dirfd. Symbolic links and special files are skipped. */
static int list_dir(int dirfd, struct sbuf *rel, struct listing *ls, int depth, struct weft_err *e)
{
	if (depth > 512) { /* keys are at most 1024 bytes, so deeper trees were not made by puts */
		close(dirfd);
		return 0;
	}
	DIR *d = fdopendir(dirfd);
	if (!d) {
		close(dirfd);
		return err_sys(e, "cannot read directory '%s'", sb_str(rel));
	}
	int rc = 0;
	size_t base = rel->len;
	struct dirent *de;
	while (rc == 0 && (errno = 0, de = readdir(d))) {
		const char *name = de->d_name;
		if (!strcmp(name, ".") || !strcmp(name, "..") || !strncmp(name, TMP_PREFIX, strlen(TMP_PREFIX)))
			continue;
		struct stat st;
		if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue; /* removed while we walk */
		rel->len = base;
		sb_adds(rel, name);
		if (S_ISDIR(st.st_mode)) {
			sb_addc(rel, '/');
			size_t m = rel->len < ls->prefix_len ? rel->len : ls->prefix_len;
			if (strncmp(rel->buf, ls->prefix, m))
				continue; /* nothing below can match the prefix */
			int sub = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub >= 0)
				rc = list_dir(sub, rel, ls, depth + 1, e);
		} else if (S_ISREG(st.st_mode)) {
			if (strncmp(rel->buf, ls->prefix, ls->prefix_len) ||
			    !valid_utf8((const unsigned char *)rel->buf))
				continue; /* not a key a put could have made; JSON cannot carry it */
			if (ls->n == ls->cap) {
				ls->cap = ls->cap ? ls->cap * 2 : 64;
				ls->v = xrealloc(ls->v, ls->cap * sizeof *ls->v);
			}
			struct listed *o = &ls->v[ls->n++];
			o->key = xstrndup(rel->buf, rel->len);
			o->size = (long long)st.st_size;
			o->modified = (int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000;
		}
	}
	if (rc == 0 && errno)
		rc = err_sys(e, "cannot read directory '%s'", sb_str(rel));
	rel->len = base;
	if (rel->buf)
		rel->buf[base] = '\0';
	closedir(d);
	return rc;
}

static int cmp_listed(const void *a, const void *b)
{
	return strcmp(((const struct listed *)a)->key, ((const struct listed *)b)->key);
}

int objects_list(const char *root, const char *bucket, const char *prefix, json_t **out, struct weft_err *e)
{
	*out = NULL;
	int fd = open_bucket(root, bucket, 0, e);
	if (fd < 0)
		return fd;
	struct listing ls = { .prefix = prefix ? prefix : "" };
	ls.prefix_len = strlen(ls.prefix);
	struct sbuf rel = SBUF_INIT;
	int rc = list_dir(fd, &rel, &ls, 0, e);
	sb_release(&rel);
	if (rc == 0) {
		if (ls.n)
			qsort(ls.v, ls.n, sizeof *ls.v, cmp_listed);
		json_t *arr = json_array();
		for (size_t i = 0; i < ls.n; i++)
			json_array_append_new(arr, json_pack("{s:s%, s:I, s:I}", "key", ls.v[i].key, strlen(ls.v[i].key),
							     "size", (json_int_t)ls.v[i].size, "modified",
							     (json_int_t)ls.v[i].modified));
		*out = arr;
	}
	for (size_t i = 0; i < ls.n; i++)
		free(ls.v[i].key);
	free(ls.v);
	return rc;
}

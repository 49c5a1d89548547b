/* zipio.c - the zip helpers (libzip): checking a submitted model zip,
 * unpacking it for the learners, and zipping a results tree for download.
 * A zip is user input: names are checked so no entry escapes the directory it
 * is unpacked into, sizes and counts are capped, and files are created one
 * component at a time with O_NOFOLLOW (objects_open_dir_at). */
#include "store/objects.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/mem.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zip.h>

#define ZIP_MAX_ENTRIES 100000
#define ZIP_MAX_TOTAL (4ULL << 30) /* uncompressed bytes, all entries together */
#define DEFAULT_LABEL "model_definition"

/* The Unix mode stored in an entry's external attributes, or 0 when the zip
 * was made elsewhere (then callers use 0644 files / 0755 directories). */
static mode_t entry_mode(zip_t *za, zip_uint64_t i)
{
	zip_uint8_t opsys;
	zip_uint32_t attr;
	if (zip_file_get_external_attributes(za, i, 0, &opsys, &attr) < 0 || opsys != ZIP_OPSYS_UNIX)
		return 0;
	return (mode_t)(attr >> 16);
}

static int name_is_dir(const char *name)
{
	size_t n = strlen(name);
	return n > 0 && name[n - 1] == '/';
}

/* Checks one entry name: relative, no backslash, no ".." segment. */
static int check_name(const char *label, const char *name, zip_uint64_t i, struct weft_err *e)
{
	char show[200];
	if (!*name)
		return err_set(e, WEFT_EINVAL, "%s: entry %llu has an empty name", label, (unsigned long long)i + 1);
	objects_show(name, show, sizeof show);
	if (name[0] == '/')
		return err_set(e, WEFT_EINVAL, "%s: entry '%s' is an absolute path", label, show);
	if (strchr(name, '\\'))
		return err_set(e, WEFT_EINVAL, "%s: entry '%s' contains a backslash", label, show);
	for (const char *seg = name;;) {
		const char *end = strchrnul(seg, '/');
		if (end - seg == 2 && seg[0] == '.' && seg[1] == '.')
			return err_set(e, WEFT_EINVAL, "%s: entry '%s' escapes the model directory", label, show);
		if (end - seg > 255)
			return err_set(e, WEFT_EINVAL, "%s: entry '%s' has a path segment longer than 255 bytes", label,
				       show);
		if (!*end)
			break;
		seg = end + 1;
	}
	return 0;
}

/* Everything zip_validate promises, on an open archive. */
static int check_archive(zip_t *za, const char *label, struct weft_err *e)
{
	char show[200];
	zip_int64_t n = zip_get_num_entries(za, 0);
	if (n < 1)
		return err_set(e, WEFT_EINVAL, "%s: the zip file has no entries", label);
	if (n > ZIP_MAX_ENTRIES)
		return err_set(e, WEFT_ETOOBIG, "%s: the zip file has %lld entries (at most %d)", label, (long long)n,
			       ZIP_MAX_ENTRIES);
	zip_uint64_t total = 0;
	for (zip_uint64_t i = 0; i < (zip_uint64_t)n; i++) {
		const char *name = zip_get_name(za, i, 0);
		if (!name)
			return err_set(e, WEFT_EINVAL, "%s: cannot read the name of entry %llu: %s", label,
				       (unsigned long long)i + 1, zip_strerror(za));
		int rc = check_name(label, name, i, e);
		if (rc)
			return rc;
		objects_show(name, show, sizeof show);
		zip_stat_t st;
		if (zip_stat_index(za, i, 0, &st) < 0)
			return err_set(e, WEFT_EINVAL, "%s: cannot read entry '%s': %s", label, show, zip_strerror(za));
		if ((st.valid & ZIP_STAT_SIZE) && st.size > ZIP_MAX_TOTAL - total)
			return err_set(e, WEFT_ETOOBIG, "%s: the entries add up to more than 4 GiB uncompressed", label);
		if (st.valid & ZIP_STAT_SIZE)
			total += st.size;
		if ((st.valid & ZIP_STAT_ENCRYPTION_METHOD) && st.encryption_method != ZIP_EM_NONE)
			return err_set(e, WEFT_EINVAL, "%s: entry '%s' is encrypted", label, show);
		if ((st.valid & ZIP_STAT_COMP_METHOD) && !zip_compression_method_supported(st.comp_method, 0))
			return err_set(e, WEFT_EINVAL, "%s: entry '%s' uses an unsupported compression method (%d)",
				       label, show, (int)st.comp_method);
		/* Symbolic links are refused rather than skipped: a model that
		 * silently lacks a file fails later in a more confusing way, and a
		 * link is the classic way out of the unpack directory. */
		if (S_ISLNK(entry_mode(za, i)))
			return err_set(e, WEFT_EINVAL, "%s: entry '%s' is a symbolic link (not supported)", label, show);
	}
	return 0;
}

static int open_error(const char *label, int code, struct weft_err *e)
{
	zip_error_t ze;
	zip_error_init_with_code(&ze, code);
	int rc = err_set(e, WEFT_EINVAL, "%s is not a zip file: %s", label, zip_error_strerror(&ze));
	zip_error_fini(&ze);
	return rc;
}

/* Archives are opened without ZIP_CHECKCONS: libzip's consistency check
 * rejects zips that common tools write (macOS Archive Utility: libzip issue
 * #341). Truncation is still caught (no end record), and damaged data fails
 * its CRC when zip_extract reads it. */
static int open_path(const char *path, const char *label, zip_t **out, struct weft_err *e)
{
	int code = 0;
	*out = zip_open(path, ZIP_RDONLY, &code);
	if (*out)
		return 0;
	if (code == ZIP_ER_OPEN || code == ZIP_ER_READ || code == ZIP_ER_NOENT) {
		zip_error_t ze;
		zip_error_init_with_code(&ze, code);
		int rc = err_set(e, WEFT_EIO, "cannot read %s: %s", path, zip_error_strerror(&ze));
		zip_error_fini(&ze);
		return rc;
	}
	return open_error(label, code, e);
}

int zip_validate_as(const char *path, const char *label, struct weft_err *e)
{
	zip_t *za;
	int rc = open_path(path, label, &za, e);
	if (rc)
		return rc;
	rc = check_archive(za, label, e);
	zip_discard(za);
	return rc;
}

int zip_validate(const char *path, struct weft_err *e)
{
	return zip_validate_as(path, DEFAULT_LABEL, e);
}

int zip_validate_buf(const void *data, size_t len, struct weft_err *e)
{
	zip_error_t ze;
	zip_error_init(&ze);
	zip_source_t *src = zip_source_buffer_create(len ? data : NULL, len, 0, &ze);
	if (!src) {
		zip_error_fini(&ze);
		return err_set(e, WEFT_EIO, "%s: cannot read the zip from memory", DEFAULT_LABEL);
	}
	zip_t *za = zip_open_from_source(src, ZIP_RDONLY, &ze);
	if (!za) {
		int rc = open_error(DEFAULT_LABEL, zip_error_code_zip(&ze), e);
		zip_source_free(src);
		zip_error_fini(&ze);
		return rc;
	}
	zip_error_fini(&ze);
	int rc = check_archive(za, DEFAULT_LABEL, e);
	zip_discard(za); /* frees src too */
	return rc;
}

/* Splits name into (parent directory, leaf) at the last '/' and opens the
 * parent below rootfd, creating it. Returns the parent's fd. */
static int open_parent(int rootfd, const char *name, const char **leaf, struct weft_err *e)
{
	const char *slash = strrchr(name, '/');
	if (!slash) {
		*leaf = name;
		return openat(rootfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	}
	*leaf = slash + 1;
	char *parent = xstrndup(name, (size_t)(slash - name));
	int fd = objects_open_dir_at(rootfd, parent, 1, e);
	free(parent);
	return fd;
}

static int extract_file(zip_t *za, zip_uint64_t i, const char *label, const char *name, int rootfd,
			struct weft_err *e)
{
	char show[200];
	objects_show(name, show, sizeof show);
	zip_stat_t st;
	if (zip_stat_index(za, i, 0, &st) < 0)
		return err_set(e, WEFT_EINVAL, "%s: cannot read entry '%s': %s", label, show, zip_strerror(za));
	const char *leaf;
	struct weft_err sub;
	int dfd = open_parent(rootfd, name, &leaf, &sub);
	if (dfd < 0)
		return err_set(e, dfd == WEFT_EIO ? WEFT_EIO : WEFT_EINVAL, "%s: cannot unpack entry '%s': %s",
			       label, show, sub.msg);
	if (!strcmp(leaf, ".")) { /* "a/." names the directory a; nothing to write */
		close(dfd);
		return 0;
	}
	int rc = 0;
	int fd = openat(dfd, leaf, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		if (errno == EISDIR)
			rc = err_set(e, WEFT_EINVAL, "%s: entry '%s' clashes with a directory of the same name", label,
				     show);
		else if (errno == ENAMETOOLONG)
			rc = err_set(e, WEFT_EINVAL, "%s: entry '%s' has a name too long for this file system", label,
				     show);
		else if (errno == ELOOP)
			rc = err_set(e, WEFT_EPERM, "%s: '%s' is a symbolic link; refusing to write through it", label,
				     show);
		else
			rc = err_sys(e, "%s: cannot create '%s'", label, show);
		close(dfd);
		return rc;
	}
	zip_file_t *zf = zip_fopen_index(za, i, 0);
	if (!zf) {
		rc = err_set(e, WEFT_EINVAL, "%s: cannot read entry '%s': %s", label, show, zip_strerror(za));
		goto out;
	}
	char buf[65536];
	zip_uint64_t written = 0;
	for (;;) {
		zip_int64_t n = zip_fread(zf, buf, sizeof buf);
		if (n < 0) {
			rc = err_set(e, WEFT_EINVAL, "%s: cannot read entry '%s': %s", label, show,
				     zip_error_strerror(zip_file_get_error(zf)));
			break;
		}
		if (n == 0)
			break;
		written += (zip_uint64_t)n;
		if ((st.valid & ZIP_STAT_SIZE) && written > st.size) { /* a lying header must not fill the disk */
			rc = err_set(e, WEFT_EINVAL, "%s: entry '%s' holds more data than its header says", label,
				     show);
			break;
		}
		for (char *p = buf; n > 0;) {
			ssize_t w = write(fd, p, (size_t)n);
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0) {
				rc = err_sys(e, "%s: cannot write '%s'", label, show);
				break;
			}
			p += w;
			n -= w;
		}
		if (rc)
			break;
	}
	zip_fclose(zf);
	if (rc == 0) {
		mode_t mode = entry_mode(za, i) & 07777 & ~(mode_t)(S_ISUID | S_ISGID);
		mode = mode ? mode | 0600 : 0644; /* the owner can always read and clean up */
		if (fchmod(fd, mode) < 0)
			rc = err_sys(e, "%s: cannot set the mode of '%s'", label, show);
		if (rc == 0 && (st.valid & ZIP_STAT_MTIME)) {
			struct timespec ts[2] = { { st.mtime, 0 }, { st.mtime, 0 } };
			futimens(fd, ts);
		}
	}
out:
	if (close(fd) < 0 && rc == 0)
		rc = err_sys(e, "%s: cannot write '%s'", label, show);
	close(dfd);
	return rc;
}

/* Unpacks an archive that passed check_archive. Directory modes are applied
 * after all files are in, so a read-only directory cannot block its own
 * contents. On failure dir may hold part of the tree; the caller removes it. */
static int extract_archive(zip_t *za, const char *label, const char *dir, struct weft_err *e)
{
	int rc = fs_mkdir_p(dir, 0755, e);
	if (rc)
		return rc;
	int rootfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return err_sys(e, "cannot open %s", dir);
	zip_int64_t n = zip_get_num_entries(za, 0);
	zip_uint64_t *dirs = NULL;
	size_t ndirs = 0;
	for (zip_uint64_t i = 0; rc == 0 && i < (zip_uint64_t)n; i++) {
		const char *name = zip_get_name(za, i, 0);
		if (!name) {
			rc = err_set(e, WEFT_EINVAL, "%s: cannot read the name of entry %llu", label,
				     (unsigned long long)i + 1);
			break;
		}
		mode_t mode = entry_mode(za, i);
		if (name_is_dir(name) || S_ISDIR(mode)) {
			struct weft_err sub;
			int fd = objects_open_dir_at(rootfd, name, 1, &sub);
			if (fd < 0) {
				char show[200];
				rc = err_set(e, fd == WEFT_EIO ? WEFT_EIO : WEFT_EINVAL, "%s: cannot unpack entry '%s': %s",
					     label, objects_show(name, show, sizeof show), sub.msg);
				break;
			}
			close(fd);
			if (mode & 07777) {
				dirs = xrealloc(dirs, (ndirs + 1) * sizeof *dirs);
				dirs[ndirs++] = i;
			}
		} else {
			rc = extract_file(za, i, label, name, rootfd, e);
		}
	}
	for (size_t k = ndirs; rc == 0 && k-- > 0;) {
		const char *name = zip_get_name(za, dirs[k], 0);
		int fd = name ? objects_open_dir_at(rootfd, name, 0, NULL) : -1;
		if (fd < 0)
			continue;
		mode_t mode = (entry_mode(za, dirs[k]) & 07777 & ~(mode_t)(S_ISUID | S_ISGID)) | 0700;
		if (fchmod(fd, mode) < 0)
			rc = err_sys(e, "%s: cannot set the mode of directory '%s'", label, name);
		close(fd);
	}
	free(dirs);
	close(rootfd);
	return rc;
}

int zip_extract(const char *zip_path, const char *dir, struct weft_err *e)
{
	zip_t *za;
	int rc = open_path(zip_path, zip_path, &za, e);
	if (rc)
		return rc;
	rc = check_archive(za, zip_path, e);
	if (rc == 0)
		rc = extract_archive(za, zip_path, dir, e);
	zip_discard(za);
	return rc;
}

/* --- creating zips --- */

struct tree_entry {
	char *name; /* relative to the tree, "dir/" for directories */
	char *path; /* on disk */
	mode_t mode;
	time_t mtime;
};

struct tree {
	struct tree_entry *v;
	size_t n, cap;
};

/* Collects the tree under path (entry names rel + child). Symbolic links and
 * special files are skipped: following a link could put files from outside
 * the tree (say, the server's database) into a zip users download. */
static int collect(const char *path, const char *rel, struct tree *t, int depth, struct weft_err *e)
{
	if (depth > 256)
		return err_set(e, WEFT_EINVAL, "%s: the tree is nested too deeply", path);
	DIR *d = opendir(path);
	if (!d)
		return err_sys(e, "cannot open directory %s", path);
	int rc = 0;
	struct dirent *de;
	while (rc == 0 && (errno = 0, de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		char *child = fs_join(path, de->d_name);
		struct stat st;
		if (lstat(child, &st) < 0 || !(S_ISDIR(st.st_mode) || S_ISREG(st.st_mode))) {
			if (S_ISLNK(st.st_mode))
				log_debug("zip: skipping symbolic link %s", child);
			free(child);
			continue;
		}
		if (t->n == t->cap) {
			t->cap = t->cap ? t->cap * 2 : 64;
			t->v = xrealloc(t->v, t->cap * sizeof *t->v);
		}
		struct tree_entry *te = &t->v[t->n++];
		int isdir = S_ISDIR(st.st_mode);
		te->name = xasprintf("%s%s%s", rel, de->d_name, isdir ? "/" : "");
		te->path = child;
		te->mode = st.st_mode;
		te->mtime = st.st_mtime;
		if (isdir)
			rc = collect(child, te->name, t, depth + 1, e);
	}
	if (rc == 0 && errno)
		rc = err_sys(e, "cannot read directory %s", path);
	closedir(d);
	return rc;
}

static int cmp_entry(const void *a, const void *b)
{
	return strcmp(((const struct tree_entry *)a)->name, ((const struct tree_entry *)b)->name);
}

/* libzip removes the file instead of writing an archive with no entries; an
 * empty archive is just the end-of-central-directory record. */
static int write_empty_zip(const char *out_path, struct weft_err *e)
{
	static const unsigned char eocd[22] = { 'P', 'K', 5, 6 };
	return fs_write_file_atomic(out_path, eocd, sizeof eocd, 0644, e);
}

static int add_entry(zip_t *za, const struct tree_entry *te, const char *name, struct weft_err *e)
{
	zip_int64_t idx;
	mode_t type;
	if (S_ISDIR(te->mode)) {
		idx = zip_dir_add(za, name, ZIP_FL_ENC_GUESS);
		type = S_IFDIR;
	} else {
		zip_source_t *src = zip_source_file_create(te->path, 0, -1, NULL);
		if (!src)
			return err_sys(e, "cannot read %s", te->path);
		idx = zip_file_add(za, name, src, ZIP_FL_ENC_GUESS);
		if (idx < 0)
			zip_source_free(src);
		type = S_IFREG;
	}
	if (idx < 0 ||
	    (type == S_IFREG && zip_set_file_compression(za, (zip_uint64_t)idx, ZIP_CM_DEFLATE, 0) < 0) ||
	    zip_file_set_external_attributes(za, (zip_uint64_t)idx, 0, ZIP_OPSYS_UNIX,
					     (zip_uint32_t)(type | (te->mode & 07777)) << 16 |
						     (type == S_IFDIR ? 0x10 : 0)) < 0 ||
	    zip_file_set_mtime(za, (zip_uint64_t)idx, te->mtime, 0) < 0)
		return err_set(e, WEFT_EIO, "cannot add %s to the zip: %s", te->path, zip_strerror(za));
	return 0;
}

int zip_create_from_dir(const char *dir, const char *prefix, const char *out_path, struct weft_err *e)
{
	char *pfx = NULL;
	if (prefix) {
		size_t n = strlen(prefix);
		while (n > 0 && prefix[n - 1] == '/')
			n--;
		pfx = xstrndup(prefix, n);
		if (n > 0 && objects_valid_key(pfx, e) < 0) {
			free(pfx);
			return WEFT_EINVAL;
		}
		if (n == 0) {
			free(pfx);
			pfx = NULL;
		}
	}
	struct tree t = { 0 };
	int rc = 0;
	struct stat st;
	if (stat(dir, &st) < 0)
		rc = errno == ENOENT ? err_set(e, WEFT_ENOTFOUND, "cannot zip %s: no such directory", dir)
				     : err_sys(e, "cannot zip %s", dir);
	else if (!S_ISDIR(st.st_mode))
		rc = err_set(e, WEFT_EINVAL, "cannot zip %s: not a directory", dir);
	if (rc == 0)
		rc = collect(dir, "", &t, 0, e);
	if (rc == 0 && t.n)
		qsort(t.v, t.n, sizeof *t.v, cmp_entry);
	if (rc == 0 && t.n == 0 && !pfx) {
		rc = write_empty_zip(out_path, e);
		goto out;
	}
	if (rc)
		goto out;
	int code = 0;
	zip_t *za = zip_open(out_path, ZIP_CREATE | ZIP_TRUNCATE, &code);
	if (!za) {
		zip_error_t ze;
		zip_error_init_with_code(&ze, code);
		rc = err_set(e, WEFT_EIO, "cannot create %s: %s", out_path, zip_error_strerror(&ze));
		zip_error_fini(&ze);
		goto out;
	}
	if (pfx) {
		struct tree_entry top = { .path = (char *)dir, .mode = st.st_mode, .mtime = st.st_mtime };
		char *name = xasprintf("%s/", pfx);
		rc = add_entry(za, &top, name, e);
		free(name);
	}
	for (size_t i = 0; rc == 0 && i < t.n; i++) {
		char *name = pfx ? xasprintf("%s/%s", pfx, t.v[i].name) : xstrdup(t.v[i].name);
		rc = add_entry(za, &t.v[i], name, e);
		free(name);
	}
	if (rc == 0 && zip_close(za) < 0)
		rc = err_set(e, WEFT_EIO, "cannot write %s: %s", out_path, zip_strerror(za));
	else if (rc == 0)
		za = NULL;
	if (za)
		zip_discard(za);
out:
	for (size_t i = 0; i < t.n; i++) {
		free(t.v[i].name);
		free(t.v[i].path);
	}
	free(t.v);
	free(pfx);
	return rc;
}

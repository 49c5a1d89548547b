/* fs.c - file-system helpers (mkdir -p, rm -rf, copy, atomic writes). */
#include "util/fs.h"
#include "util/mem.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

char *fs_join(const char *a, const char *b)
{
	size_t la = strlen(a);
	while (la > 1 && a[la - 1] == '/')
		la--;
	while (*b == '/')
		b++;
	return xasprintf("%.*s/%s", (int)la, a, b);
}

int fs_mkdir_p(const char *path, mode_t mode, struct weft_err *e)
{
	char *p = xstrdup(path);
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, mode) < 0 && errno != EEXIST) {
			err_sys(e, "cannot create directory %s", p);
			free(p);
			return WEFT_EIO;
		}
		*s = '/';
	}
	if (mkdir(p, mode) < 0 && errno != EEXIST) {
		err_sys(e, "cannot create directory %s", p);
		free(p);
		return WEFT_EIO;
	}
	free(p);
	return 0;
}

int fs_rm_rf(const char *path, struct weft_err *e)
{
	struct stat st;
	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : err_sys(e, "cannot stat %s", path);
	if (S_ISDIR(st.st_mode)) {
		DIR *d = opendir(path);
		if (!d)
			return err_sys(e, "cannot open directory %s", path);
		struct dirent *de;
		int rc = 0;
		while ((de = readdir(d)) && rc == 0) {
			if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
				continue;
			char *child = fs_join(path, de->d_name);
			rc = fs_rm_rf(child, e);
			free(child);
		}
		closedir(d);
		if (rc)
			return rc;
		if (rmdir(path) < 0 && errno != ENOENT)
			return err_sys(e, "cannot remove %s", path);
		return 0;
	}
	if (unlink(path) < 0 && errno != ENOENT)
		return err_sys(e, "cannot remove %s", path);
	return 0;
}

int fs_copy_file(const char *src, const char *dst, struct weft_err *e)
{
	int in = open(src, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return err_sys(e, "cannot open %s", src);
	struct stat st;
	fstat(in, &st);
	int out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, st.st_mode & 0777);
	if (out < 0) {
		close(in);
		return err_sys(e, "cannot create %s", dst);
	}
	char buf[65536];
	ssize_t n;
	int rc = 0;
	while ((n = read(in, buf, sizeof buf)) > 0) {
		char *p = buf;
		while (n > 0) {
			ssize_t w = write(out, p, (size_t)n);
			if (w < 0) {
				if (errno == EINTR)
					continue;
				rc = err_sys(e, "cannot write %s", dst);
				goto out;
			}
			p += w;
			n -= w;
		}
	}
	if (n < 0)
		rc = err_sys(e, "cannot read %s", src);
	else if (fsync(out) < 0)
		rc = err_sys(e, "cannot sync %s", dst);
out:
	close(in);
	if (close(out) < 0 && rc == 0)
		rc = err_sys(e, "cannot write %s", dst);
	return rc;
}

int fs_copy_tree(const char *src, const char *dst, struct weft_err *e)
{
	struct stat st;
	if (lstat(src, &st) < 0)
		return err_sys(e, "cannot stat %s", src);
	if (S_ISLNK(st.st_mode)) {
		char target[PATH_MAX];
		ssize_t n = readlink(src, target, sizeof target - 1);
		if (n < 0)
			return err_sys(e, "cannot read link %s", src);
		target[n] = '\0';
		unlink(dst);
		if (symlink(target, dst) < 0)
			return err_sys(e, "cannot create link %s", dst);
		return 0;
	}
	if (!S_ISDIR(st.st_mode))
		return S_ISREG(st.st_mode) ? fs_copy_file(src, dst, e) : 0;
	int rc = fs_mkdir_p(dst, 0755, e);
	if (rc)
		return rc;
	DIR *d = opendir(src);
	if (!d)
		return err_sys(e, "cannot open directory %s", src);
	struct dirent *de;
	while ((de = readdir(d)) && rc == 0) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		char *s = fs_join(src, de->d_name), *t = fs_join(dst, de->d_name);
		rc = fs_copy_tree(s, t, e);
		free(s);
		free(t);
	}
	closedir(d);
	return rc;
}

int fs_read_file(const char *path, struct sbuf *sb, struct weft_err *e)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_sys(e, "cannot open %s", path);
	sb_add(sb, "", 0); /* NUL-terminated even for an empty file */
	for (;;) {
		sb_grow(sb, 65536);
		ssize_t n = read(fd, sb->buf + sb->len, sb->cap - sb->len - 1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			close(fd);
			return err_sys(e, "cannot read %s", path);
		}
		if (n == 0)
			break;
		sb->len += (size_t)n;
		sb->buf[sb->len] = '\0';
	}
	close(fd);
	return 0;
}

int fs_write_file_atomic(const char *path, const void *data, size_t len, mode_t mode, struct weft_err *e)
{
	char *tmp = xasprintf("%s.tmp.%ld", path, (long)getpid());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0) {
		err_sys(e, "cannot create %s", tmp);
		free(tmp);
		return WEFT_EIO;
	}
	const char *p = data;
	size_t left = len;
	while (left) {
		ssize_t w = write(fd, p, left);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			err_sys(e, "cannot write %s", tmp);
			goto fail;
		}
		p += w;
		left -= (size_t)w;
	}
	if (fsync(fd) < 0) {
		err_sys(e, "cannot sync %s", tmp);
		goto fail;
	}
	close(fd);
	fd = -1;
	if (rename(tmp, path) < 0) {
		err_sys(e, "cannot rename %s to %s", tmp, path);
		goto fail;
	}
	free(tmp);
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	free(tmp);
	return WEFT_EIO;
}

int fs_exists(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0;
}

int fs_is_dir(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

long long fs_tree_size(const char *path)
{
	struct stat st;
	if (lstat(path, &st) < 0)
		return 0;
	if (S_ISREG(st.st_mode))
		return st.st_size;
	if (!S_ISDIR(st.st_mode))
		return 0;
	long long total = 0;
	DIR *d = opendir(path);
	if (!d)
		return 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		char *c = fs_join(path, de->d_name);
		total += fs_tree_size(c);
		free(c);
	}
	closedir(d);
	return total;
}

/* tfevents_find.c - tfe_find (see tfevents.h): lists the event files of a
 * TensorBoard log directory by run, as the `tensorboard` collector polls it.
 * Walks real directories first and linked ones after, so a run reached both
 * ways keeps its real name; links that leave the directory are not followed
 * and no directory or file is reported twice. */
#include "tds/tfevents.h"
#include "util/mem.h"
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct found_file {
	char *path, *group, *name;
	dev_t dev;
	ino_t ino;
	bool via_link; /* reached through a symbolic link */
	bool dup;
};

struct pending { /* a linked directory, walked after every real one */
	char *path, *rel;
	int depth;
};

struct walk {
	char *root_real;
	size_t root_len;
	struct { dev_t dev; ino_t ino; } *seen; /* directories walked */
	size_t n_seen, cap_seen;
	struct found_file *files;
	size_t n_files, cap_files;
	struct pending *links;
	size_t n_links, cap_links;
};

#define GROW(arr, n, cap)                                                    \
	do {                                                                 \
		if ((n) == (cap)) {                                          \
			(cap) = (cap) ? 2 * (cap) : 16;                      \
			(arr) = xrealloc((arr), (cap) * sizeof *(arr));      \
		}                                                            \
	} while (0)

/* Marks directory (dev, ino) walked; false if it already was. A log
 * directory holds few directories, so a linear scan will do. */
static bool walk_mark(struct walk *w, dev_t dev, ino_t ino)
{
	for (size_t i = 0; i < w->n_seen; i++)
		if (w->seen[i].dev == dev && w->seen[i].ino == ino)
			return false;
	GROW(w->seen, w->n_seen, w->cap_seen);
	w->seen[w->n_seen].dev = dev;
	w->seen[w->n_seen].ino = ino;
	w->n_seen++;
	return true;
}

/* Whether the symbolic link at path resolves inside the walked root. */
static bool link_inside(const struct walk *w, const char *path)
{
	char *real = realpath(path, NULL);
	if (!real)
		return false;
	bool in = strncmp(real, w->root_real, w->root_len) == 0 &&
		  (real[w->root_len] == '/' || real[w->root_len] == '\0' || w->root_len == 1);
	free(real);
	return in;
}

static void walk_dir(struct walk *w, const char *path, const char *rel, int depth, bool via_link)
{
	DIR *d = opendir(path);
	if (!d)
		return; /* unreadable subdirectory: skipped */
	struct dirent *de;
	while ((de = readdir(d))) {
		const char *name = de->d_name;
		if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
			continue;
		char *child = xasprintf("%s/%s", path, name);
		char *crel = *rel ? xasprintf("%s/%s", rel, name) : xstrdup(name);
		struct stat sb;
		bool ok = lstat(child, &sb) == 0, link = ok && S_ISLNK(sb.st_mode);
		if (link)
			ok = link_inside(w, child) && stat(child, &sb) == 0;
		if (ok && S_ISDIR(sb.st_mode) && depth < TFE_FIND_DEPTH) {
			if (link) {
				GROW(w->links, w->n_links, w->cap_links);
				w->links[w->n_links++] = (struct pending){ child, crel, depth + 1 };
				child = crel = NULL;
			} else if (walk_mark(w, sb.st_dev, sb.st_ino)) {
				walk_dir(w, child, crel, depth + 1, via_link);
			}
		} else if (ok && S_ISREG(sb.st_mode) && strstr(name, "tfevents")) {
			GROW(w->files, w->n_files, w->cap_files);
			w->files[w->n_files++] = (struct found_file){
				child, xstrdup(*rel ? rel : "."), xstrdup(name), sb.st_dev, sb.st_ino, via_link || link, false,
			};
			child = NULL;
		}
		free(crel);
		free(child);
	}
	closedir(d);
}

static int cmp_found(const void *pa, const void *pb)
{
	const struct found_file *a = pa, *b = pb;
	int c = strcmp(a->group, b->group);
	return c ? c : strcmp(a->name, b->name);
}

/* orders pointers into the sorted files by (dev, ino, via_link, position):
 * of the names of one file, the first is the one to keep */
static int cmp_inode(const void *pa, const void *pb)
{
	const struct found_file *a = *(struct found_file *const *)pa, *b = *(struct found_file *const *)pb;
	if (a->dev != b->dev)
		return a->dev < b->dev ? -1 : 1;
	if (a->ino != b->ino)
		return a->ino < b->ino ? -1 : 1;
	if (a->via_link != b->via_link)
		return a->via_link ? 1 : -1;
	return a < b ? -1 : a > b;
}

int tfe_find(const char *dir, tfe_found_fn found, void *ctx, struct weft_err *e)
{
	struct stat sb;
	if (stat(dir, &sb) != 0) {
		if (errno == ENOENT)
			return 0;
		return err_sys(e, "tensorboard: %s", dir);
	}
	if (!S_ISDIR(sb.st_mode))
		return err_set(e, WEFT_EINVAL, "tensorboard: %s is not a directory", dir);
	struct walk w = { 0 };
	w.root_real = realpath(dir, NULL);
	if (!w.root_real)
		return err_sys(e, "tensorboard: %s", dir);
	w.root_len = strlen(w.root_real);
	DIR *probe = opendir(dir);
	if (!probe) {
		int rc = err_sys(e, "tensorboard: cannot read %s", dir);
		free(w.root_real);
		return rc;
	}
	closedir(probe);
	walk_mark(&w, sb.st_dev, sb.st_ino);
	size_t dl = strlen(dir);
	char *root = xstrndup(dir, dl > 1 && dir[dl - 1] == '/' ? dl - 1 : dl);
	walk_dir(&w, root, "", 0, false);
	free(root);
	/* then the directories reached by links (which may add more), so that a
	 * run keeps its real name when a link also leads to it */
	for (size_t i = 0; i < w.n_links; i++) {
		struct pending p = w.links[i];
		if (stat(p.path, &sb) == 0 && walk_mark(&w, sb.st_dev, sb.st_ino))
			walk_dir(&w, p.path, p.rel, p.depth, true);
		free(p.path);
		free(p.rel);
	}
	free(w.links);

	if (w.n_files > 1) /* qsort must not get NULL, even for 0 files */
		qsort(w.files, w.n_files, sizeof *w.files, cmp_found);
	/* one call per file, even when links or hard links give it several names */
	if (w.n_files > 1) {
		struct found_file **by = xmalloc(w.n_files * sizeof *by);
		for (size_t i = 0; i < w.n_files; i++)
			by[i] = &w.files[i];
		qsort(by, w.n_files, sizeof *by, cmp_inode);
		for (size_t i = 1; i < w.n_files; i++)
			if (by[i]->dev == by[i - 1]->dev && by[i]->ino == by[i - 1]->ino)
				by[i]->dup = true;
		free(by);
	}
	int rc = 0;
	for (size_t i = 0; i < w.n_files; i++) {
		if (rc == 0 && !w.files[i].dup)
			rc = found(ctx, w.files[i].path, w.files[i].group);
		free(w.files[i].path);
		free(w.files[i].group);
		free(w.files[i].name);
	}
	free(w.files);
	free(w.seen);
	free(w.root_real);
	return rc < 0 ? rc : 0;
}

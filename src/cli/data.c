/* data.c - `weft data put BUCKET PATH... [--prefix P]` and `weft data ls BUCKET`:
 * the CLI side of the embedded object store (PUT /v1/data/BUCKET/KEY, GET
 * /v1/data/BUCKET). Files are streamed from disk (never read whole into memory)
 * over one kept-alive connection, with a progress bar for large uploads. All
 * paths are checked before the first byte is sent. */
#include "cli/cli.h"
#include "cli/client.h"
#include "cli/common.h"
#include "util/mem.h"
#include "util/timeutil.h"
#include <dirent.h>
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define BIG_FILE (8LL * 1024 * 1024) /* progress is shown for files above this even off a terminal */

static const char put_usage[] = "weft data put BUCKET PATH... [--prefix P]";
static const char ls_usage[] = "weft data ls BUCKET [--prefix P] [--json]";
static const char help[] =
	"usage: weft data put BUCKET PATH... [--prefix P]\n"
	"       weft data ls BUCKET [--prefix P] [--json]\n"
	"\n"
	"The server's embedded object store: buckets hold the training data a manifest's\n"
	"data_stores name (training_data.container) and the results jobs store\n"
	"(training_results.container). Buckets are shared by all users of a server.\n"
	"Run 'weft data put --help' or 'weft data ls --help' for each subcommand.\n";
static const char put_help[] =
	"usage: weft data put BUCKET PATH... [--prefix P]\n"
	"\n"
	"Upload files to BUCKET (created if missing); each upload is atomic on the server.\n"
	"A file's key is its base name; a directory uploads every file under it, recursively,\n"
	"with keys relative to that directory (symbolic links to files are followed, links to\n"
	"directories skipped). Prints \"put BUCKET/KEY (N bytes)\" for each file. A progress bar\n"
	"(bytes, percent, rate) goes to standard error when it is a terminal, and for files\n"
	"over 8 MiB.\n"
	"\n"
	"Options:\n"
	"  -p, --prefix P   put every key under the folder P (P/KEY)\n"
	"  -h, --help       show this help\n"
	"\n"
	"Example: weft data put digits data/digits/     (keys train.csv, test.csv, ...)\n"
	"\n"
	"Environment: WEFT_SERVER, WEFT_TOKEN (see 'weft --help').\n"
	"Exit status: 0 ok, 1 bad arguments, unreadable PATH or a name the server refuses,\n"
	"2 server unreachable or server error (files uploaded before the error stay).\n";
static const char ls_help[] =
	"usage: weft data ls BUCKET [--prefix P] [--json]\n"
	"\n"
	"List the objects of BUCKET, recursively, sorted by key: KEY, SIZE (bytes) and\n"
	"MODIFIED (UTC).\n"
	"\n"
	"Options:\n"
	"  -p, --prefix P   only keys that start with P\n"
	"      --json       print the server's JSON ({bucket, objects: [{key, size, modified}]})\n"
	"  -h, --help       show this help\n"
	"\n"
	"Environment: WEFT_SERVER, WEFT_TOKEN (see 'weft --help').\n"
	"Exit status: 0 ok, 1 bad arguments or no such bucket, 2 server unreachable or server error.\n";

/* ---- collecting what to upload ---- */

struct upload {
	char *file, *key;
};

struct uploads {
	struct upload *v;
	size_t n, cap;
};

static void uploads_add(struct uploads *u, const char *file, const char *prefix, const char *rel)
{
	if (u->n == u->cap) {
		u->cap = u->cap ? 2 * u->cap : 16;
		u->v = xrealloc(u->v, u->cap * sizeof *u->v);
	}
	u->v[u->n].file = xstrdup(file);
	u->v[u->n].key = *prefix ? xasprintf("%s/%s", prefix, rel) : xstrdup(rel);
	u->n++;
}

static void uploads_free(struct uploads *u)
{
	for (size_t i = 0; i < u->n; i++) {
		free(u->v[i].file);
		free(u->v[i].key);
	}
	free(u->v);
}

/* Adds the files under dir (rel: their path relative to the top directory). */
static int walk(const char *dir, const char *rel, const char *prefix, struct uploads *u)
{
	struct dirent **ents;
	int n = scandir(dir, &ents, NULL, alphasort);
	if (n < 0) {
		fprintf(stderr, "weft data put: cannot read the directory %s: %s\n", dir, strerror(errno));
		return EXIT_USER;
	}
	int rc = 0;
	for (int i = 0; i < n; i++) {
		const char *name = ents[i]->d_name;
		if (rc || !strcmp(name, ".") || !strcmp(name, ".."))
			continue;
		char *path = xasprintf("%s/%s", dir, name);
		char *sub = *rel ? xasprintf("%s/%s", rel, name) : xstrdup(name);
		struct stat lst, st;
		if (lstat(path, &lst)) {
			fprintf(stderr, "weft data put: skipping %s: %s\n", path, strerror(errno));
		} else if (S_ISDIR(lst.st_mode)) {
			rc = walk(path, sub, prefix, u);
		} else if (stat(path, &st)) {
			fprintf(stderr, "weft data put: skipping %s: %s\n", path, strerror(errno));
		} else if (S_ISREG(st.st_mode)) {
			uploads_add(u, path, prefix, sub);
		} else {
			fprintf(stderr, "weft data put: skipping %s: %s\n", path,
				S_ISDIR(st.st_mode) ? "a link to a directory" : "not a regular file");
		}
		free(sub);
		free(path);
	}
	for (int i = 0; i < n; i++)
		free(ents[i]);
	free(ents);
	return rc;
}

static int collect(const char *path, const char *prefix, struct uploads *u)
{
	struct stat st;
	if (stat(path, &st)) {
		fprintf(stderr, "weft data put: cannot read %s: %s\n", path, strerror(errno));
		return EXIT_USER;
	}
	if (S_ISDIR(st.st_mode)) {
		size_t before = u->n;
		int rc = walk(path, "", prefix, u);
		if (!rc && u->n == before)
			fprintf(stderr, "weft data put: %s holds no files\n", path);
		return rc;
	}
	if (!S_ISREG(st.st_mode)) {
		fprintf(stderr, "weft data put: %s is not a regular file or a directory\n", path);
		return EXIT_USER;
	}
	char *copy = xstrdup(path);
	uploads_add(u, path, prefix, basename(copy));
	free(copy);
	return 0;
}

/* ---- progress ---- */

struct progress {
	const char *label; /* BUCKET/KEY */
	int tty, shown, done;
	int64_t start_ns, last_ns;
};

static void on_progress(long long sent, long long total, void *arg)
{
	struct progress *p = arg;
	int64_t now = mono_ns();
	int done = sent >= total;
	if (done && p->done)
		return; /* libcurl calls on while the server answers */
	if (!done && now - p->last_ns < (p->tty ? 100000000LL : 1000000000LL))
		return;
	if (!p->tty && !done && now - p->start_ns < 1000000000LL)
		return; /* off a terminal, report only uploads that take a while */
	if (!p->tty && done && !p->shown)
		return;
	p->last_ns = now;
	p->shown = 1;
	p->done = done;
	double secs = (double)(now - p->start_ns) / 1e9;
	int pct = total > 0 ? (int)(100.0 * (double)sent / (double)total) : 100;
	char s[32], t[32], r[32];
	cli_fmt_bytes(sent, s, sizeof s);
	cli_fmt_bytes(total, t, sizeof t);
	cli_fmt_bytes(secs > 0.01 ? (long long)((double)sent / secs) : 0, r, sizeof r);
	if (p->tty) {
		char bar[31];
		int fill = pct * 30 / 100;
		for (int i = 0; i < 30; i++)
			bar[i] = i < fill ? '#' : '.';
		bar[30] = '\0';
		fprintf(stderr, "\r\033[K%s [%s] %3d%% %s / %s %s/s", p->label, bar, pct, s, t, r);
	} else {
		fprintf(stderr, "%s: %d%% (%s of %s, %s/s)\n", p->label, pct, s, t, r);
	}
	fflush(stderr);
}

static int put_one(struct client *c, const char *bucket, const struct upload *up, int tty)
{
	struct stat st;
	long long size = stat(up->file, &st) == 0 ? (long long)st.st_size : 0;
	char *eb = client_escape(bucket, 0), *ek = client_escape(up->key, 1);
	char *path = xasprintf("/v1/data/%s/%s", eb, ek);
	char *label = xasprintf("%s/%s", bucket, up->key);
	struct progress p = { .label = label, .tty = tty, .start_ns = mono_ns() };
	int show = tty || size > BIG_FILE;
	json_t *ans = NULL;
	int rc = client_put_file(c, path, up->file, show ? on_progress : NULL, &p, &ans);
	if (p.shown && tty) {
		fputs("\r\033[K", stderr);
		fflush(stderr);
	}
	if (!rc) {
		json_t *sz = json_object_get(ans, "size");
		printf("put %s (%lld bytes)\n", label, sz ? cli_jint(ans, "size") : size);
		fflush(stdout);
	}
	json_decref(ans);
	free(label);
	free(path);
	free(eb);
	free(ek);
	return rc;
}

static int data_put(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "prefix", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *prefix_arg = "";
	int c;
	cli_opts_begin();
	while ((c = cli_getopt(argc, argv, "p:", opts, "data put")) != -1) {
		if (c != 'p')
			return EXIT_USER;
		prefix_arg = optarg;
	}
	if (optind >= argc)
		return cli_usage_error("data put", put_usage, "missing the BUCKET");
	if (argc - optind < 2)
		return cli_usage_error("data put", put_usage, "missing the PATH(s) to upload");
	const char *bucket = argv[optind];
	if (!*bucket)
		return cli_usage_error("data put", put_usage, "the BUCKET is empty");

	/* the prefix is a folder: no leading or trailing '/' */
	while (*prefix_arg == '/')
		prefix_arg++;
	char *prefix = xstrdup(prefix_arg);
	for (size_t n = strlen(prefix); n && prefix[n - 1] == '/'; n--)
		prefix[n - 1] = '\0';

	struct uploads u = { 0 };
	int rc = 0;
	for (int i = optind + 1; i < argc && !rc; i++)
		rc = collect(argv[i], prefix, &u);
	if (!rc && !u.n) {
		fprintf(stderr, "weft data put: nothing to upload\n");
		rc = EXIT_USER;
	}
	if (!rc) {
		struct client cl;
		rc = client_init(&cl);
		if (!rc) {
			int tty = isatty(STDERR_FILENO);
			for (size_t i = 0; i < u.n && !rc; i++)
				rc = put_one(&cl, bucket, &u.v[i], tty);
			client_close(&cl);
		}
	}
	uploads_free(&u);
	free(prefix);
	return rc;
}

static int data_ls(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "prefix", required_argument, NULL, 'p' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *prefix = NULL;
	int json = 0, c;
	cli_opts_begin();
	while ((c = cli_getopt(argc, argv, "p:", opts, "data ls")) != -1) {
		if (c == 'p')
			prefix = optarg;
		else if (c == 'j')
			json = 1;
		else
			return EXIT_USER;
	}
	if (optind >= argc)
		return cli_usage_error("data ls", ls_usage, "missing the BUCKET");
	if (argc - optind > 1)
		return cli_usage_error("data ls", ls_usage, "unexpected argument '%s'", argv[optind + 1]);
	const char *bucket = argv[optind];
	if (!*bucket)
		return cli_usage_error("data ls", ls_usage, "the BUCKET is empty");

	struct client cl;
	int rc = client_init(&cl);
	if (rc)
		return rc;
	char *eb = client_escape(bucket, 0);
	char *ep = prefix ? client_escape(prefix, 0) : NULL;
	char *path = ep ? xasprintf("/v1/data/%s?prefix=%s", eb, ep) : xasprintf("/v1/data/%s", eb);
	json_t *ans = NULL;
	rc = client_json(&cl, "GET", path, NULL, &ans);
	client_close(&cl);
	free(path);
	free(eb);
	free(ep);
	if (!rc && json) {
		rc = cli_print_json(ans);
	} else if (!rc) {
		static const char *const head[] = { "KEY", "SIZE", "MODIFIED" };
		static const int right[] = { 0, 1, 0 };
		struct cli_table t;
		size_t i;
		json_t *o;
		cli_table_init(&t, 3);
		cli_table_add(&t, head);
		json_array_foreach(json_object_get(ans, "objects"), i, o) {
			char size[32], mod[32];
			snprintf(size, sizeof size, "%lld", cli_jint(o, "size"));
			const char *row[] = { cli_jstr(o, "key"), size, cli_jtime(o, "modified", mod, sizeof mod) };
			cli_table_add(&t, row);
		}
		cli_table_print(&t, right);
		cli_table_free(&t);
	}
	json_decref(ans);
	return rc;
}

int cmd_data(int argc, char **argv)
{
	const char *sub = argc > 1 ? argv[1] : "";
	int put = !strcmp(sub, "put"), ls = !strcmp(sub, "ls");
	if (cli_wants_help(argc, argv))
		return cli_help(put ? put_help : ls ? ls_help : help);
	if (put)
		return data_put(argc - 1, argv + 1);
	if (ls)
		return data_ls(argc - 1, argv + 1);
	fprintf(stderr, "weft data: %s\nusage: %s\n       %s\nRun 'weft data --help' for more.\n",
		*sub ? "unknown subcommand (use put or ls)" : "missing the subcommand (put or ls)", put_usage, ls_usage);
	return EXIT_USER;
}

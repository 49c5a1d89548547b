/* train.c - `weft train MANIFEST [MODEL_DIR|ZIP] [--follow]`: submits a job as
 * FfDL's CLI did (POST /v1/models, multipart manifest + model_definition zip;
 * a directory is zipped on the fly into a private temp dir). stdout carries
 * only the new training id, so `ID=$(weft train ...)` works in every form;
 * --follow sends the log lines and the final status to stderr and, when stderr
 * is a terminal, keeps a live metric line under them (a second thread polls
 * GET /v1/models/ID/metrics?points=1 once a second on its own connection). */
#include "cli/chart.h"
#include "cli/cli.h"
#include "cli/client.h"
#include "cli/common.h"
#include "store/objects.h"
#include "util/fs.h"
#include "util/mem.h"
#include "util/timeutil.h"
#include <errno.h>
#include <libgen.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SETTLE_MS 30000 /* after the log stream ends, wait this long for a final status */
#define LIVE_METRICS 4   /* metrics shown in the live line */

static const char usage_line[] = "weft train MANIFEST [MODEL_DIR|ZIP] [-f|--follow]";
static const char help[] =
	"usage: weft train MANIFEST [MODEL_DIR|ZIP] [-f|--follow]\n"
	"\n"
	"Submit a training job: POST the FfDL manifest and the model definition to the\n"
	"server (POST /v1/models), then print the new training id (and nothing else) on\n"
	"standard output, so that ID=$(weft train manifest.yml) works.\n"
	"\n"
	"Arguments:\n"
	"  MANIFEST       the FfDL manifest (YAML); see docs/manifest.md\n"
	"  MODEL_DIR|ZIP  the model code: a directory (zipped on the fly) or a zip file;\n"
	"                 default: the directory holding MANIFEST\n"
	"\n"
	"Options:\n"
	"  -f, --follow   after submitting, stream the job's log lines to standard error until\n"
	"                 the job ends, then print its final status there (e.g.\n"
	"                 \"training-abc123xyz COMPLETED\"); exit 0 if it COMPLETED, 1 if it\n"
	"                 FAILED or was HALTED. When standard error is a terminal, a status\n"
	"                 line under the log shows the iteration and the latest value of up to\n"
	"                 4 metrics (refreshed every second; see 'weft metrics')\n"
	"  -h, --help     show this help\n"
	"\n"
	"Environment: WEFT_SERVER, WEFT_TOKEN (see 'weft --help'); TMPDIR for the temporary zip.\n"
	"Exit status: 0 ok, 1 bad arguments or rejected manifest/zip (or, with --follow, a job that\n"
	"did not complete), 2 server unreachable, server or system error.\n";

/* ---- the live metric line of --follow (stderr is a terminal) ---- */

struct live {
	pthread_mutex_t mu;  /* guards everything below and every write to stderr while following */
	pthread_cond_t wake; /* signalled to stop the poller */
	int stop;
	int drawn;           /* the status line is on the screen */
	char *line;          /* its text, or NULL (no metric yet) */
	struct client c;     /* the poller's own connection */
	const char *id;
};

/* Draws the status line, cut to the terminal's width (mu held). */
static void live_draw(struct live *l)
{
	if (!l->line)
		return;
	int width = chart_term_width(stderr) - 1, cols = 0;
	const char *p = l->line;
	/* count columns, not bytes, and never cut a UTF-8 sequence */
	while (*p && (cols < width || ((unsigned char)*p & 0xC0) == 0x80)) {
		if (((unsigned char)*p & 0xC0) != 0x80)
			cols++;
		p++;
	}
	fprintf(stderr, "\r\033[K\033[7m%.*s\033[0m", (int)(p - l->line), l->line);
	l->drawn = 1;
}

static void live_clear(struct live *l)
{
	if (l->drawn)
		fputs("\r\033[K", stderr);
	l->drawn = 0;
}

static void live_before(void *arg)
{
	struct live *l = arg;
	pthread_mutex_lock(&l->mu);
	live_clear(l);
}

static void live_after(void *arg)
{
	struct live *l = arg;
	live_draw(l);
	pthread_mutex_unlock(&l->mu);
}

static void *live_poll(void *arg)
{
	struct live *l = arg;
	pthread_mutex_lock(&l->mu);
	while (!l->stop) {
		pthread_mutex_unlock(&l->mu);
		json_t *ans = NULL;
		char *line = NULL;
		if (!metrics_fetch(&l->c, l->id, 1, &ans))
			line = metrics_live_line(ans, LIVE_METRICS);
		json_decref(ans);
		pthread_mutex_lock(&l->mu);
		if (line && !l->stop) {
			free(l->line);
			l->line = line;
			live_clear(l);
			live_draw(l);
		} else {
			free(line);
		}
		struct timespec until;
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_sec += 1;
		while (!l->stop && pthread_cond_timedwait(&l->wake, &l->mu, &until) == 0)
			;
	}
	pthread_mutex_unlock(&l->mu);
	return NULL;
}

/* Follows the logs to stderr with the live line under them when stderr is a
 * terminal (plain logs_follow otherwise). When the stream ends, the line is
 * replaced by a last, permanent one with the final values. */
static int follow_with_metrics(struct client *c, const char *id)
{
	const char *term = getenv("TERM");
	if (!isatty(STDERR_FILENO) || (term && !strcmp(term, "dumb")))
		return logs_follow(c, id, "", 0, stderr);
	struct live l = { .id = id };
	pthread_condattr_t ca;
	pthread_t th;
	if (client_init(&l.c))
		return logs_follow(c, id, "", 0, stderr);
	l.c.quiet = 1; /* no metrics yet, an old server: just no line */
	l.c.connect_timeout_s = 3;
	l.c.timeout_s = 10;
	pthread_mutex_init(&l.mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&l.wake, &ca);
	pthread_condattr_destroy(&ca);
	int started = !pthread_create(&th, NULL, live_poll, &l);
	struct logs_hook hook = { live_before, live_after, &l };
	int rc = logs_follow_filtered(c, id, "", "", 0, stderr, started ? &hook : NULL);
	if (started) {
		pthread_mutex_lock(&l.mu);
		l.stop = 1;
		pthread_cond_signal(&l.wake);
		pthread_mutex_unlock(&l.mu);
		pthread_join(th, NULL);
	}
	/* the final values, as a normal line */
	json_t *ans = NULL;
	if (!metrics_fetch(&l.c, id, 1, &ans)) {
		char *line = metrics_live_line(ans, LIVE_METRICS);
		if (line) {
			free(l.line);
			l.line = line;
		}
	}
	json_decref(ans);
	live_clear(&l);
	if (l.line)
		fprintf(stderr, "metrics: %s\n", l.line);
	free(l.line);
	client_close(&l.c);
	pthread_cond_destroy(&l.wake);
	pthread_mutex_destroy(&l.mu);
	return rc;
}

/* Zips dir into a fresh private temp dir; *zip_out and *tmpdir_out to free/remove. */
static int zip_dir(const char *dir, char **zip_out, char **tmpdir_out)
{
	const char *tmp = getenv("TMPDIR");
	char *tmpl = xasprintf("%s/weft-train-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(tmpl)) {
		fprintf(stderr, "weft: cannot create a temporary directory %s: %s\n", tmpl, strerror(errno));
		free(tmpl);
		return EXIT_SYSTEM;
	}
	char *zip = fs_join(tmpl, "model.zip");
	struct weft_err e = { 0 };
	if (zip_create_from_dir(dir, NULL, zip, &e)) {
		fprintf(stderr, "weft: cannot zip the model directory %s: %s\n", dir, e.msg);
		unlink(zip);
		rmdir(tmpl);
		free(zip);
		free(tmpl);
		return e.code == WEFT_EIO ? EXIT_SYSTEM : EXIT_USER;
	}
	*zip_out = zip;
	*tmpdir_out = tmpl;
	return 0;
}

static int is_final(const char *status)
{
	return !strcmp(status, "COMPLETED") || !strcmp(status, "FAILED") || !strcmp(status, "HALTED");
}

/* After the log stream: reads the job until its status is final, prints it. */
static int final_status(struct client *c, const char *id)
{
	char *eid = client_escape(id, 0);
	char *path = xasprintf("/v1/models/%s", eid);
	int64_t deadline = mono_ns() / 1000000 + SETTLE_MS;
	int rc;
	free(eid);
	for (;;) {
		json_t *m = NULL;
		rc = client_json(c, "GET", path, NULL, &m);
		if (rc)
			break;
		json_t *ts = json_object_get(json_object_get(m, "training"), "training_status");
		const char *st = cli_jstr(ts, "status");
		if (is_final(st) || mono_ns() / 1000000 >= deadline) {
			const char *code = cli_jstr(ts, "error_code"), *msg = cli_jstr(ts, "status_message");
			fprintf(stderr, "%s %s", id, *st ? st : "UNKNOWN");
			if (*code)
				fprintf(stderr, " %s", code);
			if (*msg && strcmp(st, "COMPLETED"))
				fprintf(stderr, ": %s", msg);
			fputc('\n', stderr);
			if (!is_final(st))
				fprintf(stderr, "weft: the log stream ended but the job is still %s; see 'weft show %s'\n",
					st, id);
			rc = !strcmp(st, "COMPLETED") ? 0 : EXIT_USER;
			json_decref(m);
			break;
		}
		json_decref(m);
		struct timespec ts500 = { 0, 500 * 1000 * 1000 };
		nanosleep(&ts500, NULL);
	}
	free(path);
	return rc;
}

int cmd_train(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "follow", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int follow = 0, c;
	if (cli_wants_help(argc, argv))
		return cli_help(help);
	cli_opts_begin();
	while ((c = cli_getopt(argc, argv, "f", opts, "train")) != -1) {
		if (c != 'f')
			return EXIT_USER;
		follow = 1;
	}
	if (optind >= argc)
		return cli_usage_error("train", usage_line, "missing the MANIFEST argument");
	if (argc - optind > 2)
		return cli_usage_error("train", usage_line, "unexpected argument '%s'", argv[optind + 2]);
	const char *manifest = argv[optind];
	if (!fs_exists(manifest) || fs_is_dir(manifest)) {
		fprintf(stderr, "weft train: MANIFEST: '%s' %s\n", manifest,
			fs_is_dir(manifest) ? "is a directory, not a manifest file" : "does not exist");
		return EXIT_USER;
	}

	/* the model: given, or the manifest's directory */
	char *model = NULL;
	if (argc - optind == 2) {
		model = xstrdup(argv[optind + 1]);
	} else {
		char *copy = xstrdup(manifest);
		model = xstrdup(dirname(copy));
		free(copy);
	}
	if (!fs_exists(model)) {
		fprintf(stderr, "weft train: MODEL_DIR|ZIP: '%s' does not exist\n", model);
		free(model);
		return EXIT_USER;
	}
	char *zip = NULL, *tmpdir = NULL, *zipname = NULL;
	int rc = 0;
	if (fs_is_dir(model)) {
		rc = zip_dir(model, &zip, &tmpdir);
		char *copy = xstrdup(model), *base = basename(copy);
		zipname = xasprintf("%s.zip", strcmp(base, ".") && strcmp(base, "/") ? base : "model");
		free(copy);
	} else {
		zip = xstrdup(model);
	}
	free(model);

	struct client cl;
	if (!rc)
		rc = client_init(&cl);
	if (!rc) {
		struct client_part parts[] = {
			{ "manifest", manifest, NULL, "application/x-yaml" },
			{ "model_definition", zip, zipname, "application/zip" },
		};
		json_t *ans = NULL;
		rc = client_post_multipart(&cl, "/v1/models", parts, 2, &ans);
		const char *id = cli_jstr(ans, "model_id");
		if (!rc && !*id) {
			fprintf(stderr, "weft: the server's answer has no model_id\n");
			rc = EXIT_SYSTEM;
		}
		if (!rc) {
			printf("%s\n", id);
			fflush(stdout);
			if (follow) {
				rc = follow_with_metrics(&cl, id);
				if (!rc)
					rc = final_status(&cl, id);
			}
		}
		json_decref(ans);
		client_close(&cl);
	}
	if (tmpdir) {
		unlink(zip);
		rmdir(tmpdir);
	}
	free(zip);
	free(zipname);
	free(tmpdir);
	return rc;
}

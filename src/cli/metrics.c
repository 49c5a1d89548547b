/* metrics.c - `weft metrics ID [-f] [--json] [--plot] [--points N]` and
 * `weft compare ID ID... [--json]`: a job's evaluation metrics from
 * GET /v1/models/ID/metrics (latest, min, max and a thinned history of each
 * metric, computed by the server) as a table, JSON or terminal line charts, and
 * several jobs' final and best values side by side. -f polls once a second
 * (the answer is a summary, small at any job size) until the job ends. */
#include "cli/chart.h"
#include "cli/cli.h"
#include "cli/client.h"
#include "cli/common.h"
#include "util/mem.h"
#include "util/sbuf.h"
#include "util/timeutil.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define POINTS_MAX 10000
#define RECONNECT_S 60 /* -f: how long to keep retrying an unreachable server */

static const char metrics_usage[] = "weft metrics ID [-f|--follow] [--json] [--plot] [--points N]";
static const char metrics_help[] =
	"usage: weft metrics ID [-f|--follow] [--json] [--plot] [--points N]\n"
	"\n"
	"Show the evaluation metrics of training job ID (GET /v1/models/ID/metrics): every\n"
	"numeric metric its collector found in the logs (Keras, Caffe, PyTorch, name=value\n"
	"lines, TensorBoard files, ...) or that its learners posted. Default: a table with one\n"
	"row per metric: GROUP METRIC LAST ITER MIN MAX COUNT (ITER: the iteration of the\n"
	"last value).\n"
	"\n"
	"Options:\n"
	"  -f, --follow    refresh every second until the job ends (COMPLETED, FAILED or\n"
	"                  HALTED). On a terminal the screen is redrawn; otherwise the table\n"
	"                  prints only new or changed rows, --json one JSON line per change,\n"
	"                  and --plot the charts once, when the job ends. Exit 0 if the job\n"
	"                  COMPLETED, 1 if it FAILED or was HALTED.\n"
	"      --json      print the server's answer (model_id, status, records, and per metric\n"
	"                  group, name, count, last, min, max and history)\n"
	"      --plot      draw each metric over the iterations as a line chart, as wide as the\n"
	"                  terminal (80 columns off a terminal), braille dots when the locale is\n"
	"                  UTF-8, ASCII otherwise\n"
	"      --points N  history points per metric to fetch (1..10000); default: 1 for the\n"
	"                  table, twice the chart width for --plot, the server's 200 for --json\n"
	"  -h, --help      show this help\n"
	"\n"
	"Environment: WEFT_SERVER, WEFT_TOKEN (see 'weft --help'); LC_ALL/LC_CTYPE/LANG for\n"
	"UTF-8 charts.\n"
	"Exit status: 0 ok, 1 bad arguments or unknown job (with -f: a job that did not\n"
	"complete), 2 server unreachable or server error.\n";

static const char compare_usage[] = "weft compare ID ID... [--json]";
static const char compare_help[] =
	"usage: weft compare ID ID... [--json]\n"
	"\n"
	"Compare the metrics of two or more training jobs: one row per (group, metric) that\n"
	"any of them has, and for each job its final (last) value and its best value. Best is\n"
	"the minimum for metrics whose name contains loss, err, mse, mae, rmse or perplexity\n"
	"(GOAL min), the maximum otherwise (GOAL max). In each row '*' marks the best job's\n"
	"BEST value; '-' marks a job without that metric. The jobs are numbered [1], [2], ...\n"
	"in the order given and listed first with their status.\n"
	"\n"
	"Options:\n"
	"      --json      machine-readable: {jobs: [{model_id, status}], metrics: [{group,\n"
	"                  name, goal, values: [{model_id, final, final_iteration, best,\n"
	"                  best_iteration, best_job}]}]} (final and best null when missing)\n"
	"  -h, --help      show this help\n"
	"\n"
	"Environment: WEFT_SERVER, WEFT_TOKEN (see 'weft --help').\n"
	"Exit status: 0 ok, 1 bad arguments or an unknown job, 2 server unreachable or server error.\n";

/* ---- reading an answer ---- */

/* A number from a JSON number or a numeric string; *ok = 0 otherwise. */
static double jnum(const json_t *v, int *ok)
{
	*ok = 1;
	if (json_is_number(v))
		return json_number_value(v);
	if (json_is_string(v)) {
		char *end;
		double d = strtod(json_string_value(v), &end);
		if (end != json_string_value(v) && !*end)
			return d;
	}
	*ok = 0;
	return 0;
}

struct point {
	int ok;
	double value;
	long long iteration;
};

/* metric.last / .min / .max */
static struct point get_point(const json_t *metric, const char *key)
{
	struct point p = { 0 };
	const json_t *o = json_object_get(metric, key);
	p.value = jnum(json_object_get(o, "value"), &p.ok);
	p.ok = p.ok && isfinite(p.value);
	p.iteration = cli_jint(o, "iteration");
	return p;
}

static const char *fmt_val(double v, char *buf, size_t size)
{
	if (v == 0)
		v = 0; /* no "-0" */
	snprintf(buf, size, "%.6g", v);
	return buf;
}

static const char *fmt_point(struct point p, char *buf, size_t size)
{
	return p.ok ? fmt_val(p.value, buf, size) : "-";
}

static int is_final(const char *status)
{
	return !strcmp(status, "COMPLETED") || !strcmp(status, "FAILED") || !strcmp(status, "HALTED");
}

static int is_tty(FILE *f)
{
	const char *term = getenv("TERM");
	return isatty(fileno(f)) && !(term && !strcmp(term, "dumb"));
}

int metrics_lower_is_better(const char *name)
{
	static const char *const lower[] = { "loss", "err", "mse", "mae", "rmse", "perplexity" };
	char low[128];
	size_t n = 0;
	for (; name[n] && n < sizeof low - 1; n++)
		low[n] = (char)(name[n] >= 'A' && name[n] <= 'Z' ? name[n] + 32 : name[n]);
	low[n] = '\0';
	if (!strncmp(low, "val_loss", 8))
		return 1;
	for (size_t i = 0; i < sizeof lower / sizeof lower[0]; i++)
		if (strstr(low, lower[i]))
			return 1;
	return 0;
}

int metrics_fetch(struct client *c, const char *id, long long points, json_t **out)
{
	char *eid = client_escape(id, 0);
	char *path = points > 0 ? xasprintf("/v1/models/%s/metrics?points=%lld", eid, points)
				: xasprintf("/v1/models/%s/metrics", eid);
	int rc = client_json(c, "GET", path, NULL, out);
	if (!rc && !json_is_object(*out)) {
		if (!c->quiet)
			fprintf(stderr, "weft: the server's answer to GET %s is not a metrics object\n", path);
		json_decref(*out);
		*out = NULL;
		rc = EXIT_SYSTEM;
	}
	free(path);
	free(eid);
	return rc;
}

/* The job's status: from the answer, else from GET /v1/models/ID (stored into
 * the answer so that it is read once). "" if neither says. */
static const char *job_status(struct client *c, const char *id, json_t *ans)
{
	const char *st = cli_jstr(ans, "status");
	if (*st)
		return st;
	json_t *m = NULL;
	if (!client_model_json(c, "GET", id, NULL, &m)) {
		json_t *ts = json_object_get(json_object_get(m, "training"), "training_status");
		json_object_set_new(ans, "status", json_string(cli_jstr(ts, "status")));
	}
	json_decref(m);
	return cli_jstr(ans, "status");
}

char *metrics_live_line(const json_t *ans, int max)
{
	const json_t *arr = json_object_get(ans, "metrics");
	struct sbuf parts = SBUF_INIT;
	long long iter = -1;
	int shown = 0;
	size_t i;
	const json_t *m;
	json_array_foreach(arr, i, m)
	{
		if (shown >= max)
			break;
		struct point last = get_point(m, "last");
		if (!last.ok)
			continue;
		const char *group = cli_jstr(m, "group");
		char v[32];
		sb_addf(&parts, "  %s%s%s %s", *group && strcmp(group, "train") ? group : "",
			*group && strcmp(group, "train") ? "/" : "", cli_jstr(m, "name"), fmt_val(last.value, v, sizeof v));
		if (last.iteration > iter)
			iter = last.iteration;
		shown++;
	}
	if (!shown) {
		sb_release(&parts);
		return NULL;
	}
	char *line = iter >= 0 ? xasprintf("iteration %lld%s", iter, sb_str(&parts)) : xstrdup(sb_str(&parts) + 2);
	sb_release(&parts);
	return line;
}

/* ---- weft metrics: table ---- */

static void metric_row(const json_t *m, const char *row[7], char bufs[5][32])
{
	struct point last = get_point(m, "last"), lo = get_point(m, "min"), hi = get_point(m, "max");
	row[0] = cli_jstr(m, "group");
	row[1] = cli_jstr(m, "name");
	row[2] = fmt_point(last, bufs[0], 32);
	if (last.ok)
		snprintf(bufs[1], 32, "%lld", last.iteration);
	row[3] = last.ok ? bufs[1] : "-";
	row[4] = fmt_point(lo, bufs[2], 32);
	row[5] = fmt_point(hi, bufs[3], 32);
	snprintf(bufs[4], 32, "%lld", cli_jint(m, "count"));
	row[6] = bufs[4];
}

static const char *const table_header[7] = { "GROUP", "METRIC", "LAST", "ITER", "MIN", "MAX", "COUNT" };
static const int table_right[7] = { 0, 0, 1, 1, 1, 1, 1 };

/* "training-abc  COMPLETED  42 metric records" */
static void print_summary(const char *id, const json_t *ans)
{
	const char *st = cli_jstr(ans, "status");
	printf("%s  %s  %lld metric records\n", id, *st ? st : "UNKNOWN", cli_jint(ans, "records"));
}

static void print_table(const char *id, const json_t *ans)
{
	const json_t *arr = json_object_get(ans, "metrics");
	print_summary(id, ans);
	if (!json_array_size(arr)) {
		printf("(no metrics yet)\n");
		return;
	}
	struct cli_table t;
	cli_table_init(&t, 7);
	cli_table_add(&t, table_header);
	size_t i;
	const json_t *m;
	json_array_foreach(arr, i, m)
	{
		const char *row[7];
		char bufs[5][32];
		metric_row(m, row, bufs);
		cli_table_add(&t, row);
	}
	cli_table_print(&t, table_right);
	cli_table_free(&t);
}

/* Off a terminal with -f: fixed columns so rows printed at different times line up. */
static void print_fixed_row(const char *const row[7])
{
	printf("%-10s %-20s %12s %10s %12s %12s %8s\n", row[0], row[1], row[2], row[3], row[4], row[5], row[6]);
}

/* Prints the rows that are new or changed since the last call (seen: key -> row text). */
static void print_changed_rows(const json_t *ans, json_t *seen)
{
	const json_t *arr = json_object_get(ans, "metrics");
	size_t i;
	const json_t *m;
	json_array_foreach(arr, i, m)
	{
		const char *row[7];
		char bufs[5][32];
		metric_row(m, row, bufs);
		char *key = xasprintf("%s\x1f%s", row[0], row[1]);
		struct sbuf text = SBUF_INIT;
		for (int k = 0; k < 7; k++)
			sb_addf(&text, "%s\x1f", row[k]);
		const char *before = json_string_value(json_object_get(seen, key));
		if (!before || strcmp(before, sb_str(&text))) {
			if (!json_object_size(seen))
				print_fixed_row(table_header);
			print_fixed_row(row);
			json_object_set_new(seen, key, json_string(sb_str(&text)));
		}
		sb_release(&text);
		free(key);
	}
}

/* ---- weft metrics --plot ---- */

static void print_plots(const char *id, const json_t *ans, int width, int utf8)
{
	const json_t *arr = json_object_get(ans, "metrics");
	struct sbuf out = SBUF_INIT;
	print_summary(id, ans);
	if (!json_array_size(arr))
		printf("(no metrics yet)\n");
	size_t i;
	const json_t *m;
	json_array_foreach(arr, i, m)
	{
		struct point last = get_point(m, "last"), lo = get_point(m, "min"), hi = get_point(m, "max");
		char a[32], b[32], c[32];
		sb_reset(&out);
		sb_addf(&out, "\n%s (%s): last %s at iteration %lld, min %s, max %s, %lld values\n",
			cli_jstr(m, "name"), cli_jstr(m, "group"), fmt_point(last, a, sizeof a), last.iteration,
			fmt_point(lo, b, sizeof b), fmt_point(hi, c, sizeof c), cli_jint(m, "count"));
		const json_t *hist = json_object_get(m, "history");
		size_t n = json_array_size(hist), k = 0;
		double *x = xmalloc((n ? n : 1) * sizeof *x), *y = xmalloc((n ? n : 1) * sizeof *y);
		for (size_t j = 0; j < n; j++) {
			const json_t *h = json_array_get(hist, j);
			int ok1, ok2;
			double xv = jnum(json_object_get(h, "iteration"), &ok1), yv = jnum(json_object_get(h, "value"), &ok2);
			if (ok1 && ok2) {
				x[k] = xv;
				y[k] = yv;
				k++;
			}
		}
		if (!k && last.ok) { /* no history (an old server): at least the last value */
			x[0] = (double)last.iteration;
			y[0] = last.value;
			k = 1;
		}
		struct chart_opts o = { .width = width, .height = CHART_DEFAULT_HEIGHT, .utf8 = utf8,
					.x_label = "iteration" };
		chart_render(&out, x, y, k, &o);
		fwrite(out.buf, 1, out.len, stdout);
		free(x);
		free(y);
	}
	sb_release(&out);
}

/* ---- weft metrics ---- */

enum mode { MODE_TABLE, MODE_JSON, MODE_PLOT };

static int print_json_line(const json_t *ans)
{
	char *s = json_dumps(ans, JSON_COMPACT);
	if (s) {
		printf("%s\n", s);
		free(s);
	}
	return 0;
}

static void render(const char *id, const json_t *ans, enum mode mode, int width)
{
	if (mode == MODE_PLOT)
		print_plots(id, ans, width, chart_locale_utf8());
	else
		print_table(id, ans);
}

static int flush_stdout(void)
{
	if (fflush(stdout) || ferror(stdout)) {
		perror("weft: writing standard output");
		return EXIT_SYSTEM;
	}
	return 0;
}

/* -f: fetch once a second until the job's status is final. */
static int follow(struct client *c, const char *id, enum mode mode, long long points)
{
	int tty = is_tty(stdout);
	char *shown = NULL;         /* the last answer drawn (compact JSON) */
	int shown_width = 0;
	json_t *seen = json_object(); /* off-TTY table: rows printed */
	int64_t give_up = 0;
	int got_one = 0, rc = 0;
	if (tty)
		setvbuf(stdout, NULL, _IOFBF, 1 << 16); /* draw each screen in one write */
	for (;;) {
		json_t *ans = NULL;
		rc = metrics_fetch(c, id, points, &ans);
		int64_t now = mono_ns() / 1000000;
		if (rc == EXIT_SYSTEM && c->status == 0 && got_one) {
			/* the server went away (a restart?): keep trying for a while */
			if (!give_up) {
				fprintf(stderr, "weft: lost the connection to the weft server at %s; retrying\n", c->base);
				give_up = now + RECONNECT_S * 1000;
				c->quiet_unreachable = 1;
			} else if (now >= give_up) {
				fprintf(stderr, "weft: gave up reconnecting to the weft server at %s after %d s\n",
					c->base, RECONNECT_S);
				break;
			}
			struct timespec second = { 1, 0 };
			nanosleep(&second, NULL);
			continue;
		}
		if (rc)
			break;
		got_one = 1;
		give_up = 0;
		c->quiet_unreachable = 0;
		const char *st = job_status(c, id, ans);
		int final = is_final(st);
		char *now_text = json_dumps(ans, JSON_COMPACT | JSON_SORT_KEYS);
		int width = mode == MODE_PLOT ? chart_term_width(stdout) : 0;
		int changed = !shown || !now_text || strcmp(shown, now_text) || width != shown_width;
		if (changed) {
			if (mode == MODE_JSON) {
				print_json_line(ans);
			} else if (tty) {
				fputs("\033[H\033[2J", stdout);
				render(id, ans, mode, width);
				if (!final)
					printf("\n(refreshing every second until the job ends; Ctrl-C to stop)\n");
			} else if (mode == MODE_TABLE) {
				if (!shown)
					print_summary(id, ans);
				print_changed_rows(ans, seen);
			}
		}
		if (final && mode == MODE_PLOT && !tty)
			render(id, ans, mode, width);
		free(shown);
		shown = now_text;
		shown_width = width;
		rc = flush_stdout();
		if (!rc && final) {
			fprintf(stderr, "%s %s\n", id, st);
			rc = strcmp(st, "COMPLETED") ? EXIT_USER : 0;
		}
		json_decref(ans);
		if (rc || final)
			break;
		struct timespec second = { 1, 0 };
		nanosleep(&second, NULL);
	}
	c->quiet_unreachable = 0;
	free(shown);
	json_decref(seen);
	if (give_up && !rc)
		rc = EXIT_SYSTEM;
	return rc;
}

int cmd_metrics(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "follow", no_argument, NULL, 'f' }, { "json", no_argument, NULL, 'j' },
		{ "plot", no_argument, NULL, 'P' },   { "points", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },   { NULL, 0, NULL, 0 },
	};
	int follow_flag = 0, json = 0, plot = 0, c;
	long long points = 0;
	if (cli_wants_help(argc, argv))
		return cli_help(metrics_help);
	cli_opts_begin();
	while ((c = cli_getopt(argc, argv, "f", opts, "metrics")) != -1) {
		switch (c) {
		case 'f': follow_flag = 1; break;
		case 'j': json = 1; break;
		case 'P': plot = 1; break;
		case 'n':
			if (cli_parse_ll("metrics", "--points", optarg, 1, POINTS_MAX, &points))
				return EXIT_USER;
			break;
		default: return EXIT_USER;
		}
	}
	if (optind >= argc)
		return cli_usage_error("metrics", metrics_usage, "missing the training job ID");
	if (argc - optind > 1)
		return cli_usage_error("metrics", metrics_usage, "unexpected argument '%s'", argv[optind + 1]);
	if (!*argv[optind])
		return cli_usage_error("metrics", metrics_usage, "the training job ID is empty");
	if (json && plot)
		return cli_usage_error("metrics", metrics_usage, "--json cannot be combined with --plot");
	const char *id = argv[optind];
	enum mode mode = json ? MODE_JSON : plot ? MODE_PLOT : MODE_TABLE;
	if (!points && mode == MODE_TABLE)
		points = 1; /* the table needs no history */
	if (!points && mode == MODE_PLOT) {
		points = 2LL * chart_term_width(stdout); /* braille: two dots per column */
		if (points > POINTS_MAX)
			points = POINTS_MAX;
	}

	struct client cl;
	int rc = client_init(&cl);
	if (rc)
		return rc;
	if (follow_flag) {
		rc = follow(&cl, id, mode, points);
	} else {
		json_t *ans = NULL;
		rc = metrics_fetch(&cl, id, points, &ans);
		if (!rc && mode == MODE_JSON) {
			rc = cli_print_json(ans);
		} else if (!rc) {
			job_status(&cl, id, ans);
			render(id, ans, mode, chart_term_width(stdout));
			rc = flush_stdout();
		}
		json_decref(ans);
	}
	client_close(&cl);
	return rc;
}

/* ---- weft compare ---- */

struct cell {
	struct point final, best;
	int star;
};

/* The metric (group, name) of answer ans, or NULL. */
static const json_t *find_metric(const json_t *ans, const char *group, const char *name)
{
	size_t i;
	const json_t *m;
	json_array_foreach(json_object_get(ans, "metrics"), i, m)
	{
		if (!strcmp(cli_jstr(m, "group"), group) && !strcmp(cli_jstr(m, "name"), name))
			return m;
	}
	return NULL;
}

static json_t *point_json(struct point p)
{
	return p.ok ? json_real(p.value) : json_null();
}

int cmd_compare(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int json = 0, c;
	if (cli_wants_help(argc, argv))
		return cli_help(compare_help);
	cli_opts_begin();
	while ((c = cli_getopt(argc, argv, "", opts, "compare")) != -1) {
		if (c != 'j')
			return EXIT_USER;
		json = 1;
	}
	int njobs = argc - optind;
	if (njobs < 2)
		return cli_usage_error("compare", compare_usage, njobs ? "one training job ID given; compare needs two or more"
								  : "missing the training job IDs (two or more)");
	char **ids = argv + optind;
	for (int j = 0; j < njobs; j++)
		if (!*ids[j])
			return cli_usage_error("compare", compare_usage, "training job ID %d is empty", j + 1);

	struct client cl;
	int rc = client_init(&cl);
	if (rc)
		return rc;
	json_t **ans = xcalloc((size_t)njobs, sizeof *ans);
	for (int j = 0; j < njobs && !rc; j++) {
		rc = metrics_fetch(&cl, ids[j], 1, &ans[j]);
		if (!rc)
			job_status(&cl, ids[j], ans[j]);
	}
	client_close(&cl);

	/* the rows: every (group, name) of any job, in order of first appearance */
	json_t *rows = json_array(), *keys = json_object();
	for (int j = 0; j < njobs && !rc; j++) {
		size_t i;
		const json_t *m;
		json_array_foreach(json_object_get(ans[j], "metrics"), i, m)
		{
			char *key = xasprintf("%s\x1f%s", cli_jstr(m, "group"), cli_jstr(m, "name"));
			if (!json_object_get(keys, key)) {
				json_object_set_new(keys, key, json_true());
				json_array_append_new(rows, json_pack("{s:s, s:s}", "group", cli_jstr(m, "group"), "name",
								      cli_jstr(m, "name")));
			}
			free(key);
		}
	}

	struct cli_table t;
	json_t *out = json ? json_object() : NULL;
	struct cell *cells = xcalloc((size_t)njobs, sizeof *cells);
	if (!rc && !json) {
		cli_table_init(&t, 3);
		cli_table_add(&t, (const char *const[]){ "JOB", "ID", "STATUS" });
		for (int j = 0; j < njobs; j++) {
			char n[16];
			snprintf(n, sizeof n, "[%d]", j + 1);
			cli_table_add(&t, (const char *const[]){ n, ids[j], cli_jstr(ans[j], "status") });
		}
		cli_table_print(&t, NULL);
		cli_table_free(&t);
		putchar('\n');
		cli_table_init(&t, 3 + 2 * (size_t)njobs);
		const char **hdr = xcalloc(3 + 2 * (size_t)njobs, sizeof *hdr);
		char **owned = xcalloc(2 * (size_t)njobs, sizeof *owned);
		hdr[0] = "GROUP";
		hdr[1] = "METRIC";
		hdr[2] = "GOAL";
		for (int j = 0; j < njobs; j++) {
			hdr[3 + 2 * j] = owned[2 * j] = xasprintf("FINAL[%d]", j + 1);
			hdr[4 + 2 * j] = owned[2 * j + 1] = xasprintf("BEST[%d]", j + 1);
		}
		cli_table_add(&t, hdr);
		for (int k = 0; k < 2 * njobs; k++)
			free(owned[k]);
		free(owned);
		free(hdr);
	}
	if (!rc && json) {
		json_t *jobs = json_array();
		for (int j = 0; j < njobs; j++)
			json_array_append_new(jobs, json_pack("{s:s, s:s}", "model_id", ids[j], "status",
							      cli_jstr(ans[j], "status")));
		json_object_set_new(out, "jobs", jobs);
		json_object_set_new(out, "metrics", json_array());
	}
	size_t r;
	const json_t *row;
	json_array_foreach(rows, r, row)
	{
		if (rc)
			break;
		const char *group = cli_jstr(row, "group"), *name = cli_jstr(row, "name");
		int lower = metrics_lower_is_better(name);
		int have_best = 0;
		double best = 0;
		for (int j = 0; j < njobs; j++) {
			const json_t *m = find_metric(ans[j], group, name);
			memset(&cells[j], 0, sizeof cells[j]);
			if (!m)
				continue;
			cells[j].final = get_point(m, "last");
			cells[j].best = get_point(m, lower ? "min" : "max");
			if (cells[j].best.ok &&
			    (!have_best || (lower ? cells[j].best.value < best : cells[j].best.value > best))) {
				best = cells[j].best.value;
				have_best = 1;
			}
		}
		for (int j = 0; j < njobs; j++)
			cells[j].star = have_best && cells[j].best.ok && cells[j].best.value == best;
		if (json) {
			json_t *vals = json_array();
			for (int j = 0; j < njobs; j++) {
				json_t *v = json_pack("{s:s, s:o, s:o, s:b}", "model_id", ids[j], "final",
						      point_json(cells[j].final), "best", point_json(cells[j].best),
						      "best_job", cells[j].star);
				if (cells[j].final.ok)
					json_object_set_new(v, "final_iteration", json_integer(cells[j].final.iteration));
				if (cells[j].best.ok)
					json_object_set_new(v, "best_iteration", json_integer(cells[j].best.iteration));
				json_array_append_new(vals, v);
			}
			json_array_append_new(json_object_get(out, "metrics"),
					      json_pack("{s:s, s:s, s:s, s:o}", "group", group, "name", name, "goal",
							lower ? "min" : "max", "values", vals));
			continue;
		}
		size_t nc = 3 + 2 * (size_t)njobs;
		char **cellv = xcalloc(nc, sizeof *cellv);
		cellv[0] = xstrdup(group);
		cellv[1] = xstrdup(name);
		cellv[2] = xstrdup(lower ? "min" : "max");
		for (int j = 0; j < njobs; j++) {
			char a[32], b[32];
			cellv[3 + 2 * j] = xstrdup(fmt_point(cells[j].final, a, sizeof a));
			cellv[4 + 2 * j] = xasprintf("%s%s", fmt_point(cells[j].best, b, sizeof b), cells[j].star ? "*" : "");
		}
		cli_table_add(&t, (const char *const *)cellv);
		for (size_t k = 0; k < nc; k++)
			free(cellv[k]);
		free(cellv);
	}
	if (!rc && json) {
		rc = cli_print_json(out);
	} else if (!rc) {
		if (json_array_size(rows))
			cli_table_print(&t, NULL);
		else
			printf("(none of these jobs has metrics yet)\n");
		cli_table_free(&t);
		rc = flush_stdout();
	}
	json_decref(out);
	json_decref(rows);
	json_decref(keys);
	free(cells);
	for (int j = 0; j < njobs; j++)
		json_decref(ans[j]);
	free(ans);
	return rc;
}

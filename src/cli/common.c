/* common.c - helpers shared by every weft subcommand: --help detection, the
 * home directory, option parsing with uniform usage errors, tolerant JSON
 * accessors and the aligned text table used by `list` and `data ls`.
 * Kept free of HTTP so that commands like `validate` can use it too. */
#include "cli/cli.h"
#include "cli/common.h"
#include "util/mem.h"
#include "util/timeutil.h"
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cli_wants_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--"))
			break;
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
			return 1;
	}
	return 0;
}

char *cli_home_dir(void)
{
	const char *h = getenv("WEFT_HOME");
	if (h && *h)
		return xstrdup(h);
	h = getenv("HOME");
	if (!h || !*h)
		h = "/root";
	return xasprintf("%s/.weft", h);
}

void cli_opts_begin(void)
{
	optind = 0; /* GNU: 0 re-initialises getopt, including its permutation state */
	opterr = 0;
}

int cli_getopt(int argc, char **argv, const char *shortopts, const struct option *longopts, const char *cmd)
{
	char opts[128];
	/* a leading ':' makes getopt return ':' for a missing value instead of '?' */
	snprintf(opts, sizeof opts, ":%s", shortopts);
	int c = getopt_long(argc, argv, opts, longopts, NULL);
	if (c != '?' && c != ':')
		return c;
	const char *arg = optind > 0 && optind <= argc ? argv[optind - 1] : "";
	if (c == ':')
		fprintf(stderr, "weft %s: option '%s' needs a value\n", cmd, arg);
	else if (!strncmp(arg, "--", 2) && strchr(arg, '=') && optopt)
		fprintf(stderr, "weft %s: option '%.*s' does not take a value\n", cmd, (int)(strchr(arg, '=') - arg),
			arg);
	else if (!strncmp(arg, "--", 2))
		fprintf(stderr, "weft %s: unknown option '%s'\n", cmd, arg);
	else
		fprintf(stderr, "weft %s: unknown option '-%c'\n", cmd, optopt ? optopt : '?');
	fprintf(stderr, "Run 'weft %s --help' for the options.\n", cmd);
	return '?';
}

int cli_one_id(int argc, char **argv, const char *cmd, const char *usage_line, const char **id)
{
	static const struct option opts[] = { { "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 } };
	cli_opts_begin();
	if (cli_getopt(argc, argv, "", opts, cmd) != -1)
		return EXIT_USER;
	if (optind >= argc)
		return cli_usage_error(cmd, usage_line, "missing the training job ID");
	if (argc - optind > 1)
		return cli_usage_error(cmd, usage_line, "unexpected argument '%s'", argv[optind + 1]);
	if (!*argv[optind])
		return cli_usage_error(cmd, usage_line, "the training job ID is empty");
	*id = argv[optind];
	return 0;
}

int cli_usage_error(const char *cmd, const char *usage_line, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "weft %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nusage: %s\nRun 'weft %s --help' for the options.\n", usage_line, cmd);
	return EXIT_USER;
}

int cli_help(const char *text)
{
	fputs(text, stdout);
	return 0;
}

int cli_parse_ll(const char *cmd, const char *flag, const char *s, long long min, long long max, long long *out)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (!*s || *end || errno) {
		fprintf(stderr, "weft %s: %s: '%s' is not an integer\n", cmd, flag, s);
		return -1;
	}
	if (v < min || v > max) {
		fprintf(stderr, "weft %s: %s: %lld is out of range (%lld..%lld)\n", cmd, flag, v, min, max);
		return -1;
	}
	*out = v;
	return 0;
}

const char *cli_jstr(const json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));
	return s ? s : "";
}

long long cli_jint(const json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);
	if (json_is_integer(v))
		return json_integer_value(v);
	if (json_is_real(v))
		return (long long)json_real_value(v);
	if (json_is_string(v))
		return strtoll(json_string_value(v), NULL, 10);
	return 0;
}

const char *cli_jtime(const json_t *obj, const char *key, char *buf, size_t size)
{
	return fmt_time_ms(cli_jint(obj, key), buf, size);
}

const char *cli_fmt_bytes(long long n, char *buf, size_t size)
{
	static const char *const units[] = { "KiB", "MiB", "GiB", "TiB" };
	if (n < 1024) {
		snprintf(buf, size, "%lld B", n);
		return buf;
	}
	double v = (double)n;
	int u = -1;
	while (v >= 1024 && u < 3) {
		v /= 1024;
		u++;
	}
	snprintf(buf, size, "%.1f %s", v, units[u]);
	return buf;
}

int cli_print_json(const json_t *j)
{
	int bad = j ? json_dumpf(j, stdout, JSON_INDENT(2)) : fputs("{}", stdout) == EOF;
	if (bad || putchar('\n') == EOF || fflush(stdout)) {
		perror("weft: writing standard output");
		return EXIT_SYSTEM;
	}
	return 0;
}

void cli_table_init(struct cli_table *t, size_t ncols)
{
	memset(t, 0, sizeof *t);
	t->ncols = ncols;
}

void cli_table_add(struct cli_table *t, const char *const *row)
{
	if (t->nrows == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 16;
		t->cells = xrealloc(t->cells, t->cap * t->ncols * sizeof *t->cells);
	}
	for (size_t i = 0; i < t->ncols; i++)
		t->cells[t->nrows * t->ncols + i] = xstrdup(row[i] ? row[i] : "");
	t->nrows++;
}

void cli_table_print(const struct cli_table *t, const int *right)
{
	size_t *w = xcalloc(t->ncols, sizeof *w);
	for (size_t r = 0; r < t->nrows; r++)
		for (size_t c = 0; c < t->ncols; c++) {
			size_t n = strlen(t->cells[r * t->ncols + c]);
			if (n > w[c])
				w[c] = n;
		}
	for (size_t r = 0; r < t->nrows; r++) {
		for (size_t c = 0; c < t->ncols; c++) {
			const char *s = t->cells[r * t->ncols + c];
			int last = c + 1 == t->ncols;
			if (right && right[c])
				printf("%*s", (int)w[c], s);
			else if (last)
				fputs(s, stdout); /* no trailing blanks */
			else
				printf("%-*s", (int)w[c], s);
			fputs(last ? "\n" : "  ", stdout);
		}
	}
	free(w);
}

void cli_table_free(struct cli_table *t)
{
	for (size_t i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	memset(t, 0, sizeof *t);
}

/* common.h - small helpers shared by the weft subcommands (one file per command in src/cli):
 * getopt_long with uniform "weft CMD: ..." usage errors, number parsing that
 * names the flag, JSON field access tolerant of FfDL's strings-for-numbers,
 * and a column-aligned text table for `list` and `data ls`.
 * cli_wants_help and cli_home_dir are declared in cli.h. */
#ifndef WEFT_CLI_COMMON_H
#define WEFT_CLI_COMMON_H
#include <getopt.h>
#include <jansson.h>
#include <stddef.h>

/* Call before the first cli_getopt of a command (resets getopt's state). */
void cli_opts_begin(void);
/* getopt_long that permutes (flags may follow operands) and, for an unknown
 * option or a missing argument, prints "weft CMD: ..." plus a hint to run
 * --help, then returns '?'. Returns -1 when the options are exhausted. */
int cli_getopt(int argc, char **argv, const char *shortopts, const struct option *longopts, const char *cmd);

/* For commands whose only operand is a job id and that take no option but
 * --help: sets *id, or prints a usage error and returns EXIT_USER. */
int cli_one_id(int argc, char **argv, const char *cmd, const char *usage_line, const char **id);

/* Prints "weft CMD: <message>" and the one-line usage to stderr; returns EXIT_USER. */
int cli_usage_error(const char *cmd, const char *usage_line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Prints the full help text to stdout; returns 0. */
int cli_help(const char *text);

/* Parses a decimal integer in [min, max] given for flag; on failure prints
 * "weft CMD: FLAG: 'VALUE' is not ..." and returns -1. */
int cli_parse_ll(const char *cmd, const char *flag, const char *s, long long min, long long max, long long *out);

/* JSON accessors: a missing field or one of another type gives "" / 0. */
const char *cli_jstr(const json_t *obj, const char *key);
long long cli_jint(const json_t *obj, const char *key); /* integer, real or numeric string */
/* Formats a milliseconds-since-epoch field (string or number) as UTC
 * "YYYY-MM-DD HH:MM:SS", or "-" when empty or zero. buf >= 24 bytes. */
const char *cli_jtime(const json_t *obj, const char *key, char *buf, size_t size);
/* "12.3 MiB" style size into buf. */
const char *cli_fmt_bytes(long long n, char *buf, size_t size);

/* Prints j indented to stdout (an empty object for NULL); returns 0 or
 * EXIT_SYSTEM when stdout cannot be written. */
int cli_print_json(const json_t *j);

/* A text table: add a header row and data rows of ncols strings; print
 * aligns the columns (two spaces apart; right-aligned where right[i]). */
struct cli_table {
	size_t ncols, nrows, cap;
	char **cells; /* nrows * ncols, owned */
};
void cli_table_init(struct cli_table *t, size_t ncols);
void cli_table_add(struct cli_table *t, const char *const *row); /* copies the strings */
void cli_table_print(const struct cli_table *t, const int *right);
void cli_table_free(struct cli_table *t);

#endif

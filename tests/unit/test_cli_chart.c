/* test_cli_chart.c - the terminal line chart of `weft metrics --plot`
 * (src/cli/chart.c): layout (rows, labels, x range, width), where the line
 * is drawn, braille vs ASCII, flat/single/unordered/non-finite input, and the
 * locale probe. chart.c is part of the CLI, not libweft.a, so it is compiled
 * into this test directly. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../src/cli/chart.c"

/* Splits a rendered chart into lines (the copies live in buf). */
static int split_lines(const char *text, char *buf, size_t size, char **lines, int max)
{
	snprintf(buf, size, "%s", text);
	int n = 0;
	for (char *p = buf; *p && n < max;) {
		lines[n++] = p;
		char *nl = strchr(p, '\n');
		if (!nl)
			break;
		*nl = '\0';
		p = nl + 1;
	}
	return n;
}

/* display columns: UTF-8 continuation bytes take none */
static int columns(const char *s)
{
	int n = 0;
	for (; *s; s++)
		if (((unsigned char)*s & 0xC0) != 0x80)
			n++;
	return n;
}

/* the part of a row after the axis character */
static const char *plot_part(const char *row, int utf8)
{
	const char *p = utf8 ? strstr(row, "\xe2\x94\xa4") : NULL;
	if (utf8 && !p)
		p = strstr(row, "\xe2\x94\x82");
	if (utf8)
		return p ? p + 3 : "";
	p = strpbrk(row, "+|");
	return p ? p + 1 : "";
}

static char *render(const double *x, const double *y, size_t n, int width, int utf8)
{
	struct sbuf sb = SBUF_INIT;
	struct chart_opts o = { .width = width, .height = 12, .utf8 = utf8, .x_label = "iteration" };
	chart_render(&sb, x, y, n, &o);
	return sb_detach(&sb);
}

static void test_layout_braille(void **state)
{
	(void)state;
	double x[50], y[50];
	for (int i = 0; i < 50; i++) {
		x[i] = 10 * (i + 1);
		y[i] = 2.0 - i * 0.03;
	}
	char *out = render(x, y, 50, 60, 1);
	char buf[8192], *lines[64];
	int n = split_lines(out, buf, sizeof buf, lines, 64);
	assert_int_equal(n, 14); /* 12 rows, the axis, the x range */
	assert_non_null(strstr(lines[0], "2 \xe2\x94\xa4"));       /* max on the top row */
	assert_non_null(strstr(lines[11], "0.53 \xe2\x94\xa4"));   /* min on the bottom row */
	assert_non_null(strstr(lines[12], "\xe2\x94\x94\xe2\x94\x80")); /* └─ */
	assert_non_null(strstr(lines[13], "10"));
	assert_non_null(strstr(lines[13], "iteration"));
	assert_non_null(strstr(lines[13], "500"));
	for (int i = 0; i < n; i++)
		assert_true(columns(lines[i]) <= 60);
	/* a falling line: starts at the top left and ends at the bottom right */
	const char *top = plot_part(lines[0], 1), *bottom = plot_part(lines[11], 1);
	assert_true((unsigned char)top[0] == 0xE2 && (unsigned char)top[1] >= 0xA0); /* braille */
	assert_true(columns(bottom) > 40);
	assert_int_equal(columns(top) < 10, 1);
	free(out);
}

static void test_ascii_only(void **state)
{
	(void)state;
	double x[30], y[30];
	for (int i = 0; i < 30; i++) {
		x[i] = i;
		y[i] = sin(i / 4.0);
	}
	char *out = render(x, y, 30, 50, 0);
	for (const unsigned char *p = (const unsigned char *)out; *p; p++)
		assert_true(*p < 0x80);
	assert_true(strchr(out, '\'') || strchr(out, '.') || strchr(out, ':'));
	assert_non_null(strstr(out, "+---"));
	char buf[8192], *lines[64];
	int n = split_lines(out, buf, sizeof buf, lines, 64);
	assert_int_equal(n, 14);
	for (int i = 0; i < n; i++)
		assert_true(columns(lines[i]) <= 50);
	free(out);
}

static void test_flat_and_single(void **state)
{
	(void)state;
	double x[3] = { 1, 2, 3 }, y[3] = { 0.25, 0.25, 0.25 };
	char *out = render(x, y, 3, 40, 0);
	char buf[8192], *lines[64];
	int n = split_lines(out, buf, sizeof buf, lines, 64);
	assert_int_equal(n, 14);
	/* the flat line is drawn on the row labelled with its value */
	int found = -1;
	for (int i = 0; i < 12; i++)
		if (strstr(lines[i], "0.25 +"))
			found = i;
	assert_true(found > 0 && found < 11);
	assert_non_null(strpbrk(plot_part(lines[found], 0), "'.:"));
	free(out);

	double sx[1] = { 7 }, sy[1] = { 3 };
	out = render(sx, sy, 1, 40, 1);
	assert_non_null(strstr(out, "3 \xe2\x94\xa4"));
	assert_non_null(strstr(out, " 7"));
	free(out);
}

static void test_unordered_and_nonfinite(void **state)
{
	(void)state;
	/* Keras restarts its progress counter every epoch: x goes 100, 100, 100 */
	double x[4] = { 100, 100, 100, NAN }, y[4] = { 0.9, 0.5, 0.3, 1 };
	char *out = render(x, y, 4, 40, 1);
	assert_non_null(strstr(out, "0.9 "));
	assert_non_null(strstr(out, "0.3 "));
	assert_null(strstr(out, "nan"));
	free(out);
	double nx[2] = { NAN, 1 }, ny[2] = { 1, INFINITY };
	out = render(nx, ny, 2, 40, 1);
	assert_string_equal(out, "(no data)\n");
	free(out);
	out = render(NULL, NULL, 0, 40, 0);
	assert_string_equal(out, "(no data)\n");
	free(out);
}

static void test_labels_stay_apart(void **state)
{
	(void)state;
	double x[2] = { 1, 2 }, y[2] = { 1000.001, 1000.002 };
	char *out = render(x, y, 2, 40, 0);
	assert_non_null(strstr(out, "1000.002"));
	assert_non_null(strstr(out, "1000.001"));
	free(out);
	char b[32];
	assert_string_equal(chart_fmt(-0.0, b, sizeof b), "0");
	assert_string_equal(chart_fmt(500, b, sizeof b), "500");
	assert_string_equal(chart_fmt(0.123456, b, sizeof b), "0.1235");
}

static void test_narrow_width(void **state)
{
	(void)state;
	double x[2] = { 1, 1000000 }, y[2] = { -123456.5, 0.000123 };
	char *out = render(x, y, 2, 5, 1); /* below the minimum: CHART_MIN_WIDTH is used */
	assert_non_null(strstr(out, "1000000"));
	free(out);
}

static void test_locale(void **state)
{
	(void)state;
	setenv("LC_ALL", "C", 1);
	setenv("LANG", "en_US.UTF-8", 1);
	assert_int_equal(chart_locale_utf8(), 0); /* LC_ALL decides */
	unsetenv("LC_ALL");
	unsetenv("LC_CTYPE");
	assert_int_equal(chart_locale_utf8(), 1);
	setenv("LC_CTYPE", "C.utf8", 1);
	assert_int_equal(chart_locale_utf8(), 1);
	unsetenv("LC_CTYPE");
	unsetenv("LANG");
	assert_int_equal(chart_locale_utf8(), 0);
	FILE *f = fopen("/dev/null", "r");
	assert_non_null(f);
	assert_int_equal(chart_term_width(f), 80); /* not a terminal */
	fclose(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layout_braille),    cmocka_unit_test(test_ascii_only),
		cmocka_unit_test(test_flat_and_single),   cmocka_unit_test(test_unordered_and_nonfinite),
		cmocka_unit_test(test_labels_stay_apart), cmocka_unit_test(test_narrow_width),
		cmocka_unit_test(test_locale),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

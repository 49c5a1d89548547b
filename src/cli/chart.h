/* chart.h - a small terminal line chart for `weft metrics --plot`: one series
 * of (x, y) points drawn into a text block with a labelled y axis (max, middle,
 * min) and an x axis showing the x range. Braille dots (2x4 per character) when
 * the terminal speaks UTF-8, plain ASCII (' . : characters) otherwise. Pure
 * text in, text out: no terminal I/O here except the two probes at the end. */
#ifndef WEFT_CLI_CHART_H
#define WEFT_CLI_CHART_H
#include <stddef.h>
#include <stdio.h>

#include "util/sbuf.h"

#define CHART_MIN_WIDTH 24
#define CHART_DEFAULT_HEIGHT 12

struct chart_opts {
	int width;           /* total width in columns, labels included (>= CHART_MIN_WIDTH) */
	int height;          /* plot rows (>= 2); 0: CHART_DEFAULT_HEIGHT */
	int utf8;            /* braille and box-drawing characters; else ASCII */
	const char *x_label; /* printed under the x axis when there is room (may be NULL) */
};

/* Appends the chart of n points to out: height rows of plot with the y labels,
 * the x axis, and a line with the first and last x (the points are drawn in the
 * given order, joined by line segments). x must be non-decreasing for an
 * x-proportional chart; when it is not (or all x are equal), the points are
 * spaced evenly instead and the axis shows "x[0] .. x[n-1]" all the same.
 * Non-finite points are skipped; with no finite point, appends "(no data)\n".
 * Never fails. */
void chart_render(struct sbuf *out, const double *x, const double *y, size_t n, const struct chart_opts *o);

/* Formats v in at most ~10 characters: integers as integers, others %.Ng. */
const char *chart_fmt(double v, char *buf, size_t size);

/* The width of the terminal on f, or 80 when f is not a terminal. */
int chart_term_width(FILE *f);
/* 1 when the locale (LC_ALL, else LC_CTYPE, else LANG) names UTF-8. */
int chart_locale_utf8(void);

#endif

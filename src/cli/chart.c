/* chart.c - the terminal line chart behind `weft metrics --plot` (see chart.h).
 * Points are mapped onto a dot grid finer than the character grid (2x4 dots per
 * character with braille, 1x2 with ASCII's ' . :), consecutive points are joined
 * with Bresenham segments, and each character cell is then chosen from the dots
 * it covers. Kept free of HTTP and JSON so a unit test can drive it directly. */
#include "cli/chart.h"
#include "util/mem.h"
#include <ctype.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

static const char *fmt_prec(double v, int prec, char *buf, size_t size)
{
	if (v == 0)
		v = 0; /* no "-0" */
	if (fabs(v) < 1e12 && v == floor(v))
		snprintf(buf, size, "%.0f", v);
	else
		snprintf(buf, size, "%.*g", prec, v);
	return buf;
}

const char *chart_fmt(double v, char *buf, size_t size)
{
	return fmt_prec(v, 4, buf, size);
}

/* The y labels: top, middle, bottom, with the fewest digits that keep them apart. */
static void y_labels(double lo, double hi, char top[32], char mid[32], char bot[32])
{
	for (int p = 4; p <= 12; p++) {
		fmt_prec(hi, p, top, 32);
		fmt_prec((lo + hi) / 2, p, mid, 32);
		fmt_prec(lo, p, bot, 32);
		if (strcmp(top, mid) && strcmp(mid, bot) && strcmp(top, bot))
			return;
	}
}

struct grid {
	int w, h; /* in dots */
	unsigned char *dot;
};

static void plot(struct grid *g, int x, int y)
{
	if (x >= 0 && x < g->w && y >= 0 && y < g->h)
		g->dot[(size_t)y * (size_t)g->w + (size_t)x] = 1;
}

static void segment(struct grid *g, int x0, int y0, int x1, int y1)
{
	int dx = abs(x1 - x0), sx = x0 < x1 ? 1 : -1;
	int dy = -abs(y1 - y0), sy = y0 < y1 ? 1 : -1;
	int err = dx + dy;
	for (;;) {
		plot(g, x0, y0);
		if (x0 == x1 && y0 == y1)
			break;
		int e2 = 2 * err;
		if (e2 >= dy) {
			err += dy;
			x0 += sx;
		}
		if (e2 <= dx) {
			err += dx;
			y0 += sy;
		}
	}
}

static int dot_at(const struct grid *g, int x, int y)
{
	return g->dot[(size_t)y * (size_t)g->w + (size_t)x];
}

/* Appends the character for cell (cx, cy). */
static void add_cell(struct sbuf *out, const struct grid *g, int cx, int cy, int utf8)
{
	if (utf8) {
		/* braille: dots 1-2-3-7 down the left column, 4-5-6-8 down the right */
		static const unsigned char bit[2][4] = { { 0x01, 0x02, 0x04, 0x40 }, { 0x08, 0x10, 0x20, 0x80 } };
		unsigned bits = 0;
		for (int dx = 0; dx < 2; dx++)
			for (int dy = 0; dy < 4; dy++)
				if (dot_at(g, cx * 2 + dx, cy * 4 + dy))
					bits |= bit[dx][dy];
		if (!bits) {
			sb_addc(out, ' ');
			return;
		}
		char s[3] = { (char)0xE2, (char)(0xA0 | (bits >> 6)), (char)(0x80 | (bits & 0x3F)) };
		sb_add(out, s, 3);
		return;
	}
	int top = dot_at(g, cx, cy * 2), bottom = dot_at(g, cx, cy * 2 + 1);
	sb_addc(out, top && bottom ? ':' : top ? '\'' : bottom ? '.' : ' ');
}

static void trim_blanks(struct sbuf *out, size_t line_start)
{
	while (out->len > line_start && out->buf[out->len - 1] == ' ')
		out->len--;
	out->buf[out->len] = '\0';
}

void chart_render(struct sbuf *out, const double *x, const double *y, size_t n, const struct chart_opts *o)
{
	int utf8 = o->utf8;
	int height = o->height >= 2 ? o->height : CHART_DEFAULT_HEIGHT;
	int width = o->width >= CHART_MIN_WIDTH ? o->width : CHART_MIN_WIDTH;
	int sx = utf8 ? 2 : 1, sy = utf8 ? 4 : 2;

	/* the finite points */
	double *px = xmalloc((n ? n : 1) * sizeof *px), *py = xmalloc((n ? n : 1) * sizeof *py);
	size_t m = 0;
	for (size_t i = 0; i < n; i++)
		if (isfinite(x[i]) && isfinite(y[i])) {
			px[m] = x[i];
			py[m] = y[i];
			m++;
		}
	if (!m) {
		sb_adds(out, "(no data)\n");
		free(px);
		free(py);
		return;
	}
	double lo = py[0], hi = py[0];
	int increasing = 1;
	for (size_t i = 1; i < m; i++) {
		if (py[i] < lo)
			lo = py[i];
		if (py[i] > hi)
			hi = py[i];
		if (px[i] < px[i - 1])
			increasing = 0;
	}
	if (hi == lo) { /* a flat series: draw it across the middle */
		double d = lo == 0 ? 1 : fabs(lo) * 0.1;
		lo -= d;
		hi += d;
	}
	int proportional = increasing && px[m - 1] > px[0];

	char top[32], mid[32], bot[32];
	y_labels(lo, hi, top, mid, bot);
	int lw = (int)strlen(top);
	if ((int)strlen(mid) > lw)
		lw = (int)strlen(mid);
	if ((int)strlen(bot) > lw)
		lw = (int)strlen(bot);
	int w = width - lw - 2; /* label, a blank, the axis */
	if (w < 8)
		w = 8;

	struct grid g = { w * sx, height * sy, NULL };
	g.dot = xcalloc((size_t)g.w * (size_t)g.h, 1);
	int prev_x = 0, prev_y = 0;
	for (size_t i = 0; i < m; i++) {
		double fx;
		if (proportional)
			fx = (px[i] - px[0]) / (px[m - 1] - px[0]);
		else
			fx = m == 1 ? 0.5 : (double)i / (double)(m - 1);
		int gx = (int)lround(fx * (g.w - 1));
		int gy = (int)lround((hi - py[i]) / (hi - lo) * (g.h - 1));
		if (i == 0)
			plot(&g, gx, gy);
		else
			segment(&g, prev_x, prev_y, gx, gy);
		prev_x = gx;
		prev_y = gy;
	}

	const char *tick = utf8 ? "\xe2\x94\xa4" : "+";   /* ┤ */
	const char *bar = utf8 ? "\xe2\x94\x82" : "|";    /* │ */
	const char *corner = utf8 ? "\xe2\x94\x94" : "+"; /* └ */
	const char *rule = utf8 ? "\xe2\x94\x80" : "-";   /* ─ */
	/* the middle label goes on the row where a value of (lo + hi) / 2 is drawn */
	int mid_row = height >= 5 ? (int)lround(0.5 * (g.h - 1)) / sy : -1;
	for (int r = 0; r < height; r++) {
		size_t start = out->len;
		const char *label = r == 0 ? top : r == height - 1 ? bot : r == mid_row ? mid : "";
		sb_addf(out, "%*s ", lw, label);
		sb_adds(out, *label ? tick : bar);
		for (int c = 0; c < w; c++)
			add_cell(out, &g, c, r, utf8);
		trim_blanks(out, start);
		sb_addc(out, '\n');
	}
	sb_addf(out, "%*s ", lw, "");
	sb_adds(out, corner);
	for (int c = 0; c < w; c++)
		sb_adds(out, rule);
	sb_addc(out, '\n');

	/* x range: first value under the first column, last one ending under the last */
	char first[32], last[32];
	fmt_prec(px[0], 10, first, sizeof first);
	fmt_prec(px[m - 1], 10, last, sizeof last);
	size_t start = out->len;
	int col0 = lw + 2, used = (int)strlen(first);
	sb_addf(out, "%*s%s", col0, "", first);
	if (m > 1) {
		int lastw = (int)strlen(last), gap = w - used - lastw;
		const char *xl = o->x_label ? o->x_label : "";
		int xlw = (int)strlen(xl);
		if (gap < 1)
			gap = 1;
		if (xlw && gap >= xlw + 2) {
			int before = (gap - xlw) / 2;
			sb_addf(out, "%*s%s%*s", before, "", xl, gap - before - xlw, "");
		} else {
			sb_addf(out, "%*s", gap, "");
		}
		sb_adds(out, last);
	} else if (o->x_label && *o->x_label) {
		sb_addf(out, "  %s", o->x_label);
	}
	trim_blanks(out, start);
	sb_addc(out, '\n');
	free(g.dot);
	free(px);
	free(py);
}

int chart_term_width(FILE *f)
{
	struct winsize ws;
	int fd = fileno(f);
	if (fd >= 0 && isatty(fd) && !ioctl(fd, TIOCGWINSZ, &ws) && ws.ws_col > 0)
		return ws.ws_col;
	return 80;
}

int chart_locale_utf8(void)
{
	static const char *const vars[] = { "LC_ALL", "LC_CTYPE", "LANG" };
	for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
		const char *v = getenv(vars[i]);
		if (!v || !*v)
			continue;
		/* the first one set decides, as in setlocale(LC_CTYPE, "") */
		char low[64];
		size_t k = 0;
		for (; v[k] && k < sizeof low - 1; k++)
			low[k] = (char)tolower((unsigned char)v[k]);
		low[k] = '\0';
		return strstr(low, "utf-8") || strstr(low, "utf8");
	}
	return 0;
}

/* fuzz_regex.c - libFuzzer target for the regex_extractor (src/tds/regex.c).
 * The first byte picks a mode: feed the input's lines through a fixed spec
 * (Caffe/TensorFlow-like groups, every value type, meta time and subid),
 * saving and restoring the window midway and checking the restored window
 * saves the same text; compile the first line as a group's regex and feed
 * the rest through it; or load the input as a saved window state. Each line
 * sits in an exactly-sized heap buffer so ASan sees any read past it, and
 * every emitted record is checked against em_rec's promises. */
#include "tds/regex.h"
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char *const spec_json =
	"{\"line_lookahead\": 3, \"groups\": {"
	" \"train\": {\"regex\": \"(?:[^\\\\n]*\\\\n)*?%{GLOG_STAMP:ts}\\\\s+\\\\d+ solver\\\\.cpp:\\\\d+\\\\] Iteration "
	"%{INT:iteration}.*?loss = %{FLOAT:loss}\","
	"   \"meta\": {\"time\": \"$ts\"},"
	"   \"etimes\": {\"iteration\": {\"type\": \"INT\", \"value\": \"$iteration\"}},"
	"   \"values\": {\"loss\": {\"type\": \"FLOAT\", \"value\": \"$loss\"}}},"
	" \"tf\": {\"regex\": \"INFO:tensorflow:loss = %{FLOAT:loss}, step = %{INT_ANY:step}(?: \\\\((?P<sec>[^)]*) sec\\\\))?\","
	"   \"etimes\": {\"step\": {\"type\": \"INT\", \"value\": \"$step\"}},"
	"   \"values\": {\"loss\": {\"value\": \"$loss\"}, \"sec\": {\"type\": \"FLOAT\", \"value\": \"$sec\"}}},"
	" \"kv\": {\"regex\": \"(?P<t>%{TIMESTAMP}|\\\\d+) (?P<who>\\\\w*) (?P<k>\\\\w+)=(?P<v>\\\\S*) (?P<j>.*?)$\","
	"   \"meta\": {\"time\": \"$t\", \"subid\": \"$who\"},"
	"   \"values\": {\"v\": {\"value\": \"$v\"}, \"j\": {\"type\": \"JSONSTRING\", \"value\": \"$j\"},"
	"     \"h\": {\"type\": \"STRING\", \"value\": \"$k\"}, \"lit\": {\"type\": \"INT\", \"value\": \"0x10\"}}},"
	" \"multi\": {\"regex\": \"a\\\\n%{HEX:x}\\\\n[^\\\\n]*\\\\Z\", \"values\": {\"x\": {\"type\": \"INT\", \"value\": \"$x\"}}}"
	"}}";

static struct rx *fixed;

static const char *const labels[] = { "train", "tf", "kv", "multi", "g", NULL };

static int check(void *ctx, const struct em_rec *r)
{
	(void)ctx;
	int known = 0;
	for (int i = 0; labels[i]; i++)
		known |= !strcmp(r->group, labels[i]);
	if (!known || r->time_ms < 0 || r->n_etimes < 0 || r->n_etimes > EM_MAX_ETIMES || r->n_values < 0 ||
	    r->n_values > EM_MAX_VALUES || (r->subid && !*r->subid))
		abort();
	for (int s = 0; s < 2; s++) {
		const struct em_kv *kv = s ? r->values : r->etimes;
		int n = s ? r->n_values : r->n_etimes;
		for (int i = 0; i < n; i++) {
			if (!kv[i].key || !*kv[i].key || !kv[i].value)
				abort();
			size_t len = strlen(kv[i].value);
			if (kv[i].type == EM_INT || kv[i].type == EM_FLOAT) {
				char *end;
				double d = strtod(kv[i].value, &end);
				if (!len || *end || !isfinite(d) || !kv[i].has_num || kv[i].num != d)
					abort();
			} else if (kv[i].has_num) {
				abort();
			} else if (kv[i].type == EM_JSONSTRING) {
				json_t *j = json_loadb(kv[i].value, len, JSON_DECODE_ANY, NULL);
				if (!j)
					abort();
				json_decref(j);
			} else if (kv[i].type != EM_STRING) {
				abort();
			}
		}
	}
	return 0;
}

/* feeds data's lines (split at '\n') to w; at line `cut` (if >= 0) the
 * window is saved and replaced by a restored copy */
static void feed(const struct rx *rx, struct rx_window **w, const uint8_t *data, size_t size, int cut)
{
	int line = 0;
	size_t i = 0;
	while (i <= size) {
		const uint8_t *nl = i < size ? memchr(data + i, '\n', size - i) : NULL;
		size_t n = nl ? (size_t)(nl - (data + i)) : size - i;
		char *buf = malloc(n ? n : 1);
		if (n)
			memcpy(buf, data + i, n);
		if (rx_feed(*w, buf, n, check, NULL))
			abort();
		free(buf);
		if (line++ == cut) {
			struct sbuf s = SBUF_INIT, s2 = SBUF_INIT;
			rx_window_save(*w, &s);
			struct rx_window *w2 = rx_window_new(rx);
			struct weft_err e;
			if (rx_window_load(w2, s.buf, s.len, &e))
				abort();
			rx_window_save(w2, &s2);
			if (s.len != s2.len || memcmp(s.buf, s2.buf, s.len))
				abort();
			for (size_t k = 0; k < s.len; k++)
				if ((unsigned char)s.buf[k] < 0x20 && s.buf[k] != '\n')
					abort();
			rx_window_free(*w);
			*w = w2;
			sb_release(&s);
			sb_release(&s2);
		}
		if (!nl)
			break;
		i += n + 1;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct weft_err e;
	if (!fixed) {
		json_t *j = json_loads(spec_json, 0, NULL);
		if (!j || rx_compile(j, &fixed, &e))
			abort();
		json_decref(j);
	}
	if (size < 1)
		return 0;
	int mode = data[0] & 3, cut = data[0] >> 2;
	data++, size--;
	if (mode <= 1) {
		struct rx_window *w = rx_window_new(fixed);
		feed(fixed, &w, data, size, mode ? cut : -1);
		rx_window_free(w);
	} else if (mode == 2) {
		/* the first line is a regex; its capture v, when it has one, is a value and the subid */
		const uint8_t *nl = memchr(data, '\n', size);
		size_t n = nl ? (size_t)(nl - data) : size;
		json_t *re = json_stringn((const char *)data, n);
		if (!re)
			return 0; /* not UTF-8: a manifest could not hold it */
		const char *v = strstr(json_string_value(re), "<v>") ? "$v" : "7";
		json_t *spec = json_pack("{s:i, s:{s:{s:o, s:{s:{s:s}, s:{s:s, s:s}}, s:{s:s, s:s}}}}", "line_lookahead", 2,
					 "groups", "g", "regex", re, "values", "v", "value", v, "w", "type", "FLOAT", "value", "1.5",
					 "meta", "subid", v, "time", v);
		struct rx *rx = NULL;
		if (rx_compile(spec, &rx, &e) == 0) {
			struct rx_window *w = rx_window_new(rx);
			if (nl)
				feed(rx, &w, nl + 1, size - n - 1, n % 4 ? (int)(n % 7) : -1);
			rx_window_free(w);
			rx_free(rx);
		} else if (!e.msg[0] || strncmp(e.msg, "evaluation_metrics.groups.g.", 28)) {
			abort();
		}
		json_decref(spec);
	} else {
		struct rx_window *w = rx_window_new(fixed);
		char *buf = malloc(size ? size : 1);
		if (size)
			memcpy(buf, data, size);
		if (rx_window_load(w, buf, size, &e) && rx_window_lines(w) != 0)
			abort();
		if (rx_feed(w, "INFO:tensorflow:loss = 1, step = 2", 34, check, NULL))
			abort();
		free(buf);
		rx_window_free(w);
	}
	return 0;
}

/* test_emfile.c - FfDL's evaluation-metrics.txt lines (src/tds/emfile.c):
 * records as FfDL's print_json.py wrote them (enum numbers, string values,
 * type left out for STRING), as users write them (type names in any case,
 * numbers as values), blank lines, and every kind of bad line, each of which
 * must give WEFT_EINVAL and a message naming the field. Runs with TZ=UTC. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "tds/emfile.h"
#include "util/mem.h"
#include "util/sbuf.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct coll {
	struct sbuf out;
	int n, fail;
};

/* INT and FLOAT values carry their number (record.h's has_num), others none */
static void check_nums(const struct em_rec *r)
{
	for (int s = 0; s < 2; s++)
		for (int i = 0; i < (s ? r->n_values : r->n_etimes); i++) {
			const struct em_kv *kv = s ? &r->values[i] : &r->etimes[i];
			if (kv->type == EM_INT || kv->type == EM_FLOAT) {
				assert_true(kv->has_num);
				assert_true(kv->num == strtod(kv->value, NULL));
			} else {
				assert_false(kv->has_num);
			}
		}
}

static int collect(void *ctx, const struct em_rec *r)
{
	struct coll *c = ctx;
	if (c->fail)
		return c->fail;
	check_nums(r);
	sb_addf(&c->out, "%s|%lld|%s|", r->group, (long long)r->time_ms, r->subid ? r->subid : "-");
	for (int i = 0; i < r->n_etimes; i++)
		sb_addf(&c->out, "%s%s:%s=%s", i ? "," : "", r->etimes[i].key, em_type_name(r->etimes[i].type),
			r->etimes[i].value);
	sb_addc(&c->out, '|');
	for (int i = 0; i < r->n_values; i++)
		sb_addf(&c->out, "%s%s:%s=%s", i ? "," : "", r->values[i].key, em_type_name(r->values[i].type),
			r->values[i].value);
	c->n++;
	return 0;
}

static struct coll c;
static struct weft_err err;

/* parses s (with ' for "); returns the rc, the record text in c.out */
static int parse(const char *s)
{
	char *t = xstrdup(s);
	for (char *p = t; *p; p++)
		if (*p == '\'')
			*p = '"';
	sb_reset(&c.out);
	c.n = 0;
	memset(&err, 0, sizeof err);
	int rc = emfile_parse_line(t, strlen(t), collect, &c, &err);
	free(t);
	return rc;
}

static const char *rec(const char *s)
{
	int rc = parse(s);
	if (rc)
		fail_msg("rc %d (%s) for %s", rc, err.msg, s);
	assert_int_equal(c.n, 1);
	return sb_str(&c.out);
}

static const char *bad(const char *s)
{
	assert_int_equal(parse(s), WEFT_EINVAL);
	assert_int_equal(c.n, 0);
	assert_int_equal(err.code, WEFT_EINVAL);
	return err.msg;
}

/* a line exactly as FfDL's print_json.to_string wrote it */
static void ffdl_written_line(void **st)
{
	(void)st;
	assert_string_equal(
		rec("{'meta': {'training_id': 'training-Hk3qZ9mig', 'time': 1764331200123, 'rindex': 7, 'subid': '1'}, "
		    "'grouplabel': 'test', 'etimes': {'iteration': {'type': 2, 'value': '500'}, 'timestamp': {'value': "
		    "'2025-11-28T12:00:00.123Z'}}, 'values': {'accuracy': {'type': 3, 'value': '0.9734'}, 'loss': {'type': 3, "
		    "'value': '0.0846437'}}}\n"),
		"test|1764331200123|1|iteration:INT=500,timestamp:STRING=2025-11-28T12:00:00.123Z|accuracy:FLOAT=0.9734,"
		"loss:FLOAT=0.0846437");
	/* FfDL's regex for int64s missed some: time as a string */
	assert_string_equal(rec("{'meta': {'time': '1764331200123', 'rindex': '3'}, 'grouplabel': 'train', 'values': {"
				"'loss': {'type': 3, 'value': '0.5'}}}"),
			    "train|1764331200123|-||loss:FLOAT=0.5");
	/* no meta, no etimes, CRLF */
	assert_string_equal(rec("{'grouplabel': 'train', 'values': {'acc': {'type': 3, 'value': '1'}}}\r\n"),
			    "train|0|-||acc:FLOAT=1");
}

static void names_and_numbers(void **st)
{
	(void)st;
	assert_string_equal(rec("{'grouplabel': 'validate', 'etimes': {'epoch': {'type': 'int', 'value': 3}, 'step': "
				"{'type': 'Int', 'value': '+0042'}}, 'values': {'loss': {'type': 'float', 'value': 0.1}, "
				"'lr': {'type': 'FLOAT', 'value': 1e-05}, 'n': {'value': 12}, 'm': {'value': 2.5}, "
				"'x': {'value': 'free text'}, 'cfg': {'type': 'jsonstring', 'value': '{\\'a\\': [1, 2]}'}, "
				"'s': {'type': 0, 'value': 7}, 'j': {'type': 1, 'value': 3}, 'big': {'type': 3, 'value': 12}, "
				"'whole': {'type': 'INT', 'value': 20.0}}}"),
			    "validate|0|-|epoch:INT=3,step:INT=42|loss:FLOAT=0.1,lr:FLOAT=1e-05,n:INT=12,"
			    "m:FLOAT=2.5,x:STRING=free text,cfg:JSONSTRING={\"a\": [1, 2]},s:STRING=7,j:JSONSTRING=3,"
			    "big:FLOAT=12,whole:INT=20");
	/* 0.1 is written back as 0.1, not 0.10000000000000001 */
	assert_string_equal(rec("{'grouplabel': 'g', 'values': {'v': {'value': 0.30000000000000004}, 'w': {'value': "
				"-1.5e300}}}"),
			    "g|0|-||v:FLOAT=0.30000000000000004,w:FLOAT=-1.5e+300");
	/* meta: times and subids in the forms learners write */
	assert_string_equal(rec("{'meta': {'time': 1764331200.5, 'subid': 3}, 'grouplabel': 'g', 'values': {}}"),
			    "g|1764331200500|3||");
	assert_string_equal(rec("{'meta': {'time': '2025-11-28T12:00:00Z', 'subid': ''}, 'grouplabel': 'g', 'values': {}}"),
			    "g|1764331200000|-||");
	assert_string_equal(rec("{'meta': {'time': 0, 'subid': null}, 'grouplabel': 'g', 'values': {}}"), "g|0|-||");
	assert_string_equal(rec("{'meta': {'time': null}, 'grouplabel': 'g', 'values': {}, 'etimes': null}"), "g|0|-||");
	assert_string_equal(rec("{'meta': {'time': -5}, 'grouplabel': 'g', 'values': {}}"), "g|0|-||");
	assert_string_equal(rec("{'meta': {'time': '0'}, 'grouplabel': 'g', 'values': {}}"), "g|0|-||");
	/* unknown fields are ignored */
	assert_string_equal(rec("{'grouplabel': 'g', 'values': {}, 'extra': [1], 'meta': {'user_id': 'u', 'x': {}}}"),
			    "g|0|-||");
	/* UTF-8 keys and values */
	assert_string_equal(rec("{'grouplabel': 'caf\xc3\xa9', 'values': {'\xce\xbb': {'value': '\xe2\x82\xac'}}}"),
			    "caf\xc3\xa9|0|-||\xce\xbb:STRING=\xe2\x82\xac");
}

static void blank_lines(void **st)
{
	(void)st;
	const char *const blanks[] = { "", "\n", "   \t \r\n" };
	for (int i = 0; i < 3; i++) {
		c.n = 0;
		assert_int_equal(emfile_parse_line(blanks[i], strlen(blanks[i]), collect, &c, &err), 0);
		assert_int_equal(c.n, 0);
	}
}

#define E10 "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9" /* 10 x e-acute */

static void bad_lines(void **st)
{
	(void)st;
	static const struct {
		const char *line, *msg;
	} cases[] = {
		{ "{'grouplabel': 'g',", "not JSON: " },
		{ "loss=0.5", "not JSON: " },
		{ "[1, 2]", "expected a JSON object (an emetrics record), got an array" },
		{ "'x'", "expected a JSON object (an emetrics record), got a string" },
		{ "{'values': {}}", "grouplabel: is required" },
		{ "{'grouplabel': '', 'values': {}}", "grouplabel: must be a non-empty name" },
		{ "{'grouplabel': 5, 'values': {}}", "grouplabel: expected a string" },
		{ "{'grouplabel': 'g'}", "values: is required" },
		{ "{'grouplabel': 'g', 'values': null}", "values: expected an object of {type, value}, got null" },
		{ "{'grouplabel': 'g', 'values': [1]}", "values: expected an object of {type, value}, got an array" },
		{ "{'grouplabel': 'g', 'values': {}, 'etimes': 'x'}", "etimes: expected an object of {type, value}, got a string" },
		{ "{'grouplabel': 'g', 'values': {'loss': 0.5}}", "values.loss: expected {\"type\": ..., \"value\": ...}, got a number" },
		{ "{'grouplabel': 'g', 'values': {'loss': {'type': 3}}}", "values.loss.value: is required" },
		{ "{'grouplabel': 'g', 'values': {'loss': {'value': true}}}", "values.loss.value: expected a string or a number, got a boolean" },
		{ "{'grouplabel': 'g', 'values': {'loss': {'value': null}}}", "values.loss.value: expected a string or a number, got null" },
		{ "{'grouplabel': 'g', 'values': {'loss': {'type': 7, 'value': '1'}}}",
		  "values.loss.type: \"7\" is not a value type (use 0..3 or STRING, JSONSTRING, INT, FLOAT)" },
		{ "{'grouplabel': 'g', 'values': {'loss': {'type': 'DOUBLE', 'value': '1'}}}", "values.loss.type: \"DOUBLE\" is not a value type" },
		{ "{'grouplabel': 'g', 'values': {'loss': {'type': [3], 'value': '1'}}}", "values.loss.type: \"an array\" is not a value type" },
		{ "{'grouplabel': 'g', 'values': {'loss': {'type': 2.0, 'value': '1'}}}", "values.loss.type: \"2\" is not a value type" },
		{ "{'grouplabel': 'g', 'etimes': {'iteration': {'type': 'INT', 'value': 'abc'}}, 'values': {}}",
		  "etimes.iteration.value: \"abc\" is not an integer" },
		{ "{'grouplabel': 'g', 'values': {'i': {'type': 2, 'value': 2.5}}}", "values.i.value: \"2.5\" is not an integer" },
		{ "{'grouplabel': 'g', 'values': {'loss': {'type': 3, 'value': 'nan'}}}", "values.loss.value: \"nan\" is not a finite number" },
		{ "{'grouplabel': 'g', 'values': {'loss': {'type': 3, 'value': ''}}}", "values.loss.value: \"\" is not a finite number" },
		{ "{'grouplabel': 'g', 'values': {'c': {'type': 1, 'value': '{x'}}}", "values.c.value: \"{x\" is not valid JSON text" },
		{ "{'grouplabel': 'g', 'values': {'': {'value': '1'}}}", "values: a name is empty" },
		{ "{'grouplabel': 'g', 'values': {}, 'meta': 'm'}", "meta: expected an object, got a string" },
		{ "{'grouplabel': 'g', 'values': {}, 'meta': {'time': 'yesterday'}}",
		  "meta.time: \"yesterday\" is not a time (ms since the epoch or an ISO 8601 timestamp)" },
		{ "{'grouplabel': 'g', 'values': {}, 'meta': {'time': [1]}}", "meta.time: expected ms since the epoch, got an array" },
		{ "{'grouplabel': 'g', 'values': {}, 'meta': {'subid': {}}}", "meta.subid: expected a string, got an object" },
		{ "{'grouplabel': 'g', 'values': {}, 'meta': {'subid': 1.5}}", "meta.subid: expected a string, got a number" },
		{ "{'grouplabel': 'g\\u0000h', 'values': {}}", "not JSON: " },
		{ "{'grouplabel': 'g', 'values': {'a\\u0001b': {'type': 9, 'value': 1}}}", "values.a?b.type: \"9\" is not a value type" },
		/* long values are cut at a character boundary in messages */
		{ "{'grouplabel': 'g', 'values': {'x': {'type': 2, 'value': '" E10 E10 E10 E10 E10 "'}}}",
		  "values.x.value: \"" E10 E10 "...\" is not an integer" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const char *m = bad(cases[i].line);
		if (strncmp(m, cases[i].msg, strlen(cases[i].msg)))
			fail_msg("case %zu: message \"%s\" does not start with \"%s\"", i, m, cases[i].msg);
	}
}

static void limits(void **st)
{
	(void)st;
	struct sbuf s = SBUF_INIT;
	sb_adds(&s, "{\"grouplabel\": \"g\", \"values\": {");
	for (int i = 0; i < EM_MAX_VALUES; i++)
		sb_addf(&s, "%s\"v%d\": {\"type\": 3, \"value\": \"%d\"}", i ? ", " : "", i, i);
	sb_adds(&s, "}}");
	c.n = 0;
	assert_int_equal(emfile_parse_line(s.buf, s.len, collect, &c, &err), 0);
	assert_int_equal(c.n, 1);
	s.len -= 2;
	sb_adds(&s, ", \"one_more\": {\"value\": 1}}}");
	c.n = 0;
	assert_int_equal(emfile_parse_line(s.buf, s.len, collect, &c, &err), WEFT_EINVAL);
	assert_string_equal(err.msg, "values: 65 entries, more than the 64 a record holds");
	assert_int_equal(c.n, 0);
	/* a line over 1 MiB */
	sb_reset(&s);
	sb_adds(&s, "{\"grouplabel\": \"g\", \"values\": {\"x\": {\"value\": \"");
	while (s.len <= EMFILE_LINE_MAX)
		sb_adds(&s, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
	sb_adds(&s, "\"}}}");
	assert_int_equal(emfile_parse_line(s.buf, s.len, collect, &c, &err), WEFT_EINVAL);
	assert_non_null(strstr(err.msg, "over the limit of 1048576"));
	sb_release(&s);
}

static void garbage(void **st)
{
	(void)st;
	uint32_t x = 99;
	char buf[512];
	for (int i = 0; i < 2000; i++) {
		size_t n = (size_t)(i % 500) + 1;
		for (size_t k = 0; k < n; k++) {
			x = x * 1103515245u + 12345u;
			buf[k] = (char)(x >> 16);
		}
		buf[0] = i % 2 ? '{' : buf[0];
		c.n = 0;
		int rc = emfile_parse_line(buf, n, collect, &c, &err);
		assert_true(rc == 0 || rc == WEFT_EINVAL);
		assert_true(c.n <= 1);
	}
	/* invalid UTF-8 inside a string */
	const char l[] = "{\"grouplabel\": \"g\xff\", \"values\": {}}";
	assert_int_equal(emfile_parse_line(l, sizeof l - 1, collect, &c, &err), WEFT_EINVAL);
	assert_non_null(strstr(err.msg, "not JSON"));
	/* a NUL byte ends nothing early: the length counts */
	const char z[] = "{\"grouplabel\": \"g\", \"values\": {}}\0junk";
	assert_int_equal(emfile_parse_line(z, sizeof z - 1, collect, &c, &err), WEFT_EINVAL);
}

static void emit_error(void **st)
{
	(void)st;
	c.fail = WEFT_EIO;
	memset(&err, 0, sizeof err);
	const char *l = "{\"grouplabel\": \"g\", \"values\": {\"a\": {\"value\": 1}}}";
	assert_int_equal(emfile_parse_line(l, strlen(l), collect, &c, &err), WEFT_EIO);
	assert_int_equal(err.code, 0); /* left alone */
	c.fail = 0;
}

int main(void)
{
	setenv("TZ", "UTC", 1);
	tzset();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(ffdl_written_line), cmocka_unit_test(names_and_numbers), cmocka_unit_test(blank_lines),
		cmocka_unit_test(bad_lines),         cmocka_unit_test(limits),            cmocka_unit_test(garbage),
		cmocka_unit_test(emit_error),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	sb_release(&c.out);
	return rc;
}

/* validate.c - `weft validate MANIFEST [--json]`: parses a training manifest
 * locally (no server needed) and prints the job it resolves to, FfDL's
 * defaults applied, so a typo or a bad size shows up before submitting.
 * Warnings (unknown keys) go to stderr as FILE:line N; the first error ends
 * with exit 1. Data-store passwords are never printed, only masked. */
#include "cli/cli.h"
#include "cli/common.h"
#include "manifest/manifest.h"
#include "tds/collect.h"
#include "util/fs.h"
#include "util/sbuf.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage_line[] = "weft validate MANIFEST [--json]";
static const char help[] =
	"usage: weft validate MANIFEST [--json]\n"
	"\n"
	"Check a training manifest (FfDL YAML) without a server and print the job it\n"
	"describes, with FfDL's defaults applied (cpus 5, memory 12GiB, gpus 0, learners 1,\n"
	"gpu_type nvidia-TeslaK80). MANIFEST may be - for standard input.\n"
	"Unknown keys are warnings (printed to stderr as MANIFEST:line N: ...); a bad value\n"
	"is an error naming the line and the field. Passwords are shown as ********.\n"
	"See docs/manifest.md for every field.\n"
	"\n"
	"Options:\n"
	"      --json   print the resolved job as JSON (FfDL field names)\n"
	"  -h, --help   show this help\n"
	"\n"
	"Exit status: 0 valid, 1 invalid manifest, unreadable file or bad arguments.\n";

#define MASK "********"

/* Prints label and value; control characters in manifest text (YAML escapes
 * can produce any) are shown as '?' so they cannot drive the terminal. */
static void row_at(int indent, int width, const char *label, const char *value)
{
	printf("%*s%-*s", indent, "", width, label);
	if (!value || !*value)
		value = "-";
	for (const unsigned char *p = (const unsigned char *)value; *p; p++)
		putchar(*p < 0x20 || *p == 0x7f ? '?' : *p);
	putchar('\n');
}

static void row(const char *label, const char *value)
{
	row_at(0, 14, label, value);
}

static void sub(const char *label, const char *value)
{
	if (value)
		row_at(2, 20, label, value);
}

static void print_summary(const struct manifest *m)
{
	char mem[32], sto[32], buf[512];
	row("name:", m->name);
	row("description:", m->description);
	row("version:", m->version);
	snprintf(buf, sizeof buf, "%s %s%s%s", m->framework_name, m->framework_version,
		 m->framework_image_tag ? ", image tag " : "", m->framework_image_tag ? m->framework_image_tag : "");
	row("framework:", buf);
	row("command:", m->framework_command);
	snprintf(buf, sizeof buf, "%d", m->learners);
	row("learners:", buf);
	manifest_format_size(m->memory, mem, sizeof mem);
	snprintf(buf, sizeof buf, "%g cpus, %d gpus (%s), %s memory (%llu bytes)", m->cpus, m->gpus, m->gpu_type, mem,
		 (unsigned long long)m->memory);
	row("per learner:", buf);
	if (m->storage) {
		manifest_format_size(m->storage, sto, sizeof sto);
		row("storage:", sto);
	}
	for (int i = 0; i < m->n_data_stores; i++) {
		const struct manifest_datastore *ds = &m->data_stores[i];
		snprintf(buf, sizeof buf, "%s (%s)", ds->id, ds->type);
		row("data store:", buf);
		sub("training data:", ds->training_data);
		sub("training results:", ds->training_results ? ds->training_results : "-");
		sub("auth_url:", ds->auth_url);
		sub("user_name:", ds->user_name);
		sub("password:", ds->password ? MASK : NULL);
		sub("region:", ds->region);
		sub("path:", ds->path);
	}
	if (m->evaluation_metrics) {
		json_t *em = m->evaluation_metrics;
		const char *type = json_string_value(json_object_get(em, "type"));
		const char *in = json_string_value(json_object_get(em, "in"));
		json_t *groups = json_object_get(em, "groups");
		snprintf(buf, sizeof buf, "%s%s%s", type ? type : "auto", in ? " in " : "", in ? in : "");
		if (groups)
			snprintf(buf + strlen(buf), sizeof buf - strlen(buf), ", %zu regex group%s", json_object_size(groups),
				 json_object_size(groups) == 1 ? "" : "s");
		row("metrics:", buf);
	} else {
		row("metrics:", "auto (not given)");
	}
	if (!strcmp(m->restart_policy ? m->restart_policy : "never", "never"))
		snprintf(buf, sizeof buf, "never");
	else
		snprintf(buf, sizeof buf, "%s, at most %d time%s", m->restart_policy, m->max_restarts,
			 m->max_restarts == 1 ? "" : "s");
	row("restarts:", buf);
	if (m->deadline_s)
		snprintf(buf, sizeof buf, "%lld s", (long long)m->deadline_s);
	else
		snprintf(buf, sizeof buf, "none");
	row("deadline:", buf);
}

static void print_json(const struct manifest *m)
{
	json_t *j = manifest_to_json(m, 0);
	json_t *dss = json_object_get(j, "data_stores");
	for (int i = 0; i < m->n_data_stores; i++)
		if (m->data_stores[i].password)
			json_object_set_new(json_object_get(json_array_get(dss, (size_t)i), "connection"), "password",
					    json_string(MASK));
	char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	if (s)
		puts(s);
	free(s);
	json_decref(j);
}

/* Prints each "line N: ..." warning as "FILE:line N: ...". */
static void print_warnings(const char *file, const struct sbuf *w)
{
	const char *p = sb_str(w);
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		fprintf(stderr, "%s:%.*s\n", file, (int)n, p);
		p += n + (nl ? 1 : 0);
	}
}

int cmd_validate(int argc, char **argv)
{
	static const struct option opts[] = { { "json", no_argument, NULL, 'j' },
					      { "help", no_argument, NULL, 'h' },
					      { NULL, 0, NULL, 0 } };
	if (cli_wants_help(argc, argv))
		return cli_help(help);
	int json = 0, c;
	cli_opts_begin();
	while ((c = cli_getopt(argc, argv, "h", opts, "validate")) != -1) {
		if (c == 'j')
			json = 1;
		else if (c == 'h')
			return cli_help(help);
		else
			return EXIT_USER;
	}
	if (optind >= argc)
		return cli_usage_error("validate", usage_line, "missing the MANIFEST file");
	if (argc - optind > 1)
		return cli_usage_error("validate", usage_line, "unexpected argument '%s'", argv[optind + 1]);
	const char *file = argv[optind];
	const char *path = strcmp(file, "-") ? file : "/dev/stdin";
	struct sbuf text = SBUF_INIT, warnings = SBUF_INIT;
	struct weft_err e = { 0, "" };
	if (fs_read_file(path, &text, &e)) {
		fprintf(stderr, "weft: %s\n", e.msg);
		sb_release(&text);
		return EXIT_USER;
	}
	struct manifest *m = NULL;
	int rc = manifest_parse(text.buf, text.len, &m, &warnings, &e);
	print_warnings(file, &warnings);
	sb_release(&warnings);
	sb_release(&text);
	if (rc) {
		fprintf(stderr, "weft: %s: %s\n", file, e.msg);
		return rc == WEFT_EIO ? EXIT_SYSTEM : EXIT_USER;
	}
	/* what the server checks beyond the shape: regexes compile, `in` stays in the job */
	if (tds_check_spec(m->evaluation_metrics, &e)) {
		fprintf(stderr, "weft: %s: %s\n", file, e.msg);
		manifest_free(m);
		return EXIT_USER;
	}
	if (json)
		print_json(m);
	else
		print_summary(m);
	manifest_free(m);
	return 0;
}

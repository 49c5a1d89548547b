/* show.c - `weft show ID [--json]`: one training job (GET /v1/models/ID) as a
 * readable summary: what runs (framework, command), with what resources and
 * whether the server enforces them, which data stores (never a secret, even
 * if a server sent one), its status and the history of its status changes. */
#include "cli/cli.h"
#include "cli/client.h"
#include "cli/common.h"
#include "util/mem.h"
#include "util/sbuf.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char usage_line[] = "weft show ID [--json]";
static const char help[] =
	"usage: weft show ID [--json]\n"
	"\n"
	"Show training job ID: name, description, framework, command, resources (cpus, gpus,\n"
	"memory, learners) and whether this server enforces the cpu and memory limits, data\n"
	"stores (without secrets), status, error code and message, submission and completion\n"
	"times (UTC), and the history of its status changes.\n"
	"\n"
	"Options:\n"
	"      --json   print the server's Model JSON instead\n"
	"  -h, --help   show this help\n"
	"\n"
	"Environment: WEFT_SERVER, WEFT_TOKEN (see 'weft --help').\n"
	"Exit status: 0 ok, 1 bad arguments or unknown job, 2 server unreachable or server error.\n";

#define FIELD "%-16s"

static void field(const char *label, const char *value)
{
	printf(FIELD "%s\n", label, value && *value ? value : "-");
}

/* A JSON number or string as text ("" when absent). */
static void add_scalar(struct sbuf *sb, const json_t *v)
{
	if (json_is_integer(v))
		sb_addf(sb, "%lld", (long long)json_integer_value(v));
	else if (json_is_real(v))
		sb_addf(sb, "%g", json_real_value(v));
	else if (json_is_string(v))
		sb_adds(sb, json_string_value(v));
	else if (json_is_boolean(v))
		sb_adds(sb, json_is_true(v) ? "true" : "false");
}

static void resources(const json_t *tr)
{
	struct sbuf sb = SBUF_INIT;
	add_scalar(&sb, json_object_get(tr, "cpus"));
	sb_adds(&sb, " cpus, ");
	add_scalar(&sb, json_object_get(tr, "gpus"));
	sb_adds(&sb, " gpus");
	if (*cli_jstr(tr, "gpu_type"))
		sb_addf(&sb, " (%s)", cli_jstr(tr, "gpu_type"));
	sb_adds(&sb, ", ");
	if (json_object_get(tr, "memory") && *cli_jstr(tr, "memory_unit")) {
		add_scalar(&sb, json_object_get(tr, "memory"));
		sb_adds(&sb, cli_jstr(tr, "memory_unit"));
	} else {
		char buf[32];
		sb_adds(&sb, cli_fmt_bytes(cli_jint(tr, "memory_bytes"), buf, sizeof buf));
	}
	sb_adds(&sb, " memory, ");
	long long n = cli_jint(tr, "learners");
	sb_addf(&sb, "%lld learner%s", n, n == 1 ? "" : "s");
	field("Resources:", sb_str(&sb));
	sb_release(&sb);

	json_t *lim = json_object_get(tr, "limits_enforced");
	field("Limits:", json_is_true(lim)    ? "cpus and memory enforced (cgroups)"
			 : json_is_false(lim) ? "NOT enforced (this server cannot create cgroups)"
					      : "unknown");
}

static void names(const char *label, const json_t *arr)
{
	struct sbuf sb = SBUF_INIT;
	size_t i;
	json_t *v;
	json_array_foreach(arr, i, v) {
		if (i)
			sb_adds(&sb, ", ");
		add_scalar(&sb, v);
	}
	field(label, sb_str(&sb));
	sb_release(&sb);
}

static int is_secret(const char *key)
{
	return strcasestr(key, "password") || strcasestr(key, "secret") || strcasestr(key, "token") ||
	       strcasestr(key, "key");
}

static void data_stores(const json_t *stores)
{
	size_t i;
	json_t *ds;
	if (!json_array_size(stores)) {
		field("Data stores:", "-");
		return;
	}
	printf("Data stores:\n");
	json_array_foreach(stores, i, ds) {
		struct sbuf sb = SBUF_INIT;
		const char *k;
		json_t *v;
		sb_addf(&sb, "  %s (%s)", *cli_jstr(ds, "data_store_id") ? cli_jstr(ds, "data_store_id") : "-",
			*cli_jstr(ds, "type") ? cli_jstr(ds, "type") : "?");
		json_object_foreach(json_object_get(ds, "connection"), k, v) {
			struct sbuf val = SBUF_INIT;
			add_scalar(&val, v);
			if (val.len && !is_secret(k))
				sb_addf(&sb, " %s=%s", k, sb_str(&val));
			sb_release(&val);
		}
		printf("%s\n", sb_str(&sb));
		sb_release(&sb);
	}
}

static void history(const json_t *hist)
{
	size_t i;
	json_t *h;
	if (!json_array_size(hist))
		return;
	printf("Status history:\n");
	json_array_foreach(hist, i, h) {
		char t[32];
		const char *code = cli_jstr(h, "error_code"), *msg = cli_jstr(h, "message");
		printf("  %s  %-11s", cli_jtime(h, "time", t, sizeof t), cli_jstr(h, "status"));
		if (*code)
			printf(" %s", code);
		if (*msg)
			printf(" %s", msg);
		putchar('\n');
	}
}

static void summary(const json_t *m)
{
	const json_t *fw = json_object_get(m, "framework");
	const json_t *tr = json_object_get(m, "training");
	const json_t *ts = json_object_get(tr, "training_status");
	char t[32];
	field("ID:", cli_jstr(m, "model_id"));
	field("Name:", cli_jstr(m, "name"));
	field("Description:", cli_jstr(m, "description"));
	if (*cli_jstr(m, "user_id"))
		field("User:", cli_jstr(m, "user_id"));
	char *framework = *cli_jstr(fw, "version") ? xasprintf("%s:%s", cli_jstr(fw, "name"), cli_jstr(fw, "version"))
						  : xstrdup(cli_jstr(fw, "name"));
	field("Framework:", framework);
	free(framework);
	field("Command:", cli_jstr(tr, "command"));
	resources(tr);
	names("Input data:", json_object_get(tr, "input_data"));
	names("Output data:", json_object_get(tr, "output_data"));
	data_stores(json_object_get(m, "data_stores"));
	field("Status:", cli_jstr(ts, "status"));
	field("Error code:", cli_jstr(ts, "error_code"));
	field("Message:", cli_jstr(ts, "status_message"));
	field("Submitted:", cli_jtime(ts, "submitted", t, sizeof t));
	field("Completed:", cli_jtime(ts, "completed", t, sizeof t));
	history(json_object_get(m, "status_history"));
}

int cmd_show(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int json = 0, c;
	if (cli_wants_help(argc, argv))
		return cli_help(help);
	cli_opts_begin();
	while ((c = cli_getopt(argc, argv, "", opts, "show")) != -1) {
		if (c != 'j')
			return EXIT_USER;
		json = 1;
	}
	if (optind >= argc)
		return cli_usage_error("show", usage_line, "missing the training job ID");
	if (argc - optind > 1)
		return cli_usage_error("show", usage_line, "unexpected argument '%s'", argv[optind + 1]);

	struct client cl;
	json_t *m = NULL;
	int rc = client_init(&cl);
	if (rc)
		return rc;
	rc = client_model_json(&cl, "GET", argv[optind], NULL, &m);
	client_close(&cl);
	if (rc)
		return rc;
	if (json) {
		rc = cli_print_json(m);
	} else {
		summary(m);
		if (fflush(stdout)) {
			perror("weft: writing standard output");
			rc = EXIT_SYSTEM;
		}
	}
	json_decref(m);
	return rc;
}

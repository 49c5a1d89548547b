/* list.c - `weft list [--json]`: the caller's training jobs (GET /v1/models)
 * as a table with FfDL's columns (ID, Name, Framework name:version, Status,
 * Submitted, Completed; times in UTC), or the server's JSON as is. */
#include "cli/cli.h"
#include "cli/client.h"
#include "cli/common.h"
#include "util/mem.h"
#include <stdio.h>
#include <stdlib.h>

static const char usage_line[] = "weft list [--json]";
static const char help[] =
	"usage: weft list [--json]\n"
	"\n"
	"List your training jobs, newest first: ID, Name, Framework (name:version), Status,\n"
	"Submitted and Completed (UTC; \"-\" when not yet).\n"
	"\n"
	"Options:\n"
	"      --json   print the server's JSON answer ({\"models\": [Model, ...]})\n"
	"  -h, --help   show this help\n"
	"\n"
	"Environment: WEFT_SERVER, WEFT_TOKEN (see 'weft --help').\n"
	"Exit status: 0 ok, 1 bad arguments or refused credentials, 2 server unreachable or server error.\n";

static void print_table(json_t *models)
{
	static const char *const head[] = { "ID", "Name", "Framework", "Status", "Submitted", "Completed" };
	struct cli_table t;
	size_t i;
	json_t *m;
	cli_table_init(&t, 6);
	cli_table_add(&t, head);
	json_array_foreach(models, i, m) {
		json_t *fw = json_object_get(m, "framework");
		json_t *ts = json_object_get(json_object_get(m, "training"), "training_status");
		const char *fname = cli_jstr(fw, "name"), *fver = cli_jstr(fw, "version");
		char *framework = *fver ? xasprintf("%s:%s", fname, fver) : xstrdup(*fname ? fname : "-");
		char sub[32], done[32];
		const char *row[6] = {
			cli_jstr(m, "model_id"), *cli_jstr(m, "name") ? cli_jstr(m, "name") : "-", framework,
			*cli_jstr(ts, "status") ? cli_jstr(ts, "status") : "-",
			cli_jtime(ts, "submitted", sub, sizeof sub), cli_jtime(ts, "completed", done, sizeof done),
		};
		cli_table_add(&t, row);
		free(framework);
	}
	cli_table_print(&t, NULL);
	cli_table_free(&t);
}

int cmd_list(int argc, char **argv)
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
	while ((c = cli_getopt(argc, argv, "", opts, "list")) != -1) {
		if (c != 'j')
			return EXIT_USER;
		json = 1;
	}
	if (optind < argc)
		return cli_usage_error("list", usage_line, "unexpected argument '%s'", argv[optind]);

	struct client cl;
	json_t *ans = NULL;
	int rc = client_init(&cl);
	if (rc)
		return rc;
	rc = client_json(&cl, "GET", "/v1/models", NULL, &ans);
	client_close(&cl);
	if (rc)
		return rc;
	if (json) {
		rc = cli_print_json(ans);
	} else if (!json_is_array(json_object_get(ans, "models"))) {
		fprintf(stderr, "weft: the server's answer to GET /v1/models has no \"models\" array\n");
		rc = EXIT_SYSTEM;
	} else {
		print_table(json_object_get(ans, "models"));
	}
	json_decref(ans);
	return rc;
}

/* delete.c - `weft delete ID`: DELETE /v1/models/ID. The server stops the job
 * and removes its records, logs and working files; user buckets (training
 * data, stored results) are never touched. */
#include "cli/cli.h"
#include "cli/client.h"
#include "cli/common.h"
#include "util/mem.h"
#include <stdio.h>
#include <stdlib.h>

static const char usage_line[] = "weft delete ID";
static const char help[] =
	"usage: weft delete ID\n"
	"\n"
	"Delete training job ID: stop it if it runs, then remove its records, logs and working\n"
	"files from the server. Buckets (training data, results already stored) are kept.\n"
	"Prints \"ID deleted\".\n"
	"\n"
	"Options:\n"
	"  -h, --help   show this help\n"
	"\n"
	"Environment: WEFT_SERVER, WEFT_TOKEN (see 'weft --help').\n"
	"Exit status: 0 ok, 1 bad arguments or unknown job, 2 server unreachable or server error.\n";

int cmd_delete(int argc, char **argv)
{
	const char *id;
	if (cli_wants_help(argc, argv))
		return cli_help(help);
	int rc = cli_one_id(argc, argv, "delete", usage_line, &id);
	if (rc)
		return rc;

	struct client cl;
	rc = client_init(&cl);
	if (rc)
		return rc;
	rc = client_model_json(&cl, "DELETE", id, NULL, NULL);
	client_close(&cl);
	if (!rc)
		printf("%s deleted\n", id);
	return rc;
}

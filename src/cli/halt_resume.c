/* halt_resume.c - `weft halt ID` and `weft resume ID`: PATCH /v1/models/ID with
 * {"status":"halt"} or {"status":"resume"}. Halting stops the learners (SIGTERM,
 * a grace period, SIGKILL) and leaves the job HALTED; resuming runs it again
 * with its CHECKPOINT_DIR kept (FfDL declared resume but never implemented it). */
#include "cli/cli.h"
#include "cli/client.h"
#include "cli/common.h"
#include "util/mem.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char halt_help[] =
	"usage: weft halt ID\n"
	"\n"
	"Halt training job ID: its learners get SIGTERM, then SIGKILL after a grace period,\n"
	"and the job ends HALTED. Its checkpoints are kept, so 'weft resume ID' can continue it.\n"
	"Prints \"ID halting\".\n"
	"\n"
	"Options:\n"
	"  -h, --help   show this help\n"
	"\n"
	"Environment: WEFT_SERVER, WEFT_TOKEN (see 'weft --help').\n"
	"Exit status: 0 ok, 1 bad arguments, unknown job or a job that already ended,\n"
	"2 server unreachable or server error.\n";

static const char resume_help[] =
	"usage: weft resume ID\n"
	"\n"
	"Resume training job ID after it was HALTED (or FAILED): the same job runs again with\n"
	"its CHECKPOINT_DIR kept, so a learner that checkpoints continues where it stopped.\n"
	"Prints \"ID resuming\".\n"
	"\n"
	"Options:\n"
	"  -h, --help   show this help\n"
	"\n"
	"Environment: WEFT_SERVER, WEFT_TOKEN (see 'weft --help').\n"
	"Exit status: 0 ok, 1 bad arguments, unknown job or a job that is not halted,\n"
	"2 server unreachable or server error.\n";

static int patch_status(int argc, char **argv, const char *cmd, const char *status, const char *help,
			const char *done)
{
	char usage_line[32];
	const char *id;
	snprintf(usage_line, sizeof usage_line, "weft %s ID", cmd);
	if (cli_wants_help(argc, argv))
		return cli_help(help);
	int rc = cli_one_id(argc, argv, cmd, usage_line, &id);
	if (rc)
		return rc;

	struct client cl;
	rc = client_init(&cl);
	if (rc)
		return rc;
	json_t *body = json_pack("{ss}", "status", status);
	rc = client_model_json(&cl, "PATCH", id, body, NULL);
	json_decref(body);
	client_close(&cl);
	if (!rc)
		printf("%s %s\n", id, done);
	return rc;
}

int cmd_halt(int argc, char **argv)
{
	return patch_status(argc, argv, "halt", "halt", halt_help, "halting");
}

int cmd_resume(int argc, char **argv)
{
	return patch_status(argc, argv, "resume", "resume", resume_help, "resuming");
}

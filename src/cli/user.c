/* user.c - `weft user add NAME`: creates a user (POST /v1/users, admin only)
 * and prints the new user's token, alone on stdout so a script can capture it.
 * The token is shown once; the server keeps only a hash of it. */
#include "cli/cli.h"
#include "cli/client.h"
#include "cli/common.h"
#include <stdio.h>
#include <string.h>

static const char usage_line[] = "weft user add NAME";
static const char help[] =
	"usage: weft user add NAME\n"
	"\n"
	"Create user NAME on the server (you must be admin) and print the new user's token,\n"
	"alone on standard output. Give it to the user, who sets WEFT_TOKEN to it (or\n"
	"DLAAS_USERNAME=NAME and DLAAS_PASSWORD=TOKEN for FfDL tools). Each user sees only\n"
	"their own training jobs.\n"
	"\n"
	"Options:\n"
	"  -h, --help   show this help\n"
	"\n"
	"Environment: WEFT_SERVER, WEFT_TOKEN (see 'weft --help'); on the server's machine the\n"
	"admin token is read from $WEFT_HOME/admin.token when WEFT_TOKEN is not set.\n"
	"Exit status: 0 ok, 1 bad arguments, not admin, or the user exists, 2 server unreachable\n"
	"or server error.\n";

int cmd_user(int argc, char **argv)
{
	static const struct option opts[] = { { "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 } };
	if (cli_wants_help(argc, argv))
		return cli_help(help);
	cli_opts_begin();
	if (cli_getopt(argc, argv, "", opts, "user") != -1)
		return EXIT_USER;
	if (optind >= argc)
		return cli_usage_error("user", usage_line, "missing the subcommand (add)");
	if (strcmp(argv[optind], "add"))
		return cli_usage_error("user", usage_line, "'%s' is not a user subcommand (add)", argv[optind]);
	if (argc - optind < 2)
		return cli_usage_error("user", usage_line, "missing the user NAME");
	if (argc - optind > 2)
		return cli_usage_error("user", usage_line, "unexpected argument '%s'", argv[optind + 2]);
	const char *name = argv[optind + 1];
	if (!*name)
		return cli_usage_error("user", usage_line, "the user NAME is empty");

	struct client cl;
	int rc = client_init(&cl);
	if (rc)
		return rc;
	json_t *body = json_pack("{ss}", "name", name), *ans = NULL;
	rc = client_json(&cl, "POST", "/v1/users", body, &ans);
	json_decref(body);
	client_close(&cl);
	if (!rc) {
		const char *token = cli_jstr(ans, "token");
		if (*token) {
			printf("%s\n", token);
		} else {
			fprintf(stderr, "weft: the server's answer has no token\n");
			rc = EXIT_SYSTEM;
		}
	}
	json_decref(ans);
	return rc;
}

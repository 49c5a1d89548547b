/* version.c - `weft version` (and `weft --version`): this binary's version
 * (WEFT_VERSION, set by the Makefile from git) and, when a server answers
 * GET /health within a few seconds, the server's. An unreachable server is
 * reported but is not an error here. */
#include "cli/cli.h"
#include "cli/client.h"
#include "cli/common.h"
#include <stdio.h>

#ifndef WEFT_VERSION
#define WEFT_VERSION "unknown"
#endif

static const char usage_line[] = "weft version";
static const char help[] =
	"usage: weft version\n"
	"\n"
	"Print this weft's version, and the version of the server at WEFT_SERVER if it answers\n"
	"(GET /health, no credentials needed). An unreachable server is not an error.\n"
	"\n"
	"Options:\n"
	"  -h, --help   show this help\n"
	"\n"
	"Environment: WEFT_SERVER (see 'weft --help').\n"
	"Exit status: 0 ok, 1 bad arguments.\n";

int cmd_version(int argc, char **argv)
{
	static const struct option opts[] = { { "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 } };
	if (cli_wants_help(argc, argv))
		return cli_help(help);
	cli_opts_begin();
	if (cli_getopt(argc, argv, "", opts, "version") != -1)
		return EXIT_USER;
	if (optind < argc)
		return cli_usage_error("version", usage_line, "unexpected argument '%s'", argv[optind]);
	printf("weft %s\n", WEFT_VERSION);
	fflush(stdout);

	struct client cl;
	if (client_init(&cl))
		return 0; /* a malformed WEFT_SERVER was reported; our own version is printed */
	cl.quiet = 1;
	cl.connect_timeout_s = 3;
	cl.timeout_s = 5;
	json_t *h = NULL;
	if (client_json(&cl, "GET", "/health", NULL, &h) == 0) {
		const char *v = cli_jstr(h, "version");
		printf("server %s at %s\n", *v ? v : "(version not given)", cl.base);
	} else {
		fprintf(stderr, "weft: no weft server answers at %s\n", cl.base);
	}
	json_decref(h);
	client_close(&cl);
	return 0;
}

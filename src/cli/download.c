/* download.c - `weft download ID [--definition] [-o FILE]`: streams the job's
 * trained model (GET /v1/models/ID/trained_model: a zip of what the learners
 * wrote to RESULT_DIR plus their logs) or the submitted model definition to a
 * file, written as FILE.part and renamed only when complete. */
#include "cli/cli.h"
#include "cli/client.h"
#include "cli/common.h"
#include "util/mem.h"
#include <stdio.h>
#include <stdlib.h>

static const char usage_line[] = "weft download ID [--definition] [-o FILE]";
static const char help[] =
	"usage: weft download ID [--definition] [-o FILE]\n"
	"\n"
	"Download the trained model of job ID: a zip of everything its learners wrote to\n"
	"RESULT_DIR plus learner-N/training-log.txt (available once the job stored its results).\n"
	"Prints the file name and its size.\n"
	"\n"
	"Options:\n"
	"      --definition     download the model definition (the zip submitted with the job) instead\n"
	"      --trainedmodel   download the trained model (the default; FfDL's flag)\n"
	"  -o, --output FILE    write to FILE (default ID.zip, or ID-definition.zip with --definition);\n"
	"                       \"-\" writes the zip to standard output; --filename is an alias (FfDL)\n"
	"  -h, --help           show this help\n"
	"\n"
	"Environment: WEFT_SERVER, WEFT_TOKEN (see 'weft --help').\n"
	"Exit status: 0 ok, 1 bad arguments, unknown job or no results yet,\n"
	"2 server unreachable, server error or the file cannot be written.\n";

int cmd_download(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "definition", no_argument, NULL, 'd' }, { "trainedmodel", no_argument, NULL, 't' },
		{ "output", required_argument, NULL, 'o' }, { "filename", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },        { NULL, 0, NULL, 0 },
	};
	int definition = 0, c;
	const char *file = NULL;
	if (cli_wants_help(argc, argv))
		return cli_help(help);
	cli_opts_begin();
	while ((c = cli_getopt(argc, argv, "o:", opts, "download")) != -1) {
		switch (c) {
		case 'd': definition = 1; break;
		case 't': definition = 0; break;
		case 'o':
			if (!*optarg)
				return cli_usage_error("download", usage_line, "-o: empty file name");
			file = optarg;
			break;
		default: return EXIT_USER;
		}
	}
	if (optind >= argc)
		return cli_usage_error("download", usage_line, "missing the training job ID");
	if (argc - optind > 1)
		return cli_usage_error("download", usage_line, "unexpected argument '%s'", argv[optind + 1]);
	const char *id = argv[optind];

	struct client cl;
	int rc = client_init(&cl);
	if (rc)
		return rc;
	char *eid = client_escape(id, 0);
	char *path = xasprintf("/v1/models/%s/%s", eid, definition ? "definition" : "trained_model");
	char *deflt = xasprintf("%s%s.zip", id, definition ? "-definition" : "");
	long long size = 0;
	if (!file)
		file = deflt;
	rc = client_download(&cl, path, file, &size);
	client_close(&cl);
	if (!rc)
		fprintf(file[0] == '-' && !file[1] ? stderr : stdout, "%s (%lld bytes)\n",
			file[0] == '-' && !file[1] ? "standard output" : file, size);
	free(deflt);
	free(path);
	free(eid);
	return rc;
}

/* main.c - the weft front end: dispatches `weft COMMAND ...` to cmd_COMMAND. */
#include "cli/cli.h"
#include "exec/exec.h"
#include <stdio.h>
#include <string.h>

struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
};

static const struct command commands[] = {
	{ "server", cmd_server, "run the control plane (REST API, trainer, lifecycle manager)" },
	{ "train", cmd_train, "submit a training job: MANIFEST [MODEL_DIR|ZIP] [--follow]" },
	{ "list", cmd_list, "list your training jobs" },
	{ "show", cmd_show, "show one training job" },
	{ "logs", cmd_logs, "print, search or follow a job's logs" },
	{ "metrics", cmd_metrics, "a job's training metrics: table, JSON or terminal charts (-f to watch)" },
	{ "compare", cmd_compare, "final and best metrics of several jobs side by side" },
	{ "halt", cmd_halt, "halt a running job (it can be resumed)" },
	{ "resume", cmd_resume, "resume a halted job from its checkpoints" },
	{ "delete", cmd_delete, "stop a job and delete its records and working files" },
	{ "download", cmd_download, "download a job's trained model (or its definition)" },
	{ "validate", cmd_validate, "check a manifest and print the resolved job" },
	{ "user", cmd_user, "manage users (admin): user add NAME" },
	{ "data", cmd_data, "object store: data put BUCKET PATH..., data ls BUCKET" },
	{ "deploy", cmd_deploy, "serve a trained model: SPEC (SeldonDeployment) or --training-id ID" },
	{ "deployments", cmd_deployments, "list your deployments" },
	{ "deployment", cmd_deployment, "deployment show NAME: status, endpoints, lineage" },
	{ "predict", cmd_predict, "send a prediction to a deployment (Seldon, or --v2)" },
	{ "undeploy", cmd_undeploy, "stop serving a deployment and delete it" },
	{ "version", cmd_version, "print the version" },
};

static void usage(FILE *f)
{
	fprintf(f, "usage: weft COMMAND [ARGS...]\n\n"
		   "weft trains deep-learning models from FfDL manifests, watches them, and serves them.\n\n"
		   "Commands:\n");
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		fprintf(f, "  %-12s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\nRun 'weft COMMAND --help' for the options of one command.\n"
		   "Environment: WEFT_SERVER (default http://127.0.0.1:8080), WEFT_TOKEN, WEFT_HOME (default ~/.weft).\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return EXIT_USER;
	}
	const char *name = argv[1];
	if (!strcmp(name, "--help") || !strcmp(name, "-h") || !strcmp(name, "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(name, "--version"))
		return cmd_version(argc - 1, argv + 1);
	/* internal: the learner supervisor started by the local executor */
	if (!strcmp(name, "_shim"))
		return exec_shim_main(argc - 1, argv + 1);
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		if (!strcmp(name, commands[i].name))
			return commands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "weft: '%s' is not a weft command; see 'weft --help'\n", name);
	return EXIT_USER;
}

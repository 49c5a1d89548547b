/* cli.h - one cmd_<name>(argc, argv) per subcommand (after git's builtin/).
 * argv[0] is the subcommand name. Return the process exit code:
 * 0 ok, 1 user error (bad arguments, bad manifest, not found, 4xx),
 * 2 server or system error (cannot connect, 5xx, I/O). */
#ifndef WEFT_CLI_H
#define WEFT_CLI_H

#include <jansson.h>
#include <stdio.h>

#define EXIT_USER 1
#define EXIT_SYSTEM 2

struct client;

int cmd_server(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_list(int argc, char **argv);
int cmd_show(int argc, char **argv);
int cmd_logs(int argc, char **argv);
int cmd_metrics(int argc, char **argv);
int cmd_compare(int argc, char **argv);
int cmd_halt(int argc, char **argv);
int cmd_resume(int argc, char **argv);
int cmd_delete(int argc, char **argv);
int cmd_download(int argc, char **argv);
int cmd_validate(int argc, char **argv);
int cmd_user(int argc, char **argv);
int cmd_data(int argc, char **argv);
int cmd_version(int argc, char **argv);
/* serving (deploy.c, deploy_show.c, deploy_predict.c; helpers in deploy.h) */
int cmd_deploy(int argc, char **argv);
int cmd_deployments(int argc, char **argv);
int cmd_deployment(int argc, char **argv);
int cmd_undeploy(int argc, char **argv);
int cmd_predict(int argc, char **argv);

/* true if argv has -h or --help (anywhere before a "--") */
int cli_wants_help(int argc, char **argv);
/* The home directory: $WEFT_HOME, else ~/.weft. Caller frees. */
char *cli_home_dir(void);

/* logs.c: the follow loop of `logs -f` and `train --follow`. start is the
 * first request's position ("", "pos=N" or "since_time=T"); filter ("" or
 * e.g. "search=loss&searchType=TERM&learner=2", already URL-escaped) goes with
 * every request, reconnects included. hook (may be NULL) brackets the printing
 * of each line: train --follow clears and redraws its live metric line there.
 * logs_follow (client.h) is this with no filter and no hook. */
struct logs_hook {
	void (*before)(void *arg);
	void (*after)(void *arg);
	void *arg;
};
int logs_follow_filtered(struct client *c, const char *id, const char *start, const char *filter, int json,
			 FILE *out, const struct logs_hook *hook);

/* metrics.c: GET /v1/models/ID/metrics (points > 0 adds ?points=N) into *out
 * (caller json_decref()s). Returns an exit code as client_json does. */
int metrics_fetch(struct client *c, const char *id, long long points, json_t **out);
/* One line with the iteration and the latest value of up to max metrics of a
 * metrics answer: "iteration 500  loss 0.12  accuracy 0.91"; NULL when the
 * answer has no metric. Caller frees. */
char *metrics_live_line(const json_t *ans, int max);
/* 1 when smaller values of metric name are better (loss, err, mse, mae, rmse,
 * perplexity, in any case); 0 when larger are. */
int metrics_lower_is_better(const char *name);

#endif

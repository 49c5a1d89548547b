/* server.c - `weft server`: opens the home directory, starts the lifecycle
 * manager and the HTTP API, and runs until SIGINT/SIGTERM. Stopping the
 * server never stops learners: the next start adopts them. */
#include "api/api.h"
#include "cli/cli.h"
#include "exec/exec.h"
#include "lcm/lcm.h"
#include "util/log.h"
#include "util/mem.h"
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
	fprintf(f, "usage: weft server [--listen HOST:PORT] [--home DIR] [options]\n\n"
		   "Runs the whole control plane in one process: REST API, trainer, lifecycle manager,\n"
		   "log collection, on SQLite and a local object store under the home directory.\n\n"
		   "  --listen HOST:PORT   address to serve on (default 127.0.0.1:8080)\n"
		   "  --home DIR           data directory (default $WEFT_HOME, else ~/.weft)\n"
		   "  --halt-grace SECS    seconds between SIGTERM and SIGKILL when halting (default 10)\n"
		   "  --max-upload BYTES   largest model zip or data object accepted (default 4 GiB)\n"
		   "  --no-cgroups         do not enforce cpus/memory limits with cgroups\n"
		   "  --debug              verbose server log\n"
		   "  -h, --help           this help\n\n"
		   "On first start the server creates user 'admin' and writes its token to DIR/admin.token.\n");
}

int cmd_server(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'l' }, { "home", required_argument, NULL, 'H' },
		{ "halt-grace", required_argument, NULL, 'g' }, { "max-upload", required_argument, NULL, 'm' },
		{ "no-cgroups", no_argument, NULL, 'n' },     { "debug", no_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },           { NULL, 0, NULL, 0 },
	};
	const char *listen = "127.0.0.1:8080";
	char *home = NULL;
	struct trainer_opts to = { 0 };
	struct api_opts ao = { 0 };
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'l': listen = optarg; break;
		case 'H': free(home); home = xstrdup(optarg); break;
		case 'g': to.halt_grace_s = atoi(optarg); break;
		case 'm': ao.max_upload = strtoull(optarg, NULL, 10); break;
		case 'n': to.no_cgroups = 1; break;
		case 'd': log_set_level(LOG_DEBUG); break;
		case 'h': usage(stdout); free(home); return 0;
		default: usage(stderr); free(home); return EXIT_USER;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "weft server: unexpected argument '%s'\n", argv[optind]);
		free(home);
		return EXIT_USER;
	}
	const char *colon = strrchr(listen, ':');
	char *end = NULL;
	long port = colon ? strtol(colon + 1, &end, 10) : -1;
	if (!colon || !end || *end || port < 0 || port > 65535) {
		fprintf(stderr, "weft server: --listen: '%s' is not HOST:PORT\n", listen);
		free(home);
		return EXIT_USER;
	}
	char *host = xstrndup(listen, (size_t)(colon - listen));
	ao.host = host;
	ao.port = (int)port;
	if (!home)
		home = cli_home_dir();
	to.home = home;

	/* signals: handled by sigwait in this thread; every thread inherits the mask */
	signal(SIGPIPE, SIG_IGN);
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);

	struct trainer *t = NULL;
	struct api_server *api = NULL;
	struct weft_err e;
	int rc = EXIT_SYSTEM;
	if (trainer_open(&to, &t, &e)) {
		fprintf(stderr, "weft server: %s\n", e.msg);
		goto out;
	}
	if (t->limits_enforced)
		log_info("cpus and memory limits are enforced with cgroups (%s)", cgroup_kind());
	else
		log_warn("cpus and memory limits are NOT enforced: %s", t->cgroup_why);
	if (lcm_start(t, &e) || api_start(t, &ao, &api, &e)) {
		fprintf(stderr, "weft server: %s\n", e.msg);
		goto out;
	}
	log_info("weft %s serving on http://%s:%d (home %s)", WEFT_VERSION, host, ao.port, home);
	int sig = 0;
	sigwait(&set, &sig);
	log_info("received %s; stopping (learners keep running and are adopted at the next start)",
		 sig == SIGINT ? "SIGINT" : "SIGTERM");
	t->stopping = 1;
	trainer_notify_logs(t);
	rc = 0;
out:
	api_stop(api);
	if (t) {
		lcm_stop(t);
		trainer_close(t);
	}
	free(host);
	free(home);
	return rc;
}

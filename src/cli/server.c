/* server.c - `weft server`: opens the home directory, starts the lifecycle
 * manager and the HTTP API, and runs until SIGINT/SIGTERM. Stopping the
 * server never stops learners: the next start adopts them. */
#include "api/api.h"
#include "serve/deploy.h"
#include "cli/cli.h"
#include "exec/exec.h"
#include "lcm/lcm.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/mem.h"
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

static void usage(FILE *f)
{
	fprintf(f, "usage: weft server [--listen HOST:PORT] [--home DIR] [options]\n\n"
		   "Runs the whole control plane in one process: REST API, trainer, lifecycle manager,\n"
		   "log collection, on SQLite and a local object store under the home directory.\n\n"
		   "  --listen HOST:PORT   address to serve on (default 127.0.0.1:8080)\n"
		   "  --home DIR           data directory (default $WEFT_HOME, else ~/.weft)\n"
		   "  --halt-grace SECS    seconds between SIGTERM and SIGKILL when halting (default 10)\n"
		   "  --max-upload BYTES   largest model zip or data object accepted (default 4 GiB)\n"
		   "  --max-predict-body BYTES  largest prediction request body (default 64 MiB)\n"
		   "  --no-cgroups         do not enforce cpus/memory limits with cgroups\n"
		   "  --debug              verbose server log\n"
		   "  -h, --help           this help\n\n"
		   "On first start the server creates user 'admin' and writes its token to DIR/admin.token.\n");
}

/* Parses a whole decimal number in [min, max]; 0 if it is one. */
static int parse_num(const char *s, unsigned long long min, unsigned long long max, unsigned long long *out)
{
	if (!s || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	char *end;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

/* One server per home: a second one would run a second lifecycle manager over
 * the same jobs and collect every log twice. The flock lives as long as the
 * process (O_CLOEXEC: the learners' shims never inherit it). Returns the fd or -1. */
static int lock_home(const char *home)
{
	struct weft_err e;
	if (fs_mkdir_p(home, 0700, &e)) {
		fprintf(stderr, "weft server: %s\n", e.msg);
		return -1;
	}
	char *path = fs_join(home, "server.lock");
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		fprintf(stderr, "weft server: cannot open %s: %s\n", path, strerror(errno));
		free(path);
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int err = errno;
		char pid[32] = "";
		ssize_t n = pread(fd, pid, sizeof pid - 1, 0);
		pid[n > 0 ? n : 0] = '\0';
		pid[strcspn(pid, "\n")] = '\0';
		if (err == EWOULDBLOCK)
			fprintf(stderr, "weft server: another weft server%s%s%s is using home %s\n", *pid ? " (pid " : "",
				pid, *pid ? ")" : "", home);
		else
			fprintf(stderr, "weft server: cannot lock %s: %s\n", path, strerror(err));
		close(fd);
		free(path);
		return -1;
	}
	char line[32];
	int len = snprintf(line, sizeof line, "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) < 0 || pwrite(fd, line, (size_t)len, 0) != len)
		log_warn("cannot write the server's pid to %s: %s", path, strerror(errno));
	free(path);
	return fd;
}

int cmd_server(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'l' }, { "home", required_argument, NULL, 'H' },
		{ "halt-grace", required_argument, NULL, 'g' }, { "max-upload", required_argument, NULL, 'm' },
		{ "no-cgroups", no_argument, NULL, 'n' },     { "debug", no_argument, NULL, 'd' },
		{ "max-predict-body", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },           { NULL, 0, NULL, 0 },
	};
	const char *listen = "127.0.0.1:8080";
	char *home = NULL;
	struct trainer_opts to = { 0 };
	struct api_opts ao = { 0 };
	int c;
	unsigned long long num;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'l': listen = optarg; break;
		case 'H': free(home); home = xstrdup(optarg); break;
		case 'g':
			if (parse_num(optarg, 0, 86400, &num)) {
				fprintf(stderr, "weft server: --halt-grace: '%s' is not a number of seconds (0-86400)\n", optarg);
				free(home);
				return EXIT_USER;
			}
			to.halt_grace_s = (int)num;
			break;
		case 'm':
			if (parse_num(optarg, 1, UINT64_MAX, &num)) {
				fprintf(stderr, "weft server: --max-upload: '%s' is not a number of bytes\n", optarg);
				free(home);
				return EXIT_USER;
			}
			ao.max_upload = num;
			break;
		case 'p':
			if (parse_num(optarg, 1024, UINT64_MAX, &num)) {
				fprintf(stderr, "weft server: --max-predict-body: '%s' is not a number of bytes (at least 1024)\n",
					optarg);
				free(home);
				return EXIT_USER;
			}
			ao.max_predict_body = num;
			break;
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
	if (!colon || !end || end == colon + 1 || *end || port < 0 || port > 65535) {
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
	struct serve *sv = NULL;
	struct weft_err e;
	int rc = EXIT_SYSTEM;
	int lock_fd = lock_home(home);
	if (lock_fd < 0)
		goto out;
	/* before any thread, database or heap: learners are forked from it */
	if (exec_spawner_start(&e))
		log_warn("%s; learners will be forked from the server itself", e.msg);
	if (trainer_open(&to, &t, &e)) {
		fprintf(stderr, "weft server: %s\n", e.msg);
		goto out;
	}
	if (t->limits_enforced)
		log_info("cpus and memory limits are enforced with cgroups (%s)", cgroup_kind());
	else
		log_warn("cpus and memory limits are NOT enforced: %s", t->cgroup_why);
	snprintf(t->api_url, sizeof t->api_url, "http://%s:%d",
		 !*host || !strcmp(host, "0.0.0.0") ? "127.0.0.1" : !strcmp(host, "::") ? "[::1]" : host, ao.port);
	if (serve_open(t, &sv, &e)) {
		fprintf(stderr, "weft server: %s\n", e.msg);
		goto out;
	}
	ao.serve = sv;
	if (lcm_start(t, &e) || api_start(t, &ao, &api, &e)) {
		fprintf(stderr, "weft server: %s\n", e.msg);
		goto out;
	}
	struct serve_port_hooks hooks = { api, api_open_deploy_port, api_close_deploy_port };
	serve_attach(sv, &hooks);
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
	serve_close(sv);
	if (t) {
		lcm_stop(t);
		trainer_close(t);
	}
	if (lock_fd >= 0)
		close(lock_fd);
	free(host);
	free(home);
	return rc;
}

/* shim.c - the learner supervisor, run as `weft _shim ...` by exec_spawn.
 * It owns DIR/lock for as long as it lives, runs `bash -c COMMAND` in its own
 * process group (and cgroup), waits for it, kills whatever the command left
 * behind, and records the outcome in DIR/exit. It is not the server's child,
 * so learners survive a `kill -9` of the server; the server only reads DIR.
 * The protocol is described in docs/recovery-exec.md. */
#include "exec/exec.h"
#include "exec/exec_int.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/sbuf.h"
#include "util/timeutil.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define LOCK_WAIT_MS 1000        /* a lock probe (exec_poll) holds the lock for microseconds */
#define LOCK_WAIT_EXITING_MS 5000 /* a previous shim that wrote DIR/exit is only exiting */
#define REAP_WAIT_MS 2000
#define ENV_MAX (8 << 20)

struct shim_opts {
	int sync;               /* fd for the one-line answer to exec_spawn, -1 if none */
	const char *dir, *cwd, *log, *command;
	const char *cgroup;     /* "" when none */
	enum cg_kind kind;
	double cpus;
	unsigned long long memory;
	int attempt;
	char **env;             /* the command's environment, read from the sync socket; owned */
	char *envblock;         /* NUL-separated entries env points into; owned */
};

static volatile sig_atomic_t child_pgid; /* 0 until the command is forked */
static volatile sig_atomic_t term_pending;

static void on_term(int sig)
{
	(void)sig;
	term_pending = 1;
	if (child_pgid > 1)
		kill(-(pid_t)child_pgid, SIGTERM);
}

/* Answers exec_spawn ("OK", "DONE", "BUSY pid", "ERR message") and closes the pipe. */
static void reply(struct shim_opts *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void reply(struct shim_opts *o, const char *fmt, ...)
{
	char line[1536];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line - 1, fmt, ap);
	va_end(ap);
	if (!strncmp(line, "ERR", 3))
		log_error("shim %s: %s", o->dir ? o->dir : "?", line + 4);
	if (o->sync < 0)
		return;
	strcat(line, "\n");
	ssize_t w = write(o->sync, line, strlen(line));
	(void)w;
	close(o->sync);
	o->sync = -1;
}

static int parse_opts(int argc, char **argv, struct shim_opts *o, char *err, size_t size)
{
	memset(o, 0, sizeof *o);
	o->sync = -1;
	o->cgroup = "";
	o->attempt = -1;
	for (int i = 1; i < argc; i += 2) {
		const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		char *end = NULL;
		if (!v) {
			snprintf(err, size, "option %s needs a value", k);
			return -1;
		}
		errno = 0;
		if (!strcmp(k, "--sync")) {
			long fd = strtol(v, &end, 10);
			o->sync = (fd >= 0 && fd < 1024) ? (int)fd : -1;
		} else if (!strcmp(k, "--dir")) {
			o->dir = v;
		} else if (!strcmp(k, "--cwd")) {
			o->cwd = v;
		} else if (!strcmp(k, "--log")) {
			o->log = v;
		} else if (!strcmp(k, "--command")) {
			o->command = v;
		} else if (!strcmp(k, "--cgroup")) {
			o->cgroup = v;
		} else if (!strcmp(k, "--cgroup-kind")) {
			int kind = cg_kind_parse(v);
			if (kind < 0) {
				snprintf(err, size, "bad --cgroup-kind \"%s\" (v1, v2 or none)", v);
				return -1;
			}
			o->kind = (enum cg_kind)kind;
		} else if (!strcmp(k, "--cpus")) {
			o->cpus = strtod(v, &end);
		} else if (!strcmp(k, "--memory")) {
			o->memory = strtoull(v, &end, 10);
		} else if (!strcmp(k, "--attempt")) {
			long a = strtol(v, &end, 10);
			o->attempt = (a >= 0 && a < 1000000000) ? (int)a : -1;
		} else {
			snprintf(err, size, "unknown option %s", k);
			return -1;
		}
		if (end && (*end || end == v || errno)) {
			snprintf(err, size, "bad value \"%s\" for %s", v, k);
			return -1;
		}
	}
	const char *missing = !o->dir ? "--dir" : !o->cwd ? "--cwd" : !o->log ? "--log" : !o->command ? "--command"
			      : o->attempt < 0 ? "--attempt" : NULL;
	if (missing) {
		snprintf(err, size, "missing %s (this is an internal command started by the weft server)", missing);
		return -1;
	}
	if (o->cgroup[0] && !cg_valid_name(o->cgroup)) {
		snprintf(err, size, "bad --cgroup \"%s\"", o->cgroup);
		return -1;
	}
	if (!o->cgroup[0])
		o->kind = CG_NONE;
	return 0;
}

/* Reads the command's environment that exec_spawn sends on the sync socket:
 * NUL-terminated "KEY=value" entries, then an empty entry, then EOF. */
static int read_env(struct shim_opts *o, char *err, size_t size)
{
	struct sbuf sb = SBUF_INIT;
	for (;;) {
		sb_grow(&sb, 65536);
		ssize_t r = read(o->sync, sb.buf + sb.len, sb.cap - sb.len - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			snprintf(err, size, "cannot read the environment from exec_spawn: %s", strerror(errno));
			sb_release(&sb);
			return -1;
		}
		if (r == 0)
			break;
		sb.len += (size_t)r;
		if (sb.len > ENV_MAX) {
			snprintf(err, size, "the environment is over %d bytes", ENV_MAX);
			sb_release(&sb);
			return -1;
		}
	}
	/* A complete block ends with an empty entry. Without it the server
	 * stopped sending (it was killed, or gave up): the command must not run
	 * with part of its environment. */
	if (sb.len == 0 || sb.buf[sb.len - 1] || (sb.len > 1 && sb.buf[sb.len - 2])) {
		snprintf(err, size, "the environment from exec_spawn is incomplete (%zu bytes, no end mark)", sb.len);
		sb_release(&sb);
		return -1;
	}
	sb.len--; /* every entry before the end mark is NUL-terminated */
	size_t n = 0;
	for (size_t i = 0; i < sb.len; i++)
		n += sb.buf[i] == '\0';
	o->env = xcalloc(n + 1, sizeof *o->env);
	n = 0;
	for (size_t i = 0; i < sb.len; i += strlen(sb.buf + i) + 1)
		if (sb.buf[i])
			o->env[n++] = sb.buf + i;
	o->envblock = sb_detach(&sb);
	return 0;
}

/* Closes every inherited fd but stdio and keep: the server may have leaked
 * some, numbered above 1024 on a busy server. */
static void close_other_fds(int keep)
{
	if (keep < 3 ? close_range(3, ~0U, 0) == 0
		     : (keep == 3 || close_range(3, (unsigned)keep - 1, 0) == 0) &&
			       close_range((unsigned)keep + 1, ~0U, 0) == 0)
		return;
	int fds[1024], n; /* kernels before 5.9: a batch at a time */
	do {
		n = 0;
		DIR *d = opendir("/proc/self/fd");
		if (!d)
			return;
		struct dirent *de;
		while ((de = readdir(d)) && n < 1024) {
			int fd = atoi(de->d_name);
			if (de->d_name[0] >= '0' && de->d_name[0] <= '9' && fd > 2 && fd != keep && fd != dirfd(d))
				fds[n++] = fd;
		}
		closedir(d);
		for (int i = 0; i < n; i++)
			close(fds[i]);
	} while (n == 1024);
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* In the forked child: becomes the command. Reports a failure on errfd. */
static void child_main(const struct shim_opts *o, int errfd)
{
	struct sigaction dfl;
	memset(&dfl, 0, sizeof dfl);
	dfl.sa_handler = SIG_DFL;
	for (int s = 1; s < NSIG; s++)
		sigaction(s, &dfl, NULL); /* fails harmlessly for KILL, STOP and libc's own */
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	setpgid(0, 0);
	char err[1024] = "";
	int logfd = -1, nullfd = -1;
	if (o->kind != CG_NONE && cg_attach_self(o->kind, o->cgroup, err, sizeof err) < 0)
		goto fail;
	logfd = open(o->log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (logfd < 0) {
		snprintf(err, sizeof err, "cannot open log file %s: %s", o->log, strerror(errno));
		goto fail;
	}
	if (chdir(o->cwd) < 0) {
		snprintf(err, sizeof err, "cannot change to working directory %s: %s", o->cwd, strerror(errno));
		goto fail;
	}
	nullfd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (nullfd < 0 || dup2(nullfd, 0) < 0 || dup2(logfd, 1) < 0 || dup2(logfd, 2) < 0) {
		snprintf(err, sizeof err, "cannot set up stdin/stdout/stderr: %s", strerror(errno));
		goto fail;
	}
	char *args[] = { "bash", "-c", (char *)o->command, NULL };
	execve("/bin/bash", args, o->env ? o->env : environ);
	snprintf(err, sizeof err, "cannot execute /bin/bash: %s", strerror(errno));
fail:;
	ssize_t w = write(errfd, err, strlen(err));
	(void)w;
	_exit(127);
}

/* Takes DIR/lock; returns its fd, or -1 after answering BUSY/ERR. */
static int take_lock(struct shim_opts *o)
{
	char *path = fs_join(o->dir, "lock"), *exitp = fs_join(o->dir, "exit");
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0) {
		reply(o, "ERR cannot open %s: %s", path, strerror(errno));
		goto out;
	}
	for (int waited = 0; flock(fd, LOCK_EX | LOCK_NB) < 0; waited += 5) {
		if (errno != EWOULDBLOCK) {
			reply(o, "ERR cannot lock %s: %s", path, strerror(errno));
		} else if (waited < (fs_exists(exitp) ? LOCK_WAIT_EXITING_MS : LOCK_WAIT_MS)) {
			sleep_ms(5);
			continue;
		} else {
			struct pid_file p;
			if (pid_file_read(o->dir, &p, NULL) == 0)
				reply(o, "BUSY %ld", (long)p.shim_pid);
			else
				reply(o, "BUSY");
		}
		close(fd);
		fd = -1;
		break;
	}
out:
	free(path);
	free(exitp);
	return fd;
}

/* Sends SIGKILL to the shim's children: as a subreaper it inherits every
 * orphan of the command, even ones that left the process group (setsid) and,
 * without cgroups, would otherwise outlive the learner. Returns how many. */
static int kill_children(void)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/self/task/%ld/children", (long)getpid());
	struct sbuf sb = SBUF_INIT;
	int n = 0;
	if (fs_read_file(path, &sb, NULL) == 0) {
		char *p = sb.buf, *end;
		for (long pid; p && (pid = strtol(p, &end, 10), end != p); p = end)
			if (pid > 1 && kill((pid_t)pid, SIGKILL) == 0)
				n++;
	} else { /* kernels without CONFIG_PROC_CHILDREN */
		DIR *d = opendir("/proc");
		struct dirent *de;
		while (d && (de = readdir(d))) {
			char stat[512], *rp;
			long pid = atol(de->d_name), ppid;
			snprintf(path, sizeof path, "/proc/%ld/stat", pid);
			FILE *f = pid > 1 ? fopen(path, "r") : NULL;
			if (!f)
				continue;
			size_t len = fread(stat, 1, sizeof stat - 1, f);
			fclose(f);
			stat[len] = '\0';
			if ((rp = strrchr(stat, ')')) && sscanf(rp + 1, " %*c %ld", &ppid) == 1 && ppid == (long)getpid() &&
			    kill((pid_t)pid, SIGKILL) == 0)
				n++;
		}
		if (d)
			closedir(d);
	}
	sb_release(&sb);
	return n;
}

/* After the command ended: kills and reaps what it left behind, in its
 * process group, its cgroup, or anywhere below the shim. */
static void reap_leftovers(const struct shim_opts *o, pid_t pgid)
{
	for (int waited = 0;; waited += 5) {
		pid_t r;
		while ((r = waitpid(-1, NULL, WNOHANG)) > 0)
			;
		int children = !(r < 0 && errno == ECHILD);
		int group = kill(-pgid, 0) == 0;
		int tasks = o->kind != CG_NONE ? cg_task_count(o->kind, o->cgroup) : 0;
		if ((!group && !tasks && !children) || waited >= REAP_WAIT_MS)
			break;
		kill(-pgid, SIGKILL);
		if (tasks)
			cg_kill_all(o->kind, o->cgroup, SIGKILL);
		if (children)
			kill_children();
		sleep_ms(5);
	}
}

static int run(struct shim_opts *o)
{
	int lockfd = take_lock(o);
	if (lockfd < 0)
		return 1;
	char *exitp = fs_join(o->dir, "exit"), *pidp = fs_join(o->dir, "pid");
	struct exit_file x;
	int rc = 0, errp[2] = { -1, -1 };
	int cg = o->kind != CG_NONE;
	struct weft_err we;
	char fail[1400] = ""; /* why the command could not start; answered once the lock is released */
	if (exit_file_read(o->dir, &x, NULL) == 0 && x.attempt == o->attempt) {
		snprintf(fail, sizeof fail, "DONE");
		goto out;
	}
	struct pid_file prev;
	if (!fs_exists(exitp) && pid_file_read(o->dir, &prev, NULL) == 0)
		exec_kill_stale(&prev); /* the previous shim was lost */
	unlink(exitp); /* left by an earlier attempt: this one replaces it */
	unlink(pidp);
	if (cg && cg_create(o->kind, o->cgroup, o->cpus, o->memory, &we) < 0) {
		snprintf(fail, sizeof fail, "ERR %s", we.msg);
		rc = 1;
		goto out;
	}
	if (pipe2(errp, O_CLOEXEC) < 0) {
		snprintf(fail, sizeof fail, "ERR cannot create a pipe: %s", strerror(errno));
		rc = 1;
		goto out_cg;
	}
	sigset_t term, old;
	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	sigprocmask(SIG_BLOCK, &term, &old);
	int64_t started = now_ms();
	pid_t child = fork();
	if (child == 0) {
		close(errp[0]);
		child_main(o, errp[1]);
	}
	if (child > 0) {
		setpgid(child, child); /* also done by the child: whichever runs first */
		child_pgid = child;
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	close(errp[1]);
	if (child < 0) {
		snprintf(fail, sizeof fail, "ERR cannot fork: %s", strerror(errno));
		rc = 1;
		goto out_cg;
	}
	if (term_pending)
		kill(-child, SIGTERM);
	char err[1024];
	size_t elen = 0;
	for (;;) {
		ssize_t r = read(errp[0], err + elen, sizeof err - 1 - elen);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0 || (elen += (size_t)r) == sizeof err - 1)
			break;
	}
	err[elen] = '\0';
	int status = 0;
	if (elen > 0) { /* the command never started: cgroup, log file, cwd or exec failed */
		while (waitpid(child, &status, 0) < 0 && errno == EINTR)
			;
		snprintf(fail, sizeof fail, "ERR %s", err);
		rc = 1;
		goto out_cg;
	}

	struct pid_file p = { getpid(), child, o->attempt, started, "", o->kind };
	snprintf(p.cgroup, sizeof p.cgroup, "%s", o->cgroup);
	char *txt = pid_file_format(&p);
	int wrc = fs_write_file_atomic(pidp, txt, strlen(txt), 0644, &we);
	free(txt);
	if (wrc < 0) {
		kill(-child, SIGKILL);
		while (waitpid(child, &status, 0) < 0 && errno == EINTR)
			;
		snprintf(fail, sizeof fail, "ERR %s", we.msg);
		rc = 1;
		goto out_cg;
	}
	reply(o, "OK");
	log_info("shim %s: attempt %d started, process group %ld", o->dir, o->attempt, (long)child);

	memset(&x, 0, sizeof x);
	siginfo_t si;
	/* wait without reaping: the zombie keeps the process group id ours while we kill the rest */
	while (waitid(P_PID, child, &si, WEXITED | WNOWAIT) < 0) {
		if (errno != EINTR) {
			snprintf(x.message, sizeof x.message, "cannot wait for the command: %s", strerror(errno));
			break;
		}
	}
	kill(-child, SIGKILL);
	if (cg)
		cg_kill_all(o->kind, o->cgroup, SIGKILL);
	int wr, werr;
	while ((wr = waitpid(child, &status, 0)) < 0 && errno == EINTR)
		;
	werr = errno;
	child_pgid = 0; /* a late SIGTERM must not go to a reused process group id */
	reap_leftovers(o, child);
	x.attempt = o->attempt;
	x.started_ms = started;
	if (wr < 0 || x.message[0]) {
		x.exit_code = 127;
		if (!x.message[0])
			snprintf(x.message, sizeof x.message, "cannot wait for the command: %s", strerror(werr));
	} else if (WIFSIGNALED(status)) {
		x.signal = WTERMSIG(status);
		x.exit_code = 128 + x.signal;
	} else {
		x.exit_code = WEXITSTATUS(status);
	}
	if (cg)
		x.oom = cg_oom(o->kind, o->cgroup, x.signal == SIGKILL || x.exit_code == 128 + SIGKILL);
	cg_destroy(o->kind, o->cgroup);
	cg = 0;
	x.ended_ms = now_ms();
	txt = exit_file_format(&x);
	if (fs_write_file_atomic(exitp, txt, strlen(txt), 0644, &we) < 0)
		log_error("shim %s: %s", o->dir, we.msg);
	free(txt);
	log_info("shim %s: attempt %d ended: exit_code=%d signal=%d oom=%d%s%s", o->dir, o->attempt, x.exit_code,
		 x.signal, x.oom, x.message[0] ? " " : "", x.message);
out_cg:
	if (cg)
		cg_destroy(o->kind, o->cgroup);
out:
	if (errp[0] >= 0)
		close(errp[0]);
	free(exitp);
	free(pidp);
	close(lockfd); /* last: DIR/exit is in place before the lock goes */
	if (fail[0]) /* after the lock goes: exec_spawn's caller may poll or retry at once */
		reply(o, "%s", fail);
	return rc;
}

int exec_shim_main(int argc, char **argv)
{
	struct shim_opts o;
	char err[512];
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = SIG_DFL;
	sigaction(SIGCHLD, &sa, NULL); /* an inherited SIG_IGN would make waitpid fail */
	sa.sa_handler = on_term;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGTERM, &sa, NULL);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);

	if (parse_opts(argc, argv, &o, err, sizeof err) < 0) {
		fprintf(stderr, "weft _shim: %s\n", err);
		if (o.sync >= 0) {
			o.dir = NULL;
			reply(&o, "ERR shim: %s", err);
		}
		return 2;
	}
	close_other_fds(o.sync); /* first: an inherited end of the socket would hide the server's death */
	if (o.sync >= 0) {
		fcntl(o.sync, F_SETFD, FD_CLOEXEC); /* the command must not hold exec_spawn's socket */
		if (read_env(&o, err, sizeof err) < 0) {
			reply(&o, "ERR shim: %s", err);
			return 2;
		}
	}
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	if (chdir("/") < 0) /* never keep the caller's cwd busy; all paths are absolute */
		log_warn("shim %s: cannot change to /: %s", o.dir, strerror(errno));
	int rc = run(&o);
	free(o.env);
	free(o.envblock);
	return rc;
}

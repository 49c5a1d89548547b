/* exec.c - the server side of the exec module: starts a learner's shim
 * (double fork + setsid, so the shim outlives the server), and reads, signals
 * and resets learners from their control dir alone. Nothing here keeps state
 * about a learner in memory: a restarted server calls the same functions on
 * the same dirs and gets the same answers. The shim itself is in shim.c. */
#include "exec/exec.h"
#include "exec/exec_int.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/sbuf.h"
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define SPAWN_TIMEOUT_MS 30000
#define RESET_WAIT_MS 5000 /* for a shim that wrote DIR/exit to exit */
#define PROBE_WAIT_MS 200  /* for concurrent exec_poll probes to let go */

static pthread_mutex_t self_lock = PTHREAD_MUTEX_INITIALIZER;
static char *self_path;
/* Unless a binary was named with exec_set_self, the shim is not exec'd: the
 * forked grandchild calls exec_shim_main directly. That skips loading the
 * whole weft binary and its ~40 shared libraries (libcurl's TLS stack among
 * them) for every learner, which was most of a learner's start time. glibc
 * makes malloc and stdio usable in the child of a threaded parent, and the
 * shim closes every inherited descriptor first. Guarded by self_lock. */
static int self_explicit; /* guarded by self_lock; NULL until set or first spawn */

/* readlink of /proc/self/exe, without the " (deleted)" the kernel appends
 * when the binary was replaced (a rebuilt weft then still starts shims). */
static char *resolve_self(void)
{
	char buf[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
	if (n <= 0)
		return xstrdup("/proc/self/exe");
	buf[n] = '\0';
	const char *del = " (deleted)";
	size_t dl = strlen(del);
	if ((size_t)n > dl && !strcmp(buf + n - dl, del))
		buf[n - dl] = '\0';
	return xstrdup(buf);
}

void exec_set_self(const char *path)
{
	char *p = (!path || !strcmp(path, "/proc/self/exe")) ? resolve_self() : xstrdup(path);
	pthread_mutex_lock(&self_lock);
	self_explicit = path != NULL;
	free(self_path);
	self_path = p;
	pthread_mutex_unlock(&self_lock);
}

static char *get_self(void)
{
	pthread_mutex_lock(&self_lock);
	if (!self_path)
		self_path = resolve_self();
	char *p = xstrdup(self_path);
	pthread_mutex_unlock(&self_lock);
	return p;
}

static char *absolute(const char *path)
{
	if (path[0] == '/')
		return xstrdup(path);
	char cwd[PATH_MAX];
	if (!getcwd(cwd, sizeof cwd))
		return xstrdup(path);
	return fs_join(cwd, path);
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* 1 if some process holds the flock on dir/lock, 0 if not (or no lock file). */
static int lock_held(const char *dir)
{
	char *path = fs_join(dir, "lock");
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	free(path);
	if (fd < 0)
		return 0;
	/* shared: concurrent probes never see each other, only the shim's LOCK_EX */
	int held = 0;
	if (flock(fd, LOCK_SH | LOCK_NB) < 0)
		held = errno == EWOULDBLOCK;
	else
		flock(fd, LOCK_UN);
	close(fd);
	return held;
}

static void fill_exited(struct exec_status *st, const struct exit_file *x)
{
	st->state = EXEC_EXITED;
	st->attempt = x->attempt;
	st->exit_code = x->exit_code;
	st->signal = x->signal;
	st->oom = x->oom;
	st->started_ms = x->started_ms;
	st->ended_ms = x->ended_ms;
}

/* Fills st from DIR/exit if it exists: 1 if it did, 0 if not, <0 on a bad file. */
static int try_exit(const char *dir, struct exec_status *st, struct weft_err *e)
{
	struct exit_file x;
	struct weft_err ex;
	int rc = exit_file_read(dir, &x, &ex);
	if (rc == WEFT_ENOTFOUND)
		return 0;
	if (rc)
		return err_set(e, rc, "%s", ex.msg);
	fill_exited(st, &x);
	struct pid_file p;
	if (pid_file_read(dir, &p, NULL) == 0 && p.attempt == x.attempt)
		st->pgid = p.pgid;
	return 1;
}

int exec_poll(const char *dir, struct exec_status *st, struct weft_err *e)
{
	memset(st, 0, sizeof *st);
	int rc = try_exit(dir, st, e);
	if (rc)
		return rc < 0 ? rc : 0;
	int held = lock_held(dir);
	/* the shim writes DIR/exit before it lets go of the lock: look again */
	rc = try_exit(dir, st, e);
	if (rc)
		return rc < 0 ? rc : 0;
	struct pid_file p;
	struct weft_err pe;
	rc = pid_file_read(dir, &p, &pe);
	if (rc && rc != WEFT_ENOTFOUND && !held)
		return err_set(e, rc, "%s", pe.msg);
	if (rc == 0) {
		st->attempt = p.attempt;
		st->pgid = p.pgid;
		st->started_ms = p.started_ms;
	}
	st->state = held ? EXEC_RUNNING : rc == 0 ? EXEC_LOST : EXEC_NOT_STARTED;
	return 0;
}

int exec_signal(const char *dir, int sig, struct weft_err *e)
{
	struct exec_status st;
	int rc = exec_poll(dir, &st, e);
	if (rc) {
		/* unreadable control files: a shim that still holds the lock is alive,
		 * so its group can be signalled from the pid file all the same */
		if (!lock_held(dir))
			return rc;
		st.state = EXEC_RUNNING;
	}
	if (st.state == EXEC_EXITED || st.state == EXEC_NOT_STARTED)
		return 0; /* nothing runs; the pgid may belong to someone else by now */
	struct pid_file p;
	rc = pid_file_read(dir, &p, e);
	if (rc == WEFT_ENOTFOUND)
		return 0; /* the shim is still starting: nothing to signal yet */
	if (rc)
		return rc;
	if (st.state == EXEC_LOST && !exec_pgid_ours(&p))
		p.pgid = 0; /* the lost learner's group is gone and its id reused */
	if (p.pgid > 1 && kill(-p.pgid, sig) < 0 && errno != ESRCH)
		return err_sys(e, "cannot send signal %d to process group %ld of %s", sig, (long)p.pgid, dir);
	if (p.cgroup[0] && p.cgroup_kind != CG_NONE)
		cg_kill_all(p.cgroup_kind, p.cgroup, sig);
	return 0;
}

int exec_reset(const char *dir, struct weft_err *e)
{
	char *lock = fs_join(dir, "lock"), *exitp = fs_join(dir, "exit"), *pidp = fs_join(dir, "pid");
	int rc = 0;
	int fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0) {
		rc = err_sys(e, "cannot open %s", lock);
		goto out;
	}
	/* Taking the lock ourselves keeps a shim from starting while we clear
	 * the files. A shim that already wrote DIR/exit is only exiting, and an
	 * exec_poll probe holds the lock for microseconds: wait for those. */
	for (int waited = 0;; waited += 5) {
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			break;
		if (errno != EWOULDBLOCK) {
			rc = err_sys(e, "cannot lock %s", lock);
			goto out;
		}
		if (waited >= (fs_exists(exitp) ? RESET_WAIT_MS : PROBE_WAIT_MS)) {
			rc = err_set(e, WEFT_ECONFLICT, "cannot reset %s: its learner is still running", dir);
			goto out;
		}
		sleep_ms(5);
	}
	struct pid_file p;
	if (!fs_exists(exitp) && pid_file_read(dir, &p, NULL) == 0)
		exec_kill_stale(&p); /* LOST: its command must not outlive the pid file */
	if (unlink(exitp) < 0 && errno != ENOENT)
		rc = err_sys(e, "cannot remove %s", exitp);
	else if (unlink(pidp) < 0 && errno != ENOENT)
		rc = err_sys(e, "cannot remove %s", pidp);
out:
	if (fd >= 0)
		close(fd); /* releases the lock */
	free(lock);
	free(exitp);
	free(pidp);
	return rc;
}

/* Reads the shim's one-line answer from fd: returns the bytes read, -1 on timeout. */
static int read_answer(int fd, char *buf, size_t size)
{
	size_t len = 0;
	int64_t waited = 0;
	while (len < size - 1) {
		struct pollfd pfd = { fd, POLLIN, 0 };
		int n = poll(&pfd, 1, 100);
		if (n < 0 && errno != EINTR)
			break;
		if (n <= 0) {
			if ((waited += 100) >= SPAWN_TIMEOUT_MS) {
				buf[len] = '\0';
				return -1;
			}
			continue;
		}
		ssize_t r = read(fd, buf + len, size - 1 - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		len += (size_t)r;
	}
	buf[len] = '\0';
	return (int)len;
}

/* Sends the environment block to the shim, waiting at most SPAWN_TIMEOUT_MS. */
static void send_all(int fd, const char *p, size_t len)
{
	int waited = 0;
	while (len > 0 && waited < SPAWN_TIMEOUT_MS) {
		struct pollfd pfd = { fd, POLLOUT, 0 };
		int n = poll(&pfd, 1, 100);
		if (n < 0 && errno != EINTR)
			return;
		if (n <= 0) {
			waited += n == 0 ? 100 : 0;
			continue;
		}
		ssize_t w = send(fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (w <= 0)
			return;
		p += w;
		len -= (size_t)w;
	}
}

/* After fork in a possibly multi-threaded server: only async-signal-safe calls. */
static void safe_write(int fd, const char *s)
{
	ssize_t w = write(fd, s, strlen(s));
	(void)w;
}

static void safe_write_errno(int fd, int errnum)
{
	const char *d = strerrordesc_np(errnum);
	safe_write(fd, d ? d : "unknown error");
}

/* After fork: closes every descriptor from lowfd up, CLOEXEC or not. */
void exec_close_from(int lowfd)
{
	if (close_range((unsigned)lowfd, ~0U, 0) == 0)
		return;
	struct rlimit rl; /* kernels before 5.9 */
	int max = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 1048576 ? (int)rl.rlim_cur : 1048576;
	for (int fd = lowfd; fd < max; fd++)
		close(fd);
}

static int validate(const struct exec_spec *s, struct weft_err *e)
{
	if (!s->dir || !*s->dir)
		return err_set(e, WEFT_EINVAL, "exec: no control dir given");
	if (!fs_is_dir(s->dir))
		return err_set(e, WEFT_EINVAL, "exec: control dir %s does not exist", s->dir);
	if (!s->command || !*s->command)
		return err_set(e, WEFT_EINVAL, "exec: empty command for %s", s->dir);
	if (!s->cwd || !*s->cwd)
		return err_set(e, WEFT_EINVAL, "exec: no working directory for %s", s->dir);
	if (!s->log_path || !*s->log_path)
		return err_set(e, WEFT_EINVAL, "exec: no log file for %s", s->dir);
	if (s->attempt < 0)
		return err_set(e, WEFT_EINVAL, "exec: bad attempt %d for %s", s->attempt, s->dir);
	if (s->cgroup && !cg_valid_name(s->cgroup))
		return err_set(e, WEFT_EINVAL,
			       "exec: bad cgroup name \"%s\" (use letters, digits, '.', '_', '-'; at most 200)",
			       s->cgroup);
	if (s->cpus < 0 || s->cpus > 100000)
		return err_set(e, WEFT_EINVAL, "exec: bad cpus limit %g", s->cpus);
	return 0;
}

/* In the forked (not exec'd) shim, rewrites the command line that ps and
 * /proc/PID/cmdline show, in place, to "weft _shim --dir DIR" (cut to the
 * space the server's own command line had), and names the thread weft-shim.
 * Operators and tests find shims by that name. */
static void set_shim_title(const char *dir)
{
	prctl(PR_SET_NAME, "weft-shim");
	char buf[1024];
	int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return;
	buf[n] = '\0';
	char *p = strrchr(buf, ')'); /* the command name may hold spaces */
	if (!p)
		return;
	/* fields after ")" start at 3 (state); arg_start and arg_end are 48 and 49 */
	unsigned long long v[50] = { 0 };
	int field = 2;
	for (char *tok = strtok(p + 1, " "); tok && field < 49; tok = strtok(NULL, " "))
		v[++field] = strtoull(tok, NULL, 10);
	if (field < 49 || v[49] <= v[48] || v[49] - v[48] < 12)
		return;
	char *start = (char *)(uintptr_t)v[48];
	size_t len = (size_t)(v[49] - v[48]);
	struct sbuf t = SBUF_INIT;
	sb_add(&t, "weft\0_shim\0--dir\0", 17);
	sb_adds(&t, dir);
	size_t m = t.len < len - 1 ? t.len : len - 1;
	memcpy(start, t.buf, m);
	memset(start + m, 0, len - m);
	sb_release(&t);
}

/* The intermediate child of a spawn (forked by exec_spawn or by the spawner):
 * new session, fork the shim, exit, so the shim is re-parented away from its
 * starter. The shim gets sock as fd 3 and nothing else of its starter's. */
void exec_detach_shim(int sock, char **argv, const char *shimlog, int explicit_self)
{
	const char *self = argv[0], *dir = "";
	for (int i = 1; argv[i] && argv[i + 1]; i++)
		if (!strcmp(argv[i], "--dir"))
			dir = argv[i + 1];
	char execfail[PATH_MAX + 64];
	snprintf(execfail, sizeof execfail, "ERR cannot start the shim %s: ", self);
	setsid();
	pid_t shim = fork();
	if (shim < 0) {
		safe_write(sock, "ERR cannot fork the shim: ");
		safe_write_errno(sock, errno);
		_exit(1);
	}
	if (shim > 0)
		_exit(0);
	int s = fcntl(sock, F_DUPFD, 10);
	int null = open("/dev/null", O_RDWR);
	int err = open(shimlog, O_WRONLY | O_APPEND | O_CREAT, 0644);
	if (null >= 0) {
		dup2(null, 0);
		dup2(null, 1);
		dup2(err >= 0 ? err : null, 2);
	}
	if (s >= 0 && dup2(s, 3) == 3) {
		/* Nothing of the starter's but fd 3, exec'd or not: not the
		 * other end of the socket pair (holding it, the shim would
		 * wait forever for the environment of a server killed
		 * before sending it), nor the listening socket, clients or
		 * database, CLOEXEC or not. */
		exec_close_from(4);
		if (!explicit_self) {
			set_shim_title(dir);
			int argc = 0;
			while (argv[argc])
				argc++;
			_exit(exec_shim_main(argc - 1, argv + 1));
		}
		execve(self, argv, environ);
		safe_write(3, execfail);
		safe_write_errno(3, errno);
	}
	_exit(127);
}

int exec_spawn(const struct exec_spec *spec, struct weft_err *e)
{
	int rc = validate(spec, e);
	if (rc)
		return rc;
	struct exec_status st;
	rc = exec_poll(spec->dir, &st, e);
	if (rc)
		return rc;
	if (st.state == EXEC_RUNNING)
		return err_set(e, WEFT_ECONFLICT, "learner in %s is already running (attempt %d, process group %ld)",
			       spec->dir, st.attempt, (long)st.pgid);
	if (st.state == EXEC_EXITED && st.attempt == spec->attempt)
		return 0; /* this attempt already ran: never run it twice */
	enum cg_kind kind = spec->cgroup ? cg_probed_kind() : CG_NONE;
	if (spec->cgroup && kind == CG_NONE)
		log_debug("exec: no cgroups, %s runs without limits", spec->dir);

	pthread_mutex_lock(&self_lock);
	int explicit_self = self_explicit;
	pthread_mutex_unlock(&self_lock);
	char *self = get_self(), *dir = absolute(spec->dir), *cwd = absolute(spec->cwd);
	char *logp = absolute(spec->log_path), *shimlog = fs_join(dir, "shim.log");
	char attempt[16], cpus[64], mem[32];
	snprintf(attempt, sizeof attempt, "%d", spec->attempt);
	snprintf(cpus, sizeof cpus, "%.17g", spec->cpus);
	snprintf(mem, sizeof mem, "%llu", (unsigned long long)spec->memory);
	/* The command's environment is sent over the socket, not put in argv
	 * (which every user can read in /proc/PID/cmdline: it may hold data
	 * store secrets) nor used as the shim's own environment (a learner's
	 * LD_LIBRARY_PATH must not change which libraries weft loads). */
	char *const *env = spec->env ? spec->env : environ;
	struct sbuf envblock = SBUF_INIT;
	for (size_t i = 0; env[i]; i++)
		if (env[i][0])
			sb_add(&envblock, env[i], strlen(env[i]) + 1);
	sb_add(&envblock, "", 1); /* the end mark: an empty entry (see read_env in shim.c) */
	char *argv[] = { self, "_shim", "--sync", "3", "--dir", dir, "--cwd", cwd, "--log", logp,
			 "--attempt", attempt, "--cgroup", kind != CG_NONE ? (char *)spec->cgroup : "",
			 "--cgroup-kind", (char *)cg_kind_name(kind), "--cpus", cpus, "--memory", mem,
			 "--command", (char *)spec->command, NULL };
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		rc = err_sys(e, "exec: cannot create a socket pair");
		goto out;
	}
	/* The environment goes into the socket before the shim exists, as far as
	 * the socket buffer takes it without blocking (all of it, normally), so
	 * the shim finds it at once instead of waiting for this side to learn
	 * that its intermediate parent has exited. */
	size_t pre = 0;
	while (pre < envblock.len) {
		ssize_t w = send(sv[0], envblock.buf + pre, envblock.len - pre, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		pre += (size_t)w;
	}
	/* the spawner forks from its small address space; without it (tests,
	 * or it died), fork here */
	if (spawner_detach(sv[1], argv, shimlog, explicit_self) != 0) {
		pid_t pid = fork();
		if (pid < 0) {
			rc = err_sys(e, "exec: cannot fork");
			close(sv[0]);
			close(sv[1]);
			goto out;
		}
		if (pid == 0)
			exec_detach_shim(sv[1], argv, shimlog, explicit_self);
		int status;
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
	}
	close(sv[1]);
	/* a shim that died before reading makes this fail: its answer says why */
	send_all(sv[0], envblock.buf + pre, envblock.len - pre);
	shutdown(sv[0], SHUT_WR);
	char ans[2048];
	int n = read_answer(sv[0], ans, sizeof ans);
	close(sv[0]);
	char *nl = strchr(ans, '\n');
	if (nl)
		*nl = '\0';
	if (n < 0)
		rc = err_set(e, WEFT_EIO, "exec: the shim for %s did not answer within %d s (see %s)", dir,
			     SPAWN_TIMEOUT_MS / 1000, shimlog);
	else if (!strcmp(ans, "OK") || !strcmp(ans, "DONE"))
		rc = 0;
	else if (!strncmp(ans, "BUSY", 4))
		rc = err_set(e, WEFT_ECONFLICT, "learner in %s is already running (shim %s)", dir,
			     ans[4] ? ans + 5 : "?");
	else if (!strncmp(ans, "ERR ", 4))
		rc = err_set(e, WEFT_EIO, "cannot start learner in %s: %s", dir, ans + 4);
	else
		rc = err_set(e, WEFT_EIO, "cannot start learner in %s: the shim %s exited without answering (see %s)",
			     dir, self, shimlog);
out:
	sb_release(&envblock);
	free(self);
	free(dir);
	free(cwd);
	free(logp);
	free(shimlog);
	return rc;
}

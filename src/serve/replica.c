/* replica.c - one custom model server process and its HTTP client (see replica.h).
 * The process is forked by a long-lived internal thread into its own process group
 * with PR_SET_PDEATHSIG, its output appended to a log; requests go over libcurl easy
 * handles kept in a small per-replica pool, so each keeps its connection alive and
 * several threads can talk to one replica at once. The supervisor (replica_set) is in
 * replica_set.c and drives the non-blocking start below (replica_int.h). */
#include "serve/replica.h"
#include "serve/replica_int.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/timeutil.h"
#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_START_TIMEOUT_MS 30000
#define DEFAULT_MAX_ANSWER ((size_t)64 << 20)
#define STOP_GRACE_MS 2000
#define MAX_IDLE_CONNS 64
#define PORT_TRIES 3

struct conn {
	CURL *h;
	struct curl_slist *hdr;
	unsigned gen; /* replica generation it was made for: stale after a restart */
	struct conn *next;
};

struct replica {
	char *name, *command, *cwd, *log_path;
	char **env;
	int want_port, start_timeout_ms;
	size_t max_answer;

	pthread_mutex_t lock; /* guards the fields below */
	pid_t pid;            /* process (group) id of the current run; 0 before the first */
	int port;
	int running;          /* 1 until the process has been reaped */
	int wstatus;          /* waitpid status once reaped (-1: reaped elsewhere) */
	unsigned gen;         /* bumped at every launch and kill */
	int64_t deadline_ms;  /* end of the current start */

	pthread_mutex_t pool_lock; /* guards idle, nidle */
	struct conn *idle;
	int nidle;
};

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* ---- the forking thread ---- */

struct spawn_req {
	char **argv, **envp;
	const char *cwd;
	int logfd, nullfd;
	pid_t pid;
	int err, done;
};

static pthread_mutex_t forker_lock = PTHREAD_MUTEX_INITIALIZER; /* guards all below */
static pthread_cond_t forker_cv = PTHREAD_COND_INITIALIZER;
static struct spawn_req *pending; /* the request being served, and its done flag */
static pid_t forker_owner;        /* the process whose forker thread runs (fork loses it) */

static void child_say(const char *a, const char *b)
{
	/* async-signal-safe: write(2) only */
	if (write(2, a, strlen(a)) < 0 || (b && write(2, b, strlen(b)) < 0) || write(2, "\n", 1) < 0)
		return;
}

static void child_exec(struct spawn_req *q, pid_t parent) __attribute__((noreturn));
static void child_exec(struct spawn_req *q, pid_t parent)
{
	setpgid(0, 0);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(1); /* weft died between fork and prctl */
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	struct sigaction dfl;
	memset(&dfl, 0, sizeof dfl);
	dfl.sa_handler = SIG_DFL;
	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			sigaction(sig, &dfl, NULL); /* an ignored SIGPIPE would survive exec */
	if (dup2(q->nullfd, 0) < 0 || dup2(q->logfd, 1) < 0 || dup2(q->logfd, 2) < 0)
		_exit(126);
	if (q->cwd && chdir(q->cwd) != 0) {
		child_say("[weft] cannot change to the working directory ", q->cwd);
		_exit(126);
	}
	if (syscall(SYS_close_range, 3U, ~0U, 0U) != 0)
		for (int fd = 3; fd < 4096; fd++)
			close(fd);
	execve("/bin/bash", q->argv, q->envp);
	child_say("[weft] cannot run /bin/bash", NULL);
	_exit(127);
}

static void *forker_main(void *arg)
{
	(void)arg;
	pid_t self = getpid();
	pthread_mutex_lock(&forker_lock);
	for (;;) {
		while (!pending || pending->done)
			pthread_cond_wait(&forker_cv, &forker_lock);
		struct spawn_req *q = pending;
		pid_t pid = fork();
		if (pid == 0)
			child_exec(q, self);
		q->err = pid < 0 ? errno : 0;
		if (pid > 0)
			setpgid(pid, pid); /* also done by the child: whichever runs first */
		q->pid = pid;
		q->done = 1;
		pthread_cond_broadcast(&forker_cv);
	}
	return NULL;
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* Starts the forker thread (again, in a child forked without exec); forker_lock held. */
static int forker_start(void)
{
	if (forker_owner == getpid())
		return 0;
	pthread_attr_t a;
	pthread_attr_init(&a);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old); /* the forker takes no signals */
	pthread_t t;
	int rc = pthread_create(&t, &a, forker_main, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&a);
	if (rc)
		return -rc;
	pthread_setname_np(t, "weft-forker");
	forker_owner = getpid();
	pending = NULL;
	return 0;
}

/* In a child forked without exec the forker thread is gone, and its lock and condition
 * variable hold the parent's state (a copied waiter makes a broadcast hang): start afresh. */
static void forker_atfork_child(void)
{
	pthread_mutex_init(&forker_lock, NULL);
	pthread_cond_init(&forker_cv, NULL);
	pending = NULL;
	forker_owner = 0;
}

static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static void forker_register_atfork(void)
{
	pthread_atfork(NULL, NULL, forker_atfork_child);
}

/* Forks and execs on the forker thread; returns the pid or -errno. */
static pid_t forker_spawn(struct spawn_req *q)
{
	pthread_once(&atfork_once, forker_register_atfork);
	pthread_mutex_lock(&forker_lock);
	int rc = forker_start();
	if (rc) {
		pthread_mutex_unlock(&forker_lock);
		return rc;
	}
	while (pending)
		pthread_cond_wait(&forker_cv, &forker_lock);
	q->done = 0;
	pending = q;
	pthread_cond_broadcast(&forker_cv);
	while (!q->done)
		pthread_cond_wait(&forker_cv, &forker_lock);
	pending = NULL;
	pthread_cond_broadcast(&forker_cv);
	pthread_mutex_unlock(&forker_lock);
	return q->pid > 0 ? q->pid : -q->err;
}

/* ---- ports ---- */

static pthread_mutex_t ports_lock = PTHREAD_MUTEX_INITIALIZER; /* guards recent_ports */
static int recent_ports[64];
static unsigned recent_next;

/* 1 if nothing may listen on 127.0.0.1:port now (TIME_WAIT is fine), 0 if taken. */
static int port_free(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 1;
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int ok = bind(fd, (struct sockaddr *)&a, sizeof a) == 0 || errno != EADDRINUSE;
	close(fd);
	return ok;
}

/* A free port from the kernel, not one handed out recently in this process. */
static int pick_port(struct weft_err *e)
{
	for (int tries = 0; tries < 32; tries++) {
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return err_sys(e, "cannot create a socket to find a free port");
		struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = 0 };
		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		socklen_t len = sizeof a;
		if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
		    getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
			close(fd);
			return err_sys(e, "cannot find a free port on 127.0.0.1");
		}
		close(fd);
		int port = ntohs(a.sin_port), seen = 0;
		pthread_mutex_lock(&ports_lock);
		for (size_t i = 0; i < sizeof recent_ports / sizeof *recent_ports; i++)
			seen |= recent_ports[i] == port;
		if (!seen)
			recent_ports[recent_next++ % (sizeof recent_ports / sizeof *recent_ports)] = port;
		pthread_mutex_unlock(&ports_lock);
		if (!seen)
			return port;
	}
	return err_set(e, WEFT_EIO, "cannot find a free port on 127.0.0.1");
}

/* ---- the process ---- */

static const char *const inherited_env[] = { "PATH", "HOME", "USER", "LANG", "LC_ALL", "TZ", "TMPDIR",
					     "PYENV_ROOT", "PYENV_VERSION", NULL };

/* Appends "K=V" to v (n entries), replacing an earlier entry with the same K. */
static void env_put(char **v, int *n, char *kv)
{
	size_t klen = strcspn(kv, "=");
	for (int i = 0; i < *n; i++)
		if (strncmp(v[i], kv, klen) == 0 && v[i][klen] == '=') {
			free(v[i]);
			v[i] = kv;
			return;
		}
	v[(*n)++] = kv;
}

static char **build_env(const struct replica *r, int port)
{
	int cap = 16, n = 0;
	for (char **p = r->env; p && *p; p++)
		cap++;
	char **v = xcalloc((size_t)cap + 1, sizeof *v);
	for (int i = 0; inherited_env[i]; i++) {
		const char *val = getenv(inherited_env[i]);
		if (val)
			env_put(v, &n, xasprintf("%s=%s", inherited_env[i], val));
	}
	if (!getenv("PATH"))
		env_put(v, &n, xstrdup("PATH=/usr/local/bin:/usr/bin:/bin"));
	env_put(v, &n, xstrdup("PYTHONUNBUFFERED=1"));
	for (char **p = r->env; p && *p; p++)
		if (strchr(*p, '=') && **p != '=')
			env_put(v, &n, xstrdup(*p));
	env_put(v, &n, xasprintf("PORT=%d", port));
	env_put(v, &n, xasprintf("PREDICTIVE_UNIT_SERVICE_PORT=%d", port));
	env_put(v, &n, xasprintf("PREDICTIVE_UNIT_HTTP_SERVICE_PORT=%d", port));
	env_put(v, &n, xasprintf("PREDICTIVE_UNIT_ID=%s", r->name));
	v[n] = NULL;
	return v;
}

static void strv_free(char **v)
{
	for (char **p = v; p && *p; p++)
		free(*p);
	free(v);
}

void replica_log_tail(const struct replica *r, char *buf, size_t size)
{
	snprintf(buf, size, "(no output)");
	if (!r->log_path)
		return;
	int fd = open(r->log_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	char tail[4096];
	off_t end = lseek(fd, 0, SEEK_END);
	off_t from = end > (off_t)sizeof tail - 1 ? end - (off_t)sizeof tail + 1 : 0;
	ssize_t n = pread(fd, tail, sizeof tail - 1, from);
	close(fd);
	if (n <= 0)
		return;
	tail[n] = '\0';
	while (n > 0 && (tail[n - 1] == '\n' || tail[n - 1] == '\r' || tail[n - 1] == ' '))
		tail[--n] = '\0';
	char *line = strrchr(tail, '\n');
	line = line ? line + 1 : tail;
	if (strncmp(line, "[weft] starting", 15) == 0 || !*line)
		return; /* our own start line: the program wrote nothing */
	size_t k = 0;
	const char *p = line;
	for (; *p && k + 4 < size; p++)
		buf[k++] = (*p >= 0x20 && *p < 0x7f) ? *p : '?';
	if (*p)
		for (int i = 0; i < 3; i++)
			buf[k++] = '.';
	buf[k] = '\0';
}

struct replica *replica_new(const struct replica_cfg *cfg)
{
	struct replica *r = xcalloc(1, sizeof *r);
	r->name = xstrdup(cfg->name && *cfg->name ? cfg->name : "replica");
	r->command = xstrdup(cfg->command ? cfg->command : "");
	r->cwd = xstrdup(cfg->cwd);
	r->log_path = xstrdup(cfg->log_path);
	int n = 0;
	while (cfg->env && cfg->env[n])
		n++;
	r->env = xcalloc((size_t)n + 1, sizeof *r->env);
	for (int i = 0; i < n; i++)
		r->env[i] = xstrdup(cfg->env[i]);
	r->want_port = cfg->port;
	r->start_timeout_ms = cfg->start_timeout_ms > 0 ? cfg->start_timeout_ms : DEFAULT_START_TIMEOUT_MS;
	r->max_answer = cfg->max_answer_bytes ? cfg->max_answer_bytes : DEFAULT_MAX_ANSWER;
	pthread_mutex_init(&r->lock, NULL);
	pthread_mutex_init(&r->pool_lock, NULL);
	return r;
}

int replica_launch(struct replica *r, struct weft_err *e)
{
	if (!*r->command)
		return err_set(e, WEFT_EINVAL, "replica %s: no command to run", r->name);
	if (r->want_port < 0 || r->want_port > 65535)
		return err_set(e, WEFT_EINVAL, "replica %s: port %d is not 0..65535", r->name, r->want_port);
	int port = r->want_port;
	if (port && !port_free(port))
		return err_set(e, WEFT_EIO, "replica %s: port %d is already in use by another program", r->name,
			       port);
	if (!port && (port = pick_port(e)) < 0)
		return port;
	int logfd = r->log_path ? open(r->log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644)
				: open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (logfd < 0)
		return err_sys(e, "replica %s: cannot open its log %s", r->name, r->log_path ? r->log_path : "/dev/null");
	int nullfd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (nullfd < 0) {
		close(logfd);
		return err_sys(e, "cannot open /dev/null");
	}
	char when[32];
	dprintf(logfd, "[weft] starting replica %s at %s UTC on port %d: %s\n", r->name,
		fmt_time_ms(now_ms(), when, sizeof when), port, r->command);
	char *argv[] = { "bash", "-c", r->command, NULL };
	struct spawn_req q = { .argv = argv, .envp = build_env(r, port), .cwd = r->cwd, .logfd = logfd,
			       .nullfd = nullfd };
	pid_t pid = forker_spawn(&q);
	close(logfd);
	close(nullfd);
	strv_free(q.envp);
	if (pid < 0) {
		errno = -pid;
		return err_sys(e, "replica %s: cannot start a process", r->name);
	}
	pthread_mutex_lock(&r->lock);
	r->pid = pid;
	r->port = port;
	r->running = 1;
	r->wstatus = 0;
	r->gen++;
	r->deadline_ms = now_ms() + r->start_timeout_ms;
	pthread_mutex_unlock(&r->lock);
	log_info("replica %s: started pid %ld on port %d", r->name, (long)pid, port);
	return 0;
}

/* Reaps the process if it has exited; call with r->lock held. */
static void reap_locked(struct replica *r)
{
	if (!r->running)
		return;
	int st;
	pid_t w;
	while ((w = waitpid(r->pid, &st, WNOHANG)) < 0 && errno == EINTR)
		;
	if (w == r->pid || (w < 0 && errno == ECHILD)) {
		r->running = 0;
		r->wstatus = w == r->pid ? st : -1;
		kill(-r->pid, SIGKILL); /* anything it left in its group */
	}
}

int replica_alive(struct replica *r)
{
	pthread_mutex_lock(&r->lock);
	reap_locked(r);
	int alive = r->running;
	pthread_mutex_unlock(&r->lock);
	return alive;
}

void replica_exit_text(struct replica *r, char *buf, size_t size)
{
	pthread_mutex_lock(&r->lock);
	int st = r->wstatus, running = r->running;
	pthread_mutex_unlock(&r->lock);
	if (running)
		snprintf(buf, size, "is running");
	else if (st == -1)
		snprintf(buf, size, "exited");
	else if (WIFEXITED(st))
		snprintf(buf, size, "exited with status %d", WEXITSTATUS(st));
	else if (WIFSIGNALED(st))
		snprintf(buf, size, "was killed by signal %d (%s)", WTERMSIG(st), strsignal(WTERMSIG(st)));
	else
		snprintf(buf, size, "ended (wait status %d)", st);
}

void replica_kill(struct replica *r)
{
	pthread_mutex_lock(&r->lock);
	pid_t pid = r->pid;
	int running = r->running;
	r->gen++;
	pthread_mutex_unlock(&r->lock);
	if (!pid)
		return;
	if (running) {
		kill(-pid, SIGTERM);
		int64_t until = now_ms() + STOP_GRACE_MS;
		for (int sent_kill = 0;;) {
			pthread_mutex_lock(&r->lock);
			reap_locked(r);
			running = r->running;
			pthread_mutex_unlock(&r->lock);
			if (!running)
				break;
			if (!sent_kill && now_ms() >= until) {
				log_warn("replica %s: pid %ld did not stop within %d ms of SIGTERM; killing it",
					 r->name, (long)pid, STOP_GRACE_MS);
				kill(-pid, SIGKILL);
				sent_kill = 1;
			}
			sleep_ms(10);
		}
		/* stragglers in its group that ignored TERM; only now, while its pgid cannot
		 * have been reused (reap_locked does the same at the moment it reaps) */
		kill(-pid, SIGKILL);
	}
}

int replica_poll_start(struct replica *r, int *port_taken, struct weft_err *e)
{
	char tail[320], how[128];
	*port_taken = 0;
	if (!replica_alive(r)) {
		replica_exit_text(r, how, sizeof how);
		replica_log_tail(r, tail, sizeof tail);
		int port = replica_port(r);
		*port_taken = !r->want_port && !port_free(port);
		return err_set(e, WEFT_EIO, "replica %s %s before answering GET /health/ping on port %d%s; its log %s ends: %s",
			       r->name, how, port, *port_taken ? " (the port was taken meanwhile)" : "",
			       r->log_path ? r->log_path : "(none)", tail);
	}
	if (replica_ping(r, 250) == 0 && replica_alive(r))
		return 1;
	pthread_mutex_lock(&r->lock);
	int64_t deadline = r->deadline_ms;
	pthread_mutex_unlock(&r->lock);
	if (now_ms() < deadline)
		return 0;
	replica_kill(r);
	replica_log_tail(r, tail, sizeof tail);
	return err_set(e, WEFT_EIO, "replica %s did not answer GET /health/ping on port %d within %d ms (stopped it); "
		       "its log %s ends: %s", r->name, replica_port(r), r->start_timeout_ms,
		       r->log_path ? r->log_path : "(none)", tail);
}

/* Launches and waits for /health/ping; a picked port taken meanwhile is replaced. */
static int launch_and_wait(struct replica *r, struct weft_err *e)
{
	for (int attempt = 1;; attempt++) {
		int rc = replica_launch(r, e), taken = 0;
		long nap = 10;
		while (rc == 0 && (rc = replica_poll_start(r, &taken, e)) == 0) {
			sleep_ms(nap);
			nap = nap < 100 ? nap * 2 : 100;
		}
		if (rc == 1)
			return 0;
		if (!taken || attempt >= PORT_TRIES)
			return rc;
		log_warn("%s; trying another port", e->msg);
	}
}

int replica_start(const struct replica_cfg *cfg, struct replica **out, struct weft_err *e)
{
	*out = NULL;
	struct replica *r = replica_new(cfg);
	int rc = launch_and_wait(r, e);
	if (rc) {
		replica_stop(r);
		return rc;
	}
	*out = r;
	return 0;
}

int replica_restart(struct replica *r, struct weft_err *e)
{
	replica_kill(r);
	return launch_and_wait(r, e);
}

void replica_stop(struct replica *r)
{
	if (!r)
		return;
	replica_kill(r);
	for (struct conn *c = r->idle, *next; c; c = next) {
		next = c->next;
		curl_easy_cleanup(c->h);
		curl_slist_free_all(c->hdr);
		free(c);
	}
	pthread_mutex_destroy(&r->lock);
	pthread_mutex_destroy(&r->pool_lock);
	free(r->name);
	free(r->command);
	free(r->cwd);
	free(r->log_path);
	strv_free(r->env);
	free(r);
}

int replica_port(struct replica *r)
{
	pthread_mutex_lock(&r->lock);
	int port = r->port;
	pthread_mutex_unlock(&r->lock);
	return port;
}

pid_t replica_pid(struct replica *r)
{
	pthread_mutex_lock(&r->lock);
	pid_t pid = r->running ? r->pid : 0;
	pthread_mutex_unlock(&r->lock);
	return pid;
}

const char *replica_name(const struct replica *r)
{
	return r->name;
}

/* ---- HTTP ---- */

int replica_fail_retryable(enum replica_fail why)
{
	return why == REPLICA_REFUSED || why == REPLICA_BROKEN;
}

const char *replica_fail_name(enum replica_fail why)
{
	static const char *const names[] = { "ok", "refused", "broken", "timeout", "garbage", "too big" };
	return (unsigned)why < sizeof names / sizeof *names ? names[why] : "?";
}

struct sink {
	struct sbuf *sb;
	size_t max;
	int over;
};

static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
	struct sink *s = arg;
	size_t len = size * n;
	if (s->sb->len + len > s->max) {
		s->over = 1;
		return 0; /* CURLE_WRITE_ERROR ends the transfer */
	}
	sb_add(s->sb, p, len);
	return len;
}

static struct conn *conn_get(struct replica *r, unsigned gen)
{
	pthread_mutex_lock(&r->pool_lock);
	struct conn *c = r->idle;
	if (c) {
		r->idle = c->next;
		r->nidle--;
	}
	pthread_mutex_unlock(&r->pool_lock);
	if (c && c->gen == gen)
		return c;
	if (c) {
		curl_easy_cleanup(c->h);
		curl_slist_free_all(c->hdr);
	} else {
		c = xcalloc(1, sizeof *c);
	}
	pthread_once(&curl_once, curl_init);
	c->h = curl_easy_init();
	c->hdr = curl_slist_append(NULL, "Content-Type: application/json");
	c->hdr = curl_slist_append(c->hdr, "Expect:"); /* no 100-continue round trip */
	c->gen = gen;
	if (!c->h || !c->hdr) {
		curl_easy_cleanup(c->h);
		curl_slist_free_all(c->hdr);
		free(c);
		return NULL;
	}
	return c;
}

static void conn_put(struct replica *r, struct conn *c)
{
	pthread_mutex_lock(&r->lock);
	unsigned gen = r->gen;
	pthread_mutex_unlock(&r->lock);
	pthread_mutex_lock(&r->pool_lock);
	if (c->gen == gen && r->nidle < MAX_IDLE_CONNS) {
		c->next = r->idle;
		r->idle = c;
		r->nidle++;
		c = NULL;
	}
	pthread_mutex_unlock(&r->pool_lock);
	if (c) {
		curl_easy_cleanup(c->h);
		curl_slist_free_all(c->hdr);
		free(c);
	}
}

int replica_request(struct replica *r, const char *method, const char *path, const char *body, size_t len,
		    int timeout_ms, struct sbuf *answer, long *http_status, enum replica_fail *why,
		    struct weft_err *e)
{
	enum replica_fail dummy;
	why = why ? why : &dummy;
	*why = REPLICA_OK;
	if (http_status)
		*http_status = 0;
	sb_reset(answer);
	if (timeout_ms <= 0)
		timeout_ms = 1;
	pthread_mutex_lock(&r->lock);
	int port = r->port, running = r->running;
	unsigned gen = r->gen;
	pthread_mutex_unlock(&r->lock);
	if (!running) {
		*why = REPLICA_REFUSED;
		return err_set(e, WEFT_EIO, "replica %s is not running", r->name);
	}
	int post = strcmp(method, "POST") == 0;
	if (!post && strcmp(method, "GET") != 0)
		return err_set(e, WEFT_EINVAL, "replica_request: method %s is not GET or POST", method);
	struct conn *c = conn_get(r, gen);
	if (!c) {
		*why = REPLICA_REFUSED;
		return err_set(e, WEFT_EIO, "replica %s: cannot create an HTTP handle", r->name);
	}
	char url[512], cerr[CURL_ERROR_SIZE] = "";
	snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
	struct sink sink = { answer, r->max_answer, 0 };
	CURL *h = c->h;
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)(timeout_ms < 1000 ? timeout_ms : 1000));
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &sink);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, cerr);
	curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)r->max_answer);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, c->hdr);
	if (post) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(body ? len : 0));
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body ? body : "");
	} else {
		curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
	}
	CURLcode cc = curl_easy_perform(h);
	long code = 0;
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, NULL);
	conn_put(r, c);
	if (cc == CURLE_OK) {
		if (http_status)
			*http_status = code;
		return 0;
	}
	const char *what;
	switch (cc) {
	case CURLE_COULDNT_CONNECT:
		*why = REPLICA_REFUSED;
		what = "refused the connection";
		break;
	case CURLE_OPERATION_TIMEDOUT:
		*why = REPLICA_TIMEOUT;
		what = "did not answer in time";
		break;
	case CURLE_GOT_NOTHING:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_PARTIAL_FILE:
		*why = REPLICA_BROKEN;
		what = "closed the connection before a whole answer";
		break;
	case CURLE_WRITE_ERROR:
	case CURLE_FILESIZE_EXCEEDED:
		if (sink.over || cc == CURLE_FILESIZE_EXCEEDED) {
			*why = REPLICA_TOOBIG;
			sb_reset(answer);
			return err_set(e, WEFT_ETOOBIG, "replica %s (127.0.0.1:%d) %s %s: the answer is over the limit of %zu bytes",
				       r->name, port, method, path, r->max_answer);
		}
		/* fall through */
	default:
		*why = REPLICA_GARBAGE;
		what = "answered something that is not HTTP";
	}
	sb_reset(answer);
	return err_set(e, WEFT_EIO, "replica %s (127.0.0.1:%d) %s %s: %s (%s)", r->name, port, method, path, what,
		       *cerr ? cerr : curl_easy_strerror(cc));
}

int replica_ping(struct replica *r, int timeout_ms)
{
	struct sbuf sb = SBUF_INIT;
	long code = 0;
	int rc = replica_request(r, "GET", "/health/ping", NULL, 0, timeout_ms, &sb, &code, NULL, NULL);
	sb_release(&sb);
	return rc == 0 && code == 200 ? 0 : -1;
}

int replica_predict(struct replica *r, const char *body, size_t len, int timeout_ms, struct sbuf *answer,
		    long *http_status, json_t **json, enum replica_fail *why, struct weft_err *e)
{
	long code = 0;
	if (json)
		*json = NULL;
	int rc = replica_request(r, "POST", "/predict", body, len, timeout_ms, answer, &code, why, e);
	if (http_status)
		*http_status = code;
	if (rc)
		return rc;
	int ok2xx = code >= 200 && code < 300;
	if (!ok2xx && !json)
		return 0;
	json_error_t je;
	json_t *j = json_loadb(answer->buf ? answer->buf : "", answer->len, 0, &je);
	if (ok2xx && (!j || !json_is_object(j))) {
		char shown[64];
		size_t k = 0;
		for (size_t i = 0; i < answer->len && k + 4 < sizeof shown; i++)
			shown[k++] = answer->buf[i] >= 0x20 && answer->buf[i] < 0x7f ? answer->buf[i] : '?';
		shown[k] = '\0';
		json_decref(j);
		if (why)
			*why = REPLICA_GARBAGE;
		return err_set(e, WEFT_EIO, "replica %s (127.0.0.1:%d) POST /predict: HTTP %ld with an answer that is not "
			       "a JSON object (%s): \"%s%s\"", r->name, replica_port(r), code,
			       j ? "another JSON value" : je.text, shown, answer->len > k ? "..." : "");
	}
	if (json)
		*json = j;
	else
		json_decref(j);
	return 0;
}

/* test_exec.c - the local executor's spawning module against real processes:
 * exit codes, signals, TERM forwarding, LOST shims, reset, bad input, and
 * cgroup limits (memory OOM, cpu quota) where this machine can enforce them.
 * This binary is also the shim: main() dispatches `_shim` like weft does, so
 * exec_spawn's default /proc/self/exe works here. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "exec/exec.h"
#include "util/fs.h"
#include "util/mem.h"
#include "util/sbuf.h"
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct fx {
	char root[64];
	char *ctl, *work, *log;
	char cgname[64];
};

static char *test_env[] = { "PATH=/usr/local/bin:/usr/bin:/bin", "WEFT_TEST_VAR=hello world", NULL };

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

static char *slurp(const char *path)
{
	struct sbuf sb = SBUF_INIT;
	fs_read_file(path, &sb, NULL);
	return sb_detach(&sb);
}

static int setup(void **state)
{
	struct fx *f = xcalloc(1, sizeof *f);
	snprintf(f->root, sizeof f->root, "/tmp/weft-exec-XXXXXX");
	if (!mkdtemp(f->root))
		return -1;
	f->ctl = fs_join(f->root, "ctl");
	f->work = fs_join(f->root, "work");
	f->log = fs_join(f->root, "out.log");
	mkdir(f->ctl, 0755);
	mkdir(f->work, 0755);
	static int seq;
	snprintf(f->cgname, sizeof f->cgname, "weft-test-%ld-%d", (long)getpid(), ++seq);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	exec_signal(f->ctl, SIGKILL, NULL);
	struct exec_status st;
	for (int i = 0; i < 200 && exec_poll(f->ctl, &st, NULL) == 0 && st.state == EXEC_RUNNING; i++)
		sleep_ms(10);
	cgroup_remove(f->cgname);
	/* the shim's stderr (and so any sanitizer report of an ASan build) lands in ctl/shim.log */
	char *shimlog = fs_join(f->ctl, "shim.log"), *text = slurp(shimlog);
	int bad = strstr(text, "Sanitizer") || strstr(text, "runtime error");
	if (bad || getenv("WEFT_TEST_SHOW_SHIM_LOG"))
		print_message("# %s:\n%s", shimlog, text);
	free(shimlog);
	free(text);
	fs_rm_rf(f->root, NULL);
	free(f->ctl);
	free(f->work);
	free(f->log);
	free(f);
	return bad ? -1 : 0;
}

static int spawn(struct fx *f, const char *cmd, int attempt, const char *cg, double cpus, uint64_t mem,
		 struct weft_err *e)
{
	struct exec_spec s = { f->ctl, f->work, cmd, test_env, f->log, cg, cpus, mem, attempt };
	err_clear(e);
	return exec_spawn(&s, e);
}

static void spawn_ok(struct fx *f, const char *cmd, int attempt)
{
	struct weft_err e;
	int rc = spawn(f, cmd, attempt, NULL, 0, 0, &e);
	if (rc)
		fail_msg("exec_spawn(%s): %s", cmd, e.msg);
}

static struct exec_status wait_exited(const char *dir)
{
	struct exec_status st;
	struct weft_err e;
	for (int i = 0; i < 1000; i++) {
		if (exec_poll(dir, &st, &e) != 0)
			fail_msg("exec_poll: %s", e.msg);
		if (st.state == EXEC_EXITED)
			return st;
		sleep_ms(10);
	}
	fail_msg("learner in %s did not exit within 10 s (state %d)", dir, st.state);
	return st;
}

static enum exec_state poll_state(const char *dir)
{
	struct exec_status st;
	struct weft_err e;
	assert_int_equal(exec_poll(dir, &st, &e), 0);
	return st.state;
}

/* Waits until the file at path contains needle. */
static void wait_for_text(const char *path, const char *needle)
{
	for (int i = 0; i < 500; i++) {
		char *s = slurp(path);
		int found = strstr(s, needle) != NULL;
		free(s);
		if (found)
			return;
		sleep_ms(10);
	}
	fail_msg("%s never contained \"%s\"", path, needle);
}

/* Value of key in a key=value file (e.g. ctl/pid); -1 if missing. */
static long long file_key(const char *dir, const char *name, const char *key)
{
	char *path = fs_join(dir, name), *s = slurp(path);
	char *k = xasprintf("\n%s=", key), *text = xasprintf("\n%s", s);
	char *p = strstr(text, k);
	long long v = p ? strtoll(p + strlen(k), NULL, 10) : -1;
	free(path);
	free(s);
	free(k);
	free(text);
	return v;
}

/* 1 if pid is gone (or a zombie nobody reaped yet). */
static int process_gone(long pid)
{
	char path[64], buf[512];
	snprintf(path, sizeof path, "/proc/%ld/stat", pid);
	FILE *fp = fopen(path, "r");
	if (!fp)
		return 1;
	size_t n = fread(buf, 1, sizeof buf - 1, fp);
	fclose(fp);
	buf[n] = '\0';
	char *rp = strrchr(buf, ')');
	return rp && rp[1] == ' ' && rp[2] == 'Z';
}

static void test_exit_zero_log_cwd_env(void **state)
{
	struct fx *f = *state;
	setenv("WEFT_NOT_PASSED", "leak", 1);
	spawn_ok(f, "echo \"var=$WEFT_TEST_VAR\"; echo \"cwd=$(pwd)\"; echo \"leak=${WEFT_NOT_PASSED:-none}\";"
		    " echo to-stderr >&2; read x; echo \"stdin=${x:-eof}\"; exit 0", 1);
	struct exec_status st = wait_exited(f->ctl);
	assert_int_equal(st.attempt, 1);
	assert_int_equal(st.exit_code, 0);
	assert_int_equal(st.signal, 0);
	assert_int_equal(st.oom, 0);
	assert_true(st.ended_ms >= st.started_ms && st.started_ms > 0);
	char *log = slurp(f->log), *cwd = xasprintf("cwd=%s\n", f->work);
	assert_non_null(strstr(log, "var=hello world\n"));
	assert_non_null(strstr(log, cwd));
	assert_non_null(strstr(log, "leak=none\n"));
	assert_non_null(strstr(log, "to-stderr\n"));
	assert_non_null(strstr(log, "stdin=eof\n"));
	free(log);
	free(cwd);
	/* the documented file formats */
	assert_true(file_key(f->ctl, "pid", "shim_pid") > 1);
	assert_true(file_key(f->ctl, "pid", "pgid") > 1);
	assert_int_equal(file_key(f->ctl, "pid", "attempt"), 1);
	assert_int_equal(file_key(f->ctl, "exit", "attempt"), 1);
	assert_int_equal(file_key(f->ctl, "exit", "exit_code"), 0);
	assert_int_equal(file_key(f->ctl, "exit", "oom"), 0);
	unsetenv("WEFT_NOT_PASSED");
	/* output is appended, never truncated */
	assert_int_equal(exec_reset(f->ctl, NULL), 0);
	spawn_ok(f, "echo second", 2);
	wait_exited(f->ctl);
	log = slurp(f->log);
	assert_non_null(strstr(log, "var=hello world\n"));
	assert_non_null(strstr(log, "second\n"));
	free(log);
}

static void test_exit_code(void **state)
{
	struct fx *f = *state;
	spawn_ok(f, "exit 3", 7);
	struct exec_status st = wait_exited(f->ctl);
	assert_int_equal(st.attempt, 7);
	assert_int_equal(st.exit_code, 3);
	assert_int_equal(st.signal, 0);
}

static void test_signal_term(void **state)
{
	struct fx *f = *state;
	spawn_ok(f, "sleep 30", 2);
	struct exec_status st;
	assert_int_equal(exec_poll(f->ctl, &st, NULL), 0);
	assert_int_equal(st.state, EXEC_RUNNING);
	assert_int_equal(st.attempt, 2);
	assert_true(st.pgid > 1);
	/* the environment (secrets) must not show in the shim's world-readable command line */
	char *cmdline = xasprintf("/proc/%lld/cmdline", file_key(f->ctl, "pid", "shim_pid"));
	struct sbuf sb = SBUF_INIT;
	assert_int_equal(fs_read_file(cmdline, &sb, NULL), 0);
	assert_true(sb.len > 0);
	assert_null(memmem(sb.buf, sb.len, "hello world", 11));
	assert_non_null(memmem(sb.buf, sb.len, "_shim", 5));
	sb_release(&sb);
	free(cmdline);
	assert_int_equal(exec_signal(f->ctl, SIGTERM, NULL), 0);
	st = wait_exited(f->ctl);
	assert_int_equal(st.signal, SIGTERM);
	assert_int_equal(st.exit_code, 128 + SIGTERM);
	assert_int_equal(st.attempt, 2);
	/* signalling a finished learner is a no-op, not an error */
	assert_int_equal(exec_signal(f->ctl, SIGTERM, NULL), 0);
}

static void test_shim_forwards_term(void **state)
{
	struct fx *f = *state;
	spawn_ok(f, "echo ready; sleep 30; echo not-reached", 1);
	wait_for_text(f->log, "ready");
	long shim = (long)file_key(f->ctl, "pid", "shim_pid");
	assert_true(shim > 1);
	assert_int_equal(kill((pid_t)shim, SIGTERM), 0);
	struct exec_status st = wait_exited(f->ctl);
	assert_int_equal(st.signal, SIGTERM);
	char *log = slurp(f->log);
	assert_null(strstr(log, "not-reached"));
	free(log);
}

static void test_ignores_term_then_kill(void **state)
{
	struct fx *f = *state;
	spawn_ok(f, "trap '' TERM; echo ready; sleep 30", 1);
	wait_for_text(f->log, "ready");
	assert_int_equal(exec_signal(f->ctl, SIGTERM, NULL), 0);
	sleep_ms(200);
	assert_int_equal(poll_state(f->ctl), EXEC_RUNNING);
	assert_int_equal(exec_signal(f->ctl, SIGKILL, NULL), 0);
	struct exec_status st = wait_exited(f->ctl);
	assert_int_equal(st.signal, SIGKILL);
}

static void test_running_then_exited_no_second_start(void **state)
{
	struct fx *f = *state;
	spawn_ok(f, "echo first; while [ ! -e go ]; do sleep 0.01; done", 4);
	struct exec_status st;
	assert_int_equal(exec_poll(f->ctl, &st, NULL), 0);
	assert_int_equal(st.state, EXEC_RUNNING);
	assert_int_equal(st.attempt, 4);
	struct weft_err e;
	assert_int_equal(spawn(f, "echo second", 5, NULL, 0, 0, &e), WEFT_ECONFLICT);
	assert_non_null(strstr(e.msg, "already running"));
	assert_int_equal(exec_reset(f->ctl, &e), WEFT_ECONFLICT);
	assert_non_null(strstr(e.msg, "still running"));
	assert_int_equal(poll_state(f->ctl), EXEC_RUNNING);
	char *go = fs_join(f->work, "go");
	assert_int_equal(fs_write_file_atomic(go, "", 0, 0644, NULL), 0);
	free(go);
	st = wait_exited(f->ctl);
	assert_int_equal(st.attempt, 4);
	assert_int_equal(st.exit_code, 0);
	char *log = slurp(f->log);
	assert_non_null(strstr(log, "first"));
	assert_null(strstr(log, "second"));
	free(log);
}

static void test_same_attempt_not_rerun(void **state)
{
	struct fx *f = *state;
	spawn_ok(f, "echo run", 1);
	wait_exited(f->ctl);
	spawn_ok(f, "echo run", 1); /* already done: no second run */
	struct exec_status st = wait_exited(f->ctl);
	assert_int_equal(st.attempt, 1);
	char *log = slurp(f->log);
	assert_string_equal(log, "run\n");
	free(log);
	/* a new attempt replaces the old exit file even without a reset */
	spawn_ok(f, "exit 4", 2);
	st = wait_exited(f->ctl);
	assert_int_equal(st.attempt, 2);
	assert_int_equal(st.exit_code, 4);
}

static void test_lost_then_reset(void **state)
{
	struct fx *f = *state;
	spawn_ok(f, "sleep 30", 1);
	long shim = (long)file_key(f->ctl, "pid", "shim_pid");
	long pgid = (long)file_key(f->ctl, "pid", "pgid");
	assert_true(shim > 1 && pgid > 1);
	assert_int_equal(kill((pid_t)shim, SIGKILL), 0);
	assert_int_equal(kill((pid_t)-pgid, SIGKILL), 0);
	enum exec_state s = EXEC_RUNNING;
	for (int i = 0; i < 500 && s == EXEC_RUNNING; i++) {
		sleep_ms(10);
		s = poll_state(f->ctl);
	}
	assert_int_equal(s, EXEC_LOST);
	struct exec_status st;
	assert_int_equal(exec_poll(f->ctl, &st, NULL), 0);
	assert_int_equal(st.attempt, 1);
	assert_int_equal(st.pgid, pgid);
	assert_int_equal(exec_reset(f->ctl, NULL), 0);
	assert_int_equal(poll_state(f->ctl), EXEC_NOT_STARTED);
	spawn_ok(f, "exit 0", 2);
	st = wait_exited(f->ctl);
	assert_int_equal(st.attempt, 2);
	assert_int_equal(st.exit_code, 0);
}

static void test_lost_command_killed_on_reset(void **state)
{
	struct fx *f = *state;
	spawn_ok(f, "sleep 30", 1);
	long shim = (long)file_key(f->ctl, "pid", "shim_pid");
	long pgid = (long)file_key(f->ctl, "pid", "pgid");
	assert_int_equal(kill((pid_t)shim, SIGKILL), 0); /* the command runs on, unsupervised */
	enum exec_state s = EXEC_RUNNING;
	for (int i = 0; i < 500 && s == EXEC_RUNNING; i++) {
		sleep_ms(10);
		s = poll_state(f->ctl);
	}
	assert_int_equal(s, EXEC_LOST);
	assert_false(process_gone(pgid));
	/* a new attempt without a reset: the shim kills the lost command first */
	spawn_ok(f, "exit 5", 2);
	assert_int_equal(wait_exited(f->ctl).exit_code, 5);
	for (int i = 0; i < 200 && !process_gone(pgid); i++)
		sleep_ms(10);
	assert_true(process_gone(pgid));
}

/* A LOST learner's pid file outlives its processes: once the process group id
 * is reused by an unrelated process, exec_signal must leave that one alone. */
static void test_lost_pgid_reused(void **state)
{
	struct fx *f = *state;
	pid_t other = fork();
	if (other == 0) {
		setpgid(0, 0);
		for (;;)
			pause();
	}
	assert_true(other > 0);
	setpgid(other, other);
	sleep_ms(20);
	char *pidp = fs_join(f->ctl, "pid");
	for (int ours = 0; ours < 2; ours++) {
		/* a pid file as a shim (long gone, see the shim_pid) would have left it */
		long long started = (long long)time(NULL) * 1000 - (ours ? 0 : 3600 * 1000);
		char *text = xasprintf("shim_pid=%d\npgid=%ld\nattempt=1\nstarted_ms=%lld\ncgroup=\ncgroup_kind=none\n",
				       INT32_MAX, (long)other, started);
		assert_int_equal(fs_write_file_atomic(pidp, text, strlen(text), 0644, NULL), 0);
		free(text);
		assert_int_equal(poll_state(f->ctl), EXEC_LOST);
		assert_int_equal(exec_signal(f->ctl, SIGKILL, NULL), 0);
		sleep_ms(50);
		int status;
		pid_t r = waitpid(other, &status, WNOHANG);
		int alive = r == 0, killed = r == other && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
		if (alive && ours) {
			kill(other, SIGKILL);
			waitpid(other, NULL, 0);
		}
		if (!ours)
			assert_true(alive); /* started an hour after the learner: not its group */
		else
			assert_true(killed);
	}
	free(pidp);
}

static void test_bad_shim_binary(void **state)
{
	struct fx *f = *state;
	struct weft_err e;
	exec_set_self("/nonexistent/weft");
	int rc = spawn(f, "exit 0", 1, NULL, 0, 0, &e);
	exec_set_self(NULL);
	assert_int_equal(rc, WEFT_EIO);
	assert_non_null(strstr(e.msg, "cannot start the shim /nonexistent/weft: No such file"));
	assert_int_equal(poll_state(f->ctl), EXEC_NOT_STARTED);
	spawn_ok(f, "exit 0", 1);
	assert_int_equal(wait_exited(f->ctl).exit_code, 0);
}

/* The real weft binary dispatches `weft _shim` to the same shim. */
static void test_weft_binary_as_shim(void **state)
{
	struct fx *f = *state;
	const char *bin = getenv("WEFT_BIN");
	if (!bin || access(bin, X_OK) < 0)
		skip();
	exec_set_self(bin);
	struct weft_err e;
	int rc = spawn(f, "echo via-weft; exit 6", 1, NULL, 0, 0, &e);
	exec_set_self(NULL);
	if (rc)
		fail_msg("exec_spawn with %s: %s", bin, e.msg);
	assert_int_equal(wait_exited(f->ctl).exit_code, 6);
	char *log = slurp(f->log);
	assert_string_equal(log, "via-weft\n");
	free(log);
}

static volatile int poller_stop;

static void *poller(void *arg)
{
	const char *dir = arg;
	struct exec_status st;
	while (!poller_stop)
		exec_poll(dir, &st, NULL);
	return NULL;
}

/* The server polls learners from one thread while another spawns them: the
 * lock probe of exec_poll must never make a spawn fail or report LOST. */
static void test_spawn_while_polling(void **state)
{
	struct fx *f = *state;
	pthread_t t;
	poller_stop = 0;
	assert_int_equal(pthread_create(&t, NULL, poller, f->ctl), 0);
	for (int i = 1; i <= 8; i++) {
		struct weft_err e;
		int rc = exec_reset(f->ctl, &e);
		if (rc)
			fail_msg("exec_reset %d: %s", i, e.msg);
		char *cmd = xasprintf("exit %d", i);
		rc = spawn(f, cmd, i, NULL, 0, 0, &e);
		free(cmd);
		if (rc)
			fail_msg("exec_spawn %d: %s", i, e.msg);
		struct exec_status st;
		do {
			assert_int_equal(exec_poll(f->ctl, &st, NULL), 0);
			assert_int_not_equal(st.state, EXEC_LOST);
			assert_int_not_equal(st.state, EXEC_NOT_STARTED);
			sleep_ms(1);
		} while (st.state != EXEC_EXITED);
		assert_int_equal(st.attempt, i);
		assert_int_equal(st.exit_code, i);
	}
	poller_stop = 1;
	pthread_join(t, NULL);
}

static void test_bad_cwd_and_log(void **state)
{
	struct fx *f = *state;
	struct weft_err e;
	struct exec_spec s = { f->ctl, "/nonexistent/weft-cwd", "echo hi", test_env, f->log, NULL, 0, 0, 1 };
	assert_int_not_equal(exec_spawn(&s, &e), 0);
	assert_non_null(strstr(e.msg, "working directory /nonexistent/weft-cwd"));
	assert_non_null(strstr(e.msg, "No such file"));
	assert_int_equal(poll_state(f->ctl), EXEC_NOT_STARTED);
	s.cwd = f->work;
	s.log_path = "/nonexistent/weft-dir/out.log";
	assert_int_not_equal(exec_spawn(&s, &e), 0);
	assert_non_null(strstr(e.msg, "log file /nonexistent/weft-dir/out.log"));
	assert_int_equal(poll_state(f->ctl), EXEC_NOT_STARTED);
	s.log_path = f->log;
	s.cgroup = "../escape";
	assert_int_equal(exec_spawn(&s, &e), WEFT_EINVAL);
	assert_non_null(strstr(e.msg, "../escape"));
	s.cgroup = NULL;
	s.dir = "/nonexistent/weft-ctl";
	assert_int_equal(exec_spawn(&s, &e), WEFT_EINVAL);
	assert_non_null(strstr(e.msg, "/nonexistent/weft-ctl"));
	/* nothing ran: the working directory is still usable afterwards */
	s.dir = f->ctl;
	assert_int_equal(exec_spawn(&s, &e), 0);
	assert_int_equal(wait_exited(f->ctl).exit_code, 0);
}

static void test_corrupt_exit_file(void **state)
{
	struct fx *f = *state;
	char *p = fs_join(f->ctl, "exit");
	const char *bad = "attempt=1\nexit_code=zero\n";
	assert_int_equal(fs_write_file_atomic(p, bad, strlen(bad), 0644, NULL), 0);
	struct exec_status st;
	struct weft_err e;
	assert_int_equal(exec_poll(f->ctl, &st, &e), WEFT_EIO);
	assert_non_null(strstr(e.msg, "line 2"));
	assert_non_null(strstr(e.msg, "zero"));
	const char *trunc = "attempt=1\n";
	assert_int_equal(fs_write_file_atomic(p, trunc, strlen(trunc), 0644, NULL), 0);
	assert_int_equal(exec_poll(f->ctl, &st, &e), WEFT_EIO);
	assert_non_null(strstr(e.msg, "missing exit_code"));
	assert_int_equal(exec_reset(f->ctl, &e), 0);
	assert_int_equal(poll_state(f->ctl), EXEC_NOT_STARTED);
	free(p);
}

static void test_grandchild_killed(void **state)
{
	struct fx *f = *state;
	/* one in the process group, one that left it (no cgroup here to hold it) */
	spawn_ok(f, "sleep 30 & echo $! > gc.pid; setsid bash -c 'echo $$ > gc2.pid; exec sleep 31' &"
		    " while [ ! -s gc2.pid ]; do sleep 0.01; done; exit 0", 1);
	struct exec_status st = wait_exited(f->ctl);
	assert_int_equal(st.exit_code, 0);
	for (int i = 0; i < 2; i++) {
		char *p = fs_join(f->work, i ? "gc2.pid" : "gc.pid"), *s = slurp(p);
		long gc = strtol(s, NULL, 10);
		free(p);
		free(s);
		assert_true(gc > 1);
		assert_true(process_gone(gc));
	}
}

static void test_probe_disabled(void **state)
{
	(void)state;
	char why[512];
	setenv("WEFT_CGROUPS", "off", 1);
	assert_int_equal(cgroup_probe(why, sizeof why), 0);
	assert_string_equal(cgroup_kind(), "none");
	assert_non_null(strstr(why, "disabled by WEFT_CGROUPS=off"));
	unsetenv("WEFT_CGROUPS");
	int on = cgroup_probe(why, sizeof why);
	print_message("# cgroup_probe: %s\n", why);
	if (on)
		assert_true(!strcmp(cgroup_kind(), "v1") || !strcmp(cgroup_kind(), "v2"));
	else
		assert_string_equal(cgroup_kind(), "none");
}

static int cgroups_on(void)
{
	char why[512];
	return cgroup_probe(why, sizeof why);
}

static void test_memory_oom(void **state)
{
	struct fx *f = *state;
	if (!cgroups_on())
		skip();
	struct weft_err e;
	int rc = spawn(f, "/usr/bin/python3 -c \"b = b'x' * (300 << 20)\"", 1, f->cgname, 0, 64ull << 20, &e);
	if (rc)
		fail_msg("exec_spawn: %s", e.msg);
	struct exec_status st = wait_exited(f->ctl);
	assert_int_equal(st.oom, 1);
	assert_int_equal(st.signal, SIGKILL);
	assert_int_equal(file_key(f->ctl, "exit", "oom"), 1);
	assert_int_equal(cgroup_memory_usage(f->cgname), -1); /* removed */
	/* the same limit is no problem for a small command */
	assert_int_equal(exec_reset(f->ctl, NULL), 0);
	rc = spawn(f, "/usr/bin/python3 -c \"b = b'x' * (8 << 20)\"", 2, f->cgname, 0, 64ull << 20, &e);
	assert_int_equal(rc, 0);
	st = wait_exited(f->ctl);
	assert_int_equal(st.oom, 0);
	assert_int_equal(st.exit_code, 0);
}

static void test_cpu_limit_and_cgroup_kill(void **state)
{
	struct fx *f = *state;
	if (!cgroups_on())
		skip();
	struct weft_err e;
	int rc = spawn(f, "setsid sleep 30 & echo $! > gc.pid; while [ ! -e go ]; do sleep 0.01; done", 1, f->cgname,
		       0.5, 100ull << 20, &e);
	if (rc)
		fail_msg("exec_spawn: %s", e.msg);
	char *gcp = fs_join(f->work, "gc.pid");
	wait_for_text(gcp, "\n");
	int v2 = !strcmp(cgroup_kind(), "v2");
	char *cpu = v2 ? xasprintf("/sys/fs/cgroup/weft/%s/cpu.max", f->cgname)
		       : xasprintf("/sys/fs/cgroup/cpu/weft/%s/cpu.cfs_quota_us", f->cgname);
	char *mem = v2 ? xasprintf("/sys/fs/cgroup/weft/%s/memory.max", f->cgname)
		       : xasprintf("/sys/fs/cgroup/memory/weft/%s/memory.limit_in_bytes", f->cgname);
	char *procs = v2 ? xasprintf("/sys/fs/cgroup/weft/%s/cgroup.procs", f->cgname)
			 : xasprintf("/sys/fs/cgroup/cpu/weft/%s/cgroup.procs", f->cgname);
	char *s = slurp(cpu);
	assert_string_equal(s, v2 ? "50000 100000\n" : "50000\n");
	free(s);
	s = slurp(mem);
	assert_string_equal(s, "104857600\n");
	free(s);
	s = slurp(gcp);
	long gc = strtol(s, NULL, 10);
	free(s);
	char *needle = xasprintf("%ld\n", gc);
	/* the setsid'd grandchild is in the cgroup (the kernel's list may lag a little) */
	char *pcg = xasprintf("/proc/%ld/cgroup", gc), *want = xasprintf("/weft/%s\n", f->cgname);
	int listed = 0, member = 0;
	for (int i = 0; i < 100 && !(listed && member); i++) {
		if (i)
			sleep_ms(10);
		s = slurp(procs);
		listed = strstr(s, needle) != NULL;
		free(s);
		s = slurp(pcg);
		member = strstr(s, want) != NULL;
		free(s);
	}
	if (!listed || !member)
		fail_msg("pid %ld: listed in %s: %d, %s names /weft/%s: %d", gc, procs, listed, pcg, f->cgname, member);
	free(pcg);
	free(want);
	free(needle);
	assert_true(cgroup_memory_usage(f->cgname) > 0);

	char *go = fs_join(f->work, "go");
	assert_int_equal(fs_write_file_atomic(go, "", 0, 0644, NULL), 0);
	struct exec_status st = wait_exited(f->ctl);
	assert_int_equal(st.exit_code, 0);
	assert_int_equal(st.oom, 0);
	/* it left its process group, but not its cgroup: killed all the same */
	assert_true(process_gone(gc));
	assert_false(fs_exists(cpu));
	free(go);
	free(gcp);
	free(cpu);
	free(mem);
	free(procs);
}

/* Fault injection for test_server_dies_before_env: this definition of send()
 * replaces libc's for the whole test binary (exec_spawn is the only caller).
 * exec_spawn puts the environment into the socket before forking, as far as
 * the buffer takes it; with die_in_send set, that first send finds the buffer
 * full (EAGAIN), and the next one, after the fork, exits the calling process
 * at once, exactly as a server killed with SIGKILL between forking the shim and
 * sending its environment. Otherwise it is the plain system call. */
static volatile int die_in_send;

ssize_t send(int fd, const void *buf, size_t len, int flags)
{
	if (die_in_send == 1) {
		die_in_send = 2;
		errno = EAGAIN;
		return -1;
	}
	if (die_in_send == 2)
		_exit(0);
	return syscall(SYS_sendto, fd, buf, len, flags, NULL, 0);
}

/* Number of entries in /proc/PID/fd, -1 if unreadable. */
static int count_fds(long pid)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%ld/fd", pid);
	DIR *d = opendir(path);
	if (!d)
		return -1;
	int n = 0;
	struct dirent *de;
	while ((de = readdir(d)))
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

/* Pid of a process (not us) that has target open, or 0. */
static long holder_of(const char *target)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	long found = 0;
	while (d && !found && (de = readdir(d))) {
		long pid = atol(de->d_name);
		if (pid <= 0 || pid == (long)getpid())
			continue;
		char path[64];
		snprintf(path, sizeof path, "/proc/%ld/fd", pid);
		DIR *fd = opendir(path);
		struct dirent *fe;
		while (fd && !found && (fe = readdir(fd))) {
			char link[PATH_MAX], lp[384];
			snprintf(lp, sizeof lp, "%s/%s", path, fe->d_name);
			ssize_t n = readlink(lp, link, sizeof link - 1);
			if (n > 0) {
				link[n] = '\0';
				if (!strcmp(link, target))
					found = pid;
			}
		}
		if (fd)
			closedir(fd);
	}
	if (d)
		closedir(d);
	return found;
}

/* A server has many descriptors (clients, the database, its listening
 * socket), some numbered above 1024 on a busy one, some without
 * FD_CLOEXEC: neither the shim nor the learner may keep any of them. */
static void test_no_server_fds_inherited(void **state)
{
	struct fx *f = *state;
	struct rlimit old, rl;
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
	rl = old;
	if (rl.rlim_cur < 2048)
		rl.rlim_cur = rl.rlim_max < 2048 ? rl.rlim_max : 2048;
	if (rl.rlim_cur < 1200 || setrlimit(RLIMIT_NOFILE, &rl) < 0)
		skip();
	int fds[1200], n = 0;
	int lsock = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0); /* like the server's listener */
	assert_true(lsock >= 0);
	assert_int_equal(listen(lsock, 4), 0);
	for (; n < 1100; n++) { /* no FD_CLOEXEC, like a careless library's descriptor */
		fds[n] = open("/dev/null", O_RDONLY);
		assert_true(fds[n] >= 0);
	}
	int high = fcntl(lsock, F_DUPFD_CLOEXEC, 1150); /* above the first 1024 */
	assert_true(high >= 1150);
	char *fdsfile = fs_join(f->work, "fds");
	/* a simple command first: in a pipeline, bash itself may hold the next
	 * pipe's descriptors at the moment ls reads its fd list */
	char *cmd = xasprintf("ls /proc/$$/fd > %s.raw; sort -n %s.raw | tr '\\n' ' ' > %s.tmp; mv %s.tmp %s; sleep 30",
			      fdsfile, fdsfile, fdsfile, fdsfile, fdsfile);
	spawn_ok(f, cmd, 1);
	wait_for_text(f->log, ""); /* the log exists */
	for (int i = 0; i < 500 && !fs_exists(fdsfile); i++)
		sleep_ms(10);
	sleep_ms(50);
	char *got = slurp(fdsfile);
	long shim = file_key(f->ctl, "pid", "shim_pid");
	int shim_fds = count_fds(shim);
	for (int i = 0; i < n; i++)
		close(fds[i]);
	close(high);
	close(lsock);
	setrlimit(RLIMIT_NOFILE, &old);
	if (strcmp(got, "0 1 2 "))
		fail_msg("the learner holds descriptors %s(want 0 1 2)", got);
	/* stdin, stdout, stderr, DIR/lock and the pipe from its command */
	if (shim_fds < 0 || shim_fds > 5)
		fail_msg("the shim %ld holds %d descriptors (want at most 5)", shim, shim_fds);
	free(got);
	free(cmd);
	free(fdsfile);
}

/* A server killed (kill -9) after forking the shim but before sending the
 * command's environment: the shim must neither hang forever (keeping the
 * server's listening socket) nor run the command with a partial environment. */
static void test_server_dies_before_env(void **state)
{
	struct fx *f = *state;
	char *ran = fs_join(f->work, "ran"), *shimlog = fs_join(f->ctl, "shim.log");
	char *cmd = xasprintf("touch %s", ran);
	pid_t p = fork();
	assert_true(p >= 0);
	if (p == 0) {
		exec_set_self(NULL); /* the forked (not exec'd) shim, as in the server */
		for (int i = 0; i < 8; i++) /* low descriptors in use, as the server's database */
			open("/dev/null", O_RDONLY | O_CLOEXEC);
		die_in_send = 1;
		struct weft_err e;
		spawn(f, cmd, 1, NULL, 0, 0, &e);
		_exit(3); /* not reached: send() exits */
	}
	int status;
	assert_int_equal(waitpid(p, &status, 0), p);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	long holder = 0;
	for (int i = 0; i < 300 && (holder = holder_of(shimlog)); i++)
		sleep_ms(10);
	if (holder) {
		kill((pid_t)holder, SIGKILL);
		fail_msg("the shim %ld still runs 3 s after its server died", holder);
	}
	sleep_ms(100);
	assert_false(fs_exists(ran));
	assert_int_equal(poll_state(f->ctl), EXEC_NOT_STARTED);
	char *log = slurp(shimlog);
	assert_non_null(strstr(log, "environment"));
	free(log);
	free(ran);
	free(shimlog);
	free(cmd);
}

/* `weft _shim` with an environment block that ends early (no end mark, or
 * cut inside an entry) answers an error and runs nothing. */
static void test_truncated_env_block(void **state)
{
	struct fx *f = *state;
	static const struct { const char *data; size_t len; } blocks[] = {
		{ "A=1\0B=2", 7 },   /* cut inside an entry */
		{ "A=1\0B=2\0", 8 }, /* cut at an entry's end, before the end mark */
		{ "", 0 },           /* nothing at all */
	};
	char *ran = fs_join(f->work, "ran"), *cmd = xasprintf("touch %s", ran);
	for (size_t k = 0; k < sizeof blocks / sizeof blocks[0]; k++) {
		int sv[2];
		assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
		pid_t p = fork();
		assert_true(p >= 0);
		if (p == 0) {
			close(sv[0]);
			if (sv[1] != 3) {
				dup2(sv[1], 3);
				close(sv[1]);
			}
			char *argv[] = { "test_exec", "_shim", "--sync", "3", "--dir", f->ctl, "--cwd", f->work,
					 "--log", f->log, "--attempt", "1", "--command", cmd, NULL };
			execv("/proc/self/exe", argv);
			_exit(127);
		}
		close(sv[1]);
		assert_int_equal(write(sv[0], blocks[k].data, blocks[k].len), (ssize_t)blocks[k].len);
		shutdown(sv[0], SHUT_WR);
		char ans[512];
		ssize_t r, len = 0;
		while ((r = read(sv[0], ans + len, sizeof ans - 1 - (size_t)len)) > 0)
			len += r;
		ans[len > 0 ? len : 0] = '\0';
		close(sv[0]);
		int status;
		assert_int_equal(waitpid(p, &status, 0), p);
		if (strncmp(ans, "ERR ", 4) || !strstr(ans, "environment"))
			fail_msg("block %zu: the shim answered \"%s\"", k, ans);
		assert_false(fs_exists(ran));
		assert_int_equal(poll_state(f->ctl), EXEC_NOT_STARTED);
	}
	free(ran);
	free(cmd);
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "_shim"))
		return exec_shim_main(argc - 1, argv + 1);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_exit_zero_log_cwd_env, setup, teardown),
		cmocka_unit_test_setup_teardown(test_exit_code, setup, teardown),
		cmocka_unit_test_setup_teardown(test_signal_term, setup, teardown),
		cmocka_unit_test_setup_teardown(test_shim_forwards_term, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ignores_term_then_kill, setup, teardown),
		cmocka_unit_test_setup_teardown(test_running_then_exited_no_second_start, setup, teardown),
		cmocka_unit_test_setup_teardown(test_same_attempt_not_rerun, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lost_then_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lost_command_killed_on_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lost_pgid_reused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_shim_binary, setup, teardown),
		cmocka_unit_test_setup_teardown(test_weft_binary_as_shim, setup, teardown),
		cmocka_unit_test_setup_teardown(test_spawn_while_polling, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_cwd_and_log, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_exit_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_grandchild_killed, setup, teardown),
		cmocka_unit_test(test_probe_disabled),
		cmocka_unit_test_setup_teardown(test_memory_oom, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cpu_limit_and_cgroup_kill, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_server_fds_inherited, setup, teardown),
		cmocka_unit_test_setup_teardown(test_server_dies_before_env, setup, teardown),
		cmocka_unit_test_setup_teardown(test_truncated_env_block, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

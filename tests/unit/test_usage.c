/* test_usage.c - exec_learner_usage against real learners started through
 * exec_spawn, as test_exec.c starts them: processes that burn a known amount
 * of CPU and touch a known amount of memory, with and without a cgroup, in
 * and out of the learner's process group; and learners that do not run.
 * This binary is also the learner: main() dispatches `_burn` (and `_shim`). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "exec/exec.h"
#include "exec/usage.h"
#include "util/fs.h"
#include "util/mem.h"
#include "util/sbuf.h"
#include "util/timeutil.h"
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MIB (1024.0 * 1024.0)

struct fx {
	char root[64];
	char *ctl, *work, *log;
	char cgname[64];
};

static char *test_env[] = { "PATH=/usr/local/bin:/usr/bin:/bin", NULL };
static char self_exe[PATH_MAX];

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

/* Waits until GO exists (at most two minutes); async-signal-safe calls only. */
static void wait_go(const char *go)
{
	for (int i = 0; access(go, F_OK) < 0 && i < 12000; i++)
		sleep_ms(10);
}

/* The learner: `_burn MIB SECONDS READY GO` touches MIB MiB, burns SECONDS of
 * CPU, writes "PID CPU_SECONDS" to READY, then waits until GO exists ("-":
 * exits at once). */
static int burn_main(char **argv)
{
	size_t n = (size_t)atol(argv[2]) << 20;
	double secs = atof(argv[3]);
	volatile char *mem = n ? malloc(n) : NULL;
	if (n && !mem)
		return 2;
	for (size_t i = 0; i < n; i += 512)
		mem[i] = (char)(i >> 9 | 1);
	struct timespec ts;
	double used;
	do {
		clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
		used = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
	} while (used < secs);
	char line[64];
	int len = snprintf(line, sizeof line, "%ld %.3f\n", (long)getpid(), used);
	if (fs_write_file_atomic(argv[4], line, (size_t)len, 0644, NULL) < 0)
		return 3;
	if (strcmp(argv[5], "-"))
		wait_go(argv[5]);
	free((void *)mem);
	return 0;
}

static void *fork_thread(void *arg)
{
	char **argv = arg;
	pid_t c = fork();
	if (c == 0) {
		wait_go(argv[3]);
		_exit(0);
	}
	char line[32];
	int len = snprintf(line, sizeof line, "%ld 0\n", (long)c);
	fs_write_file_atomic(argv[2], line, (size_t)len, 0644, NULL);
	wait_go(argv[3]); /* the thread lives on: its child stays its own, not the main thread's */
	waitpid(c, NULL, 0);
	return NULL;
}

/* The learner `_threadfork READY GO`: a second thread forks a child, writes
 * the child's pid to READY, and both wait for GO. */
static int threadfork_main(char **argv)
{
	pthread_t t;
	if (pthread_create(&t, NULL, fork_thread, argv))
		return 2;
	pthread_join(t, NULL);
	return 0;
}

static int setup(void **state)
{
	struct fx *f = xcalloc(1, sizeof *f);
	snprintf(f->root, sizeof f->root, "/tmp/weft-usage-XXXXXX");
	if (!mkdtemp(f->root))
		return -1;
	f->ctl = fs_join(f->root, "ctl");
	f->work = fs_join(f->root, "work");
	f->log = fs_join(f->root, "out.log");
	mkdir(f->ctl, 0755);
	mkdir(f->work, 0755);
	static int seq;
	snprintf(f->cgname, sizeof f->cgname, "weft-test-usage-%ld-%d", (long)getpid(), ++seq);
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
	/* a sanitizer report of the shim lands in ctl/shim.log, of a learner in out.log */
	int bad = 0;
	const char *logs[] = { "ctl/shim.log", "out.log" };
	for (int i = 0; i < 2; i++) {
		char *p = fs_join(f->root, logs[i]), *text = slurp(p);
		if (strstr(text, "Sanitizer") || strstr(text, "runtime error")) {
			print_message("# %s:\n%s", p, text);
			bad = 1;
		}
		free(p);
		free(text);
	}
	exec_usage_set_proc_scan(0);
	fs_rm_rf(f->root, NULL);
	free(f->ctl);
	free(f->work);
	free(f->log);
	free(f);
	return bad ? -1 : 0;
}

static void spawn_ok(struct fx *f, const char *cmd, const char *cg, uint64_t mem)
{
	struct exec_spec s = { f->ctl, f->work, cmd, test_env, f->log, cg, 0, mem, 1 };
	struct weft_err e;
	if (exec_spawn(&s, &e))
		fail_msg("exec_spawn(%s): %s", cmd, e.msg);
}

static void wait_state(const char *dir, enum exec_state want)
{
	struct exec_status st = { 0 };
	for (int i = 0; i < 1000; i++) {
		if (exec_poll(dir, &st, NULL) == 0 && st.state == want)
			return;
		sleep_ms(10);
	}
	fail_msg("learner in %s not in state %d within 10 s (state %d)", dir, want, st.state);
}

/* Waits for a burner's READY file in work; returns its pid, adds its CPU seconds to *cpu. */
static long wait_ready(struct fx *f, const char *name, double *cpu)
{
	char *p = fs_join(f->work, name);
	for (int i = 0; i < 3000 && !fs_exists(p); i++)
		sleep_ms(10);
	char *s = slurp(p);
	long pid = 0;
	double used = 0;
	if (sscanf(s, "%ld %lf", &pid, &used) != 2) {
		char *log = slurp(f->log);
		fail_msg("%s: \"%s\" after 30 s; learner log:\n%s", p, s, log);
	}
	free(p);
	free(s);
	*cpu += used;
	return pid;
}

static void go(struct fx *f)
{
	char *p = fs_join(f->work, "go");
	assert_int_equal(fs_write_file_atomic(p, "", 0, 0644, NULL), 0);
	free(p);
}

/* VmRSS of pid from /proc/PID/status (not the stat file usage.c reads), in bytes. */
static double vmrss(long pid)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%ld/status", pid);
	char *s = slurp(path), *p = strstr(s, "\nVmRSS:");
	double kb = p ? strtod(p + 7, NULL) : -1;
	free(s);
	return kb * 1024;
}

static struct exec_usage usage_ok(const char *dir)
{
	struct exec_usage u;
	struct weft_err e;
	if (exec_learner_usage(dir, &u, &e))
		fail_msg("exec_learner_usage(%s): %s", dir, e.msg);
	return u;
}

static void print_usage(const char *what, const struct exec_usage *u)
{
	print_message("# %s: cpu %.3f s, memory %.1f MiB, %d processes, from_cgroup %d\n", what, u->cpu_seconds,
		      (double)u->memory_bytes / MIB, u->nprocs, u->from_cgroup);
}

/* Without a cgroup: a burner that already ended (its time is bash's cutime),
 * one in the process group and one that left it with setsid, all counted. */
static void test_processes(void **state)
{
	struct fx *f = *state;
	char *cmd = xasprintf("'%s' _burn 0 0.4 first.ready -; '%s' _burn 64 0.8 a.ready go &"
			      " setsid '%s' _burn 32 0.2 b.ready go & wait",
			      self_exe, self_exe, self_exe);
	spawn_ok(f, cmd, NULL, 0);
	free(cmd);
	double reported = 0;
	wait_ready(f, "first.ready", &reported);
	long a = wait_ready(f, "a.ready", &reported), b = wait_ready(f, "b.ready", &reported);
	struct exec_status st;
	assert_int_equal(exec_poll(f->ctl, &st, NULL), 0);
	assert_int_equal(st.state, EXEC_RUNNING);
	sleep_ms(50); /* the first burner is reaped by bash by now: its time is in cutime */

	struct exec_usage u = usage_ok(f->ctl);
	print_usage("process walk", &u);
	print_message("# the burners report %.3f s of CPU\n", reported);
	assert_int_equal(u.from_cgroup, 0);
	assert_int_equal(u.nprocs, 3); /* bash, a, b (not the shim, not the ended burner) */
	assert_true(u.cpu_seconds >= 1.3);
	assert_true(u.cpu_seconds >= reported - 0.1);
	assert_true(u.cpu_seconds <= reported + 1.0);
	double want = vmrss(st.pgid) + vmrss(a) + vmrss(b);
	print_message("# VmRSS of bash, a, b: %.1f MiB\n", want / MIB);
	assert_true(u.memory_bytes >= 96 * MIB);
	assert_true(fabs((double)u.memory_bytes - want) < 4 * MIB);

	/* the fallback for kernels without children files finds the same */
	exec_usage_set_proc_scan(1);
	struct exec_usage s = usage_ok(f->ctl);
	exec_usage_set_proc_scan(0);
	print_usage("/proc scan", &s);
	assert_int_equal(s.nprocs, u.nprocs);
	assert_true(fabs(s.cpu_seconds - u.cpu_seconds) < 0.1);
	assert_true(fabs((double)s.memory_bytes - (double)u.memory_bytes) < 4 * MIB);

	/* cheap enough to call for every learner on every scrape */
	int64_t t0 = now_ms();
	for (int i = 0; i < 200; i++)
		usage_ok(f->ctl);
	int64_t ms = now_ms() - t0;
	print_message("# 200 calls: %lld ms\n", (long long)ms);
	assert_true(ms < 200 * 5);

	go(f);
	wait_state(f->ctl, EXEC_EXITED);
	struct weft_err e;
	assert_int_equal(exec_learner_usage(f->ctl, &u, &e), WEFT_ENOTFOUND);
	assert_non_null(strstr(e.msg, "not running (exited)"));
	assert_non_null(strstr(e.msg, f->ctl));
}

/* A child forked by a second thread is listed in that thread's children
 * file, not the main thread's: it is found all the same. */
static void test_child_of_thread(void **state)
{
	struct fx *f = *state;
	char *cmd = xasprintf("exec '%s' _threadfork child.ready go", self_exe);
	spawn_ok(f, cmd, NULL, 0);
	free(cmd);
	double unused = 0;
	long child = wait_ready(f, "child.ready", &unused);
	assert_true(child > 1);
	struct exec_usage u = usage_ok(f->ctl);
	print_usage("thread's child", &u);
	assert_int_equal(u.nprocs, 2);
	exec_usage_set_proc_scan(1);
	u = usage_ok(f->ctl);
	exec_usage_set_proc_scan(0);
	assert_int_equal(u.nprocs, 2);
	go(f);
	wait_state(f->ctl, EXEC_EXITED);
}

static int cgroups_on(char *why, size_t size)
{
	return cgroup_probe(why, size);
}

static void test_cgroup(void **state)
{
	struct fx *f = *state;
	char why[1024];
	if (!cgroups_on(why, sizeof why)) {
		print_message("# skipped: no usable cgroups here: %s\n", why);
		skip();
	}
	char *cmd = xasprintf("exec '%s' _burn 64 1.0 a.ready go", self_exe);
	spawn_ok(f, cmd, f->cgname, 1ull << 30);
	free(cmd);
	double reported = 0;
	wait_ready(f, "a.ready", &reported);
	struct exec_usage u = usage_ok(f->ctl);
	print_usage(cgroup_kind(), &u);
	assert_true(u.from_cgroup & EXEC_USAGE_CGROUP_MEMORY);
	assert_int_equal(u.nprocs, 1);
	assert_true(u.memory_bytes >= 64 * MIB);
	assert_true(u.memory_bytes <= 64 * MIB + 256 * MIB);
	int64_t raw = cgroup_memory_usage(f->cgname); /* includes the page cache */
	assert_true(raw > 0 && (uint64_t)raw + 4 * MIB >= u.memory_bytes);
	assert_true(u.cpu_seconds >= reported - 0.1);
	assert_true(u.cpu_seconds <= reported + 1.0);
	if (!(u.from_cgroup & EXEC_USAGE_CGROUP_CPU))
		print_message("# no cpuacct counter for the learner's cgroup here: cpu summed over processes\n");
	go(f);
	wait_state(f->ctl, EXEC_EXITED);
	struct weft_err e;
	assert_int_equal(exec_learner_usage(f->ctl, &u, &e), WEFT_ENOTFOUND);
}

static void replace_file(const char *dir, const char *name, const char *text)
{
	char *p = fs_join(dir, name);
	assert_int_equal(fs_write_file_atomic(p, text, strlen(text), 0644, NULL), 0);
	free(p);
}

/* Never started, lost, bad control files, a pid file that names someone else's group. */
static void test_not_running(void **state)
{
	struct fx *f = *state;
	struct exec_usage u;
	struct weft_err e;
	assert_int_equal(exec_learner_usage(f->ctl, &u, &e), WEFT_ENOTFOUND);
	assert_non_null(strstr(e.msg, "never started"));
	assert_int_equal(exec_learner_usage("/nonexistent/weft-usage", &u, &e), WEFT_ENOTFOUND);

	spawn_ok(f, "sleep 30 & wait", NULL, 0);
	for (int i = 0; i < 500 && (u = usage_ok(f->ctl)).nprocs < 2; i++)
		sleep_ms(10); /* until bash has forked */
	assert_int_equal(u.nprocs, 2); /* bash and sleep */

	char *pidp = fs_join(f->ctl, "pid"), *saved = slurp(pidp);
	replace_file(f->ctl, "pid", "shim_pid=1\npgid=oops\n");
	assert_int_equal(exec_learner_usage(f->ctl, &u, &e), WEFT_EIO);
	assert_non_null(strstr(e.msg, "oops"));
	/* a pgid whose leader is not the shim's child (a stale or reused id) */
	long long shim = strtoll(strstr(saved, "shim_pid=") + 9, NULL, 10);
	long long pgid = strtoll(strstr(saved, "pgid=") + 5, NULL, 10);
	char *text = xasprintf("shim_pid=%lld\npgid=%ld\nattempt=1\nstarted_ms=1\ncgroup=\ncgroup_kind=none\n", shim,
			       (long)getpid());
	replace_file(f->ctl, "pid", text);
	free(text);
	assert_int_equal(exec_learner_usage(f->ctl, &u, &e), WEFT_ENOTFOUND);
	assert_non_null(strstr(e.msg, "has ended"));
	replace_file(f->ctl, "pid", saved);
	u = usage_ok(f->ctl);
	assert_int_equal(u.nprocs, 2);

	/* lost: shim and command killed without an exit file */
	assert_int_equal(kill((pid_t)shim, SIGKILL), 0);
	assert_int_equal(kill((pid_t)-pgid, SIGKILL), 0);
	wait_state(f->ctl, EXEC_LOST);
	assert_int_equal(exec_learner_usage(f->ctl, &u, &e), WEFT_ENOTFOUND);
	assert_non_null(strstr(e.msg, "(lost)"));
	free(pidp);
	free(saved);

	/* an exit file that cannot be read is an error, not "not running" */
	replace_file(f->ctl, "exit", "attempt=1\nexit_code=zero\n");
	assert_int_equal(exec_learner_usage(f->ctl, &u, &e), WEFT_EIO);
	assert_non_null(strstr(e.msg, "zero"));
	assert_int_equal(u.nprocs, 0);
	assert_true(u.cpu_seconds == 0 && u.memory_bytes == 0);
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "_shim"))
		return exec_shim_main(argc - 1, argv + 1);
	if (argc == 6 && !strcmp(argv[1], "_burn"))
		return burn_main(argv);
	if (argc == 4 && !strcmp(argv[1], "_threadfork"))
		return threadfork_main(argv);
	ssize_t n = readlink("/proc/self/exe", self_exe, sizeof self_exe - 1);
	if (n <= 0)
		return 1;
	self_exe[n] = '\0';
	if (strchr(self_exe, '\''))
		return 1; /* it is quoted in the learners' commands */
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_processes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_child_of_thread, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cgroup, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_running, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

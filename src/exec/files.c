/* files.c - the two small files a shim leaves in a learner's control dir:
 * DIR/pid (the shim is running the command) and DIR/exit (the command ended).
 * Both are "key=value" lines written atomically; a restarted server reads them
 * to adopt learners, so unknown keys are ignored and bad values are reported
 * with the file, line and value. The format is described in docs/recovery-exec.md. */
#include "exec/exec_int.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/sbuf.h"
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PGID_START_SLACK_MS 10000 /* /proc start times drift with wall-clock adjustments */

/* Start time of pid in ms since the epoch from /proc, or -1 if it does not exist. */
static int64_t proc_start_ms(pid_t pid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	char *p = strrchr(buf, ')');
	unsigned long long start = 0;
	/* after "pid (comm)": state is field 3, starttime field 22 */
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu",
			 &start) != 1)
		return -1;
	long long btime = -1;
	f = fopen("/proc/stat", "r");
	char line[256];
	while (f && fgets(line, sizeof line, f))
		if (sscanf(line, "btime %lld", &btime) == 1)
			break;
	if (f)
		fclose(f);
	long hz = sysconf(_SC_CLK_TCK);
	if (btime < 0 || hz <= 0)
		return -1;
	return (int64_t)btime * 1000 + (int64_t)(start * 1000ULL / (unsigned long long)hz);
}

int exec_pgid_ours(const struct pid_file *p)
{
	if (p->pgid <= 1)
		return 0;
	int64_t start = proc_start_ms(p->pgid);
	if (start < 0)
		return 1; /* leader gone: the kernel does not reuse a pid while its group lives */
	int64_t d = start - p->started_ms;
	return d > -PGID_START_SLACK_MS && d < PGID_START_SLACK_MS;
}

void exec_kill_stale(const struct pid_file *p)
{
	if (exec_pgid_ours(p) && kill(-p->pgid, SIGKILL) == 0)
		log_warn("exec: sent SIGKILL to process group %ld left by a lost shim (attempt %d)", (long)p->pgid,
			 p->attempt);
	if (p->cgroup[0] && p->cgroup_kind != CG_NONE)
		cg_kill_all(p->cgroup_kind, p->cgroup, SIGKILL);
}

char *pid_file_format(const struct pid_file *p)
{
	return xasprintf("shim_pid=%ld\npgid=%ld\nattempt=%d\nstarted_ms=%lld\ncgroup=%s\ncgroup_kind=%s\n",
			 (long)p->shim_pid, (long)p->pgid, p->attempt, (long long)p->started_ms, p->cgroup,
			 cg_kind_name(p->cgroup_kind));
}

char *exit_file_format(const struct exit_file *x)
{
	char msg[sizeof x->message];
	snprintf(msg, sizeof msg, "%s", x->message);
	for (char *c = msg; *c; c++)
		if (*c == '\n' || *c == '\r')
			*c = ' ';
	return xasprintf("attempt=%d\nexit_code=%d\nsignal=%d\noom=%d\nstarted_ms=%lld\nended_ms=%lld\nmessage=%s\n",
			 x->attempt, x->exit_code, x->signal, x->oom, (long long)x->started_ms,
			 (long long)x->ended_ms, msg);
}

/* One parsed "key=value" line handed to a file-specific setter. */
typedef int (*kv_fn)(void *obj, const char *key, const char *val);

static int parse_ll(const char *val, long long min, long long max, long long *out)
{
	char *end;
	errno = 0;
	long long v = strtoll(val, &end, 10);
	if (errno || end == val || *end || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

/* Reads dir/name and feeds each line to fn; required keys must all be seen. */
static int kv_read(const char *dir, const char *name, void *obj, kv_fn fn, const char *const *required,
		   struct weft_err *e)
{
	char *path = fs_join(dir, name);
	struct sbuf sb = SBUF_INIT;
	int rc = fs_read_file(path, &sb, e);
	if (rc) {
		if (errno == ENOENT)
			rc = err_set(e, WEFT_ENOTFOUND, "%s does not exist", path);
		goto out;
	}
	unsigned seen = 0;
	int lineno = 0;
	for (char *line = sb.buf; line && *line;) {
		char *nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		lineno++;
		char *eq = strchr(line, '=');
		if (!eq) {
			rc = err_set(e, WEFT_EIO, "%s line %d: expected key=value, got \"%.80s\"", path, lineno, line);
			goto out;
		}
		*eq = '\0';
		if (fn(obj, line, eq + 1) < 0) {
			rc = err_set(e, WEFT_EIO, "%s line %d: bad value \"%.80s\" for %s", path, lineno, eq + 1, line);
			goto out;
		}
		for (unsigned i = 0; required[i]; i++)
			if (!strcmp(required[i], line))
				seen |= 1u << i;
		line = nl ? nl + 1 : NULL;
	}
	for (unsigned i = 0; required[i]; i++)
		if (!(seen & (1u << i))) {
			rc = err_set(e, WEFT_EIO, "%s: missing %s (file truncated or not written by weft)", path,
				     required[i]);
			goto out;
		}
out:
	sb_release(&sb);
	free(path);
	return rc;
}

static int pid_kv(void *obj, const char *key, const char *val)
{
	struct pid_file *p = obj;
	long long v;
	if (!strcmp(key, "shim_pid") || !strcmp(key, "pgid")) {
		if (parse_ll(val, 0, INT_MAX, &v) < 0)
			return -1;
		*(!strcmp(key, "pgid") ? &p->pgid : &p->shim_pid) = (pid_t)v;
	} else if (!strcmp(key, "attempt")) {
		if (parse_ll(val, 0, INT_MAX, &v) < 0)
			return -1;
		p->attempt = (int)v;
	} else if (!strcmp(key, "started_ms")) {
		if (parse_ll(val, 0, LLONG_MAX, &v) < 0)
			return -1;
		p->started_ms = v;
	} else if (!strcmp(key, "cgroup")) {
		if (strlen(val) >= sizeof p->cgroup || (*val && !cg_valid_name(val)))
			return -1;
		snprintf(p->cgroup, sizeof p->cgroup, "%s", val);
	} else if (!strcmp(key, "cgroup_kind")) {
		int k = cg_kind_parse(val);
		if (k < 0)
			return -1;
		p->cgroup_kind = (enum cg_kind)k;
	}
	return 0;
}

int pid_file_read(const char *dir, struct pid_file *p, struct weft_err *e)
{
	static const char *const req[] = { "shim_pid", "pgid", "attempt", "started_ms", NULL };
	memset(p, 0, sizeof *p);
	return kv_read(dir, "pid", p, pid_kv, req, e);
}

static int exit_kv(void *obj, const char *key, const char *val)
{
	struct exit_file *x = obj;
	long long v;
	int *ip = !strcmp(key, "attempt")     ? &x->attempt
		  : !strcmp(key, "exit_code") ? &x->exit_code
		  : !strcmp(key, "signal")    ? &x->signal
		  : !strcmp(key, "oom")       ? &x->oom
					      : NULL;
	if (ip) {
		if (parse_ll(val, !strcmp(key, "exit_code") ? INT_MIN : 0, INT_MAX, &v) < 0)
			return -1;
		*ip = (int)v;
	} else if (!strcmp(key, "started_ms") || !strcmp(key, "ended_ms")) {
		if (parse_ll(val, 0, LLONG_MAX, &v) < 0)
			return -1;
		*(!strcmp(key, "ended_ms") ? &x->ended_ms : &x->started_ms) = v;
	} else if (!strcmp(key, "message")) {
		snprintf(x->message, sizeof x->message, "%s", val);
	}
	return 0;
}

int exit_file_read(const char *dir, struct exit_file *x, struct weft_err *e)
{
	static const char *const req[] = { "attempt", "exit_code", "signal", "oom", "ended_ms", NULL };
	memset(x, 0, sizeof *x);
	return kv_read(dir, "exit", x, exit_kv, req, e);
}

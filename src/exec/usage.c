/* usage.c - CPU and memory of one running learner, for GET /metrics. It is
 * called for every running learner on each scrape, so it reads only that
 * learner's own /proc entries, found by walking down from its shim (a child
 * subreaper, so the ancestor of everything the command started, even of
 * processes that left its process group), and, with cgroups, two or three
 * small cgroup files whose counters also include processes already gone.
 *
 * Without a cgroup, cpu is the sum over the live processes of utime+stime and
 * cutime+cstime (their children already waited for) plus the shim's
 * cutime+cstime (orphans it reaped); memory is the sum of their RSS, which
 * counts pages shared between processes (forked data loader workers) more
 * than once. With a memory cgroup, memory is its usage less its inactive file
 * pages: the "working set" that cAdvisor and `kubectl top` report, so a
 * learner reading a large data set is not charged for the page cache the
 * kernel can drop at once. */
#include "exec/usage.h"
#include "exec/exec.h"
#include "exec/exec_int.h"
#include "util/mem.h"
#include "util/sbuf.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The same directories as cgroup.c creates (CG2_BASE, CG1_MEM_BASE, CG1_CPU_BASE). */
#define CG2_DIR "/sys/fs/cgroup/weft"
#define CG1_MEM_DIR "/sys/fs/cgroup/memory/weft"
#define CG1_CPU_DIR "/sys/fs/cgroup/cpu/weft"        /* has cpuacct.* where mounted as cpu,cpuacct */
#define CG1_CPUACCT_DIR "/sys/fs/cgroup/cpuacct/weft" /* a separate cpuacct hierarchy */
#define MAX_PROCS 65536                               /* a fork bomb is measured in part, not forever */

static atomic_int force_scan; /* exec_usage_set_proc_scan; read by every call */

void exec_usage_set_proc_scan(int on)
{
	atomic_store(&force_scan, on != 0);
}

/* The fields of /proc/PID/stat used here. */
struct pstat {
	pid_t pid, ppid, pgrp;
	char state;
	long nthreads;
	unsigned long long utime, stime, cutime, cstime; /* clock ticks */
	long long rss;                                   /* pages */
};

/* Reads path into buf (NUL-terminated); returns the length, or -1 with errno. */
static ssize_t read_into(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	size_t len = 0;
	while (len < size - 1) {
		ssize_t r = read(fd, buf + len, size - 1 - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int saved = errno;
			close(fd);
			errno = saved;
			return -1;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	close(fd);
	buf[len] = '\0';
	return (ssize_t)len;
}

/* Reads a whole file of unknown size into sb (replacing its contents); 0 or -1 with errno. */
static int read_sb(const char *path, struct sbuf *sb)
{
	sb_reset(sb);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	for (;;) {
		sb_grow(sb, 4096);
		ssize_t r = read(fd, sb->buf + sb->len, sb->cap - sb->len - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		sb->len += (size_t)r;
	}
	sb->buf[sb->len] = '\0';
	close(fd);
	return 0;
}

/* 0 and ps filled, or -1 if the process is gone (or its stat makes no sense). */
static int read_pstat(pid_t pid, struct pstat *ps)
{
	char path[48], buf[2048];
	snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
	if (read_into(path, buf, sizeof buf) <= 0)
		return -1;
	char *p = strrchr(buf, ')'); /* the command name may hold spaces and parentheses */
	if (!p || p[1] != ' ' || !p[2])
		return -1;
	memset(ps, 0, sizeof *ps);
	ps->pid = pid;
	ps->state = p[2];
	p += 3;
	/* fields 4 (ppid) to 24 (rss); 1 is pid, 2 comm, 3 state */
	long long v[25] = { 0 };
	int field = 3;
	while (field < 24) {
		char *end;
		long long x = strtoll(p, &end, 10);
		if (end == p)
			return -1;
		v[++field] = x;
		p = end;
	}
	ps->ppid = (pid_t)v[4];
	ps->pgrp = (pid_t)v[5];
	ps->utime = (unsigned long long)v[14];
	ps->stime = (unsigned long long)v[15];
	ps->cutime = (unsigned long long)v[16];
	ps->cstime = (unsigned long long)v[17];
	ps->nthreads = (long)v[20];
	ps->rss = v[24] > 0 ? v[24] : 0;
	return 0;
}

static int gone(char state)
{
	return state == 'Z' || state == 'X' || state == 'x';
}

/* The processes still to visit, each with the parent it was listed under. */
struct pidq {
	struct { pid_t pid, parent; } *v;
	size_t n, cap;
};

static void push(struct pidq *q, pid_t pid, pid_t parent)
{
	if (pid <= 1 || q->n >= MAX_PROCS)
		return;
	if (q->n == q->cap) {
		q->cap = q->cap ? q->cap * 2 : 64;
		q->v = xrealloc(q->v, q->cap * sizeof *q->v);
	}
	q->v[q->n].pid = pid;
	q->v[q->n++].parent = parent;
}

/* Appends the pids in /proc/PID/task/TID/children to q; -1 with errno if unreadable. */
static int thread_children(pid_t pid, long tid, struct pidq *q, struct sbuf *sb)
{
	char path[80];
	snprintf(path, sizeof path, "/proc/%ld/task/%ld/children", (long)pid, tid);
	if (read_sb(path, sb) < 0)
		return -1;
	char *p = sb->buf, *end;
	for (long c; (c = strtol(p, &end, 10)), end != p; p = end)
		push(q, (pid_t)c, pid);
	return 0;
}

/* Appends the children of every thread of ps to q; -1 with errno if the
 * children files cannot be read (no CONFIG_PROC_CHILDREN, or the process is gone). */
static int proc_children(const struct pstat *ps, struct pidq *q, struct sbuf *sb)
{
	if (ps->nthreads <= 1)
		return thread_children(ps->pid, ps->pid, q, sb);
	char path[48];
	snprintf(path, sizeof path, "/proc/%ld/task", (long)ps->pid);
	DIR *d = opendir(path);
	if (!d)
		return -1;
	int rc = -1;
	struct dirent *de;
	while ((de = readdir(d)))
		if (de->d_name[0] >= '1' && de->d_name[0] <= '9' &&
		    thread_children(ps->pid, strtol(de->d_name, NULL, 10), q, sb) == 0)
			rc = 0;
	closedir(d);
	return rc;
}

/* Every process of the machine, for kernels without children files. */
struct ptable {
	struct pstat *v;
	size_t n, cap;
};

static void scan_proc(struct ptable *t)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	while (d && (de = readdir(d)) && t->n < 4 * (size_t)MAX_PROCS) {
		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		if (t->n == t->cap) {
			t->cap = t->cap ? t->cap * 2 : 256;
			t->v = xrealloc(t->v, t->cap * sizeof *t->v);
		}
		if (read_pstat((pid_t)strtol(de->d_name, NULL, 10), &t->v[t->n]) == 0)
			t->n++;
	}
	if (d)
		closedir(d);
}

/* Visits the learner's processes below shim: their CPU ticks (with the
 * shim's reaped children), RSS pages and number. */
static void walk(const struct pstat *shim, unsigned long long *ticks, long long *pages, int *nprocs)
{
	struct pidq q = { NULL, 0, 0 };
	struct sbuf sb = SBUF_INIT;
	struct ptable t = { NULL, 0, 0 };
	int scan = atomic_load(&force_scan) || proc_children(shim, &q, &sb) < 0;
	if (scan) {
		q.n = 0;
		scan_proc(&t);
		for (size_t i = 0; i < t.n; i++)
			if (t.v[i].ppid == shim->pid)
				push(&q, t.v[i].pid, shim->pid);
	}
	*ticks = shim->cutime + shim->cstime; /* orphans the shim has reaped; not its own time */
	*pages = 0;
	*nprocs = 0;
	for (size_t head = 0; head < q.n; head++) {
		struct pstat ps;
		pid_t pid = q.v[head].pid;
		if (scan) {
			size_t i = 0;
			while (i < t.n && t.v[i].pid != pid)
				i++;
			if (i == t.n)
				continue;
			ps = t.v[i];
		} else if (read_pstat(pid, &ps) < 0 || ps.ppid != q.v[head].parent) {
			continue; /* ended meanwhile (its time is its parent's cutime by now), or a reused pid */
		}
		*ticks += ps.utime + ps.stime + ps.cutime + ps.cstime;
		if (gone(ps.state))
			continue; /* a zombie: its time counts until reaped, it has no memory nor children */
		*pages += ps.rss;
		++*nprocs;
		if (!scan) {
			proc_children(&ps, &q, &sb);
		} else {
			for (size_t i = 0; i < t.n; i++)
				if (t.v[i].ppid == ps.pid)
					push(&q, t.v[i].pid, ps.pid);
		}
	}
	free(q.v);
	free(t.v);
	sb_release(&sb);
}

/* The number in a one-number control file; -1 if unreadable. */
static long long ctl_number(const char *dir, const char *name, const char *file)
{
	char path[512], buf[64];
	snprintf(path, sizeof path, "%s/%s/%s", dir, name, file);
	if (read_into(path, buf, sizeof buf) <= 0 || buf[0] < '0' || buf[0] > '9')
		return -1;
	return strtoll(buf, NULL, 10);
}

/* Value of "key N" in a flat-keyed control file (memory.stat, cpu.stat); -1 if absent. */
static long long ctl_keyed(const char *dir, const char *name, const char *file, const char *key)
{
	char path[512], buf[8192];
	snprintf(path, sizeof path, "%s/%s/%s", dir, name, file);
	if (read_into(path, buf, sizeof buf) <= 0)
		return -1;
	size_t n = strlen(key);
	for (char *line = buf; line && *line;) {
		if (!strncmp(line, key, n) && line[n] == ' ')
			return strtoll(line + n + 1, NULL, 10);
		line = strchr(line, '\n');
		line = line ? line + 1 : NULL;
	}
	return -1;
}

/* Fills in what the learner's cgroup counts itself; leaves the rest of u alone. */
static void from_cgroup(const struct pid_file *p, struct exec_usage *u)
{
	long long cpu_ns = -1, mem = -1, inactive = -1;
	if (p->cgroup_kind == CG_V2) {
		long long usec = ctl_keyed(CG2_DIR, p->cgroup, "cpu.stat", "usage_usec");
		cpu_ns = usec >= 0 ? usec * 1000 : -1;
		mem = ctl_number(CG2_DIR, p->cgroup, "memory.current");
		if (mem >= 0)
			inactive = ctl_keyed(CG2_DIR, p->cgroup, "memory.stat", "inactive_file");
	} else if (p->cgroup_kind == CG_V1) {
		cpu_ns = ctl_number(CG1_CPU_DIR, p->cgroup, "cpuacct.usage");
		if (cpu_ns < 0)
			cpu_ns = ctl_number(CG1_CPUACCT_DIR, p->cgroup, "cpuacct.usage");
		mem = ctl_number(CG1_MEM_DIR, p->cgroup, "memory.usage_in_bytes");
		if (mem >= 0) {
			inactive = ctl_keyed(CG1_MEM_DIR, p->cgroup, "memory.stat", "total_inactive_file");
			if (inactive < 0)
				inactive = ctl_keyed(CG1_MEM_DIR, p->cgroup, "memory.stat", "inactive_file");
		}
	}
	if (cpu_ns >= 0) {
		u->cpu_seconds = (double)cpu_ns / 1e9;
		u->from_cgroup |= EXEC_USAGE_CGROUP_CPU;
	}
	if (mem >= 0) {
		if (inactive > 0) /* the counters are sampled apart: never below zero */
			mem = inactive < mem ? mem - inactive : 0;
		u->memory_bytes = (uint64_t)mem;
		u->from_cgroup |= EXEC_USAGE_CGROUP_MEMORY;
	}
}

static const char *state_name(enum exec_state s)
{
	return s == EXEC_NOT_STARTED ? "never started" : s == EXEC_EXITED ? "exited" : s == EXEC_LOST ? "lost" : "running";
}

int exec_learner_usage(const char *dir, struct exec_usage *u, struct weft_err *e)
{
	memset(u, 0, sizeof *u);
	struct exec_status st;
	int rc = exec_poll(dir, &st, e);
	if (rc)
		return rc;
	if (st.state != EXEC_RUNNING)
		return err_set(e, WEFT_ENOTFOUND, "learner in %s is not running (%s)", dir, state_name(st.state));
	struct pid_file p;
	rc = pid_file_read(dir, &p, e);
	if (rc == WEFT_ENOTFOUND)
		return err_set(e, WEFT_ENOTFOUND, "learner in %s is not running yet (its shim is starting)", dir);
	if (rc)
		return rc;
	/* The command's first process still runs under this shim: then the pid
	 * file is this attempt's and every pid below the shim is the learner's. */
	struct pstat lead, shim;
	if (read_pstat(p.pgid, &lead) < 0 || gone(lead.state) || lead.ppid != p.shim_pid || lead.pgrp != p.pgid)
		return err_set(e, WEFT_ENOTFOUND, "learner in %s is not running (its process group %ld has ended)", dir,
			       (long)p.pgid);
	if (read_pstat(p.shim_pid, &shim) < 0 || gone(shim.state))
		return err_set(e, WEFT_ENOTFOUND, "learner in %s is not running (its shim %ld has ended)", dir,
			       (long)p.shim_pid);
	unsigned long long ticks;
	long long pages;
	walk(&shim, &ticks, &pages, &u->nprocs);
	long hz = sysconf(_SC_CLK_TCK), psize = sysconf(_SC_PAGESIZE);
	u->cpu_seconds = (double)ticks / (double)(hz > 0 ? hz : 100);
	u->memory_bytes = (uint64_t)pages * (uint64_t)(psize > 0 ? psize : 4096);
	if (p.cgroup[0] && p.cgroup_kind != CG_NONE)
		from_cgroup(&p, u);
	return 0;
}

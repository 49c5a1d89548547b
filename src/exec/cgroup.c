/* cgroup.c - cpu and memory limits for learners through Linux cgroups, v2
 * (/sys/fs/cgroup/weft/NAME) or v1 (/sys/fs/cgroup/{memory,cpu}/weft/NAME),
 * whichever the machine offers. The server probes once at startup; the shim
 * creates a learner's cgroup, puts the command in it, reads whether the
 * kernel OOM-killed something, and removes the cgroup when the command ends. */
#include "exec/exec.h"
#include "exec/exec_int.h"
#include "util/fs.h"
#include "util/mem.h"
#include "util/sbuf.h"
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#define CG_ROOT "/sys/fs/cgroup"
#define CG2_BASE CG_ROOT "/weft"
#define CG1_MEM_BASE CG_ROOT "/memory/weft"
#define CG1_CPU_BASE CG_ROOT "/cpu/weft"
#define CGROUP_SUPER_MAGIC_ 0x27e0eb
#define CGROUP2_SUPER_MAGIC_ 0x63677270
#define CPU_PERIOD_US 100000

static pthread_mutex_t probe_lock = PTHREAD_MUTEX_INITIALIZER;
static int probed;                  /* guarded by probe_lock */
static enum cg_kind probed_kind;    /* guarded by probe_lock */

const char *cg_kind_name(enum cg_kind k)
{
	return k == CG_V2 ? "v2" : k == CG_V1 ? "v1" : "none";
}

int cg_kind_parse(const char *s)
{
	if (!strcmp(s, "v2"))
		return CG_V2;
	if (!strcmp(s, "v1"))
		return CG_V1;
	if (!strcmp(s, "none") || !*s)
		return CG_NONE;
	return -1;
}

int cg_valid_name(const char *name)
{
	size_t n = name ? strlen(name) : 0;
	if (n == 0 || n > 200 || !strcmp(name, ".") || !strcmp(name, ".."))
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return 0;
	}
	return 1;
}

/* Writes s to an existing control file; 0 or -1 with errno. */
static int write_ctl(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	size_t n = strlen(s);
	ssize_t w = write(fd, s, n);
	int saved = errno;
	close(fd);
	if (w != (ssize_t)n) {
		errno = w < 0 ? saved : EIO;
		return -1;
	}
	return 0;
}

static int read_small(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	size_t len = 0;
	for (;;) {
		ssize_t r = read(fd, buf + len, size - 1 - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		len += (size_t)r;
		if (len == size - 1)
			break;
	}
	close(fd);
	buf[len] = '\0';
	return 0;
}

/* 1 if the whitespace-separated list in text has word. */
static int has_word(const char *text, const char *word)
{
	size_t n = strlen(word);
	for (const char *p = text; (p = strstr(p, word)); p += n)
		if ((p == text || p[-1] == ' ' || p[-1] == '\n') && (p[n] == ' ' || p[n] == '\n' || !p[n]))
			return 1;
	return 0;
}

/* Value of "key N" in a flat-keyed control file (memory.events, memory.oom_control); -1 if absent. */
static long long keyed_value(const char *path, const char *key)
{
	char buf[4096];
	if (read_small(path, buf, sizeof buf) < 0)
		return -1;
	size_t n = strlen(key);
	for (char *line = buf; line && *line;) {
		char *nl = strchr(line, '\n');
		if (!strncmp(line, key, n) && line[n] == ' ')
			return strtoll(line + n + 1, NULL, 10);
		line = nl ? nl + 1 : NULL;
	}
	return -1;
}

static int fs_magic(const char *path, long magic)
{
	struct statfs sf;
	return statfs(path, &sf) == 0 && (long)sf.f_type == magic;
}

static int probe_v2(char *why, size_t size)
{
	char buf[1024];
	if (!fs_magic(CG_ROOT, CGROUP2_SUPER_MAGIC_)) {
		snprintf(why, size, "v2: %s is not a cgroup2 mount", CG_ROOT);
		return 0;
	}
	if (read_small(CG_ROOT "/cgroup.controllers", buf, sizeof buf) < 0 || !has_word(buf, "memory") ||
	    !has_word(buf, "cpu")) {
		snprintf(why, size, "v2: the memory and cpu controllers are not available in %s/cgroup.controllers", CG_ROOT);
		return 0;
	}
	if (read_small(CG_ROOT "/cgroup.subtree_control", buf, sizeof buf) < 0)
		buf[0] = '\0';
	if ((!has_word(buf, "memory") || !has_word(buf, "cpu")) &&
	    write_ctl(CG_ROOT "/cgroup.subtree_control", "+memory +cpu") < 0) {
		snprintf(why, size, "v2: cannot enable +memory +cpu in %s/cgroup.subtree_control: %s%s", CG_ROOT,
			 strerror(errno), geteuid() != 0 ? " (not root)" : "");
		return 0;
	}
	if (mkdir(CG2_BASE, 0755) < 0 && errno != EEXIST) {
		snprintf(why, size, "v2: cannot create %s: %s%s", CG2_BASE, strerror(errno),
			 geteuid() != 0 ? " (not root)" : "");
		return 0;
	}
	if (write_ctl(CG2_BASE "/cgroup.subtree_control", "+memory +cpu") < 0) {
		snprintf(why, size, "v2: cannot enable +memory +cpu in %s/cgroup.subtree_control: %s", CG2_BASE,
			 strerror(errno));
		return 0;
	}
	snprintf(why, size, "cgroup v2 at %s: learner cpus and memory limits are enforced", CG2_BASE);
	return 1;
}

static int probe_v1_one(const char *mount, const char *file, const char *base, char *why, size_t size)
{
	char *ctl = fs_join(mount, file);
	int ok = fs_magic(mount, CGROUP_SUPER_MAGIC_) && access(ctl, F_OK) == 0;
	free(ctl);
	if (!ok) {
		snprintf(why, size, "v1: no cgroup hierarchy with %s mounted at %s", file, mount);
		return 0;
	}
	if (mkdir(base, 0755) < 0 && errno != EEXIST) {
		snprintf(why, size, "v1: cannot create %s: %s%s", base, strerror(errno),
			 geteuid() != 0 ? " (not root)" : "");
		return 0;
	}
	if (access(base, W_OK) < 0) {
		snprintf(why, size, "v1: cannot write in %s: %s", base, strerror(errno));
		return 0;
	}
	return 1;
}

int cgroup_probe(char *why, size_t size)
{
	char r2[512], r1[512];
	enum cg_kind k = CG_NONE;
	const char *env = getenv("WEFT_CGROUPS");
	if (env && !strcmp(env, "off")) {
		snprintf(why, size, "cgroups disabled by WEFT_CGROUPS=off: learner cpus and memory limits are not enforced");
	} else if (probe_v2(r2, sizeof r2)) {
		k = CG_V2;
		snprintf(why, size, "%s", r2);
	} else if (probe_v1_one(CG_ROOT "/memory", "memory.limit_in_bytes", CG1_MEM_BASE, r1, sizeof r1) &&
		   probe_v1_one(CG_ROOT "/cpu", "cpu.cfs_quota_us", CG1_CPU_BASE, r1, sizeof r1)) {
		k = CG_V1;
		snprintf(why, size, "cgroup v1 at %s and %s: learner cpus and memory limits are enforced",
			 CG1_MEM_BASE, CG1_CPU_BASE);
	} else {
		snprintf(why, size, "no usable cgroups, learner cpus and memory limits are not enforced (%s; %s)", r2, r1);
	}
	pthread_mutex_lock(&probe_lock);
	probed = 1;
	probed_kind = k;
	pthread_mutex_unlock(&probe_lock);
	return k != CG_NONE;
}

enum cg_kind cg_probed_kind(void)
{
	pthread_mutex_lock(&probe_lock);
	int done = probed;
	enum cg_kind k = probed_kind;
	pthread_mutex_unlock(&probe_lock);
	if (!done) {
		char why[1024];
		cgroup_probe(why, sizeof why);
		return cg_probed_kind();
	}
	return k;
}

const char *cgroup_kind(void)
{
	pthread_mutex_lock(&probe_lock);
	enum cg_kind k = probed ? probed_kind : CG_NONE;
	pthread_mutex_unlock(&probe_lock);
	return cg_kind_name(k);
}

/* The directories of a learner's cgroup: one for v2, memory and cpu for v1. */
static int cg_dirs(enum cg_kind k, const char *name, char *dirs[2])
{
	dirs[0] = dirs[1] = NULL;
	if (!cg_valid_name(name))
		return 0;
	if (k == CG_V2) {
		dirs[0] = xasprintf("%s/%s", CG2_BASE, name);
		return 1;
	}
	if (k == CG_V1) {
		dirs[0] = xasprintf("%s/%s", CG1_MEM_BASE, name);
		dirs[1] = xasprintf("%s/%s", CG1_CPU_BASE, name);
		return 2;
	}
	return 0;
}

static void free_dirs(char *dirs[2])
{
	free(dirs[0]);
	free(dirs[1]);
}

static int set_ctl(const char *dir, const char *file, const char *value, struct weft_err *e)
{
	char *path = fs_join(dir, file);
	int rc = 0;
	if (write_ctl(path, value) < 0)
		rc = err_sys(e, "cannot write \"%s\" to %s", value, path);
	free(path);
	return rc;
}

static int ctl_exists(const char *dir, const char *file)
{
	char *path = fs_join(dir, file);
	int ok = access(path, F_OK) == 0;
	free(path);
	return ok;
}

int cg_create(enum cg_kind k, const char *name, double cpus, uint64_t memory, struct weft_err *e)
{
	char *dirs[2];
	int n = cg_dirs(k, name, dirs);
	if (n == 0)
		return err_set(e, WEFT_EINVAL, "cannot create cgroup \"%s\" (kind %s): bad name or no cgroups",
			       name ? name : "", cg_kind_name(k));
	cg_destroy(k, name); /* a stale one from a crashed shim */
	int rc = 0;
	for (int i = 0; i < n && rc == 0; i++)
		if (mkdir(dirs[i], 0755) < 0 && errno != EEXIST)
			rc = err_sys(e, "cannot create cgroup %s", dirs[i]);
	char mem[32], quota[32];
	snprintf(mem, sizeof mem, "%llu", (unsigned long long)memory);
	long long q = (long long)llround(cpus * CPU_PERIOD_US);
	if (q < 1000)
		q = 1000; /* the kernel's minimum quota is 1 ms */
	snprintf(quota, sizeof quota, "%lld", q);
	if (rc == 0 && k == CG_V2) {
		if (memory > 0)
			rc = set_ctl(dirs[0], "memory.max", mem, e);
		if (rc == 0 && memory > 0 && ctl_exists(dirs[0], "memory.swap.max"))
			rc = set_ctl(dirs[0], "memory.swap.max", "0", e);
		if (rc == 0 && ctl_exists(dirs[0], "memory.oom.group"))
			set_ctl(dirs[0], "memory.oom.group", "1", NULL); /* best effort: kill the whole learner */
		if (rc == 0 && cpus > 0) {
			char v[64];
			snprintf(v, sizeof v, "%s %d", quota, CPU_PERIOD_US);
			rc = set_ctl(dirs[0], "cpu.max", v, e);
		}
	} else if (rc == 0 && k == CG_V1) {
		if (memory > 0) {
			rc = set_ctl(dirs[0], "memory.limit_in_bytes", mem, e);
			if (rc == 0 && ctl_exists(dirs[0], "memory.memsw.limit_in_bytes"))
				rc = set_ctl(dirs[0], "memory.memsw.limit_in_bytes", mem, e);
			else if (rc == 0)
				set_ctl(dirs[0], "memory.swappiness", "0", NULL); /* best effort without swap accounting */
		}
		if (rc == 0 && cpus > 0) {
			char p[32];
			snprintf(p, sizeof p, "%d", CPU_PERIOD_US);
			rc = set_ctl(dirs[1], "cpu.cfs_period_us", p, e);
			if (rc == 0)
				rc = set_ctl(dirs[1], "cpu.cfs_quota_us", quota, e);
		}
	}
	if (rc)
		cg_destroy(k, name);
	free_dirs(dirs);
	return rc;
}

int cg_attach_self(enum cg_kind k, const char *name, char *errbuf, size_t size)
{
	char *dirs[2];
	int n = cg_dirs(k, name, dirs);
	char pid[32];
	snprintf(pid, sizeof pid, "%ld", (long)getpid());
	int rc = 0;
	for (int i = 0; i < n && rc == 0; i++) {
		char *procs = fs_join(dirs[i], "cgroup.procs");
		if (write_ctl(procs, pid) < 0) {
			snprintf(errbuf, size, "cannot move the command into cgroup %s: %s", procs, strerror(errno));
			rc = -1;
		}
		free(procs);
	}
	free_dirs(dirs);
	return rc;
}

int cg_oom(enum cg_kind k, const char *name, int killed_by_sigkill)
{
	char *dirs[2];
	int n = cg_dirs(k, name, dirs);
	int oom = 0;
	if (n > 0) {
		char *f = fs_join(dirs[0], k == CG_V2 ? "memory.events" : "memory.oom_control");
		long long kills = keyed_value(f, "oom_kill");
		free(f);
		if (kills > 0) {
			oom = 1;
		} else if (kills < 0 && k == CG_V1 && killed_by_sigkill) {
			/* kernels before 4.13 have no oom_kill counter: a SIGKILL after hitting the limit */
			char buf[64];
			f = fs_join(dirs[0], "memory.failcnt");
			if (read_small(f, buf, sizeof buf) == 0 && strtoll(buf, NULL, 10) > 0)
				oom = 1;
			free(f);
		}
	}
	free_dirs(dirs);
	return oom;
}

/* 1 if pid is a live (not zombie) task whose /proc/PID/cgroup names
 * /weft/NAME. cgroup.procs can list a task for a while after it was reaped
 * (the kernel unlinks it lazily), and its pid may be reused by then: never
 * signal a pid on the strength of that list alone. */
static int task_in_cgroup(long pid, const char *name)
{
	char path[64], buf[4096];
	snprintf(path, sizeof path, "/proc/%ld/stat", pid);
	if (read_small(path, buf, sizeof buf) < 0)
		return 0;
	char *rp = strrchr(buf, ')');
	if (!rp || rp[1] != ' ' || rp[2] == 'Z' || rp[2] == 'X')
		return 0;
	snprintf(path, sizeof path, "/proc/%ld/cgroup", pid);
	if (read_small(path, buf, sizeof buf) < 0)
		return 0;
	char want[256];
	int wl = snprintf(want, sizeof want, ":/weft/%s", name);
	for (char *line = buf; line && *line;) {
		char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) : strlen(line);
		if (len >= (size_t)wl && !strncmp(line + len - (size_t)wl, want, (size_t)wl))
			return 1;
		line = nl ? nl + 1 : NULL;
	}
	return 0;
}

/* Sends sig (0: none, just count) to each live task of the cgroup; returns the count. */
static int each_task(enum cg_kind k, const char *name, int sig)
{
	char *dirs[2];
	int n = cg_dirs(k, name, dirs), count = 0;
	long seen[64];
	int nseen = 0;
	for (int i = 0; i < n; i++) {
		char *procs = fs_join(dirs[i], "cgroup.procs");
		struct sbuf sb = SBUF_INIT;
		if (fs_read_file(procs, &sb, NULL) == 0) {
			char *p = sb.buf, *end;
			while (p && *p) {
				long pid = strtol(p, &end, 10);
				if (end == p)
					break;
				p = end;
				int dup = 0; /* v1: the same task is in the memory and the cpu cgroup */
				for (int j = 0; j < nseen && !dup; j++)
					dup = seen[j] == pid;
				if (dup || pid <= 1 || pid == (long)getpid() || !task_in_cgroup(pid, name))
					continue;
				if (nseen < 64)
					seen[nseen++] = pid;
				if (sig)
					kill((pid_t)pid, sig);
				count++;
			}
		}
		sb_release(&sb);
		free(procs);
	}
	free_dirs(dirs);
	return count;
}

int cg_kill_all(enum cg_kind k, const char *name, int sig)
{
	return each_task(k, name, sig);
}

int cg_task_count(enum cg_kind k, const char *name)
{
	return each_task(k, name, 0);
}

void cg_destroy(enum cg_kind k, const char *name)
{
	char *dirs[2];
	int n = cg_dirs(k, name, dirs);
	for (int i = 0; i < n; i++) {
		for (int tries = 0; tries < 200; tries++) {
			if (rmdir(dirs[i]) == 0 || errno == ENOENT)
				break;
			if (errno != EBUSY)
				break;
			each_task(k, name, SIGKILL);
			struct timespec ts = { 0, 10 * 1000 * 1000 };
			nanosleep(&ts, NULL);
		}
	}
	free_dirs(dirs);
}

void cgroup_remove(const char *name)
{
	enum cg_kind k = cg_probed_kind();
	if (k != CG_NONE)
		cg_destroy(k, name);
}

int64_t cgroup_memory_usage(const char *name)
{
	char *dirs[2];
	enum cg_kind k = cg_probed_kind();
	int n = cg_dirs(k, name, dirs);
	int64_t v = -1;
	if (n > 0) {
		char buf[64];
		char *f = fs_join(dirs[0], k == CG_V2 ? "memory.current" : "memory.usage_in_bytes");
		if (read_small(f, buf, sizeof buf) == 0 && buf[0] >= '0' && buf[0] <= '9')
			v = strtoll(buf, NULL, 10);
		free(f);
	}
	free_dirs(dirs);
	return v;
}

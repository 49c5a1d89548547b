/* usage.h - what a running learner uses right now: CPU seconds so far and
 * memory in use, for the learner gauges of GET /metrics (and `show`). A
 * learner is named by its control dir, as everywhere in exec.h; nothing is
 * kept in memory, so a restarted server measures adopted learners the same way.
 * How the numbers are made is in usage.c's header comment. */
#ifndef WEFT_EXEC_USAGE_H
#define WEFT_EXEC_USAGE_H
#include "util/err.h"
#include <stdint.h>

/* Bits of exec_usage.from_cgroup: which figure is the cgroup's own counter. */
#define EXEC_USAGE_CGROUP_CPU 1    /* cpuacct.usage (v1) or cpu.stat usage_usec (v2) */
#define EXEC_USAGE_CGROUP_MEMORY 2 /* usage_in_bytes (v1) or memory.current (v2) less inactive files */

struct exec_usage {
	double cpu_seconds;    /* user+system CPU the learner used since it started (a counter) */
	uint64_t memory_bytes; /* memory in use now (a gauge) */
	int nprocs;            /* live processes of the learner (its shim not counted) */
	int from_cgroup;       /* EXEC_USAGE_CGROUP_* bits; 0: both summed over the processes */
};

/* Measures the learner whose control dir is dir. 0 and *u filled; or
 * WEFT_ENOTFOUND when nothing runs there (never started, starting, exited,
 * lost: the metrics side just leaves that learner out), or WEFT_EIO for
 * control files that cannot be read. Cheap: reads the control dir, one
 * /proc/PID/stat per learner process and a few cgroup files. Thread-safe. */
int exec_learner_usage(const char *dir, struct exec_usage *u, struct weft_err *e);

/* For tests: 1 finds the learner's processes by scanning all of /proc, the
 * way used automatically on kernels without /proc/PID/task/TID/children;
 * 0 (default) walks down from the shim through those files. */
void exec_usage_set_proc_scan(int on);

#endif

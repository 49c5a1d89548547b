/* exec.h - the one process-spawning module: runs learners through a small
 * supervisor ("shim", the same weft binary as `weft _shim`) that outlives the
 * server. The shim holds an exclusive flock on DIR/lock while it lives, runs
 * the command in its own process group (and cgroup when enforced), sends its
 * output to a log file, and writes DIR/exit atomically when the command ends.
 * A restarted server finds everything it needs in DIR: that is how learners
 * are adopted after a `kill -9` of the server. */
#ifndef WEFT_EXEC_H
#define WEFT_EXEC_H
#include "util/err.h"
#include <stdint.h>
#include <sys/types.h>

struct exec_spec {
	const char *dir;        /* learner control dir: lock, pid, exit files live here (exists) */
	const char *cwd;        /* working directory of the command */
	const char *command;    /* run as: bash -c COMMAND */
	char *const *env;       /* full environment for the command, NULL-terminated */
	const char *log_path;   /* stdout+stderr appended here (O_APPEND) */
	const char *cgroup;     /* cgroup name (e.g. "training-abc-learner-1"), NULL = none */
	double cpus;            /* limit when cgroup != NULL; 0 = no limit */
	uint64_t memory;        /* bytes, limit when cgroup != NULL; 0 = no limit */
	int attempt;            /* run number, recorded in the exit file */
};

enum exec_state {
	EXEC_NOT_STARTED, /* no shim ever ran for this attempt (no pid file) */
	EXEC_RUNNING,     /* the shim holds the lock */
	EXEC_EXITED,      /* exit file present */
	EXEC_LOST,        /* started, but the shim is gone without an exit file */
};

struct exec_status {
	enum exec_state state;
	int attempt;            /* from the exit file */
	int exit_code;          /* valid when EXITED and signal == 0 */
	int signal;             /* terminating signal, 0 if exited normally */
	int oom;                /* 1 if the memory cgroup recorded an OOM kill */
	pid_t pgid;             /* the command's process group, 0 if unknown */
	int64_t started_ms, ended_ms;
};

/* Path of the weft binary to exec as the shim (defaults to /proc/self/exe). */
void exec_set_self(const char *path);

/* Starts the shim for spec (double-fork, setsid: the shim is not the
 * caller's child, so it survives a server crash). Returns once the shim holds
 * its lock and has written DIR/pid, so exec_poll then sees RUNNING or EXITED. */
int exec_spawn(const struct exec_spec *spec, struct weft_err *e);

/* Starts the spawner: a small single-threaded child of the caller that forks
 * shims on exec_spawn's behalf. Forking the server itself costs several ms per
 * spawn once it has threads, a database and a heap, and would leave each shim a
 * copy of that memory. Call it early (before threads and large allocations);
 * without it exec_spawn forks directly. The spawner exits when the caller does. */
int exec_spawner_start(struct weft_err *e);

/* Reads the state of the learner in dir. Never blocks. */
int exec_poll(const char *dir, struct exec_status *st, struct weft_err *e);

/* Sends sig to the command's process group (and every task of its cgroup). */
int exec_signal(const char *dir, int sig, struct weft_err *e);

/* Removes pid/exit files so a new attempt can start in dir (resume/restart). */
int exec_reset(const char *dir, struct weft_err *e);

/* The shim's main: argv as built by exec_spawn. Called from main() for `weft _shim`. */
int exec_shim_main(int argc, char **argv);

/* cgroups: probe once at server start. Returns 1 if limits can be enforced,
 * 0 if not, and a sentence for the startup log in why. */
int cgroup_probe(char *why, size_t size);
/* "v2", "v1" or "none" after cgroup_probe. */
const char *cgroup_kind(void);
/* Removes the cgroup of a finished learner (ignores a missing one). */
void cgroup_remove(const char *name);
/* Current usage of a learner's cgroup (for `show`/metrics); -1 if unknown. */
int64_t cgroup_memory_usage(const char *name);

/* Number of NVIDIA GPUs on this machine (device nodes /dev/nvidiaN). */
int gpu_count(void);

#endif

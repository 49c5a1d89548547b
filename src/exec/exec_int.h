/* exec_int.h - internals shared by the exec module's files (exec.c: spawn,
 * poll, signal; shim.c: the supervisor; cgroup.c: limits). The on-disk
 * formats of DIR/pid and DIR/exit are defined here once, because both the
 * shim (writer) and the server (reader, possibly after a restart) use them.
 * Not for use outside src/exec. */
#ifndef WEFT_EXEC_INT_H
#define WEFT_EXEC_INT_H
#include "util/err.h"
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum cg_kind { CG_NONE, CG_V1, CG_V2 };

/* "none", "v1", "v2" and back; cg_kind_parse returns -1 for anything else. */
const char *cg_kind_name(enum cg_kind k);
int cg_kind_parse(const char *s);
/* The kind found by the last cgroup_probe (probing once if never done). */
enum cg_kind cg_probed_kind(void);
/* 1 if name is usable as a cgroup directory name ([A-Za-z0-9._-], 1-200, not . or ..). */
int cg_valid_name(const char *name);
/* Creates the learner's cgroup(s) with the limits (0 = unlimited); a stale
 * cgroup of the same name is emptied and removed first. */
int cg_create(enum cg_kind k, const char *name, double cpus, uint64_t memory, struct weft_err *e);
/* Moves the calling process into the cgroup; errbuf gets the reason on failure. */
int cg_attach_self(enum cg_kind k, const char *name, char *errbuf, size_t size);
/* 1 if the memory cgroup recorded an OOM kill (killed_by_sigkill: the command
 * ended by SIGKILL, used where the kernel has no oom_kill counter). */
int cg_oom(enum cg_kind k, const char *name, int killed_by_sigkill);
/* Signals every task of the cgroup; returns how many were signalled (0 if empty/missing). */
int cg_kill_all(enum cg_kind k, const char *name, int sig);
/* Number of tasks still in the cgroup (0 if missing). */
int cg_task_count(enum cg_kind k, const char *name);
/* Kills what is left, then removes the cgroup directories (waits up to ~2 s). */
void cg_destroy(enum cg_kind k, const char *name);

/* DIR/pid, written by the shim once the command runs. */
struct pid_file {
	pid_t shim_pid;
	pid_t pgid;
	int attempt;
	int64_t started_ms;
	char cgroup[256];  /* "" when none */
	enum cg_kind cgroup_kind;
};

/* DIR/exit, written by the shim when the command has ended. */
struct exit_file {
	int attempt;
	int exit_code;     /* 128+signal when killed by a signal */
	int signal;
	int oom;
	int64_t started_ms, ended_ms;
	char message[512]; /* one line, "" when none */
};

/* A learner whose shim died (LOST) may still run: kills its process group
 * and cgroup tasks with SIGKILL, so a new attempt never runs beside it. */
void exec_kill_stale(const struct pid_file *p);
/* 0 if p->pgid now belongs to someone else: its leader is alive but was
 * started at another time than the learner (the pid was reused). */
int exec_pgid_ours(const struct pid_file *p);

char *pid_file_format(const struct pid_file *p);   /* caller frees */
char *exit_file_format(const struct exit_file *x); /* caller frees */
/* Return 0, WEFT_ENOTFOUND if the file does not exist, or WEFT_EIO naming
 * the file, line and value that is wrong. */
int pid_file_read(const char *dir, struct pid_file *p, struct weft_err *e);
int exit_file_read(const char *dir, struct exit_file *x, struct weft_err *e);

/* Closes every descriptor from lowfd up (close_range, or a loop on old kernels). */
void exec_close_from(int lowfd);
/* The intermediate child of a spawn: setsid, fork the shim (which gets sock as
 * fd 3, runs exec_shim_main or execs argv[0] when explicit_self), _exit. Never returns. */
void exec_detach_shim(int sock, char **argv, const char *shimlog, int explicit_self) __attribute__((noreturn));
/* Asks the spawner (exec_spawner_start) to run exec_detach_shim in a child of
 * its own and waits until that child has exited. 0 on success; -1 when there
 * is no spawner or it failed (the caller then forks itself). */
int spawner_detach(int sock, char **argv, const char *shimlog, int explicit_self);

#endif

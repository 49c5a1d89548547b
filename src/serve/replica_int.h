/* replica_int.h - the non-blocking pieces of replica.c that the supervisor in
 * replica_set.c drives: a start is a launch (fork/exec, returns at once) followed by
 * polls until /health/ping answers, so one thread can watch many starting replicas.
 * Not for use outside src/serve/replica*.c. */
#ifndef WEFT_SERVE_REPLICA_INT_H
#define WEFT_SERVE_REPLICA_INT_H
#include "serve/replica.h"

/* A replica with no process yet (cfg copied). Free with replica_stop. */
struct replica *replica_new(const struct replica_cfg *cfg);
/* Forks the command on a (new, if picked) port; does not wait. */
int replica_launch(struct replica *r, struct weft_err *e);
/* 1 ready, 0 still starting, <0 failed (exited, or timed out and was killed); on
 * failure *port_taken says that a picked port was found taken by another program. */
int replica_poll_start(struct replica *r, int *port_taken, struct weft_err *e);
/* TERM to the group, KILL after 2 s, reap; the struct stays usable for a new launch. */
void replica_kill(struct replica *r);
/* "exited with status N" / "was killed by signal N (...)" for the last run. */
void replica_exit_text(struct replica *r, char *buf, size_t size);
/* The last line of the log, printable, or "(no output)". */
void replica_log_tail(const struct replica *r, char *buf, size_t size);

#endif

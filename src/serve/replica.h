/* replica.h - runs custom model servers and talks to them: any program that serves
 * Seldon's internal microservice API (POST /predict, GET /health/ping) on the port
 * given in its environment. A replica is one such process (own process group, dies
 * with weft) plus a pool of kept-alive HTTP connections; a replica_set keeps N of them
 * running with a supervisor thread (liveness, health, restarts with backoff) and
 * balances requests by least outstanding requests, retrying once elsewhere.
 *
 * Threading rules
 * - struct replica: replica_request/predict/ping/alive/port/pid/name may be called from
 *   any number of threads at once, also while replica_restart runs on another thread
 *   (calls in flight then fail fast with REPLICA_REFUSED or REPLICA_BROKEN). replica_stop
 *   must be the last call: no other thread may use the replica during or after it.
 * - struct replica_set: every function is thread-safe except replica_set_stop, which must
 *   be called once, after every caller of predict/acquire/release/info has returned. The
 *   set's supervisor thread alone starts, restarts and stops its replicas: never call
 *   replica_restart or replica_stop on a replica obtained from a set.
 * - Processes are forked by one long-lived internal thread, so PR_SET_PDEATHSIG (which
 *   fires when the *forking thread* ends) kills replicas only when weft itself exits,
 *   whichever thread called replica_start. Commands should `exec` their server (bash -c
 *   "exec python3 server.py"): a grandchild left behind by a killed weft may outlive it.
 * Locks: replica.lock guards its pid/port/exit status; replica.pool_lock its idle
 * connections; replica_set.lock each slot's state and backoff (counters are atomics). */
#ifndef WEFT_SERVE_REPLICA_H
#define WEFT_SERVE_REPLICA_H
#include "util/err.h"
#include "util/sbuf.h"
#include <jansson.h>
#include <stddef.h>
#include <sys/types.h>

struct replica_cfg {
	const char *name;         /* for logs and messages; also PREDICTIVE_UNIT_ID */
	const char *command;      /* run with /bin/bash -c */
	const char *cwd;          /* NULL: weft's own working directory */
	char **env;               /* NULL-terminated "K=V" added to the base env (may be NULL) */
	const char *log_path;     /* stdout+stderr appended here; NULL: /dev/null */
	int port;                 /* 0: a free port, picked anew at each start */
	int start_timeout_ms;     /* until /health/ping answers 200; 0: 30000 */
	size_t max_answer_bytes;  /* larger answers fail with REPLICA_TOOBIG; 0: 64 MiB */
};
/* The replica's environment: PATH, HOME, USER, LANG, LC_ALL, TZ, TMPDIR, PYENV_ROOT and
 * PYENV_VERSION copied from weft's (when set), PYTHONUNBUFFERED=1 (so the log is
 * current), then cfg->env (a later K replaces an earlier one), then PORT,
 * PREDICTIVE_UNIT_SERVICE_PORT, PREDICTIVE_UNIT_HTTP_SERVICE_PORT (the port weft
 * checks; they override cfg->env) and PREDICTIVE_UNIT_ID (cfg->name). */

struct replica;

/* Why a request got no usable answer. */
enum replica_fail {
	REPLICA_OK = 0,
	REPLICA_REFUSED, /* not running / connection refused: nothing was sent */
	REPLICA_BROKEN,  /* the connection closed or reset before a whole answer */
	REPLICA_TIMEOUT, /* no whole answer within timeout_ms */
	REPLICA_GARBAGE, /* not HTTP, or (replica_predict) a 2xx answer that is not JSON */
	REPLICA_TOOBIG,  /* the answer is over cfg.max_answer_bytes */
};
/* 1 for failures worth retrying on another replica (REFUSED, BROKEN: the replica died
 * or is restarting; a model answering a predict twice is harmless), else 0. */
int replica_fail_retryable(enum replica_fail why);
const char *replica_fail_name(enum replica_fail why);

/* Starts the command and waits until GET /health/ping answers 200. A process that
 * exits first, or the timeout, gives an error naming the log and its last line; an
 * automatically picked port found taken meanwhile is replaced (3 tries). cfg is
 * copied. On success *out is the running replica (free it with replica_stop). */
int replica_start(const struct replica_cfg *cfg, struct replica **out, struct weft_err *e);
/* 1 while the process runs (reaps it when it has exited), else 0. */
int replica_alive(struct replica *r);
/* 0 if GET /health/ping answers 200 within timeout_ms, else -1. */
int replica_ping(struct replica *r, int timeout_ms);
/* One HTTP request (method "GET" or "POST"; body may be NULL for GET) to path on the
 * replica over a kept-alive connection. Returns 0 when an HTTP answer came back:
 * *http_status is its status (any) and answer holds its body (reset first). Otherwise
 * WEFT_EIO (WEFT_ETOOBIG for REPLICA_TOOBIG), *why says what went wrong (why and
 * http_status may be NULL), e->msg names the replica and the problem. A dead replica
 * fails at once (connect timeout is at most 1 s, a refused connect is immediate). */
int replica_request(struct replica *r, const char *method, const char *path, const char *body,
		    size_t len, int timeout_ms, struct sbuf *answer, long *http_status,
		    enum replica_fail *why, struct weft_err *e);
/* POST /predict with a SeldonMessage. Like replica_request, and a 2xx answer must be
 * JSON (else WEFT_EIO, REPLICA_GARBAGE). If json is non-NULL, *json is the parsed
 * answer (the caller decrefs), or NULL when a non-2xx answer was not JSON. */
int replica_predict(struct replica *r, const char *body, size_t len, int timeout_ms,
		    struct sbuf *answer, long *http_status, json_t **json, enum replica_fail *why,
		    struct weft_err *e);
/* Kills the process group and starts again with the same cfg (a new port if cfg.port
 * is 0), waiting for /health/ping like replica_start. */
int replica_restart(struct replica *r, struct weft_err *e);
/* TERM to the group, KILL after 2 s, reap, free. NULL is fine. */
void replica_stop(struct replica *r);

int replica_port(struct replica *r);     /* current port (0 before the first start) */
pid_t replica_pid(struct replica *r);    /* process (group) id; 0 when not running */
const char *replica_name(const struct replica *r);

/* ---- replica_set: N supervised replicas of one cfg ---- */

enum replica_state { REPLICA_STARTING, REPLICA_READY, REPLICA_DEAD };
const char *replica_state_name(enum replica_state s);

struct replica_info {
	enum replica_state state;
	int restarts;       /* starts after the first one */
	int outstanding;    /* requests in flight (acquired, not yet released) */
	int port;
	pid_t pid;
	char last_error[1024]; /* why it last died or failed to start ("" if never) */
};

struct replica_set;

/* Starts n (1..256) replicas of cfg and waits until all answer /health/ping; if one
 * fails to start, stops them all and returns its error. Then a supervisor thread checks
 * every replica's liveness every 200 ms and health every 1 s (3 failed pings in a row
 * = unhealthy) and restarts a dead or unhealthy one after a backoff of 100 ms doubling
 * to 10 s, back to 100 ms once it has been ready for 30 s. */
int replica_set_start(const struct replica_cfg *cfg, int n, struct replica_set **out,
		      struct weft_err *e);
void replica_set_stop(struct replica_set *s); /* stops the supervisor and every replica */
int replica_set_size(const struct replica_set *s);
/* Picks the ready replica with the fewest outstanding requests (ties in turn), skipping
 * index exclude (-1: none), and counts one more outstanding request on it. Returns its
 * index, or -1 if none is ready. Pair every acquire with replica_set_release. */
int replica_set_acquire(struct replica_set *s, int exclude);
void replica_set_release(struct replica_set *s, int idx);
struct replica *replica_set_replica(struct replica_set *s, int idx);
void replica_set_info(struct replica_set *s, int idx, struct replica_info *out);
/* Tells the supervisor to look at replica idx now (e.g. after it refused a request). */
void replica_set_poke(struct replica_set *s, int idx);
/* replica_predict on the least-outstanding ready replica; a REFUSED or BROKEN request is
 * retried once on another ready one. When no replica is ready it waits for one up to
 * timeout_ms. *which (may be NULL) is the index that answered (or last tried, -1 if none). */
int replica_set_predict(struct replica_set *s, const char *body, size_t len, int timeout_ms,
			struct sbuf *answer, long *http_status, json_t **json, int *which,
			struct weft_err *e);

#endif

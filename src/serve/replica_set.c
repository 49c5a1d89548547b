/* replica_set.c - N supervised replicas of one custom model server (see replica.h).
 * One supervisor thread per set watches every replica: liveness every 200 ms,
 * /health/ping every second, restarts with exponential backoff; starts are
 * non-blocking (launch, then polls), so one slow start never delays the others.
 * Request threads pick the ready replica with the fewest requests in flight and retry
 * once on another when a replica died under them. */
#include "serve/replica.h"
#include "serve/replica_int.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/timeutil.h"
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define TICK_MS 200
#define PING_EVERY_MS 1000
#define PING_TIMEOUT_MS 1000
#define PING_FAILS 3
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 10000
#define HEALTHY_RESET_MS 30000
#define MAX_REPLICAS 256

struct slot {
	struct replica *r;          /* for the set's whole life: restarts reuse it */
	atomic_int state;           /* enum replica_state; read lock-free by acquire */
	atomic_int outstanding;
	atomic_int restarts;
	/* the rest: written by the supervisor under set->lock */
	int64_t next_start_ms, ready_since_ms, last_ping_ms;
	int backoff_ms, ping_fails, poked;
	char last_error[1024];
};

struct replica_set {
	char *name;
	int n;
	struct slot *slots;
	atomic_uint turn;        /* where acquire starts looking, so ties go round */
	pthread_mutex_t lock;    /* guards the slots' supervisor fields and stopping */
	pthread_cond_t wake;     /* the supervisor's: stop or poke */
	pthread_cond_t changed;  /* a replica became ready (predict waits on it) */
	int stopping;
	pthread_t thread;
};

const char *replica_state_name(enum replica_state s)
{
	switch (s) {
	case REPLICA_STARTING:
		return "starting";
	case REPLICA_READY:
		return "ready";
	case REPLICA_DEAD:
		return "dead";
	}
	return "?";
}

/* Records a death or failed start and schedules the next start; the set's lock held. */
static void mark_dead(struct slot *sl, const char *why, int64_t now)
{
	atomic_store(&sl->state, REPLICA_DEAD);
	size_t n = strnlen(why, sizeof sl->last_error - 1);
	memcpy(sl->last_error, why, n);
	sl->last_error[n] = '\0';
	sl->next_start_ms = now + sl->backoff_ms;
	log_warn("%s; restarting it in %d ms", why, sl->backoff_ms);
	sl->backoff_ms = sl->backoff_ms * 2 < BACKOFF_MAX_MS ? sl->backoff_ms * 2 : BACKOFF_MAX_MS;
}

static void supervise(struct replica_set *s, struct slot *sl)
{
	struct weft_err e = { 0 };
	int64_t now = now_ms();
	int state = atomic_load(&sl->state);
	if (state == REPLICA_STARTING) {
		int taken, rc = replica_poll_start(sl->r, &taken, &e);
		pthread_mutex_lock(&s->lock);
		if (rc == 1) {
			atomic_store(&sl->state, REPLICA_READY);
			sl->ready_since_ms = sl->last_ping_ms = now_ms();
			sl->ping_fails = 0;
			pthread_cond_broadcast(&s->changed);
			log_info("replica %s is ready on port %d", replica_name(sl->r), replica_port(sl->r));
		} else if (rc < 0) {
			mark_dead(sl, e.msg, now);
		}
		pthread_mutex_unlock(&s->lock);
	} else if (state == REPLICA_READY) {
		char how[128], tail[320], msg[1024];
		if (!replica_alive(sl->r)) {
			replica_exit_text(sl->r, how, sizeof how);
			replica_log_tail(sl->r, tail, sizeof tail);
			snprintf(msg, sizeof msg, "replica %s %s; its log ends: %s", replica_name(sl->r), how, tail);
			pthread_mutex_lock(&s->lock);
			mark_dead(sl, msg, now);
			pthread_mutex_unlock(&s->lock);
			return;
		}
		pthread_mutex_lock(&s->lock);
		int ping = sl->poked || now - sl->last_ping_ms >= PING_EVERY_MS;
		sl->poked = 0;
		if (now - sl->ready_since_ms >= HEALTHY_RESET_MS)
			sl->backoff_ms = BACKOFF_MIN_MS;
		pthread_mutex_unlock(&s->lock);
		if (!ping)
			return;
		int ok = replica_ping(sl->r, PING_TIMEOUT_MS) == 0;
		pthread_mutex_lock(&s->lock);
		sl->last_ping_ms = now_ms();
		sl->ping_fails = ok ? 0 : sl->ping_fails + 1;
		int unhealthy = sl->ping_fails >= PING_FAILS;
		pthread_mutex_unlock(&s->lock);
		if (unhealthy) {
			atomic_store(&sl->state, REPLICA_DEAD); /* no new requests while it is killed */
			replica_kill(sl->r);
			snprintf(msg, sizeof msg, "replica %s did not answer GET /health/ping %d times in a row (stopped it)",
				 replica_name(sl->r), PING_FAILS);
			pthread_mutex_lock(&s->lock);
			mark_dead(sl, msg, now_ms());
			pthread_mutex_unlock(&s->lock);
		}
	} else {
		pthread_mutex_lock(&s->lock);
		int due = now >= sl->next_start_ms;
		pthread_mutex_unlock(&s->lock);
		if (!due)
			return;
		replica_kill(sl->r); /* whatever is left of the last run */
		int rc = replica_launch(sl->r, &e);
		pthread_mutex_lock(&s->lock);
		atomic_fetch_add(&sl->restarts, 1);
		if (rc == 0)
			atomic_store(&sl->state, REPLICA_STARTING);
		else
			mark_dead(sl, e.msg, now_ms());
		pthread_mutex_unlock(&s->lock);
	}
}

static void *supervisor_main(void *arg)
{
	struct replica_set *s = arg;
	pthread_mutex_lock(&s->lock);
	while (!s->stopping) {
		pthread_mutex_unlock(&s->lock);
		for (int i = 0; i < s->n; i++)
			supervise(s, &s->slots[i]);
		pthread_mutex_lock(&s->lock);
		int poked = 0;
		for (int i = 0; i < s->n; i++)
			poked |= s->slots[i].poked;
		if (s->stopping || poked)
			continue;
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += TICK_MS * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&s->wake, &s->lock, &until);
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

static void set_free(struct replica_set *s)
{
	for (int i = 0; i < s->n; i++)
		replica_stop(s->slots[i].r);
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->wake);
	pthread_cond_destroy(&s->changed);
	free(s->slots);
	free(s->name);
	free(s);
}

int replica_set_start(const struct replica_cfg *cfg, int n, struct replica_set **out, struct weft_err *e)
{
	*out = NULL;
	if (n < 1 || n > MAX_REPLICAS)
		return err_set(e, WEFT_EINVAL, "replicas: %d is not 1..%d", n, MAX_REPLICAS);
	struct replica_set *s = xcalloc(1, sizeof *s);
	s->name = xstrdup(cfg->name && *cfg->name ? cfg->name : "replica");
	s->n = n;
	s->slots = xcalloc((size_t)n, sizeof *s->slots);
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->wake, NULL);
	pthread_cond_init(&s->changed, NULL);
	int rc = 0;
	for (int i = 0; i < n; i++) {
		struct replica_cfg c = *cfg;
		char name[256];
		snprintf(name, sizeof name, n > 1 ? "%s-%d" : "%s", s->name, i);
		c.name = name;
		struct slot *sl = &s->slots[i];
		sl->r = replica_new(&c);
		sl->backoff_ms = BACKOFF_MIN_MS;
		atomic_init(&sl->state, REPLICA_STARTING);
		if (rc == 0 && (rc = replica_launch(sl->r, e)) != 0)
			break;
	}
	/* wait for them all: the first failure (after retrying a port taken meanwhile) ends it */
	int tries[MAX_REPLICAS] = { 0 };
	for (int ready = 0, nap = 10; rc == 0 && ready < n;) {
		ready = 0;
		for (int i = 0; i < n && rc == 0; i++) {
			struct slot *sl = &s->slots[i];
			if (atomic_load(&sl->state) == REPLICA_READY) {
				ready++;
				continue;
			}
			int taken, r = replica_poll_start(sl->r, &taken, e);
			if (r == 1) {
				atomic_store(&sl->state, REPLICA_READY);
				sl->ready_since_ms = sl->last_ping_ms = now_ms();
				ready++;
			} else if (r < 0 && taken && ++tries[i] < 3) {
				log_warn("%s; trying another port", e->msg);
				rc = replica_launch(sl->r, e);
			} else if (r < 0) {
				rc = r;
			}
		}
		if (rc == 0 && ready < n) {
			struct timespec ts = { 0, nap * 1000000L };
			nanosleep(&ts, NULL);
			nap = nap < 100 ? nap * 2 : 100;
		}
	}
	if (rc == 0 && (rc = pthread_create(&s->thread, NULL, supervisor_main, s)) != 0) {
		errno = rc;
		rc = err_sys(e, "cannot start the supervisor thread of %s", s->name);
	}
	if (rc) {
		set_free(s);
		return rc;
	}
	char tname[16];
	snprintf(tname, sizeof tname, "weft-sup-%.6s", s->name);
	pthread_setname_np(s->thread, tname);
	*out = s;
	return 0;
}

void replica_set_stop(struct replica_set *s)
{
	if (!s)
		return;
	pthread_mutex_lock(&s->lock);
	s->stopping = 1;
	pthread_cond_broadcast(&s->wake);
	pthread_mutex_unlock(&s->lock);
	pthread_join(s->thread, NULL);
	set_free(s);
}

int replica_set_size(const struct replica_set *s)
{
	return s->n;
}

int replica_set_acquire(struct replica_set *s, int exclude)
{
	int n = s->n, best = -1, best_out = 0;
	unsigned start = atomic_fetch_add(&s->turn, 1);
	for (int k = 0; k < n; k++) {
		int i = (int)((start + (unsigned)k) % (unsigned)n);
		struct slot *sl = &s->slots[i];
		if (i == exclude || atomic_load(&sl->state) != REPLICA_READY)
			continue;
		int out = atomic_load(&sl->outstanding);
		if (best < 0 || out < best_out) {
			best = i;
			best_out = out;
		}
	}
	if (best >= 0)
		atomic_fetch_add(&s->slots[best].outstanding, 1);
	return best;
}

void replica_set_release(struct replica_set *s, int idx)
{
	if (idx >= 0 && idx < s->n)
		atomic_fetch_sub(&s->slots[idx].outstanding, 1);
}

struct replica *replica_set_replica(struct replica_set *s, int idx)
{
	return idx >= 0 && idx < s->n ? s->slots[idx].r : NULL;
}

void replica_set_info(struct replica_set *s, int idx, struct replica_info *out)
{
	memset(out, 0, sizeof *out);
	if (idx < 0 || idx >= s->n)
		return;
	struct slot *sl = &s->slots[idx];
	pthread_mutex_lock(&s->lock);
	out->state = atomic_load(&sl->state);
	out->restarts = atomic_load(&sl->restarts);
	out->outstanding = atomic_load(&sl->outstanding);
	memcpy(out->last_error, sl->last_error, sizeof out->last_error);
	pthread_mutex_unlock(&s->lock);
	out->port = replica_port(sl->r);
	out->pid = replica_pid(sl->r);
}

void replica_set_poke(struct replica_set *s, int idx)
{
	if (idx < 0 || idx >= s->n)
		return;
	pthread_mutex_lock(&s->lock);
	s->slots[idx].poked = 1;
	pthread_cond_broadcast(&s->wake);
	pthread_mutex_unlock(&s->lock);
}

/* Waits until some replica may be ready or deadline; 0 if the deadline passed. */
static int wait_ready(struct replica_set *s, int64_t deadline)
{
	int64_t left = deadline - now_ms();
	if (left <= 0)
		return 0;
	if (left > 50)
		left = 50; /* states change lock-free too: look again soon */
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += left / 1000;
	until.tv_nsec += (left % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&s->lock);
	pthread_cond_timedwait(&s->changed, &s->lock, &until);
	pthread_mutex_unlock(&s->lock);
	return 1;
}

int replica_set_predict(struct replica_set *s, const char *body, size_t len, int timeout_ms,
			struct sbuf *answer, long *http_status, json_t **json, int *which, struct weft_err *e)
{
	int64_t deadline = now_ms() + (timeout_ms > 0 ? timeout_ms : 1);
	int exclude = -1, retried = 0, last = -1, paused = 0;
	if (which)
		*which = -1;
	for (;;) {
		int idx = replica_set_acquire(s, exclude);
		if (idx < 0 && exclude >= 0) {
			/* no other one: the same again, once the supervisor had a look at it */
			if (!paused && (paused = 1) && wait_ready(s, deadline))
				continue;
			idx = replica_set_acquire(s, -1);
		}
		if (idx < 0) {
			if (wait_ready(s, deadline))
				continue;
			struct replica_info info;
			replica_set_info(s, last >= 0 ? last : 0, &info);
			return err_set(e, WEFT_EIO, "no replica of %s is ready%s%s", s->name,
				       *info.last_error ? "; last error: " : "", info.last_error);
		}
		last = idx;
		if (which)
			*which = idx;
		enum replica_fail why;
		int64_t left = deadline - now_ms();
		int rc = replica_predict(s->slots[idx].r, body, len, left > 0 ? (int)left : 1, answer, http_status,
					 json, &why, e);
		replica_set_release(s, idx);
		if (rc == 0 || retried || !replica_fail_retryable(why) || now_ms() >= deadline)
			return rc;
		log_debug("%s; retrying on another replica", e->msg); /* the supervisor warns of the death */
		replica_set_poke(s, idx);
		retried = 1;
		exclude = idx;
	}
}

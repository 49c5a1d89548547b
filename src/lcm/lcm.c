/* lcm.c - lifecycle manager: PENDING -> DOWNLOADING -> PROCESSING -> STORING
 * -> COMPLETED | FAILED | HALTED, halts, resumes, deletes, and recovery.
 * Learners run under exec/'s shim, so they outlive a server crash; a pass
 * adopts running learners, starts learners that never started, and restarts
 * learners whose supervisor vanished. Only halt deadlines live in memory
 * (a restarted server simply sends SIGTERM again). */
#include "lcm/lcm.h"
#include "api/metrics.h"
#include "auth/auth.h"
#include "exec/exec.h"
#include "store/objects.h"
#include "tds/collect.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/timeutil.h"
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_LOST_RESTARTS 3

/* In-memory state of one active job; guarded by being touched only by the lcm thread. */
struct active {
	char id[32];
	int64_t term_sent_ms; /* when SIGTERM went to the learners (halt/failure/delete) */
	int kill_sent;
	int seen;             /* mark for sweeping finished jobs */
	struct active *next;
};
static struct active *actives;

static struct active *active_get(const char *id)
{
	for (struct active *a = actives; a; a = a->next)
		if (!strcmp(a->id, id))
			return a;
	struct active *a = xcalloc(1, sizeof *a);
	snprintf(a->id, sizeof a->id, "%s", id);
	a->next = actives;
	actives = a;
	return a;
}

static void actives_sweep(void)
{
	struct active **pp = &actives;
	while (*pp) {
		struct active *a = *pp;
		if (!a->seen) {
			*pp = a->next;
			free(a);
		} else {
			a->seen = 0;
			pp = &a->next;
		}
	}
}

struct job {
	char *id, *user, *status, *request, *manifest_text;
	char *outcome_status, *outcome_code, *outcome_message; /* recorded when STORING began */
	int attempt, restarts;
	int deleted;
	struct manifest *m;
	struct job_paths jp;
	struct active *act;
};

static char *learner_dir(const struct job *j, int n)
{
	char name[32];
	snprintf(name, sizeof name, "learner-%d", n);
	return fs_join(j->jp.job_dir, name);
}

static void set_status(struct trainer *t, struct job *j, const char *status, const char *code, const char *msg)
{
	struct db_conn *c = db_acquire(t->db);
	struct weft_err e;
	if (trainer_set_status(t, c, j->id, status, code, msg, &e))
		log_error("%s: %s", j->id, e.msg);
	else if (!strcmp(status, ST_COMPLETED))
		metrics_add("trainer_trainings_success_total", 1, NULL);
	else if (!strcmp(status, ST_FAILED))
		metrics_add("trainer_trainings_failed_total", 1, "errorcode", code && *code ? code : "unknown", NULL);
	db_release(t->db, c);
	free(j->status);
	j->status = xstrdup(status);
}

/* Clears a halt request once it is carried out. Only 'halt' is cleared: a resume or
 * delete that arrived meanwhile must survive. */
static void clear_halt(struct trainer *t, const char *id)
{
	struct db_conn *c = db_acquire(t->db);
	sqlite3_stmt *st = db_stmt(c, "UPDATE jobs SET request='' WHERE id=? AND request='halt'");
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		log_error("%s: cannot clear the halt request: %s", id, sqlite3_errmsg(db_handle(c)));
	sqlite3_reset(st);
	db_release(t->db, c);
}

/* Records the outcome decided before STORING (see reconcile's STORING case). */
static void record_outcome(struct trainer *t, const char *id, const char *status, const char *code, const char *msg)
{
	struct db_conn *c = db_acquire(t->db);
	sqlite3_stmt *st = db_stmt(c, "UPDATE jobs SET outcome_status=?, outcome_code=?, outcome_message=? WHERE id=?");
	sqlite3_bind_text(st, 1, status, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, code ? code : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, msg ? msg : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		log_error("%s: cannot record the outcome: %s", id, sqlite3_errmsg(db_handle(c)));
	sqlite3_reset(st);
	db_release(t->db, c);
}

static void set_request(struct trainer *t, const char *id, const char *req, int attempt_delta)
{
	struct db_conn *c = db_acquire(t->db);
	sqlite3_stmt *st = db_stmt(c, "UPDATE jobs SET request=?, attempt=attempt+? WHERE id=?");
	sqlite3_bind_text(st, 1, req, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, attempt_delta);
	sqlite3_bind_text(st, 3, id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		log_error("%s: cannot update request: %s", id, sqlite3_errmsg(db_handle(c)));
	sqlite3_reset(st);
	db_release(t->db, c);
}

/* Collects every learner's new log lines and metric records (all of them
 * when final, after which the job's collector is dropped). */
static void ingest_logs(struct trainer *t, struct job *j, int final)
{
	tds_collect(t, j->id, j->jp.job_dir, j->m->learners, j->m->evaluation_metrics, final);
	if (final)
		tds_collect_forget(j->id);
}

/* Environment of learner n: a few of the server's variables plus FfDL's. */
static char **learner_env(const struct trainer *t, const struct job *j, int n, const char *model_dir,
			  const char *log_dir)
{
	static const char *keep[] = { "PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR", "USER", "LOGNAME", NULL };
	char **env = xcalloc(40, sizeof *env);
	int k = 0;
	for (int i = 0; keep[i]; i++) {
		const char *v = getenv(keep[i]);
		if (v)
			env[k++] = xasprintf("%s=%s", keep[i], v);
	}
	if (!getenv("PATH"))
		env[k++] = xstrdup("PATH=/usr/local/bin:/usr/bin:/bin");
	env[k++] = xasprintf("TRAINING_ID=%s", j->id);
	env[k++] = xasprintf("DLAAS_JOB_ID=%s", j->id);
	env[k++] = xasprintf("LEARNER_ID=%d", n);
	env[k++] = xasprintf("NUM_LEARNERS=%d", j->m->learners);
	env[k++] = xasprintf("LEARNER_NAME_PREFIX=%s", j->id);
	env[k++] = xasprintf("DATA_DIR=%s", j->jp.data_dir);
	env[k++] = xasprintf("RESULT_DIR=%s", j->jp.result_dir);
	env[k++] = xasprintf("MODEL_DIR=%s", model_dir);
	env[k++] = xasprintf("LOG_DIR=%s", log_dir);
	env[k++] = xasprintf("JOB_STATE_DIR=%s", j->jp.job_dir);
	env[k++] = xasprintf("CHECKPOINT_DIR=%s", j->jp.checkpoint_dir);
	env[k++] = xasprintf("GPU_COUNT=%d", j->m->gpus);
	env[k++] = xasprintf("TRAINING_COMMAND=%s", j->m->framework_command);
	env[k++] = xasprintf("PYTHONPATH=%s", model_dir);
	/* weft: where and how a learner posts metric records itself */
	char token[72];
	auth_job_token(t, j->id, token);
	env[k++] = xasprintf("WEFT_JOB_TOKEN=%s", token);
	if (t->api_url[0])
		env[k++] = xasprintf("WEFT_API_URL=%s", t->api_url);
	if (j->m->gpus > 0) {
		struct sbuf dev = SBUF_INIT;
		for (int g = 0; g < j->m->gpus; g++)
			sb_addf(&dev, "%s%d", g ? "," : "", g);
		env[k++] = xasprintf("CUDA_VISIBLE_DEVICES=%s", sb_str(&dev));
		sb_release(&dev);
	}
	env[k] = NULL;
	return env;
}

static void free_env(char **env)
{
	for (char **p = env; *p; p++)
		free(*p);
	free(env);
}

static int spawn_learner(struct trainer *t, struct job *j, int n, struct weft_err *e)
{
	char *dir = learner_dir(j, n);
	char *model_dir = fs_join(dir, "model");
	char *log_dir = fs_join(dir, "logs");
	char *log_path = fs_join(log_dir, "training-log.txt");
	char cg[64];
	snprintf(cg, sizeof cg, "%s-l%d", j->id, n);
	char **env = learner_env(t, j, n, model_dir, log_dir);
	struct exec_spec spec = {
		.dir = dir,
		.cwd = model_dir,
		.command = j->m->framework_command,
		.env = env,
		.log_path = log_path,
		.cgroup = t->limits_enforced ? cg : NULL,
		.cpus = j->m->cpus,
		.memory = j->m->memory,
		.attempt = j->attempt,
	};
	int rc = exec_spawn(&spec, e);
	free_env(env);
	free(dir);
	free(model_dir);
	free(log_dir);
	free(log_path);
	return rc;
}

/* DOWNLOADING: learner directories, model code, data check. Idempotent. */
static int prepare(struct trainer *t, struct job *j, const char **code, struct weft_err *e)
{
	(void)t;
	*code = "S302";
	if (!fs_is_dir(j->jp.data_dir))
		return err_set(e, WEFT_EIO, "training data %s is missing", j->jp.data_dir);
	*code = "S301";
	int rc;
	if ((rc = fs_mkdir_p(j->jp.result_dir, 0755, e)) || (rc = fs_mkdir_p(j->jp.checkpoint_dir, 0755, e)))
		return rc;
	char *zip = fs_join(j->jp.job_dir, "model.zip");
	for (int n = 1; n <= j->m->learners && rc == 0; n++) {
		char *dir = learner_dir(j, n);
		char *model_dir = fs_join(dir, "model"), *log_dir = fs_join(dir, "logs");
		if (!(rc = fs_mkdir_p(log_dir, 0755, e)) && !(rc = fs_rm_rf(model_dir, e)))
			rc = zip_extract(zip, model_dir, e);
		free(dir);
		free(model_dir);
		free(log_dir);
	}
	free(zip);
	return rc;
}

static void describe_exit(const struct exec_status *st, int n, const struct manifest *m, char *buf, size_t size)
{
	if (st->oom) {
		char lim[32];
		manifest_format_size(m->memory, lim, sizeof lim);
		snprintf(buf, size, "learner %d ran out of memory (limit %s) and was killed", n, lim);
	} else if (st->signal) {
		snprintf(buf, size, "learner %d was killed by signal %d (%s)", n, st->signal, strsignal(st->signal));
	} else {
		snprintf(buf, size, "learner %d exited with code %d", n, st->exit_code);
	}
}

static void signal_all(struct job *j, int sig)
{
	for (int n = 1; n <= j->m->learners; n++) {
		char *dir = learner_dir(j, n);
		struct exec_status st;
		struct weft_err e;
		/* a poll error (unreadable control files) still tries: exec_signal
		 * signals a shim that holds its lock */
		if (exec_poll(dir, &st, &e) || st.state == EXEC_RUNNING)
			exec_signal(dir, sig, &e);
		free(dir);
	}
}

/* Escalates SIGTERM -> SIGKILL after the grace period. */
static void stop_learners(struct trainer *t, struct job *j)
{
	int64_t now = now_ms();
	if (!j->act->term_sent_ms) {
		j->act->term_sent_ms = now;
		signal_all(j, SIGTERM);
	} else if (!j->act->kill_sent && now - j->act->term_sent_ms > (int64_t)t->halt_grace_s * 1000) {
		j->act->kill_sent = 1;
		log_info("%s: learners still running %ds after SIGTERM; sending SIGKILL", j->id, t->halt_grace_s);
		signal_all(j, SIGKILL);
	}
}

/* STORING: results, logs and the submitted code into <results bucket>/<id>/. */
/* Copies results, logs and the submitted code into out (created). */
static int copy_results(struct job *j, const char *out, struct weft_err *e)
{
	int rc;
	if ((rc = fs_rm_rf(out, e)) || (rc = fs_mkdir_p(out, 0755, e)) ||
	    (rc = fs_copy_tree(j->jp.result_dir, out, e)))
		return rc;
	for (int n = 1; n <= j->m->learners && rc == 0; n++) {
		char name[64];
		snprintf(name, sizeof name, "learner-%d", n);
		char *dst = fs_join(out, name);
		char *src = learner_dir(j, n), *logs = fs_join(src, "logs");
		if (fs_is_dir(logs))
			rc = fs_copy_tree(logs, dst, e);
		if (rc == 0) {
			char *mark = fs_join(dst, ".log-copy-complete");
			rc = fs_mkdir_p(dst, 0755, e) ?: fs_write_file_atomic(mark, "", 0, 0644, e);
			free(mark);
		}
		free(dst);
		free(src);
		free(logs);
	}
	if (rc)
		return rc;
	char *code_dir = fs_join(out, "_submitted_code");
	char *src = fs_join(j->jp.job_dir, "model.zip"), *dst = fs_join(code_dir, "model.zip");
	rc = fs_mkdir_p(code_dir, 0755, e) ?: fs_copy_file(src, dst, e);
	free(code_dir);
	free(src);
	free(dst);
	return rc;
}

/* STORING: results, logs and the submitted code into <results bucket>/<id>/.
 * They are assembled beside it (".tmp-" names, which bucket listings skip) and
 * swapped in with one rename, so a download never sees a half-stored tree (a
 * resumed job stores again over its earlier results). */
static int store_results(struct trainer *t, struct job *j, struct weft_err *e)
{
	ingest_logs(t, j, 1);
	const char *dst = j->jp.results_dir;
	const char *slash = strrchr(dst, '/');
	int dl = (int)(slash - dst);
	char *stage = xasprintf("%.*s/.tmp-store-%s", dl, dst, j->id);
	int rc = copy_results(j, stage, e);
	if (rc == 0) {
		if (fs_exists(dst)) {
			if (renameat2(AT_FDCWD, stage, AT_FDCWD, dst, RENAME_EXCHANGE) < 0)
				rc = err_sys(e, "cannot swap in the results at %s", dst);
		} else if (rename(stage, dst) < 0) {
			rc = err_sys(e, "cannot move the results to %s", dst);
		}
	}
	fs_rm_rf(stage, NULL); /* the earlier results after a swap, or a failed copy */
	free(stage);
	if (rc)
		return rc;
	struct db_conn *c = db_acquire(t->db);
	sqlite3_stmt *st = db_stmt(c, "UPDATE jobs SET results_path=? WHERE id=?");
	sqlite3_bind_text(st, 1, dst, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, j->id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		rc = db_error(c, e, "recording the results path");
	sqlite3_reset(st);
	db_release(t->db, c);
	return rc;
}

/* The learners' combined outcome once none runs: 0 all succeeded, 1 one failed (msg set). */
struct outcome {
	int running, exited, failed, not_started, lost;
	int64_t failed_ms;
	char msg[512];
};

static void survey(struct trainer *t, struct job *j, struct outcome *o)
{
	memset(o, 0, sizeof *o);
	for (int n = 1; n <= j->m->learners; n++) {
		char *dir = learner_dir(j, n);
		struct exec_status st;
		struct weft_err e;
		if (exec_poll(dir, &st, &e)) {
			log_error("%s: learner %d: %s", j->id, n, e.msg);
			st.state = EXEC_LOST;
		}
		switch (st.state) {
		case EXEC_RUNNING:
			o->running++;
			break;
		case EXEC_EXITED:
			o->exited++;
			/* the learner that failed first is the cause; the others were stopped for it */
			if ((st.exit_code || st.signal) && (!o->failed || st.ended_ms < o->failed_ms)) {
				o->failed = n;
				o->failed_ms = st.ended_ms;
				describe_exit(&st, n, j->m, o->msg, sizeof o->msg);
			}
			break;
		case EXEC_NOT_STARTED:
			o->not_started++;
			break;
		case EXEC_LOST:
			o->lost++;
			break;
		}
		free(dir);
	}
	(void)t;
}

static void finish(struct trainer *t, struct job *j, const char *status, const char *code, const char *msg)
{
	if (strcmp(j->status, ST_STORING)) {
		/* recorded first: a crash before STORING commits just decides again */
		record_outcome(t, j->id, status, code, msg);
		set_status(t, j, ST_STORING, "", "storing results and logs");
	}
	struct weft_err e;
	if (store_results(t, j, &e)) {
		log_error("%s: storing results: %s", j->id, e.msg);
		const char *scode = !strcmp(status, ST_HALTED) ? "S305" : !strcmp(status, ST_FAILED) ? "S304" : "S303";
		char m[1200];
		snprintf(m, sizeof m, "%s%sstoring results failed: %s", msg ? msg : "", msg && *msg ? "; " : "", e.msg);
		set_status(t, j, ST_FAILED, scode, m);
	} else {
		set_status(t, j, status, code, msg);
	}
	for (int n = 1; n <= j->m->learners; n++) {
		char cg[64];
		snprintf(cg, sizeof cg, "%s-l%d", j->id, n);
		if (t->limits_enforced)
			cgroup_remove(cg);
	}
	/* also a halt that arrived while a success was being stored */
	clear_halt(t, j->id);
}

/* A failure of weft's own (a learner cannot be started, or is lost for good):
 * no learner is worth waiting for, so all are killed at once, then the job is
 * stored as FAILED with code. */
static void fail_now(struct trainer *t, struct job *j, const char *code, const char *msg)
{
	signal_all(j, SIGKILL);
	finish(t, j, ST_FAILED, code, msg);
}

static int64_t processing_since(struct trainer *t, const char *id)
{
	struct db_conn *c = db_acquire(t->db);
	sqlite3_stmt *st = db_stmt(c, "SELECT max(time_ms) FROM status_history WHERE job_id=? AND status='PROCESSING'");
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	int64_t ms = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	sqlite3_reset(st);
	db_release(t->db, c);
	return ms;
}

static void count_restart(struct trainer *t, struct job *j)
{
	struct db_conn *c = db_acquire(t->db);
	sqlite3_stmt *s = db_stmt(c, "UPDATE jobs SET restarts=restarts+1 WHERE id=?");
	sqlite3_bind_text(s, 1, j->id, -1, SQLITE_STATIC);
	if (sqlite3_step(s) != SQLITE_DONE)
		log_error("%s: cannot count a restart: %s", j->id, sqlite3_errmsg(db_handle(c)));
	sqlite3_reset(s);
	db_release(t->db, c);
	j->restarts++;
}

/* restart_policy on-failure: every learner starts again (from its checkpoints). */
static void restart_all(struct trainer *t, struct job *j, const char *why)
{
	count_restart(t, j);
	char msg[700];
	snprintf(msg, sizeof msg, "%s; restarting all learners (restart %d of %d)", why, j->restarts,
		 j->m->max_restarts);
	set_status(t, j, ST_PROCESSING, "", msg);
	j->act->term_sent_ms = 0;
	j->act->kill_sent = 0;
	for (int n = 1; n <= j->m->learners; n++) {
		char *dir = learner_dir(j, n);
		struct weft_err e;
		if (exec_reset(dir, &e) || spawn_learner(t, j, n, &e)) {
			free(dir);
			char m[1200];
			snprintf(m, sizeof m, "cannot restart learner %d: %s", n, e.msg);
			fail_now(t, j, "S101", m);
			return;
		}
		free(dir);
	}
}

static void run_processing(struct trainer *t, struct job *j)
{
	ingest_logs(t, j, 0);
	struct outcome o;
	survey(t, j, &o);
	int halting = !strcmp(j->request, "halt");
	if (!halting && (o.not_started || o.lost) && !o.failed) {
		/* learners that never started (crash between PROCESSING and spawn) start now;
		 * learners whose supervisor vanished are restarted from their checkpoints */
		for (int n = 1; n <= j->m->learners; n++) {
			char *dir = learner_dir(j, n);
			struct exec_status st;
			struct weft_err e;
			if (exec_poll(dir, &st, &e)) {
				/* unreadable control files: nothing can tell whether it runs */
				free(dir);
				char m[1200];
				snprintf(m, sizeof m, "learner %d: %s", n, e.msg);
				fail_now(t, j, "S104", m);
				return;
			}
			if (st.state == EXEC_NOT_STARTED || st.state == EXEC_LOST) {
				if (st.state == EXEC_LOST) {
					if (j->restarts >= MAX_LOST_RESTARTS + j->m->max_restarts) {
						free(dir);
						char m[256];
						snprintf(m, sizeof m,
							 "learner %d was lost (its supervisor died) %d times; giving up", n,
							 j->restarts);
						fail_now(t, j, "S104", m);
						return;
					}
					exec_reset(dir, &e);
					count_restart(t, j);
					char m[256];
					snprintf(m, sizeof m,
						 "learner %d was lost (its supervisor died); restarted from its checkpoints "
						 "(restart %d)",
						 n, j->restarts);
					set_status(t, j, ST_PROCESSING, "", m);
				}
				if (spawn_learner(t, j, n, &e)) {
					free(dir);
					char m[1200];
					snprintf(m, sizeof m, "cannot start learner %d: %s", n, e.msg);
					fail_now(t, j, "S101", m);
					return;
				}
			}
			free(dir);
		}
		return;
	}
	char deadline_msg[128] = "";
	if (!halting && j->m->deadline_s > 0) {
		int64_t since = processing_since(t, j->id);
		int64_t at = since ? since + j->m->deadline_s * 1000 : 0;
		/* a learner that failed after the deadline was stopped for it (SIGTERM
		 * usually kills it): that is the deadline's outcome, not a learner failure */
		if (at && now_ms() > at && (!o.failed || o.failed_ms > at))
			snprintf(deadline_msg, sizeof deadline_msg, "deadline of %llds exceeded; learners stopped",
				 (long long)j->m->deadline_s);
	}
	if (halting || o.failed || deadline_msg[0]) {
		if (o.running) {
			stop_learners(t, j);
			return;
		}
		if (halting)
			finish(t, j, ST_HALTED, "", "Halted by user");
		else if (deadline_msg[0])
			finish(t, j, ST_FAILED, "C301", deadline_msg);
		else if (j->m->restart_policy && !strcmp(j->m->restart_policy, "on-failure") &&
			 j->restarts < j->m->max_restarts)
			restart_all(t, j, o.msg);
		else
			finish(t, j, ST_FAILED, "C201", o.msg);
		return;
	}
	if (o.exited == j->m->learners)
		finish(t, j, ST_COMPLETED, "", "training completed");
}

static void start_job(struct trainer *t, struct job *j)
{
	if (!strcmp(j->request, "halt")) {
		clear_halt(t, j->id);
		set_status(t, j, ST_HALTED, "", "Halted by user before it started");
		return;
	}
	if (strcmp(j->status, ST_DOWNLOADING)) {
		set_status(t, j, ST_DOWNLOADING, "", "preparing learners");
		metrics_add("lcm_trainings_total", 1, "framework", j->m->framework_name, NULL);
	}
	const char *code;
	struct weft_err e;
	if (prepare(t, j, &code, &e)) {
		set_status(t, j, ST_FAILED, code, e.msg);
		return;
	}
	char msg[64];
	snprintf(msg, sizeof msg, "%d learner%s running", j->m->learners, j->m->learners > 1 ? "s" : "");
	set_status(t, j, ST_PROCESSING, "", msg);
	run_processing(t, j);
}

static void resume_job(struct trainer *t, struct job *j)
{
	for (int n = 1; n <= j->m->learners; n++) {
		char *dir = learner_dir(j, n);
		struct weft_err e;
		if (fs_is_dir(dir) && exec_reset(dir, &e))
			log_warn("%s: %s", j->id, e.msg);
		free(dir);
	}
	set_request(t, j->id, "", 1);
	j->attempt++;
	/* a halt just before (in this server's life) must not delay the next halt's SIGTERM */
	j->act->term_sent_ms = 0;
	j->act->kill_sent = 0;
	free(j->request);
	j->request = xstrdup("");
	set_status(t, j, ST_PENDING, "", "resumed by user");
	start_job(t, j);
}

static void delete_job(struct trainer *t, struct job *j)
{
	if (j->m) {
		struct outcome o;
		survey(t, j, &o);
		if (o.running) {
			if (!j->act->term_sent_ms)
				log_info("%s: deleting: stopping learners", j->id);
			stop_learners(t, j);
			return;
		}
		for (int n = 1; n <= j->m->learners; n++) {
			char cg[64];
			snprintf(cg, sizeof cg, "%s-l%d", j->id, n);
			if (t->limits_enforced)
				cgroup_remove(cg);
		}
	}
	char *dir = fs_join(t->jobs_root, j->id);
	struct weft_err e;
	if (fs_rm_rf(dir, &e))
		log_error("%s: cannot remove working files: %s", j->id, e.msg);
	free(dir);
	struct db_conn *c = db_acquire(t->db);
	if (db_begin(c) == 0) {
		const char *sqls[] = { "DELETE FROM status_history WHERE job_id=?", "DELETE FROM jobs WHERE id=?" };
		int ok = tds_delete_job(c, j->id) == 0;
		for (size_t i = 0; i < 2; i++) {
			sqlite3_stmt *st = db_stmt(c, sqls[i]);
			sqlite3_bind_text(st, 1, j->id, -1, SQLITE_STATIC);
			ok = ok && sqlite3_step(st) == SQLITE_DONE;
			sqlite3_reset(st);
		}
		if (ok)
			db_commit(c);
		else
			db_rollback(c);
	}
	db_release(t->db, c);
	tds_collect_forget(j->id);
	log_info("%s deleted", j->id);
	trainer_notify_logs(t);
}

static void job_free(struct job *j)
{
	free(j->id);
	free(j->user);
	free(j->status);
	free(j->request);
	free(j->manifest_text);
	free(j->outcome_status);
	free(j->outcome_code);
	free(j->outcome_message);
	manifest_free(j->m);
	job_paths_free(&j->jp);
}

static void reconcile(struct trainer *t, struct job *j)
{
	struct weft_err e;
	if (manifest_parse(j->manifest_text, strlen(j->manifest_text), &j->m, NULL, &e) ||
	    trainer_job_paths(t, j->id, j->m, &j->jp, &e)) {
		/* the manifest was valid at submission; only a newer weft's record could fail here */
		if (j->deleted) {
			manifest_free(j->m);
			j->m = NULL;
			delete_job(t, j);
		} else if (!status_is_terminal(j->status)) {
			set_status(t, j, ST_FAILED, "S300", e.msg);
		}
		return;
	}
	if (j->deleted) {
		delete_job(t, j);
		return;
	}
	const char *s = j->status;
	if (!strcmp(j->request, "resume") && (!strcmp(s, ST_HALTED) || !strcmp(s, ST_FAILED)))
		resume_job(t, j);
	else if (!strcmp(s, ST_PENDING) || !strcmp(s, ST_QUEUED) || !strcmp(s, ST_DOWNLOADING))
		start_job(t, j);
	else if (!strcmp(s, ST_PROCESSING))
		run_processing(t, j);
	else if (!strcmp(s, ST_STORING)) {
		/* crashed while storing: derive the outcome again from the learners */
		struct outcome o;
		survey(t, j, &o);
		if (o.running) {
			set_status(t, j, ST_PROCESSING, "", "learners still running after recovery");
			return;
		}
		if (*j->outcome_status)
			finish(t, j, j->outcome_status, j->outcome_code, j->outcome_message);
		else if (!strcmp(j->request, "halt")) /* recorded by an older weft: derive it again */
			finish(t, j, ST_HALTED, "", "Halted by user");
		else if (o.failed)
			finish(t, j, ST_FAILED, "C201", o.msg);
		else
			finish(t, j, ST_COMPLETED, "", "training completed");
	}
}

void lcm_pass(struct trainer *t)
{
	struct db_conn *c = db_acquire(t->db);
	sqlite3_stmt *st = db_stmt(c, "SELECT id, user_name, status, request, manifest, attempt, restarts, deleted, "
				      "outcome_status, outcome_code, outcome_message FROM jobs "
				      "WHERE status NOT IN ('COMPLETED','FAILED','HALTED') OR request!='' "
				      "OR deleted=1 ORDER BY submitted_ms");
	struct job *jobs = NULL;
	size_t n = 0, cap = 0;
	while (sqlite3_step(st) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			jobs = xrealloc(jobs, cap * sizeof *jobs);
		}
		struct job *j = &jobs[n++];
		memset(j, 0, sizeof *j);
		j->id = xstrdup((const char *)sqlite3_column_text(st, 0));
		j->user = xstrdup((const char *)sqlite3_column_text(st, 1));
		j->status = xstrdup((const char *)sqlite3_column_text(st, 2));
		j->request = xstrdup((const char *)sqlite3_column_text(st, 3));
		j->manifest_text = xstrdup((const char *)sqlite3_column_text(st, 4));
		j->attempt = sqlite3_column_int(st, 5);
		j->restarts = sqlite3_column_int(st, 6);
		j->deleted = sqlite3_column_int(st, 7);
		j->outcome_status = xstrdup((const char *)sqlite3_column_text(st, 8));
		j->outcome_code = xstrdup((const char *)sqlite3_column_text(st, 9));
		j->outcome_message = xstrdup((const char *)sqlite3_column_text(st, 10));
	}
	sqlite3_reset(st);
	db_release(t->db, c);
	for (size_t i = 0; i < n; i++) {
		jobs[i].act = active_get(jobs[i].id);
		jobs[i].act->seen = 1;
		reconcile(t, &jobs[i]);
		job_free(&jobs[i]);
	}
	free(jobs);
	actives_sweep();
}

static void *lcm_main(void *arg)
{
	struct trainer *t = arg;
	while (!t->stopping) {
		lcm_pass(t);
		pthread_mutex_lock(&t->wake_lock);
		if (!t->wake_pending && !t->stopping) {
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += 100 * 1000000L;
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&t->wake_cond, &t->wake_lock, &ts);
		}
		t->wake_pending = 0;
		pthread_mutex_unlock(&t->wake_lock);
	}
	return NULL;
}

int lcm_start(struct trainer *t, struct weft_err *e)
{
	int rc = pthread_create(&t->lcm_thread, NULL, lcm_main, t);
	if (rc)
		return err_set(e, WEFT_EIO, "cannot start the lifecycle manager thread: %s", strerror(rc));
	pthread_setname_np(t->lcm_thread, "weft-lcm");
	t->lcm_running = 1;
	return 0;
}

void lcm_stop(struct trainer *t)
{
	if (!t->lcm_running)
		return;
	t->stopping = 1;
	trainer_wake_lcm(t);
	pthread_join(t->lcm_thread, NULL);
	t->lcm_running = 0;
	while (actives) {
		struct active *a = actives->next;
		free(actives);
		actives = a;
	}
}

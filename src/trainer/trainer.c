/* trainer.c - job records and the FfDL state machine: validates manifests and
 * model zips, stores jobs, renders FfDL's Model JSON, and turns halt/resume/
 * delete requests into state the lifecycle manager acts on. */
#include "trainer/trainer.h"
#include "tds/collect.h"
#include "api/metrics.h"
#include "auth/auth.h"
#include "exec/exec.h"
#include "store/objects.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/timeutil.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int status_is_terminal(const char *s)
{
	return !strcmp(s, ST_COMPLETED) || !strcmp(s, ST_FAILED) || !strcmp(s, ST_HALTED);
}

int trainer_open(const struct trainer_opts *o, struct trainer **out, struct weft_err *e)
{
	struct trainer *t = xcalloc(1, sizeof *t);
	t->home = xstrdup(o->home);
	t->objects_root = fs_join(o->home, "objects");
	t->jobs_root = fs_join(o->home, "jobs");
	t->halt_grace_s = o->halt_grace_s > 0 ? o->halt_grace_s : 10;
	t->started_ms = now_ms();
	pthread_mutex_init(&t->wake_lock, NULL);
	pthread_cond_init(&t->wake_cond, NULL);
	pthread_mutex_init(&t->logs_lock, NULL);
	pthread_cond_init(&t->logs_cond, NULL);
	int rc;
	if ((rc = fs_mkdir_p(t->home, 0700, e)) || (rc = fs_mkdir_p(t->objects_root, 0755, e)) ||
	    (rc = fs_mkdir_p(t->jobs_root, 0700, e)))
		goto fail;
	char *dbpath = fs_join(t->home, "weft.db");
	rc = db_open(dbpath, &t->db, e);
	free(dbpath);
	if (rc)
		goto fail;
	if ((rc = auth_bootstrap(t, e)))
		goto fail;
	if (o->no_cgroups) {
		t->limits_enforced = 0;
		snprintf(t->cgroup_why, sizeof t->cgroup_why, "disabled by --no-cgroups");
	} else {
		t->limits_enforced = cgroup_probe(t->cgroup_why, sizeof t->cgroup_why);
	}
	*out = t;
	return 0;
fail:
	trainer_close(t);
	return rc;
}

void trainer_close(struct trainer *t)
{
	if (!t)
		return;
	db_close(t->db);
	pthread_mutex_destroy(&t->wake_lock);
	pthread_cond_destroy(&t->wake_cond);
	pthread_mutex_destroy(&t->logs_lock);
	pthread_cond_destroy(&t->logs_cond);
	free(t->home);
	free(t->objects_root);
	free(t->jobs_root);
	free(t);
}

void trainer_wake_lcm(struct trainer *t)
{
	pthread_mutex_lock(&t->wake_lock);
	t->wake_pending = 1;
	pthread_cond_signal(&t->wake_cond);
	pthread_mutex_unlock(&t->wake_lock);
}

void trainer_notify_logs(struct trainer *t)
{
	pthread_mutex_lock(&t->logs_lock);
	t->logs_seq++;
	pthread_cond_broadcast(&t->logs_cond);
	pthread_mutex_unlock(&t->logs_lock);
}

uint64_t trainer_wait_logs(struct trainer *t, uint64_t seen, int timeout_ms)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += timeout_ms / 1000;
	ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&t->logs_lock);
	while (t->logs_seq == seen && !t->stopping)
		if (pthread_cond_timedwait(&t->logs_cond, &t->logs_lock, &ts) != 0)
			break;
	uint64_t seq = t->logs_seq;
	pthread_mutex_unlock(&t->logs_lock);
	return seq;
}

/* --- data stores --- */

static int store_root(struct trainer *t, const struct manifest_datastore *ds, char **root, struct weft_err *e)
{
	if (!strcmp(ds->type, "local")) {
		*root = xstrdup(ds->path && *ds->path ? ds->path : t->objects_root);
		return 0;
	}
	if (!strcmp(ds->type, "mount_volume")) {
		if (!ds->path || !*ds->path)
			return err_set(e, WEFT_EINVAL,
				       "data store '%s' (type mount_volume) needs connection.path: the host directory "
				       "that holds its containers",
				       ds->id);
		*root = xstrdup(ds->path);
		return 0;
	}
	return err_set(e, WEFT_EINVAL,
		       "data store '%s' has type %s: S3 object stores are not supported by this weft version yet; "
		       "use type local (buckets in the server's object store, filled with `weft data put`) or "
		       "mount_volume",
		       ds->id, ds->type);
}

int trainer_job_paths(struct trainer *t, const char *id, const struct manifest *m, struct job_paths *jp,
		      struct weft_err *e)
{
	memset(jp, 0, sizeof *jp);
	const struct manifest_datastore *ds = &m->data_stores[0];
	char *root = NULL;
	int rc = store_root(t, ds, &root, e);
	if (rc)
		return rc;
	if ((rc = objects_valid_key(ds->training_data, e))) {
		free(root);
		return err_set(e, WEFT_EINVAL, "data store '%s': training_data.container: %s", ds->id, e->msg);
	}
	const char *results = ds->training_results && *ds->training_results ? ds->training_results : "weft-results";
	if ((rc = objects_valid_key(results, e))) {
		free(root);
		return err_set(e, WEFT_EINVAL, "data store '%s': training_results.container: %s", ds->id, e->msg);
	}
	jp->job_dir = fs_join(t->jobs_root, id);
	jp->data_dir = fs_join(root, ds->training_data);
	char *rb = fs_join(root, results);
	jp->results_dir = fs_join(rb, id);
	free(rb);
	jp->result_dir = fs_join(jp->job_dir, "results");
	jp->checkpoint_dir = fs_join(jp->job_dir, "checkpoints");
	free(root);
	return 0;
}

void job_paths_free(struct job_paths *jp)
{
	free(jp->job_dir);
	free(jp->data_dir);
	free(jp->results_dir);
	free(jp->result_dir);
	free(jp->checkpoint_dir);
	memset(jp, 0, sizeof *jp);
}

/* --- status --- */

/* Appends one status_history row (inside the caller's transaction); 1 if stored. */
static int history_add(struct db_conn *c, const char *id, const char *status, const char *code, const char *message,
		       int64_t now)
{
	sqlite3_stmt *st = db_stmt(c, "INSERT INTO status_history(job_id, status, error_code, message, time_ms) "
				      "VALUES(?,?,?,?,?)");
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, status, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, code ? code : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, message ? message : "", -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, now);
	int ok = sqlite3_step(st) == SQLITE_DONE;
	sqlite3_reset(st);
	return ok;
}

int trainer_set_status(struct trainer *t, struct db_conn *c, const char *id, const char *status, const char *code,
		       const char *message, struct weft_err *e)
{
	int64_t now = now_ms();
	if (db_begin(c))
		return db_error(c, e, "starting a transaction");
	sqlite3_stmt *st = db_stmt(c, "UPDATE jobs SET status=?, error_code=?, status_message=?, "
				      "completed_ms=CASE WHEN ? THEN ? ELSE 0 END WHERE id=?");
	sqlite3_bind_text(st, 1, status, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, code ? code : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, message ? message : "", -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 4, status_is_terminal(status));
	sqlite3_bind_int64(st, 5, now);
	sqlite3_bind_text(st, 6, id, -1, SQLITE_STATIC);
	int ok = sqlite3_step(st) == SQLITE_DONE;
	sqlite3_reset(st);
	if (ok)
		ok = history_add(c, id, status, code, message, now);
	if (!ok) {
		int rc = db_error(c, e, "recording a status change");
		db_rollback(c);
		return rc;
	}
	if (db_commit(c))
		return db_error(c, e, "committing a status change");
	log_info("%s %s%s%s%s%s", id, status, code && *code ? " " : "", code ? code : "",
		 message && *message ? ": " : "", message ? message : "");
	trainer_notify_logs(t);
	return 0;
}

/* --- create --- */

static int insert_job(struct trainer *t, const struct principal *p, const char *id, const struct manifest *m,
		      const char *manifest, size_t len, struct weft_err *e)
{
	json_t *spec = manifest_to_json(m, 0);
	char *spec_text = json_dumps(spec, JSON_COMPACT);
	json_decref(spec);
	int64_t now = now_ms();
	struct db_conn *c = db_acquire(t->db);
	int rc = 0;
	if (db_begin(c)) {
		rc = db_error(c, e, "starting a transaction");
		goto out;
	}
	sqlite3_stmt *st = db_stmt(c, "INSERT INTO jobs(id, user_name, name, description, framework_name, "
				      "framework_version, manifest, spec, status, submitted_ms, limits_enforced, key) "
				      "VALUES(?,?,?,?,?,?,?,?,?,?,?,(SELECT IFNULL(MAX(key), 0) + 1 FROM jobs))");
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, p->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, m->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, m->description ? m->description : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, m->framework_name ? m->framework_name : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, m->framework_version ? m->framework_version : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, manifest, (int)len, SQLITE_STATIC);
	sqlite3_bind_text(st, 8, spec_text, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 9, ST_PENDING, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 10, now);
	sqlite3_bind_int(st, 11, t->limits_enforced);
	int ok = sqlite3_step(st) == SQLITE_DONE;
	sqlite3_reset(st);
	if (ok)
		ok = history_add(c, id, ST_PENDING, "", "submitted", now);
	if (!ok) {
		rc = db_error(c, e, "storing the job");
		db_rollback(c);
	} else if (db_commit(c)) {
		rc = db_error(c, e, "committing the job");
	}
out:
	db_release(t->db, c);
	free(spec_text);
	return rc;
}

int trainer_create_job(struct trainer *t, const struct principal *p, const char *manifest, size_t len,
		       const char *zip_path, char id_out[32], const char **fcode, struct weft_err *e)
{
	struct manifest *m = NULL;
	struct sbuf warnings = SBUF_INIT;
	struct job_paths jp = { 0 };
	*fcode = "C101";
	int rc = manifest_parse(manifest, len, &m, &warnings, e);
	if (rc) {
		char msg[sizeof e->msg];
		snprintf(msg, sizeof msg, "%s", e->msg);
		err_set(e, WEFT_EINVAL, "manifest %s", msg);
		goto out;
	}
	if ((rc = tds_check_spec(m->evaluation_metrics, e))) {
		char msg[sizeof e->msg];
		snprintf(msg, sizeof msg, "%s", e->msg);
		err_set(e, WEFT_EINVAL, "manifest: %s", msg);
		goto out;
	}
	*fcode = "C104";
	int have = gpu_count();
	if (m->gpus > have) {
		rc = err_set(e, WEFT_EINVAL,
			     "manifest: gpus: %d GPU%s per learner requested, but this server has %d (the local "
			     "executor runs learners on this machine only)",
			     m->gpus, m->gpus == 1 ? "" : "s", have);
		goto out;
	}
	*fcode = "C102";
	if (!zip_path) {
		rc = err_set(e, WEFT_EINVAL, "model_definition is missing: send the model code as a zip");
		goto out;
	}
	if ((rc = zip_validate(zip_path, e)))
		goto out;
	*fcode = "C103";
	char id[32];
	memcpy(id, "training-", 9);
	auth_random_string(id + 9, 9);
	if ((rc = trainer_job_paths(t, id, m, &jp, e)))
		goto out;
	if (!fs_is_dir(jp.data_dir)) {
		rc = err_set(e, WEFT_EINVAL,
			     "data store '%s': training_data.container '%s' does not exist (looked for %s); upload "
			     "the data first, e.g. `weft data put %s FILES...`",
			     m->data_stores[0].id, m->data_stores[0].training_data, jp.data_dir,
			     m->data_stores[0].training_data);
		goto out;
	}
	*fcode = "S300";
	if ((rc = fs_mkdir_p(jp.job_dir, 0700, e)))
		goto out;
	char *dst = fs_join(jp.job_dir, "model.zip");
	if (rename(zip_path, dst) < 0 && (errno != EXDEV || fs_copy_file(zip_path, dst, e))) {
		rc = err_sys(e, "cannot store the model definition");
		free(dst);
		goto out;
	}
	free(dst);
	if ((rc = insert_job(t, p, id, m, manifest, len, e))) {
		fs_rm_rf(jp.job_dir, NULL);
		goto out;
	}
	if (warnings.len)
		log_info("%s: manifest warnings: %s", id, warnings.buf);
	memcpy(id_out, id, 19);
	id_out[18] = '\0';
	*fcode = "";
	metrics_add("trainer_trainings_create_total", 1, "framework", m->framework_name, NULL);
	log_info("%s submitted by %s (%s, %d learner%s)", id, p->name, m->name, m->learners, m->learners > 1 ? "s" : "");
	trainer_wake_lcm(t);
out:
	job_paths_free(&jp);
	manifest_free(m);
	sb_release(&warnings);
	return rc;
}

/* --- queries --- */

#define JOB_COLS                                                                                                  \
	"id, user_name, name, description, framework_name, framework_version, spec, status, error_code, "         \
	"status_message, submitted_ms, completed_ms, limits_enforced"

static json_t *ms_string(int64_t ms)
{
	if (ms <= 0)
		return json_string("");
	char buf[32];
	snprintf(buf, sizeof buf, "%lld", (long long)ms);
	return json_string(buf);
}

static const char *col(sqlite3_stmt *st, int i)
{
	const unsigned char *s = sqlite3_column_text(st, i);
	return s ? (const char *)s : "";
}

static void memory_fields(json_t *training, json_int_t bytes)
{
	const json_int_t GiB = 1024LL * 1024 * 1024, MiB = 1024LL * 1024;
	if (bytes > 0 && bytes % GiB == 0) {
		json_object_set_new(training, "memory", json_integer(bytes / GiB));
		json_object_set_new(training, "memory_unit", json_string("GiB"));
	} else if (bytes > 0 && bytes % 1000000000LL == 0) {
		json_object_set_new(training, "memory", json_integer(bytes / 1000000000LL));
		json_object_set_new(training, "memory_unit", json_string("GB"));
	} else if (bytes % MiB == 0) {
		json_object_set_new(training, "memory", json_integer(bytes / MiB));
		json_object_set_new(training, "memory_unit", json_string("MiB"));
	} else {
		json_object_set_new(training, "memory", json_real((double)bytes / 1e6));
		json_object_set_new(training, "memory_unit", json_string("MB"));
	}
	json_object_set_new(training, "memory_bytes", json_integer(bytes));
}

static json_t *strget(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	return json_is_string(v) ? json_string(json_string_value(v)) : json_string("");
}

/* Builds FfDL's Model from one row selected with JOB_COLS. */
static json_t *row_to_model(sqlite3_stmt *st)
{
	const char *id = col(st, 0);
	json_t *spec = json_loads(col(st, 6), 0, NULL);
	if (!spec)
		spec = json_object();
	json_t *m = json_object();
	json_object_set_new(m, "model_id", json_string(id));
	char loc[64];
	snprintf(loc, sizeof loc, "/v1/models/%s", id);
	json_object_set_new(m, "location", json_string(loc));
	json_object_set_new(m, "name", json_string(col(st, 2)));
	json_object_set_new(m, "description", json_string(col(st, 3)));
	json_object_set_new(m, "user_id", json_string(col(st, 1)));
	json_t *fw = json_object();
	json_object_set_new(fw, "name", json_string(col(st, 4)));
	json_object_set_new(fw, "version", json_string(col(st, 5)));
	json_object_set_new(m, "framework", fw);

	json_t *sfw = json_object_get(spec, "framework");
	json_t *tr = json_object();
	json_object_set_new(tr, "command", strget(sfw, "command"));
	json_t *v;
	json_object_set_new(tr, "cpus", (v = json_object_get(spec, "cpus")) ? json_incref(v) : json_real(0));
	json_object_set_new(tr, "gpus", (v = json_object_get(spec, "gpus")) ? json_incref(v) : json_integer(0));
	memory_fields(tr, json_integer_value(json_object_get(spec, "memory_bytes")));
	json_object_set_new(tr, "learners", (v = json_object_get(spec, "learners")) ? json_incref(v) : json_integer(1));
	json_t *in = json_array(), *outd = json_array(), *stores = json_array();
	size_t i;
	json_t *ds;
	json_array_foreach(json_object_get(spec, "data_stores"), i, ds)
	{
		json_t *td = json_object_get(json_object_get(ds, "training_data"), "container");
		json_t *rd = json_object_get(json_object_get(ds, "training_results"), "container");
		if (json_is_string(td))
			json_array_append_new(in, json_string(json_string_value(td)));
		if (json_is_string(rd))
			json_array_append_new(outd, json_string(json_string_value(rd)));
		json_t *o = json_object();
		json_object_set_new(o, "data_store_id", strget(ds, "id"));
		json_object_set_new(o, "type", strget(ds, "type"));
		json_t *conn = json_object(), *sc = json_object_get(ds, "connection");
		const char *keys[] = { "auth_url", "user_name", "region", "path" };
		for (size_t k = 0; k < 4; k++)
			json_object_set_new(conn, keys[k], strget(sc, keys[k]));
		if (json_is_string(td))
			json_object_set_new(conn, "bucket", json_string(json_string_value(td)));
		json_object_set_new(o, "connection", conn);
		json_array_append_new(stores, o);
	}
	json_object_set_new(tr, "input_data", in);
	json_object_set_new(tr, "output_data", outd);
	json_object_set_new(tr, "limits_enforced", json_boolean(sqlite3_column_int(st, 12)));
	json_t *ts = json_object();
	json_object_set_new(ts, "status", json_string(col(st, 7)));
	json_object_set_new(ts, "status_description", json_string(col(st, 7)));
	json_object_set_new(ts, "status_message", json_string(col(st, 9)));
	json_object_set_new(ts, "error_code", json_string(col(st, 8)));
	json_object_set_new(ts, "submitted", ms_string(sqlite3_column_int64(st, 10)));
	json_object_set_new(ts, "completed", ms_string(sqlite3_column_int64(st, 11)));
	json_object_set_new(tr, "training_status", ts);
	json_object_set_new(m, "training", tr);
	json_object_set_new(m, "data_stores", stores);
	json_t *em = json_object_get(spec, "evaluation_metrics");
	if (em)
		json_object_set(m, "evaluation_metrics", em);
	json_decref(spec);
	return m;
}

int trainer_get_job(struct trainer *t, const struct principal *p, const char *id, int with_history, json_t **out,
		    struct weft_err *e)
{
	struct db_conn *c = db_acquire(t->db);
	sqlite3_stmt *st = db_stmt(c, "SELECT " JOB_COLS " FROM jobs WHERE id=? AND user_name=? AND deleted=0");
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, p->name, -1, SQLITE_STATIC);
	int rc = 0;
	json_t *m = NULL;
	if (sqlite3_step(st) == SQLITE_ROW)
		m = row_to_model(st);
	else
		rc = err_set(e, WEFT_ENOTFOUND, "no training job '%s'", id);
	sqlite3_reset(st);
	if (m && with_history) {
		json_t *h = json_array();
		st = db_stmt(c, "SELECT status, error_code, message, time_ms FROM status_history WHERE job_id=? "
				"ORDER BY seq");
		sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
		while (sqlite3_step(st) == SQLITE_ROW) {
			json_t *r = json_object();
			json_object_set_new(r, "status", json_string(col(st, 0)));
			json_object_set_new(r, "error_code", json_string(col(st, 1)));
			json_object_set_new(r, "message", json_string(col(st, 2)));
			json_object_set_new(r, "time", ms_string(sqlite3_column_int64(st, 3)));
			json_array_append_new(h, r);
		}
		sqlite3_reset(st);
		json_object_set_new(m, "status_history", h);
	}
	db_release(t->db, c);
	*out = m;
	return rc;
}

int trainer_list_jobs(struct trainer *t, const struct principal *p, json_t **out, struct weft_err *e)
{
	(void)e;
	struct db_conn *c = db_acquire(t->db);
	sqlite3_stmt *st = db_stmt(c, "SELECT " JOB_COLS " FROM jobs WHERE user_name=? AND deleted=0 "
				      "ORDER BY submitted_ms DESC, id");
	sqlite3_bind_text(st, 1, p->name, -1, SQLITE_STATIC);
	json_t *arr = json_array();
	while (sqlite3_step(st) == SQLITE_ROW)
		json_array_append_new(arr, row_to_model(st));
	sqlite3_reset(st);
	db_release(t->db, c);
	*out = json_pack("{s:o}", "models", arr);
	return 0;
}

int trainer_job_status(struct trainer *t, const struct principal *p, const char *id, char *buf, size_t size,
		       struct weft_err *e)
{
	struct db_conn *c = db_acquire(t->db);
	sqlite3_stmt *st = db_stmt(c, "SELECT status FROM jobs WHERE id=? AND user_name=? AND deleted=0");
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, p->name, -1, SQLITE_STATIC);
	int rc = 0;
	if (sqlite3_step(st) == SQLITE_ROW)
		snprintf(buf, size, "%s", col(st, 0));
	else
		rc = err_set(e, WEFT_ENOTFOUND, "no training job '%s'", id);
	sqlite3_reset(st);
	db_release(t->db, c);
	return rc;
}

int trainer_job_ended(struct trainer *t, const struct principal *p, const char *id, int *ended, struct weft_err *e)
{
	struct db_conn *c = db_acquire(t->db);
	sqlite3_stmt *st = db_stmt(c, "SELECT status, request FROM jobs WHERE id=? AND user_name=? AND deleted=0");
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, p->name, -1, SQLITE_STATIC);
	int rc = 0;
	if (sqlite3_step(st) == SQLITE_ROW)
		*ended = status_is_terminal(col(st, 0)) && strcmp(col(st, 1), "resume") != 0;
	else
		rc = err_set(e, WEFT_ENOTFOUND, "no training job '%s'", id);
	sqlite3_reset(st);
	db_release(t->db, c);
	return rc;
}

int trainer_request(struct trainer *t, const struct principal *p, const char *id, const char *what,
		    struct weft_err *e)
{
	char status[32];
	int rc = trainer_job_status(t, p, id, status, sizeof status, e);
	if (rc)
		return rc;
	struct db_conn *c = db_acquire(t->db);
	sqlite3_stmt *st;
	if (!strcmp(what, "halt")) {
		if (status_is_terminal(status)) {
			rc = err_set(e, WEFT_ECONFLICT, "job %s is already %s", id, status);
			goto out;
		}
		st = db_stmt(c, "UPDATE jobs SET request='halt' WHERE id=? AND deleted=0");
	} else if (!strcmp(what, "resume")) {
		if (strcmp(status, ST_HALTED) && strcmp(status, ST_FAILED)) {
			rc = err_set(e, WEFT_ECONFLICT, "job %s is %s: only HALTED or FAILED jobs can be resumed", id,
				     status);
			goto out;
		}
		st = db_stmt(c, "UPDATE jobs SET request='resume' WHERE id=? AND deleted=0");
	} else if (!strcmp(what, "delete")) {
		st = db_stmt(c, "UPDATE jobs SET request='delete', deleted=1 WHERE id=?");
	} else {
		rc = err_set(e, WEFT_EINVAL, "status must be \"halt\" or \"resume\", not \"%s\"", what);
		goto out;
	}
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		rc = db_error(c, e, "recording the request");
	sqlite3_reset(st);
	if (rc == 0) {
		log_info("%s: %s requested by %s", id, what, p->name);
		if (!strcmp(what, "halt"))
			metrics_add("trainer_trainings_halt_total", 1, NULL);
		else if (!strcmp(what, "delete"))
			metrics_add("trainer_trainings_delete_total", 1, NULL);
	}
out:
	db_release(t->db, c);
	if (rc == 0) {
		trainer_wake_lcm(t);
		trainer_notify_logs(t);
	}
	return rc;
}

int trainer_definition_path(struct trainer *t, const struct principal *p, const char *id, char **path,
			    struct weft_err *e)
{
	char status[32];
	int rc = trainer_job_status(t, p, id, status, sizeof status, e);
	if (rc)
		return rc;
	char *dir = fs_join(t->jobs_root, id);
	*path = fs_join(dir, "model.zip");
	free(dir);
	return 0;
}

int trainer_results_dir(struct trainer *t, const struct principal *p, const char *id, char **path,
			struct weft_err *e)
{
	struct db_conn *c = db_acquire(t->db);
	sqlite3_stmt *st = db_stmt(c, "SELECT status, results_path FROM jobs WHERE id=? AND user_name=? AND deleted=0");
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, p->name, -1, SQLITE_STATIC);
	int rc = 0;
	if (sqlite3_step(st) == SQLITE_ROW) {
		const char *rp = col(st, 1);
		if (!*rp || !fs_is_dir(rp))
			rc = err_set(e, WEFT_ENOTFOUND, "job %s has no stored results yet (status %s)", id, col(st, 0));
		else
			*path = xstrdup(rp);
	} else {
		rc = err_set(e, WEFT_ENOTFOUND, "no training job '%s'", id);
	}
	sqlite3_reset(st);
	db_release(t->db, c);
	return rc;
}

/* deploy.c - deployments (see deploy.h). The registry is a list guarded by
 * one mutex; a request holds a reference, so a deployment being deleted is
 * stopped only when its last request is done. A spec is stored as the user
 * sent it and parsed again at each start, so what `deployment show` reports
 * is always what the parser makes of it today. */
#include "serve/deploy.h"
#include "api/metrics.h"
#include "auth/auth.h"
#include "tds/emstore.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/timeutil.h"
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_NUMEL (16 * 1024 * 1024)

struct deployment {
	char name[SPEC_NAME_MAX + 1];
	char user[128];
	char *text;                 /* the spec as submitted */
	struct deployment_spec *spec;
	int64_t created_ms;
	char status[16];            /* AVAILABLE | FAILED */
	char message[1024];
	struct predictor **preds;   /* one per spec predictor (NULL if it failed) */
	int n_preds;
	int refs;                   /* requests in flight + the registry's own */
	int removed;
	char dir[4096];             /* <home>/deployments/<name> */
	pthread_mutex_t lock;       /* guards the counters and the log files */
	uint64_t total;
	struct {
		int code;
		uint64_t n;
	} codes[16];
	FILE *reqlog, *shadowlog;
	void *port;                 /* its own port (spec.port), opened by the API layer */
	struct deployment *next;
};

struct serve {
	struct trainer *t;
	struct serve_port_hooks hooks; /* set by serve_attach; open == NULL before */
	pthread_mutex_t lock; /* guards list and refs */
	struct deployment *list;
	char *root;
};

const char *deploy_name(const struct deployment *d) { return d->name; }
const char *deploy_namespace(const struct deployment *d)
{
	return d->spec->namespace && *d->spec->namespace ? d->spec->namespace : "default";
}

/* --- lineage: the training job behind a predictor --- */

struct job_info {
	char user[128], status[32], name[256], framework[128];
	int64_t submitted, completed;
	char *manifest, *results_path;
};

static int job_info(struct trainer *t, const char *id, struct job_info *ji)
{
	memset(ji, 0, sizeof *ji);
	struct db_conn *c = db_acquire(t->db);
	sqlite3_stmt *st = db_stmt(c, "SELECT user_name, status, name, framework_name || ':' || framework_version, "
				      "submitted_ms, completed_ms, manifest, results_path FROM jobs "
				      "WHERE id=? AND deleted=0");
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	int found = sqlite3_step(st) == SQLITE_ROW;
	if (found) {
		snprintf(ji->user, sizeof ji->user, "%s", sqlite3_column_text(st, 0));
		snprintf(ji->status, sizeof ji->status, "%s", sqlite3_column_text(st, 1));
		snprintf(ji->name, sizeof ji->name, "%s", sqlite3_column_text(st, 2));
		snprintf(ji->framework, sizeof ji->framework, "%s", sqlite3_column_text(st, 3));
		ji->submitted = sqlite3_column_int64(st, 4);
		ji->completed = sqlite3_column_int64(st, 5);
		ji->manifest = xstrdup((const char *)sqlite3_column_text(st, 6));
		ji->results_path = xstrdup((const char *)sqlite3_column_text(st, 7));
	}
	sqlite3_reset(st);
	db_release(t->db, c);
	return found ? 0 : -1;
}

static int user_is_admin(struct trainer *t, const char *user)
{
	struct db_conn *c = db_acquire(t->db);
	sqlite3_stmt *st = db_stmt(c, "SELECT is_admin FROM users WHERE name=?");
	sqlite3_bind_text(st, 1, user, -1, SQLITE_STATIC);
	int admin = sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0);
	sqlite3_reset(st);
	db_release(t->db, c);
	return admin;
}

static void job_info_free(struct job_info *ji)
{
	free(ji->manifest);
	free(ji->results_path);
}

/* --- start and stop --- */

static struct serve_port_hooks port_hooks; /* copied by serve_attach, for deployment_free */

static void deployment_free(struct deployment *d)
{
	if (d->port && port_hooks.close)
		port_hooks.close(d->port);
	for (int i = 0; i < d->n_preds; i++)
		predictor_stop(d->preds[i]);
	free(d->preds);
	if (d->reqlog)
		fclose(d->reqlog);
	if (d->shadowlog)
		fclose(d->shadowlog);
	spec_free(d->spec);
	free(d->text);
	pthread_mutex_destroy(&d->lock);
	free(d);
}

static char **predictor_env(const struct spec_predictor *sp, const char *model_dir)
{
	size_t n = 0;
	char **env = xcalloc(sp->n_env + 13, sizeof *env);
	env[n++] = xasprintf("TRAINING_ID=%s", sp->training_id);
	env[n++] = xasprintf("MODEL_DIR=%s", model_dir);
	env[n++] = xasprintf("BUCKET_ENDPOINT_URL=%s",
			     sp->bucket_endpoint_url ? sp->bucket_endpoint_url : model_dir);
	if (sp->bucket_name)
		env[n++] = xasprintf("BUCKET_NAME=%s", sp->bucket_name);
	if (sp->bucket_key)
		env[n++] = xasprintf("BUCKET_KEY=%s", sp->bucket_key);
	if (sp->bucket_secret)
		env[n++] = xasprintf("BUCKET_SECRET=%s", sp->bucket_secret);
	for (size_t i = 0; i < sp->n_env; i++)
		env[n++] = xasprintf("%s=%s", sp->env[i].name, sp->env[i].value);
	if (sp->n_params) { /* Seldon hands a graph node its parameters as JSON */
		json_t *arr = json_array();
		for (size_t i = 0; i < sp->n_params; i++)
			json_array_append_new(arr, json_pack("{s:s, s:s, s:s}", "name", sp->params[i].name, "type",
							     sp->params[i].type, "value", sp->params[i].value));
		char *js = json_dumps(arr, JSON_COMPACT);
		env[n++] = xasprintf("PREDICTIVE_UNIT_PARAMETERS=%s", js ? js : "[]");
		free(js);
		json_decref(arr);
	}
	env[n] = NULL;
	return env;
}

static void free_env(char **env)
{
	for (char **p = env; p && *p; p++)
		free(*p);
	free(env);
}

/* Checks the training jobs behind the spec (the user's, COMPLETED, with a
 * model for the native runtime) and starts every predictor. */
static int deployment_start(struct serve *s, struct deployment *d, struct weft_err *e)
{
	struct deployment_spec *sp = d->spec;
	d->preds = xcalloc(sp->n_predictors, sizeof *d->preds);
	d->n_preds = (int)sp->n_predictors;
	if (fs_mkdir_p(d->dir, 0755, e))
		return WEFT_EIO;
	for (size_t i = 0; i < sp->n_predictors; i++) {
		const struct spec_predictor *p = &sp->predictors[i];
		struct job_info ji;
		if (job_info(s->t, p->training_id, &ji) || (strcmp(ji.user, d->user) && !user_is_admin(s->t, d->user))) {
			job_info_free(&ji);
			return err_set(e, WEFT_ENOTFOUND, "spec.predictors[%zu]: no training job %s", i,
				       p->training_id);
		}
		if (strcmp(ji.status, ST_COMPLETED)) {
			int rc = err_set(e, WEFT_ECONFLICT,
					 "spec.predictors[%zu]: training job %s is %s; only a COMPLETED job's model "
					 "can be served",
					 i, p->training_id, ji.status);
			job_info_free(&ji);
			return rc;
		}
		char *model_dir = xstrdup(ji.results_path);
		char *model = fs_join(model_dir, "model.onnx");
		job_info_free(&ji);
		if (p->runtime == SPEC_RUNTIME_NATIVE && !fs_exists(model)) {
			int rc = err_set(e, WEFT_ECONFLICT,
					 "spec.predictors[%zu]: training job %s stored no model.onnx in its results "
					 "(the native runtime serves ONNX models; or give a command for a custom model "
					 "server)",
					 i, p->training_id);
			free(model);
			free(model_dir);
			return rc;
		}
		char logname[256];
		snprintf(logname, sizeof logname, "%s.log", p->name);
		char *log_path = fs_join(d->dir, logname);
		char **env = predictor_env(p, model_dir);
		struct predictor_cfg cfg = { .deployment = d->name, .sp = p, .model_path = model,
					     .model_dir = model_dir, .env = env, .log_path = log_path,
					     .max_numel = MAX_NUMEL };
		int rc = predictor_start(&cfg, &d->preds[i], e);
		free_env(env);
		free(log_path);
		free(model);
		free(model_dir);
		if (rc) {
			char msg[sizeof e->msg];
			snprintf(msg, sizeof msg, "%s", e->msg);
			return err_set(e, rc, "predictor %s: %s", p->name, msg);
		}
	}
	if (sp->port && s->hooks.open && s->hooks.open(s->hooks.ctx, d->name, sp->port, &d->port, e))
		return WEFT_ECONFLICT;
	if (sp->request_log) {
		char *path = fs_join(d->dir, "requests.jsonl");
		d->reqlog = fopen(path, "ae");
		free(path);
	}
	snprintf(d->status, sizeof d->status, "AVAILABLE");
	return 0;
}

static struct deployment *deployment_new(struct serve *s, const char *user, const char *text, size_t len,
					 struct deployment_spec *spec, int64_t created)
{
	struct deployment *d = xcalloc(1, sizeof *d);
	snprintf(d->name, sizeof d->name, "%s", spec->name);
	snprintf(d->user, sizeof d->user, "%s", user);
	d->text = xstrndup(text, len);
	d->spec = spec;
	d->created_ms = created;
	d->refs = 1;
	snprintf(d->status, sizeof d->status, "FAILED");
	snprintf(d->dir, sizeof d->dir, "%s/%s", s->root, spec->name);
	pthread_mutex_init(&d->lock, NULL);
	return d;
}

/* The spec text of a short-form request, or NULL if body is a full spec. */
static int short_form(const char *body, size_t len, struct deployment_spec **out, int *is_short,
		      struct weft_err *e)
{
	*is_short = 0;
	json_t *j = json_loadb(body, len, 0, NULL);
	if (!j || !json_is_object(j) || !json_object_get(j, "training_id") || json_object_get(j, "spec")) {
		json_decref(j);
		return 0;
	}
	*is_short = 1;
	const char *id = json_string_value(json_object_get(j, "training_id"));
	json_t *nm = json_object_get(j, "name"), *rp = json_object_get(j, "replicas");
	int rc = 0;
	if (!id)
		rc = err_set(e, WEFT_EINVAL, "training_id: expected a string");
	else if (nm && !json_is_string(nm))
		rc = err_set(e, WEFT_EINVAL, "name: expected a string");
	else if (rp && (!json_is_integer(rp) || json_integer_value(rp) < 1 ||
			json_integer_value(rp) > SPEC_MAX_REPLICAS))
		rc = err_set(e, WEFT_EINVAL, "replicas: expected an integer from 1 to %d", SPEC_MAX_REPLICAS);
	else
		rc = spec_from_short(id, json_string_value(nm), rp ? (int)json_integer_value(rp) : 1, out, e);
	json_decref(j);
	return rc;
}

static struct deployment *find(struct serve *s, const char *name)
{
	for (struct deployment *d = s->list; d; d = d->next)
		if (!strcmp(d->name, name))
			return d;
	return NULL;
}

static json_t *endpoints_json(const struct deployment *d)
{
	char seldon[256], v2[256];
	snprintf(seldon, sizeof seldon, "/seldon/%s/%s/api/v1.0/predictions",
		 d->spec->namespace ? d->spec->namespace : "default", d->name);
	snprintf(v2, sizeof v2, "/v2/models/%s/infer", d->name);
	json_t *o = json_pack("{s:s, s:s}", "seldon", seldon, "v2", v2);
	if (d->spec->port)
		json_object_set_new(o, "own_port", json_integer(d->spec->port));
	return o;
}

static json_t *predictors_json(struct deployment *d, int detail)
{
	json_t *arr = json_array();
	for (size_t i = 0; i < d->spec->n_predictors; i++) {
		const struct spec_predictor *p = &d->spec->predictors[i];
		int ready = 0, total = p->replicas;
		struct predictor *pr = i < (size_t)d->n_preds ? d->preds[i] : NULL;
		if (pr)
			predictor_ready(pr, &ready, &total);
		json_t *o = json_pack("{s:s, s:s, s:i, s:i, s:b, s:s, s:i}", "name", p->name, "runtime",
				      spec_runtime_name(p->runtime), "replicas", p->replicas, "traffic", p->traffic,
				      "shadow", p->shadow, "training_id", p->training_id, "ready_replicas", ready);
		if (detail && pr)
			json_object_set_new(o, "replica_states", predictor_replicas_json(pr));
		json_array_append_new(arr, o);
	}
	return arr;
}

static json_t *summary_json(struct deployment *d)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:I, s:o, s:o, s:o}", "name", d->name, "status", d->status,
			      "message", d->message, "training_id", d->spec->predictors[0].training_id, "created",
			      (json_int_t)d->created_ms, "predictors", predictors_json(d, 0), "ignored",
			      spec_ignored_json(d->spec), "endpoints", endpoints_json(d));
	return o;
}

int serve_open(struct trainer *t, struct serve **out, struct weft_err *e)
{
	struct serve *s = xcalloc(1, sizeof *s);
	s->t = t;
	pthread_mutex_init(&s->lock, NULL);
	s->root = fs_join(t->home, "deployments");
	if (fs_mkdir_p(s->root, 0755, e)) {
		free(s->root);
		free(s);
		return WEFT_EIO;
	}
	struct db_conn *c = db_acquire(t->db);
	sqlite3_stmt *st = db_stmt(c, "SELECT name, user_name, spec, created_ms FROM deployments ORDER BY created_ms");
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 0);
		const char *user = (const char *)sqlite3_column_text(st, 1);
		const char *text = (const char *)sqlite3_column_text(st, 2);
		size_t len = (size_t)sqlite3_column_bytes(st, 2);
		struct deployment_spec *spec = NULL;
		struct weft_err pe;
		int is_short = 0;
		int rc = short_form(text, len, &spec, &is_short, &pe);
		if (!is_short)
			rc = spec_parse(text, len, &spec, &pe);
		if (rc) {
			log_error("deployment %s: its stored spec no longer parses: %s", name, pe.msg);
			continue;
		}
		struct deployment *d = deployment_new(s, user, text, len, spec, sqlite3_column_int64(st, 3));
		if (deployment_start(s, d, &pe)) {
			log_error("deployment %s: %s", name, pe.msg);
			snprintf(d->message, sizeof d->message, "%s", pe.msg);
		} else {
			log_info("deployment %s available", name);
		}
		d->next = s->list;
		s->list = d;
	}
	sqlite3_reset(st);
	db_release(t->db, c);
	*out = s;
	return 0;
}

void serve_attach(struct serve *s, const struct serve_port_hooks *h)
{
	pthread_mutex_lock(&s->lock);
	s->hooks = *h;
	port_hooks = *h;
	for (struct deployment *d = s->list; d; d = d->next) {
		struct weft_err e;
		if (!strcmp(d->status, "AVAILABLE") && d->spec->port && !d->port &&
		    h->open(h->ctx, d->name, d->spec->port, &d->port, &e)) {
			log_error("deployment %s: %s", d->name, e.msg);
			snprintf(d->status, sizeof d->status, "FAILED");
			snprintf(d->message, sizeof d->message, "%s", e.msg);
		}
	}
	pthread_mutex_unlock(&s->lock);
}

void serve_close(struct serve *s)
{
	if (!s)
		return;
	while (s->list) {
		struct deployment *d = s->list;
		s->list = d->next;
		deployment_free(d);
	}
	free(s->root);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

int serve_create(struct serve *s, const struct principal *p, const char *body, size_t len, json_t **out,
		 struct weft_err *e)
{
	struct deployment_spec *spec = NULL;
	int is_short = 0;
	int rc = short_form(body, len, &spec, &is_short, e);
	if (!is_short)
		rc = spec_parse(body, len, &spec, e);
	if (rc)
		return rc;
	pthread_mutex_lock(&s->lock);
	int exists = find(s, spec->name) != NULL;
	pthread_mutex_unlock(&s->lock);
	if (exists) {
		rc = err_set(e, WEFT_ECONFLICT, "a deployment named %s exists (weft undeploy %s first)", spec->name,
			     spec->name);
		spec_free(spec);
		return rc;
	}
	struct deployment *d = deployment_new(s, p->name, body, len, spec, now_ms());
	if ((rc = deployment_start(s, d, e))) {
		deployment_free(d);
		return rc;
	}
	struct db_conn *c = db_acquire(s->t->db);
	sqlite3_stmt *st = db_stmt(c, "INSERT INTO deployments(name, user_name, spec, created_ms) VALUES(?,?,?,?)");
	sqlite3_bind_text(st, 1, d->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, d->user, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, body, (int)len, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, d->created_ms);
	int src = sqlite3_step(st);
	sqlite3_reset(st);
	if (src != SQLITE_DONE) {
		rc = src == SQLITE_CONSTRAINT
			     ? err_set(e, WEFT_ECONFLICT, "a deployment named %s exists", d->name)
			     : db_error(c, e, "storing the deployment");
		db_release(s->t->db, c);
		deployment_free(d);
		return rc;
	}
	db_release(s->t->db, c);
	pthread_mutex_lock(&s->lock);
	d->next = s->list;
	s->list = d;
	*out = summary_json(d);
	pthread_mutex_unlock(&s->lock);
	log_info("deployment %s created by %s (%zu predictor%s)", d->name, p->name, spec->n_predictors,
		 spec->n_predictors == 1 ? "" : "s");
	return 0;
}

static int visible(const struct deployment *d, const struct principal *p)
{
	return !d->removed && (!strcmp(d->user, p->name) || p->is_admin);
}

int serve_list(struct serve *s, const struct principal *p, json_t **out, struct weft_err *e)
{
	(void)e;
	json_t *arr = json_array();
	pthread_mutex_lock(&s->lock);
	for (struct deployment *d = s->list; d; d = d->next)
		if (visible(d, p))
			json_array_append_new(arr, summary_json(d));
	pthread_mutex_unlock(&s->lock);
	*out = json_pack("{s:o}", "deployments", arr);
	return 0;
}

static json_t *lineage_json(struct serve *s, const char *id)
{
	struct job_info ji;
	if (job_info(s->t, id, &ji))
		return json_pack("{s:s, s:n}", "training_id", id, "job");
	json_t *lin = json_pack("{s:s, s:{s:s, s:s, s:s, s:I, s:I}, s:s}", "training_id", id, "job", "name", ji.name,
				"status", ji.status, "framework", ji.framework, "submitted", (json_int_t)ji.submitted,
				"completed", (json_int_t)ji.completed, "manifest", ji.manifest);
	/* data stores, from the manifest as the job ran it */
	struct manifest *m = NULL;
	struct weft_err e;
	json_t *ds = json_array();
	if (manifest_parse(ji.manifest, strlen(ji.manifest), &m, NULL, &e) == 0) {
		for (int i = 0; i < m->n_data_stores; i++)
			json_array_append_new(ds, json_pack("{s:s, s:s, s:s, s:s?}", "id", m->data_stores[i].id, "type",
							    m->data_stores[i].type, "training_data",
							    m->data_stores[i].training_data, "training_results",
							    m->data_stores[i].training_results));
		manifest_free(m);
	}
	json_object_set_new(lin, "data_stores", ds);
	json_t *metrics = NULL, *final = json_array();
	if (tds_model_metrics(s->t, id, 1, &metrics, &e) == 0) {
		size_t i;
		json_t *mm;
		json_array_foreach(json_object_get(metrics, "metrics"), i, mm)
		{
			json_t *last = json_object_get(mm, "last");
			json_array_append_new(final, json_pack("{s:O, s:O, s:O, s:O}", "group", json_object_get(mm, "group"),
							       "name", json_object_get(mm, "name"), "last",
							       json_object_get(last, "value"), "iteration",
							       json_object_get(last, "iteration")));
		}
		json_decref(metrics);
	}
	json_object_set_new(lin, "metrics", final);
	json_object_set_new(lin, "results", json_string(ji.results_path));
	job_info_free(&ji);
	return lin;
}

int serve_show(struct serve *s, const struct principal *p, const char *name, json_t **out, struct weft_err *e)
{
	pthread_mutex_lock(&s->lock);
	struct deployment *d = find(s, name);
	if (!d || !visible(d, p)) {
		pthread_mutex_unlock(&s->lock);
		return err_set(e, WEFT_ENOTFOUND, "no deployment %s", name);
	}
	d->refs++;
	pthread_mutex_unlock(&s->lock);
	json_t *o = summary_json(d);
	json_object_set_new(o, "predictors", predictors_json(d, 1));
	json_object_set_new(o, "spec", spec_to_json(d->spec, 0));
	json_t *codes = json_object();
	pthread_mutex_lock(&d->lock);
	for (int i = 0; i < 16 && d->codes[i].code; i++) {
		char k[8];
		snprintf(k, sizeof k, "%d", d->codes[i].code);
		json_object_set_new(codes, k, json_integer((json_int_t)d->codes[i].n));
	}
	json_object_set_new(o, "requests", json_pack("{s:I, s:o}", "total", (json_int_t)d->total, "by_code", codes));
	pthread_mutex_unlock(&d->lock);
	json_object_set_new(o, "lineage", lineage_json(s, d->spec->predictors[0].training_id));
	serve_put(s, d);
	*out = o;
	return 0;
}

int serve_delete(struct serve *s, const struct principal *p, const char *name, struct weft_err *e)
{
	pthread_mutex_lock(&s->lock);
	struct deployment *d = find(s, name);
	if (!d) {
		/* a stored spec this server could not parse at start: not running, but its
		 * name is taken until it is deleted */
		pthread_mutex_unlock(&s->lock);
		struct db_conn *c = db_acquire(s->t->db);
		sqlite3_stmt *st = db_stmt(c, "DELETE FROM deployments WHERE name=? AND (user_name=? OR ?)");
		sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, p->name, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 3, p->is_admin);
		int gone = sqlite3_step(st) == SQLITE_DONE && sqlite3_changes(db_handle(c)) > 0;
		sqlite3_reset(st);
		db_release(s->t->db, c);
		if (!gone)
			return err_set(e, WEFT_ENOTFOUND, "no deployment %s", name);
		log_info("deployment %s (not running: its spec did not parse) deleted by %s", name, p->name);
		return 0;
	}
	if (!visible(d, p)) {
		pthread_mutex_unlock(&s->lock);
		return err_set(e, WEFT_ENOTFOUND, "no deployment %s", name);
	}
	struct db_conn *c = db_acquire(s->t->db);
	sqlite3_stmt *st = db_stmt(c, "DELETE FROM deployments WHERE name=?");
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	int ok = sqlite3_step(st) == SQLITE_DONE;
	sqlite3_reset(st);
	db_release(s->t->db, c);
	if (!ok) {
		pthread_mutex_unlock(&s->lock);
		return err_set(e, WEFT_EIO, "cannot delete deployment %s from the database", name);
	}
	for (struct deployment **pp = &s->list; *pp; pp = &(*pp)->next)
		if (*pp == d) {
			*pp = d->next;
			break;
		}
	d->removed = 1;
	int last = --d->refs == 0;
	pthread_mutex_unlock(&s->lock);
	if (last)
		deployment_free(d);
	log_info("deployment %s deleted by %s", name, p->name);
	return 0;
}

/* --- requests --- */

static void oauth_token_for(const struct trainer *t, const struct deployment *d, char out[80])
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	char msg[512];
	snprintf(msg, sizeof msg, "deploy:%s:%s:%s", d->name, d->spec->oauth_key ? d->spec->oauth_key : "",
		 d->spec->oauth_secret ? d->spec->oauth_secret : "");
	HMAC(EVP_sha256(), t->job_key, (int)sizeof t->job_key, (const unsigned char *)msg, strlen(msg), mac, &len);
	static const char hex[] = "0123456789abcdef";
	memcpy(out, DEPLOY_TOKEN_PREFIX, 5);
	for (unsigned i = 0; i < 32 && i < len; i++) {
		out[5 + 2 * i] = hex[mac[i] >> 4];
		out[6 + 2 * i] = hex[mac[i] & 15];
	}
	out[69] = '\0';
}

int serve_oauth_token(struct serve *s, const char *key, const char *secret, char token[80], struct weft_err *e)
{
	int rc = err_set(e, WEFT_EAUTH, "no deployment has this oauth_key and oauth_secret");
	pthread_mutex_lock(&s->lock);
	for (struct deployment *d = s->list; d; d = d->next) {
		const char *k = d->spec->oauth_key, *sc = d->spec->oauth_secret;
		if (k && sc && strlen(k) == strlen(key) && strlen(sc) == strlen(secret) &&
		    !CRYPTO_memcmp(k, key, strlen(k)) && !CRYPTO_memcmp(sc, secret, strlen(sc))) {
			oauth_token_for(s->t, d, token);
			rc = 0;
			break;
		}
	}
	pthread_mutex_unlock(&s->lock);
	return rc;
}

int serve_get(struct serve *s, const struct principal *p, const char *token, const char *name,
	      struct deployment **out, struct weft_err *e)
{
	pthread_mutex_lock(&s->lock);
	struct deployment *d = find(s, name);
	int ok = d && !d->removed;
	if (ok && token) {
		char want[80];
		ok = d->spec->oauth_key && (oauth_token_for(s->t, d, want), strlen(token) == strlen(want)) &&
		     !CRYPTO_memcmp(token, want, strlen(want));
	} else if (ok) {
		ok = p && visible(d, p);
	}
	if (!ok) {
		pthread_mutex_unlock(&s->lock);
		return err_set(e, WEFT_ENOTFOUND, "no deployment %s", name);
	}
	if (strcmp(d->status, "AVAILABLE")) {
		int rc = err_set(e, WEFT_ECONFLICT, "deployment %s is %s: %s", name, d->status, d->message);
		pthread_mutex_unlock(&s->lock);
		return rc;
	}
	d->refs++;
	pthread_mutex_unlock(&s->lock);
	*out = d;
	return 0;
}

void serve_put(struct serve *s, struct deployment *d)
{
	pthread_mutex_lock(&s->lock);
	int last = --d->refs == 0;
	pthread_mutex_unlock(&s->lock);
	if (last)
		deployment_free(d);
}

struct predictor *deploy_pick(struct deployment *d)
{
	int r = (int)(random() % 100);
	struct predictor *fallback = NULL;
	for (int i = 0; i < d->n_preds; i++) {
		const struct spec_predictor *p = &d->spec->predictors[i];
		if (p->shadow)
			continue;
		if (!fallback)
			fallback = d->preds[i];
		if (r < p->traffic)
			return d->preds[i];
		r -= p->traffic;
	}
	return fallback;
}

const struct serve_model_meta *deploy_meta(struct deployment *d)
{
	for (int i = 0; i < d->n_preds; i++)
		if (!d->spec->predictors[i].shadow)
			return predictor_meta(d->preds[i]);
	return predictor_meta(d->preds[0]);
}

const struct spec_predictor *deploy_spec_predictor(struct deployment *d, struct predictor *pr)
{
	for (int i = 0; i < d->n_preds; i++)
		if (d->preds[i] == pr)
			return &d->spec->predictors[i];
	return &d->spec->predictors[0];
}

struct predictor **deploy_shadows(struct deployment *d, int *n)
{
	*n = 0;
	struct predictor **out = xcalloc((size_t)d->n_preds + 1, sizeof *out);
	for (int i = 0; i < d->n_preds; i++)
		if (d->spec->predictors[i].shadow)
			out[(*n)++] = d->preds[i];
	return out;
}

static void log_line(FILE *f, const struct deployment *d, const struct predictor *pr, const char *protocol,
		     const char *body, size_t len, int status, const char *answer, size_t alen, double seconds)
{
	json_t *req = json_loadb(body, len, 0, NULL), *ans = json_loadb(answer, alen, 0, NULL);
	json_t *o = json_pack("{s:I, s:s, s:s, s:s, s:i, s:f, s:o, s:o}", "time", (json_int_t)now_ms(), "deployment",
			      d->name, "predictor", predictor_name(pr), "protocol", protocol, "status", status,
			      "seconds", seconds, "request", req ? req : json_stringn_nocheck(body, len), "response",
			      ans ? ans : json_stringn_nocheck(answer, alen));
	char *s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (s) {
		fputs(s, f);
		fputc('\n', f);
		fflush(f);
		free(s);
	}
}

void deploy_done(struct deployment *d, struct predictor *pr, const char *protocol, const char *body, size_t len,
		 int status, const char *answer, size_t alen, double seconds)
{
	const struct spec_predictor *sp = deploy_spec_predictor(d, pr);
	char code[8];
	snprintf(code, sizeof code, "%d", status);
	if (sp->shadow) {
		metrics_add("weft_serve_shadow_requests_total", 1, "deployment", d->name, "predictor", sp->name, "code",
			    code, NULL);
		pthread_mutex_lock(&d->lock);
		if (!d->shadowlog) {
			char *path = fs_join(d->dir, "shadow.jsonl");
			d->shadowlog = fopen(path, "ae");
			free(path);
		}
		if (d->shadowlog)
			log_line(d->shadowlog, d, pr, protocol, body, len, status, answer, alen, seconds);
		pthread_mutex_unlock(&d->lock);
		return;
	}
	metrics_add("weft_serve_requests_total", 1, "deployment", d->name, "predictor", sp->name, "code", code, NULL);
	metrics_observe("weft_serve_request_duration_seconds", seconds, "deployment", d->name, "predictor", sp->name,
			NULL);
	pthread_mutex_lock(&d->lock);
	d->total++;
	for (int i = 0; i < 16; i++)
		if (d->codes[i].code == status || !d->codes[i].code) {
			d->codes[i].code = status;
			d->codes[i].n++;
			break;
		}
	if (d->reqlog)
		log_line(d->reqlog, d, pr, protocol, body, len, status, answer, alen, seconds);
	pthread_mutex_unlock(&d->lock);
}

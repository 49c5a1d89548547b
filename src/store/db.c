/* db.c - SQLite metadata store: schema, migrations, connection pool and
 * statement cache. WAL mode with synchronous=NORMAL keeps commits cheap while
 * a crash of the server process (kill -9) loses no committed transaction. */
#include "store/db.h"
#include "util/log.h"
#include "util/mem.h"
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define DB_MAX_STMTS 128
#define DB_POOL_MAX 64

struct db_conn {
	sqlite3 *h;
	struct {
		const char *sql; /* identity: callers pass string literals */
		sqlite3_stmt *st;
	} stmts[DB_MAX_STMTS];
	int n_stmts;
	struct db_conn *next; /* free list, guarded by db->lock */
};

struct db {
	char *path;
	pthread_mutex_t lock; /* guards free_list and n_open */
	struct db_conn *free_list;
	int n_open;
};

static const char *schema[] = {
	/* version 1 */
	"CREATE TABLE IF NOT EXISTS users("
	"  name TEXT PRIMARY KEY, token_hash TEXT UNIQUE NOT NULL,"
	"  is_admin INT NOT NULL DEFAULT 0, created_ms INT NOT NULL);"
	"CREATE TABLE IF NOT EXISTS jobs("
	"  id TEXT PRIMARY KEY, user_name TEXT NOT NULL, name TEXT NOT NULL,"
	"  description TEXT NOT NULL DEFAULT '', framework_name TEXT NOT NULL DEFAULT '',"
	"  framework_version TEXT NOT NULL DEFAULT '', manifest TEXT NOT NULL, spec TEXT NOT NULL,"
	"  status TEXT NOT NULL, error_code TEXT NOT NULL DEFAULT '', status_message TEXT NOT NULL DEFAULT '',"
	"  submitted_ms INT NOT NULL, completed_ms INT NOT NULL DEFAULT 0,"
	"  request TEXT NOT NULL DEFAULT '', attempt INT NOT NULL DEFAULT 1, restarts INT NOT NULL DEFAULT 0,"
	"  deleted INT NOT NULL DEFAULT 0, log_count INT NOT NULL DEFAULT 0,"
	"  limits_enforced INT NOT NULL DEFAULT 0, results_path TEXT NOT NULL DEFAULT '');"
	"CREATE INDEX IF NOT EXISTS jobs_user ON jobs(user_name, submitted_ms);"
	"CREATE INDEX IF NOT EXISTS jobs_active ON jobs(status) WHERE status NOT IN ('COMPLETED','FAILED','HALTED');"
	"CREATE TABLE IF NOT EXISTS status_history("
	"  seq INTEGER PRIMARY KEY AUTOINCREMENT, job_id TEXT NOT NULL, status TEXT NOT NULL,"
	"  error_code TEXT NOT NULL DEFAULT '', message TEXT NOT NULL DEFAULT '', time_ms INT NOT NULL);"
	"CREATE INDEX IF NOT EXISTS history_job ON status_history(job_id, seq);"
	"CREATE TABLE IF NOT EXISTS loglines("
	"  job_id TEXT NOT NULL, rindex INT NOT NULL, learner INT NOT NULL, time_ms INT NOT NULL,"
	"  line TEXT NOT NULL, PRIMARY KEY(job_id, rindex)) WITHOUT ROWID;"
	"CREATE INDEX IF NOT EXISTS loglines_time ON loglines(job_id, time_ms);"
	"CREATE TABLE IF NOT EXISTS log_offsets("
	"  job_id TEXT NOT NULL, learner INT NOT NULL, offset INT NOT NULL,"
	"  PRIMARY KEY(job_id, learner)) WITHOUT ROWID;",
	/* version 2: the outcome decided before STORING, so that a crash while storing
	 * ends the job with that outcome (it cannot always be derived again) */
	"ALTER TABLE jobs ADD COLUMN outcome_status TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE jobs ADD COLUMN outcome_code TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE jobs ADD COLUMN outcome_message TEXT NOT NULL DEFAULT '';",
	/* version 3: the training data service. Each job gets an integer key; a log
	 * line's or metric record's id is (key << 36) | rindex, so one job's rows
	 * are contiguous, FTS5 can index lines by id, and ids are half the size of
	 * (job_id, rindex) keys. metric_series keeps each metric's summary and a
	 * downsampled history, updated with the records, so reading a job's metrics
	 * never scans its records. */
	"ALTER TABLE jobs ADD COLUMN key INT NOT NULL DEFAULT 0;"
	"UPDATE jobs SET key=rowid;"
	"CREATE UNIQUE INDEX jobs_key ON jobs(key);"
	"ALTER TABLE jobs ADD COLUMN em_count INT NOT NULL DEFAULT 0;"
	"CREATE TABLE lines3(id INTEGER PRIMARY KEY, learner INT NOT NULL, time_ms INT NOT NULL, line TEXT NOT NULL);"
	"INSERT INTO lines3 SELECT (j.key << 36) | l.rindex, l.learner, l.time_ms, l.line"
	"  FROM loglines l JOIN jobs j ON j.id = l.job_id;"
	"DROP TABLE loglines;"
	"ALTER TABLE lines3 RENAME TO loglines;"
	"CREATE INDEX loglines_time ON loglines(id >> 36, time_ms);"
	"CREATE VIRTUAL TABLE loglines_fts USING fts5(line, content='loglines', content_rowid='id', tokenize='ascii');"
	"INSERT INTO loglines_fts(loglines_fts) VALUES('rebuild');"
	"ALTER TABLE log_offsets ADD COLUMN state TEXT NOT NULL DEFAULT '';"
	"CREATE TABLE emetrics(id INTEGER PRIMARY KEY, learner INT NOT NULL, time_ms INT NOT NULL,"
	"  grp TEXT NOT NULL, subid TEXT NOT NULL, etimes TEXT NOT NULL, vals TEXT NOT NULL);"
	"CREATE TABLE em_sources(job_id TEXT NOT NULL, path TEXT NOT NULL, offset INT NOT NULL,"
	"  state TEXT NOT NULL DEFAULT '', PRIMARY KEY(job_id, path)) WITHOUT ROWID;"
	"CREATE TABLE metric_series(job_id TEXT NOT NULL, grp TEXT NOT NULL, name TEXT NOT NULL,"
	"  seq INT NOT NULL, count INT NOT NULL, last_v REAL, last_it INT, last_t INT,"
	"  min_v REAL, min_it INT, min_t INT, max_v REAL, max_it INT, max_t INT,"
	"  stride INT NOT NULL, hist BLOB NOT NULL, PRIMARY KEY(job_id, grp, name)) WITHOUT ROWID;",
	/* version 4: model serving: deployments as submitted, started again at each start */
	("CREATE TABLE deployments(name TEXT PRIMARY KEY, user_name TEXT NOT NULL, spec TEXT NOT NULL,"
	 "  created_ms INT NOT NULL) WITHOUT ROWID;"),
};

static int conn_open(struct db *db, struct db_conn **out, struct weft_err *e)
{
	struct db_conn *c = xcalloc(1, sizeof *c);
	int rc = sqlite3_open_v2(db->path, &c->h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
				 NULL);
	if (rc != SQLITE_OK) {
		err_set(e, WEFT_EIO, "cannot open database %s: %s", db->path,
			c->h ? sqlite3_errmsg(c->h) : sqlite3_errstr(rc));
		sqlite3_close(c->h);
		free(c);
		return WEFT_EIO;
	}
	sqlite3_busy_timeout(c->h, 10000);
	char *msg = NULL;
	rc = sqlite3_exec(c->h,
			  "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
			  "PRAGMA temp_store=MEMORY; PRAGMA cache_size=-32768;",
			  NULL, NULL, &msg);
	if (rc != SQLITE_OK) {
		err_set(e, WEFT_EIO, "cannot configure database %s: %s", db->path, msg ? msg : "?");
		sqlite3_free(msg);
		sqlite3_close(c->h);
		free(c);
		return WEFT_EIO;
	}
	*out = c;
	return 0;
}

static void conn_close(struct db_conn *c)
{
	for (int i = 0; i < c->n_stmts; i++)
		sqlite3_finalize(c->stmts[i].st);
	sqlite3_close(c->h);
	free(c);
}

int db_open(const char *path, struct db **out, struct weft_err *e)
{
	struct db *db = xcalloc(1, sizeof *db);
	db->path = xstrdup(path);
	pthread_mutex_init(&db->lock, NULL);
	struct db_conn *c;
	int rc = conn_open(db, &c, e);
	if (rc)
		goto fail;
	/* migrations: user_version counts the schema steps applied */
	sqlite3_stmt *st;
	int version = 0;
	if (sqlite3_prepare_v2(c->h, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK) {
		if (sqlite3_step(st) == SQLITE_ROW)
			version = sqlite3_column_int(st, 0);
		sqlite3_finalize(st);
	}
	int target = (int)(sizeof schema / sizeof schema[0]);
	for (int v = version; v < target; v++) {
		char *msg = NULL;
		char *sql = xasprintf("BEGIN IMMEDIATE; %s PRAGMA user_version=%d; COMMIT;", schema[v], v + 1);
		int src = sqlite3_exec(c->h, sql, NULL, NULL, &msg);
		free(sql);
		if (src != SQLITE_OK) {
			err_set(e, WEFT_EIO, "cannot migrate database %s to version %d: %s", path, v + 1,
				msg ? msg : "?");
			sqlite3_free(msg);
			sqlite3_exec(c->h, "ROLLBACK", NULL, NULL, NULL);
			conn_close(c);
			rc = WEFT_EIO;
			goto fail;
		}
	}
	if (version > target)
		log_warn("database %s has schema version %d, newer than this weft (%d)", path, version, target);
	c->next = NULL;
	db->free_list = c;
	db->n_open = 1;
	*out = db;
	return 0;
fail:
	pthread_mutex_destroy(&db->lock);
	free(db->path);
	free(db);
	return rc;
}

void db_close(struct db *db)
{
	if (!db)
		return;
	struct db_conn *c = db->free_list;
	while (c) {
		struct db_conn *n = c->next;
		conn_close(c);
		c = n;
	}
	pthread_mutex_destroy(&db->lock);
	free(db->path);
	free(db);
}

struct db_conn *db_acquire(struct db *db)
{
	pthread_mutex_lock(&db->lock);
	struct db_conn *c = db->free_list;
	if (c) {
		db->free_list = c->next;
		pthread_mutex_unlock(&db->lock);
		return c;
	}
	db->n_open++;
	pthread_mutex_unlock(&db->lock);
	struct weft_err e;
	if (conn_open(db, &c, &e)) {
		/* the database opened fine at start, so this is fd or memory exhaustion */
		log_error("%s", e.msg);
		exit(2);
	}
	return c;
}

void db_release(struct db *db, struct db_conn *c)
{
	if (!c)
		return;
	pthread_mutex_lock(&db->lock);
	if (db->n_open > DB_POOL_MAX) {
		db->n_open--;
		pthread_mutex_unlock(&db->lock);
		conn_close(c);
		return;
	}
	c->next = db->free_list;
	db->free_list = c;
	pthread_mutex_unlock(&db->lock);
}

sqlite3 *db_handle(struct db_conn *c)
{
	return c->h;
}

sqlite3_stmt *db_stmt(struct db_conn *c, const char *sql)
{
	for (int i = 0; i < c->n_stmts; i++)
		if (c->stmts[i].sql == sql || !strcmp(c->stmts[i].sql, sql)) {
			sqlite3_reset(c->stmts[i].st);
			sqlite3_clear_bindings(c->stmts[i].st);
			return c->stmts[i].st;
		}
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v3(c->h, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK) {
		/* SQL text is ours, so this is a programming error: say which */
		log_error("cannot prepare SQL (%s): %s", sqlite3_errmsg(c->h), sql);
		return NULL;
	}
	if (c->n_stmts < DB_MAX_STMTS) {
		c->stmts[c->n_stmts].sql = sql;
		c->stmts[c->n_stmts].st = st;
		c->n_stmts++;
	} else {
		/* cache full: keep the statement anyway by evicting the oldest */
		sqlite3_finalize(c->stmts[0].st);
		memmove(&c->stmts[0], &c->stmts[1], sizeof c->stmts[0] * (DB_MAX_STMTS - 1));
		c->stmts[DB_MAX_STMTS - 1].sql = sql;
		c->stmts[DB_MAX_STMTS - 1].st = st;
	}
	return st;
}

int db_exec(struct db_conn *c, const char *sql, struct weft_err *e)
{
	char *msg = NULL;
	if (sqlite3_exec(c->h, sql, NULL, NULL, &msg) != SQLITE_OK) {
		err_set(e, WEFT_EIO, "database error: %s", msg ? msg : sqlite3_errmsg(c->h));
		sqlite3_free(msg);
		return WEFT_EIO;
	}
	return 0;
}

int db_begin(struct db_conn *c)
{
	return sqlite3_exec(c->h, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK ? 0 : WEFT_EIO;
}

int db_commit(struct db_conn *c)
{
	if (sqlite3_exec(c->h, "COMMIT", NULL, NULL, NULL) == SQLITE_OK)
		return 0;
	log_error("database commit failed: %s", sqlite3_errmsg(c->h));
	sqlite3_exec(c->h, "ROLLBACK", NULL, NULL, NULL);
	return WEFT_EIO;
}

void db_rollback(struct db_conn *c)
{
	sqlite3_exec(c->h, "ROLLBACK", NULL, NULL, NULL);
}

int db_error(struct db_conn *c, struct weft_err *e, const char *what)
{
	return err_set(e, WEFT_EIO, "database error while %s: %s", what, sqlite3_errmsg(c->h));
}

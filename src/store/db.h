/* db.h - the metadata store (SQLite in WAL mode under the home directory):
 * users, jobs, status history, log lines and collector offsets.
 * A small pool of connections serves all threads: db_acquire() hands one to
 * the calling thread and db_release() returns it; each connection keeps its
 * prepared statements, so hot requests do no SQL compilation. */
#ifndef WEFT_DB_H
#define WEFT_DB_H
#include "util/err.h"
#include <sqlite3.h>
#include <stdint.h>

struct db;

/* Opens (creating and migrating) PATH. Returns 0 and *out. */
int db_open(const char *path, struct db **out, struct weft_err *e);
void db_close(struct db *db);

/* A connection for this thread; must be released. Never NULL. */
struct db_conn *db_acquire(struct db *db);
void db_release(struct db *db, struct db_conn *c);
sqlite3 *db_handle(struct db_conn *c);
/* Cached prepared statement for sql (reset and bindings cleared). */
sqlite3_stmt *db_stmt(struct db_conn *c, const char *sql);
int db_begin(struct db_conn *c);      /* BEGIN IMMEDIATE */
int db_commit(struct db_conn *c);
void db_rollback(struct db_conn *c);
/* Runs sql with no results; 0 or WEFT_EIO with the SQLite message in e. */
int db_exec(struct db_conn *c, const char *sql, struct weft_err *e);
/* Fills e from the connection's last error. */
int db_error(struct db_conn *c, struct weft_err *e, const char *what);

#endif

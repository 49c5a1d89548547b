/* ingest.c - log ingestion benchmark: one learner's log file through the
 * collector and the store (tds_collect: line splitting, UTF-8 cleaning, the
 * `auto` metric parser, log lines + full-text index + metric records +
 * metric summaries committed with the offset), exactly as the lifecycle
 * manager runs it, without HTTP or process start-up around it.
 *
 *   ingest HOME LOGFILE [TYPE]   (TYPE: the evaluation_metrics.type, default auto)
 *
 * Prints lines=N records=N seconds=S lines_per_s=R. Linked with libweft.a. */
#include "tds/collect.h"
#include "util/fs.h"
#include "util/mem.h"
#include "util/timeutil.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: ingest HOME LOGFILE [TYPE]\n");
		return 2;
	}
	struct trainer_opts o = { .home = argv[1], .no_cgroups = 1 };
	struct trainer *t;
	struct weft_err e;
	if (trainer_open(&o, &t, &e)) {
		fprintf(stderr, "ingest: %s\n", e.msg);
		return 1;
	}
	const char *id = "training-bench";
	struct db_conn *c = db_acquire(t->db);
	char *sql = xasprintf("INSERT INTO jobs(id, user_name, name, manifest, spec, status, submitted_ms, key) "
			      "VALUES('%s', 'admin', 'bench', '', '{}', 'PROCESSING', 0, "
			      "(SELECT IFNULL(MAX(key), 0) + 1 FROM jobs))",
			      id);
	if (db_exec(c, sql, &e)) {
		fprintf(stderr, "ingest: %s\n", e.msg);
		return 1;
	}
	free(sql);
	db_release(t->db, c);
	char *job_dir = fs_join(t->jobs_root, id);
	char *log_dir = fs_join(job_dir, "learner-1/logs");
	char *log = fs_join(log_dir, "training-log.txt");
	if (fs_mkdir_p(log_dir, 0755, &e) || fs_copy_file(argv[2], log, &e)) {
		fprintf(stderr, "ingest: %s\n", e.msg);
		return 1;
	}
	json_t *em = json_pack("{s:s}", "type", argc > 3 ? argv[3] : "auto");
	int64_t t0 = mono_ns();
	tds_collect(t, id, job_dir, 1, em, 1);
	int64_t t1 = mono_ns();
	tds_collect_forget(id);
	c = db_acquire(t->db);
	sqlite3_stmt *st = db_stmt(c, "SELECT log_count, em_count FROM jobs WHERE id=?");
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	long long lines = 0, recs = 0;
	if (sqlite3_step(st) == SQLITE_ROW) {
		lines = sqlite3_column_int64(st, 0);
		recs = sqlite3_column_int64(st, 1);
	}
	sqlite3_reset(st);
	db_release(t->db, c);
	double s = (double)(t1 - t0) / 1e9;
	printf("lines=%lld\nrecords=%lld\nseconds=%.3f\nlines_per_s=%.0f\n", lines, recs, s, lines / s);
	json_decref(em);
	free(log);
	free(log_dir);
	free(job_dir);
	trainer_close(t);
	return 0;
}

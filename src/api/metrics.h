/* metrics.h - the process's Prometheus registry, served as GET /metrics in the
 * text exposition format 0.0.4. Every metric weft exports is declared once in
 * the table in metrics.c (name, type, help, buckets); callers anywhere (trainer,
 * lcm, tds, http) update a series by name and label pairs. Thread-safe: one
 * mutex in metrics.c guards every series and value. */
#ifndef WEFT_API_METRICS_H
#define WEFT_API_METRICS_H
#include "util/err.h"
#include "util/sbuf.h"

struct trainer;

/* Label arguments are name/value string pairs ended by NULL, e.g.
 * metrics_add("trainer_trainings_failed_total", 1, "errorcode", "C201", NULL).
 * A NULL value is exported as "". An unknown metric name is ignored (logged once). */

/* Counter or gauge: adds v (a counter ignores v < 0). */
void metrics_add(const char *name, double v, ...) __attribute__((sentinel));
/* Gauge: sets the value. */
void metrics_set(const char *name, double v, ...) __attribute__((sentinel));
/* Histogram: records one observation of v. */
void metrics_observe(const char *name, double v, ...) __attribute__((sentinel));

/* Renders every metric (HELP, TYPE, samples) into out. */
void metrics_render(struct sbuf *out);

/* The GET /metrics body: refreshes the gauges read from the store at scrape
 * time (weft_jobs{status}, trainer_queue_size), then renders. */
int metrics_scrape(struct trainer *t, struct sbuf *out, struct weft_err *e);

/* Forgets every series (values back to zero); for tests. */
void metrics_reset(void);

/* The fixed route name of a request's route (v1.c), for the route label:
 * e.g. "models_get"; "other" for a request no route matched. */
const char *v1_route_name(int route);

#endif

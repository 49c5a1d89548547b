/* autoparse.h - weft's `auto` metrics recogniser: finds training metrics in
 * one log line with no configuration (Keras/TensorFlow progress and epoch
 * summaries, Caffe glog, PyTorch/Horovod example prints, Katib-style
 * name=value pairs). Pure and allocation-free so the log collector can call
 * it on every line of its ingestion hot path. */
#ifndef WEFT_TDS_AUTOPARSE_H
#define WEFT_TDS_AUTOPARSE_H
#include <stddef.h>
#include <stdint.h>

#define AP_MAX_METRICS 32
#define AP_NAME_MAX 64

struct ap_metric {
	char name[AP_NAME_MAX]; /* NUL-terminated, never empty */
	double value;           /* always finite */
	char text[32];          /* the number as printed, if value is exactly
				 * strtod(text); "" otherwise (e.g. 9890/10000) */
};

struct ap_result {
	char group[16];    /* "train", "validate" or "test" */
	int64_t iteration; /* step/iteration counter; -1 if the line has none */
	int epoch;         /* -1 if the line has none */
	int64_t total;     /* Keras progress total (`300/1875` gives 1875); -1 if none */
	int n;             /* metrics in m[], 0..AP_MAX_METRICS */
	struct ap_metric m[AP_MAX_METRICS];
};

/* Parses one line (len bytes, not NUL-terminated, may contain any bytes;
 * a trailing '\n' is fine). Returns out->n, the number of metrics found
 * (0 = none); never reads past len, never allocates, never fails.
 * out->group/iteration/epoch are always set, and may be set even when 0 is
 * returned (`Epoch 3/10` gives epoch 3; Caffe's `Iteration 500, Testing net`
 * gives iteration 500): the caller carries them over to the following lines
 * if it wants to (Caffe's "Test net output" lines have no iteration).
 *
 * Conventions:
 * - Keras: one record per line in group "train", names exactly as printed
 *   (`val_loss` stays `val_loss`, not moved to "validate"); the progress
 *   counter (`1875/1875` gives 1875) is the iteration.
 * - Caffe: "Test net output" lines are group "test", everything else "train".
 * - PyTorch: names are lower-cased (`Loss:` gives `loss`); `Test set:` lines
 *   are group "test", `Accuracy: 9890/10000` gives 0.989; `Train Epoch: 3
 *   [12800/60000 (21%)]` gives epoch 3 (the sample offset is not an iteration).
 * - name=value: `epoch`, `step`, `iter`, `iteration`, `global_step` fill
 *   epoch/iteration instead of becoming metrics; a line starting with
 *   `epoch N` or `epoch N/M` gives epoch N; all-uppercase names with '_'
 *   (`OMP_NUM_THREADS=4`, environment dumps) are not metrics; the name must
 *   start the line or follow a space, ',', ';' or '|' (so `?a=1`, `--lr=1`
 *   are not metrics) and the value must end at one of those or the line end.
 * - nan/inf values are dropped; names longer than 63 bytes are dropped;
 *   at most 32 metrics per line (the rest are dropped).
 * - a line with '\r' or '\b' (terminal progress redraws) is parsed from its
 *   last non-blank part; ANSI colour escapes are ignored; a line with any
 *   other control byte (binary garbage) gives 0. */
int ap_parse_line(const char *line, size_t len, struct ap_result *out);

#endif

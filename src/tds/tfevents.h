/* tfevents.h - reader of TensorBoard event files for the `tensorboard`
 * collector: TFRecord framing (length, masked CRC-32C of the length, data,
 * masked CRC-32C of the data) around TensorFlow `Event` protobufs, decoded
 * with our own schema proto/tfevent.proto. Turns each event's scalar summaries
 * (simple_value, or one-element numeric tensors as tf.summary v2 and
 * torch.utils.tensorboard write them) into em_rec records. Pure library code:
 * the caller keeps file offsets and follows files as they grow. */
#ifndef WEFT_TDS_TFEVENTS_H
#define WEFT_TDS_TFEVENTS_H
#include "tds/record.h"
#include "util/err.h"
#include <stddef.h>
#include <stdint.h>

/* Records longer than this are taken as corrupt framing. */
#define TFE_MAX_RECORD (64u << 20)
/* Bytes of framing around a record's data: 8 length + 4 + 4 CRCs. */
#define TFE_FRAMING 16

/* CRC-32C (Castagnoli), as TFRecord uses it; hardware crc32 instructions
 * where the CPU has them, slicing-by-8 tables otherwise. Thread-safe.
 * tfe_crc32c_sw always uses the tables (for tests). */
uint32_t tfe_crc32c(const void *p, size_t n);
uint32_t tfe_crc32c_sw(const void *p, size_t n);
/* TFRecord's masking: ((crc >> 15) | (crc << 17)) + 0xa282ead8. */
uint32_t tfe_masked_crc(uint32_t crc);

/* Counters tfe_parse ADDS to (so one struct can total a file's calls). */
struct tfe_stats {
	int64_t events;  /* records whose Event decoded */
	int64_t scalars; /* scalar values emitted */
	int64_t corrupt; /* records skipped: bad data CRC or undecodable Event */
	int64_t skipped; /* events without scalar values (file_version, graphs,
			  * histograms, images, text, hparams...) */
	uint64_t last_corrupt_at; /* base + offset of the last corrupt record */
};

/* Parses the complete records in buf[0..len), which starts at a record
 * boundary, and emits one em_rec per event with scalar values (the records
 * of a TF 1.x, TF 2.x or torch.utils.tensorboard event file):
 *   group = group; subid = NULL; time_ms = wall_time in ms (0 when the
 *   wall_time is not a time between 1970 and 9999);
 *   etimes: iteration (INT, the step), timestamp (STRING, RFC3339 UTC with
 *   milliseconds: "2026-11-28T12:00:00.123Z") and wall_time (FLOAT, seconds,
 *   shortest text that reads back to the same double), the latter two only
 *   for a valid wall_time;
 *   values: {tag: FLOAT} per scalar, in the event's order; text is the
 *   shortest that reads back to the same float/double ("0.1", "3", "NaN",
 *   "Infinity", "-Infinity"); tags are made valid UTF-8 (bad bytes -> '?');
 *   values with an empty tag are dropped. Every INT/FLOAT em_kv has
 *   has_num = 1 and num = the double strtod reads from its text.
 * An event with more than EM_MAX_VALUES scalars is emitted as several records
 * with the same etimes. Tensor values count when the dtype is numeric (float,
 * double, half, bfloat16, int8..int64, uint8..uint64), the shape has one
 * element, and the value's plugin (when metadata names one) is "scalars".
 * A record with a bad data CRC or an Event that does not decode is skipped
 * (st->corrupt) and parsing goes on. A trailing incomplete record is left
 * alone: *consumed = end of the last complete record (the file is still
 * being written; call again from there with more bytes).
 * Returns 0; WEFT_EINVAL when a record's length CRC is wrong or its length
 * is over TFE_MAX_RECORD (the file cannot be re-framed; the message names
 * the byte offset base + *consumed, and *consumed = that record's start); or
 * the emit callback's error, with *consumed = the start of the record whose
 * emit failed (its earlier records were emitted; of an event split over
 * several records, the parts already emitted come again). base is only used in
 * messages and stats: the file offset of buf[0]. group must not be NULL;
 * st may be NULL. Never allocates per record (a per-call arena holds the
 * decoded protobufs); em_rec pointers are valid only during emit. */
int tfe_parse_at(const unsigned char *buf, size_t len, uint64_t base, const char *group, size_t *consumed,
		 em_emit_fn emit, void *ctx, struct tfe_stats *st, struct weft_err *e);
/* tfe_parse_at with base 0. */
int tfe_parse(const unsigned char *buf, size_t len, const char *group, size_t *consumed, em_emit_fn emit,
	      void *ctx, struct tfe_stats *st, struct weft_err *e);

/* The size in bytes (framing included) of the record that starts buf, once
 * its 12-byte header is there and its length checksum is right; 0 otherwise.
 * A caller that reads a file in chunks uses it when tfe_parse consumed
 * nothing: the next read must then hold at least this many bytes (up to
 * TFE_MAX_RECORD + TFE_FRAMING: a TensorFlow graph can be megabytes). */
size_t tfe_record_size(const unsigned char *buf, size_t len);

/* Receives one event file: path = dir + "/" + relative path; group = its
 * directory relative to dir ("." for dir itself, "train", "eval/sub").
 * Returns 0 to go on, or a negative code to stop tfe_find with that code. */
typedef int (*tfe_found_fn)(void *ctx, const char *path, const char *group);

/* Walks dir for regular files whose name contains "tfevents", at most
 * TFE_FIND_DEPTH directory levels below dir, and calls found for each, sorted
 * by group, then by file name (TensorFlow's names start with the creation
 * time, so a run's files come oldest first). Symbolic links are followed only
 * when they resolve inside dir, and no directory is walked twice. A missing
 * dir is not an error (no calls); subdirectories that cannot be read are
 * skipped. Returns 0, found's error, WEFT_EINVAL if dir is not a directory,
 * or WEFT_EIO if dir cannot be read. */
#define TFE_FIND_DEPTH 8
int tfe_find(const char *dir, tfe_found_fn found, void *ctx, struct weft_err *e);

#endif

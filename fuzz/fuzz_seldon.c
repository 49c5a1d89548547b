/* fuzz_seldon.c - libFuzzer target for the Seldon v1 codec: arbitrary bytes as
 * a prediction body (and as a feedback body), in an exactly-sized heap buffer
 * so ASan catches any read past the end. A body that parses is answered in
 * its own form and the answer must be JSON that parses back to the same
 * payload: every float bit for bit, JSON payloads equal, bytes equal. The
 * bytes also go through seldon_annotate as a model server's answer. */
#include "serve/seldon.h"
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAX_NUMEL (1 << 16)

static void check_err(const struct seldon_err *e)
{
	if ((e->http != 400 && e->http != 413) || e->code != e->http || !e->reason ||
	    !memchr(e->info, '\0', sizeof e->info) || !e->info[0])
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size ? size : 1);
	if (size)
		memcpy(buf, data, size);
	struct seldon_msg m, back;
	struct seldon_err err;
	if (seldon_parse(buf, size, MAX_NUMEL, &m, &err)) {
		check_err(&err);
	} else {
		struct seldon_reply r;
		seldon_reply_init(&r, &m);
		if (m.numeric) {
			r.t = &m.tensor;
		} else {
			r.kind = m.kind;
			r.payload = m.payload;
			r.bin = m.bin;
			r.binlen = m.binlen;
		}
		r.names = (const char *const *)m.names;
		r.nnames = m.nnames;
		struct seldon_node path = { "node", "image:tag" };
		r.path = &path;
		r.npath = 1;
		struct sbuf sb = SBUF_INIT;
		if (seldon_format(&r, &sb, &err))
			abort();
		json_t *j = json_loadb(sb.buf, sb.len, JSON_ALLOW_NUL, NULL);
		if (!j)
			abort();
		json_decref(j);
		if (seldon_parse(sb.buf, sb.len, MAX_NUMEL, &back, &err))
			abort();
		if (back.kind != m.kind || back.numeric != m.numeric || (m.names && back.nnames != m.nnames) ||
		    back.binlen != m.binlen)
			abort();
		if (m.numeric) {
			if (back.tensor.numel != m.tensor.numel ||
			    memcmp(back.tensor.data, m.tensor.data, sizeof(float) * (size_t)m.tensor.numel))
				abort();
			/* ndarray shapes come back the same; tensor shapes too */
			if (back.tensor.ndim != (m.tensor.ndim ? m.tensor.ndim : (m.kind == SELDON_NDARRAY ? 1 : 0)))
				abort();
		}
		if (m.payload && !json_equal(m.payload, back.payload))
			abort();
		if (m.binlen && memcmp(m.bin, back.bin, m.binlen))
			abort();
		if ((m.puid == NULL) == (back.puid == NULL) && m.puid && strcmp(m.puid, back.puid))
			abort();
		seldon_msg_free(&back);
		seldon_msg_free(&m);
		sb_release(&sb);
	}
	/* the same bytes as a custom model server's answer */
	struct sbuf ann = SBUF_INIT;
	struct seldon_node node = { "model", "custom" };
	if (seldon_annotate(buf, size, NULL, &node, 1, &ann, &err) == 0) {
		json_t *a = json_loadb(ann.buf, ann.len, JSON_ALLOW_NUL, NULL);
		if (!a || !json_is_string(json_object_get(json_object_get(a, "meta"), "puid")))
			abort();
		json_decref(a);
	} else if (err.http != 500 || ann.len) {
		abort();
	}
	sb_release(&ann);
	struct seldon_feedback f;
	if (seldon_parse_feedback(buf, size, MAX_NUMEL, &f, &err))
		check_err(&err);
	else
		seldon_feedback_free(&f);
	free(buf);
	return 0;
}

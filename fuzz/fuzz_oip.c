/* fuzz_oip.c - libFuzzer target for the Open Inference Protocol v2 codec:
 * arbitrary bytes as an infer body, in an exactly-sized heap buffer. A body
 * that parses is answered with each input echoed as an output of the same
 * datatype; the answer must be JSON, and its outputs, sent back as inputs,
 * must parse to the same names, shapes, and values bit for bit. */
#include "serve/oip.h"
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAX_NUMEL (1 << 16)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size ? size : 1);
	if (size)
		memcpy(buf, data, size);
	struct oip_request r, back;
	struct weft_err e;
	int rc = oip_parse_request(buf, size, MAX_NUMEL, &r, &e);
	if (rc) {
		if ((rc != WEFT_EINVAL && rc != WEFT_ETOOBIG) || e.code != rc || !e.msg[0] || r.inputs || r.ninputs)
			abort();
		free(buf);
		return 0;
	}
	if (r.ninputs < 1)
		abort();
	struct oip_output *outs = calloc((size_t)r.ninputs, sizeof *outs);
	for (int i = 0; i < r.ninputs; i++) {
		outs[i].t = &r.inputs[i].t;
		outs[i].dtype = r.inputs[i].dtype;
		outs[i].bytes = r.inputs[i].bytes;
		outs[i].parameters = r.inputs[i].parameters;
	}
	struct oip_reply rep = { .model_name = "m", .id = r.id, .parameters = r.parameters, .outputs = outs,
				 .noutputs = r.ninputs };
	struct sbuf sb = SBUF_INIT, req = SBUF_INIT;
	if (oip_format_response(&rep, &sb, &e))
		abort();
	/* as reals: UINT64 values exceed jansson's int64 */
	json_t *j = json_loadb(sb.buf, sb.len, JSON_DECODE_INT_AS_REAL | JSON_ALLOW_NUL, NULL);
	if (!j)
		abort();
	json_decref(j);
	const char *o = strstr(sb.buf, ",\"outputs\":");
	if (!o)
		abort();
	/* the outputs array (the response's last member) as the inputs of a request */
	sb_adds(&req, "{\"inputs\":");
	sb_add(&req, o + 11, strlen(o + 11) - 1);
	sb_addc(&req, '}');
	if (oip_parse_request(req.buf, req.len, MAX_NUMEL, &back, &e))
		abort();
	if (back.ninputs != r.ninputs)
		abort();
	for (int i = 0; i < r.ninputs; i++) {
		const struct oip_input *a = &r.inputs[i], *b = &back.inputs[i];
		if (strcmp(a->t.name, b->t.name) || a->dtype != b->dtype || a->t.ndim != b->t.ndim ||
		    a->t.numel != b->t.numel || memcmp(a->t.shape, b->t.shape, sizeof a->t.shape[0] * (size_t)a->t.ndim))
			abort();
		if (a->dtype != OIP_BYTES && memcmp(a->t.data, b->t.data, sizeof(float) * (size_t)a->t.numel))
			abort();
	}
	oip_request_free(&back);
	oip_request_free(&r);
	sb_release(&sb);
	sb_release(&req);
	free(outs);
	free(buf);
	return 0;
}

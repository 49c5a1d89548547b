/* fuzz_onnx.c - libFuzzer target for weft's native ONNX runtime: the input is model bytes
 * for onnx_load (in an exactly-sized heap buffer, so ASan catches any over-read). A model
 * that loads runs once on small inputs shaped as it declares (dynamic dimensions 2, an
 * unknown rank [2,3]), under a small per-tensor limit so the fuzzer stays fast.
 * Checks: errors are WEFT_EINVAL or WEFT_ETOOBIG with a message; a run's outputs have
 * the element count their shape says; a second run on the same session agrees. */
#include "serve/onnx.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define LIMIT (1 << 16)

static int check_rc(int rc, const struct weft_err *e)
{
	if (rc != 0 && rc != WEFT_EINVAL && rc != WEFT_ETOOBIG)
		abort();
	if (rc && !e->msg[0])
		abort();
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char *buf = malloc(size ? size : 1);
	memcpy(buf, data, size);
	struct onnx_opts opts = {.max_numel = LIMIT};
	struct onnx_model *m = NULL;
	struct weft_err e = {0};
	int rc = check_rc(onnx_load_opts(buf, size, &opts, &m, &e), &e);
	free(buf);
	if (rc)
		return 0;
	int n_in = onnx_n_inputs(m), n_out = onnx_n_outputs(m);
	if (n_in < 0 || n_out < 1 || n_in > 64 || onnx_n_nodes(m) < 0)
		abort();
	struct wtensor *in = calloc((size_t)n_in + 1, sizeof *in), out[2][4];
	int ok = 1;
	for (int i = 0; i < n_in && ok; i++) {
		int64_t shape[WT_MAX_DIMS];
		int nd = onnx_input_shape(m, i, shape);
		if (nd < 0) {
			nd = 2;
			shape[0] = 2;
			shape[1] = 3;
		}
		for (int d = 0; d < nd; d++)
			if (shape[d] < 0)
				shape[d] = 2;
		if (!onnx_input_name(m, i) || wt_alloc(&in[i], nd, shape, 4096) != 0) {
			ok = 0; /* declared too large to try */
			break;
		}
		for (int64_t k = 0; k < in[i].numel; k++)
			in[i].data[k] = (float)((k * 7 + i) % 11) - 5.0f;
	}
	int want = n_out < 4 ? n_out : 4;
	struct onnx_session *s = onnx_session_new(m);
	for (int round = 0; ok && round < 2; round++) {
		rc = check_rc(onnx_run(s, in, n_in, out[round], want, &e), &e);
		if (rc) {
			if (round == 1)
				abort(); /* the same inputs worked a moment ago */
			break;
		}
		for (int k = 0; k < want; k++) {
			int64_t n = 1;
			for (int d = 0; d < out[round][k].ndim; d++)
				n *= out[round][k].shape[d];
			if (n != out[round][k].numel || out[round][k].ndim > WT_MAX_DIMS)
				abort();
		}
		if (round == 1) {
			for (int k = 0; k < want; k++) {
				if (out[0][k].ndim != out[1][k].ndim ||
				    memcmp(out[0][k].shape, out[1][k].shape, sizeof(int64_t) * (size_t)out[0][k].ndim))
					abort();
				for (int64_t j = 0; j < out[0][k].numel; j++) {
					float a = out[0][k].data[j], b = out[1][k].data[j];
					if (a != b && !(a != a && b != b))
						abort(); /* runs are deterministic */
				}
			}
		}
	}
	if (ok && rc == 0)
		for (int round = 0; round < 2; round++)
			for (int k = 0; k < want; k++)
				wt_free(&out[round][k]);
	for (int i = 0; i < n_in; i++)
		wt_free(&in[i]);
	free(in);
	onnx_session_free(s);
	onnx_free(m);
	return 0;
}

/* tensor.h - the dense numeric tensor the serving layer passes between the
 * protocol codecs (Seldon v1, Open Inference Protocol v2) and the model
 * runtimes. Values are float32, the native runtime's type; codecs convert
 * other numeric types on the way in (checking they fit) and say which
 * datatype to answer with on the way out. Row-major, shape[0] is the batch. */
#ifndef WEFT_SERVE_TENSOR_H
#define WEFT_SERVE_TENSOR_H
#include <stdint.h>

#define WT_MAX_DIMS 8
#define WT_NAME_MAX 128

struct wtensor {
	char name[WT_NAME_MAX]; /* input/output name ("" if the protocol has none) */
	int ndim;               /* 0..WT_MAX_DIMS */
	int64_t shape[WT_MAX_DIMS];
	int64_t numel;          /* product of shape (1 for ndim 0) */
	float *data;            /* numel values, owned (free with wt_free) */
};

/* Allocates data for the given shape; returns 0, or -1 if a dimension is
 * negative, there are too many, or the element count overflows max_numel. */
int wt_alloc(struct wtensor *t, int ndim, const int64_t *shape, int64_t max_numel);
void wt_free(struct wtensor *t);

#endif

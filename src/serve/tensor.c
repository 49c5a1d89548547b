/* tensor.c - allocation of the serving layer's tensors (see tensor.h). */
#include "serve/tensor.h"
#include "util/mem.h"
#include <stdlib.h>
#include <string.h>

int wt_alloc(struct wtensor *t, int ndim, const int64_t *shape, int64_t max_numel)
{
	if (ndim < 0 || ndim > WT_MAX_DIMS)
		return -1;
	int64_t n = 1;
	for (int i = 0; i < ndim; i++) {
		if (shape[i] < 0 || (shape[i] > 0 && n > max_numel / shape[i]))
			return -1;
		n *= shape[i];
	}
	if (n > max_numel)
		return -1;
	t->ndim = ndim;
	memcpy(t->shape, shape, sizeof *shape * (size_t)ndim);
	t->numel = n;
	t->data = xcalloc((size_t)(n ? n : 1), sizeof *t->data);
	return 0;
}

void wt_free(struct wtensor *t)
{
	free(t->data);
	t->data = NULL;
	t->numel = 0;
	t->ndim = 0;
}

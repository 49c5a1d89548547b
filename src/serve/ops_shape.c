/* ops_shape.c - the data-movement kernels of weft's native ONNX runtime: Identity-style
 * copies, Flatten, Reshape (0 and -1, allowzero), Transpose, Concat and Pad (constant mode,
 * which PyTorch's AvgPool2d export puts before AveragePool). They move float32 and int64
 * elements alike, so shape arithmetic on constants folds through them at load. */
#include "serve/ops.h"
#include <string.h>

int op_copy(const struct ox *x, struct ox *y, int ndim, const int64_t *shape, struct ox_ctx *c,
	    struct weft_err *e)
{
	int64_t tmp[WT_MAX_DIMS];
	memcpy(tmp, shape, sizeof *shape * (size_t)ndim); /* shape may be x's or y's own */
	int rc = ox_reserve(y, x->dtype, ndim, tmp, c, e);
	if (!rc && x->numel)
		memcpy(y->data, x->data, (size_t)x->numel * ox_elsize(x->dtype));
	return rc;
}

static int axis_norm(int64_t axis, int rank, int end_ok, int *out, struct weft_err *e)
{
	int hi = end_ok ? rank : rank - 1;
	if (axis < -rank || axis > hi)
		return err_set(e, WEFT_EINVAL, "axis %lld is out of range for rank %d", (long long)axis, rank);
	*out = (int)(axis < 0 ? axis + rank : axis);
	return 0;
}

int op_flatten(const struct op_node *n, const struct ox *x, struct ox *y, struct ox_ctx *c,
	       struct weft_err *e)
{
	int ax = 0, rc = axis_norm(n->a.axis, x->ndim, 1, &ax, e);
	if (rc)
		return rc;
	int64_t s[2] = {1, 1};
	for (int i = 0; i < x->ndim; i++)
		s[i >= ax] *= x->shape[i];
	return op_copy(x, y, 2, s, c, e);
}

int op_reshape(const struct op_node *n, const struct ox *x, const struct ox *sh, struct ox *y,
		   struct ox_ctx *c, struct weft_err *e)
{
	char s1[160], s2[160];
	if (sh->ndim != 1 || sh->numel > WT_MAX_DIMS)
		return err_set(e, WEFT_EINVAL, "the shape input must be 1-D with at most %d values, "
			       "not of shape %s", WT_MAX_DIMS, ox_shape_str(s1, sizeof s1, sh->ndim, sh->shape));
	const int64_t *v = sh->data;
	int r = (int)sh->numel, neg = -1;
	int64_t s[WT_MAX_DIMS], known = 1;
	for (int i = 0; i < r; i++) {
		s[i] = v[i];
		if (v[i] == 0 && !n->a.allowzero) {
			if (i >= x->ndim)
				return err_set(e, WEFT_EINVAL, "shape value 0 at position %d copies a "
					       "dimension the input (rank %d) lacks", i, x->ndim);
			s[i] = x->shape[i];
		} else if (v[i] == -1) {
			if (neg >= 0 || n->a.allowzero)
				return err_set(e, WEFT_EINVAL, "shape %s has more than one -1 (or a -1 "
					       "with allowzero)", ox_shape_str(s1, sizeof s1, r, v));
			neg = i;
			continue;
		} else if (v[i] < -1) {
			return err_set(e, WEFT_EINVAL, "shape value %lld is invalid", (long long)v[i]);
		}
		if (s[i] > 0 && known > INT64_MAX / s[i])
			return err_set(e, WEFT_EINVAL, "shape %s is too large", ox_shape_str(s1, sizeof s1, r, v));
		known *= s[i];
	}
	if (neg >= 0) {
		if (known == 0 || x->numel % known)
			return err_set(e, WEFT_EINVAL, "cannot reshape %s into %s",
				       ox_shape_str(s1, sizeof s1, x->ndim, x->shape),
				       ox_shape_str(s2, sizeof s2, r, v));
		s[neg] = x->numel / known;
		known = x->numel;
	}
	if (known != x->numel)
		return err_set(e, WEFT_EINVAL, "cannot reshape %s (%lld values) into %s",
			       ox_shape_str(s1, sizeof s1, x->ndim, x->shape), (long long)x->numel,
			       ox_shape_str(s2, sizeof s2, r, v));
	return op_copy(x, y, r, s, c, e);
}

int op_transpose(const struct op_node *n, const struct ox *x, struct ox *y, struct ox_ctx *c,
		     struct weft_err *e)
{
	int r = x->ndim;
	int64_t perm[WT_MAX_DIMS], shape[WT_MAX_DIMS], in_stride[WT_MAX_DIMS], step[WT_MAX_DIMS];
	if (n->a.nperm && n->a.nperm != r)
		return err_set(e, WEFT_EINVAL, "perm has %d values for an input of rank %d", n->a.nperm, r);
	for (int i = 0; i < r; i++)
		perm[i] = n->a.nperm ? n->a.perm[i] : r - 1 - i;
	int64_t m = 1;
	for (int i = r - 1; i >= 0; i--) {
		in_stride[i] = m;
		m *= x->shape[i];
	}
	for (int i = 0; i < r; i++) {
		shape[i] = x->shape[perm[i]];
		step[i] = in_stride[perm[i]];
	}
	int rc = ox_reserve(y, x->dtype, r, shape, c, e);
	if (rc || y->numel == 0)
		return rc;
	if (r == 0) {
		memcpy(y->data, x->data, ox_elsize(x->dtype));
		return 0;
	}
	int64_t idx[WT_MAX_DIMS] = {0}, off = 0, inner = shape[r - 1], is = step[r - 1];
	for (int64_t done = 0; done < y->numel; done += inner) {
		if (x->dtype == OX_INT64) {
			const int64_t *src = x->data;
			int64_t *dst = (int64_t *)y->data + done;
			for (int64_t j = 0; j < inner; j++)
				dst[j] = src[off + j * is];
		} else {
			const float *src = x->data;
			float *dst = (float *)y->data + done;
			for (int64_t j = 0; j < inner; j++)
				dst[j] = src[off + j * is];
		}
		for (int d = r - 2; d >= 0; d--) {
			off += step[d];
			if (++idx[d] < shape[d])
				break;
			off -= step[d] * idx[d];
			idx[d] = 0;
		}
	}
	return 0;
}

int op_concat(const struct op_node *n, const struct ox *const *in, struct ox *y,
		  struct ox_ctx *c, struct weft_err *e)
{
	const struct ox *x0 = in[0];
	int r = x0->ndim, ax = 0, rc;
	if (r == 0)
		return err_set(e, WEFT_EINVAL, "cannot concatenate scalars");
	if ((rc = axis_norm(n->a.axis, r, 0, &ax, e)))
		return rc;
	int64_t shape[WT_MAX_DIMS];
	memcpy(shape, x0->shape, sizeof shape);
	shape[ax] = 0;
	for (int i = 0; i < n->n_in; i++) {
		const struct ox *x = in[i];
		if (!x)
			return err_set(e, WEFT_EINVAL, "input %d is left out", i);
		int same = x->ndim == r;
		for (int d = 0; same && d < r; d++)
			same = d == ax || x->shape[d] == x0->shape[d];
		if (!same) {
			char s1[160], s2[160];
			return err_set(e, WEFT_EINVAL, "input %d has shape %s, which does not match input "
				       "0's %s outside axis %d", i, ox_shape_str(s1, sizeof s1, x->ndim, x->shape),
				       ox_shape_str(s2, sizeof s2, r, x0->shape), ax);
		}
		if (shape[ax] > INT64_MAX - x->shape[ax])
			return err_set(e, WEFT_ETOOBIG, "the concatenation is too large");
		shape[ax] += x->shape[ax];
	}
	if ((rc = ox_reserve(y, x0->dtype, r, shape, c, e)) || y->numel == 0)
		return rc;
	size_t el = ox_elsize(x0->dtype), inner = el;
	int64_t outer = 1;
	for (int d = 0; d < ax; d++)
		outer *= shape[d];
	for (int d = ax + 1; d < r; d++)
		inner *= (size_t)shape[d];
	char *dst = y->data;
	for (int64_t o = 0; o < outer; o++)
		for (int i = 0; i < n->n_in; i++) {
			size_t chunk = inner * (size_t)in[i]->shape[ax];
			if (chunk)
				memcpy(dst, (const char *)in[i]->data + (size_t)o * chunk, chunk);
			dst += chunk;
		}
	return 0;
}


/* Pad, constant mode: pads = [x1_begin, x2_begin, ..., x1_end, x2_end]; negative values crop. */
int op_pad(const struct op_node *n, const struct ox *const *in, struct ox *y, struct ox_ctx *c,
	   struct weft_err *e)
{
	const struct ox *x = in[0];
	int r = x->ndim;
	char s1[160];
	const int64_t *pads = n->a.padlist;
	int np = n->a.n_padlist;
	if (n->n_in > 1 && in[1]) {
		if (in[1]->ndim != 1)
			return err_set(e, WEFT_EINVAL, "pads must be 1-D, not of shape %s",
				       ox_shape_str(s1, sizeof s1, in[1]->ndim, in[1]->shape));
		pads = in[1]->data;
		np = (int)(in[1]->numel > 2 * WT_MAX_DIMS ? 2 * WT_MAX_DIMS + 1 : in[1]->numel);
	}
	if (np != 2 * r)
		return err_set(e, WEFT_EINVAL, "pads has %d values for an input of rank %d (want %d)",
			       np, r, 2 * r);
	int64_t shape[WT_MAX_DIMS], ival = 0;
	float fval = n->a.pad_value;
	if (n->n_in > 2 && in[2] && in[2]->numel > 0) {
		if (x->dtype == OX_INT64)
			ival = *(const int64_t *)in[2]->data;
		else
			fval = *(const float *)in[2]->data;
	}
	for (int d = 0; d < r; d++) {
		if (pads[d] < -x->shape[d] || pads[r + d] < -x->shape[d] ||
		    pads[d] > ((int64_t)1 << 32) || pads[r + d] > ((int64_t)1 << 32) ||
		    x->shape[d] + pads[d] + pads[r + d] < 0)
			return err_set(e, WEFT_EINVAL, "pads %lld and %lld do not suit dimension %d of "
				       "the input %s", (long long)pads[d], (long long)pads[r + d], d,
				       ox_shape_str(s1, sizeof s1, r, x->shape));
		shape[d] = x->shape[d] + pads[d] + pads[r + d];
	}
	int rc = ox_reserve(y, x->dtype, r, shape, c, e);
	if (rc || y->numel == 0)
		return rc;
	if (r == 0)
		return op_copy(x, y, 0, shape, c, e);
	int64_t in_stride[WT_MAX_DIMS], idx[WT_MAX_DIMS] = {0}, m = 1, inner = shape[r - 1];
	for (int d = r - 1; d >= 0; d--) {
		in_stride[d] = m;
		m *= x->shape[d];
	}
	int is64 = x->dtype == OX_INT64;
	for (int64_t done = 0; done < y->numel; done += inner) {
		/* the input row this output row reads, or -1 if it lies in the padding */
		int64_t off = 0;
		for (int d = 0; d < r - 1 && off >= 0; d++) {
			int64_t i = idx[d] - pads[d];
			off = i < 0 || i >= x->shape[d] ? -1 : off + i * in_stride[d];
		}
		for (int64_t j = 0; j < inner; j++) {
			int64_t i = j - pads[r - 1];
			int inside = off >= 0 && i >= 0 && i < x->shape[r - 1];
			if (is64)
				((int64_t *)y->data)[done + j] = inside ? ((const int64_t *)x->data)[off + i] : ival;
			else
				((float *)y->data)[done + j] = inside ? ((const float *)x->data)[off + i] : fval;
		}
		for (int d = r - 2; d >= 0; d--) {
			if (++idx[d] < shape[d])
				break;
			idx[d] = 0;
		}
	}
	return 0;
}

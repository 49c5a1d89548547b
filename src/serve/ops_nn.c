/* ops_nn.c - the heavy kernels of weft's native ONNX runtime: Gemm and MatMul on
 * cblas_sgemm, Conv as im2col + sgemm per group, MaxPool/AveragePool with PyTorch's
 * ceil_mode and count_include_pad rules, GlobalAveragePool, BatchNormalization (inference)
 * and Softmax (opset 13's one-axis form and the older 2-D coercion). Float32 only; shapes
 * are checked here at run time, so a mismatch names both shapes. See ops.h. */
#include "serve/ops.h"
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define SHAPE(buf, t) ox_shape_str(buf, sizeof buf, (t)->ndim, (t)->shape)

/* Row-major C = alpha * op(A) op(B) + beta * C, safe for empty dimensions. The caller keeps
 * every size under the runtime's element limit, which fits in an int. */
static void sgemm(int ta, int tb, int64_t M, int64_t N, int64_t K, float alpha, const float *A,
		  int64_t lda, const float *B, int64_t ldb, float beta, float *C, int64_t ldc)
{
	if (M == 0 || N == 0)
		return;
	if (K == 0) {
		for (int64_t i = 0; i < M; i++)
			for (int64_t j = 0; j < N; j++)
				C[i * ldc + j] = beta == 0 ? 0 : beta * C[i * ldc + j];
		return;
	}
	cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
		    (int)M, (int)N, (int)K, alpha, A, (int)lda, B, (int)ldb, beta, C, (int)ldc);
}

int op_gemm(const struct op_node *n, const struct ox *const *in, struct ox *y, struct ox_ctx *c,
	    struct weft_err *e)
{
	const struct ox *A = in[0], *B = in[1], *C = n->n_in > 2 ? in[2] : NULL;
	char s1[160], s2[160];
	if (A->ndim != 2 || B->ndim != 2)
		return err_set(e, WEFT_EINVAL, "A %s and B %s must both be 2-D", SHAPE(s1, A), SHAPE(s2, B));
	int ta = n->a.trans_a, tb = n->a.trans_b;
	int64_t M = A->shape[ta], K = A->shape[!ta], Kb = B->shape[tb], N = B->shape[!tb];
	if (K != Kb)
		return err_set(e, WEFT_EINVAL, "A %s and B %s do not multiply (transA=%d, transB=%d)",
			       SHAPE(s1, A), SHAPE(s2, B), ta, tb);
	int64_t cm = 1, cn = 1;
	if (C) {
		cm = C->ndim == 2 ? C->shape[0] : 1;
		cn = C->ndim >= 1 ? C->shape[C->ndim - 1] : 1;
		if (C->ndim > 2 || (cm != M && cm != 1) || (cn != N && cn != 1))
			return err_set(e, WEFT_EINVAL, "C %s does not broadcast to the output [%lld,%lld]",
				       SHAPE(s1, C), (long long)M, (long long)N);
	}
	int64_t shape[2] = {M, N};
	int rc = ox_reserve(y, OX_FLOAT, 2, shape, c, e);
	if (rc)
		return rc;
	float *Y = y->data, beta = 0;
	if (C && n->a.beta != 0) {
		const float *cv = C->data;
		for (int64_t i = 0; i < M; i++)
			for (int64_t j = 0; j < N; j++)
				Y[i * N + j] = cv[(cm == 1 ? 0 : i) * cn + (cn == 1 ? 0 : j)];
		beta = n->a.beta;
	}
	sgemm(ta, tb, M, N, K, n->a.alpha, A->data, A->shape[1], B->data, B->shape[1], beta, Y, N);
	return 0;
}

int op_matmul(const struct ox *const *in, struct ox *y, struct ox_ctx *c, struct weft_err *e)
{
	const struct ox *A = in[0], *B = in[1];
	char s1[160], s2[160];
	if (A->ndim < 1 || B->ndim < 1)
		return err_set(e, WEFT_EINVAL, "inputs %s and %s must have at least one dimension",
			       SHAPE(s1, A), SHAPE(s2, B));
	int64_t M = A->ndim == 1 ? 1 : A->shape[A->ndim - 2], K = A->shape[A->ndim - 1];
	int64_t Kb = B->ndim == 1 ? B->shape[0] : B->shape[B->ndim - 2];
	int64_t N = B->ndim == 1 ? 1 : B->shape[B->ndim - 1];
	if (K != Kb)
		return err_set(e, WEFT_EINVAL, "A %s and B %s do not multiply", SHAPE(s1, A), SHAPE(s2, B));
	int ba = A->ndim > 2 ? A->ndim - 2 : 0, bb = B->ndim > 2 ? B->ndim - 2 : 0;
	int r = ba > bb ? ba : bb, nd = 0;
	int64_t shape[WT_MAX_DIMS], sa[WT_MAX_DIMS], sb[WT_MAX_DIMS];
	for (int i = 0; i < r; i++) {
		int ia = i - (r - ba), ib = i - (r - bb);
		int64_t da = ia >= 0 ? A->shape[ia] : 1, db = ib >= 0 ? B->shape[ib] : 1;
		if (da != db && da != 1 && db != 1)
			return err_set(e, WEFT_EINVAL, "the batch dimensions of %s and %s cannot be "
				       "broadcast together", SHAPE(s1, A), SHAPE(s2, B));
		shape[nd++] = da == 1 ? db : da;
	}
	if (A->ndim > 1)
		shape[nd++] = M;
	if (B->ndim > 1)
		shape[nd++] = N;
	if (nd > WT_MAX_DIMS)
		return err_set(e, WEFT_EINVAL, "the output would have more than %d dimensions", WT_MAX_DIMS);
	int rc = ox_reserve(y, OX_FLOAT, nd, shape, c, e);
	if (rc || y->numel == 0)
		return rc;
	const float *pa = A->data, *pb = B->data;
	float *py = y->data;
	if (bb == 0) { /* one product: A's batch folds into its rows */
		int64_t rows = M;
		for (int i = 0; i < ba; i++)
			rows *= A->shape[i];
		sgemm(0, 0, rows, N, K, 1, pa, K, pb, N, 0, py, N);
		return 0;
	}
	/* strides of each batch dimension in A and B, 0 where broadcast */
	int64_t ma = M * K, mb = K * N, batch = 1;
	for (int i = r - 1; i >= 0; i--) {
		int ia = i - (r - ba), ib = i - (r - bb);
		int64_t da = ia >= 0 ? A->shape[ia] : 1, db = ib >= 0 ? B->shape[ib] : 1;
		sa[i] = da == 1 ? 0 : ma;
		sb[i] = db == 1 ? 0 : mb;
		ma *= da;
		mb *= db;
		batch *= shape[i];
	}
	int64_t idx[WT_MAX_DIMS] = {0}, oa = 0, ob = 0;
	for (int64_t t = 0; t < batch; t++) {
		sgemm(0, 0, M, N, K, 1, pa + oa, K, pb + ob, N, 0, py + t * M * N, N);
		for (int d = r - 1; d >= 0; d--) {
			oa += sa[d];
			ob += sb[d];
			if (++idx[d] < shape[d])
				break;
			oa -= sa[d] * idx[d];
			ob -= sb[d] * idx[d];
			idx[d] = 0;
		}
	}
	return 0;
}

/* ---- sliding windows: 1-D inputs run as 2-D with H = 1 ---- */

struct win {
	int nsp;
	int64_t N, C, H, W, OH, OW, kh, kw, sh, sw, dh, dw, pt, pl, pb, pr;
};

/* One spatial dimension's output size and padding (ONNX's formulas; ceil_mode as PyTorch:
 * a window that would start in the end padding is dropped). -1: the window does not fit. */
static int out_dim(int64_t in, int64_t k, int64_t s, int64_t d, int auto_pad, int ceil_mode,
		   int64_t *pb, int64_t *pe, int64_t *out)
{
	int64_t dk = (k - 1) * d + 1;
	if (auto_pad == AP_SAME_UPPER || auto_pad == AP_SAME_LOWER) {
		int64_t o = (in + s - 1) / s, total = (o - 1) * s + dk - in;
		if (total < 0)
			total = 0;
		*pb = auto_pad == AP_SAME_UPPER ? total / 2 : total - total / 2;
		*pe = total - *pb;
		*out = o;
		return 0;
	}
	if (auto_pad == AP_VALID)
		*pb = *pe = 0;
	int64_t span = in + *pb + *pe - dk;
	if (span < 0)
		return -1;
	int64_t o = (ceil_mode ? (span + s - 1) / s : span / s) + 1;
	if (ceil_mode && (o - 1) * s >= in + *pb)
		o--;
	*out = o;
	return 0;
}

/* Fills w from the input's shape, the kernel size k (from the weights or kernel_shape) and
 * the node's attributes. */
static int win_init(const struct op_node *n, const struct ox *x, const int64_t *k, struct win *w,
		    struct weft_err *e)
{
	const struct op_attrs *a = &n->a;
	char s1[160];
	if (x->ndim != 3 && x->ndim != 4)
		return err_set(e, WEFT_EINVAL, "input of shape %s: expected rank 3 (N,C,L) or 4 (N,C,H,W)",
			       SHAPE(s1, x));
	int nsp = x->ndim - 2;
	if ((a->nsp && a->nsp != nsp) || (a->n_strides && a->n_strides != nsp) ||
	    (a->n_dil && a->n_dil != nsp) || (a->n_pads && a->n_pads != 2 * nsp))
		return err_set(e, WEFT_EINVAL, "kernel_shape, strides, dilations or pads do not suit a "
			       "%d-D input of shape %s", nsp, SHAPE(s1, x));
	memset(w, 0, sizeof *w);
	w->nsp = nsp;
	w->N = x->shape[0];
	w->C = x->shape[1];
	w->H = nsp == 2 ? x->shape[2] : 1;
	w->W = x->shape[nsp + 1];
	w->kh = nsp == 2 ? k[0] : 1;
	w->kw = k[nsp - 1];
	w->sh = nsp == 2 && a->n_strides ? a->strides[0] : 1;
	w->sw = a->n_strides ? a->strides[nsp - 1] : 1;
	w->dh = nsp == 2 && a->n_dil ? a->dilations[0] : 1;
	w->dw = a->n_dil ? a->dilations[nsp - 1] : 1;
	if (a->n_pads) {
		w->pt = nsp == 2 ? a->pads[0] : 0;
		w->pb = nsp == 2 ? a->pads[2] : 0;
		w->pl = a->pads[nsp - 1];
		w->pr = a->pads[2 * nsp - 1];
	}
	int ceil = n->kind != OP_CONV && a->ceil_mode;
	if (out_dim(w->H, w->kh, w->sh, w->dh, nsp == 2 ? a->auto_pad : AP_NOTSET, ceil, &w->pt, &w->pb, &w->OH) ||
	    out_dim(w->W, w->kw, w->sw, w->dw, a->auto_pad, ceil, &w->pl, &w->pr, &w->OW))
		return err_set(e, WEFT_EINVAL, "the window (kernel %lldx%lld, dilation %lldx%lld) is "
			       "larger than the padded input %s", (long long)w->kh, (long long)w->kw,
			       (long long)w->dh, (long long)w->dw, SHAPE(s1, x));
	return 0;
}

static int win_reserve(const struct win *w, int64_t channels, struct ox *y, struct ox_ctx *c,
		       struct weft_err *e)
{
	int64_t shape[4] = {w->N, channels, w->OH, w->OW};
	if (w->nsp == 1)
		shape[2] = w->OW;
	return ox_reserve(y, OX_FLOAT, w->nsp + 2, shape, c, e);
}

/* col[(c*kh + i)*kw + j][oh*OW + ow] = x[c][oh*sh - pt + i*dh][ow*sw - pl + j*dw], 0 outside. */
static void im2col(const float *x, const struct win *w, int64_t channels, float *col)
{
	int64_t P = w->OH * w->OW;
	for (int64_t ch = 0; ch < channels; ch++)
		for (int64_t i = 0; i < w->kh; i++)
			for (int64_t j = 0; j < w->kw; j++) {
				float *row = col + ((ch * w->kh + i) * w->kw + j) * P;
				for (int64_t oh = 0; oh < w->OH; oh++) {
					float *r = row + oh * w->OW;
					int64_t ih = oh * w->sh - w->pt + i * w->dh;
					if (ih < 0 || ih >= w->H) {
						memset(r, 0, sizeof *r * (size_t)w->OW);
						continue;
					}
					const float *xr = x + (ch * w->H + ih) * w->W;
					for (int64_t ow = 0; ow < w->OW; ow++) {
						int64_t iw = ow * w->sw - w->pl + j * w->dw;
						r[ow] = iw >= 0 && iw < w->W ? xr[iw] : 0;
					}
				}
			}
}

int op_conv(const struct op_node *n, const struct ox *const *in, struct ox *y, struct ox_ctx *c,
	    struct weft_err *e)
{
	const struct ox *X = in[0], *Wt = in[1], *B = n->n_in > 2 ? in[2] : NULL;
	char s1[160], s2[160];
	if (Wt->ndim != X->ndim || X->ndim < 3)
		return err_set(e, WEFT_EINVAL, "weights %s do not suit the input %s", SHAPE(s1, Wt),
			       SHAPE(s2, X));
	int nsp = X->ndim - 2;
	int64_t G = n->a.group, M = Wt->shape[0], Cg = Wt->shape[1];
	if (X->shape[1] != Cg * G || M % G)
		return err_set(e, WEFT_EINVAL, "input %s and weights %s do not match with group %lld",
			       SHAPE(s1, X), SHAPE(s2, Wt), (long long)G);
	for (int i = 0; n->a.nsp && i < nsp; i++)
		if (n->a.kernel[i] != Wt->shape[2 + i])
			return err_set(e, WEFT_EINVAL, "kernel_shape does not match the weights %s",
				       SHAPE(s1, Wt));
	if (B && (B->ndim != 1 || B->shape[0] != M))
		return err_set(e, WEFT_EINVAL, "bias %s should be [%lld]", SHAPE(s1, B), (long long)M);
	struct win w;
	int rc = win_init(n, X, Wt->shape + 2, &w, e);
	if (rc || (rc = win_reserve(&w, M, y, c, e)) || y->numel == 0)
		return rc;
	int64_t Mg = M / G, K = Cg * w.kh * w.kw, P = w.OH * w.OW;
	int direct = w.kh == 1 && w.kw == 1 && w.sh == 1 && w.sw == 1 && !w.pt && !w.pl && !w.pb && !w.pr;
	if (!direct) {
		int64_t need = ox_numel(1, &K, c->max_numel);
		need = need < 0 || (P && need > c->max_numel / P) ? -1 : need * P;
		if (need < 0)
			return err_set(e, WEFT_ETOOBIG, "the convolution's unfolded input (%lld x %lld) "
				       "is over the limit of %lld values", (long long)K, (long long)P,
				       (long long)c->max_numel);
		if ((size_t)need > c->scratch_cap) {
			float *p = realloc(c->scratch, sizeof *p * (size_t)(need ? need : 1));
			if (!p)
				return err_set(e, WEFT_EIO, "out of memory for %lld values", (long long)need);
			c->scratch = p;
			c->scratch_cap = (size_t)(need ? need : 1);
		}
	}
	const float *px = X->data, *pw = Wt->data, *pbias = B ? B->data : NULL;
	float *py = y->data;
	for (int64_t b = 0; b < w.N; b++)
		for (int64_t g = 0; g < G; g++) {
			const float *xg = px + (b * w.C + g * Cg) * w.H * w.W;
			if (!direct)
				im2col(xg, &w, Cg, c->scratch);
			float *yg = py + (b * M + g * Mg) * P;
			sgemm(0, 0, Mg, P, K, 1, pw + g * Mg * K, K, direct ? xg : c->scratch, P, 0, yg, P);
			for (int64_t m = 0; pbias && m < Mg; m++)
				for (int64_t p = 0; p < P; p++)
					yg[m * P + p] += pbias[g * Mg + m];
		}
	return 0;
}

/* Window positions start + j*d, j in [0,k): those inside [0,n) are j in [*lo,*hi), and
 * *padded of them lie before n + end_pad. Computed, not counted, so the cost of a window
 * is bounded by the input it covers however large the kernel attribute is. */
static void window_span(int64_t start, int64_t k, int64_t d, int64_t n, int64_t end_pad,
			int64_t *lo, int64_t *hi, int64_t *padded)
{
	*lo = start >= 0 ? 0 : (-start + d - 1) / d;
	*hi = start >= n ? 0 : (n - 1 - start) / d + 1;
	if (*hi > k)
		*hi = k;
	if (*lo > *hi)
		*lo = *hi;
	int64_t lim = n + end_pad - start;
	*padded = lim <= 0 ? 0 : (lim + d - 1) / d;
	if (*padded > k)
		*padded = k;
}

int op_pool(const struct op_node *n, const struct ox *x, struct ox *y, struct ox_ctx *c,
	    struct weft_err *e)
{
	struct win w;
	int rc = win_init(n, x, n->a.kernel, &w, e);
	if (rc || (rc = win_reserve(&w, w.C, y, c, e)) || y->numel == 0)
		return rc;
	int is_max = n->kind == OP_MAXPOOL, incl = n->a.count_include_pad;
	const float *px = x->data;
	float *py = y->data;
	for (int64_t plane = 0; plane < w.N * w.C; plane++) {
		const float *xp = px + plane * w.H * w.W;
		for (int64_t oh = 0; oh < w.OH; oh++)
			for (int64_t ow = 0; ow < w.OW; ow++) {
				int64_t i0, i1, rows_pad, j0, j1, cols_pad;
				int64_t hs = oh * w.sh - w.pt, ws = ow * w.sw - w.pl;
				window_span(hs, w.kh, w.dh, w.H, w.pb, &i0, &i1, &rows_pad);
				window_span(ws, w.kw, w.dw, w.W, w.pr, &j0, &j1, &cols_pad);
				float m = -INFINITY, sum = 0;
				for (int64_t i = i0; i < i1; i++) {
					const float *xr = xp + (hs + i * w.dh) * w.W;
					for (int64_t j = j0; j < j1; j++) {
						float v = xr[ws + j * w.dw];
						if (v > m || isnan(v))
							m = v;
						sum += v;
					}
				}
				float out;
				if (is_max) {
					out = m;
				} else {
					int64_t div = incl ? rows_pad * cols_pad : (i1 - i0) * (j1 - j0);
					out = div ? sum / (float)div : 0;
				}
				py[(plane * w.OH + oh) * w.OW + ow] = out;
			}
	}
	return 0;
}

int op_gap(const struct ox *x, struct ox *y, struct ox_ctx *c, struct weft_err *e)
{
	char s1[160];
	if (x->ndim < 3)
		return err_set(e, WEFT_EINVAL, "input of shape %s: expected rank 3 or more (N,C,...)",
			       SHAPE(s1, x));
	int64_t shape[WT_MAX_DIMS], spatial = 1;
	for (int i = 0; i < x->ndim; i++) {
		shape[i] = i < 2 ? x->shape[i] : 1;
		if (i >= 2)
			spatial *= x->shape[i];
	}
	int rc = ox_reserve(y, OX_FLOAT, x->ndim, shape, c, e);
	if (rc)
		return rc;
	const float *px = x->data;
	float *py = y->data;
	for (int64_t p = 0; p < y->numel; p++) {
		float sum = 0;
		for (int64_t i = 0; i < spatial; i++)
			sum += px[p * spatial + i];
		py[p] = spatial ? sum / (float)spatial : 0;
	}
	return 0;
}

int op_batchnorm(const struct op_node *n, const struct ox *const *in, struct ox *y,
		 struct ox_ctx *c, struct weft_err *e)
{
	const struct ox *x = in[0];
	char s1[160], s2[160];
	if (x->ndim < 2)
		return err_set(e, WEFT_EINVAL, "input of shape %s: expected rank 2 or more (N,C,...)",
			       SHAPE(s1, x));
	int64_t C = x->shape[1], spatial = 1;
	for (int i = 2; i < x->ndim; i++)
		spatial *= x->shape[i];
	static const char *names[] = {"", "scale", "B", "mean", "var"};
	for (int i = 1; i < 5; i++)
		if (in[i]->ndim != 1 || in[i]->shape[0] != C)
			return err_set(e, WEFT_EINVAL, "%s %s should be [%lld] for the input %s", names[i],
				       SHAPE(s1, in[i]), (long long)C, SHAPE(s2, x));
	int rc = ox_reserve(y, OX_FLOAT, x->ndim, x->shape, c, e);
	if (rc)
		return rc;
	const float *scale = in[1]->data, *bias = in[2]->data, *mean = in[3]->data, *var = in[4]->data;
	const float *px = x->data;
	float *py = y->data;
	for (int64_t b = 0; b < x->shape[0]; b++)
		for (int64_t ch = 0; ch < C; ch++) {
			/* PyTorch's inference form: y = x * alpha + beta */
			float alpha = scale[ch] / sqrtf(var[ch] + n->a.epsilon);
			float beta = bias[ch] - mean[ch] * alpha;
			const float *xs = px + (b * C + ch) * spatial;
			float *ys = py + (b * C + ch) * spatial;
			for (int64_t i = 0; i < spatial; i++)
				ys[i] = xs[i] * alpha + beta;
		}
	return 0;
}

int op_softmax(const struct op_node *n, const struct ox *x, struct ox *y, struct ox_ctx *c,
	       struct weft_err *e)
{
	int r = x->ndim;
	int64_t axis = n->a.axis;
	if (axis < -r || axis >= r)
		return err_set(e, WEFT_EINVAL, "axis %lld is out of range for rank %d", (long long)axis, r);
	int ax = (int)(axis < 0 ? axis + r : axis);
	int rc = ox_reserve(y, OX_FLOAT, r, x->shape, c, e);
	if (rc || y->numel == 0)
		return rc;
	int64_t outer = 1, len = 1, inner = 1;
	for (int i = 0; i < r; i++) {
		if (i < ax)
			outer *= x->shape[i];
		else if (i == ax || n->a.legacy)
			len *= x->shape[i]; /* legacy: everything from axis on is one row */
		else
			inner *= x->shape[i];
	}
	const float *px = x->data;
	float *py = y->data;
	for (int64_t o = 0; o < outer; o++)
		for (int64_t i = 0; i < inner; i++) {
			const float *xs = px + o * len * inner + i;
			float *ys = py + o * len * inner + i;
			float m = -INFINITY, sum = 0;
			for (int64_t k = 0; k < len; k++)
				if (xs[k * inner] > m)
					m = xs[k * inner];
			for (int64_t k = 0; k < len; k++)
				sum += ys[k * inner] = expf(xs[k * inner] - m);
			for (int64_t k = 0; k < len; k++)
				ys[k * inner] /= sum;
		}
	return 0;
}

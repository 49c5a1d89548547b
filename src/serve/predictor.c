/* predictor.c - a predictor at run time (see predictor.h). Native requests
 * queue in arrival order; a replica is an ONNX session (a slot). The oldest
 * request, when a slot is free, runs the model itself for every queued
 * request whose rows fit with it (same row shape, up to max_batch_size rows,
 * waiting up to max_wait_ms for more when asked to) and hands each its slice
 * of the outputs. With max_wait_ms 0 the batching is adaptive: what queued
 * while the model was busy goes together, and an idle predictor runs a
 * request on the request's own thread with no hand-off. */
#include "serve/predictor.h"
#include "api/metrics.h"
#include "serve/onnx.h"
#include "serve/replica.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/timeutil.h"
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_OUTPUTS 16

struct req {
	const struct wtensor *in; /* one input, rows along dim 0 */
	int n_out;
	struct wtensor out[MAX_OUTPUTS];
	int rc;
	struct weft_err e;
	int done;
	pthread_cond_t cond;
	struct req *next;
};

struct predictor {
	char deployment[128], name[128];
	enum spec_runtime runtime;
	int replicas;
	/* native */
	struct onnx_model *model;
	struct serve_model_meta meta;
	struct serve_tensor_spec *ins, *outs;
	char **names;                  /* storage for meta names */
	int max_batch, max_wait_ms;
	int64_t max_numel;
	pthread_mutex_t lock;          /* guards the queue, stopping, slot_busy */
	pthread_cond_t work;
	struct req *head, *tail;
	int stopping;
	struct onnx_session **sessions; /* one per replica: the slots requests lead with */
	int *slot_busy;
	struct req ***batch;            /* per slot: the batch being run */
	/* custom */
	struct replica_set *set;
};

const char *predictor_name(const struct predictor *p) { return p->name; }
enum spec_runtime predictor_runtime(const struct predictor *p) { return p->runtime; }
const struct serve_model_meta *predictor_meta(const struct predictor *p) { return &p->meta; }

static int64_t row_elems(const struct wtensor *t)
{
	int64_t n = 1;
	for (int i = 1; i < t->ndim; i++)
		n *= t->shape[i];
	return n;
}

static int same_rows(const struct wtensor *a, const struct wtensor *b)
{
	if (a->ndim != b->ndim || a->ndim < 1)
		return 0;
	for (int i = 1; i < a->ndim; i++)
		if (a->shape[i] != b->shape[i])
			return 0;
	return 1;
}

/* Runs a batch of requests (all with the same row shape) on one session. */
static void run_batch(struct predictor *p, struct onnx_session *s, struct req **batch, int n)
{
	int n_out = batch[0]->n_out;
	if (n == 1) {
		struct req *r = batch[0];
		r->rc = onnx_run(s, r->in, 1, r->out, r->n_out, &r->e);
		return;
	}
	/* stack the rows */
	const struct wtensor *first = batch[0]->in;
	int64_t rows = 0, re = row_elems(first);
	for (int i = 0; i < n; i++)
		rows += batch[i]->in->shape[0];
	struct wtensor in = { 0 };
	int64_t shape[WT_MAX_DIMS];
	memcpy(shape, first->shape, sizeof shape);
	shape[0] = rows;
	memcpy(in.name, first->name, sizeof in.name);
	if (wt_alloc(&in, first->ndim, shape, p->max_numel * n) == 0) {
		float *d = in.data;
		for (int i = 0; i < n; i++) {
			size_t k = (size_t)(batch[i]->in->shape[0] * re);
			memcpy(d, batch[i]->in->data, k * sizeof *d);
			d += k;
		}
		struct wtensor out[MAX_OUTPUTS];
		memset(out, 0, sizeof out);
		struct weft_err e;
		int rc = onnx_run(s, &in, 1, out, n_out, &e);
		int split = rc == 0;
		for (int o = 0; split && o < n_out; o++)
			split = out[o].ndim >= 1 && out[o].shape[0] == rows;
		if (split) {
			int64_t at = 0;
			for (int i = 0; i < n; i++) {
				struct req *r = batch[i];
				int64_t nr = r->in->shape[0];
				r->rc = 0;
				for (int o = 0; o < n_out && !r->rc; o++) {
					int64_t oshape[WT_MAX_DIMS];
					memcpy(oshape, out[o].shape, sizeof oshape);
					oshape[0] = nr;
					int64_t ore = row_elems(&out[o]);
					memcpy(r->out[o].name, out[o].name, sizeof r->out[o].name);
					if (wt_alloc(&r->out[o], out[o].ndim, oshape, INT64_MAX / 8))
						r->rc = err_set(&r->e, WEFT_ETOOBIG, "output too large");
					else
						memcpy(r->out[o].data, out[o].data + at * ore,
						       (size_t)(nr * ore) * sizeof(float));
				}
				at += nr;
			}
		}
		for (int o = 0; o < n_out; o++)
			wt_free(&out[o]);
		wt_free(&in);
		if (split) {
			metrics_observe("weft_serve_batch_size", (double)rows, "deployment", p->deployment, "predictor",
					p->name, NULL);
			return;
		}
	} else {
		wt_free(&in);
	}
	/* the model does not keep rows apart (or stacking failed): one by one */
	for (int i = 0; i < n; i++)
		batch[i]->rc = onnx_run(s, batch[i]->in, 1, batch[i]->out, batch[i]->n_out, &batch[i]->e);
}

/* Takes from the queue what fits one batch with its first request. Called
 * with p->lock held; the taken requests leave the queue. */
static int take_batch(struct predictor *p, struct req **batch, int n, int64_t *rows)
{
	struct req **pp = &p->head;
	while (*pp && n < p->max_batch) {
		struct req *r = *pp;
		int fits = n == 0 || (same_rows(r->in, batch[0]->in) && r->n_out == batch[0]->n_out &&
				      *rows + r->in->shape[0] <= p->max_batch);
		if (!fits) {
			pp = &r->next;
			continue;
		}
		*pp = r->next;
		r->next = NULL;
		batch[n++] = r;
		*rows += r->in->shape[0];
	}
	p->tail = NULL;
	for (struct req *r = p->head; r; r = r->next)
		p->tail = r;
	return n;
}

/* Leader/follower batching: the request that finds a free slot (one of
 * `replicas` ONNX sessions) runs the model itself for every queued request
 * that fits with it; the others wait and are handed their outputs. Called
 * with p->lock held; returns with it held. */
static void lead(struct predictor *p, int slot)
{
	struct req **batch = p->batch[slot];
	int64_t rows = 0;
	int n = take_batch(p, batch, 0, &rows);
	if (p->max_wait_ms > 0 && rows < p->max_batch) {
		struct timespec deadline;
		clock_gettime(CLOCK_REALTIME, &deadline);
		deadline.tv_nsec += (long)p->max_wait_ms * 1000000L;
		deadline.tv_sec += deadline.tv_nsec / 1000000000L;
		deadline.tv_nsec %= 1000000000L;
		while (rows < p->max_batch && !p->stopping &&
		       pthread_cond_timedwait(&p->work, &p->lock, &deadline) != ETIMEDOUT)
			n = take_batch(p, batch, n, &rows);
		n = take_batch(p, batch, n, &rows);
	}
	pthread_mutex_unlock(&p->lock);
	run_batch(p, p->sessions[slot], batch, n);
	pthread_mutex_lock(&p->lock);
	p->slot_busy[slot] = 0;
	for (int i = 0; i < n; i++) {
		batch[i]->done = 1;
		pthread_cond_signal(&batch[i]->cond);
	}
	/* the slot is free: the oldest waiting request leads next */
	if (p->head)
		pthread_cond_signal(&p->head->cond);
}

int predictor_infer(struct predictor *p, const struct wtensor *in, int n_in, struct wtensor *out, int n_out,
		    struct weft_err *e)
{
	if (p->runtime != SPEC_RUNTIME_NATIVE)
		return err_set(e, WEFT_EINVAL, "predictor %s runs a custom model server", p->name);
	if (n_out < 1 || n_out > MAX_OUTPUTS)
		return err_set(e, WEFT_EINVAL, "%d outputs asked (1..%d)", n_out, MAX_OUTPUTS);
	if (n_in != 1 || in[0].ndim < 1 || in[0].shape[0] < 1) {
		/* several inputs (or no batch dimension): run alone, not batched */
		struct onnx_session *s = onnx_session_new(p->model);
		int rc = onnx_run(s, in, n_in, out, n_out, e);
		onnx_session_free(s);
		return rc;
	}
	struct req r;
	memset(&r, 0, sizeof r);
	r.in = &in[0];
	r.n_out = n_out;
	pthread_cond_init(&r.cond, NULL);
	pthread_mutex_lock(&p->lock);
	if (p->stopping) {
		pthread_mutex_unlock(&p->lock);
		pthread_cond_destroy(&r.cond);
		return err_set(e, WEFT_EIO, "predictor %s is stopping", p->name);
	}
	if (p->tail)
		p->tail->next = &r;
	else
		p->head = &r;
	p->tail = &r;
	pthread_cond_signal(&p->work); /* a leader waiting for more rows */
	while (!r.done) {
		int slot = -1;
		if (p->head == &r) /* the oldest request leads when a session is free */
			for (int i = 0; i < p->replicas && slot < 0; i++)
				if (!p->slot_busy[i])
					slot = i;
		if (slot >= 0) {
			p->slot_busy[slot] = 1;
			lead(p, slot);
			continue;
		}
		pthread_cond_wait(&r.cond, &p->lock);
	}
	pthread_mutex_unlock(&p->lock);
	pthread_cond_destroy(&r.cond);
	if (r.rc) {
		*e = r.e;
		for (int o = 0; o < n_out; o++)
			wt_free(&r.out[o]);
		return r.rc;
	}
	for (int o = 0; o < n_out; o++)
		out[o] = r.out[o];
	return 0;
}

int predictor_forward(struct predictor *p, const char *body, size_t len, struct sbuf *answer, long *status,
		      struct weft_err *e)
{
	if (p->runtime != SPEC_RUNTIME_CUSTOM)
		return err_set(e, WEFT_EINVAL, "predictor %s runs the native runtime", p->name);
	return replica_set_predict(p->set, body, len, 30000, answer, status, NULL, NULL, e);
}

void predictor_ready(struct predictor *p, int *ready, int *total)
{
	*total = p->replicas;
	*ready = 0;
	if (p->runtime == SPEC_RUNTIME_NATIVE) {
		*ready = p->replicas;
		return;
	}
	for (int i = 0; i < replica_set_size(p->set); i++) {
		struct replica_info ri;
		replica_set_info(p->set, i, &ri);
		*ready += ri.state == REPLICA_READY;
	}
}

json_t *predictor_replicas_json(struct predictor *p)
{
	json_t *arr = json_array();
	if (p->runtime == SPEC_RUNTIME_NATIVE) {
		for (int i = 0; i < p->replicas; i++)
			json_array_append_new(arr, json_pack("{s:i, s:s}", "replica", i, "state", "READY"));
		return arr;
	}
	for (int i = 0; i < replica_set_size(p->set); i++) {
		struct replica_info ri;
		replica_set_info(p->set, i, &ri);
		json_array_append_new(arr, json_pack("{s:i, s:s, s:i, s:i, s:i, s:i, s:s}", "replica", i, "state",
						     replica_state_name(ri.state), "restarts", ri.restarts,
						     "outstanding", ri.outstanding, "port", ri.port, "pid", (int)ri.pid,
						     "last_error", ri.last_error));
	}
	return arr;
}

/* The native model's inputs and outputs as protocol metadata. */
static void fill_meta(struct predictor *p)
{
	int ni = onnx_n_inputs(p->model), no = onnx_n_outputs(p->model);
	p->ins = xcalloc((size_t)(ni ? ni : 1), sizeof *p->ins);
	p->outs = xcalloc((size_t)(no ? no : 1), sizeof *p->outs);
	for (int i = 0; i < ni; i++) {
		p->ins[i].name = onnx_input_name(p->model, i);
		p->ins[i].datatype = "FP32";
		int r = onnx_input_shape(p->model, i, p->ins[i].shape);
		p->ins[i].ndim = r < 0 ? 0 : r;
	}
	for (int i = 0; i < no; i++) {
		p->outs[i].name = onnx_output_name(p->model, i);
		p->outs[i].datatype = "FP32";
		int r = onnx_output_shape(p->model, i, p->outs[i].shape);
		p->outs[i].ndim = r < 0 ? 0 : r;
	}
	p->meta.name = p->deployment; /* the model's name in both protocols */
	p->meta.platform = "onnx";
	p->meta.inputs = p->ins;
	p->meta.ninputs = ni;
	p->meta.outputs = p->outs;
	p->meta.noutputs = no;
}

int predictor_start(const struct predictor_cfg *cfg, struct predictor **out, struct weft_err *e)
{
	const struct spec_predictor *sp = cfg->sp;
	struct predictor *p = xcalloc(1, sizeof *p);
	snprintf(p->deployment, sizeof p->deployment, "%s", cfg->deployment);
	snprintf(p->name, sizeof p->name, "%s", sp->name);
	p->runtime = sp->runtime;
	p->replicas = sp->replicas;
	p->max_numel = cfg->max_numel;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->work, NULL);
	if (p->runtime == SPEC_RUNTIME_NATIVE) {
		p->max_batch = sp->max_batch_size > 0 ? sp->max_batch_size : SPEC_DEFAULT_MAX_BATCH;
		p->max_wait_ms = sp->max_wait_ms;
		int rc = onnx_load_file(cfg->model_path, &p->model, e);
		if (rc) {
			free(p);
			return rc;
		}
		fill_meta(p);
		p->sessions = xcalloc((size_t)p->replicas, sizeof *p->sessions);
		p->slot_busy = xcalloc((size_t)p->replicas, sizeof *p->slot_busy);
		p->batch = xcalloc((size_t)p->replicas, sizeof *p->batch);
		for (int i = 0; i < p->replicas; i++) {
			p->sessions[i] = onnx_session_new(p->model);
			p->batch[i] = xcalloc((size_t)p->max_batch + 1, sizeof *p->batch[i]);
		}
	} else {
		p->meta.name = p->name;
		p->meta.platform = "seldon-custom";
		struct replica_cfg rc = {
			.name = sp->name,
			.command = sp->command,
			.cwd = cfg->model_dir,
			.env = cfg->env,
			.log_path = cfg->log_path,
		};
		int r = replica_set_start(&rc, sp->replicas, &p->set, e);
		if (r) {
			free(p);
			return r;
		}
	}
	*out = p;
	return 0;
}

void predictor_stop(struct predictor *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->stopping = 1;
	pthread_cond_broadcast(&p->work);
	pthread_mutex_unlock(&p->lock);
	/* every request holds a reference to its deployment: none runs here */
	for (int i = 0; p->sessions && i < p->replicas; i++) {
		onnx_session_free(p->sessions[i]);
		free(p->batch[i]);
	}
	free(p->sessions);
	free(p->slot_busy);
	free(p->batch);
	if (p->set)
		replica_set_stop(p->set);
	if (p->model)
		onnx_free(p->model);
	free(p->ins);
	free(p->outs);
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->work);
	free(p);
}

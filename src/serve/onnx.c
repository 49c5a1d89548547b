/* onnx.c - loading and running ONNX models natively (see onnx.h). Load decodes the
 * protobuf with our own schema, names every value, checks each node against ops.c, sorts
 * the nodes topologically (Kahn), infers element types, drops nodes no output needs and
 * runs the nodes that depend only on constants once (Constant, shape arithmetic, ...).
 * What is left is a flat list of nodes that onnx_run executes with a session's buffers. */
#include "serve/onnx.h"
#include "serve/ops.h"
#include "util/fs.h"
#include "util/mem.h"
#include "util/sbuf.h"
#include "onnx.pb-c.h"
#include <cblas.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MIN_OPSET 7
#define MAX_OPSET 22

struct io {
	char *name;
	int val;
	int ndim; /* -1: the model does not say */
	int64_t shape[WT_MAX_DIMS];
};

struct onnx_model {
	int n_vals;
	char **names;        /* per value */
	int *dtype;          /* per value: OX_* */
	unsigned char *is_const;
	struct ox *konst;    /* per value: initializers and folded results (where is_const) */
	int n_nodes;
	struct op_node *nodes; /* what runs, in order */
	int n_in, n_out;
	struct io *in, *out;
	int max_arity;
	int64_t max_numel;
};

struct onnx_session {
	const struct onnx_model *m;
	struct ox *vals;         /* per value: node outputs (owned buffers), input views */
	const struct ox **slot;  /* per value: where its current tensor is */
	const struct ox **inp;
	struct ox **outp;
	struct ox_ctx ctx;
};

/* Prepends "prefix: " to e's message and returns rc. */
static int prefixed(struct weft_err *e, int rc, const char *prefix)
{
	char tmp[sizeof e->msg];
	size_t n = strlen(prefix);
	if (n > sizeof tmp / 2)
		n = sizeof tmp / 2;
	memcpy(tmp, prefix, n);
	memcpy(tmp + n, ": ", 2);
	memcpy(tmp + n + 2, e->msg, sizeof tmp - n - 2);
	tmp[sizeof tmp - 1] = '\0';
	memcpy(e->msg, tmp, sizeof tmp);
	return rc;
}

/* ---- names -> value ids: open addressing over the model's names ---- */

struct nmap {
	size_t mask;
	int *ids; /* -1 empty */
};

static size_t name_hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
	return (size_t)h;
}

static void nmap_init(struct nmap *h, size_t n)
{
	size_t cap = 16;
	while (cap < 2 * n + 1)
		cap *= 2;
	h->mask = cap - 1;
	h->ids = xmalloc(sizeof *h->ids * cap);
	memset(h->ids, 0xff, sizeof *h->ids * cap);
}

static int nmap_find(const struct nmap *h, char *const *names, const char *s)
{
	for (size_t i = name_hash(s) & h->mask;; i = (i + 1) & h->mask)
		if (h->ids[i] < 0 || !strcmp(names[h->ids[i]], s))
			return h->ids[i];
}

/* Adds s as a new value (the caller checked it is absent); returns its id. */
static int add_value(struct onnx_model *m, struct nmap *h, const char *s)
{
	int id = m->n_vals++;
	m->names[id] = xstrdup(s);
	size_t i = name_hash(s) & h->mask;
	while (h->ids[i] >= 0)
		i = (i + 1) & h->mask;
	h->ids[i] = id;
	return id;
}

/* ---- load ---- */

static int read_io(const Weft__Onnx__ValueInfoProto *vi, const char *what, struct io *io,
		   struct weft_err *e)
{
	const Weft__Onnx__TypeProto *t = vi->type;
	if (!t || t->value_case != WEFT__ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE || !t->tensor_type)
		return err_set(e, WEFT_EINVAL, "%s '%s' is not a tensor (only tensor inputs and outputs "
			       "are supported)", what, vi->name);
	int et = t->tensor_type->elem_type;
	if (et != OX_FLOAT)
		return err_set(e, WEFT_EINVAL, "%s '%s' has element type %s; only FLOAT inputs and "
			       "outputs are supported", what, vi->name, ox_dtype_name(et));
	const Weft__Onnx__TensorShapeProto *sh = t->tensor_type->shape;
	io->ndim = -1;
	if (!sh)
		return 0;
	if (sh->n_dim > WT_MAX_DIMS)
		return err_set(e, WEFT_EINVAL, "%s '%s' has %zu dimensions (at most %d supported)", what,
			       vi->name, sh->n_dim, WT_MAX_DIMS);
	io->ndim = (int)sh->n_dim;
	for (int i = 0; i < io->ndim; i++) {
		const Weft__Onnx__TensorShapeProto__Dimension *d = sh->dim[i];
		io->shape[i] = d->value_case == WEFT__ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE &&
			d->dim_value >= 0 ? d->dim_value : -1;
	}
	return 0;
}

static char *node_label(const Weft__Onnx__NodeProto *np, int i)
{
	if (np->name[0])
		return xasprintf("node %d '%.64s' (%.64s)", i, np->name, np->op_type);
	return xasprintf("node %d (%.64s)", i, np->op_type);
}

/* Every operator must be known; names the first unknown and lists the others. */
static int check_operators(const Weft__Onnx__GraphProto *g, struct weft_err *e)
{
	int first = -1;
	struct sbuf others = SBUF_INIT;
	for (size_t i = 0; i < g->n_node; i++) {
		const Weft__Onnx__NodeProto *np = g->node[i];
		const char *d = np->domain;
		if (d[0] && strcmp(d, "ai.onnx")) {
			char *label = node_label(np, (int)i);
			err_set(e, WEFT_EINVAL, "%s: operator domain '%.64s' is not supported (only the "
				"standard ONNX operators are)", label, d);
			free(label);
			sb_release(&others);
			return WEFT_EINVAL;
		}
		if (op_known(np->op_type))
			continue;
		if (first < 0) {
			first = (int)i;
			continue;
		}
		int seen = !strcmp(np->op_type, g->node[first]->op_type);
		for (size_t j = (size_t)first + 1; !seen && j < i; j++)
			seen = !op_known(g->node[j]->op_type) && !strcmp(g->node[j]->op_type, np->op_type);
		if (!seen && others.len < 200)
			sb_addf(&others, "%s%.64s", others.len ? ", " : "", np->op_type);
	}
	if (first < 0)
		return 0;
	char *label = node_label(g->node[first], first);
	err_set(e, WEFT_EINVAL, "%s: operator %.64s is not supported (supported: %s)%s%s", label,
		g->node[first]->op_type, op_supported_list(),
		others.len ? "; other unsupported operators in the model: " : "", sb_str(&others));
	free(label);
	sb_release(&others);
	return WEFT_EINVAL;
}

static void nodes_free(struct op_node *nodes, int n)
{
	for (int i = 0; i < n; i++)
		op_node_free(&nodes[i]);
	free(nodes);
}

/* Kahn's algorithm; order[] receives node indices. */
static int topo_sort(const struct op_node *nodes, int n, const int *producer, int *order,
		     struct weft_err *e)
{
	int *indeg = xcalloc((size_t)n + 1, sizeof *indeg), *start = xcalloc((size_t)n + 2, sizeof *start);
	for (int i = 0; i < n; i++)
		for (int j = 0; j < nodes[i].n_in; j++)
			if (nodes[i].in[j] >= 0 && producer[nodes[i].in[j]] >= 0) {
				indeg[i]++;
				start[producer[nodes[i].in[j]] + 1]++;
			}
	for (int i = 0; i < n; i++)
		start[i + 1] += start[i];
	int *edges = xmalloc(sizeof *edges * ((size_t)start[n] + 1)), *fill = xmalloc(sizeof *fill * ((size_t)n + 1));
	memcpy(fill, start, sizeof *fill * (size_t)n);
	for (int i = 0; i < n; i++)
		for (int j = 0; j < nodes[i].n_in; j++)
			if (nodes[i].in[j] >= 0 && producer[nodes[i].in[j]] >= 0)
				edges[fill[producer[nodes[i].in[j]]]++] = i;
	int head = 0, tail = 0;
	for (int i = 0; i < n; i++)
		if (!indeg[i])
			order[tail++] = i;
	while (head < tail) {
		int p = order[head++];
		for (int k = start[p]; k < start[p + 1]; k++)
			if (--indeg[edges[k]] == 0)
				order[tail++] = edges[k];
	}
	int rc = 0;
	if (tail < n) {
		int i = 0;
		while (!indeg[i])
			i++;
		rc = err_set(e, WEFT_EINVAL, "%s is part of a cycle: its inputs depend on its own outputs",
			     nodes[i].label);
	}
	free(indeg);
	free(start);
	free(edges);
	free(fill);
	return rc;
}

/* Runs node n on constants at load, making its outputs constants. */
static int fold(struct onnx_model *m, const struct op_node *n, struct weft_err *e)
{
	const struct ox **in = xcalloc((size_t)n->n_in + 1, sizeof *in);
	struct ox **out = xcalloc((size_t)n->n_out + 1, sizeof *out);
	for (int j = 0; j < n->n_in; j++)
		in[j] = n->in[j] >= 0 ? &m->konst[n->in[j]] : NULL;
	for (int j = 0; j < n->n_out; j++)
		out[j] = n->out[j] >= 0 && m->dtype[n->out[j]] != OX_NONE ? &m->konst[n->out[j]] : NULL;
	struct ox_ctx c = {.max_numel = m->max_numel};
	int rc = op_run(n, in, out, &c, e);
	for (int j = 0; !rc && j < n->n_out; j++)
		if (out[j])
			m->is_const[n->out[j]] = 1;
	free(c.scratch);
	free(in);
	free(out);
	return rc ? prefixed(e, rc, n->label) : 0;
}

static int plan(struct onnx_model *m, const Weft__Onnx__ModelProto *mp, struct weft_err *e)
{
	int opset = -1;
	for (size_t i = 0; i < mp->n_opset_import; i++) {
		const char *d = mp->opset_import[i]->domain;
		if (!d[0] || !strcmp(d, "ai.onnx"))
			opset = (int)(mp->opset_import[i]->version > 1000 ? 1000 : mp->opset_import[i]->version);
	}
	if (opset < 0)
		return err_set(e, WEFT_EINVAL, "the model imports no version of the standard operator set "
			       "(opset_import)");
	if (opset < MIN_OPSET || opset > MAX_OPSET)
		return err_set(e, WEFT_EINVAL, "opset %d is not supported (%d to %d are)", opset,
			       MIN_OPSET, MAX_OPSET);
	const Weft__Onnx__GraphProto *g = mp->graph;
	if (!g)
		return err_set(e, WEFT_EINVAL, "the model has no graph");
	int rc = check_operators(g, e);
	if (rc)
		return rc;
	if (g->n_node > 1000000 || g->n_initializer > 1000000 || g->n_input > 100000)
		return err_set(e, WEFT_ETOOBIG, "the graph is too large (%zu nodes)", g->n_node);

	size_t total = g->n_initializer + g->n_input;
	for (size_t i = 0; i < g->n_node; i++)
		total += g->node[i]->n_output;
	m->names = xcalloc(total + 1, sizeof *m->names);
	m->dtype = xcalloc(total + 1, sizeof *m->dtype);
	m->is_const = xcalloc(total + 1, 1);
	m->konst = xcalloc(total + 1, sizeof *m->konst);
	int *producer = xmalloc(sizeof *producer * (total + 1));
	struct nmap h;
	nmap_init(&h, total);
	int n = (int)g->n_node;
	struct op_node *nodes = xcalloc((size_t)n + 1, sizeof *nodes);
	int *order = xmalloc(sizeof *order * ((size_t)n + 1));
	unsigned char *needed = NULL, *live = NULL;
	char what[160];

	for (size_t i = 0; i < g->n_initializer; i++) {
		const Weft__Onnx__TensorProto *t = g->initializer[i];
		snprintf(what, sizeof what, "initializer %zu", i);
		if (!t->name[0]) {
			rc = err_set(e, WEFT_EINVAL, "%s has no name", what);
			goto out;
		}
		if (nmap_find(&h, m->names, t->name) >= 0) {
			rc = err_set(e, WEFT_EINVAL, "%s: the name '%.100s' is used twice", what, t->name);
			goto out;
		}
		int v = add_value(m, &h, t->name);
		producer[v] = -1;
		if ((rc = ox_from_proto(t, m->max_numel, &m->konst[v], e))) {
			rc = prefixed(e, rc, what);
			goto out;
		}
		m->dtype[v] = m->konst[v].dtype;
		m->is_const[v] = 1;
	}
	m->in = xcalloc(g->n_input + 1, sizeof *m->in);
	for (size_t i = 0; i < g->n_input; i++) {
		const char *name = g->input[i]->name;
		int v = nmap_find(&h, m->names, name);
		if (v >= 0 && m->is_const[v])
			continue; /* an initializer listed as an input (IR < 4): a constant here */
		if (!name[0] || v >= 0) {
			rc = err_set(e, WEFT_EINVAL, "graph input %zu: the name '%.100s' is %s", i, name,
				     name[0] ? "used twice" : "empty");
			goto out;
		}
		struct io *io = &m->in[m->n_in];
		if ((rc = read_io(g->input[i], "input", io, e)))
			goto out;
		io->val = add_value(m, &h, name);
		io->name = m->names[io->val];
		producer[io->val] = -1;
		m->dtype[io->val] = OX_FLOAT;
		m->n_in++;
	}
	/* every node's outputs first (nodes may come in any order), then inputs and checks */
	for (int i = 0; i < n; i++) {
		const Weft__Onnx__NodeProto *np = g->node[i];
		struct op_node *nd = &nodes[i];
		nd->index = i;
		nd->label = node_label(np, i);
		nd->n_out = (int)np->n_output;
		nd->out = xmalloc(sizeof *nd->out * (np->n_output + 1));
		for (int j = 0; j < nd->n_out; j++) {
			const char *name = np->output[j];
			nd->out[j] = -1;
			if (!name[0])
				continue;
			if (nmap_find(&h, m->names, name) >= 0) {
				rc = err_set(e, WEFT_EINVAL, "%s: output '%.100s' is already an input, an "
					     "initializer or another node's output", nd->label, name);
				goto out;
			}
			nd->out[j] = add_value(m, &h, name);
			producer[nd->out[j]] = i;
		}
	}
	for (int i = 0; i < n; i++) {
		const Weft__Onnx__NodeProto *np = g->node[i];
		struct op_node *nd = &nodes[i];
		nd->n_in = (int)(np->n_input > 100000 ? 100000 : np->n_input);
		nd->in = xmalloc(sizeof *nd->in * ((size_t)nd->n_in + 1));
		for (int j = 0; j < nd->n_in; j++) {
			const char *name = np->input[j];
			nd->in[j] = name[0] ? nmap_find(&h, m->names, name) : -1;
			if (name[0] && nd->in[j] < 0) {
				rc = err_set(e, WEFT_EINVAL, "%s: input '%.100s' is not a graph input, an "
					     "initializer or any node's output", nd->label, name);
				goto out;
			}
		}
		if ((rc = op_prepare(nd, np, opset, m->max_numel, e))) {
			rc = prefixed(e, rc, nd->label);
			goto out;
		}
		if (nd->n_in > m->max_arity)
			m->max_arity = nd->n_in;
		if (nd->n_out > m->max_arity)
			m->max_arity = nd->n_out;
	}
	if ((rc = topo_sort(nodes, n, producer, order, e)))
		goto out;
	int *tin = xmalloc(sizeof *tin * ((size_t)m->max_arity + 1)), *tout = xmalloc(sizeof *tout * ((size_t)m->max_arity + 1));
	for (int k = 0; k < n && !rc; k++) {
		struct op_node *nd = &nodes[order[k]];
		for (int j = 0; j < nd->n_in; j++)
			tin[j] = nd->in[j] >= 0 ? m->dtype[nd->in[j]] : OX_NONE;
		if ((rc = op_types(nd, tin, tout, e)))
			rc = prefixed(e, rc, nd->label);
		for (int j = 0; !rc && j < nd->n_out; j++)
			if (nd->out[j] >= 0)
				m->dtype[nd->out[j]] = tout[j];
	}
	free(tin);
	free(tout);
	if (rc)
		goto out;

	/* outputs, then what they need, then fold what depends on constants only */
	m->out = xcalloc(g->n_output + 1, sizeof *m->out);
	needed = xcalloc((size_t)m->n_vals + 1, 1);
	live = xcalloc((size_t)n + 1, 1);
	if (g->n_output == 0) {
		rc = err_set(e, WEFT_EINVAL, "the graph has no outputs");
		goto out;
	}
	for (size_t i = 0; i < g->n_output; i++) {
		const char *name = g->output[i]->name;
		struct io *io = &m->out[i];
		if ((rc = read_io(g->output[i], "output", io, e)))
			goto out;
		io->val = nmap_find(&h, m->names, name);
		if (io->val < 0) {
			rc = err_set(e, WEFT_EINVAL, "output '%.100s' is not produced by any node, input "
				     "or initializer", name);
			goto out;
		}
		if (m->dtype[io->val] != OX_FLOAT) {
			rc = err_set(e, WEFT_EINVAL, "output '%.100s' is %s; only FLOAT outputs are "
				     "supported", name, m->dtype[io->val] ? ox_dtype_name(m->dtype[io->val]) :
				     "a value weft does not compute (Dropout's mask)");
			goto out;
		}
		io->name = m->names[io->val];
		needed[io->val] = 1;
		m->n_out++;
	}
	for (int k = n - 1; k >= 0; k--) {
		struct op_node *nd = &nodes[order[k]];
		for (int j = 0; j < nd->n_out && !live[order[k]]; j++)
			live[order[k]] = nd->out[j] >= 0 && needed[nd->out[j]];
		for (int j = 0; live[order[k]] && j < nd->n_in; j++)
			if (nd->in[j] >= 0)
				needed[nd->in[j]] = 1;
	}
	m->nodes = xcalloc((size_t)n + 1, sizeof *m->nodes);
	for (int k = 0; k < n; k++) {
		struct op_node *nd = &nodes[order[k]];
		if (!live[order[k]])
			continue;
		int all_const = 1;
		for (int j = 0; j < nd->n_in && all_const; j++)
			all_const = nd->in[j] < 0 || m->is_const[nd->in[j]];
		if (all_const) {
			if ((rc = fold(m, nd, e)))
				goto out;
			continue;
		}
		m->nodes[m->n_nodes++] = *nd; /* moved: the list below must not free it */
		memset(nd, 0, sizeof *nd);
	}
	/* a run asking for the first k outputs skips the nodes only later outputs need */
	int *first = xmalloc(sizeof *first * ((size_t)m->n_vals + 1));
	for (int v = 0; v < m->n_vals; v++)
		first[v] = m->n_out;
	for (int i = m->n_out - 1; i >= 0; i--)
		first[m->out[i].val] = i;
	for (int k = m->n_nodes - 1; k >= 0; k--) {
		struct op_node *nd = &m->nodes[k];
		nd->first_out = m->n_out;
		for (int j = 0; j < nd->n_out; j++)
			if (nd->out[j] >= 0 && first[nd->out[j]] < nd->first_out)
				nd->first_out = first[nd->out[j]];
		for (int j = 0; j < nd->n_in; j++)
			if (nd->in[j] >= 0 && nd->first_out < first[nd->in[j]])
				first[nd->in[j]] = nd->first_out;
	}
	free(first);
out:
	nodes_free(nodes, n);
	free(order);
	free(producer);
	free(needed);
	free(live);
	free(h.ids);
	return rc;
}

static pthread_once_t blas_once = PTHREAD_ONCE_INIT;
static void blas_init(void) { openblas_set_num_threads(1); }

int onnx_load_opts(const void *buf, size_t len, const struct onnx_opts *opts,
		   struct onnx_model **out, struct weft_err *e)
{
	struct weft_err tmp;
	if (!e)
		e = &tmp;
	pthread_once(&blas_once, blas_init);
	if (len == 0)
		return err_set(e, WEFT_EINVAL, "not an ONNX model: it is empty");
	Weft__Onnx__ModelProto *mp = weft__onnx__model_proto__unpack(NULL, len, buf);
	if (!mp)
		return err_set(e, WEFT_EINVAL, "not an ONNX model: the %zu bytes do not decode as one "
			       "(truncated, damaged or another format)", len);
	struct onnx_model *m = xcalloc(1, sizeof *m);
	m->max_numel = opts && opts->max_numel > 0 ? opts->max_numel : ONNX_DEFAULT_MAX_NUMEL;
	if (m->max_numel > INT32_MAX)
		m->max_numel = INT32_MAX; /* BLAS sizes are ints */
	int rc = plan(m, mp, e);
	weft__onnx__model_proto__free_unpacked(mp, NULL);
	if (rc) {
		onnx_free(m);
		return rc;
	}
	*out = m;
	return 0;
}

int onnx_load(const void *buf, size_t len, struct onnx_model **out, struct weft_err *e)
{
	return onnx_load_opts(buf, len, NULL, out, e);
}

int onnx_load_file(const char *path, struct onnx_model **out, struct weft_err *e)
{
	struct weft_err tmp;
	if (!e)
		e = &tmp;
	struct stat st;
	if (stat(path, &st) == 0 && st.st_size > ((off_t)2 << 30))
		return err_set(e, WEFT_ETOOBIG, "%s: %lld bytes is over the 2 GiB a protobuf can hold",
			       path, (long long)st.st_size);
	struct sbuf sb = SBUF_INIT;
	int rc = fs_read_file(path, &sb, e);
	if (!rc && (rc = onnx_load(sb.buf ? sb.buf : "", sb.len, out, e)))
		prefixed(e, rc, path);
	sb_release(&sb);
	return rc;
}

void onnx_free(struct onnx_model *m)
{
	if (!m)
		return;
	for (int i = 0; i < m->n_vals; i++) {
		free(m->names[i]);
		ox_release(&m->konst[i]);
	}
	nodes_free(m->nodes, m->n_nodes);
	free(m->names);
	free(m->dtype);
	free(m->is_const);
	free(m->konst);
	free(m->in);
	free(m->out);
	free(m);
}

/* ---- introspection ---- */

int onnx_n_inputs(const struct onnx_model *m) { return m->n_in; }
int onnx_n_outputs(const struct onnx_model *m) { return m->n_out; }
int onnx_n_nodes(const struct onnx_model *m) { return m->n_nodes; }

const char *onnx_input_name(const struct onnx_model *m, int i)
{
	return i >= 0 && i < m->n_in ? m->in[i].name : NULL;
}

const char *onnx_output_name(const struct onnx_model *m, int i)
{
	return i >= 0 && i < m->n_out ? m->out[i].name : NULL;
}

static int io_shape(const struct io *io, int64_t *shape)
{
	for (int i = 0; i < io->ndim; i++)
		shape[i] = io->shape[i];
	return io->ndim;
}

int onnx_input_shape(const struct onnx_model *m, int i, int64_t shape[WT_MAX_DIMS])
{
	return i >= 0 && i < m->n_in ? io_shape(&m->in[i], shape) : -1;
}

int onnx_output_shape(const struct onnx_model *m, int i, int64_t shape[WT_MAX_DIMS])
{
	return i >= 0 && i < m->n_out ? io_shape(&m->out[i], shape) : -1;
}

/* ---- run ---- */

struct onnx_session *onnx_session_new(const struct onnx_model *m)
{
	struct onnx_session *s = xcalloc(1, sizeof *s);
	s->m = m;
	s->vals = xcalloc((size_t)m->n_vals + 1, sizeof *s->vals);
	s->slot = xcalloc((size_t)m->n_vals + 1, sizeof *s->slot);
	for (int v = 0; v < m->n_vals; v++)
		s->slot[v] = m->is_const[v] ? &m->konst[v] : &s->vals[v];
	s->inp = xcalloc((size_t)m->max_arity + 1, sizeof *s->inp);
	s->outp = xcalloc((size_t)m->max_arity + 1, sizeof *s->outp);
	s->ctx.max_numel = m->max_numel;
	return s;
}

void onnx_session_free(struct onnx_session *s)
{
	if (!s)
		return;
	for (int v = 0; v < s->m->n_vals; v++)
		ox_release(&s->vals[v]);
	free(s->vals);
	free(s->slot);
	free(s->inp);
	free(s->outp);
	free(s->ctx.scratch);
	free(s);
}

/* Finds the tensor given for model input i and checks it; NULL after setting e. */
static const struct wtensor *bind_input(const struct onnx_model *m, int i, const struct wtensor *in,
					int n_in, int by_name, struct weft_err *e)
{
	const struct io *io = &m->in[i];
	const struct wtensor *t = NULL;
	for (int j = 0; by_name && j < n_in && !t; j++)
		if (!strncmp(in[j].name, io->name, WT_NAME_MAX))
			t = &in[j];
	if (!by_name)
		t = &in[i];
	if (!t) {
		err_set(e, WEFT_EINVAL, "input '%s' is missing", io->name);
		return NULL;
	}
	char s1[160], s2[160];
	int64_t numel = t->ndim >= 0 && t->ndim <= WT_MAX_DIMS ? ox_numel(t->ndim, t->shape, m->max_numel) : -1;
	if (numel < 0 || numel != t->numel || (numel && !t->data)) {
		err_set(e, numel < 0 && t->ndim >= 0 && t->ndim <= WT_MAX_DIMS ? WEFT_ETOOBIG : WEFT_EINVAL,
			"input '%s': the tensor given is malformed or too large (rank %d, %lld values)",
			io->name, t->ndim, (long long)t->numel);
		return NULL;
	}
	int ok = io->ndim < 0 || io->ndim == t->ndim;
	for (int d = 0; ok && io->ndim >= 0 && d < io->ndim; d++)
		ok = io->shape[d] < 0 || io->shape[d] == t->shape[d];
	if (!ok) {
		err_set(e, WEFT_EINVAL, "input '%s': expected shape %s, got %s", io->name,
			ox_shape_str(s1, sizeof s1, io->ndim, io->shape),
			ox_shape_str(s2, sizeof s2, t->ndim, t->shape));
		return NULL;
	}
	return t;
}

int onnx_run(struct onnx_session *s, const struct wtensor *in, int n_in, struct wtensor *out,
	     int n_out, struct weft_err *e)
{
	struct weft_err tmp;
	if (!e)
		e = &tmp;
	const struct onnx_model *m = s->m;
	if (n_in != m->n_in || (n_in && !in)) {
		struct sbuf names = SBUF_INIT;
		for (int i = 0; i < m->n_in; i++)
			sb_addf(&names, "%s%s", i ? ", " : "", m->in[i].name);
		err_set(e, WEFT_EINVAL, "the model takes %d input%s (%s), not %d", m->n_in,
			m->n_in == 1 ? "" : "s", sb_str(&names), n_in);
		sb_release(&names);
		return WEFT_EINVAL;
	}
	if (n_out < 1 || n_out > m->n_out || !out)
		return err_set(e, WEFT_EINVAL, "the model has %d output%s; %d asked for", m->n_out,
			       m->n_out == 1 ? "" : "s", n_out);
	int by_name = n_in > 0;
	for (int j = 0; j < n_in; j++)
		by_name = by_name && in[j].name[0];
	for (int j = 0; by_name && j < n_in; j++) {
		int known = 0;
		for (int i = 0; i < m->n_in && !known; i++)
			known = !strncmp(in[j].name, m->in[i].name, WT_NAME_MAX);
		for (int k = 0; k < j && known; k++)
			known = strncmp(in[j].name, in[k].name, WT_NAME_MAX) != 0;
		if (!known)
			return err_set(e, WEFT_EINVAL, "input '%.*s' is not one of the model's inputs or is "
				       "given twice", WT_NAME_MAX, in[j].name);
	}
	for (int i = 0; i < m->n_in; i++) {
		const struct wtensor *t = bind_input(m, i, in, n_in, by_name, e);
		if (!t)
			return e->code;
		struct ox *v = &s->vals[m->in[i].val];
		v->dtype = OX_FLOAT;
		v->ndim = t->ndim;
		memcpy(v->shape, t->shape, sizeof *t->shape * (size_t)t->ndim);
		v->numel = t->numel;
		v->data = t->data;
		v->cap = 0;
	}
	for (int k = 0; k < m->n_nodes; k++) {
		const struct op_node *nd = &m->nodes[k];
		if (nd->first_out >= n_out)
			continue;
		for (int j = 0; j < nd->n_in; j++)
			s->inp[j] = nd->in[j] >= 0 ? s->slot[nd->in[j]] : NULL;
		for (int j = 0; j < nd->n_out; j++)
			s->outp[j] = nd->out[j] >= 0 ? &s->vals[nd->out[j]] : NULL;
		int rc = op_run(nd, s->inp, s->outp, &s->ctx, e);
		if (rc)
			return prefixed(e, rc, nd->label);
	}
	for (int i = 0; i < n_out; i++) {
		const struct ox *t = s->slot[m->out[i].val];
		if (wt_alloc(&out[i], t->ndim, t->shape, m->max_numel) != 0) {
			for (int j = 0; j < i; j++)
				wt_free(&out[j]);
			return err_set(e, WEFT_ETOOBIG, "output '%s' is too large", m->out[i].name);
		}
		if (t->numel)
			memcpy(out[i].data, t->data, sizeof(float) * (size_t)t->numel);
		snprintf(out[i].name, sizeof out[i].name, "%s", m->out[i].name);
	}
	return 0;
}

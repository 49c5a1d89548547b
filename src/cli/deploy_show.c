/* deploy_show.c - `weft deployments [--json]` (GET /v1/deployments as a table)
 * and `weft deployment show NAME [--json]` (GET /v1/deployments/NAME, readable):
 * status, endpoints, predictors with replica readiness, request counts by
 * code, ignored spec fields, and the lineage of the model being served: the
 * training job, its data stores, its final metrics and its manifest. */
#include "cli/cli.h"
#include "cli/client.h"
#include "cli/common.h"
#include "cli/deploy.h"
#include "util/mem.h"
#include "util/sbuf.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char list_usage[] = "weft deployments [--json]";
static const char list_help[] =
	"usage: weft deployments [--json]\n"
	"\n"
	"List your deployments (GET /v1/deployments) as a table: NAME, STATUS (CREATING,\n"
	"AVAILABLE or FAILED), TRAINING-ID (the job whose model is served), PREDICTORS (name\n"
	"and traffic share, or 'shadow'), REPLICAS (ready/total over all predictors) and\n"
	"CREATED (UTC).\n"
	"\n"
	"Options:\n"
	"      --json   print the server's answer ({\"deployments\": [...]})\n"
	"  -h, --help   show this help\n"
	"\n"
	"Environment: WEFT_SERVER, WEFT_TOKEN (see 'weft --help').\n"
	"Exit status: 0 ok, 1 bad arguments or refused credentials, 2 server unreachable or\n"
	"server error.\n";

static const char show_usage[] = "weft deployment show NAME [--json]";
static const char show_help[] =
	"usage: weft deployment show NAME [--json]\n"
	"\n"
	"Show deployment NAME (GET /v1/deployments/NAME): status and message, the prediction\n"
	"endpoints as full URLs, each predictor (runtime, training job, ready/total replicas,\n"
	"traffic share or shadow), the requests served so far by HTTP code, the spec fields\n"
	"weft keeps but does not use, and the lineage of the model: the training job (name,\n"
	"status, framework, submitted and completed times), its data stores, its final\n"
	"metrics and its manifest.\n"
	"\n"
	"Options:\n"
	"      --json   print the server's answer instead\n"
	"  -h, --help   show this help\n"
	"\n"
	"Environment: WEFT_SERVER, WEFT_TOKEN (see 'weft --help').\n"
	"Exit status: 0 ok, 1 bad arguments or unknown deployment, 2 server unreachable or\n"
	"server error.\n";

#define FIELD "%-14s"

static void field(const char *indent, const char *label, const char *value)
{
	printf("%s" FIELD "%s\n", indent, label, value && *value ? value : "-");
}

/* A JSON scalar as text ("" when absent or not a scalar). */
static void add_scalar(struct sbuf *sb, const json_t *v)
{
	if (json_is_integer(v))
		sb_addf(sb, "%lld", (long long)json_integer_value(v));
	else if (json_is_real(v))
		sb_addf(sb, "%.6g", json_real_value(v));
	else if (json_is_string(v))
		sb_adds(sb, json_string_value(v));
	else if (json_is_boolean(v))
		sb_adds(sb, json_is_true(v) ? "true" : "false");
}

/* "main 90%, canary 10%, mirror shadow" */
static char *predictor_names(const json_t *preds)
{
	struct sbuf sb = SBUF_INIT;
	size_t i;
	json_t *p;
	json_array_foreach(preds, i, p) {
		if (i)
			sb_adds(&sb, ",");
		sb_adds(&sb, cli_jstr(p, "name"));
		if (json_is_true(json_object_get(p, "shadow")))
			sb_adds(&sb, "(shadow)");
		else
			sb_addf(&sb, "(%lld%%)", cli_jint(p, "traffic"));
	}
	if (!sb.len)
		sb_adds(&sb, "-");
	return sb_detach(&sb);
}

/* The deployment's training id, else its first predictor's. */
static const char *training_id(const json_t *d)
{
	const char *id = cli_jstr(d, "training_id");
	if (!*id)
		id = cli_jstr(json_array_get(json_object_get(d, "predictors"), 0), "training_id");
	return *id ? id : "-";
}

static void print_list(const json_t *deps)
{
	static const char *const head[] = { "NAME", "STATUS", "TRAINING-ID", "PREDICTORS", "REPLICAS", "CREATED" };
	struct cli_table t;
	size_t i;
	json_t *d;
	cli_table_init(&t, 6);
	cli_table_add(&t, head);
	json_array_foreach(deps, i, d) {
		char reps[48], created[32];
		char *preds = predictor_names(json_object_get(d, "predictors"));
		const char *row[6] = { cli_jstr(d, "name"), *cli_jstr(d, "status") ? cli_jstr(d, "status") : "-",
				       training_id(d), preds,
				       deploy_replicas(json_object_get(d, "predictors"), reps, sizeof reps),
				       cli_jtime(d, "created", created, sizeof created) };
		cli_table_add(&t, row);
		free(preds);
	}
	cli_table_print(&t, NULL);
	cli_table_free(&t);
}

int cmd_deployments(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int json = 0, c;
	if (cli_wants_help(argc, argv))
		return cli_help(list_help);
	cli_opts_begin();
	while ((c = cli_getopt(argc, argv, "", opts, "deployments")) != -1) {
		if (c != 'j')
			return EXIT_USER;
		json = 1;
	}
	if (optind < argc)
		return cli_usage_error("deployments", list_usage, "unexpected argument '%s'", argv[optind]);

	struct client cl;
	json_t *ans = NULL;
	int rc = client_init(&cl);
	if (rc)
		return rc;
	rc = client_json(&cl, "GET", "/v1/deployments", NULL, &ans);
	client_close(&cl);
	if (rc)
		return rc;
	if (json) {
		rc = cli_print_json(ans);
	} else if (!json_is_array(json_object_get(ans, "deployments"))) {
		fprintf(stderr, "weft: the server's answer to GET /v1/deployments has no \"deployments\" array\n");
		rc = EXIT_SYSTEM;
	} else {
		print_list(json_object_get(ans, "deployments"));
	}
	json_decref(ans);
	return rc;
}

/* ---- deployment show ---- */

static void endpoints(const struct client *c, const json_t *d)
{
	const json_t *ep = json_object_get(d, "endpoints");
	const char *name = cli_jstr(d, "name");
	/* a server that leaves endpoints out of GET: derive them as POST names them */
	const char *ns = cli_jstr(json_object_get(json_object_get(d, "spec"), "metadata"), "namespace");
	char *seldon = *cli_jstr(ep, "seldon") ? xstrdup(cli_jstr(ep, "seldon")) : deploy_seldon_path(ns, name);
	char *v2 = *cli_jstr(ep, "v2") ? xstrdup(cli_jstr(ep, "v2")) : deploy_v2_path(name, "infer");
	printf("Endpoints:\n  Seldon:  %s%s\n  OIP v2:  %s%s\n", c->base, seldon, c->base, v2);
	free(seldon);
	free(v2);
}

/* A custom runtime's replicas (processes weft runs): one line each. The
 * native runtime's replicas are threads, always READY: not listed. */
static void replica_states(const json_t *states)
{
	size_t i;
	json_t *r;
	json_array_foreach(states, i, r) {
		if (!json_object_get(r, "port"))
			continue;
		printf("    replica %lld: %s, port %lld, %lld restarts, %lld outstanding", cli_jint(r, "replica"),
		       *cli_jstr(r, "state") ? cli_jstr(r, "state") : "?", cli_jint(r, "port"), cli_jint(r, "restarts"),
		       cli_jint(r, "outstanding"));
		if (*cli_jstr(r, "last_error"))
			printf(", last error: %s", cli_jstr(r, "last_error"));
		putchar('\n');
	}
}

static void predictors(const json_t *preds)
{
	size_t i;
	json_t *p;
	printf("Predictors:\n");
	if (!json_array_size(preds))
		printf("  -\n");
	json_array_foreach(preds, i, p) {
		struct sbuf sb = SBUF_INIT;
		sb_addf(&sb, "  %s: %s runtime, %lld/%lld replicas ready, ", cli_jstr(p, "name"),
			*cli_jstr(p, "runtime") ? cli_jstr(p, "runtime") : "?", cli_jint(p, "ready_replicas"),
			cli_jint(p, "replicas"));
		if (json_is_true(json_object_get(p, "shadow")))
			sb_adds(&sb, "shadow (gets a copy of each request; answers logged, not returned)");
		else
			sb_addf(&sb, "traffic %lld%%", cli_jint(p, "traffic"));
		if (*cli_jstr(p, "training_id"))
			sb_addf(&sb, ", training job %s", cli_jstr(p, "training_id"));
		printf("%s\n", sb_str(&sb));
		sb_release(&sb);
		replica_states(json_object_get(p, "replica_states"));
	}
}

static void requests(const json_t *r)
{
	struct sbuf sb = SBUF_INIT;
	const char *code;
	json_t *n;
	sb_addf(&sb, "%lld", cli_jint(r, "total"));
	int first = 1;
	json_object_foreach((json_t *)json_object_get(r, "by_code"), code, n) {
		sb_addf(&sb, "%s%s: %lld", first ? " (" : ", ", code, json_is_integer(n) ? (long long)json_integer_value(n) : 0);
		first = 0;
	}
	if (!first)
		sb_addc(&sb, ')');
	field("", "Requests:", sb_str(&sb));
	sb_release(&sb);
}

static void ignored(const json_t *ign)
{
	size_t i;
	json_t *g;
	if (!json_array_size(ign))
		return;
	printf("Ignored spec fields (kept, not used):\n");
	json_array_foreach(ign, i, g) {
		long long line = cli_jint(g, "line");
		printf("  %s", cli_jstr(g, "path"));
		if (line > 0)
			printf(" (line %lld)", line);
		if (*cli_jstr(g, "reason"))
			printf(": %s", cli_jstr(g, "reason"));
		putchar('\n');
	}
}

/* A bucket reference: a string, or an object naming a container or bucket. */
static void add_bucket(struct sbuf *sb, const json_t *v)
{
	const char *s = json_string_value(v);
	if (!s)
		s = cli_jstr(v, "container");
	if (!*s)
		s = cli_jstr(v, "bucket");
	sb_adds(sb, *s ? s : "-");
}

static void lineage_stores(const json_t *stores)
{
	size_t i;
	json_t *ds;
	if (!json_array_size(stores)) {
		field("  ", "Data stores:", "-");
		return;
	}
	printf("  Data stores:\n");
	json_array_foreach(stores, i, ds) {
		struct sbuf sb = SBUF_INIT;
		sb_addf(&sb, "    %s (%s): training data ", *cli_jstr(ds, "id") ? cli_jstr(ds, "id") : "-",
			*cli_jstr(ds, "type") ? cli_jstr(ds, "type") : "?");
		add_bucket(&sb, json_object_get(ds, "training_data"));
		sb_adds(&sb, ", results ");
		add_bucket(&sb, json_object_get(ds, "training_results"));
		printf("%s\n", sb_str(&sb));
		sb_release(&sb);
	}
}

static void lineage_metrics(const json_t *metrics)
{
	static const char *const head[] = { "    GROUP", "METRIC", "LAST", "ITER" };
	static const int right[] = { 0, 0, 1, 1 };
	struct cli_table t;
	size_t i;
	json_t *m;
	if (!json_array_size(metrics)) {
		field("  ", "Metrics:", "-");
		return;
	}
	printf("  Final metrics:\n");
	cli_table_init(&t, 4);
	cli_table_add(&t, head);
	json_array_foreach(metrics, i, m) {
		struct sbuf last = SBUF_INIT, iter = SBUF_INIT;
		char *group = xasprintf("    %s", *cli_jstr(m, "group") ? cli_jstr(m, "group") : "-");
		add_scalar(&last, json_object_get(m, "last"));
		add_scalar(&iter, json_object_get(m, "iteration"));
		const char *row[4] = { group, cli_jstr(m, "name"), last.len ? sb_str(&last) : "-",
				       iter.len ? sb_str(&iter) : "-" };
		cli_table_add(&t, row);
		free(group);
		sb_release(&last);
		sb_release(&iter);
	}
	cli_table_print(&t, right);
	cli_table_free(&t);
}

static void lineage_one(const json_t *l)
{
	const json_t *job = json_object_get(l, "job");
	const json_t *fw = json_object_get(job, "framework");
	char t[32];
	struct sbuf sb = SBUF_INIT;
	sb_adds(&sb, *cli_jstr(l, "training_id") ? cli_jstr(l, "training_id") : "-");
	if (*cli_jstr(job, "name"))
		sb_addf(&sb, " (%s)", cli_jstr(job, "name"));
	field("  ", "Training job:", sb_str(&sb));
	sb_reset(&sb);
	field("  ", "Status:", cli_jstr(job, "status"));
	/* the framework as a string ("custom:1") or an object {name, version} */
	if (json_is_object(fw))
		sb_addf(&sb, "%s%s%s", cli_jstr(fw, "name"), *cli_jstr(fw, "version") ? ":" : "", cli_jstr(fw, "version"));
	else
		add_scalar(&sb, fw);
	field("  ", "Framework:", sb_str(&sb));
	sb_release(&sb);
	field("  ", "Submitted:", cli_jtime(job, "submitted", t, sizeof t));
	field("  ", "Completed:", cli_jtime(job, "completed", t, sizeof t));
	if (*cli_jstr(l, "results"))
		field("  ", "Results:", cli_jstr(l, "results"));
	lineage_stores(json_object_get(l, "data_stores"));
	lineage_metrics(json_object_get(l, "metrics"));
	const char *manifest = cli_jstr(l, "manifest");
	if (!*manifest) {
		field("  ", "Manifest:", "-");
		return;
	}
	printf("  Manifest:\n");
	for (const char *p = manifest; *p;) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		printf("    %.*s\n", (int)n, p);
		p += n + (nl ? 1 : 0);
	}
}

static void show(const struct client *c, const json_t *d)
{
	char t[32];
	field("", "Deployment:", cli_jstr(d, "name"));
	field("", "Status:", cli_jstr(d, "status"));
	if (*cli_jstr(d, "message"))
		field("", "Message:", cli_jstr(d, "message"));
	field("", "Created:", cli_jtime(d, "created", t, sizeof t));
	endpoints(c, d);
	predictors(json_object_get(d, "predictors"));
	requests(json_object_get(d, "requests"));
	ignored(json_object_get(d, "ignored"));
	/* one lineage object; an array (one per training job) is shown in turn */
	const json_t *lin = json_object_get(d, "lineage");
	if (json_is_array(lin)) {
		size_t i;
		json_t *l;
		json_array_foreach(lin, i, l) {
			printf("Lineage %zu:\n", i + 1);
			lineage_one(l);
		}
	} else if (json_is_object(lin)) {
		printf("Lineage:\n");
		lineage_one(lin);
	} else {
		field("", "Lineage:", "-");
	}
}

int cmd_deployment(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int json = 0, c;
	if (cli_wants_help(argc, argv))
		return cli_help(show_help);
	cli_opts_begin();
	while ((c = cli_getopt(argc, argv, "", opts, "deployment")) != -1) {
		if (c != 'j')
			return EXIT_USER;
		json = 1;
	}
	if (optind >= argc)
		return cli_usage_error("deployment", show_usage, "missing the subcommand (show)");
	if (strcmp(argv[optind], "show"))
		return cli_usage_error("deployment", show_usage, "'%s' is not a deployment subcommand (show)",
				       argv[optind]);
	if (argc - optind < 2)
		return cli_usage_error("deployment", show_usage, "missing the deployment NAME");
	if (argc - optind > 2)
		return cli_usage_error("deployment", show_usage, "unexpected argument '%s'", argv[optind + 2]);
	const char *name = argv[optind + 1];
	if (!*name)
		return cli_usage_error("deployment", show_usage, "the deployment NAME is empty");

	struct client cl;
	json_t *d = NULL;
	int rc = client_init(&cl);
	if (rc)
		return rc;
	char *ename = client_escape(name, 0);
	char *path = xasprintf("/v1/deployments/%s", ename);
	rc = client_json(&cl, "GET", path, NULL, &d);
	free(path);
	free(ename);
	if (!rc && json) {
		rc = cli_print_json(d);
	} else if (!rc) {
		show(&cl, d);
		if (fflush(stdout)) {
			perror("weft: writing standard output");
			rc = EXIT_SYSTEM;
		}
	}
	json_decref(d);
	client_close(&cl);
	return rc;
}

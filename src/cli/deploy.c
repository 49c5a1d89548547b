/* deploy.c - `weft deploy SPEC` / `weft deploy --training-id ID` (POST
 * /v1/deployments, then by default wait until the deployment is AVAILABLE or
 * FAILED) and `weft undeploy NAME`; plus the HTTP exchange the serving
 * commands share (deploy.h): a spec goes to the server as the user wrote it,
 * YAML included, so the server's errors and ignored-field reports name the
 * user's own lines. */
#include "cli/deploy.h"
#include "cli/cli.h"
#include "cli/client.h"
#include "cli/common.h"
#include "util/fs.h"
#include "util/mem.h"
#include "util/sbuf.h"
#include "util/timeutil.h"
#include <ctype.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifndef WEFT_VERSION
#define WEFT_VERSION "unknown"
#endif

#define DEFAULT_WAIT_S 120
#define SAMPLE_MAX_VALUES 256 /* the curl example carries a zero input up to this size */

static const char deploy_usage[] =
	"weft deploy SPEC|--training-id ID [--name N] [--replicas K] [--json] [--no-wait] [--timeout S]";
static const char deploy_help[] =
	"usage: weft deploy SPEC [--json] [--no-wait] [--timeout S]\n"
	"       weft deploy --training-id ID [--name N] [--replicas K] [--json] [--no-wait] [--timeout S]\n"
	"\n"
	"Serve a trained model (POST /v1/deployments). SPEC is a file holding a Seldon\n"
	"SeldonDeployment in JSON or YAML ('-' reads standard input); it is sent as written,\n"
	"so errors and ignored fields name its lines. The short form serves training job\n"
	"ID's model.onnx with the native runtime, under the name N (default: derived from\n"
	"the id) with K replicas (default 1).\n"
	"\n"
	"Then, unless --no-wait, waits until the deployment is AVAILABLE or FAILED, and\n"
	"prints its name and status, each predictor (runtime, training job, ready/total\n"
	"replicas, traffic share or shadow), every spec field weft keeps but does not use\n"
	"(\"ignored: PATH (line N): REASON\"), the prediction endpoints as full URLs and a\n"
	"curl command to try one.\n"
	"\n"
	"Options:\n"
	"      --training-id ID  the short form: serve this training job's model\n"
	"      --name N          short form: the deployment's name (a DNS label)\n"
	"      --replicas K      short form: number of replicas (default 1)\n"
	"      --json            print the server's answer (with status and predictors from\n"
	"                        the last poll when waiting) instead of the summary\n"
	"      --wait            wait for AVAILABLE or FAILED (the default)\n"
	"      --no-wait         return as soon as the server accepted the deployment\n"
	"      --timeout S       wait at most S seconds (default 120)\n"
	"  -h, --help            show this help\n"
	"\n"
	"Examples:\n"
	"  weft deploy seldon.yaml\n"
	"  weft deploy --training-id training-a1B2c3D4e --name digits --replicas 2\n"
	"\n"
	"Environment: WEFT_SERVER, WEFT_TOKEN (see 'weft --help').\n"
	"Exit status: 0 AVAILABLE (or accepted, with --no-wait), 1 bad arguments, a spec or\n"
	"request the server refused, or a deployment that FAILED, 2 server unreachable, server\n"
	"error, or still not ready after the timeout.\n";

static const char undeploy_usage[] = "weft undeploy NAME";
static const char undeploy_help[] =
	"usage: weft undeploy NAME\n"
	"\n"
	"Delete deployment NAME (DELETE /v1/deployments/NAME): its replicas stop and its\n"
	"endpoints answer 404. The training job and its model are kept. Prints\n"
	"\"NAME undeployed\".\n"
	"\n"
	"Options:\n"
	"  -h, --help   show this help\n"
	"\n"
	"Environment: WEFT_SERVER, WEFT_TOKEN (see 'weft --help').\n"
	"Exit status: 0 ok, 1 bad arguments or unknown deployment, 2 server unreachable or\n"
	"server error.\n";

/* ---- the shared exchange (deploy.h) ---- */

static size_t on_body(char *data, size_t size, size_t nmemb, void *arg)
{
	sb_add(arg, data, size * nmemb);
	return size * nmemb;
}

int deploy_http(struct client *c, const char *method, const char *path, const char *auth_header,
		const char *content_type, const char *body, size_t len, struct deploy_answer *a)
{
	memset(a, 0, sizeof *a);
	sb_add(&a->body, "", 0);
	if (!c->curl)
		c->curl = curl_easy_init();
	else
		curl_easy_reset(c->curl);
	if (!c->curl) {
		fprintf(stderr, "weft: cannot start libcurl\n");
		return EXIT_SYSTEM;
	}
	CURL *h = c->curl;
	char errbuf[CURL_ERROR_SIZE] = "";
	struct curl_slist *hdrs = NULL, *l;
	char *url = xasprintf("%s%s", c->base, path);
	char *ctype = content_type ? xasprintf("Content-Type: %s", content_type) : NULL;
	const char *lines[] = { auth_header ? auth_header : c->auth, auth_header ? NULL : c->userinfo,
				"Accept: application/json", ctype, "Expect:" };
	for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++)
		if (lines[i] && (l = curl_slist_append(hdrs, lines[i])))
			hdrs = l;
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, c->connect_timeout_s);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, c->timeout_s);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "weft/" WEFT_VERSION);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &a->body);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	if (strcmp(method, "GET"))
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	if (body || !strcmp(method, "POST") || !strcmp(method, "PUT")) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body ? body : "");
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(body ? len : 0));
	}
	CURLcode cc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &a->status);
	c->status = a->status;
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
	curl_slist_free_all(hdrs);
	free(ctype);
	free(url);
	if (cc == CURLE_OK)
		return 0;
	const char *why = errbuf[0] ? errbuf : curl_easy_strerror(cc);
	if (c->quiet) {
		/* nothing */
	} else if (a->status == 0 || cc == CURLE_COULDNT_CONNECT || cc == CURLE_COULDNT_RESOLVE_HOST) {
		fprintf(stderr, "weft: cannot reach the weft server at %s: %s (is `weft server` running? set WEFT_SERVER)\n",
			c->base, why);
	} else {
		fprintf(stderr, "weft: the connection to the weft server at %s broke during %s %s: %s\n", c->base,
			method, path, why);
	}
	return EXIT_SYSTEM;
}

void deploy_answer_release(struct deploy_answer *a)
{
	sb_release(&a->body);
}

char *deploy_error_message(const char *body, size_t len)
{
	json_t *j = json_loadb(body ? body : "", len, 0, NULL);
	json_t *st = json_object_get(j, "status");
	const char *desc = cli_jstr(j, "description"), *err = cli_jstr(j, "error");
	char *msg = NULL;
	if (*desc)
		msg = xstrdup(desc);
	else if (*err)
		msg = xstrdup(err);
	else if (json_is_object(st) && (*cli_jstr(st, "info") || *cli_jstr(st, "reason"))) {
		const char *reason = cli_jstr(st, "reason"), *info = cli_jstr(st, "info");
		msg = *reason && *info ? xasprintf("%s: %s", reason, info) : xstrdup(*info ? info : reason);
	}
	json_decref(j);
	return msg;
}

int deploy_report_error(const struct client *c, const char *method, const char *path,
			const struct deploy_answer *a, int own_auth)
{
	long st = a->status;
	int rc = st >= 400 && st < 500 ? EXIT_USER : EXIT_SYSTEM;
	if (c->quiet)
		return rc;
	char *msg = deploy_error_message(a->body.buf, a->body.len);
	if (msg)
		fprintf(stderr, "weft: %s\n", msg);
	else
		fprintf(stderr, "weft: the server answered %s %s with HTTP %ld\n", method, path, st);
	free(msg);
	if (st >= 500)
		fprintf(stderr, "weft: this is a server error (HTTP %ld); the server's log may say more\n", st);
	if (st == 401 && !own_auth) {
		if (c->auth_source)
			fprintf(stderr, "weft: the credentials from %s were refused; set WEFT_TOKEN to a valid token\n",
				c->auth_source);
		else
			fprintf(stderr, "weft: no credentials: set WEFT_TOKEN to your token (or DLAAS_USERNAME and "
					"DLAAS_PASSWORD); on the server's machine weft reads the admin token from %s "
					"(set WEFT_HOME to the server's --home)\n",
				c->token_file ? c->token_file : "<home>/admin.token");
	}
	return rc;
}

int deploy_answer_json(const char *method, const char *path, const struct deploy_answer *a, json_t **out)
{
	json_error_t je;
	*out = json_loadb(a->body.buf ? a->body.buf : "", a->body.len, 0, &je);
	if (json_is_object(*out))
		return 0;
	fprintf(stderr, "weft: the server's answer to %s %s is not a JSON object%s%s\n", method, path,
		*out ? "" : ": ", *out ? "" : je.text);
	json_decref(*out);
	*out = NULL;
	return EXIT_SYSTEM;
}

char *deploy_seldon_path(const char *ns, const char *name)
{
	char *ens = client_escape(ns && *ns ? ns : "default", 0), *en = client_escape(name, 0);
	char *p = xasprintf("/seldon/%s/%s/api/v1.0/predictions", ens, en);
	free(ens);
	free(en);
	return p;
}

char *deploy_v2_path(const char *name, const char *what)
{
	char *en = client_escape(name, 0);
	char *p = xasprintf("/v2/models/%s%s%s", en, *what ? "/" : "", what);
	free(en);
	return p;
}

/* Copies a JSON string token (s at its opening quote) to f; returns the position after it. */
static size_t put_string(FILE *f, const char *s, size_t i, size_t len)
{
	size_t start = i++;
	while (i < len && s[i] != '"')
		i += s[i] == '\\' ? 2 : 1;
	if (i < len)
		i++;
	fwrite(s + start, 1, (i > len ? len : i) - start, f);
	return i > len ? len : i;
}

/* 1 when the array opening at s[i] holds no object or array. */
static int flat_array(const char *s, size_t i, size_t len)
{
	for (i++; i < len; i++) {
		if (s[i] == '"') {
			for (i++; i < len && s[i] != '"'; i++)
				if (s[i] == '\\')
					i++;
		} else if (s[i] == '[' || s[i] == '{') {
			return 0;
		} else if (s[i] == ']') {
			return 1;
		}
	}
	return 1;
}

static void newline(FILE *f, int depth)
{
	fputc('\n', f);
	for (int d = 0; d < depth; d++)
		fputs("  ", f);
}

void deploy_print_pretty(FILE *f, const char *s, size_t len)
{
	int depth = 0, flat = 0; /* flat: inside a one-line array */
	for (size_t i = 0; i < len;) {
		char ch = s[i];
		if (ch == '"') {
			i = put_string(f, s, i, len);
			continue;
		}
		i++;
		if (isspace((unsigned char)ch))
			continue;
		if (ch == '{' || ch == '[') {
			size_t j = i;
			while (j < len && isspace((unsigned char)s[j]))
				j++;
			if (j < len && (s[j] == '}' || s[j] == ']')) { /* empty */
				fputc(ch, f);
				fputc(s[j], f);
				i = j + 1;
				continue;
			}
			fputc(ch, f);
			if (ch == '[' && flat_array(s, i - 1, len)) {
				flat = 1;
				continue;
			}
			newline(f, ++depth);
		} else if (ch == '}' || ch == ']') {
			if (flat && ch == ']') {
				flat = 0;
			} else {
				newline(f, --depth);
			}
			fputc(ch, f);
		} else if (ch == ',') {
			fputc(',', f);
			if (flat)
				fputc(' ', f);
			else
				newline(f, depth);
		} else if (ch == ':') {
			fputs(": ", f);
		} else {
			fputc(ch, f);
		}
	}
	fputc('\n', f);
}

const char *deploy_replicas(const json_t *predictors, char *buf, size_t size)
{
	long long ready = 0, total = 0;
	size_t i;
	json_t *p;
	json_array_foreach(predictors, i, p) {
		ready += cli_jint(p, "ready_replicas");
		total += cli_jint(p, "replicas");
	}
	snprintf(buf, size, "%lld/%lld", ready, total);
	return buf;
}

/* ---- weft deploy ---- */

struct deploy_opts {
	const char *spec, *training_id, *name;
	long long replicas, timeout_s;
	int json, wait;
};

static int is_final(const char *status)
{
	return !strcmp(status, "AVAILABLE") || !strcmp(status, "FAILED");
}

/* Polls GET /v1/deployments/NAME until AVAILABLE or FAILED; copies status,
 * message and predictors of the last answer into ans. */
static int wait_ready(struct client *c, json_t *ans, long long timeout_s)
{
	const char *name = cli_jstr(ans, "name");
	char *ename = client_escape(name, 0);
	char *path = xasprintf("/v1/deployments/%s", ename);
	int64_t deadline = mono_ns() + timeout_s * 1000000000LL;
	long delay_ms = 100;
	char *last = xstrdup("");
	int rc = 0;
	free(ename);
	for (;;) {
		char buf[48];
		const char *status = cli_jstr(ans, "status");
		char *line = xasprintf("%s, %s replicas ready", status,
				       deploy_replicas(json_object_get(ans, "predictors"), buf, sizeof buf));
		if (!is_final(status) && strcmp(line, last)) {
			fprintf(stderr, "waiting for %s: %s\n", name, line);
			free(last);
			last = line;
		} else {
			free(line);
		}
		if (is_final(status))
			break;
		if (mono_ns() >= deadline) {
			fprintf(stderr, "weft: %s is still %s after %lld s; see 'weft deployment show %s'\n", name,
				status, timeout_s, name);
			rc = EXIT_SYSTEM;
			break;
		}
		struct timespec ts = { delay_ms / 1000, (delay_ms % 1000) * 1000000L };
		nanosleep(&ts, NULL);
		if (delay_ms < 1000)
			delay_ms *= 2;
		json_t *cur = NULL;
		rc = client_json(c, "GET", path, NULL, &cur);
		if (rc) {
			json_decref(cur);
			break;
		}
		static const char *const keys[] = { "status", "message", "predictors" };
		for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
			if (json_object_get(cur, keys[i]))
				json_object_set(ans, keys[i], json_object_get(cur, keys[i]));
		json_decref(cur);
	}
	free(last);
	free(path);
	return rc;
}

static void print_predictors(const json_t *preds)
{
	static const char *const head[] = { "PREDICTOR", "RUNTIME", "TRAINING-ID", "REPLICAS", "TRAFFIC" };
	struct cli_table t;
	size_t i;
	json_t *p;
	cli_table_init(&t, 5);
	cli_table_add(&t, head);
	json_array_foreach(preds, i, p) {
		char reps[48], traffic[32];
		snprintf(reps, sizeof reps, "%lld/%lld", cli_jint(p, "ready_replicas"), cli_jint(p, "replicas"));
		if (json_is_true(json_object_get(p, "shadow")))
			snprintf(traffic, sizeof traffic, "shadow");
		else
			snprintf(traffic, sizeof traffic, "%lld%%", cli_jint(p, "traffic"));
		const char *row[5] = { cli_jstr(p, "name"), cli_jstr(p, "runtime"),
				       *cli_jstr(p, "training_id") ? cli_jstr(p, "training_id") : "-", reps, traffic };
		cli_table_add(&t, row);
	}
	printf("Predictors:\n");
	for (size_t r = 0; r < t.nrows; r++) { /* indent the table by two spaces */
		char *first = t.cells[r * t.ncols];
		t.cells[r * t.ncols] = xasprintf("  %s", first);
		free(first);
	}
	cli_table_print(&t, NULL);
	cli_table_free(&t);
}

/* Prints the ignored fields of an answer, one "ignored: PATH (line N): REASON" a line. */
static void print_ignored(const json_t *ignored)
{
	size_t i;
	json_t *g;
	json_array_foreach(ignored, i, g) {
		long long line = cli_jint(g, "line");
		const char *reason = cli_jstr(g, "reason");
		printf("ignored: %s", cli_jstr(g, "path"));
		if (line > 0)
			printf(" (line %lld)", line);
		if (*reason)
			printf(": %s", reason);
		putchar('\n');
	}
}

/* Single-quotes s for a POSIX shell. */
static char *shell_quote(const char *s)
{
	struct sbuf sb = SBUF_INIT;
	sb_addc(&sb, '\'');
	for (; *s; s++)
		if (*s == '\'')
			sb_adds(&sb, "'\\''");
		else
			sb_addc(&sb, *s);
	sb_addc(&sb, '\'');
	return sb_detach(&sb);
}

/* The curl option that carries the caller's credentials, naming where they
 * are rather than printing them; "" when there are none. Caller frees. */
static char *curl_auth(const struct client *c)
{
	const char *src = c->auth_source;
	if (!src)
		return xstrdup("");
	if (!strcmp(src, "WEFT_TOKEN"))
		return xstrdup(" -H \"Authorization: Bearer $WEFT_TOKEN\"");
	if (!strcmp(src, "DLAAS_USERNAME/DLAAS_PASSWORD"))
		return xstrdup(" -u \"$DLAAS_USERNAME:$DLAAS_PASSWORD\"");
	if (c->token_file && !strcmp(src, c->token_file)) {
		char *q = shell_quote(c->token_file);
		char *s = xasprintf(" -H \"Authorization: Bearer $(cat %s)\"", q);
		free(q);
		return s;
	}
	return xstrdup(" -u USER:TOKEN");
}

/* Appends zeros shaped like dims[0..n) as nested JSON arrays. */
static void zeros(struct sbuf *sb, const long long *dims, int n)
{
	sb_addc(sb, '[');
	for (long long i = 0; i < dims[0]; i++) {
		if (i)
			sb_addc(sb, ',');
		if (n > 1)
			zeros(sb, dims + 1, n - 1);
		else
			sb_addc(sb, '0');
	}
	sb_addc(sb, ']');
}

/* One all-zero row for the model's first input, from its OIP metadata (GET
 * /v2/models/NAME), as a Seldon ndarray "[[0,...]]"; NULL when unknown or big. */
static char *sample_input(struct client *c, const char *name)
{
	char *path = deploy_v2_path(name, "");
	json_t *meta = NULL;
	c->quiet = 1;
	int rc = client_json(c, "GET", path, NULL, &meta);
	c->quiet = 0;
	free(path);
	json_t *shape = json_object_get(json_array_get(json_object_get(meta, "inputs"), 0), "shape");
	char *out = NULL;
	size_t n = json_array_size(shape);
	if (!rc && n >= 2 && n <= 8) {
		long long dims[8], numel = 1;
		dims[0] = 1; /* one row, whatever the batch dimension says */
		for (size_t i = 1; i < n; i++) {
			json_t *d = json_array_get(shape, i);
			dims[i] = json_is_integer(d) && json_integer_value(d) > 0 ? json_integer_value(d) : 1;
			numel *= dims[i];
			if (numel > SAMPLE_MAX_VALUES)
				break;
		}
		if (numel <= SAMPLE_MAX_VALUES) {
			struct sbuf sb = SBUF_INIT;
			zeros(&sb, dims, (int)n);
			out = sb_detach(&sb);
		}
	}
	json_decref(meta);
	return out;
}

static void print_endpoints(struct client *c, const json_t *ans)
{
	const json_t *ep = json_object_get(ans, "endpoints");
	const char *name = cli_jstr(ans, "name");
	char *seldon = *cli_jstr(ep, "seldon") ? xstrdup(cli_jstr(ep, "seldon")) : deploy_seldon_path(NULL, name);
	char *v2 = *cli_jstr(ep, "v2") ? xstrdup(cli_jstr(ep, "v2")) : deploy_v2_path(name, "infer");
	printf("Endpoints:\n  Seldon:  %s%s\n  OIP v2:  %s%s\n", c->base, seldon, c->base, v2);
	if (!strcmp(cli_jstr(ans, "status"), "AVAILABLE")) {
		char *sample = sample_input(c, name), *auth = curl_auth(c);
		const char *row = sample ? sample : "[[1.0, 2.0, 3.0]]";
		printf("Try it%s:\n", sample ? "" : " (with your model's input)");
		printf("  curl -s %s%s \\\n   %s -H 'Content-Type: application/json' \\\n    -d '{\"data\":{\"ndarray\":%s}}'\n",
		       c->base, seldon, auth, row);
		printf("  weft predict %s --data '%s'\n", name, row);
		free(sample);
		free(auth);
	}
	free(seldon);
	free(v2);
}

static void print_summary(struct client *c, const json_t *ans)
{
	const char *msg = cli_jstr(ans, "message");
	printf("Deployment: %s\nStatus:     %s\n", cli_jstr(ans, "name"), cli_jstr(ans, "status"));
	if (*msg)
		printf("Message:    %s\n", msg);
	print_predictors(json_object_get(ans, "predictors"));
	print_ignored(json_object_get(ans, "ignored"));
	print_endpoints(c, ans);
}

/* The request body: the SPEC file's text, or the short form as JSON. */
static int build_body(const struct deploy_opts *o, struct sbuf *body, const char **ctype)
{
	if (o->training_id) {
		json_t *j = json_pack("{ss}", "training_id", o->training_id);
		if (o->name)
			json_object_set_new(j, "name", json_string(o->name));
		if (o->replicas)
			json_object_set_new(j, "replicas", json_integer(o->replicas));
		char *s = json_dumps(j, JSON_COMPACT);
		json_decref(j);
		sb_adds(body, s);
		free(s);
		*ctype = "application/json";
		return 0;
	}
	struct weft_err e = { 0, "" };
	const char *path = strcmp(o->spec, "-") ? o->spec : "/dev/stdin";
	if (fs_read_file(path, body, &e)) {
		fprintf(stderr, "weft: %s\n", e.msg);
		return EXIT_USER;
	}
	if (memchr(body->buf, '\0', body->len)) {
		fprintf(stderr, "weft: %s is not a text file (it holds a NUL byte)\n", o->spec);
		return EXIT_USER;
	}
	size_t i = 0;
	while (i < body->len && isspace((unsigned char)body->buf[i]))
		i++;
	if (i == body->len) {
		fprintf(stderr, "weft: %s is empty: expected a SeldonDeployment in JSON or YAML\n",
			strcmp(o->spec, "-") ? o->spec : "standard input");
		return EXIT_USER;
	}
	*ctype = body->buf[i] == '{' ? "application/json" : "application/yaml";
	return 0;
}

static int parse_deploy(int argc, char **argv, struct deploy_opts *o)
{
	static const struct option opts[] = {
		{ "training-id", required_argument, NULL, 't' },
		{ "name", required_argument, NULL, 'n' },
		{ "replicas", required_argument, NULL, 'r' },
		{ "json", no_argument, NULL, 'j' },
		{ "wait", no_argument, NULL, 'w' },
		{ "no-wait", no_argument, NULL, 'W' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;
	memset(o, 0, sizeof *o);
	o->wait = 1;
	o->timeout_s = DEFAULT_WAIT_S;
	cli_opts_begin();
	while ((c = cli_getopt(argc, argv, "", opts, "deploy")) != -1) {
		switch (c) {
		case 't':
			if (!*optarg)
				return cli_usage_error("deploy", deploy_usage, "--training-id: the ID is empty");
			o->training_id = optarg;
			break;
		case 'n':
			if (!*optarg)
				return cli_usage_error("deploy", deploy_usage, "--name: the name is empty");
			o->name = optarg;
			break;
		case 'r':
			if (cli_parse_ll("deploy", "--replicas", optarg, 1, 1000000, &o->replicas))
				return EXIT_USER;
			break;
		case 'T':
			if (cli_parse_ll("deploy", "--timeout", optarg, 1, 86400, &o->timeout_s))
				return EXIT_USER;
			break;
		case 'j':
			o->json = 1;
			break;
		case 'w':
			o->wait = 1;
			break;
		case 'W':
			o->wait = 0;
			break;
		default:
			return EXIT_USER;
		}
	}
	if (optind < argc)
		o->spec = argv[optind];
	if (o->spec && o->training_id)
		return cli_usage_error("deploy", deploy_usage, "give either SPEC or --training-id, not both");
	if (!o->spec && !o->training_id)
		return cli_usage_error("deploy", deploy_usage, "missing the SPEC file (or --training-id ID)");
	if (argc - optind > 1)
		return cli_usage_error("deploy", deploy_usage, "unexpected argument '%s'", argv[optind + 1]);
	if (o->spec && !*o->spec)
		return cli_usage_error("deploy", deploy_usage, "the SPEC file name is empty");
	if (o->spec && (o->name || o->replicas))
		return cli_usage_error("deploy", deploy_usage, "%s goes with --training-id; a SPEC sets %s itself",
				       o->name ? "--name" : "--replicas", o->name ? "spec.name" : "replicas");
	return 0;
}

int cmd_deploy(int argc, char **argv)
{
	struct deploy_opts o;
	if (cli_wants_help(argc, argv))
		return cli_help(deploy_help);
	int rc = parse_deploy(argc, argv, &o);
	if (rc)
		return rc;
	struct sbuf body = SBUF_INIT;
	const char *ctype = NULL;
	rc = build_body(&o, &body, &ctype);
	if (rc) {
		sb_release(&body);
		return rc;
	}

	struct client cl;
	struct deploy_answer a;
	json_t *ans = NULL;
	rc = client_init(&cl);
	if (rc) {
		sb_release(&body);
		return rc;
	}
	rc = deploy_http(&cl, "POST", "/v1/deployments", NULL, ctype, body.buf, body.len, &a);
	sb_release(&body);
	if (!rc && (a.status < 200 || a.status >= 300))
		rc = deploy_report_error(&cl, "POST", "/v1/deployments", &a, 0);
	else if (!rc)
		rc = deploy_answer_json("POST", "/v1/deployments", &a, &ans);
	deploy_answer_release(&a);
	if (!rc && !*cli_jstr(ans, "name")) {
		fprintf(stderr, "weft: the server's answer to POST /v1/deployments has no name\n");
		rc = EXIT_SYSTEM;
	}
	int wait_rc = 0;
	if (!rc && o.wait)
		wait_rc = wait_ready(&cl, ans, o.timeout_s);
	if (!rc) {
		if (o.json)
			rc = cli_print_json(ans);
		else
			print_summary(&cl, ans);
		if (!rc && fflush(stdout)) {
			perror("weft: writing standard output");
			rc = EXIT_SYSTEM;
		}
	}
	if (!rc)
		rc = wait_rc;
	if (!rc && !strcmp(cli_jstr(ans, "status"), "FAILED")) {
		const char *msg = cli_jstr(ans, "message");
		fprintf(stderr, "weft: deployment %s FAILED%s%s\n", cli_jstr(ans, "name"), *msg ? ": " : "", msg);
		rc = EXIT_USER;
	}
	json_decref(ans);
	client_close(&cl);
	return rc;
}

/* ---- weft undeploy ---- */

int cmd_undeploy(int argc, char **argv)
{
	static const struct option opts[] = { { "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 } };
	if (cli_wants_help(argc, argv))
		return cli_help(undeploy_help);
	cli_opts_begin();
	if (cli_getopt(argc, argv, "", opts, "undeploy") != -1)
		return EXIT_USER;
	if (optind >= argc)
		return cli_usage_error("undeploy", undeploy_usage, "missing the deployment NAME");
	if (argc - optind > 1)
		return cli_usage_error("undeploy", undeploy_usage, "unexpected argument '%s'", argv[optind + 1]);
	const char *name = argv[optind];
	if (!*name)
		return cli_usage_error("undeploy", undeploy_usage, "the deployment NAME is empty");

	struct client cl;
	int rc = client_init(&cl);
	if (rc)
		return rc;
	char *ename = client_escape(name, 0);
	char *path = xasprintf("/v1/deployments/%s", ename);
	rc = client_json(&cl, "DELETE", path, NULL, NULL);
	free(path);
	free(ename);
	client_close(&cl);
	if (!rc)
		printf("%s undeployed\n", name);
	return rc;
}

/* deploy_predict.c - `weft predict NAME --data JSON | --file F [--v2]`: one
 * prediction from a deployment, over Seldon's protocol (POST /seldon/NS/NAME/
 * api/v1.0/predictions; a bare array becomes {"data": {"ndarray": ...}}) or
 * the Open Inference Protocol v2 (POST /v2/models/NAME/infer; a bare array
 * becomes one FP32 input named after the model's metadata, shaped like the
 * array). Prints the answer, pretty, with numbers exactly as the server sent them. */
#include "cli/cli.h"
#include "cli/client.h"
#include "cli/common.h"
#include "cli/deploy.h"
#include "util/fs.h"
#include "util/mem.h"
#include "util/sbuf.h"
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DIMS 8

static const char usage_line[] =
	"weft predict NAME (--data JSON | --file F) [--v2] [-n NS] [--oauth-key K --oauth-secret S]";
static const char help[] =
	"usage: weft predict NAME --data JSON [--v2] [-n|--namespace NS]\n"
	"       weft predict NAME --file F [--v2] [-n|--namespace NS]\n"
	"\n"
	"Send one prediction request to deployment NAME and print the answer as indented\n"
	"JSON (numbers exactly as the server sent them).\n"
	"\n"
	"Seldon (the default): POST /seldon/NS/NAME/api/v1.0/predictions. A JSON array is\n"
	"sent as {\"data\": {\"ndarray\": ARRAY}}, one row per inner array:\n"
	"  weft predict digits --data '[[0, 0, 5, 13, 9, 1, ...]]'\n"
	"A JSON object is a whole SeldonMessage and is sent as is (data.tensor, jsonData,\n"
	"strData, binData, names, meta...).\n"
	"\n"
	"--v2: the Open Inference Protocol: POST /v2/models/NAME/infer. A JSON array (nested,\n"
	"of numbers, rectangular) becomes one FP32 input whose shape is the array's and whose\n"
	"name is the model's first input (GET /v2/models/NAME); when the model's input has\n"
	"one more dimension than the array, the array is one row (shape [1, ...]). A JSON\n"
	"object is a whole inference request and is sent as is.\n"
	"\n"
	"Options:\n"
	"      --data JSON          the request: an array of numbers or a JSON object\n"
	"      --file F             read the request from file F ('-': standard input)\n"
	"      --v2                 use the Open Inference Protocol v2 instead of Seldon's\n"
	"  -n, --namespace NS       the Seldon namespace of the deployment (default: default)\n"
	"      --oauth-key K        authenticate with the deployment's oauth_key and\n"
	"      --oauth-secret S     oauth_secret (or $WEFT_OAUTH_SECRET): a token from\n"
	"                           POST /oauth/token replaces your weft credentials\n"
	"  -h, --help               show this help\n"
	"\n"
	"Environment: WEFT_SERVER, WEFT_TOKEN (see 'weft --help'), WEFT_OAUTH_SECRET.\n"
	"Exit status: 0 ok, 1 bad arguments or input, or an error answer (4xx, or a Seldon\n"
	"status FAILURE; the server's message is printed), 2 server unreachable or server\n"
	"error (5xx).\n";

struct predict_opts {
	const char *name, *data, *file, *ns, *oauth_key, *oauth_secret;
	int v2;
};

/* ---- the request ---- */

/* Checks that v is a rectangular nested array of numbers: sets shape[0..*ndim)
 * and appends the numbers, in row-major order, to flat. EXIT_USER after a
 * message naming the element otherwise. */
static int check_array(const json_t *v, long long *shape, int *ndim, json_t *flat)
{
	const json_t *p = v;
	*ndim = 0;
	while (json_is_array(p)) {
		if (*ndim == MAX_DIMS) {
			fprintf(stderr, "weft predict: the array has more than %d dimensions\n", MAX_DIMS);
			return EXIT_USER;
		}
		shape[(*ndim)++] = (long long)json_array_size(p);
		if (!json_array_size(p)) {
			fprintf(stderr, "weft predict: the array holds an empty array: nothing to predict\n");
			return EXIT_USER;
		}
		p = json_array_get(p, 0);
	}
	/* walk every element with an index per dimension */
	long long idx[MAX_DIMS] = { 0 };
	const json_t *stack[MAX_DIMS + 1];
	stack[0] = v;
	int d = 0;
	for (;;) {
		const json_t *cur = stack[d];
		if (d < *ndim) {
			if (!json_is_array(cur) || (long long)json_array_size(cur) != shape[d]) {
				struct sbuf where = SBUF_INIT;
				for (int k = 0; k < d; k++)
					sb_addf(&where, "[%lld]", idx[k]);
				fprintf(stderr, "weft predict: data%s %s; rows must all have the same length (%lld)\n",
					sb_str(&where),
					json_is_array(cur) ? "has a different number of values" : "is not an array",
					shape[d]);
				sb_release(&where);
				return EXIT_USER;
			}
			stack[d + 1] = json_array_get(cur, (size_t)idx[d]);
			d++;
			continue;
		}
		if (!json_is_number(cur)) {
			struct sbuf where = SBUF_INIT;
			for (int k = 0; k < d; k++)
				sb_addf(&where, "[%lld]", idx[k]);
			fprintf(stderr, "weft predict: data%s is not a number\n", sb_str(&where));
			sb_release(&where);
			return EXIT_USER;
		}
		json_array_append(flat, (json_t *)cur);
		/* next index: carry over the dimensions */
		for (;;) {
			if (d == 0)
				return 0;
			d--;
			if (++idx[d] < shape[d])
				break;
			idx[d] = 0;
		}
		stack[d + 1] = json_array_get(stack[d], (size_t)idx[d]);
		d++;
	}
}

/* The model's first input (name and rank) from GET /v2/models/NAME; "input-0"
 * and rank 0 (unknown) when the server has no metadata for it. */
static void model_input(struct client *c, const char *name, const char *auth, char **input, int *rank)
{
	struct deploy_answer a;
	char *path = deploy_v2_path(name, "");
	json_t *meta = NULL;
	*input = NULL;
	*rank = 0;
	if (!deploy_http(c, "GET", path, auth, NULL, NULL, 0, &a) && a.status == 200)
		meta = json_loadb(a.body.buf, a.body.len, 0, NULL);
	deploy_answer_release(&a);
	free(path);
	json_t *in = json_array_get(json_object_get(meta, "inputs"), 0);
	if (*cli_jstr(in, "name"))
		*input = xstrdup(cli_jstr(in, "name"));
	else
		*input = xstrdup("input-0");
	*rank = (int)json_array_size(json_object_get(in, "shape"));
	json_decref(meta);
}

/* Builds the body to send from the user's JSON text into body. */
static int build_request(struct client *c, const struct predict_opts *o, const char *auth, const char *text,
			 size_t len, struct sbuf *body)
{
	json_error_t je;
	const char *src = o->data ? "--data" : strcmp(o->file, "-") ? o->file : "standard input";
	if (strspn(text, " \t\r\n") == len) {
		fprintf(stderr, "weft predict: %s is empty: expected a JSON array or object\n", src);
		return EXIT_USER;
	}
	json_t *j = json_loadb(text, len, JSON_DECODE_ANY, &je);
	if (!j) {
		fprintf(stderr, "weft predict: %s is not JSON: %s (line %d, column %d)\n", src, je.text, je.line,
			je.column);
		return EXIT_USER;
	}
	int rc = 0;
	if (json_is_object(j)) {
		sb_add(body, text, len); /* a whole message: as written */
	} else if (!json_is_array(j)) {
		fprintf(stderr, "weft predict: %s must be a JSON array of numbers (a batch of rows) or a JSON object "
				"(a whole %s)\n", src, o->v2 ? "inference request" : "SeldonMessage");
		rc = EXIT_USER;
	} else if (!o->v2) {
		/* keep the numbers' text: wrap the array as written */
		sb_adds(body, "{\"data\":{\"ndarray\":");
		sb_add(body, text, len);
		sb_adds(body, "}}");
	} else {
		long long shape[MAX_DIMS + 1];
		int ndim, rank;
		json_t *flat = json_array();
		rc = check_array(j, shape + 1, &ndim, flat);
		if (!rc) {
			char *input;
			model_input(c, o->name, auth, &input, &rank);
			long long *sh = shape + 1;
			if (rank == ndim + 1) { /* one row of a model that takes batches */
				shape[0] = 1;
				sh = shape;
				ndim++;
			}
			json_t *jshape = json_array();
			for (int i = 0; i < ndim; i++)
				json_array_append_new(jshape, json_integer(sh[i]));
			json_t *req = json_pack("{s:[{s:s, s:o, s:s, s:o}]}", "inputs", "name", input, "shape", jshape,
						"datatype", "FP32", "data", flat);
			flat = NULL; /* now owned by req */
			char *s = json_dumps(req, JSON_COMPACT);
			sb_adds(body, s);
			free(s);
			json_decref(req);
			free(input);
		}
		json_decref(flat);
	}
	json_decref(j);
	return rc;
}

/* ---- credentials ---- */

/* POST /oauth/token with HTTP Basic key:secret; on success *auth is the
 * "Authorization: Bearer TOKEN" line to use. */
static int oauth_token(struct client *c, const char *key, const char *secret, char **auth)
{
	char *plain = xasprintf("%s:%s", key, secret);
	size_t n = strlen(plain);
	unsigned char *b64 = xmalloc(4 * ((n + 2) / 3) + 1);
	EVP_EncodeBlock(b64, (const unsigned char *)plain, (int)n);
	char *basic = xasprintf("Authorization: Basic %s", b64);
	OPENSSL_cleanse(plain, n);
	free(plain);
	free(b64);
	static const char form[] = "grant_type=client_credentials";
	struct deploy_answer a;
	json_t *ans = NULL;
	int rc = deploy_http(c, "POST", "/oauth/token", basic, "application/x-www-form-urlencoded", form,
			     sizeof form - 1, &a);
	OPENSSL_cleanse(basic, strlen(basic));
	free(basic);
	if (!rc && (a.status < 200 || a.status >= 300))
		rc = deploy_report_error(c, "POST", "/oauth/token", &a, 1);
	else if (!rc)
		rc = deploy_answer_json("POST", "/oauth/token", &a, &ans);
	if (a.body.buf)
		OPENSSL_cleanse(a.body.buf, a.body.len);
	deploy_answer_release(&a);
	if (!rc) {
		const char *tok = cli_jstr(ans, "access_token");
		if (!*tok || strpbrk(tok, "\r\n")) {
			fprintf(stderr, "weft: the server's answer to POST /oauth/token has no usable access_token\n");
			rc = EXIT_SYSTEM;
		} else {
			*auth = xasprintf("Authorization: Bearer %s", tok);
		}
	}
	json_decref(ans);
	return rc;
}

/* ---- the command ---- */

static int parse_opts(int argc, char **argv, struct predict_opts *o)
{
	static const struct option opts[] = {
		{ "data", required_argument, NULL, 'd' },
		{ "file", required_argument, NULL, 'f' },
		{ "v2", no_argument, NULL, '2' },
		{ "namespace", required_argument, NULL, 'n' },
		{ "oauth-key", required_argument, NULL, 'k' },
		{ "oauth-secret", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c, secret_flag = 0;
	memset(o, 0, sizeof *o);
	cli_opts_begin();
	while ((c = cli_getopt(argc, argv, "n:", opts, "predict")) != -1) {
		switch (c) {
		case 'd':
			o->data = optarg;
			break;
		case 'f':
			if (!*optarg)
				return cli_usage_error("predict", usage_line, "--file: the file name is empty");
			o->file = optarg;
			break;
		case '2':
			o->v2 = 1;
			break;
		case 'n':
			if (!*optarg)
				return cli_usage_error("predict", usage_line, "--namespace: the namespace is empty");
			o->ns = optarg;
			break;
		case 'k':
			o->oauth_key = optarg;
			break;
		case 's':
			o->oauth_secret = optarg;
			secret_flag = 1;
			break;
		default:
			return EXIT_USER;
		}
	}
	if (optind >= argc)
		return cli_usage_error("predict", usage_line, "missing the deployment NAME");
	if (argc - optind > 1)
		return cli_usage_error("predict", usage_line, "unexpected argument '%s'", argv[optind + 1]);
	o->name = argv[optind];
	if (!*o->name)
		return cli_usage_error("predict", usage_line, "the deployment NAME is empty");
	if (!o->data && !o->file)
		return cli_usage_error("predict", usage_line, "give the request with --data JSON or --file F");
	if (o->data && o->file)
		return cli_usage_error("predict", usage_line, "give either --data or --file, not both");
	if (o->v2 && o->ns)
		return cli_usage_error("predict", usage_line, "--namespace is for Seldon's path; --v2 has none");
	if (!o->oauth_secret && getenv("WEFT_OAUTH_SECRET") && *getenv("WEFT_OAUTH_SECRET"))
		o->oauth_secret = getenv("WEFT_OAUTH_SECRET");
	if (o->oauth_key && !*o->oauth_key)
		return cli_usage_error("predict", usage_line, "--oauth-key: the key is empty");
	if (secret_flag && !o->oauth_key)
		return cli_usage_error("predict", usage_line, "--oauth-secret needs --oauth-key");
	if (o->oauth_key && !o->oauth_secret)
		return cli_usage_error("predict", usage_line,
				       "--oauth-key needs --oauth-secret (or WEFT_OAUTH_SECRET)");
	return 0;
}

/* The answer: printed when 2xx and not a Seldon FAILURE; else its message. */
static int print_answer(const struct client *c, const char *path, const struct deploy_answer *a, int own_auth)
{
	json_error_t je;
	json_t *j = json_loadb(a->body.buf, a->body.len, JSON_DECODE_ANY, &je);
	int ok = a->status >= 200 && a->status < 300;
	int rc = 0;
	if (!ok) {
		rc = deploy_report_error(c, "POST", path, a, own_auth);
	} else if (!j) {
		fprintf(stderr, "weft: the answer to POST %s is not JSON (%s): %.200s\n", path, je.text,
			a->body.buf);
		rc = EXIT_SYSTEM;
	} else if (!strcmp(cli_jstr(json_object_get(j, "status"), "status"), "FAILURE")) {
		char *msg = deploy_error_message(a->body.buf, a->body.len);
		fprintf(stderr, "weft: %s\n", msg ? msg : "the model answered with status FAILURE");
		free(msg);
		rc = EXIT_USER;
	} else {
		deploy_print_pretty(stdout, a->body.buf, a->body.len);
		if (fflush(stdout)) {
			perror("weft: writing standard output");
			rc = EXIT_SYSTEM;
		}
	}
	json_decref(j);
	return rc;
}

int cmd_predict(int argc, char **argv)
{
	struct predict_opts o;
	if (cli_wants_help(argc, argv))
		return cli_help(help);
	int rc = parse_opts(argc, argv, &o);
	if (rc)
		return rc;
	struct sbuf input = SBUF_INIT, body = SBUF_INIT;
	if (o.file) {
		struct weft_err e = { 0, "" };
		if (fs_read_file(strcmp(o.file, "-") ? o.file : "/dev/stdin", &input, &e)) {
			fprintf(stderr, "weft: %s\n", e.msg);
			sb_release(&input);
			return EXIT_USER;
		}
	} else {
		sb_adds(&input, o.data);
	}

	struct client cl;
	char *auth = NULL, *path = NULL;
	rc = client_init(&cl);
	if (rc) {
		sb_release(&input);
		return rc;
	}
	if (o.oauth_key)
		rc = oauth_token(&cl, o.oauth_key, o.oauth_secret, &auth);
	if (!rc)
		rc = build_request(&cl, &o, auth, input.buf ? input.buf : "", input.len, &body);
	if (!rc) {
		struct deploy_answer a;
		path = o.v2 ? deploy_v2_path(o.name, "infer") : deploy_seldon_path(o.ns, o.name);
		rc = deploy_http(&cl, "POST", path, auth, "application/json", body.buf, body.len, &a);
		if (!rc)
			rc = print_answer(&cl, path, &a, auth != NULL);
		deploy_answer_release(&a);
	}
	if (auth) {
		OPENSSL_cleanse(auth, strlen(auth));
		free(auth);
	}
	free(path);
	sb_release(&body);
	sb_release(&input);
	client_close(&cl);
	return rc;
}

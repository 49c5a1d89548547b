/* logs.c - `weft logs ID [-f] [--pos N] [--pagesize N] [--since T] [--json]`:
 * prints a job's log lines from GET /v1/logs/ID/loglines. Without -f it pages
 * through every stored line; with -f it holds one streamed request open and
 * the server pushes each new line (server-side follow, not FfDL's polling)
 * until the job ends. logs_follow is shared with `train --follow`. */
#include "cli/cli.h"
#include "cli/client.h"
#include "cli/common.h"
#include "util/mem.h"
#include "util/sbuf.h"
#include "util/timeutil.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PAGE_DEFAULT 1000
#define PAGE_MAX 10000
#define RECONNECT_S 60 /* how long to keep trying after a followed stream broke */

static const char usage_line[] = "weft logs ID [-f|--follow] [--pos N] [--pagesize N] [--since T] [--json]";
static const char help[] =
	"usage: weft logs ID [-f|--follow] [--pos N] [--pagesize N] [--since T] [--json]\n"
	"\n"
	"Print the log lines of training job ID (what its learners wrote to stdout and stderr).\n"
	"Without --follow, prints every stored line and exits. With --follow, keeps one\n"
	"streamed request open and prints each new line as the server stores it, until the\n"
	"job ends (COMPLETED, FAILED or HALTED).\n"
	"\n"
	"Options:\n"
	"  -f, --follow     stream new lines until the job ends (reconnects if the connection drops)\n"
	"      --pos N      start at line N (1 = the first line); a negative N means the last |N| lines\n"
	"      --pagesize N print at most N lines (one page, 1..10000) instead of all of them;\n"
	"                   cannot be combined with --follow\n"
	"      --since T    only lines stored at or after T: milliseconds since the epoch, an RFC3339\n"
	"                   time (2025-01-31T12:00:00Z), or a negative N for the last |N| lines;\n"
	"                   cannot be combined with --pos\n"
	"      --json       print each LogLine object ({meta, line}) as one JSON line\n"
	"  -h, --help       show this help\n"
	"\n"
	"Environment: WEFT_SERVER, WEFT_TOKEN (see 'weft --help').\n"
	"Exit status: 0 ok, 1 bad arguments or unknown job, 2 server unreachable or server error.\n";

/* ---- printing LogLine records ---- */

struct printer {
	FILE *out;
	int json;
	long long last;  /* highest rindex printed (0: none yet) */
	long long count; /* records printed */
};

static void print_record(struct printer *p, json_t *rec)
{
	long long r = cli_jint(json_object_get(rec, "meta"), "rindex");
	if (r > 0 && r <= p->last)
		return; /* already printed (a reconnect may resend it) */
	if (r > 0)
		p->last = r;
	p->count++;
	if (p->json) {
		char *s = json_dumps(rec, JSON_COMPACT);
		if (s) {
			fprintf(p->out, "%s\n", s);
			free(s);
		}
	} else {
		json_t *line = json_object_get(rec, "line");
		if (json_is_string(line)) {
			fwrite(json_string_value(line), 1, json_string_length(line), p->out);
			fputc('\n', p->out);
		}
	}
}

/* Prints every LogLine in {models: [...]}; returns how many the array held. */
static size_t print_page(struct printer *p, json_t *page)
{
	json_t *arr = json_object_get(page, "models");
	size_t i;
	json_t *rec;
	json_array_foreach(arr, i, rec)
		print_record(p, rec);
	return json_array_size(arr);
}

static int on_stream_line(const char *line, size_t len, void *arg)
{
	struct printer *p = arg;
	if (!len)
		return 0;
	json_error_t je;
	json_t *j = json_loadb(line, len, 0, &je);
	if (!json_is_object(j)) {
		fprintf(stderr, "weft: skipping a log record that is not a JSON object: %.80s\n", line);
		json_decref(j);
		return 0;
	}
	if (json_is_array(json_object_get(j, "models")))
		print_page(p, j); /* a server that answered with one page */
	else
		print_record(p, j);
	json_decref(j);
	fflush(p->out);
	return 0;
}

int logs_follow(struct client *c, const char *id, const char *query, int json, FILE *out)
{
	struct printer p = { .out = out, .json = json };
	char *eid = client_escape(id, 0);
	int64_t give_up = 0;      /* while reconnecting: when to stop trying */
	int rc;
	for (;;) {
		char *path;
		if (p.last)
			path = xasprintf("/v1/logs/%s/loglines?follow=true&pos=%lld", eid, p.last + 1);
		else
			path = xasprintf("/v1/logs/%s/loglines?follow=true%s%s", eid, *query ? "&" : "", query);
		int64_t began = mono_ns() / 1000000;
		long long before = p.last;
		rc = client_stream_lines(c, path, on_stream_line, &p);
		int64_t now = mono_ns() / 1000000;
		free(path);
		struct timespec second = { 1, 0 };
		if (rc == CLIENT_BROKEN && (!give_up || p.last != before || now - began > 5000)) {
			/* a stream that had worked broke: try again from the next line for a while */
			fprintf(stderr, "weft: lost the connection to the weft server at %s; reconnecting\n", c->base);
			give_up = now + RECONNECT_S * 1000;
			c->quiet_unreachable = 1;
			nanosleep(&second, NULL);
			continue;
		}
		if (give_up && (rc == CLIENT_BROKEN || (rc == EXIT_SYSTEM && c->status == 0))) {
			if (now < give_up) {
				nanosleep(&second, NULL);
				continue;
			}
			fprintf(stderr, "weft: gave up reconnecting to the weft server at %s after %d s\n", c->base,
				RECONNECT_S);
			rc = EXIT_SYSTEM;
		}
		break;
	}
	c->quiet_unreachable = 0;
	free(eid);
	fflush(out);
	return rc;
}

/* Without --follow: one page when pagesize was given, else every line, page by page. */
static int logs_pages(struct client *c, const char *id, const char *pos, const char *since, long long pagesize,
		      int json)
{
	struct printer p = { .out = stdout, .json = json };
	int all = pagesize == 0;
	long long size = all ? PAGE_DEFAULT : pagesize;
	char *eid = client_escape(id, 0);
	char *esince = since ? client_escape(since, 0) : NULL;
	int rc = 0;
	for (int first = 1;; first = 0) {
		struct sbuf q = SBUF_INIT;
		sb_addf(&q, "/v1/logs/%s/loglines?pagesize=%lld", eid, size);
		if (!first)
			sb_addf(&q, "&pos=%lld", p.last + 1);
		else if (esince)
			sb_addf(&q, "&since_time=%s", esince);
		else
			sb_addf(&q, "&pos=%s", pos ? pos : "1");
		json_t *page = NULL;
		rc = client_json(c, "GET", sb_str(&q), NULL, &page);
		sb_release(&q);
		if (rc)
			break;
		long long before = p.last;
		size_t n = print_page(&p, page);
		json_decref(page);
		/* stop on a short page, or when a page brought nothing new */
		if (!all || (long long)n < size || p.last == before)
			break;
	}
	free(eid);
	free(esince);
	if (fflush(stdout) && !rc) {
		perror("weft: writing standard output");
		rc = EXIT_SYSTEM;
	}
	return rc;
}

int cmd_logs(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "follow", no_argument, NULL, 'f' },   { "pos", required_argument, NULL, 'p' },
		{ "pagesize", required_argument, NULL, 's' }, { "since", required_argument, NULL, 't' },
		{ "json", no_argument, NULL, 'j' },     { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int follow = 0, json = 0, c;
	const char *pos = NULL, *since = NULL;
	long long pagesize = 0, v;
	if (cli_wants_help(argc, argv))
		return cli_help(help);
	cli_opts_begin();
	while ((c = cli_getopt(argc, argv, "f", opts, "logs")) != -1) {
		switch (c) {
		case 'f': follow = 1; break;
		case 'j': json = 1; break;
		case 'p':
			if (cli_parse_ll("logs", "--pos", optarg, -1000000000000LL, 1000000000000LL, &v))
				return EXIT_USER;
			if (v == 0)
				return cli_usage_error("logs", usage_line, "--pos: 0 is not a line (lines count from 1)");
			pos = optarg;
			break;
		case 's':
			if (cli_parse_ll("logs", "--pagesize", optarg, 1, PAGE_MAX, &pagesize))
				return EXIT_USER;
			break;
		case 't':
			if (!*optarg)
				return cli_usage_error("logs", usage_line, "--since: empty value");
			since = optarg;
			break;
		default: return EXIT_USER;
		}
	}
	if (optind >= argc)
		return cli_usage_error("logs", usage_line, "missing the training job ID");
	if (argc - optind > 1)
		return cli_usage_error("logs", usage_line, "unexpected argument '%s'", argv[optind + 1]);
	if (pos && since)
		return cli_usage_error("logs", usage_line, "--since cannot be combined with --pos");
	if (follow && pagesize)
		return cli_usage_error("logs", usage_line, "--pagesize cannot be combined with --follow");
	const char *id = argv[optind];

	struct client cl;
	int rc = client_init(&cl);
	if (rc)
		return rc;
	if (follow) {
		char *q = NULL;
		if (pos) {
			q = xasprintf("pos=%s", pos);
		} else if (since) {
			char *e = client_escape(since, 0);
			q = xasprintf("since_time=%s", e);
			free(e);
		}
		rc = logs_follow(&cl, id, q ? q : "", json, stdout);
		free(q);
	} else {
		rc = logs_pages(&cl, id, pos, since, pagesize, json);
	}
	client_close(&cl);
	return rc;
}

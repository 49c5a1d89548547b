/* logs.c - `weft logs ID [-f] [--search TEXT] [--search-type T] [--learner N] ...`:
 * prints a job's log lines from GET /v1/logs/ID/loglines. Without -f it pages
 * through every stored (matching) line; with -f it holds one streamed request
 * open and the server pushes each new line (server-side follow, not FfDL's
 * polling) until the job ends. The follow loop is shared with `train --follow`,
 * which hooks each printed line to keep its live metric line in place. */
#include "cli/cli.h"
#include "cli/client.h"
#include "cli/common.h"
#include "util/mem.h"
#include "util/sbuf.h"
#include "util/timeutil.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define PAGE_DEFAULT 1000
#define PAGE_MAX 10000
#define RECONNECT_S 60 /* how long to keep trying after a followed stream broke */

static const char usage_line[] = "weft logs ID [-f|--follow] [--search TEXT] [--search-type T] [--learner N] "
				 "[--pos N] [--pagesize N] [--since T] [--json]";
static const char help[] =
	"usage: weft logs ID [-f|--follow] [--search TEXT] [--search-type TERM|MATCH|NESTED|ALL]\n"
	"                    [--learner N] [--pos N] [--pagesize N] [--since T] [--json]\n"
	"\n"
	"Print the log lines of training job ID (what its learners wrote to stdout and stderr).\n"
	"Without --follow, prints every stored line (or every line that matches --search and\n"
	"--learner) and exits. With --follow, keeps one streamed request open and prints each\n"
	"new line as the server stores it, until the job ends (COMPLETED, FAILED or HALTED).\n"
	"\n"
	"Options:\n"
	"  -f, --follow     stream new lines until the job ends (reconnects if the connection drops)\n"
	"      --search TEXT\n"
	"                   only lines that match TEXT (full-text search on the server; see\n"
	"                   --search-type); combines with --follow, --learner and the rest\n"
	"      --search-type TERM|MATCH|NESTED|ALL\n"
	"                   how TEXT matches: TERM (the default) every word of TEXT appears in\n"
	"                   the line; MATCH: TEXT is an SQLite FTS5 query (loss AND NOT val_loss,\n"
	"                   acc*, '\"an exact phrase\"'); NESTED: TEXT appears as a substring,\n"
	"                   punctuation included; ALL: no filter\n"
	"      --learner N  only the lines of learner N (1 = the first learner)\n"
	"      --pos N      start at line N (1 = the first line); a negative N means the last |N| lines\n"
	"      --pagesize N print at most N lines (one page, 1..10000) instead of all of them;\n"
	"                   cannot be combined with --follow\n"
	"      --since T    only lines stored at or after T: milliseconds since the epoch, an RFC3339\n"
	"                   time (2025-01-31T12:00:00Z), or a negative N for the last |N| lines;\n"
	"                   cannot be combined with --pos\n"
	"      --json       print each LogLine object ({meta, line}) as one JSON line\n"
	"                   (meta.subid names the learner: \"learner-N\")\n"
	"  -h, --help       show this help\n"
	"\n"
	"Examples:\n"
	"  weft logs ID --search \"val_loss\"              lines that mention val_loss\n"
	"  weft logs ID -f --learner 2 --search error      follow learner 2's error lines\n"
	"  weft logs ID --search 'loss: 0.1' --search-type NESTED   a substring, ':' included\n"
	"\n"
	"Environment: WEFT_SERVER, WEFT_TOKEN (see 'weft --help').\n"
	"Exit status: 0 ok, 1 bad arguments or unknown job, 2 server unreachable or server error.\n";

/* ---- printing LogLine records ---- */

struct printer {
	FILE *out;
	int json;
	const struct logs_hook *hook; /* may be NULL */
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
	if (p->hook && p->hook->before)
		p->hook->before(p->hook->arg);
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
	if (p->hook && p->hook->after)
		p->hook->after(p->hook->arg);
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
	return logs_follow_filtered(c, id, query, "", json, out, NULL);
}

int logs_follow_filtered(struct client *c, const char *id, const char *start, const char *filter, int json,
			 FILE *out, const struct logs_hook *hook)
{
	struct printer p = { .out = out, .json = json, .hook = hook };
	const char *fsep = *filter ? "&" : "";
	char *eid = client_escape(id, 0);
	int64_t give_up = 0;      /* while reconnecting: when to stop trying */
	int rc;
	for (;;) {
		char *path;
		/* the filter stays on every reconnect; the start moves past the last line printed */
		if (p.last)
			path = xasprintf("/v1/logs/%s/loglines?follow=true&pos=%lld%s%s", eid, p.last + 1, fsep, filter);
		else
			path = xasprintf("/v1/logs/%s/loglines?follow=true%s%s%s%s", eid, *start ? "&" : "", start, fsep,
					 filter);
		int64_t began = mono_ns() / 1000000;
		long long before = p.last;
		rc = client_stream_lines(c, path, on_stream_line, &p);
		int64_t now = mono_ns() / 1000000;
		free(path);
		struct timespec second = { 1, 0 };
		if (rc == CLIENT_BROKEN && (!give_up || p.last != before || now - began > 5000)) {
			/* a stream that had worked broke: try again from the next line for a while */
			if (hook && hook->before)
				hook->before(hook->arg); /* keep a live status line out of the message */
			fprintf(stderr, "weft: lost the connection to the weft server at %s; reconnecting\n", c->base);
			if (hook && hook->after)
				hook->after(hook->arg);
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
			if (hook && hook->before)
				hook->before(hook->arg);
			fprintf(stderr, "weft: gave up reconnecting to the weft server at %s after %d s\n", c->base,
				RECONNECT_S);
			if (hook && hook->after)
				hook->after(hook->arg);
			rc = EXIT_SYSTEM;
		}
		break;
	}
	c->quiet_unreachable = 0;
	free(eid);
	fflush(out);
	return rc;
}

/* Without --follow: one page when pagesize was given, else every (matching) line,
 * page by page; filter ("" or "search=...&learner=N") goes with every page. */
static int logs_pages(struct client *c, const char *id, const char *pos, const char *since, long long pagesize,
		      const char *filter, int json)
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
		if (*filter)
			sb_addf(&q, "&%s", filter);
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

/* --search-type: one of the server's names, any case; NULL if not one. */
static const char *search_type(const char *s)
{
	static const char *const types[] = { "TERM", "MATCH", "NESTED", "ALL" };
	for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
		if (!strcasecmp(s, types[i]))
			return types[i];
	return NULL;
}

int cmd_logs(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "follow", no_argument, NULL, 'f' },   { "pos", required_argument, NULL, 'p' },
		{ "pagesize", required_argument, NULL, 's' }, { "since", required_argument, NULL, 't' },
		{ "json", no_argument, NULL, 'j' },     { "search", required_argument, NULL, 'S' },
		{ "search-type", required_argument, NULL, 'T' }, { "learner", required_argument, NULL, 'L' },
		{ "help", no_argument, NULL, 'h' },     { NULL, 0, NULL, 0 },
	};
	int follow = 0, json = 0, c;
	const char *pos = NULL, *since = NULL, *search = NULL, *stype = NULL;
	long long pagesize = 0, learner = 0, v;
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
		case 'S':
			if (!*optarg)
				return cli_usage_error("logs", usage_line, "--search: empty value");
			search = optarg;
			break;
		case 'T':
			stype = search_type(optarg);
			if (!stype)
				return cli_usage_error("logs", usage_line,
						       "--search-type: '%s' is not TERM, MATCH, NESTED or ALL", optarg);
			break;
		case 'L':
			if (cli_parse_ll("logs", "--learner", optarg, 1, 1000000, &learner))
				return EXIT_USER;
			break;
		default: return EXIT_USER;
		}
	}
	if (optind >= argc)
		return cli_usage_error("logs", usage_line, "missing the training job ID");
	if (argc - optind > 1)
		return cli_usage_error("logs", usage_line, "unexpected argument '%s'", argv[optind + 1]);
	if (!*argv[optind])
		return cli_usage_error("logs", usage_line, "the training job ID is empty");
	if (pos && since)
		return cli_usage_error("logs", usage_line, "--since cannot be combined with --pos");
	if (follow && pagesize)
		return cli_usage_error("logs", usage_line, "--pagesize cannot be combined with --follow");
	if (stype && !search && strcmp(stype, "ALL"))
		return cli_usage_error("logs", usage_line, "--search-type %s needs --search TEXT", stype);
	const char *id = argv[optind];

	/* the filter part of the query, sent with every request (and every reconnect) */
	struct sbuf filter = SBUF_INIT;
	sb_adds(&filter, "");
	if (search) {
		char *e = client_escape(search, 0);
		sb_addf(&filter, "search=%s&searchType=%s", e, stype ? stype : "TERM");
		free(e);
	}
	if (learner)
		sb_addf(&filter, "%slearner=%lld", filter.len ? "&" : "", learner);

	struct client cl;
	int rc = client_init(&cl);
	if (rc) {
		sb_release(&filter);
		return rc;
	}
	if (follow) {
		char *q = NULL;
		if (pos) {
			q = xasprintf("pos=%s", pos);
		} else if (since) {
			char *e = client_escape(since, 0);
			q = xasprintf("since_time=%s", e);
			free(e);
		}
		rc = logs_follow_filtered(&cl, id, q ? q : "", sb_str(&filter), json, stdout, NULL);
		free(q);
	} else {
		rc = logs_pages(&cl, id, pos, since, pagesize, sb_str(&filter), json);
	}
	client_close(&cl);
	sb_release(&filter);
	return rc;
}

/* client.h - the weft CLI's HTTP client (libcurl + jansson): where the server
 * is (WEFT_SERVER, or FfDL's DLAAS_URL), who we are (WEFT_TOKEN, DLAAS_USERNAME/
 * DLAAS_PASSWORD, or <home>/admin.token), and one function per kind of
 * exchange. Every call prints its own error ("weft: ...") and returns the
 * process exit code to use: 0 ok, EXIT_USER for a 4xx, EXIT_SYSTEM otherwise. */
#ifndef WEFT_CLI_CLIENT_H
#define WEFT_CLI_CLIENT_H
#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

struct client {
	char *base;        /* scheme://host:port[/prefix], no credentials, no trailing '/' */
	char *auth;        /* "Authorization: ..." header line, or NULL */
	char *userinfo;    /* "X-Watson-Userinfo: ..." header line, or NULL */
	char *auth_source; /* where the credentials came from, for 401 hints, or NULL */
	char *token_file;  /* <home>/admin.token, tried when no other credentials were set */
	int quiet;         /* do not print errors (e.g. `version` probing /health) */
	int quiet_unreachable; /* do not print "cannot reach" (while reconnecting) */
	long connect_timeout_s;
	long timeout_s;    /* whole-exchange limit, 0 for none (the default) */
	long status;       /* HTTP status of the last exchange (0 if none) */
	void *curl;        /* the CURL easy handle, reused across requests */
};

/* Reads the configuration from the environment (and <home>/admin.token).
 * Returns 0, or prints why not (a malformed WEFT_SERVER) and returns EXIT_USER. */
int client_init(struct client *c);
void client_close(struct client *c);

/* Percent-encodes s for a URL path segment; '/' kept when keep_slash. Caller frees. */
char *client_escape(const char *s, int keep_slash);

/* METHOD path (path starts with '/', may carry a query) with an optional JSON
 * body; on success *out (if out non-NULL) receives the parsed JSON answer,
 * or NULL when the answer was empty. Caller json_decref()s *out. */
int client_json(struct client *c, const char *method, const char *path, json_t *body, json_t **out);
/* client_json on /v1/models/ID (ID escaped): the one path delete, halt, resume and show use. */
int client_model_json(struct client *c, const char *method, const char *id, json_t *body, json_t **out);

/* One multipart/form-data part: a file sent under field name. */
struct client_part {
	const char *name;         /* form field */
	const char *file;         /* local file to send */
	const char *filename;     /* name announced to the server; NULL: basename(file) */
	const char *content_type; /* NULL: application/octet-stream */
};
int client_post_multipart(struct client *c, const char *path, const struct client_part *parts, size_t nparts,
			  json_t **out);

/* Progress of an upload: bytes sent so far of total. */
typedef void (*client_progress_fn)(long long sent, long long total, void *arg);
/* PUT the contents of file as the raw body (application/octet-stream);
 * progress (may be NULL) is called as the bytes go out. */
int client_put_file(struct client *c, const char *path, const char *file, client_progress_fn progress,
		    void *arg, json_t **out);

/* GET path into file (written as file.part and renamed on success; "-" writes
 * to stdout); *size receives the number of bytes. */
int client_download(struct client *c, const char *path, const char *file, long long *size);

/* GET path and call line_cb for each '\n'-terminated line of the answer as it
 * arrives (line without the '\n', NUL-terminated). line_cb returns 0 to go on,
 * non-zero to stop (then client_stream_lines returns that value). Used for
 * streamed (follow) answers; no overall timeout. If the connection breaks
 * after the answer began, returns CLIENT_BROKEN without printing, so the
 * caller may reconnect. */
#define CLIENT_BROKEN 100
typedef int (*client_line_fn)(const char *line, size_t len, void *arg);
int client_stream_lines(struct client *c, const char *path, client_line_fn line_cb, void *arg);

/* Pieces shared by several commands. */

/* Implemented in logs.c (used by `logs -f` and `train --follow`): streams the
 * job's log lines (GET /v1/logs/ID/loglines?follow=true&QUERY; query may be
 * "" or e.g. "pos=5") to out, one `line` per line, or each LogLine as one
 * JSON line when json. If the connection breaks it reconnects from the next
 * line for up to a minute. Returns when the server ends the stream. */
int logs_follow(struct client *c, const char *id, const char *query, int json, FILE *out);

#endif

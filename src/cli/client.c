/* client.c - the weft CLI's HTTP layer over libcurl: configuration from the
 * environment, one easy handle reused for every request (keep-alive across
 * `data put` of many files), and a single place that turns transport errors
 * and FfDL Error JSON ({code, error, description}) into a message and an exit
 * code, so that each command stays a thin translation of arguments to calls. */
#include "cli/client.h"
#include "cli/cli.h"
#include "util/fs.h"
#include "util/mem.h"
#include "util/sbuf.h"
#include <curl/curl.h>
#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef WEFT_VERSION
#define WEFT_VERSION "unknown"
#endif

#define DEFAULT_SERVER "http://127.0.0.1:8080"
#define ERROR_BODY_MAX (64 * 1024) /* keep at most this much of an error answer */

/* ---- configuration ---- */

/* Copies s without trailing blanks/newlines; NULL if it still holds a control
 * character (which would let a value inject header lines). */
static char *clean_secret(const char *s)
{
	size_t n = strlen(s);
	while (n && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return NULL;
	return xstrndup(s, n);
}

static void set_bearer(struct client *c, char *token, const char *source)
{
	c->auth = xasprintf("Authorization: Bearer %s", token);
	c->auth_source = xstrdup(source);
	free(token);
}

static void set_basic(struct client *c, const char *user, const char *pass, const char *source)
{
	char *plain = xasprintf("%s:%s", user, pass);
	size_t n = strlen(plain);
	unsigned char *b64 = xmalloc(4 * ((n + 2) / 3) + 1);
	EVP_EncodeBlock(b64, (const unsigned char *)plain, (int)n);
	c->auth = xasprintf("Authorization: Basic %s", b64);
	c->userinfo = xasprintf("X-Watson-Userinfo: bluemix-instance-id=%s", user);
	c->auth_source = xstrdup(source);
	OPENSSL_cleanse(plain, n);
	free(plain);
	free(b64);
}

/* Splits the server URL into c->base and any embedded user:password. */
static int parse_server(struct client *c, const char *var, const char *url, char **user, char **pass)
{
	CURLU *u = curl_url();
	char *full = NULL, *scheme = NULL, *with_scheme = NULL;
	int rc = 0;
	if (!u)
		return EXIT_SYSTEM;
	if (!strstr(url, "://")) {
		/* HOST:PORT alone means http://HOST:PORT; a bare word is a mistake, not a host */
		const char *colon = strrchr(url, ':');
		if (colon && colon != url && colon[1] && strspn(colon + 1, "0123456789") == strlen(colon + 1))
			url = with_scheme = xasprintf("http://%s", url);
	}
	if (!strstr(url, "://") || curl_url_set(u, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME) ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) ||
	    (strcmp(scheme, "http") && strcmp(scheme, "https"))) {
		const char *at = strrchr(url, '@'); /* never echo a password */
		fprintf(stderr, "weft: %s: '%s%s' is not an http(s) URL (example: http://127.0.0.1:8080)\n", var,
			at ? "...@" : "", at ? at + 1 : url);
		rc = EXIT_USER;
		goto out;
	}
	if (curl_url_get(u, CURLUPART_USER, user, CURLU_URLDECODE))
		*user = NULL;
	if (curl_url_get(u, CURLUPART_PASSWORD, pass, CURLU_URLDECODE))
		*pass = NULL;
	curl_url_set(u, CURLUPART_USER, NULL, 0);
	curl_url_set(u, CURLUPART_PASSWORD, NULL, 0);
	curl_url_set(u, CURLUPART_QUERY, NULL, 0);
	curl_url_set(u, CURLUPART_FRAGMENT, NULL, 0);
	if (curl_url_get(u, CURLUPART_URL, &full, 0)) {
		fprintf(stderr, "weft: %s is not a usable URL\n", var);
		rc = EXIT_USER;
		goto out;
	}
	size_t n = strlen(full);
	while (n && full[n - 1] == '/')
		n--;
	c->base = xstrndup(full, n);
out:
	free(with_scheme);
	curl_free(full);
	curl_free(scheme);
	curl_url_cleanup(u);
	return rc;
}

/* Reads <home>/admin.token if this user may; NULL otherwise. */
static char *read_admin_token(char **path_out)
{
	char *home = cli_home_dir();
	char *path = fs_join(home, "admin.token");
	struct sbuf sb = SBUF_INIT;
	char *tok = NULL;
	free(home);
	if (fs_read_file(path, &sb, NULL) == 0 && sb.len)
		tok = clean_secret(sb_str(&sb));
	if (sb.buf)
		OPENSSL_cleanse(sb.buf, sb.len);
	sb_release(&sb);
	if (tok && !*tok) {
		free(tok);
		tok = NULL;
	}
	*path_out = path;
	return tok;
}

int client_init(struct client *c)
{
	memset(c, 0, sizeof *c);
	c->connect_timeout_s = 10;
	curl_global_init(CURL_GLOBAL_DEFAULT);

	const char *var = "WEFT_SERVER", *url = getenv("WEFT_SERVER");
	if (!url || !*url) {
		var = "DLAAS_URL";
		url = getenv("DLAAS_URL");
	}
	if (!url || !*url) {
		var = "the default server";
		url = DEFAULT_SERVER;
	}
	char *user = NULL, *pass = NULL;
	int rc = parse_server(c, var, url, &user, &pass);
	if (rc)
		goto out;

	const char *tok = getenv("WEFT_TOKEN");
	const char *du = getenv("DLAAS_USERNAME"), *dp = getenv("DLAAS_PASSWORD");
	if (tok && *tok) {
		char *t = clean_secret(tok);
		if (!t) {
			fprintf(stderr, "weft: WEFT_TOKEN holds a control character; it must be the token alone\n");
			rc = EXIT_USER;
			goto out;
		}
		set_bearer(c, t, "WEFT_TOKEN");
	} else if (user && *user) {
		char *src = xasprintf("the user:password in %s", var);
		set_basic(c, user, pass ? pass : "", src);
		free(src);
	} else if (du && *du && dp) {
		char *u = clean_secret(du), *p = clean_secret(dp);
		if (!u || !p) {
			fprintf(stderr, "weft: DLAAS_USERNAME or DLAAS_PASSWORD holds a control character\n");
			free(u);
			free(p);
			rc = EXIT_USER;
			goto out;
		}
		set_basic(c, u, p, "DLAAS_USERNAME/DLAAS_PASSWORD");
		OPENSSL_cleanse(p, strlen(p));
		free(u);
		free(p);
	} else {
		char *t = read_admin_token(&c->token_file);
		if (t)
			set_bearer(c, t, c->token_file);
	}
out:
	if (pass)
		OPENSSL_cleanse(pass, strlen(pass));
	curl_free(user);
	curl_free(pass);
	if (rc)
		client_close(c);
	return rc;
}

static void free_secret(char *s)
{
	if (s) {
		OPENSSL_cleanse(s, strlen(s));
		free(s);
	}
}

void client_close(struct client *c)
{
	if (c->curl)
		curl_easy_cleanup(c->curl);
	free(c->base);
	free_secret(c->auth);
	free(c->userinfo);
	free(c->auth_source);
	free(c->token_file);
	memset(c, 0, sizeof *c);
	curl_global_cleanup();
}

char *client_escape(const char *s, int keep_slash)
{
	static const char hex[] = "0123456789ABCDEF";
	struct sbuf sb = SBUF_INIT;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
		    strchr("-._~", *p) || (keep_slash && *p == '/')) {
			sb_addc(&sb, (char)*p);
		} else {
			sb_addc(&sb, '%');
			sb_addc(&sb, hex[*p >> 4]);
			sb_addc(&sb, hex[*p & 15]);
		}
	}
	return sb_detach(&sb);
}

/* ---- one exchange ---- */

enum sink { SINK_BODY, SINK_FILE, SINK_LINES };

struct xfer {
	struct client *c;
	const char *method, *path;
	CURL *h;
	struct curl_slist *headers;
	enum sink sink;
	struct sbuf body;     /* the answer (SINK_BODY), or an error answer (any sink) */
	FILE *out;            /* SINK_FILE */
	const char *out_name;
	int out_errno;        /* a failed write to out */
	long long received;   /* bytes delivered to the sink */
	client_line_fn line_cb; /* SINK_LINES */
	void *line_arg;
	struct sbuf line;
	int cb_rc;            /* non-zero: line_cb asked to stop */
	client_progress_fn progress;
	void *progress_arg;
	long long upload_total;
	char errbuf[CURL_ERROR_SIZE];
};

static long xfer_status(struct xfer *x)
{
	long st = 0;
	curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &st);
	return st;
}

static int feed_lines(struct xfer *x, int flush)
{
	size_t start = 0;
	for (size_t i = 0; i < x->line.len; i++) {
		if (x->line.buf[i] != '\n')
			continue;
		size_t end = i;
		if (end > start && x->line.buf[end - 1] == '\r')
			end--;
		x->line.buf[end] = '\0';
		int rc = x->line_cb(x->line.buf + start, end - start, x->line_arg);
		start = i + 1;
		if (rc) {
			x->cb_rc = rc;
			return rc;
		}
	}
	if (flush && start < x->line.len) {
		int rc = x->line_cb(x->line.buf + start, x->line.len - start, x->line_arg);
		start = x->line.len;
		if (rc)
			x->cb_rc = rc;
	}
	memmove(x->line.buf, x->line.buf + start, x->line.len - start);
	x->line.len -= start;
	if (x->line.buf)
		x->line.buf[x->line.len] = '\0';
	return x->cb_rc;
}

static size_t on_write(char *data, size_t size, size_t nmemb, void *arg)
{
	struct xfer *x = arg;
	size_t n = size * nmemb;
	long st = xfer_status(x);
	if (st < 200 || st >= 300 || x->sink == SINK_BODY) {
		if (x->sink == SINK_BODY && st >= 200 && st < 300)
			sb_add(&x->body, data, n);
		else if (x->body.len < ERROR_BODY_MAX)
			sb_add(&x->body, data, n < ERROR_BODY_MAX - x->body.len ? n : ERROR_BODY_MAX - x->body.len);
		return n;
	}
	x->received += (long long)n;
	if (x->sink == SINK_FILE) {
		if (fwrite(data, 1, n, x->out) != n) {
			x->out_errno = errno ? errno : EIO;
			return 0;
		}
		return n;
	}
	sb_add(&x->line, data, n);
	return feed_lines(x, 0) ? 0 : n;
}

static int on_xferinfo(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
	struct xfer *x = arg;
	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	if (x->progress)
		x->progress((long long)ulnow, x->upload_total, x->progress_arg);
	return 0;
}

static void add_header(struct xfer *x, const char *line)
{
	struct curl_slist *l = curl_slist_append(x->headers, line);
	if (l)
		x->headers = l;
}

static int xfer_begin(struct xfer *x, struct client *c, const char *method, const char *path)
{
	memset(x, 0, sizeof *x);
	x->c = c;
	x->method = method;
	x->path = path;
	if (!c->curl)
		c->curl = curl_easy_init();
	else
		curl_easy_reset(c->curl);
	if (!c->curl) {
		if (!c->quiet)
			fprintf(stderr, "weft: cannot start libcurl\n");
		return EXIT_SYSTEM;
	}
	x->h = c->curl;
	c->status = 0;
	char *url = xasprintf("%s%s", c->base, path);
	curl_easy_setopt(x->h, CURLOPT_URL, url);
	free(url);
	curl_easy_setopt(x->h, CURLOPT_ERRORBUFFER, x->errbuf);
	curl_easy_setopt(x->h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(x->h, CURLOPT_CONNECTTIMEOUT, c->connect_timeout_s);
	curl_easy_setopt(x->h, CURLOPT_TIMEOUT, c->timeout_s);
	curl_easy_setopt(x->h, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(x->h, CURLOPT_USERAGENT, "weft/" WEFT_VERSION);
	curl_easy_setopt(x->h, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(x->h, CURLOPT_WRITEDATA, x);
	if (c->auth)
		add_header(x, c->auth);
	if (c->userinfo)
		add_header(x, c->userinfo);
	add_header(x, "Expect:"); /* send bodies at once; no 100-continue round trip */
	return 0;
}

/* Prints the server's error answer; returns the exit code for it. */
static int report_http_error(struct xfer *x, long st)
{
	struct client *c = x->c;
	int rc = st >= 500 || st < 400 ? EXIT_SYSTEM : EXIT_USER;
	if (c->quiet)
		return rc;
	json_t *j = json_loadb(x->body.buf ? x->body.buf : "", x->body.len, 0, NULL);
	const char *desc = json_string_value(json_object_get(j, "description"));
	if (!desc || !*desc)
		desc = json_string_value(json_object_get(j, "error"));
	if (desc && *desc)
		fprintf(stderr, "weft: %s\n", desc);
	else
		fprintf(stderr, "weft: the server answered %s %s with HTTP %ld\n", x->method, x->path, st);
	if (st >= 500)
		fprintf(stderr, "weft: this is a server error (HTTP %ld); the server's log may say more\n", st);
	if (st == 401) {
		if (c->auth_source)
			fprintf(stderr, "weft: the credentials from %s were refused; set WEFT_TOKEN to a valid token\n",
				c->auth_source);
		else
			fprintf(stderr, "weft: no credentials: set WEFT_TOKEN to your token (or DLAAS_USERNAME and "
					"DLAAS_PASSWORD); on the server's machine weft reads the admin token from %s "
					"(set WEFT_HOME to the server's --home)\n",
				c->token_file ? c->token_file : "<home>/admin.token");
	}
	json_decref(j);
	return rc;
}

/* Runs the exchange and classifies the outcome. */
static int xfer_perform(struct xfer *x)
{
	struct client *c = x->c;
	curl_easy_setopt(x->h, CURLOPT_HTTPHEADER, x->headers);
	CURLcode cc = curl_easy_perform(x->h);
	long st = xfer_status(x);
	c->status = st;
	if (cc == CURLE_OK && x->sink == SINK_LINES && st >= 200 && st < 300)
		feed_lines(x, 1);
	if (x->cb_rc)
		return x->cb_rc;
	if (x->out_errno) {
		if (!c->quiet)
			fprintf(stderr, "weft: writing %s: %s\n", x->out_name, strerror(x->out_errno));
		return EXIT_SYSTEM;
	}
	if (cc == CURLE_READ_ERROR || cc == CURLE_ABORTED_BY_CALLBACK) {
		if (!c->quiet)
			fprintf(stderr, "weft: reading the file to send with %s %s failed\n", x->method, x->path);
		return EXIT_SYSTEM;
	}
	if (cc != CURLE_OK) {
		const char *why = x->errbuf[0] ? x->errbuf : curl_easy_strerror(cc);
		if (st == 0 || cc == CURLE_COULDNT_CONNECT || cc == CURLE_COULDNT_RESOLVE_HOST) {
			if (!c->quiet && !c->quiet_unreachable)
				fprintf(stderr, "weft: cannot reach the weft server at %s: %s "
						"(is `weft server` running? set WEFT_SERVER)\n", c->base, why);
			return EXIT_SYSTEM;
		}
		if (x->sink == SINK_LINES && st >= 200 && st < 300)
			return CLIENT_BROKEN;
		if (!c->quiet)
			fprintf(stderr, "weft: the connection to the weft server at %s broke during %s %s: %s\n",
				c->base, x->method, x->path, why);
		return EXIT_SYSTEM;
	}
	if (st < 200 || st >= 300)
		return report_http_error(x, st);
	return 0;
}

static void xfer_end(struct xfer *x)
{
	curl_easy_setopt(x->h, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(x->headers);
	sb_release(&x->body);
	sb_release(&x->line);
}

/* Parses a successful answer's body into *out (NULL when empty). */
static int take_json(struct xfer *x, json_t **out)
{
	if (!out)
		return 0;
	*out = NULL;
	if (!x->body.len)
		return 0;
	json_error_t je;
	*out = json_loadb(x->body.buf, x->body.len, 0, &je);
	if (!*out) {
		if (!x->c->quiet)
			fprintf(stderr, "weft: the server's answer to %s %s is not JSON: %s\n", x->method, x->path,
				je.text);
		return EXIT_SYSTEM;
	}
	return 0;
}

/* ---- the exchanges ---- */

int client_json(struct client *c, const char *method, const char *path, json_t *body, json_t **out)
{
	struct xfer x;
	char *payload = NULL;
	if (out)
		*out = NULL;
	int rc = xfer_begin(&x, c, method, path);
	if (rc)
		return rc;
	add_header(&x, "Accept: application/json");
	if (strcmp(method, "GET"))
		curl_easy_setopt(x.h, CURLOPT_CUSTOMREQUEST, method);
	if (body) {
		payload = json_dumps(body, JSON_COMPACT);
		if (!payload) {
			xfer_end(&x);
			return EXIT_SYSTEM;
		}
		add_header(&x, "Content-Type: application/json");
		curl_easy_setopt(x.h, CURLOPT_POSTFIELDS, payload);
		curl_easy_setopt(x.h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(payload));
	} else if (!strcmp(method, "POST") || !strcmp(method, "PUT") || !strcmp(method, "PATCH")) {
		curl_easy_setopt(x.h, CURLOPT_POSTFIELDS, "");
		curl_easy_setopt(x.h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0);
	}
	rc = xfer_perform(&x);
	if (!rc)
		rc = take_json(&x, out);
	xfer_end(&x);
	free(payload);
	return rc;
}

/* Opens an input file the user named: it must be a readable regular file.
 * NULL (after saying why) otherwise. */
static FILE *open_input(const char *file, long long *size)
{
	struct stat st;
	FILE *f = fopen(file, "rb");
	if (!f || fstat(fileno(f), &st)) {
		fprintf(stderr, "weft: cannot read %s: %s\n", file, strerror(errno));
		if (f)
			fclose(f);
		return NULL;
	}
	if (!S_ISREG(st.st_mode)) {
		fprintf(stderr, "weft: %s is not a regular file\n", file);
		fclose(f);
		return NULL;
	}
	if (size)
		*size = (long long)st.st_size;
	return f;
}

/* Reads the upload body; a read error aborts the transfer instead of looking like EOF. */
static size_t on_read(char *buf, size_t size, size_t nmemb, void *arg)
{
	FILE *in = arg;
	size_t n = fread(buf, 1, size * nmemb, in);
	return n == 0 && ferror(in) ? CURL_READFUNC_ABORT : n;
}

int client_post_multipart(struct client *c, const char *path, const struct client_part *parts, size_t nparts,
			  json_t **out)
{
	struct xfer x;
	if (out)
		*out = NULL;
	for (size_t i = 0; i < nparts; i++) {
		FILE *f = open_input(parts[i].file, NULL); /* libcurl reopens it by name */
		if (!f)
			return EXIT_USER;
		fclose(f);
	}
	int rc = xfer_begin(&x, c, "POST", path);
	if (rc)
		return rc;
	curl_mime *mime = curl_mime_init(x.h);
	for (size_t i = 0; i < nparts; i++) {
		curl_mimepart *p = curl_mime_addpart(mime);
		curl_mime_name(p, parts[i].name);
		if (curl_mime_filedata(p, parts[i].file) != CURLE_OK) {
			fprintf(stderr, "weft: cannot read %s\n", parts[i].file);
			curl_mime_free(mime);
			xfer_end(&x);
			return EXIT_USER;
		}
		if (parts[i].filename)
			curl_mime_filename(p, parts[i].filename);
		curl_mime_type(p, parts[i].content_type ? parts[i].content_type : "application/octet-stream");
	}
	add_header(&x, "Accept: application/json");
	curl_easy_setopt(x.h, CURLOPT_MIMEPOST, mime);
	rc = xfer_perform(&x);
	if (!rc)
		rc = take_json(&x, out);
	curl_easy_setopt(x.h, CURLOPT_MIMEPOST, NULL);
	curl_mime_free(mime);
	xfer_end(&x);
	return rc;
}

int client_put_file(struct client *c, const char *path, const char *file, client_progress_fn progress,
		    void *arg, json_t **out)
{
	struct xfer x;
	long long size;
	if (out)
		*out = NULL;
	FILE *in = open_input(file, &size);
	if (!in)
		return EXIT_USER;
	int rc = xfer_begin(&x, c, "PUT", path);
	if (rc) {
		fclose(in);
		return rc;
	}
	add_header(&x, "Accept: application/json");
	add_header(&x, "Content-Type: application/octet-stream");
	curl_easy_setopt(x.h, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(x.h, CURLOPT_READFUNCTION, on_read);
	curl_easy_setopt(x.h, CURLOPT_READDATA, in);
	curl_easy_setopt(x.h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)size);
	if (progress) {
		x.progress = progress;
		x.progress_arg = arg;
		x.upload_total = size;
		curl_easy_setopt(x.h, CURLOPT_NOPROGRESS, 0L);
		curl_easy_setopt(x.h, CURLOPT_XFERINFOFUNCTION, on_xferinfo);
		curl_easy_setopt(x.h, CURLOPT_XFERINFODATA, &x);
	}
	rc = xfer_perform(&x);
	if (!rc)
		rc = take_json(&x, out);
	fclose(in);
	xfer_end(&x);
	return rc;
}

int client_download(struct client *c, const char *path, const char *file, long long *size)
{
	struct xfer x;
	int to_stdout = !strcmp(file, "-");
	char *part = to_stdout ? NULL : xasprintf("%s.part", file);
	FILE *out = to_stdout ? stdout : fopen(part, "wb");
	*size = 0;
	if (!out) {
		fprintf(stderr, "weft: cannot write %s: %s\n", part, strerror(errno));
		free(part);
		return EXIT_SYSTEM;
	}
	int rc = xfer_begin(&x, c, "GET", path);
	if (!rc) {
		x.sink = SINK_FILE;
		x.out = out;
		x.out_name = to_stdout ? "standard output" : part;
		rc = xfer_perform(&x);
		*size = x.received;
		xfer_end(&x);
	}
	if (to_stdout) {
		if (fflush(stdout) && !rc) {
			fprintf(stderr, "weft: writing standard output: %s\n", strerror(errno));
			rc = EXIT_SYSTEM;
		}
		return rc;
	}
	if (fclose(out) && !rc) {
		fprintf(stderr, "weft: writing %s: %s\n", part, strerror(errno));
		rc = EXIT_SYSTEM;
	}
	if (!rc && rename(part, file)) {
		fprintf(stderr, "weft: cannot rename %s to %s: %s\n", part, file, strerror(errno));
		rc = EXIT_SYSTEM;
	}
	if (rc)
		unlink(part);
	free(part);
	return rc;
}

int client_stream_lines(struct client *c, const char *path, client_line_fn line_cb, void *arg)
{
	struct xfer x;
	int rc = xfer_begin(&x, c, "GET", path);
	if (rc)
		return rc;
	add_header(&x, "Accept: application/x-ndjson, application/json");
	x.sink = SINK_LINES;
	x.line_cb = line_cb;
	x.line_arg = arg;
	rc = xfer_perform(&x);
	xfer_end(&x);
	return rc;
}

int client_model_json(struct client *c, const char *method, const char *id, json_t *body, json_t **out)
{
	char *eid = client_escape(id, 0);
	char *path = xasprintf("/v1/models/%s", eid);
	int rc = client_json(c, method, path, body, out);
	free(path);
	free(eid);
	return rc;
}

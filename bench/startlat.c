/* startlat.c - measures job start latency for `make bench`: the time from
 * just before a request (weft: POST /v1/models; fork: posix_spawn of
 * `bash -c COMMAND`) to the moment the learner command (bench/stamp) reads
 * CLOCK_REALTIME. Jobs run one after another (latency, not throughput); in
 * weft mode each job is also waited for until COMPLETED, untimed, so jobs
 * never pile up, and a baseline sample follows each job so both see the same
 * background load. Prints key=value lines for bench/run.sh. */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define STAMP_TIMEOUT_MS 30000
#define COMPLETE_TIMEOUT_MS 60000

extern char **environ;

struct opts {
	const char *mode, *url, *token, *manifest, *zip, *stamps, *command, *raw;
	int n, warmup;
};

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "startlat: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(1);
}

static long long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		die("cannot open %s: %s", path, strerror(errno));
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap);
	size_t r;
	while (buf && (r = fread(buf + n, 1, cap - n - 1, f)) > 0) {
		n += r;
		if (n + 1 == cap)
			buf = realloc(buf, cap *= 2);
	}
	if (!buf)
		die("out of memory reading %s", path);
	fclose(f);
	buf[n] = '\0';
	*len = n;
	return buf;
}

/* Called about once a second while a stamp is awaited: exits if the job failed. */
struct checker {
	void (*check)(void *ctx);
	void *ctx;
};

/* Reads the stamp DIR/NAME; waits (inotify) until it appears. Returns ns, exits on timeout. */
static long long wait_stamp(int ino, const char *dir, const char *name, const struct checker *chk)
{
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	int waited = 0;
	for (;;) {
		FILE *f = fopen(path, "r");
		if (f) {
			long long ns = 0;
			int ok = fscanf(f, "%lld", &ns) == 1;
			fclose(f);
			if (!ok)
				die("%s does not hold a number", path);
			return ns;
		}
		if (waited >= STAMP_TIMEOUT_MS)
			die("the learner never wrote %s (waited 30 s)", path);
		struct pollfd p = { ino, POLLIN, 0 };
		if (poll(&p, 1, 50) > 0) {
			char buf[8192];
			ssize_t r = read(ino, buf, sizeof buf);
			(void)r;
		} else {
			waited += 50;
			if (chk && waited % 1000 == 0)
				chk->check(chk->ctx);
		}
	}
}

struct body {
	char *buf;
	size_t len;
};

static size_t on_body(char *data, size_t size, size_t nmemb, void *arg)
{
	struct body *b = arg;
	size_t n = size * nmemb;
	char *nb = realloc(b->buf, b->len + n + 1);
	if (!nb)
		return 0;
	b->buf = nb;
	memcpy(b->buf + b->len, data, n);
	b->len += n;
	b->buf[b->len] = '\0';
	return n;
}

/* Performs the prepared request; returns the status, body in b (reset first). */
static long perform(CURL *c, struct body *b)
{
	b->len = 0;
	if (b->buf)
		b->buf[0] = '\0';
	CURLcode rc = curl_easy_perform(c);
	if (rc != CURLE_OK)
		die("request failed: %s", curl_easy_strerror(rc));
	long status = 0;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	return status;
}

/* GET /v1/models/ID: returns 1 if COMPLETED, 0 if not yet; exits if the job failed. */
static int job_done(CURL *c, struct body *b, const char *url, const char *id)
{
	char u[1024];
	snprintf(u, sizeof u, "%s/v1/models/%s", url, id);
	curl_easy_setopt(c, CURLOPT_URL, u);
	curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
	long st = perform(c, b);
	if (st != 200)
		die("GET /v1/models/%s answered %ld: %s", id, st, b->buf);
	json_t *j = json_loads(b->buf, 0, NULL);
	const char *s = j ? json_string_value(json_object_get(
				    json_object_get(json_object_get(j, "training"), "training_status"), "status"))
			  : NULL;
	if (!s)
		die("GET /v1/models/%s: no training.training_status.status in %s", id, b->buf);
	int done = !strcmp(s, "COMPLETED"), failed = !strcmp(s, "FAILED") || !strcmp(s, "HALTED");
	json_decref(j);
	if (failed)
		die("job %s failed: %s", id, b->buf);
	return done;
}

static void wait_complete(CURL *c, struct body *b, const char *url, const char *id)
{
	for (int waited = 0; !job_done(c, b, url, id); waited += 5) {
		if (waited >= COMPLETE_TIMEOUT_MS)
			die("job %s did not complete within 60 s: %s", id, b->buf);
		sleep_ms(5);
	}
}

struct job_ref {
	CURL *c;
	struct body *b;
	const char *url, *id;
};

static void check_job(void *ctx)
{
	struct job_ref *r = ctx;
	job_done(r->c, r->b, r->url, r->id);
}

static int cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;
	return x < y ? -1 : x > y;
}

/* nearest-rank percentile of sorted v */
static double pct_ms(const long long *v, int n, double p)
{
	int k = (int)((p / 100.0) * n + 0.999999);
	if (k < 1)
		k = 1;
	if (k > n)
		k = n;
	return v[k - 1] / 1e6;
}

static void report(const char *prefix, long long *v, int n)
{
	qsort(v, (size_t)n, sizeof *v, cmp_ll);
	double sum = 0;
	for (int i = 0; i < n; i++)
		sum += v[i] / 1e6;
	printf("%sn=%d\n%sp50_ms=%.3f\n%sp99_ms=%.3f\n%smin_ms=%.3f\n%smax_ms=%.3f\n%smean_ms=%.3f\n", prefix, n,
	       prefix, pct_ms(v, n, 50), prefix, pct_ms(v, n, 99), prefix, v[0] / 1e6, prefix, v[n - 1] / 1e6,
	       prefix, sum / n);
}

/* One baseline sample: posix_spawn of bash -c COMMAND, timed to its stamp. */
static long long fork_once(const struct opts *o, int i, int ino, FILE *raw)
{
	char *argv[] = { "bash", "-c", (char *)o->command, NULL };
	char idvar[96], name[64], pathvar[4096];
	const char *path = getenv("PATH");
	snprintf(pathvar, sizeof pathvar, "PATH=%s", path ? path : "/usr/local/bin:/usr/bin:/bin");
	snprintf(name, sizeof name, "fork-%ld-%d", (long)getpid(), i);
	snprintf(idvar, sizeof idvar, "TRAINING_ID=%s", name);
	char *env[] = { idvar, pathvar, NULL };
	long long t0 = now_ns();
	pid_t pid;
	int rc = posix_spawn(&pid, "/bin/bash", NULL, NULL, argv, env);
	if (rc)
		die("cannot spawn /bin/bash: %s", strerror(rc));
	int status;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		die("the command '%s' failed (wait status %d)", o->command, status);
	long long ts = wait_stamp(ino, o->stamps, name, NULL);
	if (raw)
		fprintf(raw, "%s %lld %lld %lld\n", name, t0, t0, ts);
	return ts - t0;
}

/* weft jobs; with --command, one baseline sample after each job (same background load). */
static void run_weft(const struct opts *o, long long *lat, long long *resp, long long *base, int ino, FILE *raw)
{
	size_t mlen, zlen;
	char *man = slurp(o->manifest, &mlen), *zip = slurp(o->zip, &zlen);
	CURL *c = curl_easy_init();
	if (!c)
		die("cannot initialise libcurl");
	char auth[600], url[1024];
	snprintf(auth, sizeof auth, "Authorization: Bearer %s", o->token);
	snprintf(url, sizeof url, "%s/v1/models", o->url);
	struct curl_slist *hdr = curl_slist_append(NULL, auth);
	hdr = curl_slist_append(hdr, "Expect:"); /* never wait for 100-continue */
	struct body b = { NULL, 0 };
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_TCP_NODELAY, 1L);
	char last[128] = "";
	for (int i = 0; i < o->warmup + o->n; i++) {
		curl_mime *mime = curl_mime_init(c);
		curl_mimepart *p = curl_mime_addpart(mime);
		curl_mime_name(p, "manifest");
		curl_mime_data(p, man, mlen);
		curl_mime_filename(p, "manifest.yml");
		p = curl_mime_addpart(mime);
		curl_mime_name(p, "model_definition");
		curl_mime_data(p, zip, zlen);
		curl_mime_filename(p, "model.zip");
		curl_mime_type(p, "application/zip");
		curl_easy_setopt(c, CURLOPT_URL, url);
		curl_easy_setopt(c, CURLOPT_MIMEPOST, mime);
		long long t0 = now_ns();
		long st = perform(c, &b);
		long long t1 = now_ns();
		curl_easy_setopt(c, CURLOPT_MIMEPOST, NULL);
		curl_mime_free(mime);
		if (st != 201)
			die("POST /v1/models answered %ld: %s", st, b.buf);
		json_t *j = json_loads(b.buf, 0, NULL);
		const char *id = j ? json_string_value(json_object_get(j, "model_id")) : NULL;
		if (!id)
			die("POST /v1/models: no model_id in %s", b.buf);
		snprintf(last, sizeof last, "%s", id);
		json_decref(j);
		struct job_ref ref = { c, &b, o->url, last };
		struct checker chk = { check_job, &ref };
		long long ts = wait_stamp(ino, o->stamps, last, &chk);
		if (raw)
			fprintf(raw, "%s %lld %lld %lld\n", last, t0, t1, ts);
		wait_complete(c, &b, o->url, last);
		long long f = o->command ? fork_once(o, i, ino, raw) : 0;
		if (i >= o->warmup) {
			lat[i - o->warmup] = ts - t0;
			resp[i - o->warmup] = t1 - t0;
			base[i - o->warmup] = f;
		}
	}
	printf("last_id=%s\n", last);
	curl_slist_free_all(hdr);
	curl_easy_cleanup(c);
	free(b.buf);
	free(man);
	free(zip);
}

static void usage(void)
{
	fprintf(stderr,
		"usage: startlat weft --url URL --token TOKEN --manifest FILE --zip FILE --stamps DIR [--command CMD] [options]\n"
		"       startlat fork --command CMD --stamps DIR [options]\n"
		"weft: submits jobs one at a time, each timed from just before POST /v1/models to its\n"
		"      stamp, and waited for until COMPLETED (untimed); with --command, one fork+exec\n"
		"      baseline sample of CMD runs after each job (printed with the prefix fork_).\n"
		"fork: only the baseline: posix_spawn of bash -c CMD, timed to its stamp.\n"
		"options: -n N (timed jobs, 200)  --warmup W (untimed jobs first, 5)\n"
		"         --raw FILE (one line per sample: ID T0 T_ANSWER T_STAMP, ns since the epoch)\n"
		"The command must run `stamp DIR` (bench/stamp.c) with DIR = --stamps.\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct opts o = { .n = 200, .warmup = 5 };
	if (argc < 2)
		usage();
	o.mode = argv[1];
	for (int i = 2; i < argc; i++) {
		const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!v)
			usage();
		i++;
		if (!strcmp(k, "--url"))
			o.url = v;
		else if (!strcmp(k, "--token"))
			o.token = v;
		else if (!strcmp(k, "--manifest"))
			o.manifest = v;
		else if (!strcmp(k, "--zip"))
			o.zip = v;
		else if (!strcmp(k, "--stamps"))
			o.stamps = v;
		else if (!strcmp(k, "--command"))
			o.command = v;
		else if (!strcmp(k, "--raw"))
			o.raw = v;
		else if (!strcmp(k, "-n"))
			o.n = atoi(v);
		else if (!strcmp(k, "--warmup"))
			o.warmup = atoi(v);
		else
			usage();
	}
	int weft = !strcmp(o.mode, "weft");
	if ((!weft && strcmp(o.mode, "fork")) || !o.stamps || o.n < 1 || o.n > 100000 || o.warmup < 0 ||
	    (weft && (!o.url || !o.token || !o.manifest || !o.zip)) || (!weft && !o.command))
		usage();
	int ino = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	if (ino < 0 || inotify_add_watch(ino, o.stamps, IN_MOVED_TO | IN_CREATE) < 0)
		die("cannot watch %s: %s", o.stamps, strerror(errno));
	long long *lat = calloc((size_t)o.n, sizeof *lat), *resp = calloc((size_t)o.n, sizeof *resp);
	long long *base = calloc((size_t)o.n, sizeof *base);
	if (!lat || !resp || !base)
		die("out of memory");
	FILE *raw = NULL;
	if (o.raw && !(raw = fopen(o.raw, "w")))
		die("cannot create %s: %s", o.raw, strerror(errno));
	if (weft) {
		curl_global_init(CURL_GLOBAL_DEFAULT);
		run_weft(&o, lat, resp, base, ino, raw);
		report("", lat, o.n);
		report("post_", resp, o.n);
		if (o.command)
			report("fork_", base, o.n);
		curl_global_cleanup();
	} else {
		for (int i = 0; i < o.warmup + o.n; i++) {
			long long f = fork_once(&o, i, ino, raw);
			if (i >= o.warmup)
				lat[i - o.warmup] = f;
		}
		report("", lat, o.n);
	}
	if (raw && fclose(raw) != 0)
		die("cannot write %s", o.raw);
	free(lat);
	free(resp);
	free(base);
	close(ino);
	return 0;
}

/* auth.c - users, token hashing (SHA-256 via OpenSSL) and header checks. */
#include "auth/auth.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/timeutil.h"
#include <ctype.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

void auth_random_string(char *buf, size_t n)
{
	unsigned char raw[256];
	size_t done = 0;
	while (done < n) {
		size_t want = n - done < sizeof raw ? n - done : sizeof raw;
		ssize_t got = getrandom(raw, want, 0);
		if (got <= 0)
			continue;
		for (ssize_t i = 0; i < got; i++)
			buf[done++] = b64url[raw[i] & 63];
	}
	buf[n] = '\0';
}

static void sha256_hex(const char *s, char out[65])
{
	unsigned char md[32];
	unsigned int len = 0;
	EVP_Digest(s, strlen(s), md, &len, EVP_sha256(), NULL);
	for (unsigned i = 0; i < 32; i++)
		sprintf(out + 2 * i, "%02x", md[i]);
	out[64] = '\0';
}

static int valid_user_name(const char *name)
{
	size_t n = strlen(name);
	if (n == 0 || n > 64)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)name[i]) && !strchr("._-", name[i]))
			return 0;
	return 1;
}

int auth_add_user(struct trainer *t, const char *name, int is_admin, char **token, struct weft_err *e)
{
	if (!valid_user_name(name))
		return err_set(e, WEFT_EINVAL, "user name '%s' is not valid: use 1-64 letters, digits, '.', '_' or '-'",
			       name);
	char tok[44], hash[65];
	memcpy(tok, "weft_", 5);
	auth_random_string(tok + 5, 38);
	sha256_hex(tok, hash);
	struct db_conn *c = db_acquire(t->db);
	sqlite3_stmt *st = db_stmt(c, "INSERT INTO users(name, token_hash, is_admin, created_ms) VALUES(?,?,?,?)");
	sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, hash, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(st, 3, is_admin);
	sqlite3_bind_int64(st, 4, now_ms());
	int rc = sqlite3_step(st);
	int ret = 0;
	if (rc == SQLITE_CONSTRAINT)
		ret = err_set(e, WEFT_ECONFLICT, "user '%s' already exists", name);
	else if (rc != SQLITE_DONE)
		ret = db_error(c, e, "adding a user");
	sqlite3_reset(st);
	db_release(t->db, c);
	if (ret == 0)
		*token = xstrdup(tok);
	return ret;
}

/* Loads <home>/job-token.key, creating it on first start. */
static int load_job_key(struct trainer *t, struct weft_err *e)
{
	char *path = fs_join(t->home, "job-token.key");
	struct sbuf sb = SBUF_INIT;
	int rc = 0;
	if (fs_exists(path)) {
		rc = fs_read_file(path, &sb, e);
		if (rc == 0 && sb.len != sizeof t->job_key)
			rc = err_set(e, WEFT_EIO, "%s: expected %zu bytes, found %zu (delete it to make a new key; "
					       "running learners then lose their WEFT_JOB_TOKEN)",
				     path, sizeof t->job_key, sb.len);
		if (rc == 0)
			memcpy(t->job_key, sb.buf, sizeof t->job_key);
	} else {
		if (RAND_bytes(t->job_key, sizeof t->job_key) != 1)
			rc = err_set(e, WEFT_EIO, "cannot make random bytes for the job-token key");
		else
			rc = fs_write_file_atomic(path, t->job_key, sizeof t->job_key, 0600, e);
	}
	sb_release(&sb);
	free(path);
	return rc;
}

void auth_job_token(const struct trainer *t, const char *job_id, char out[72])
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	HMAC(EVP_sha256(), t->job_key, (int)sizeof t->job_key, (const unsigned char *)job_id, strlen(job_id), mac,
	     &len);
	static const char hex[] = "0123456789abcdef";
	memcpy(out, AUTH_JOB_TOKEN_PREFIX, 5);
	for (unsigned i = 0; i < 32 && i < len; i++) {
		out[5 + 2 * i] = hex[mac[i] >> 4];
		out[6 + 2 * i] = hex[mac[i] & 15];
	}
	out[5 + 64] = '\0';
}

int auth_job_token_ok(const struct trainer *t, const char *job_id, const char *token)
{
	char want[72];
	auth_job_token(t, job_id, want);
	return strlen(token) == strlen(want) && CRYPTO_memcmp(token, want, strlen(want)) == 0;
}

int auth_bootstrap(struct trainer *t, struct weft_err *e)
{
	if (load_job_key(t, e))
		return WEFT_EIO;
	struct db_conn *c = db_acquire(t->db);
	sqlite3_stmt *st = db_stmt(c, "SELECT count(*) FROM users");
	int n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : -1;
	sqlite3_reset(st);
	db_release(t->db, c);
	if (n < 0)
		return err_set(e, WEFT_EIO, "cannot read the users table");
	char *path = fs_join(t->home, "admin.token");
	int rc = 0;
	if (n == 0) {
		char *token = NULL;
		rc = auth_add_user(t, "admin", 1, &token, e);
		if (rc == 0) {
			char *line = xasprintf("%s\n", token);
			rc = fs_write_file_atomic(path, line, strlen(line), 0600, e);
			free(line);
			free(token);
			if (rc == 0)
				log_info("created user admin; its token is in %s", path);
		}
	} else if (!fs_exists(path)) {
		log_warn("%s is missing; the admin token cannot be recovered (tokens are stored hashed)", path);
	}
	free(path);
	return rc;
}

static int base64_decode(const char *in, char *out, size_t outsz)
{
	size_t len = strlen(in);
	if (len % 4 != 0 || len / 4 * 3 >= outsz)
		return -1;
	int n = EVP_DecodeBlock((unsigned char *)out, (const unsigned char *)in, (int)len);
	if (n < 0)
		return -1;
	/* EVP_DecodeBlock counts padding bytes as output */
	if (len >= 1 && in[len - 1] == '=')
		n--;
	if (len >= 2 && in[len - 2] == '=')
		n--;
	out[n] = '\0';
	return n;
}

/* Tokens never change and users are never removed, so a verified token hash
 * can be remembered: most requests then skip the database. Direct-mapped by
 * the hash's first bytes; a collision just evicts. Guarded by cache_lock. */
#define TOKEN_CACHE 256
static struct {
	char hash[65];
	struct principal p;
} token_cache[TOKEN_CACHE];
static pthread_rwlock_t cache_lock = PTHREAD_RWLOCK_INITIALIZER;

static unsigned cache_slot(const char *hash)
{
	return (unsigned)strtoul((char[]){ hash[0], hash[1], '\0' }, NULL, 16) % TOKEN_CACHE;
}

static int lookup_token(struct trainer *t, const char *token, struct principal *p)
{
	char hash[65];
	sha256_hex(token, hash);
	unsigned slot = cache_slot(hash);
	pthread_rwlock_rdlock(&cache_lock);
	int hit = !strcmp(token_cache[slot].hash, hash);
	if (hit)
		*p = token_cache[slot].p;
	pthread_rwlock_unlock(&cache_lock);
	if (hit)
		return 1;
	struct db_conn *c = db_acquire(t->db);
	sqlite3_stmt *st = db_stmt(c, "SELECT name, is_admin FROM users WHERE token_hash = ?");
	sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
	int found = 0;
	if (sqlite3_step(st) == SQLITE_ROW) {
		snprintf(p->name, sizeof p->name, "%s", (const char *)sqlite3_column_text(st, 0));
		p->is_admin = sqlite3_column_int(st, 1);
		found = 1;
	}
	sqlite3_reset(st);
	db_release(t->db, c);
	if (found) {
		pthread_rwlock_wrlock(&cache_lock);
		memcpy(token_cache[slot].hash, hash, sizeof hash);
		token_cache[slot].p = *p;
		pthread_rwlock_unlock(&cache_lock);
	}
	return found;
}

int auth_check(struct trainer *t, const char *authorization, const char *watson_userinfo, struct principal *p,
	       struct weft_err *e)
{
	if (!authorization || !*authorization)
		return err_set(e, WEFT_EAUTH,
			       "missing credentials: send 'Authorization: Bearer TOKEN' (the admin token is in "
			       "<home>/admin.token)");
	const char *sp = strchr(authorization, ' ');
	if (!sp)
		return err_set(e, WEFT_EAUTH, "malformed Authorization header");
	size_t schemelen = (size_t)(sp - authorization);
	const char *val = sp;
	while (*val == ' ')
		val++;
	if (schemelen == 6 && !strncasecmp(authorization, "Bearer", 6)) {
		if (!lookup_token(t, val, p))
			return err_set(e, WEFT_EAUTH, "invalid token");
	} else if (schemelen == 5 && !strncasecmp(authorization, "Basic", 5)) {
		char dec[512];
		if (base64_decode(val, dec, sizeof dec) < 0)
			return err_set(e, WEFT_EAUTH, "malformed Basic credentials");
		char *colon = strchr(dec, ':');
		if (!colon)
			return err_set(e, WEFT_EAUTH, "Basic credentials must be USER:TOKEN");
		*colon = '\0';
		if (!lookup_token(t, colon + 1, p) || strcmp(p->name, dec) != 0)
			return err_set(e, WEFT_EAUTH, "invalid user or token");
	} else {
		return err_set(e, WEFT_EAUTH, "unsupported Authorization scheme: use Bearer or Basic");
	}
	if (watson_userinfo && *watson_userinfo) {
		/* "k=v;k=v": bluemix-instance-id names the user */
		const char *key = "bluemix-instance-id=";
		const char *s = strstr(watson_userinfo, key);
		if (!s)
			return err_set(e, WEFT_EAUTH, "X-Watson-Userinfo has no bluemix-instance-id");
		s += strlen(key);
		size_t n = strcspn(s, ";");
		while (n > 0 && s[n - 1] == ' ')
			n--;
		if (n != strlen(p->name) || strncmp(s, p->name, n) != 0)
			return err_set(e, WEFT_EAUTH, "X-Watson-Userinfo names another user than the credentials");
	}
	return 0;
}

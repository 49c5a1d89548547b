/* auth.h - users and API tokens. Tokens are 256-bit random strings shown once;
 * only their SHA-256 is stored. A request authenticates with
 * "Authorization: Bearer TOKEN" or "Authorization: Basic base64(USER:TOKEN)";
 * FfDL's X-Watson-Userinfo header may only name the authenticated user. */
#ifndef WEFT_AUTH_H
#define WEFT_AUTH_H
#include "trainer/trainer.h"

/* On first start (no users): creates "admin" and writes <home>/admin.token (0600). */
int auth_bootstrap(struct trainer *t, struct weft_err *e);
/* Creates a user; *token (caller frees) is the only copy of the secret.
 * Names: 1-64 chars of [A-Za-z0-9._-]. WEFT_ECONFLICT if it exists. */
int auth_add_user(struct trainer *t, const char *name, int is_admin, char **token, struct weft_err *e);
/* Checks the headers (either may be NULL). 0 and *p, or WEFT_EAUTH with a reason. */
int auth_check(struct trainer *t, const char *authorization, const char *watson_userinfo, struct principal *p,
	       struct weft_err *e);
/* Per-job tokens: a learner gets WEFT_JOB_TOKEN, which lets it post metric
 * records for its own job and nothing else. The token is an HMAC-SHA256 of
 * the job id under t->job_key (made on first start, kept in
 * <home>/job-token.key), so it survives restarts without being stored. */
#define AUTH_JOB_TOKEN_PREFIX "wjob_"
void auth_job_token(const struct trainer *t, const char *job_id, char out[72]);
int auth_job_token_ok(const struct trainer *t, const char *job_id, const char *token);

/* Random URL-safe string of n chars (base64url alphabet) into buf (n+1 bytes). */
void auth_random_string(char *buf, size_t n);

#endif

/* deploy.h - pieces shared by the serving commands (deploy.c: deploy, undeploy;
 * deploy_show.c: deployments, deployment show; deploy_predict.c: predict).
 * Unlike client_json these exchanges send any body (a YAML spec, a Seldon
 * message) and keep the answer whatever its status, because the serving
 * protocols carry their own error shapes (Seldon's {status: {...}}, OIP's
 * {error}) that the commands print. */
#ifndef WEFT_CLI_DEPLOY_H
#define WEFT_CLI_DEPLOY_H
#include "cli/client.h"
#include "util/sbuf.h"
#include <jansson.h>
#include <stddef.h>

struct deploy_answer {
	long status;       /* HTTP status */
	struct sbuf body;  /* the answer's body, NUL-terminated */
};

/* METHOD path with an optional body of content_type. auth_header ("Authorization:
 * ...") replaces the client's credentials when non-NULL. Returns 0 when an
 * answer arrived (any status: look at a->status), else prints why (cannot
 * reach the server, connection broke) and returns EXIT_SYSTEM. The caller
 * releases a with deploy_answer_release, whatever the result. */
int deploy_http(struct client *c, const char *method, const char *path, const char *auth_header,
		const char *content_type, const char *body, size_t len, struct deploy_answer *a);
void deploy_answer_release(struct deploy_answer *a);

/* The message of an error answer: FfDL's description (or error), Seldon's
 * status.reason and status.info, OIP's error, else NULL. Caller frees. */
char *deploy_error_message(const char *body, size_t len);
/* Prints "weft: MESSAGE" for an answer that is not 2xx (plus, for a 401, where
 * the refused credentials came from, unless own_auth: the exchange used its
 * own auth_header) and returns its exit code: EXIT_USER for 4xx, EXIT_SYSTEM
 * otherwise. */
int deploy_report_error(const struct client *c, const char *method, const char *path,
			const struct deploy_answer *a, int own_auth);

/* Parses a 2xx answer's body as a JSON object into *out (caller decrefs);
 * EXIT_SYSTEM after a message when it is not one. */
int deploy_answer_json(const char *method, const char *path, const struct deploy_answer *a, json_t **out);

/* Endpoint paths of deployment name (escaped) in namespace ns (NULL: "default"). Caller frees. */
char *deploy_seldon_path(const char *ns, const char *name);
char *deploy_v2_path(const char *name, const char *what); /* what: "infer", "" (metadata), "ready" */

/* Prints JSON text indented by two spaces per level, with arrays that hold
 * no object or array on one line ([0.1, 0.9]); numbers keep their exact
 * text. text must be valid JSON (check it first). */
void deploy_print_pretty(FILE *f, const char *text, size_t len);

/* "ready/total" replicas summed over a predictors array into buf. */
const char *deploy_replicas(const json_t *predictors, char *buf, size_t size);

#endif

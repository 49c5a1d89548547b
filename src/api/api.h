/* api.h - the HTTP front of `weft server`: libmicrohttpd with one thread per
 * connection (log followers may block for hours without starving anyone),
 * routing FfDL's /v1 REST API and weft's additions to the trainer. */
#ifndef WEFT_API_H
#define WEFT_API_H
#include "trainer/trainer.h"

struct serve;

struct api_opts {
	const char *host;          /* listen address, e.g. 127.0.0.1 or 0.0.0.0 */
	int port;
	uint64_t max_upload;       /* bytes of model zip or data object per request */
	uint64_t max_predict_body; /* bytes of a prediction request (default 64 MiB) */
	struct serve *serve;       /* deployments (may be NULL: no serving) */
};

struct api_server;
int api_start(struct trainer *t, const struct api_opts *o, struct api_server **out, struct weft_err *e);
void api_stop(struct api_server *s);
/* A deployment's own port: the same server, where Seldon's paths
 * (/api/v1.0/predictions, ...) need no /seldon/{ns}/{name} prefix. */
int api_open_deploy_port(void *main_server, const char *name, int port, void **handle, struct weft_err *e);
void api_close_deploy_port(void *handle);

#endif

/* fuzz_spec.c - libFuzzer target for the deployment spec parser: any bytes
 * go through spec_parse (JSON/YAML, checks, ignored fields, the kept JSON)
 * and, when they parse, through every renderer; the canonical JSON must
 * parse back into the same spec. A crash, leak, hang, sanitizer report or
 * broken invariant (abort) is a bug; an error must always say why. */
#include "serve/spec.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_spec(const struct deployment_spec *d)
{
	if (!spec_name_valid(d->name) || d->n_predictors < 1 || d->n_predictors > SPEC_MAX_PREDICTORS || !d->source ||
	    d->port < 0 || d->port > 65535 || !d->oauth_key != !d->oauth_secret)
		abort();
	int sum = 0, main = 0;
	for (size_t i = 0; i < d->n_predictors; i++) {
		const struct spec_predictor *p = &d->predictors[i];
		if (!spec_name_valid(p->name) || !spec_name_valid(p->graph_name) || !spec_training_id_valid(p->training_id) ||
		    p->replicas < 1 || p->replicas > SPEC_MAX_REPLICAS || p->traffic < 0 || p->traffic > 100 ||
		    (p->shadow && p->traffic) || !p->annotations || !p->labels)
			abort();
		if ((p->runtime == SPEC_RUNTIME_CUSTOM) != (p->command != NULL))
			abort(); /* custom always has a command, native never */
		if (p->runtime == SPEC_RUNTIME_NATIVE &&
		    (p->max_batch_size < 1 || p->max_batch_size > SPEC_MAX_BATCH || p->max_wait_ms < 0))
			abort();
		for (size_t j = 0; j < i; j++)
			if (!strcmp(d->predictors[j].name, p->name))
				abort(); /* names are unique */
		if (!p->shadow) {
			sum += p->traffic;
			main++;
		}
	}
	if (!main || sum != 100)
		abort(); /* the traffic split always adds up */
	for (size_t i = 0; i < d->n_ignored; i++)
		if (!d->ignored[i].path || d->ignored[i].line < 1 || (i && d->ignored[i - 1].line > d->ignored[i].line))
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct deployment_spec *d = NULL;
	struct weft_err e = { 0, "" };
	int rc = spec_parse((const char *)data, size, &d, &e);
	if (rc) {
		if (d || !e.msg[0])
			abort(); /* an error leaves no spec and says why */
	} else {
		if (!d)
			abort();
		check_spec(d);
		json_t *canon = spec_to_json(d, 1), *masked = spec_to_json(d, 0);
		json_t *ign = spec_ignored_json(d), *src = spec_source_json(d, 0);
		if (json_array_size(ign) != d->n_ignored || !src)
			abort();
		char *text = json_dumps(canon, JSON_COMPACT | JSON_SORT_KEYS);
		struct deployment_spec *d2 = NULL;
		if (!text || spec_parse(text, strlen(text), &d2, &e))
			abort(); /* the canonical form always parses */
		json_t *canon2 = spec_to_json(d2, 1);
		if (!json_equal(canon, canon2))
			abort(); /* ... into the same spec */
		json_decref(canon2);
		spec_free(d2);
		free(text);
		json_decref(canon);
		json_decref(masked);
		json_decref(ign);
		json_decref(src);
		spec_free(d);
	}
	/* the short form with the bytes as an id and a name */
	if (size < 80) {
		char s[80];
		memcpy(s, data, size);
		s[size] = '\0';
		char *name = spec_name_from_id(s);
		if (!spec_name_valid(name))
			abort();
		struct deployment_spec *sd = NULL;
		if (!spec_from_short(s, NULL, 0, &sd, &e)) {
			check_spec(sd);
			spec_free(sd);
		}
		if (!spec_from_short("training-x", s, 2, &sd, &e))
			spec_free(sd);
		free(name);
	}
	return 0;
}

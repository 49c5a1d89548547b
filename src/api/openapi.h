/* openapi.h - docs/openapi.json, embedded at build time (see the Makefile's
 * gen/openapi.c rule) and served at GET /v1/openapi.json. */
#ifndef WEFT_OPENAPI_H
#define WEFT_OPENAPI_H
#include <stddef.h>

extern const unsigned char openapi_json[];
extern const size_t openapi_json_len;

#endif

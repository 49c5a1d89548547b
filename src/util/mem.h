/* mem.h - allocation wrappers that never return NULL.
 * Running out of memory is not a user error we can report usefully, so the
 * wrappers print a message and exit(2); everything else returns errors. */
#ifndef WEFT_MEM_H
#define WEFT_MEM_H
#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);            /* NULL in, NULL out */
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif

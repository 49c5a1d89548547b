/* sbuf.h - the one growable string buffer used everywhere (after git's strbuf).
 * buf is always NUL-terminated once anything was added; len excludes the NUL. */
#ifndef WEFT_SBUF_H
#define WEFT_SBUF_H
#include <stdarg.h>
#include <stddef.h>

struct sbuf {
	char *buf;
	size_t len;
	size_t cap;
};
#define SBUF_INIT { NULL, 0, 0 }

void sb_grow(struct sbuf *sb, size_t extra);
void sb_add(struct sbuf *sb, const void *data, size_t n);
void sb_adds(struct sbuf *sb, const char *s);
void sb_addc(struct sbuf *sb, char c);
void sb_addf(struct sbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sb_vaddf(struct sbuf *sb, const char *fmt, va_list ap);
void sb_reset(struct sbuf *sb);          /* len = 0, keeps memory */
void sb_release(struct sbuf *sb);        /* frees memory */
/* Returns the string (caller frees) and leaves sb empty. Never NULL. */
char *sb_detach(struct sbuf *sb);
/* "" when nothing was added yet. */
const char *sb_str(const struct sbuf *sb);

#endif

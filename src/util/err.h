/* err.h - how errors travel: functions return 0 or a negative WEFT_E* code and
 * fill a struct weft_err whose message names the field, line or value at fault.
 * The message is for humans (CLI output, API "description"). */
#ifndef WEFT_ERR_H
#define WEFT_ERR_H

enum {
	WEFT_OK = 0,
	WEFT_EINVAL = -1,    /* bad user input (manifest, request, argument) */
	WEFT_ENOTFOUND = -2, /* no such job/user/object (or not visible to caller) */
	WEFT_EAUTH = -3,     /* missing or bad credentials */
	WEFT_EPERM = -4,     /* authenticated but not allowed */
	WEFT_ECONFLICT = -5, /* operation not valid in the current state */
	WEFT_EIO = -6,       /* file system / database / system failure */
	WEFT_ETOOBIG = -7,   /* input over a configured limit */
};

struct weft_err {
	int code;
	char msg[1024];
};

/* Sets e->code and the message (if e is non-NULL); returns code so callers can
 * write `return err_set(e, WEFT_EINVAL, "...")`. */
int err_set(struct weft_err *e, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Like err_set, appending ": strerror(errno)". */
int err_sys(struct weft_err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void err_clear(struct weft_err *e);

#endif

/* timeutil.h - clocks used across weft. */
#ifndef WEFT_TIMEUTIL_H
#define WEFT_TIMEUTIL_H
#include <stdint.h>

int64_t now_ms(void);        /* wall clock, ms since the epoch */
int64_t mono_ns(void);       /* monotonic, for durations */
/* Formats ms since the epoch as "YYYY-MM-DD HH:MM:SS" UTC into buf (>= 24 bytes); "-" for 0. */
const char *fmt_time_ms(int64_t ms, char *buf, unsigned long size);

#endif

/* size.c - the manifest's units: sizes ("1Gb", "512MiB", "0.5 GB") and
 * durations ("90s", "1h30m"). Arithmetic is exact integer math (128-bit for
 * the fractional part), so "0.5GiB" is exactly 512MiB and overflow is caught
 * instead of wrapping. FfDL read "Gb" as GB (powers of 1000); so do we. */
#include "manifest/manifest.h"
#include "manifest/node.h"
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define SIZE_HINT "use a number and a unit such as 512MB or 2GiB"

struct unit {
	const char *name;
	uint64_t mult;
};

/* Matched case-insensitively. Ki/Mi/Gi/Ti are the Kubernetes spellings. */
static const struct unit size_units[] = {
	{ "b", 1ULL },
	{ "kb", 1000ULL },
	{ "mb", 1000ULL * 1000 },
	{ "gb", 1000ULL * 1000 * 1000 },
	{ "tb", 1000ULL * 1000 * 1000 * 1000 },
	{ "kib", 1ULL << 10 },
	{ "mib", 1ULL << 20 },
	{ "gib", 1ULL << 30 },
	{ "tib", 1ULL << 40 },
	{ "ki", 1ULL << 10 },
	{ "mi", 1ULL << 20 },
	{ "gi", 1ULL << 30 },
	{ "ti", 1ULL << 40 },
};

int manifest_parse_size(const char *s, uint64_t *bytes, struct weft_err *e)
{
	char q[96];
	const char *p = s ? s : "";
	quote_value(p, strlen(p), q, sizeof q);
	while (isspace((unsigned char)*p))
		p++;
	if (*p == '-')
		return err_set(e, WEFT_EINVAL, "%s is negative", q);
	if (*p == '+')
		p++;
	unsigned __int128 whole = 0, frac = 0, scale = 1;
	size_t nint = 0, nfrac = 0;
	while (isdigit((unsigned char)*p)) {
		whole = whole * 10 + (unsigned)(*p - '0');
		if (whole > UINT64_MAX)
			return err_set(e, WEFT_EINVAL, "%s is too large", q);
		p++;
		nint++;
	}
	if (*p == '.') {
		p++;
		while (isdigit((unsigned char)*p)) {
			if (nfrac < 18) {
				frac = frac * 10 + (unsigned)(*p - '0');
				scale *= 10;
			}
			p++;
			nfrac++;
		}
	}
	if (nint + nfrac == 0)
		return err_set(e, WEFT_EINVAL, "%s is not a size (" SIZE_HINT ")", q);
	while (*p == ' ' || *p == '\t')
		p++;
	const char *u = p;
	while (isalpha((unsigned char)*p))
		p++;
	size_t ulen = (size_t)(p - u);
	while (isspace((unsigned char)*p))
		p++;
	if (*p)
		return err_set(e, WEFT_EINVAL, "%s is not a size (" SIZE_HINT ")", q);
	if (ulen == 0) {
		if (whole == 0 && frac == 0) {
			*bytes = 0;
			return 0;
		}
		return err_set(e, WEFT_EINVAL, "%s has no unit (" SIZE_HINT ")", q);
	}
	const struct unit *unit = NULL;
	for (size_t i = 0; i < sizeof size_units / sizeof size_units[0]; i++)
		if (strlen(size_units[i].name) == ulen && !strncasecmp(u, size_units[i].name, ulen))
			unit = &size_units[i];
	if (!unit)
		return err_set(e, WEFT_EINVAL, "%s has an unknown unit (use b, KB, MB, GB, TB, KiB, MiB, GiB or TiB)",
			       q);
	unsigned __int128 total = whole * unit->mult + frac * unit->mult / scale;
	if (total > UINT64_MAX)
		return err_set(e, WEFT_EINVAL, "%s is too large", q);
	*bytes = (uint64_t)total;
	return 0;
}

void manifest_format_size(uint64_t bytes, char *buf, size_t size)
{
	/* Largest unit first; the first that divides exactly wins. */
	static const struct unit out[] = {
		{ "TiB", 1ULL << 40 }, { "TB", 1000ULL * 1000 * 1000 * 1000 },
		{ "GiB", 1ULL << 30 }, { "GB", 1000ULL * 1000 * 1000 },
		{ "MiB", 1ULL << 20 }, { "MB", 1000ULL * 1000 },
		{ "KiB", 1ULL << 10 }, { "KB", 1000ULL },
	};
	if (bytes) {
		for (size_t i = 0; i < sizeof out / sizeof out[0]; i++) {
			if (bytes % out[i].mult == 0) {
				snprintf(buf, size, "%llu%s", (unsigned long long)(bytes / out[i].mult), out[i].name);
				return;
			}
		}
	}
	snprintf(buf, size, "%llub", (unsigned long long)bytes);
}

int manifest_parse_duration(const char *s, int64_t *seconds, struct weft_err *e)
{
	char q[96];
	const char *p = s ? s : "";
	quote_value(p, strlen(p), q, sizeof q);
	while (isspace((unsigned char)*p))
		p++;
	if (*p == '-')
		return err_set(e, WEFT_EINVAL, "%s is negative", q);
	int64_t total = 0;
	int parts = 0, bare = 0;
	while (*p && !isspace((unsigned char)*p)) {
		if (!isdigit((unsigned char)*p))
			return err_set(e, WEFT_EINVAL, "%s is not a duration (use seconds or a number with s, m, h or d such as 90s, 30m, 2h, 1h30m)", q);
		int64_t v = 0;
		while (isdigit((unsigned char)*p)) {
			v = v * 10 + (*p - '0');
			if (v > MANIFEST_MAX_DEADLINE)
				return err_set(e, WEFT_EINVAL, "%s is too long (at most %d days)", q,
					       MANIFEST_MAX_DEADLINE / 86400);
			p++;
		}
		int64_t mult;
		switch (*p) {
		case 's': mult = 1; break;
		case 'm': mult = 60; break;
		case 'h': mult = 3600; break;
		case 'd': mult = 86400; break;
		case '\0': case ' ': case '\t': case '\n': case '\r':
			mult = 1;
			bare = 1;
			break;
		default:
			return err_set(e, WEFT_EINVAL, "%s is not a duration (use seconds or a number with s, m, h or d such as 90s, 30m, 2h, 1h30m)", q);
		}
		if (!bare)
			p++;
		if (bare && parts)
			return err_set(e, WEFT_EINVAL, "%s is not a duration (a unit is missing after the last number)", q);
		if (v > (MANIFEST_MAX_DEADLINE - total) / mult)
			return err_set(e, WEFT_EINVAL, "%s is too long (at most %d days)", q,
				       MANIFEST_MAX_DEADLINE / 86400);
		total += v * mult;
		parts++;
		if (bare)
			break;
	}
	while (isspace((unsigned char)*p))
		p++;
	if (*p || !parts)
		return err_set(e, WEFT_EINVAL, "%s is not a duration (use seconds or a number with s, m, h or d such as 90s, 30m, 2h, 1h30m)", q);
	*seconds = total;
	return 0;
}

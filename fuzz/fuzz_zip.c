/* fuzz_zip.c - libFuzzer target for the zip helpers: bytes go to
 * zip_validate_buf and, when it accepts them, through zip_extract into a
 * fresh temp directory (removed afterwards). Looks for crashes, leaks and
 * any file written outside the extraction directory. */
#include "store/objects.h"
#include "util/fs.h"
#include "util/mem.h"
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *base; /* per-process scratch dir: the zip file and the "out" dir */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void cleanup(void)
{
	struct weft_err e;
	fs_rm_rf(base, &e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct weft_err e;
	if (!base) {
		char tmpl[] = "/tmp/weft-fuzz-zip-XXXXXX";
		if (!mkdtemp(tmpl))
			abort();
		base = xstrdup(tmpl);
		atexit(cleanup);
	}
	if (zip_validate_buf(data, size, &e) != 0)
		return 0;
	char *zip = fs_join(base, "in.zip");
	char *out = fs_join(base, "out");
	if (fs_write_file_atomic(zip, data, size, 0644, &e) != 0)
		abort();
	zip_extract(zip, out, &e);
	/* nothing may land beside "out": only in.zip and out/ are allowed */
	DIR *d = opendir(base);
	struct dirent *de;
	while (d && (de = readdir(d))) {
		const char *n = de->d_name;
		if (strcmp(n, ".") && strcmp(n, "..") && strcmp(n, "in.zip") && strcmp(n, "out")) {
			fprintf(stderr, "fuzz_zip: entry '%s' escaped into %s\n", n, base);
			abort();
		}
	}
	if (d)
		closedir(d);
	/* extraction keeps u+rwx on directories and u+rw on files, so this works */
	if (fs_rm_rf(out, &e) != 0)
		abort();
	free(zip);
	free(out);
	return 0;
}

/* test_objects.c - the embedded object store and the zip helpers: name
 * checks, streaming puts, listings, escape attempts through names and
 * planted symbolic links, zip round trips (ours and the `zip` command's) and
 * hostile zips (not a zip, empty, "../evil", truncated, links, bad CRC). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "store/objects.h"
#include "util/fs.h"
#include "util/mem.h"
#include "util/sbuf.h"
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zip.h>

static char *tmpdir(void)
{
	char tmpl[] = "/tmp/weft-objects-XXXXXX";
	char *d = mkdtemp(tmpl);
	assert_non_null(d);
	return xstrdup(d);
}

static void rmtree(char *d)
{
	struct weft_err e;
	/* extracted trees may hold read-only directories */
	char *cmd = xasprintf("chmod -R u+rwx '%s' 2>/dev/null", d);
	(void)!system(cmd);
	free(cmd);
	assert_int_equal(fs_rm_rf(d, &e), 0);
	free(d);
}

static void write_file(const char *path, const char *text, mode_t mode)
{
	struct weft_err e;
	assert_int_equal(fs_write_file_atomic(path, text, strlen(text), mode, &e), 0);
	assert_int_equal(chmod(path, mode), 0);
}

static char *read_text(const char *path)
{
	struct sbuf sb = SBUF_INIT;
	struct weft_err e;
	if (fs_read_file(path, &sb, &e) < 0) {
		sb_release(&sb);
		return NULL;
	}
	return sb_detach(&sb);
}

static void assert_file(const char *path, const char *want)
{
	char *got = read_text(path);
	if (!got)
		fail_msg("missing %s", path);
	assert_string_equal(got, want);
	free(got);
}

static int count_tmp(const char *dir)
{
	char *cmd = xasprintf("find '%s' -name '.tmp-*' | wc -l", dir);
	FILE *f = popen(cmd, "r");
	int n = -1;
	assert_non_null(f);
	assert_int_equal(fscanf(f, "%d", &n), 1);
	pclose(f);
	free(cmd);
	return n;
}

static void expect_err(int rc, int code, const struct weft_err *e, const char *needle)
{
	assert_int_equal(rc, code);
	if (!strstr(e->msg, needle))
		fail_msg("message \"%s\" lacks \"%s\"", e->msg, needle);
}

static void test_bucket_names(void **state)
{
	(void)state;
	struct weft_err e;
	const char *good[] = { "a", "my-bucket_1.x", "A.B", "0", "x..y" };
	for (size_t i = 0; i < sizeof good / sizeof *good; i++)
		assert_int_equal(objects_valid_bucket(good[i], &e), 0);
	char max[64], over[65];
	memset(max, 'b', 63), max[63] = 0;
	memset(over, 'b', 64), over[64] = 0;
	assert_int_equal(objects_valid_bucket(max, &e), 0);
	expect_err(objects_valid_bucket(over, &e), WEFT_EINVAL, &e, "too long");
	expect_err(objects_valid_bucket("", &e), WEFT_EINVAL, &e, "empty");
	expect_err(objects_valid_bucket(NULL, &e), WEFT_EINVAL, &e, "empty");
	expect_err(objects_valid_bucket(".hidden", &e), WEFT_EINVAL, &e, "'.hidden' must not start with '.'");
	expect_err(objects_valid_bucket("..", &e), WEFT_EINVAL, &e, "must not start with '.'");
	expect_err(objects_valid_bucket("a/b", &e), WEFT_EINVAL, &e, "'a/b' has '/' at position 2");
	expect_err(objects_valid_bucket("a b", &e), WEFT_EINVAL, &e, "has ' ' at position 2");
	expect_err(objects_valid_bucket("a\\b", &e), WEFT_EINVAL, &e, "has '\\' at position 2");
	expect_err(objects_valid_bucket("caf\xc3\xa9", &e), WEFT_EINVAL, &e, "'\\xc3' at position 4");
	expect_err(objects_valid_bucket("nl\n", &e), WEFT_EINVAL, &e, "'nl\\x0a' has '\\x0a'");
}

static void test_key_names(void **state)
{
	(void)state;
	struct weft_err e;
	const char *good[] = { "a", "a/b/c.txt", "donn\xc3\xa9" "es.csv", ".hidden", "a/.b", "x..y", "...", "a b" };
	for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
		if (objects_valid_key(good[i], &e))
			fail_msg("'%s' refused: %s", good[i], e.msg);
	}
	expect_err(objects_valid_key("", &e), WEFT_EINVAL, &e, "empty");
	expect_err(objects_valid_key(NULL, &e), WEFT_EINVAL, &e, "empty");
	expect_err(objects_valid_key("/etc/passwd", &e), WEFT_EINVAL, &e, "'/etc/passwd' must be a relative path");
	expect_err(objects_valid_key("a\\b", &e), WEFT_EINVAL, &e, "'a\\b' contains a backslash");
	expect_err(objects_valid_key("..", &e), WEFT_EINVAL, &e, "'..' path segment");
	expect_err(objects_valid_key("a/../../b", &e), WEFT_EINVAL, &e, "'a/../../b' has a '..' path segment");
	expect_err(objects_valid_key("a/..", &e), WEFT_EINVAL, &e, "'..' path segment");
	expect_err(objects_valid_key(".", &e), WEFT_EINVAL, &e, "'.' path segment");
	expect_err(objects_valid_key("./a", &e), WEFT_EINVAL, &e, "'.' path segment");
	expect_err(objects_valid_key("a//b", &e), WEFT_EINVAL, &e, "empty path segment");
	expect_err(objects_valid_key("a/", &e), WEFT_EINVAL, &e, "empty path segment");
	expect_err(objects_valid_key(".tmp-123", &e), WEFT_EINVAL, &e, "reserved");
	expect_err(objects_valid_key("a/.tmp-x/b", &e), WEFT_EINVAL, &e, "reserved");
	expect_err(objects_valid_key("bad\xff", &e), WEFT_EINVAL, &e, "'bad\\xff' is not valid UTF-8");
	char key[1100];
	memset(key, 'k', 1024), key[1024] = 0;
	for (int i = 100; i < 1024; i += 100)
		key[i] = '/';
	assert_int_equal(objects_valid_key(key, &e), 0);
	memset(key, 'k', 1025), key[1025] = 0;
	expect_err(objects_valid_key(key, &e), WEFT_EINVAL, &e, "too long (1025 bytes");
	assert_true(strlen(e.msg) < 400); /* the value is cut in the message */
	memset(key, 's', 256), key[256] = 0;
	expect_err(objects_valid_key(key, &e), WEFT_EINVAL, &e, "longer than 255");
}

static void put(const char *root, const char *bucket, const char *key, const char *text)
{
	struct weft_err e;
	struct objects_put *p;
	if (objects_put_begin(root, bucket, key, &p, &e))
		fail_msg("put_begin %s: %s", key, e.msg);
	size_t half = strlen(text) / 2;
	assert_int_equal(objects_put_write(p, text, half, &e), 0);
	assert_int_equal(objects_put_write(p, text + half, strlen(text) - half, &e), 0);
	if (objects_put_commit(p, &e))
		fail_msg("commit %s: %s", key, e.msg);
}

static void test_put_list(void **state)
{
	(void)state;
	char *home = tmpdir();
	char *root = fs_join(home, "objects"); /* created on the first put */
	struct weft_err e;
	json_t *arr;
	expect_err(objects_list(root, "data", NULL, &arr, &e), WEFT_ENOTFOUND, &e, "no bucket 'data'");
	assert_null(arr);
	assert_false(objects_bucket_exists(root, "data"));
	put(root, "data", "z.txt", "zed");
	put(root, "data", "dir/sub/y.bin", "hello world");
	put(root, "data", "a.txt", "first");
	put(root, "data", "a.txt", "second!"); /* overwrite */
	assert_true(objects_bucket_exists(root, "data"));

	/* an open put is invisible; an aborted one leaves nothing */
	struct objects_put *p;
	assert_int_equal(objects_put_begin(root, "data", "dir/pending", &p, &e), 0);
	assert_int_equal(objects_put_write(p, "xx", 2, &e), 0);
	char *bdir = objects_bucket_path(root, "data");
	assert_int_equal(count_tmp(bdir), 1);

	assert_int_equal(objects_list(root, "data", NULL, &arr, &e), 0);
	assert_int_equal(json_array_size(arr), 3);
	const char *keys[] = { "a.txt", "dir/sub/y.bin", "z.txt" };
	long long sizes[] = { 7, 11, 3 };
	for (size_t i = 0; i < 3; i++) {
		json_t *o = json_array_get(arr, i);
		assert_string_equal(json_string_value(json_object_get(o, "key")), keys[i]);
		assert_int_equal(json_integer_value(json_object_get(o, "size")), sizes[i]);
		assert_true(json_integer_value(json_object_get(o, "modified")) > 1600000000000LL);
	}
	json_decref(arr);
	objects_put_abort(p);
	assert_int_equal(count_tmp(bdir), 0);

	char *path = fs_join(bdir, "a.txt");
	assert_file(path, "second!");
	free(path);

	assert_int_equal(objects_list(root, "data", "dir/", &arr, &e), 0);
	assert_int_equal(json_array_size(arr), 1);
	json_decref(arr);
	assert_int_equal(objects_list(root, "data", "dir/s", &arr, &e), 0);
	assert_int_equal(json_array_size(arr), 1);
	json_decref(arr);
	assert_int_equal(objects_list(root, "data", "a", &arr, &e), 0);
	assert_int_equal(json_array_size(arr), 1);
	json_decref(arr);
	assert_int_equal(objects_list(root, "data", "nothing", &arr, &e), 0);
	assert_int_equal(json_array_size(arr), 0);
	json_decref(arr);

	/* an empty bucket lists as [] */
	assert_int_equal(objects_bucket_create(root, "empty", &e), 0);
	assert_int_equal(objects_bucket_create(root, "empty", &e), 0); /* idempotent */
	assert_int_equal(objects_list(root, "empty", NULL, &arr, &e), 0);
	assert_int_equal(json_array_size(arr), 0);
	json_decref(arr);

	/* keys that clash with files/folders */
	expect_err(objects_put_begin(root, "data", "z.txt/inner", &p, &e), WEFT_ECONFLICT, &e, "'z.txt' is a file");
	assert_int_equal(objects_put_begin(root, "data", "dir", &p, &e), 0);
	assert_int_equal(objects_put_write(p, "x", 1, &e), 0);
	expect_err(objects_put_commit(p, &e), WEFT_ECONFLICT, &e, "a folder of that name exists");
	assert_int_equal(count_tmp(bdir), 0);

	/* bad names never reach the file system */
	expect_err(objects_put_begin(root, "data", "../x", &p, &e), WEFT_EINVAL, &e, "'..'");
	expect_err(objects_put_begin(root, "../data", "x", &p, &e), WEFT_EINVAL, &e, "'../data'");
	expect_err(objects_list(root, "bad/name", NULL, &arr, &e), WEFT_EINVAL, &e, "'bad/name'");
	path = fs_join(root, "file");
	write_file(path, "not a bucket", 0644);
	free(path);
	expect_err(objects_list(root, "file", NULL, &arr, &e), WEFT_ENOTFOUND, &e, "no bucket 'file'");
	expect_err(objects_bucket_create(root, "file", &e), WEFT_ECONFLICT, &e, "a file of that name exists");

	free(bdir);
	free(root);
	rmtree(home);
}

static void test_escapes(void **state)
{
	(void)state;
	char *home = tmpdir();
	char *root = fs_join(home, "objects");
	char *outside = fs_join(home, "outside");
	struct weft_err e;
	struct objects_put *p;
	json_t *arr;
	assert_int_equal(fs_mkdir_p(outside, 0755, &e), 0);
	char *secret = fs_join(outside, "secret");
	write_file(secret, "do not touch", 0644);
	put(root, "b", "ok", "fine");
	char *bdir = objects_bucket_path(root, "b");

	/* a directory link planted in the bucket */
	char *link = fs_join(bdir, "link");
	assert_int_equal(symlink(outside, link), 0);
	expect_err(objects_put_begin(root, "b", "link/evil", &p, &e), WEFT_ECONFLICT, &e, "symbolic link");
	expect_err(objects_put_begin(root, "b", "link/deeper/evil", &p, &e), WEFT_ECONFLICT, &e, "symbolic link");
	char *evil = fs_join(outside, "evil");
	assert_false(fs_exists(evil));
	free(evil);
	evil = fs_join(outside, "deeper");
	assert_false(fs_exists(evil));
	free(evil);

	/* a file link at the key itself is replaced, not written through */
	char *leaf = fs_join(bdir, "leaf");
	assert_int_equal(symlink(secret, leaf), 0);
	put(root, "b", "leaf", "replaced");
	struct stat st;
	assert_int_equal(lstat(leaf, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_file(secret, "do not touch");

	/* listings do not follow links out of the bucket */
	assert_int_equal(objects_list(root, "b", NULL, &arr, &e), 0);
	assert_int_equal(json_array_size(arr), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(arr, 0), "key")), "leaf");
	assert_string_equal(json_string_value(json_object_get(json_array_get(arr, 1), "key")), "ok");
	json_decref(arr);

	/* a bucket that is itself a link */
	char *lb = fs_join(root, "lb");
	assert_int_equal(symlink(outside, lb), 0);
	assert_false(objects_bucket_exists(root, "lb"));
	expect_err(objects_list(root, "lb", NULL, &arr, &e), WEFT_EPERM, &e, "symbolic link");
	expect_err(objects_put_begin(root, "lb", "x", &p, &e), WEFT_EPERM, &e, "symbolic link");
	expect_err(objects_bucket_create(root, "lb", &e), WEFT_EPERM, &e, "symbolic link");
	evil = fs_join(outside, "x");
	assert_false(fs_exists(evil));
	free(evil);

	free(lb);
	free(leaf);
	free(link);
	free(bdir);
	free(secret);
	free(outside);
	free(root);
	rmtree(home);
}

/* A tree with an executable script, a subdirectory, an empty directory and
 * a link (which zips leave out). */
static void make_tree(const char *t)
{
	struct weft_err e;
	char *p;
	assert_int_equal(fs_mkdir_p(t, 0755, &e), 0);
	p = fs_join(t, "run.sh");
	write_file(p, "#!/bin/sh\necho trained\n", 0755);
	free(p);
	p = fs_join(t, "data/deep");
	assert_int_equal(fs_mkdir_p(p, 0755, &e), 0);
	free(p);
	p = fs_join(t, "data/config.json");
	write_file(p, "{\"lr\": 0.1}\n", 0640);
	free(p);
	p = fs_join(t, "data/deep/x.txt");
	write_file(p, "deep text\n", 0644);
	free(p);
	p = fs_join(t, "empty");
	assert_int_equal(mkdir(p, 0755), 0);
	free(p);
	p = fs_join(t, "link");
	assert_int_equal(symlink("/etc/passwd", p), 0);
	free(p);
}

static void check_tree(const char *t)
{
	char *p;
	struct stat st;
	p = fs_join(t, "run.sh");
	assert_file(p, "#!/bin/sh\necho trained\n");
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0755);
	free(p);
	p = fs_join(t, "data/config.json");
	assert_file(p, "{\"lr\": 0.1}\n");
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0640);
	free(p);
	p = fs_join(t, "data/deep/x.txt");
	assert_file(p, "deep text\n");
	free(p);
	p = fs_join(t, "empty");
	assert_true(fs_is_dir(p));
	free(p);
	p = fs_join(t, "link");
	assert_false(fs_exists(p));
	free(p);
}

static void test_zip_round_trip(void **state)
{
	(void)state;
	char *home = tmpdir();
	char *tree = fs_join(home, "tree"), *z = fs_join(home, "m.zip"), *z2 = fs_join(home, "m2.zip");
	char *out = fs_join(home, "out/here");
	struct weft_err e;
	make_tree(tree);
	assert_int_equal(zip_create_from_dir(tree, NULL, z, &e), 0);
	assert_int_equal(zip_validate(z, &e), 0);
	if (zip_extract(z, out, &e))
		fail_msg("extract: %s", e.msg);
	check_tree(out);
	char *run = xasprintf("'%s/run.sh'", out);
	FILE *f = popen(run, "r");
	char line[64] = "";
	assert_non_null(fgets(line, sizeof line, f));
	assert_string_equal(line, "trained\n");
	assert_int_equal(pclose(f), 0);
	free(run);

	/* entries are sorted and the output repeatable */
	int code;
	zip_t *za = zip_open(z, ZIP_RDONLY, &code);
	assert_non_null(za);
	const char *want[] = { "data/", "data/config.json", "data/deep/", "data/deep/x.txt", "empty/", "run.sh" };
	assert_int_equal(zip_get_num_entries(za, 0), 6);
	for (int i = 0; i < 6; i++)
		assert_string_equal(zip_get_name(za, (zip_uint64_t)i, 0), want[i]);
	zip_discard(za);
	assert_int_equal(zip_create_from_dir(tree, NULL, z2, &e), 0);
	char *cmp = xasprintf("cmp -s '%s' '%s'", z, z2);
	assert_int_equal(system(cmp), 0);
	free(cmp);

	/* with a prefix; and the `unzip` command reads what we wrote */
	assert_int_equal(zip_create_from_dir(tree, "model/", z2, &e), 0);
	za = zip_open(z2, ZIP_RDONLY, &code);
	assert_string_equal(zip_get_name(za, 0, 0), "model/");
	assert_string_equal(zip_get_name(za, 6, 0), "model/run.sh");
	zip_discard(za);
	char *out2 = fs_join(home, "unzipped");
	char *cmd = xasprintf("unzip -qq '%s' -d '%s'", z2, out2);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	char *m = fs_join(out2, "model");
	check_tree(m);
	free(m);
	free(out2);
	expect_err(zip_create_from_dir(tree, "../up", z2, &e), WEFT_EINVAL, &e, "'..'");

	/* an empty tree gives an empty (valid, but not acceptable as a model) zip */
	char *empty = fs_join(tree, "empty");
	assert_int_equal(zip_create_from_dir(empty, NULL, z2, &e), 0);
	expect_err(zip_validate(z2, &e), WEFT_EINVAL, &e, "no entries");
	free(empty);
	expect_err(zip_create_from_dir("/nonexistent-weft", NULL, z2, &e), WEFT_ENOTFOUND, &e, "no such directory");

	free(out);
	free(z2);
	free(z);
	free(tree);
	rmtree(home);
}

/* Builds a zip holding one entry per name (content "x"), through libzip so
 * hostile names are stored as given. mode != 0 sets Unix attributes. */
static void make_zip(const char *path, const char **names, int n, mode_t mode)
{
	int code;
	zip_t *za = zip_open(path, ZIP_CREATE | ZIP_TRUNCATE, &code);
	assert_non_null(za);
	for (int i = 0; i < n; i++) {
		zip_source_t *src = zip_source_buffer(za, "x", 1, 0);
		zip_int64_t idx = zip_file_add(za, names[i], src, 0);
		assert_true(idx >= 0);
		if (mode)
			assert_int_equal(zip_file_set_external_attributes(za, (zip_uint64_t)idx, 0, ZIP_OPSYS_UNIX,
									  (zip_uint32_t)mode << 16),
					 0);
	}
	assert_int_equal(zip_close(za), 0);
}

static void check_bad_zip(const char *path, int code, const char *needle, const char *home)
{
	struct weft_err e;
	expect_err(zip_validate(path, &e), code, &e, needle);
	struct sbuf sb = SBUF_INIT;
	assert_int_equal(fs_read_file(path, &sb, &e), 0);
	expect_err(zip_validate_buf(sb.buf, sb.len, &e), code, &e, needle);
	sb_release(&sb);
	char *out = fs_join(home, "ex/in/side");
	/* zip_extract names the zip by its path, the others by the API field */
	if (!strncmp(needle, "model_definition", 16))
		needle += 16;
	expect_err(zip_extract(path, out, &e), code, &e, needle);
	free(out);
	out = fs_join(home, "ex");
	assert_int_equal(fs_rm_rf(out, &e), 0);
	free(out);
}

static void test_bad_zips(void **state)
{
	(void)state;
	char *home = tmpdir();
	char *z = fs_join(home, "bad.zip");
	struct weft_err e;

	write_file(z, "this is plain text, not a zip archive\n", 0644);
	check_bad_zip(z, WEFT_EINVAL, "model_definition is not a zip file: Not a zip archive", home);
	write_file(z, "", 0644);
	check_bad_zip(z, WEFT_EINVAL, "model_definition", home);
	expect_err(zip_validate_buf(NULL, 0, &e), WEFT_EINVAL, &e, "model_definition");
	static const unsigned char eocd[22] = { 'P', 'K', 5, 6 };
	expect_err(zip_validate_buf(eocd, sizeof eocd, &e), WEFT_EINVAL, &e, "no entries");
	expect_err(zip_validate_as("/nonexistent-weft.zip", "model", &e), WEFT_EIO, &e, "nonexistent-weft.zip");

	const char *evil[] = { "ok.txt", "../evil" };
	make_zip(z, evil, 2, 0);
	check_bad_zip(z, WEFT_EINVAL, "model_definition: entry '../evil' escapes the model directory", home);
	char *escaped = fs_join(home, "ex/in/evil"); /* where "../evil" would land */
	assert_false(fs_exists(escaped));
	free(escaped);
	const char *deep[] = { "a/b/../../../evil" };
	make_zip(z, deep, 1, 0);
	check_bad_zip(z, WEFT_EINVAL, "escapes the model directory", home);
	const char *abs[] = { "/tmp/weft-evil" };
	make_zip(z, abs, 1, 0);
	check_bad_zip(z, WEFT_EINVAL, "entry '/tmp/weft-evil' is an absolute path", home);
	assert_false(fs_exists("/tmp/weft-evil"));
	const char *bs[] = { "..\\evil" };
	make_zip(z, bs, 1, 0);
	check_bad_zip(z, WEFT_EINVAL, "contains a backslash", home);
	char longname[300];
	memset(longname, 'n', 256), longname[256] = 0;
	const char *lng[] = { longname };
	make_zip(z, lng, 1, 0);
	check_bad_zip(z, WEFT_EINVAL, "longer than 255 bytes", home);
	const char *lnk[] = { "link" };
	make_zip(z, lnk, 1, S_IFLNK | 0777);
	check_bad_zip(z, WEFT_EINVAL, "entry 'link' is a symbolic link", home);
	const char *clash[] = { "a", "a/b" };
	make_zip(z, clash, 2, 0);
	char *out = fs_join(home, "clash");
	expect_err(zip_extract(z, out, &e), WEFT_EINVAL, &e, "'a' is a file");
	free(out);

	/* truncated: a real zip cut in half, and cut before its last bytes */
	char *tree = fs_join(home, "tree");
	make_tree(tree);
	assert_int_equal(zip_create_from_dir(tree, NULL, z, &e), 0);
	struct sbuf sb = SBUF_INIT;
	assert_int_equal(fs_read_file(z, &sb, &e), 0);
	char *cut = fs_join(home, "cut.zip");
	assert_int_equal(fs_write_file_atomic(cut, sb.buf, sb.len / 2, 0644, &e), 0);
	check_bad_zip(cut, WEFT_EINVAL, "model_definition is not a zip file", home);
	assert_int_equal(fs_write_file_atomic(cut, sb.buf, sb.len - 5, 0644, &e), 0);
	check_bad_zip(cut, WEFT_EINVAL, "model_definition is not a zip file", home);

	/* damaged data: flip a byte inside run.sh's (stored or deflated) data */
	const char *one[] = { "f.txt" };
	make_zip(z, one, 1, 0);
	sb_reset(&sb);
	assert_int_equal(fs_read_file(z, &sb, &e), 0);
	/* local header (30 bytes) + name (5) + extra; libzip writes no extra here */
	assert_int_equal(sb.buf[35], 'x');
	sb.buf[35] = 'y';
	assert_int_equal(fs_write_file_atomic(cut, sb.buf, sb.len, 0644, &e), 0);
	assert_int_equal(zip_validate(cut, &e), 0); /* the directory is fine; the data is not */
	out = fs_join(home, "crc");
	expect_err(zip_extract(cut, out, &e), WEFT_EINVAL, &e, "CRC");
	free(out);

	/* lying sizes in the central directory: a bomb over 4 GiB in total, and
	 * an entry that holds more data than it declares */
	const char *two[] = { "a.txt", "b.txt" };
	make_zip(z, two, 2, 0);
	sb_reset(&sb);
	assert_int_equal(fs_read_file(z, &sb, &e), 0);
	int patched = 0;
	for (size_t i = 0; i + 28 <= sb.len; i++) {
		if (memcmp(sb.buf + i, "PK\1\2", 4))
			continue;
		memcpy(sb.buf + i + 24, "\0\0\0\xf0", 4); /* uncompressed size 0xf0000000 */
		patched++;
	}
	assert_int_equal(patched, 2);
	assert_int_equal(fs_write_file_atomic(cut, sb.buf, sb.len, 0644, &e), 0);
	check_bad_zip(cut, WEFT_ETOOBIG, "more than 4 GiB", home);
	for (size_t i = 0; i + 28 <= sb.len; i++)
		if (!memcmp(sb.buf + i, "PK\1\2", 4))
			memset(sb.buf + i + 24, 0, 4); /* uncompressed size 0, but 1 byte stored */
	assert_int_equal(fs_write_file_atomic(cut, sb.buf, sb.len, 0644, &e), 0);
	assert_int_equal(zip_validate(cut, &e), 0);
	out = fs_join(home, "liar");
	assert_int_equal(zip_extract(cut, out, &e), WEFT_EINVAL);
	assert_non_null(strstr(e.msg, "a.txt"));
	free(out);

	sb_release(&sb);
	free(cut);
	free(tree);
	free(z);
	rmtree(home);
}

static void test_zip_command(void **state)
{
	(void)state;
	if (system("command -v zip >/dev/null 2>&1") != 0)
		skip();
	char *home = tmpdir();
	char *tree = fs_join(home, "tree");
	struct weft_err e;
	make_tree(tree);

	/* `zip -r` from inside the tree; it follows the link, storing /etc/passwd's
	 * text, so drop the link first to compare with check_tree */
	char *link = fs_join(tree, "link");
	unlink(link);
	char *cmd = xasprintf("cd '%s' && zip -qr ../cmd.zip .", tree);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	char *z = fs_join(home, "cmd.zip");
	assert_int_equal(zip_validate(z, &e), 0);
	char *out = fs_join(home, "out");
	if (zip_extract(z, out, &e))
		fail_msg("extract: %s", e.msg);
	check_tree(out);
	free(out);

	/* `zip -r` of the directory itself: everything under "tree/" */
	cmd = xasprintf("cd '%s' && zip -qr top.zip tree", home);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	free(z);
	z = fs_join(home, "top.zip");
	out = fs_join(home, "out2");
	assert_int_equal(zip_extract(z, out, &e), 0);
	char *sub = fs_join(out, "tree");
	check_tree(sub);
	free(sub);
	free(out);

	/* streamed from a pipe: data descriptors, no sizes in the local header */
	cmd = xasprintf("cd '%s' && printf 'piped data' | zip -q pipe.zip -", home);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	free(z);
	z = fs_join(home, "pipe.zip");
	out = fs_join(home, "out3");
	assert_int_equal(zip_extract(z, out, &e), 0);
	char *f = fs_join(out, "-");
	assert_file(f, "piped data");
	free(f);
	free(out);

	/* `zip -y` stores the link as a link: refused */
	assert_int_equal(symlink("/etc/passwd", link), 0);
	cmd = xasprintf("cd '%s' && zip -qry ../links.zip .", tree);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	free(z);
	z = fs_join(home, "links.zip");
	expect_err(zip_validate(z, &e), WEFT_EINVAL, &e, "entry 'link' is a symbolic link");

	free(link);
	free(z);
	free(tree);
	rmtree(home);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bucket_names), cmocka_unit_test(test_key_names),
		cmocka_unit_test(test_put_list),     cmocka_unit_test(test_escapes),
		cmocka_unit_test(test_zip_round_trip), cmocka_unit_test(test_bad_zips),
		cmocka_unit_test(test_zip_command),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

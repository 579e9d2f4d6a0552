/*
 * The audit pack: the manifest in sha256sum's format, the archive's
 * contents read back with libarchive and checked against the manifest,
 * mode 0600, and an existing file kept unless forced.
 */
#include <archive.h>
#include <archive_entry.h>
#include <sys/stat.h>

#include "../../store/pack.h"
#include "testutil.h"

static void
test_manifest(void **state)
{
	char a[] = "registers/a.csv", e[] = "empty.txt";
	struct pack_file f[2] = {{.name = a}, {.name = e}};
	struct buf out = {0};

	(void)state;
	buf_puts(&f[0].data, "abc");
	pack_manifest(f, 2, &out);
	assert_string_equal(
	    buf_str(&out),
	    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
	    "  registers/a.csv\n"
	    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	    "  empty.txt\n");
	buf_free(&f[0].data);
	buf_free(&out);
}

/* Every regular file of the pack at path into files (names below the
 * pack's folder); returns how many. */
static size_t
read_pack(const char *path, struct pack_file *files, size_t max)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	size_t n = 0;
	char chunk[4096];
	la_ssize_t got;

	archive_read_support_filter_gzip(a);
	archive_read_support_format_tar(a);
	assert_int_equal(archive_read_open_filename(a, path, 10240),
			 ARCHIVE_OK);
	while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
		const char *name = archive_entry_pathname(e);

		assert_memory_equal(name, PACK_DIR "/", strlen(PACK_DIR) + 1);
		if (archive_entry_filetype(e) != AE_IFREG)
			continue;
		assert_true(n < max);
		assert_int_equal(archive_entry_perm(e), 0600);
		files[n].name = xstrdup(name + strlen(PACK_DIR) + 1);
		memset(&files[n].data, 0, sizeof(files[n].data));
		while ((got = archive_read_data(a, chunk, sizeof(chunk))) > 0)
			buf_add(&files[n].data, chunk, (size_t)got);
		assert_true(got == 0);
		n++;
	}
	archive_read_free(a);
	return n;
}

static void
free_files(struct pack_file *files, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(files[i].name);
		buf_free(&files[i].data);
	}
}

static const struct pack_file *
find(const struct pack_file *files, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(files[i].name, name) == 0)
			return &files[i];
	fail_msg("%s is not in the pack", name);
	return NULL;
}

static void
test_pack_contents(void **state)
{
	struct tenv *t = tenv_new();
	struct pack_file files[128];
	struct buf manifest = {0};
	char path[192], err[256], hash[65], head[128];
	const struct pack_file *f;
	struct stat sb;
	int64_t seq;
	size_t n;
	int ok, packed;

	(void)state;
	as(t, "carol",
	   "risk add Stolen laptop likelihood=3 impact=4 owner=@bob", &ok);
	assert_true(ok);
	snprintf(path, sizeof(path), "%s/pack.tar.gz", t->dir);
	packed =
	    pack_write(t->st, path, "audit log intact\n", 0, err, sizeof(err));
	assert_true(packed > 10);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	n = read_pack(path, files, ARRAY_LEN(files));
	assert_int_equal(n, (size_t)packed);
	/* the manifest is the last file and lists every other one */
	assert_string_equal(files[n - 1].name, "MANIFEST.sha256");
	pack_manifest(files, n - 1, &manifest);
	assert_string_equal(buf_str(&files[n - 1].data), buf_str(&manifest));
	f = find(files, n, "verify.txt");
	assert_string_equal(buf_str(&f->data), "audit log intact\n");
	f = find(files, n, "registers/risks.csv");
	assert_non_null(strstr(buf_str(&f->data), "RSK-1,Stolen laptop,"));
	find(files, n, "registers/risks.json");
	find(files, n, "registers/findings.md");
	find(files, n, "audit-log.json");
	assert_int_equal(store_audit_head(t->st, &seq, hash), 1);
	snprintf(head, sizeof(head), "head %lld:%s\n", (long long)seq, hash);
	f = find(files, n, "HEAD.txt");
	assert_memory_equal(buf_str(&f->data), head, strlen(head));
	free_files(files, n);
	buf_free(&manifest);
	unlink(path);
	tenv_free(t);
}

static void
test_pack_refusals(void **state)
{
	struct tenv *t = tenv_new();
	char path[192], partial[208], err[256], got[16] = {0};
	FILE *fp;

	(void)state;
	snprintf(path, sizeof(path), "%s/pack.tar.gz", t->dir);
	snprintf(partial, sizeof(partial), "%s.partial", path);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs("keep me", fp);
	fclose(fp);
	assert_int_equal(pack_write(t->st, path, "", 0, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "exists (--force replaces it)"));
	fp = fopen(path, "r");
	assert_non_null(fp);
	assert_non_null(fgets(got, sizeof(got), fp));
	fclose(fp);
	assert_string_equal(got, "keep me");
	assert_int_equal(access(partial, F_OK), -1);
	/* forced: replaced by a whole pack, no partial file left */
	assert_true(pack_write(t->st, path, "", 1, err, sizeof(err)) > 0);
	assert_int_equal(access(partial, F_OK), -1);
	unlink(path);
	/* a folder that does not exist: an error, nothing made */
	snprintf(path, sizeof(path), "%s/none/pack.tar.gz", t->dir);
	assert_int_equal(pack_write(t->st, path, "", 0, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "none/pack.tar.gz.partial"));
	tenv_free(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_manifest),
	    cmocka_unit_test(test_pack_contents),
	    cmocka_unit_test(test_pack_refusals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

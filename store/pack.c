/*
 * The audit pack. The files are made in memory from the export table (a
 * pack of a few thousand records is a few megabytes), hashed for the
 * manifest, and written with libarchive as a ustar/pax archive through
 * gzip into FILE.partial, which is only renamed into place once it is
 * complete and on disk: a pack that exists is a whole pack.
 */
#include "pack.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "export.h"
#include "mapping.h"

static const char *const formats[] = {"csv", "json", "md"};

void
pack_manifest(const struct pack_file *files, size_t n, struct buf *out)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen;
	char hex[2 * EVP_MAX_MD_SIZE + 1];
	size_t i;

	for (i = 0; i < n; i++) {
		mdlen = 0;
		EVP_Digest(files[i].data.data ? files[i].data.data : "",
			   files[i].data.len, md, &mdlen, EVP_sha256(), NULL);
		hex_encode(md, mdlen, hex);
		/* two spaces: text mode, as sha256sum writes it */
		buf_printf(out, "%s  %s\n", hex, files[i].name);
	}
}

static struct pack_file *pack_add(struct pack_file **files, size_t *n,
				  const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static struct pack_file *
pack_add(struct pack_file **files, size_t *n, const char *fmt, ...)
{
	struct pack_file *f;
	struct buf name = {0};
	va_list ap;

	va_start(ap, fmt);
	buf_vprintf(&name, fmt, ap);
	va_end(ap);
	*files = xrealloc(*files, (*n + 1) * sizeof(**files));
	f = &(*files)[(*n)++];
	f->name = buf_steal(&name);
	memset(&f->data, 0, sizeof(f->data));
	return f;
}

static void
pack_free(struct pack_file *files, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(files[i].name);
		buf_free(&files[i].data);
	}
	free(files);
}

/*
 * One export (of a version when version > 0, of a framework's mapping
 * when framework is set) into f. 0 or -1 with err.
 */
static int
pack_export_of(struct store *st, struct pack_file *f, const char *name,
	       const char *format, int64_t version, const char *framework,
	       char *err, size_t errlen)
{
	char *text = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&text, &len);
	int rc;

	if (mem == NULL) {
		snprintf(err, errlen, "cannot buffer the %s export: %s", name,
			 strerror(errno));
		return -1;
	}
	rc = export_write_framework(st, name, format, version, framework, mem,
				    err, errlen);
	if (fclose(mem) != 0 && rc == 0) {
		snprintf(err, errlen, "cannot buffer the %s export", name);
		rc = -1;
	}
	if (rc == 0)
		buf_add(&f->data, text, len);
	free(text);
	return rc;
}

static int
pack_export(struct store *st, struct pack_file *f, const char *name,
	    const char *format, int64_t version, char *err, size_t errlen)
{
	return pack_export_of(st, f, name, format, version, NULL, err, errlen);
}

/* Every file but the manifest, read in the caller's transaction. */
static int
pack_collect(struct store *st, const char *verify, struct pack_file **files,
	     size_t *n, char *err, size_t errlen)
{
	struct db_stmt *s;
	struct pack_file *f;
	char hash[65], when[32];
	const char *name;
	int64_t seq = 0, now = store_now(st), *versions = NULL;
	size_t nversions = 0, i, k;
	time_t t = (time_t)now;
	struct tm tm;
	int rc;

	rc = store_audit_head(st, &seq, hash);
	if (rc < 0) {
		snprintf(err, errlen, "cannot read the audit log: %s",
			 db_errmsg(st));
		return -1;
	}
	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	f = pack_add(files, n, "HEAD.txt");
	if (rc == 0)
		buf_printf(&f->data, "head none\nmade %s\n", when);
	else
		buf_printf(&f->data,
			   "head %lld:%s\nseq %lld\nhash %s\nmade %s\n"
			   "\nThe audit log's newest row when this pack was "
			   "made. On the database,\n\n    ismsctl audit "
			   "verify --head %lld:%s\n\nshows that no row up to "
			   "it was removed or rewritten since.\n",
			   (long long)seq, hash, (long long)seq, hash, when,
			   (long long)seq, hash);
	f = pack_add(files, n, "verify.txt");
	buf_puts(&f->data, verify);
	f = pack_add(files, n, "audit-log.json");
	if (pack_export(st, f, "audit-log", "json", 0, err, errlen) < 0)
		return -1;
	/*
	 * The audit log is above; every other export is a register but the
	 * framework mappings, one file per framework below.
	 */
	for (i = 0; (name = export_name(i)) != NULL; i++) {
		if (strcmp(name, "audit-log") == 0 ||
		    strcmp(name, "mapping") == 0)
			continue;
		for (k = 0; k < ARRAY_LEN(formats); k++) {
			f = pack_add(files, n, "registers/%s.%s", name,
				     formats[k]);
			if (pack_export(st, f, name, formats[k], 0, err,
					errlen) < 0)
				return -1;
		}
	}
	for (i = 0; (name = mapping_framework((int)i)) != NULL; i++)
		for (k = 0; k < ARRAY_LEN(formats); k++) {
			f = pack_add(files, n, "mappings/%s.%s", name,
				     formats[k]);
			if (pack_export_of(st, f, "mapping", formats[k], 0,
					   name, err, errlen) < 0)
				return -1;
		}
	s = db_prepare(st, "SELECT id FROM soa_versions ORDER BY id", NULL);
	if (s == NULL)
		goto dberr;
	while ((rc = db_step(s)) == DB_ROW) {
		versions =
		    xrealloc(versions, (nversions + 1) * sizeof(*versions));
		versions[nversions++] = db_col_int(s, 0);
	}
	db_finish(st, s);
	if (rc != DB_DONE)
		goto dberr;
	for (i = 0; i < nversions; i++)
		for (k = 0; k < ARRAY_LEN(formats); k++) {
			f = pack_add(files, n, "soa/soa-v%lld.%s",
				     (long long)versions[i], formats[k]);
			if (pack_export(st, f, "soa", formats[k], versions[i],
					err, errlen) < 0) {
				free(versions);
				return -1;
			}
		}
	free(versions);
	return 0;
dberr:
	free(versions);
	snprintf(err, errlen, "database error: %s", db_errmsg(st));
	return -1;
}

static int
pack_entry(struct archive *a, const char *name, int dir, const void *data,
	   size_t len, int64_t mtime)
{
	struct archive_entry *e = archive_entry_new();
	char *path = xasprintf("%s/%s", PACK_DIR, name);
	int rc = 0;

	archive_entry_set_pathname(e, path);
	archive_entry_set_filetype(e, dir ? AE_IFDIR : AE_IFREG);
	archive_entry_set_perm(e, dir ? 0700 : 0600);
	archive_entry_set_size(e, dir ? 0 : (la_int64_t)len);
	archive_entry_set_mtime(e, (time_t)mtime, 0);
	if (archive_write_header(a, e) != ARCHIVE_OK ||
	    (!dir && len > 0 &&
	     archive_write_data(a, data, len) != (la_ssize_t)len))
		rc = -1;
	archive_entry_free(e);
	free(path);
	return rc;
}

/* The archive of files[0..n) and the manifest on fd. 0 or -1 with err. */
static int
pack_archive(int fd, const struct pack_file *files, size_t n,
	     const struct buf *manifest, int64_t mtime, char *err,
	     size_t errlen)
{
	static const char *const dirs[] = {"", "registers", "soa"};
	struct archive *a = archive_write_new();
	size_t i;
	int rc = -1;

	if (a == NULL) {
		snprintf(err, errlen, "libarchive: out of memory");
		return -1;
	}
	if (archive_write_add_filter_gzip(a) != ARCHIVE_OK ||
	    archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
	    archive_write_open_fd(a, fd) != ARCHIVE_OK)
		goto out;
	for (i = 0; i < ARRAY_LEN(dirs); i++)
		if (pack_entry(a, dirs[i], 1, NULL, 0, mtime) < 0)
			goto out;
	for (i = 0; i < n; i++)
		if (pack_entry(a, files[i].name, 0, files[i].data.data,
			       files[i].data.len, mtime) < 0)
			goto out;
	if (pack_entry(a, "MANIFEST.sha256", 0, manifest->data, manifest->len,
		       mtime) < 0 ||
	    archive_write_close(a) != ARCHIVE_OK)
		goto out;
	rc = 0;
out:
	if (rc < 0)
		snprintf(err, errlen, "cannot write the archive: %s",
			 archive_error_string(a) ? archive_error_string(a)
						 : "write error");
	archive_write_free(a);
	return rc;
}

int
pack_write(struct store *st, const char *path, const char *verify, int force,
	   char *err, size_t errlen)
{
	struct pack_file *files = NULL;
	struct buf manifest = {0};
	struct stat sb;
	char *partial = xasprintf("%s.partial", path);
	size_t n = 0;
	int fd = -1, rc = -1, began = 0, written = 0;

	if (!force && lstat(path, &sb) == 0) {
		snprintf(err, errlen, "%s exists (--force replaces it)", path);
		goto out;
	}
	if (store_begin(st) < 0) {
		snprintf(err, errlen, "cannot read the database: %s",
			 db_errmsg(st));
		goto out;
	}
	began = 1;
	if (pack_collect(st, verify, &files, &n, err, errlen) < 0)
		goto out;
	pack_manifest(files, n, &manifest);
	/* a partial file left by an interrupted run is ours to replace */
	if (unlink(partial) < 0 && errno != ENOENT) {
		snprintf(err, errlen, "%s: %s", partial, strerror(errno));
		goto out;
	}
	fd = open(partial, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
		  0600);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", partial, strerror(errno));
		goto out;
	}
	written = 1;
	/* the umask may only narrow 0600, but make sure of it */
	if (fchmod(fd, 0600) < 0 ||
	    pack_archive(fd, files, n, &manifest, store_now(st), err, errlen) <
		0)
		goto out;
	if (fsync(fd) < 0 || close(fd) < 0) {
		fd = -1;
		snprintf(err, errlen, "%s: %s", partial, strerror(errno));
		goto out;
	}
	fd = -1;
	if (force) {
		if (rename(partial, path) < 0) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			goto out;
		}
	} else if (link(partial, path) < 0) {
		/* never replaces a file made meanwhile */
		snprintf(err, errlen, "%s: %s", path,
			 errno == EEXIST ? "exists (--force replaces it)"
					 : strerror(errno));
		goto out;
	} else {
		unlink(partial);
	}
	written = 0;
	rc = (int)n + 1;
out:
	if (fd >= 0)
		close(fd);
	if (written)
		unlink(partial);
	if (began)
		store_rollback(st);
	pack_free(files, n);
	buf_free(&manifest);
	free(partial);
	return rc;
}

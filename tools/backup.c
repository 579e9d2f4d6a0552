/*
 * backup FILE copies the database (and the audit key kept beside it) to
 * FILE. backup --dir DIR [--keep N] names the copy DB-YYYYMMDDTHHMMSSZ.db
 * after the database file and the time (UTC; -2, -3, ... for more copies
 * within one second), then removes the oldest such copies beyond N with
 * their keys. Other files in DIR are never touched.
 */
#include "backup.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define STAMP_LEN 16 /* YYYYMMDDTHHMMSSZ */

struct copy {
	char *name;
	char stamp[STAMP_LEN + 1];
	long n; /* 1, or the -N suffix */
};

/* "isms" for /var/lib/ismsd/isms.db: the copies' prefix (caller frees). */
static char *
copy_prefix(const char *db)
{
	const char *slash = strrchr(db, '/'), *base = slash ? slash + 1 : db;
	size_t n = strlen(base);

	if (n > 3 && strcmp(base + n - 3, ".db") == 0)
		n -= 3;
	return xasprintf("%.*s-", (int)n, base);
}

/* Whether name is PREFIXSTAMP[-N].db; fills c (its name borrowed). */
static int
copy_parse(const char *name, const char *prefix, struct copy *c)
{
	size_t plen = strlen(prefix), i;
	const char *p;

	if (strncmp(name, prefix, plen) != 0)
		return 0;
	p = name + plen;
	for (i = 0; i < STAMP_LEN; i++) {
		int digit = p[i] >= '0' && p[i] <= '9';

		if (i == 8 ? p[i] != 'T' : i == 15 ? p[i] != 'Z' : !digit)
			return 0;
	}
	memcpy(c->stamp, p, STAMP_LEN);
	c->stamp[STAMP_LEN] = '\0';
	p += STAMP_LEN;
	c->n = 1;
	if (*p == '-') {
		char num[12];
		size_t len = strcspn(p + 1, ".");

		if (len == 0 || len >= sizeof(num))
			return 0;
		memcpy(num, p + 1, len);
		num[len] = '\0';
		if (parse_int(num, 2, 1000000, &c->n) < 0)
			return 0;
		p += 1 + len;
	}
	return strcmp(p, ".db") == 0;
}

static int
copy_cmp(const void *a, const void *b)
{
	const struct copy *x = a, *y = b;
	int c = strcmp(x->stamp, y->stamp);

	if (c != 0)
		return c;
	return x->n < y->n ? -1 : x->n > y->n;
}

/* Removes the oldest copies in dir beyond keep; -1 when dir is unreadable. */
static int
prune(const char *dir, const char *prefix, long keep)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	struct copy *v = NULL;
	size_t n = 0, cap = 0, i;
	int rc = 0;

	if (d == NULL) {
		fprintf(stderr, "ismsctl: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		struct copy c;

		if (!copy_parse(de->d_name, prefix, &c))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 32;
			v = xrealloc(v, cap * sizeof(*v));
		}
		c.name = xstrdup(de->d_name);
		v[n++] = c;
	}
	closedir(d);
	if (n > 0)
		qsort(v, n, sizeof(*v), copy_cmp);
	for (i = 0; i < n; i++) {
		if (i + (size_t)keep < n) {
			char *path = xasprintf("%s/%s", dir, v[i].name);
			char *key = xasprintf("%s.audit-key", path);

			if (unlink(path) < 0 && errno != ENOENT) {
				fprintf(stderr, "ismsctl: %s: %s\n", path,
					strerror(errno));
				rc = -1;
			} else {
				if (unlink(key) < 0 && errno != ENOENT) {
					fprintf(stderr, "ismsctl: %s: %s\n",
						key, strerror(errno));
					rc = -1;
				}
				printf("removed %s\n", path);
			}
			free(key);
			free(path);
		}
		free(v[i].name);
	}
	free(v);
	return rc;
}

/*
 * The number the next copy stamped stamp takes: one past the highest
 * there, so it sorts after every copy of that second even when older
 * ones were pruned (1 when there is none).
 */
static long
copy_next(const char *dir, const char *prefix, const char *stamp)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	struct copy c;
	long next = 1;

	if (d == NULL)
		return 1;
	while ((de = readdir(d)) != NULL)
		if (copy_parse(de->d_name, prefix, &c) &&
		    strcmp(c.stamp, stamp) == 0 && c.n >= next)
			next = c.n + 1;
	closedir(d);
	return next;
}

static int
backup_dir(struct store *st, const char *dir, long keep)
{
	char stamp[STAMP_LEN + 1], err[512];
	char *prefix = copy_prefix(store_path(st)), *path = NULL;
	time_t now = (time_t)store_now(st);
	struct stat sb;
	struct tm tm;
	long i;
	int rc = 1;

	if (stat(dir, &sb) < 0 || !S_ISDIR(sb.st_mode)) {
		fprintf(stderr, "ismsctl: backup refused: %s: %s\n", dir,
			stat(dir, &sb) < 0 ? strerror(errno)
					   : "not a directory");
		free(prefix);
		return 2;
	}
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
	for (i = copy_next(dir, prefix, stamp); i <= 1000000; i++) {
		free(path);
		path = i == 1
			   ? xasprintf("%s/%s%s.db", dir, prefix, stamp)
			   : xasprintf("%s/%s%s-%ld.db", dir, prefix, stamp, i);
		if (lstat(path, &sb) < 0 && errno == ENOENT)
			break;
	}
	if (store_backup(st, path, err, sizeof(err)) < 0) {
		fprintf(stderr, "ismsctl: backup failed: %s\n", err);
		goto out;
	}
	printf("backup written to %s\n", path);
	rc = prune(dir, prefix, keep) < 0 ? 1 : 0;
out:
	free(path);
	free(prefix);
	return rc;
}

int
ctl_backup(struct store *st, int argc, char **argv)
{
	const char *file = NULL, *dir = NULL, *keep_s = NULL;
	long keep = BACKUP_KEEP_DEFAULT;
	char err[512];
	int i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
			dir = argv[++i];
		else if (strncmp(argv[i], "--dir=", 6) == 0)
			dir = argv[i] + 6;
		else if (strcmp(argv[i], "--keep") == 0 && i + 1 < argc)
			keep_s = argv[++i];
		else if (strncmp(argv[i], "--keep=", 7) == 0)
			keep_s = argv[i] + 7;
		else if (file == NULL && argv[i][0] != '-')
			file = argv[i];
		else
			goto usage;
	}
	if ((file == NULL) == (dir == NULL) || (keep_s != NULL && dir == NULL))
		goto usage;
	if (keep_s != NULL && parse_int(keep_s, 1, 100000, &keep) < 0) {
		fprintf(stderr,
			"ismsctl: --keep must be a number of copies from 1, "
			"got %s\n",
			keep_s);
		return 2;
	}
	if (store_audit_key_problem(st, err, sizeof(err)) < 0) {
		fprintf(stderr, "ismsctl: backup refused: %s\n", err);
		return 2;
	}
	if (dir != NULL)
		return backup_dir(st, dir, keep);
	if (store_backup(st, file, err, sizeof(err)) < 0) {
		fprintf(stderr, "ismsctl: backup failed: %s\n", err);
		return 1;
	}
	printf("backup written to %s\n", file);
	return 0;
usage:
	fprintf(stderr, "usage: ismsctl backup FILE | backup --dir DIR [--keep "
			"N]\n");
	return 2;
}

/*
 * Auditor exports: a named query written as CSV, JSON or Markdown.
 */
#ifndef ISMS_EXPORT_H
#define ISMS_EXPORT_H

#include <stdio.h>

#include "store.h"

/* Returns 0, or -1 with a message in err (unknown name or format). */
int export_write(struct store *st, const char *name, const char *format,
		 FILE *out, char *err, size_t errlen);

/*
 * Same as of an earlier version (version > 0) of an export that keeps
 * versions (soa); -1 with err when it keeps none or has no such version.
 */
int export_write_version(struct store *st, const char *name, const char *format,
			 int64_t version, FILE *out, char *err, size_t errlen);

/*
 * Same with the framework (nis2, gdpr) an export of a mapping needs
 * (mapping); -1 with err when it needs none, or one and none is given.
 */
int export_write_framework(struct store *st, const char *name,
			   const char *format, int64_t version,
			   const char *framework, FILE *out, char *err,
			   size_t errlen);

/*
 * Runs an export (version > 0: as of that version, for exports that keep
 * versions) and calls fn for each row with the column names and the
 * values (never NULL; borrowed for the call). fn returns 0 to go on, or
 * 1 to stop. Returns the rows seen, or -1 with err.
 */
typedef int (*export_row_fn)(void *arg, int ncol, const char *const *names,
			     const char *const *values);
int export_each(struct store *st, const char *name, int64_t version,
		export_row_fn fn, void *arg, char *err, size_t errlen);

/* "incidents, audit-log, ..." for usage lines; static storage. */
const char *export_names(void);

/* The i-th export's name, NULL past the last; static storage. */
const char *export_name(size_t i);

#endif

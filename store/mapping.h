/*
 * Frameworks beside ISO/IEC 27001 as data: which Annex A controls address
 * each point of NIS2 Article 21(2) and of GDPR Article 32, read from the
 * embedded config/mappings/<framework>.tsv at the time they are asked for
 * (reference data that changes only with the program, so nothing of it
 * is stored in the database).
 */
#ifndef ISMS_MAPPING_H
#define ISMS_MAPPING_H

#include <stddef.h>

/* One (article, control) pair of a framework; borrowed during the call. */
struct mapping_row {
	const char *framework; /* "nis2" */
	const char *label;     /* "NIS2", as the framework is written */
	const char *article;   /* "21(2)(b)" */
	const char *title;     /* "incident handling" */
	const char *control;   /* "5.24" */
	int line;	       /* in the file, from 1 (the header) */
};

/* The frameworks' names by index from 0 ("nis2", "gdpr"), then NULL. */
const char *mapping_framework(int i);

/* "nis2|gdpr" for usage lines and errors; static storage. */
const char *mapping_framework_names(void);

/*
 * Calls fn for every (article, control) pair of the framework named (any
 * case) in the file's order, until fn returns non-zero. Returns 0, or -1
 * with a message in err: unknown framework, a file that is not embedded or
 * a malformed line; or what fn returned when it was not 0.
 */
int mapping_each(const char *framework,
		 int (*fn)(void *arg, const struct mapping_row *r), void *arg,
		 char *err, size_t errlen);

#endif

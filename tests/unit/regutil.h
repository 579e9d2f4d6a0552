/*
 * Helpers for the register's unit tests: run a command expecting success
 * or a refusal, compare a query's text, and fingerprint the register.
 */
#ifndef ISMS_REGUTIL_H
#define ISMS_REGUTIL_H

#include "testutil.h"

#define T0 1795000000 /* 2026-11-18, the start of every test */

__attribute__((unused)) static void
ok_as(struct tenv *t, const char *who, const char *text)
{
	int ok;
	const char *r = as(t, who, text, &ok);

	if (!ok)
		fail_msg("%s: %s -> %s", who, text, r);
}

__attribute__((unused)) static void
refused_as(struct tenv *t, const char *who, const char *text,
	   const char *expect)
{
	int ok;
	const char *r = as(t, who, text, &ok);

	if (ok)
		fail_msg("%s: %s was accepted: %s", who, text, r);
	if (expect && strstr(r, expect) == NULL)
		fail_msg("%s: %s -> \"%s\", expected \"%s\"", who, text, r,
			 expect);
}

__attribute__((unused)) static char *
text_of(struct tenv *t, const char *sql)
{
	char *v = db_text(t->st, sql, NULL);

	assert_non_null(v);
	return v;
}

__attribute__((unused)) static void
assert_sql(struct tenv *t, const char *sql, const char *expect)
{
	char *v = text_of(t, sql);

	if (strcmp(v, expect) != 0)
		fail_msg("%s -> \"%s\", expected \"%s\"", sql, v, expect);
	free(v);
}

/* A fresh environment with the clock at T0. */
__attribute__((unused)) static struct tenv *
setup(void)
{
	test_clock = T0;
	return tenv_new();
}

/* Every table a register command may touch, for "nothing changed". */
__attribute__((unused)) static int64_t
everything(struct tenv *t)
{
	return changes_fingerprint(t) * 7 +
	       count(t, "SELECT (SELECT COUNT(*) FROM risks) + (SELECT "
			"COUNT(*) FROM risk_history) + (SELECT COUNT(*) FROM "
			"assets) + (SELECT COUNT(*) FROM approvals) + (SELECT "
			"COUNT(*) FROM actions) + (SELECT COUNT(*) FROM "
			"risk_controls) + (SELECT COUNT(*) FROM controls WHERE "
			"updated_at IS NOT NULL) + (SELECT COUNT(*) FROM docs) "
			"+ (SELECT COUNT(*) FROM doc_acks) + (SELECT COUNT(*) "
			"FROM audits) + (SELECT COUNT(*) FROM findings) + "
			"(SELECT COUNT(*) FROM reviews) + (SELECT COUNT(*) "
			"FROM scope_versions) + (SELECT COUNT(*) FROM "
			"objectives)");
}

#endif

/*
 * Helpers for the unit tests of context issues, interested parties and
 * obligations: a fingerprint of their tables and a scheduler pass.
 */
#ifndef ISMS_CTXUTIL_H
#define ISMS_CTXUTIL_H

#include "regutil.h"

#include "../../commands/sched.h"

/* Every table these commands touch, with the values they change. */
__attribute__((unused)) static int64_t
ctx_everything(struct tenv *t)
{
	return everything(t) * 11 +
	       count(
		   t,
		   "SELECT (SELECT COUNT(*) FROM context_issues) + (SELECT "
		   "COUNT(*) FROM context_issues WHERE status = 'retired') + "
		   "(SELECT COUNT(*) FROM context_risks) + (SELECT COUNT(*) "
		   "FROM parties) + (SELECT COALESCE(SUM(length(needs)), 0) "
		   "FROM parties) + (SELECT COALESCE(SUM(updated_at), 0) % "
		   "1000 FROM parties) + (SELECT COUNT(*) FROM "
		   "party_obligations) + (SELECT COUNT(*) FROM "
		   "party_needs_history) + (SELECT COUNT(*) FROM obligations) "
		   "+ (SELECT COUNT(*) FROM obligation_controls) + (SELECT "
		   "COUNT(*) FROM obligation_reviews) + (SELECT "
		   "COALESCE(SUM(next_review_at), 0) % 100000 FROM "
		   "obligations)");
}

/* The newest audit row as "action object". */
__attribute__((unused)) static void
assert_last_audit(struct tenv *t, const char *expect)
{
	assert_sql(t,
		   "SELECT action || ' ' || object FROM audit_log ORDER BY "
		   "seq DESC LIMIT 1",
		   expect);
}

/* One scheduler pass days after T0 (a Wednesday, 11:06 UTC). */
__attribute__((unused)) static int
ctx_pass(struct tenv *t, int days)
{
	int n;

	test_clock = T0 + (int64_t)days * 86400;
	n = sched_run(t->st, &t->cfg, test_clock);
	assert_true(n >= 0);
	return n;
}

#endif

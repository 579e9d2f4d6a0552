/* Unit tests of reply tokens: round trip, case, tampering, expiry, kinds. */
#include "testutil.h"

#include <ctype.h>

#include "../../adapters/mailtoken.h"

static const char secret[] =
    "6b1f0c9e2d7a4c3b8e5f1a0d9c8b7a6f5e4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b";

static void
make(const struct mailtoken *t, char out[MAILTOKEN_LEN + 1])
{
	assert_int_equal(mailtoken_make(secret, t, out), 0);
	assert_int_equal(strlen(out), MAILTOKEN_LEN);
}

static void
test_round_trip(void **state)
{
	struct mailtoken t = {"approval", 42, 7, 1800000000}, u;
	char tok[MAILTOKEN_LEN + 1];
	const char *p;

	(void)state;
	make(&t, tok);
	for (p = tok; *p; p++)
		assert_true(islower((unsigned char)*p) ||
			    (*p >= '2' && *p <= '7'));
	assert_int_equal(mailtoken_check(secret, tok, 1700000000, &u),
			 MAILTOKEN_OK);
	assert_string_equal(u.kind, "approval");
	assert_int_equal(u.object_id, 42);
	assert_int_equal(u.person_id, 7);
	assert_int_equal(u.expires, 1800000000);
}

static void
test_case_insensitive(void **state)
{
	struct mailtoken t = {"approval", 3, 9, 1800000000}, u;
	char tok[MAILTOKEN_LEN + 1];
	char *p;

	(void)state;
	make(&t, tok);
	for (p = tok; *p; p++)
		*p = (char)toupper((unsigned char)*p);
	assert_int_equal(mailtoken_check(secret, tok, 1700000000, &u),
			 MAILTOKEN_OK);
	assert_int_equal(u.object_id, 3);
}

static void
test_tampered(void **state)
{
	struct mailtoken t = {"approval", 5, 2, 1800000000}, u;
	char tok[MAILTOKEN_LEN + 1], bad[MAILTOKEN_LEN + 1];
	size_t i;

	(void)state;
	make(&t, tok);
	/* every single-character change is caught */
	for (i = 0; i < MAILTOKEN_LEN; i++) {
		memcpy(bad, tok, sizeof(bad));
		bad[i] = bad[i] == 'a' ? 'b' : 'a';
		assert_int_not_equal(
		    mailtoken_check(secret, bad, 1700000000, &u), MAILTOKEN_OK);
	}
	/* another database's secret */
	assert_int_equal(mailtoken_check("other-secret", tok, 1700000000, &u),
			 MAILTOKEN_FORGED);
	/* shapes that are no token at all */
	assert_int_equal(mailtoken_check(secret, "", 0, &u),
			 MAILTOKEN_MALFORMED);
	assert_int_equal(mailtoken_check(secret, "abc", 0, &u),
			 MAILTOKEN_MALFORMED);
	memcpy(bad, tok, sizeof(bad));
	bad[3] = '1'; /* not in the alphabet */
	assert_int_equal(mailtoken_check(secret, bad, 0, &u),
			 MAILTOKEN_MALFORMED);
	assert_int_equal(mailtoken_check(secret, NULL, 0, &u),
			 MAILTOKEN_MALFORMED);
}

/* The person is inside the MAC: a token cannot be moved to another. */
static void
test_wrong_approver(void **state)
{
	struct mailtoken a = {"approval", 5, 2, 1800000000};
	struct mailtoken b = {"approval", 5, 3, 1800000000}, u;
	char ta[MAILTOKEN_LEN + 1], tb[MAILTOKEN_LEN + 1];
	char mixed[MAILTOKEN_LEN + 1];

	(void)state;
	make(&a, ta);
	make(&b, tb);
	assert_string_not_equal(ta, tb);
	assert_int_equal(mailtoken_check(secret, tb, 0, &u), MAILTOKEN_OK);
	assert_int_equal(u.person_id, 3);
	/* b's person bytes with a's MAC */
	memcpy(mixed, tb, 22);
	memcpy(mixed + 22, ta + 22, MAILTOKEN_LEN - 22 + 1);
	assert_int_equal(mailtoken_check(secret, mixed, 0, &u),
			 MAILTOKEN_FORGED);
}

static void
test_expiry(void **state)
{
	struct mailtoken t = {"approval", 1, 1, 1800000000}, u;
	char tok[MAILTOKEN_LEN + 1];

	(void)state;
	make(&t, tok);
	assert_int_equal(mailtoken_check(secret, tok, 1800000000, &u),
			 MAILTOKEN_OK);
	assert_int_equal(mailtoken_check(secret, tok, 1800000001, &u),
			 MAILTOKEN_EXPIRED);
	assert_int_equal(u.object_id, 1); /* still says what it was for */
	assert_string_equal(mailtoken_status_str(MAILTOKEN_EXPIRED),
			    "expired reply token");
}

static void
test_make_limits(void **state)
{
	struct mailtoken t = {"approval", 1, 1, 1};
	char tok[MAILTOKEN_LEN + 1];

	(void)state;
	t.kind = "nonsense";
	assert_int_equal(mailtoken_make(secret, &t, tok), -1);
	t.kind = "approval";
	t.object_id = 0;
	assert_int_equal(mailtoken_make(secret, &t, tok), -1);
	t.object_id = (int64_t)UINT32_MAX + 1;
	assert_int_equal(mailtoken_make(secret, &t, tok), -1);
	t.object_id = 1;
	t.person_id = -1;
	assert_int_equal(mailtoken_make(secret, &t, tok), -1);
	t.person_id = 1;
	assert_int_equal(mailtoken_make("", &t, tok), -1);
}

/* Quiz tokens: same format; the kind is inside the MAC. */
static void
test_quiz_kind(void **state)
{
	struct mailtoken q = {"quiz", 1 << 5 | 3, 7, 1800000000};
	struct mailtoken a = {"approval", 1 << 5 | 3, 7, 1800000000}, u;
	char tq[MAILTOKEN_LEN + 1], ta[MAILTOKEN_LEN + 1];
	char mixed[MAILTOKEN_LEN + 1];

	(void)state;
	make(&q, tq);
	make(&a, ta);
	assert_string_not_equal(tq, ta);
	assert_int_equal(mailtoken_check(secret, tq, 1700000000, &u),
			 MAILTOKEN_OK);
	assert_string_equal(u.kind, "quiz");
	assert_int_equal(u.object_id, 1 << 5 | 3);
	assert_int_equal(u.person_id, 7);
	assert_int_equal(mailtoken_check(secret, ta, 1700000000, &u),
			 MAILTOKEN_OK);
	assert_string_equal(u.kind, "approval");
	/* the quiz kind code with the approval's MAC: an approval token
	 * cannot be turned into a quiz answer, nor the other way round */
	memcpy(mixed, tq, 22);
	memcpy(mixed + 22, ta + 22, MAILTOKEN_LEN - 22 + 1);
	assert_int_equal(mailtoken_check(secret, mixed, 1700000000, &u),
			 MAILTOKEN_FORGED);
	/* another person's answer address */
	q.person_id = 8;
	make(&q, mixed);
	assert_int_equal(mailtoken_check(secret, mixed, 1700000000, &u),
			 MAILTOKEN_OK);
	assert_int_equal(u.person_id, 8);
	assert_string_not_equal(mixed, tq);
	/* expiry as for approvals */
	assert_int_equal(mailtoken_check(secret, tq, 1800000001, &u),
			 MAILTOKEN_EXPIRED);
	assert_string_equal(u.kind, "quiz");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_case_insensitive),
	    cmocka_unit_test(test_tampered),
	    cmocka_unit_test(test_wrong_approver),
	    cmocka_unit_test(test_expiry),
	    cmocka_unit_test(test_make_limits),
	    cmocka_unit_test(test_quiz_kind),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * Unit tests of the kind tables: every message kind has a name that
 * round-trips through the database form, names are unique, unknown names
 * are refused; the flags that route and render messages stay on the kinds
 * that had them; approval kinds have distinct names.
 */
#include "testutil.h"

#include "../../adapters/mailtoken.h"
#include "../../commands/msgkind.h"

static void
test_round_trip(void **state)
{
	int i;

	(void)state;
	for (i = 0; i < MSG_KIND_COUNT; i++) {
		enum msg_kind k = MSG_KIND_COUNT;
		const char *name = msg_kind_name((enum msg_kind)i);

		assert_non_null(name);
		assert_true(*name != '\0');
		assert_ptr_equal(msg_kind_info((enum msg_kind)i)->name, name);
		assert_int_equal(msg_kind_parse(name, &k), 0);
		assert_int_equal(k, i);
	}
}

static void
test_unique(void **state)
{
	int i, j;

	(void)state;
	for (i = 0; i < MSG_KIND_COUNT; i++)
		for (j = i + 1; j < MSG_KIND_COUNT; j++)
			assert_string_not_equal(
			    msg_kind_name((enum msg_kind)i),
			    msg_kind_name((enum msg_kind)j));
}

static void
test_unknown(void **state)
{
	static const char *const bad[] = {"",	   "Quiz",  "approval ",
					  "quizz", "alert", "notices"};
	enum msg_kind k = MSG_DIGEST;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_LEN(bad); i++) {
		assert_int_equal(msg_kind_parse(bad[i], &k), -1);
		/* refused: the caller's value is left as it was */
		assert_int_equal(k, MSG_DIGEST);
	}
	assert_int_equal(msg_kind_parse(NULL, &k), -1);
	assert_int_equal(k, MSG_DIGEST);
	/* a value outside the enum behaves as a notice, never reads past */
	assert_string_equal(msg_kind_name(MSG_KIND_COUNT), "notice");
	assert_int_equal(msg_kind_flags(MSG_KIND_COUNT), 0);
}

/* The names stored before the kinds were typed, and the rows they map to. */
static void
test_stored_names(void **state)
{
	static const struct {
		const char *name;
		enum msg_kind kind;
	} rows[] = {
	    {"nudge", MSG_NUDGE},	{"notice", MSG_NOTICE},
	    {"incident", MSG_INCIDENT}, {"breach", MSG_BREACH},
	    {"approval", MSG_APPROVAL}, {"decision", MSG_DECISION},
	    {"quiz", MSG_QUIZ},		{"report", MSG_REPORT},
	    {"register", MSG_REGISTER}, {"digest", MSG_DIGEST},
	    {"audit", MSG_AUDIT},	{"reply", MSG_REPLY},
	    {"portal", MSG_PORTAL},
	};
	size_t i;

	(void)state;
	assert_int_equal(ARRAY_LEN(rows), MSG_KIND_COUNT);
	for (i = 0; i < ARRAY_LEN(rows); i++)
		assert_string_equal(msg_kind_name(rows[i].kind), rows[i].name);
}

static void
test_flags(void **state)
{
	int i;

	(void)state;
	for (i = 0; i < MSG_KIND_COUNT; i++) {
		enum msg_kind k = (enum msg_kind)i;
		unsigned f = msg_kind_flags(k);

		/* sent on every transport: what an approver or the incident
		 * team must not miss */
		assert_int_equal((f & MSGK_FANOUT) != 0,
				 k == MSG_APPROVAL || k == MSG_INCIDENT ||
				     k == MSG_BREACH);
		assert_int_equal((f & MSGK_ASKS_DECISION) != 0,
				 k == MSG_APPROVAL);
		assert_int_equal((f & MSGK_ASKS_ANSWER) != 0, k == MSG_QUIZ);
		assert_int_equal((f & MSGK_SHOWS_DECISION) != 0,
				 k == MSG_DECISION);
		assert_int_equal((f & MSGK_AUTO_REPLY) != 0, k == MSG_REPLY);
		/* a message asks for one thing at most */
		assert_false((f & MSGK_ASKS_DECISION) &&
			     (f & MSGK_ASKS_ANSWER));
	}
	assert_string_equal(msg_kind_info(MSG_APPROVAL)->see, "approvals");
	assert_string_equal(msg_kind_info(MSG_DECISION)->see, "approvals");
	assert_string_equal(msg_kind_info(MSG_QUIZ)->see, "quiz list");
	assert_string_equal(msg_kind_info(MSG_REPORT)->see, "report");
	assert_null(msg_kind_info(MSG_NOTICE)->see);
}

/* A kind that takes an answer by mail has a reply token kind of its name. */
static void
test_reply_tokens(void **state)
{
	static const char secret[] = "0123456789abcdef0123456789abcdef";
	char tok[MAILTOKEN_LEN + 1];
	int i;

	(void)state;
	for (i = 0; i < MSG_KIND_COUNT; i++) {
		unsigned f = msg_kind_flags((enum msg_kind)i);
		struct mailtoken t = {msg_kind_name((enum msg_kind)i), 1, 1,
				      1800000000};

		if (f & (MSGK_ASKS_DECISION | MSGK_ASKS_ANSWER))
			assert_int_equal(mailtoken_make(secret, &t, tok), 0);
	}
}

static void
test_approval_kinds(void **state)
{
	(void)state;
	assert_string_equal(incident_close_kind.name, "incident.close");
	assert_string_equal(risk_accept_kind.name, "risk.accept");
	assert_non_null(incident_close_kind.approved);
	assert_non_null(risk_accept_kind.approved);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_unique),
	    cmocka_unit_test(test_unknown),
	    cmocka_unit_test(test_stored_names),
	    cmocka_unit_test(test_flags),
	    cmocka_unit_test(test_reply_tokens),
	    cmocka_unit_test(test_approval_kinds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * Unit tests of the outbox's fallback decision: after a transport refused
 * a message for good, the recipient's next transport that has not been
 * tried, in the order Slack, Matrix, mail; nothing while another delivery
 * is pending or sent; undeliverable when none is left.
 */
#include "testutil.h"

#include "../../gateway/route.h"

static const char *const all3[] = {"slack", "matrix", "mail"};

static void
test_next_in_order(void **state)
{
	const struct route_try slack_failed[] = {{"slack", "failed"}};
	const struct route_try two_failed[] = {{"slack", "failed"},
					       {"matrix", "failed"}};

	(void)state;
	assert_int_equal(route_next(all3, 3, slack_failed, 1), 1);
	assert_int_equal(route_next(all3, 3, two_failed, 2), 2);
	/* someone without Matrix goes from Slack straight to mail */
	{
		const char *const slack_mail[] = {"slack", "mail"};

		assert_int_equal(route_next(slack_mail, 2, slack_failed, 1), 1);
	}
}

static void
test_out_of_order_failure(void **state)
{
	/* mail refused first (Slack was not running when it was routed) */
	const struct route_try mail_failed[] = {{"mail", "failed"}};

	(void)state;
	assert_int_equal(route_next(all3, 3, mail_failed, 1), 0);
}

static void
test_nothing_while_another_is_under_way(void **state)
{
	const struct route_try pending[] = {{"slack", "failed"},
					    {"mail", "pending"}};
	const struct route_try sent[] = {{"slack", "sent"},
					 {"matrix", "failed"}};

	(void)state;
	/* a fan-out message that reached the person elsewhere */
	assert_int_equal(route_next(all3, 3, sent, 2), ROUTE_DONE);
	assert_int_equal(route_next(all3, 3, pending, 2), ROUTE_DONE);
}

static void
test_undeliverable(void **state)
{
	const struct route_try all_failed[] = {
	    {"slack", "failed"}, {"matrix", "failed"}, {"mail", "failed"}};
	const struct route_try none[] = {{"none", "failed"}};
	const struct route_try slack_failed[] = {{"slack", "failed"}};
	const char *const only_slack[] = {"slack"};

	(void)state;
	assert_int_equal(route_next(all3, 3, all_failed, 3),
			 ROUTE_UNDELIVERABLE);
	/* only Slack reaches the person: nothing to fall back to */
	assert_int_equal(route_next(only_slack, 1, slack_failed, 1),
			 ROUTE_UNDELIVERABLE);
	/* no transport running at all */
	assert_int_equal(route_next(NULL, 0, slack_failed, 1),
			 ROUTE_UNDELIVERABLE);
	/* routed to none, and a transport that reaches now runs */
	assert_int_equal(route_next(only_slack, 1, none, 1), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_next_in_order),
	    cmocka_unit_test(test_out_of_order_failure),
	    cmocka_unit_test(test_nothing_while_another_is_under_way),
	    cmocka_unit_test(test_undeliverable),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * Unit tests of awareness quizzes: the bank and its validation, campaigns,
 * picking without repeats, answers, one question at a time, statistics.
 */
#include "testutil.h"

#include "../../commands/quiz.h"

static struct quiz_bank bank;

static int
setup(void **state)
{
	char err[320];

	(void)state;
	return quiz_bank_load(&bank, err, sizeof(err));
}

static int
teardown(void **state)
{
	(void)state;
	quiz_bank_free(&bank);
	return 0;
}

/* The question waiting for handle (NULL when none); caller frees. */
static char *
waiting(struct tenv *t, const char *handle)
{
	return db_text(
	    t->st,
	    "SELECT i.question_id FROM quiz_items i JOIN "
	    "quiz_participants p ON p.campaign_id = i.campaign_id "
	    "AND p.person_id = i.person_id AND i.seq = p.current_seq "
	    "JOIN quiz_campaigns c ON c.id = p.campaign_id JOIN "
	    "people pe ON pe.id = p.person_id WHERE pe.handle = ? "
	    "AND c.status = 'open' AND i.answered_at IS NULL ORDER "
	    "BY p.campaign_id LIMIT 1",
	    "t", handle);
}

/* Answers handle's waiting question with a bare number, right or not. */
static const char *
answer(struct tenv *t, const char *handle, int right, int *ok)
{
	char *qid = waiting(t, handle), text[8], cmd[32];
	const struct quiz_question *q;

	assert_non_null(qid);
	q = quiz_bank_find(&bank, qid);
	assert_non_null(q);
	free(qid);
	/* as a transport maps a bare reply */
	snprintf(text, sizeof(text), "%d",
		 right ? q->answer : q->answer % 4 + 1);
	return as(t, handle, quiz_bare_reply(text, cmd), ok);
}

static int64_t
count1(struct tenv *t, const char *sql, const char *arg)
{
	int64_t v = -1;

	assert_int_equal(db_int(t->st, &v, sql, "t", arg), 1);
	return v;
}

static void
test_bank_builtin(void **state)
{
	size_t i;

	(void)state;
	assert_int_equal(bank.n, 57);
	for (i = 0; i < bank.n; i++) {
		assert_true(bank.q[i].answer >= 1 && bank.q[i].answer <= 4);
		assert_non_null(bank.q[i].options[3]);
		assert_true(strlen(bank.q[i].explanation) > 0);
	}
	assert_non_null(quiz_bank_find(&bank, "phish-01"));
	assert_non_null(quiz_bank_find(&bank, "PHISH-01"));
	assert_null(quiz_bank_find(&bank, "phish-99"));
}

#define HDR                                                                    \
	"id\ttopic\tquestion\toption1\toption2\toption3\toption4\tanswer\t"    \
	"explanation\n"
#define Q(id, ans) id "\tphishing\tWhat?\tA\tB\tC\tD\t" ans "\tBecause.\n"

static void
test_bank_broken(void **state)
{
	static const struct {
		const char *text, *error;
	} cases[] = {
	    {"id\ttopic\n" Q("phish-01", "1"), "line 1: the header"},
	    {HDR Q("phish-01", "1") Q("phish-01", "2"),
	     "line 3 (phish-01): duplicate id"},
	    {HDR Q("phish-01", "5"), "line 2 (phish-01): answer must be 1"},
	    {HDR Q("phish-01", "12"), "answer must be"},
	    {HDR "phish-01\tphishing\tWhat?\tA\tB\tC\tD\t1\n",
	     "line 2: too few fields"},
	    {HDR "phish-01\tphishing\tWhat?\tA\tB\tC\tD\t1\tx\ty\n",
	     "line 2: too many fields"},
	    {HDR "phish-01\tweather\tWhat?\tA\tB\tC\tD\t1\tWhy.\n",
	     "unknown topic \"weather\""},
	    {HDR "Phish-1\tphishing\tWhat?\tA\tB\tC\tD\t1\tWhy.\n",
	     "id must look like phish-01"},
	    {HDR "phish-01\tphishing\tWhat?\tA\tB\tc\tC\t1\tWhy.\n",
	     "options are not distinct"},
	    {HDR "phish-01\tphishing\tWhat?\t\tB\tC\tD\t1\tWhy.\n",
	     "option1 is empty"},
	    {HDR "phish-01\tphishing\t What?\tA\tB\tC\tD\t1\tWhy.\n",
	     "question is empty or has surrounding blanks"},
	    {HDR Q("phish-01", "1") "\n" Q("phish-02", "1"),
	     "line 3: too few fields"},
	    {"id\ttopic\tquestion\toption1\toption2\toption3\toption4\tanswer\t"
	     "explanation\r\n",
	     "line 1: CR character"},
	    {HDR, "no questions"},
	    {"", "no questions"},
	    {HDR "phish-01\tphishing\tWhat?\tA\tB\tC\t\xff\t1\tWhy.\n",
	     "not UTF-8"},
	};
	struct quiz_bank b;
	char err[320], longq[400];
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_LEN(cases); i++) {
		err[0] = '\0';
		assert_int_equal(
		    quiz_bank_parse(cases[i].text, &b, err, sizeof(err)), -1);
		if (strstr(err, cases[i].error) == NULL)
			fail_msg("case %zu: \"%s\" lacks \"%s\"", i, err,
				 cases[i].error);
		quiz_bank_free(&b);
	}
	memset(longq, 'x', 250);
	longq[250] = '\0';
	{
		char *text =
		    xasprintf(HDR "phish-01\tphishing\t%s\tA\tB\tC\tD\t"
				  "1\tWhy.\n",
			      longq);

		assert_int_equal(quiz_bank_parse(text, &b, err, sizeof(err)),
				 -1);
		assert_non_null(strstr(err, "question is too long"));
		quiz_bank_free(&b);
		free(text);
	}
	assert_int_equal(quiz_bank_parse(HDR Q("phish-01", "3")
					     Q("class_x-100", "4"),
					 &b, err, sizeof(err)),
			 0);
	assert_int_equal(b.n, 2);
	assert_int_equal(b.q[1].answer, 4);
	assert_string_equal(b.q[1].options[2], "C");
	quiz_bank_free(&b);
}

static void
test_bare_reply(void **state)
{
	char out[32];

	(void)state;
	assert_string_equal(quiz_bare_reply("2", out), "quiz answer 2");
	assert_string_equal(quiz_bare_reply(" 4) ", out), "quiz answer 4");
	assert_string_equal(quiz_bare_reply("1.", out), "quiz answer 1");
	assert_null(quiz_bare_reply("5", out));
	assert_null(quiz_bare_reply("0", out));
	assert_null(quiz_bare_reply("12", out));
	assert_null(quiz_bare_reply("2 please", out));
	assert_null(quiz_bare_reply("approve", out));
	assert_null(quiz_bare_reply("", out));
	/* the first line of a mailed answer */
	assert_int_equal(quiz_reply_choice("2"), 2);
	assert_int_equal(quiz_reply_choice(" 3) "), 3);
	assert_int_equal(quiz_reply_choice("4. because"), 4);
	assert_int_equal(quiz_reply_choice("#1"), 1);
	assert_int_equal(quiz_reply_choice("Answer 2"), 2);
	assert_int_equal(quiz_reply_choice("answer: #3, I think"), 3);
	assert_int_equal(quiz_reply_choice("2 - phishing"), 2);
	assert_int_equal(quiz_reply_choice("5"), 0);
	assert_int_equal(quiz_reply_choice("0"), 0);
	assert_int_equal(quiz_reply_choice("12"), 0);
	assert_int_equal(quiz_reply_choice("2x"), 0);
	assert_int_equal(quiz_reply_choice("two"), 0);
	assert_int_equal(quiz_reply_choice("answers 2"), 0);
	assert_int_equal(quiz_reply_choice("answer"), 0);
	assert_int_equal(quiz_reply_choice("## 2"), 0);
	assert_int_equal(quiz_reply_choice(""), 0);
}

static void
test_start_permissions_and_errors(void **state)
{
	struct tenv *t = tenv_new();
	int64_t before;
	const char *r;
	int ok;

	(void)state;
	before = changes_fingerprint(t);
	r = as(t, "alice", "quiz start", &ok);
	assert_false(ok);
	assert_non_null(strstr(r, "needs the isms_manager role"));
	as(t, "carol", "quiz start questions=0", &ok);
	assert_false(ok);
	as(t, "carol", "quiz start questions=21", &ok);
	assert_false(ok);
	r = as(t, "carol", "quiz start audience=team:nobody", &ok);
	assert_false(ok);
	assert_non_null(strstr(r, "nobody in the directory is in team nobody"));
	r = as(t, "carol", "quiz start audience=everyone", &ok);
	assert_false(ok);
	assert_non_null(strstr(r, "audience must be all or team:<name>"));
	r = as(t, "carol", "quiz start deadline=2020-01-01", &ok);
	assert_false(ok);
	assert_non_null(strstr(r, "has passed"));
	as(t, "carol", "quiz start deadline=next-week", &ok);
	assert_false(ok);
	as(t, "carol", "quiz start deadline=2026-12-01 10:00", &ok);
	assert_false(ok);
	as(t, "carol", "quiz start colour=red", &ok);
	assert_false(ok);
	as(t, "carol", "quiz start now", &ok);
	assert_false(ok);
	r = as(t, "alice", "quiz stats", &ok);
	assert_false(ok);
	assert_int_equal(changes_fingerprint(t), before);
	tenv_free(t);
}

static void
test_campaign_flow(void **state)
{
	struct tenv *t = tenv_new();
	const char *r;
	char *q1, *q2;
	int ok, i;

	(void)state;
	test_clock = 1795000000; /* Wednesday 11:06 UTC: working time */
	r = as(t, "carol", "quiz start questions=3 deadline=2026-11-30 seed=42",
	       &ok);
	assert_true(ok);
	assert_non_null(strstr(r, "QZ-1 started: 3 questions each for 7 "
				  "people (audience all), open until "
				  "2026-11-30. 7 first questions sent now."));
	assert_int_equal(count(t, "SELECT COUNT(*) FROM quiz_items"), 21);
	assert_int_equal(count(t, "SELECT COUNT(*) FROM outbox WHERE kind = "
				  "'quiz'"),
			 7);
	/* the payload a transport renders */
	assert_int_equal(count(t,
			       "SELECT COUNT(*) FROM outbox o JOIN people p "
			       "ON p.id = o.person_id WHERE p.handle = "
			       "'alice' AND json_extract(o.payload, "
			       "'$.quiz') = 'QZ-1' AND json_array_length("
			       "o.payload, '$.options') = 4 AND "
			       "length(json_extract(o.payload, "
			       "'$.answer_token')) = 32 AND "
			       "CAST(json_extract(o.payload, '$.number') AS "
			       "INTEGER) = 1 AND CAST(json_extract(o.payload, "
			       "'$.total') AS INTEGER) = 3"),
			 1);
	/* answering: a right one, the explanation, the next question */
	q1 = waiting(t, "alice");
	r = answer(t, "alice", 1, &ok);
	assert_true(ok);
	assert_non_null(strstr(r, "Correct!\n"));
	assert_non_null(strstr(r, "The next question follows."));
	q2 = waiting(t, "alice");
	assert_string_not_equal(q1, q2);
	/* answering the same again is refused */
	{
		char cmd[96];

		snprintf(cmd, sizeof(cmd), "quiz answer qz-1 %s 1", q1);
		r = as(t, "alice", cmd, &ok);
		assert_false(ok);
		assert_non_null(strstr(r, "you already answered"));
	}
	/* a question that is not among yours */
	{
		char cmd[96];
		size_t k;

		for (k = 0; k < bank.n; k++)
			if (count1(t,
				   "SELECT COUNT(*) FROM quiz_items WHERE "
				   "question_id = ? AND person_id = (SELECT id "
				   "FROM people WHERE handle = 'frank')",
				   bank.q[k].id) == 0)
				break;
		snprintf(cmd, sizeof(cmd), "quiz answer QZ-1 %s 1",
			 bank.q[k].id);
		r = as(t, "frank", cmd, &ok);
		assert_false(ok);
		assert_non_null(strstr(r, "QZ-1 has no question"));
	}
	/* a question not asked yet */
	{
		char *q3 = db_text(t->st,
				   "SELECT question_id FROM quiz_items WHERE "
				   "seq = 3 AND person_id = (SELECT id FROM "
				   "people WHERE handle = 'alice')",
				   NULL);
		char cmd[96];

		snprintf(cmd, sizeof(cmd), "quiz answer QZ-1 %s 2", q3);
		r = as(t, "alice", cmd, &ok);
		assert_false(ok);
		assert_non_null(strstr(r, "has not been asked yet"));
		free(q3);
	}
	r = answer(t, "alice", 0, &ok);
	assert_true(ok);
	assert_non_null(strstr(r, "Not quite: the answer is "));
	r = answer(t, "alice", 1, &ok);
	assert_true(ok);
	assert_non_null(strstr(r, "That was the last question of QZ-1: you "
				  "got 2 of 3 right."));
	r = as(t, "alice", "quiz answer 3", &ok);
	assert_false(ok);
	assert_non_null(strstr(r, "no quiz question waiting"));
	as(t, "alice", "quiz answer 7", &ok);
	assert_false(ok);
	/* frank and bob finish too, all right */
	for (i = 0; i < 3; i++) {
		answer(t, "frank", 1, &ok);
		assert_true(ok);
		answer(t, "bob", 1, &ok);
		assert_true(ok);
	}
	r = as(t, "alice", "quiz list", &ok);
	assert_true(ok);
	assert_non_null(strstr(r, "QZ-1 open until 2026-11-30, audience all: "
				  "you answered 3 of 3 (2 right)"));
	/* the isms_manager sees every team; the auditor too */
	r = as(t, "erik", "quiz stats", &ok);
	assert_true(ok);
	assert_non_null(strstr(r, "3 of 7 people completed (42%)"));
	assert_non_null(strstr(r, "eng              3/3 completed (100%), "
				  "score 88% (8 of 9 answers right)"));
	assert_non_null(strstr(r, "security         0/2 completed (0%), no "
				  "answers yet"));
	as(t, "grace", "quiz stats QZ-1", &ok);
	assert_true(ok);
	/* the question alice got wrong is the hardest */
	{
		char *wrong =
		    db_text(t->st,
			    "SELECT question_id FROM quiz_items WHERE "
			    "correct = 0",
			    NULL);
		const char *hard = strstr(r, "answered wrong:\n  ");

		assert_non_null(wrong);
		assert_non_null(hard);
		assert_memory_equal(hard + 18, wrong, strlen(wrong));
		free(wrong);
	}
	/* a manager sees only the teams of their direct reports */
	r = as(t, "bob", "quiz stats", &ok);
	assert_true(ok);
	assert_non_null(strstr(r, "in your teams: 3 of 3 people completed"));
	assert_null(strstr(r, "\n  security "));
	r = as(t, "dana", "quiz stats",
	       &ok); /* reports in eng, security, audit */
	assert_true(ok);
	assert_non_null(strstr(r, "\n  security "));
	assert_null(strstr(r, "\n  mgmt "));
	/* every answer is in the audit log */
	assert_int_equal(count(t, "SELECT COUNT(*) FROM audit_log WHERE action "
				  "= 'quiz.answer'"),
			 9);
	free(q1);
	free(q2);
	tenv_free(t);
}

/* The questions handle got in a campaign, sorted, comma-joined. */
static char *
picked(struct tenv *t, int64_t campaign, const char *handle)
{
	return db_text(t->st,
		       "SELECT group_concat(question_id) FROM (SELECT "
		       "question_id FROM quiz_items WHERE campaign_id = ? AND "
		       "person_id = (SELECT id FROM people WHERE handle = ?) "
		       "ORDER BY seq) x",
		       "it", campaign, handle);
}

static void
test_no_repeat_until_bank_runs_out(void **state)
{
	struct tenv *t = tenv_new(), *u = tenv_new();
	int64_t seen;
	char *a, *b;
	int ok, c, i;

	(void)state;
	test_clock = 1795000000;
	/* three campaigns of 20 for the eng team; alice answers everything */
	for (c = 1; c <= 3; c++) {
		char cmd[96];

		snprintf(cmd, sizeof(cmd),
			 "quiz start questions=20 audience=team:ENG seed=%d",
			 c);
		as(t, "carol", cmd, &ok);
		assert_true(ok);
		for (i = 0; i < 20; i++) {
			answer(t, "alice", i % 3 != 0, &ok);
			assert_true(ok);
		}
		/* close it so that the next one is alice's current */
		db_exec(t->st, "UPDATE quiz_campaigns SET status = 'closed'",
			NULL);
	}
	assert_int_equal(count(t, "SELECT COUNT(DISTINCT campaign_id) FROM "
				  "quiz_participants"),
			 3);
	/* 57 questions: the first 40 are all different, then the bank runs
	 * out and only 3 come back */
	seen = count1(t,
		      "SELECT COUNT(DISTINCT question_id) FROM quiz_items "
		      "WHERE answer IS NOT NULL AND person_id = (SELECT id "
		      "FROM people WHERE handle = ?)",
		      "alice");
	assert_int_equal(seen, 57);
	assert_int_equal(count1(t,
				"SELECT COUNT(*) FROM (SELECT question_id FROM "
				"quiz_items WHERE person_id = (SELECT id FROM "
				"people WHERE handle = ?) GROUP BY question_id "
				"HAVING COUNT(*) > 1) x",
				"alice"),
			 3);
	/* the same seed picks the same questions in another database */
	as(u, "carol", "quiz start questions=20 audience=team:eng seed=1", &ok);
	assert_true(ok);
	a = picked(t, 1, "alice");
	b = picked(u, 1, "alice");
	assert_string_equal(a, b);
	free(b);
	/* another seed, or another person, another order */
	b = picked(t, 1, "frank");
	assert_string_not_equal(a, b);
	free(a);
	free(b);
	a = picked(t, 2, "frank");
	b = picked(u, 1, "frank");
	assert_string_not_equal(a, b);
	free(a);
	free(b);
	tenv_free(t);
	tenv_free(u);
}

static void
test_one_question_at_a_time(void **state)
{
	struct tenv *t = tenv_new();
	char *q;
	int ok, i;

	(void)state;
	test_clock = 1795000000;
	as(t, "carol", "quiz start questions=2 audience=team:eng", &ok);
	assert_true(ok);
	as(t, "carol", "quiz start questions=2 audience=team:eng", &ok);
	assert_true(ok);
	/* the second campaign waits until the first is done */
	assert_int_equal(
	    count1(t,
		   "SELECT COUNT(*) FROM outbox o JOIN people p ON "
		   "p.id = o.person_id WHERE p.handle = ? AND "
		   "o.kind = 'quiz'",
		   "alice"),
	    1);
	answer(t, "alice", 1, &ok);
	q = waiting(t, "alice");
	assert_non_null(q);
	free(q);
	answer(t, "alice", 1, &ok);
	/* finishing QZ-1 brings QZ-2's first question at once */
	assert_int_equal(
	    count1(t,
		   "SELECT COUNT(*) FROM outbox o JOIN people p ON "
		   "p.id = o.person_id WHERE p.handle = ? AND "
		   "json_extract(o.payload, '$.quiz') = 'QZ-2'",
		   "alice"),
	    1);
	for (i = 0; i < 2; i++) {
		answer(t, "alice", 1, &ok);
		assert_true(ok);
	}
	assert_int_equal(count1(t,
				"SELECT COUNT(*) FROM quiz_participants WHERE "
				"completed_at IS NOT NULL AND person_id = "
				"(SELECT id FROM people WHERE handle = ?)",
				"alice"),
			 2);
	tenv_free(t);
}

static void
test_token_command(void **state)
{
	struct tenv *t = tenv_new();
	char *token, *qid, cmd[128], want[128];
	int64_t who = 0, alice;
	int ok;

	(void)state;
	test_clock = 1795000000;
	as(t, "carol", "quiz start questions=1 audience=team:eng", &ok);
	alice = count(t, "SELECT id FROM people WHERE handle = 'alice'");
	token =
	    db_text(t->st, "SELECT token FROM quiz_items WHERE person_id = ?",
		    "i", alice);
	qid = db_text(t->st,
		      "SELECT question_id FROM quiz_items WHERE person_id = ?",
		      "i", alice);
	assert_int_equal(
	    quiz_token_command(t->st, token, 3, cmd, sizeof(cmd), &who), 1);
	snprintf(want, sizeof(want), "quiz answer QZ-1 %s 3", qid);
	assert_string_equal(cmd, want);
	assert_int_equal(who, alice);
	assert_int_equal(
	    quiz_token_command(t->st, "nope", 3, cmd, sizeof(cmd), &who), 0);
	assert_int_equal(
	    quiz_token_command(t->st, token, 5, cmd, sizeof(cmd), &who), 0);
	free(token);
	free(qid);
	tenv_free(t);
}

/*
 * After the deadline an answer is refused with the day the quiz closed,
 * even before the scheduler has marked the campaign closed.
 */
static void
test_answer_after_deadline(void **state)
{
	struct tenv *t = tenv_new();
	const char *r;
	int ok;

	(void)state;
	test_clock = 1795000000; /* 2026-11-18 */
	as(t, "carol", "quiz start questions=2 deadline=2026-11-30 seed=7",
	   &ok);
	assert_true(ok);
	answer(t, "alice", 1, &ok);
	assert_true(ok);
	test_clock = 1796083200 + 3600; /* 2026-12-01 01:00 UTC */
	r = answer(t, "alice", 1, &ok);
	assert_false(ok);
	assert_non_null(strstr(r, "QZ-1 closed on 2026-12-01; answers no "
				  "longer count"));
	assert_int_equal(count(t, "SELECT COUNT(*) FROM quiz_items WHERE "
				  "answered_at IS NOT NULL"),
			 1);
	assert_int_equal(count(t, "SELECT COUNT(*) FROM quiz_campaigns WHERE "
				  "status = 'open'"),
			 1);
	test_clock = 1795000000;
	tenv_free(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_bank_builtin),
	    cmocka_unit_test(test_bank_broken),
	    cmocka_unit_test(test_bare_reply),
	    cmocka_unit_test(test_start_permissions_and_errors),
	    cmocka_unit_test(test_campaign_flow),
	    cmocka_unit_test(test_answer_after_deadline),
	    cmocka_unit_test(test_no_repeat_until_bank_runs_out),
	    cmocka_unit_test(test_one_question_at_a_time),
	    cmocka_unit_test(test_token_command),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

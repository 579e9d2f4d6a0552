/* Unit tests of the command grammar. */
#include "testutil.h"

static void
parse_ok(const char *text, struct cmdline *cl)
{
	char err[256] = "";

	if (cmdline_parse(text, cl, err, sizeof(err)) != 0)
		fail_msg("parse of \"%s\" failed: %s", text, err);
}

static void
test_basic(void **state)
{
	struct cmdline cl;
	char *t;

	(void)state;
	parse_ok("/isms incident report Laptop stolen severity=high", &cl);
	assert_string_equal(cl.object, "incident");
	assert_string_equal(cl.verb, "report");
	assert_int_equal(cl.npos, 2);
	assert_string_equal(cmdline_get(&cl, "severity"), "high");
	t = cmdline_join(&cl, 0);
	assert_string_equal(t, "Laptop stolen");
	free(t);
	cmdline_free(&cl);
}

static void
test_case_and_prefixes(void **state)
{
	struct cmdline cl;

	(void)state;
	parse_ok("!ISMS Incident SHOW inc-3", &cl);
	assert_string_equal(cl.object, "incident");
	assert_string_equal(cl.verb, "show");
	assert_string_equal(cl.pos[0], "inc-3");
	cmdline_free(&cl);
	parse_ok("incident list", &cl); /* console: no prefix */
	assert_string_equal(cl.object, "incident");
	cmdline_free(&cl);
}

static void
test_incident_shortcut(void **state)
{
	struct cmdline cl;
	char *t;

	(void)state;
	parse_ok("/incident Phishing mail from \"IT\" severity=low", &cl);
	assert_string_equal(cl.object, "incident");
	assert_string_equal(cl.verb, "report");
	t = cmdline_join(&cl, 0);
	assert_string_equal(t, "Phishing mail from \"IT\"");
	free(t);
	cmdline_free(&cl);
	parse_ok("!incident list all", &cl);
	assert_string_equal(cl.verb, "list");
	cmdline_free(&cl);
	/* a report that starts with a verb-like word in quotes stays a report
	 */
	parse_ok("/incident \"list\" of passwords on a post-it", &cl);
	assert_string_equal(cl.verb, "report");
	cmdline_free(&cl);
	parse_ok("/risk list above=9", &cl);
	assert_string_equal(cl.object, "risk");
	assert_string_equal(cl.verb, "list");
	cmdline_free(&cl);
}

static void
test_quotes(void **state)
{
	struct cmdline cl;
	char *t;

	(void)state;
	parse_ok("/isms x y category=\"social engineering\" 'a b' can't", &cl);
	assert_string_equal(cmdline_get(&cl, "category"), "social engineering");
	assert_string_equal(cl.pos[0], "a b");
	assert_string_equal(cl.pos[1], "can't");
	cmdline_free(&cl);
	/* typographic quotes from chat clients */
	parse_ok("/isms x y title=\xe2\x80\x9c"
		 "big one\xe2\x80\x9d",
		 &cl);
	assert_string_equal(cmdline_get(&cl, "title"), "big one");
	cmdline_free(&cl);
	/* a stray quote is an ordinary character */
	parse_ok("/incident he said \"hi", &cl);
	t = cmdline_join(&cl, 0);
	assert_string_equal(t, "he said \"hi");
	free(t);
	cmdline_free(&cl);
	/* one quoted word is taken without quotes */
	parse_ok("/isms x y \"Laptop theft\"", &cl);
	t = cmdline_join(&cl, 0);
	assert_string_equal(t, "Laptop theft");
	free(t);
	cmdline_free(&cl);
}

static void
test_errors(void **state)
{
	struct cmdline cl;
	char err[256], big[CMD_MAX_TEXT + 10];

	(void)state;
	assert_int_equal(
	    cmdline_parse("/isms x y a=1 a=2", &cl, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "twice"));
	cmdline_free(&cl);
	assert_int_equal(cmdline_parse("/foo bar", &cl, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "unknown command"));
	cmdline_free(&cl);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(cmdline_parse(big, &cl, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "too long"));
	cmdline_free(&cl);
	assert_int_equal(cmdline_parse("/isms \xff\xfe", &cl, err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "UTF-8"));
	cmdline_free(&cl);
	parse_ok("", &cl);
	assert_null(cl.object);
	cmdline_free(&cl);
}

static void
test_person_forms(void **state)
{
	struct tenv *t = tenv_new();
	const char *forms[] = {"bob",
			       "@bob",
			       "<@U0BOB>",
			       "<@U0BOB|bob>",
			       "@bob:example.org",
			       "bob@example.org",
			       "BOB"};
	size_t i;
	int ok;

	(void)state;
	as(t, "alice", "/incident something odd", &ok);
	assert_true(ok);
	for (i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		char cmd[128];
		const char *r;

		snprintf(cmd, sizeof(cmd), "/isms incident assign INC-1 %s",
			 forms[i]);
		r = as(t, "carol", cmd, &ok);
		if (!ok)
			fail_msg("%s: %s", forms[i], r);
		assert_non_null(strstr(r, "assigned to bob"));
	}
	as(t, "carol", "/isms incident assign INC-1 @nobody", &ok);
	assert_false(ok);
	as(t, "carol", "/isms incident assign INC-1 <@U0NOPE>", &ok);
	assert_false(ok);
	tenv_free(t);
}

/*
 * Safe text: control characters (but newline and tab) and bidi overrides
 * and isolates are removed from input, and shown escaped on output.
 */
static void
test_safe_text(void **state)
{
	char in[] = "a\x1b]0;t\x07"
		    "b\x1b[2Jc\xe2\x80\xae"
		    "d\xc2\x9b"
		    "e\tf\ng\x7fh\xe2\x81\xa6i\x08j";
	struct buf b = {0};
	struct cmdline cl;
	char err[160], *joined;

	(void)state;
	assert_int_equal(str_strip_unsafe(in), 8);
	assert_string_equal(in, "a]0;tb[2Jcde\tf\nghij");

	buf_put_printable(&b, "x\x1b[31my\xe2\x80\xaez\xc2\x85\tw\n\xff", 0);
	assert_string_equal(buf_str(&b),
			    "x\\x1b[31my\\u202ez\\u0085\\x09w\\x0a\\xff");
	buf_reset(&b);
	buf_put_printable(&b, "t\tn\n\xe2\x80\x8f",
			  PRINT_KEEP_NL | PRINT_KEEP_TAB);
	/* tab and newline kept; a right-to-left mark is not an override */
	assert_string_equal(buf_str(&b), "t\tn\n\xe2\x80\x8f");
	buf_free(&b);
	assert_int_equal(str_utf8_chars("h\xc3\xa9llo \xf0\x9f\x94\x92"), 7);

	/* the grammar never sees them; words stay words */
	assert_int_equal(cmdline_parse("/incident Evil\x1b[2J \xe2\x80\xae"
				       "title sev\x07"
				       "erity=high",
				       &cl, err, sizeof(err)),
			 0);
	assert_string_equal(cl.object, "incident");
	assert_string_equal(cmdline_get(&cl, "severity"), "high");
	joined = cmdline_join(&cl, 0);
	assert_string_equal(joined, "Evil[2J title");
	free(joined);
	cmdline_free(&cl);
}

/* cmd_json_text writes what json_dumps writes, sorted or in order. */
static void
test_json_text(void **state)
{
	static const char *const docs[] = {
	    "{}",
	    "[]",
	    "{\"b\":1,\"a\":[true,false,null,-42,9223372036854775807],"
	    "\"ab\":\"x\",\"\":{\"z\":{},\"y\":[]}}",
	    "{\"text\":\"q\\\" b\\\\ \\/ \\u0001\\u001f\\t\\n\\r\\b\\f"
	    "\\u000b \\u007f \\u00e9 \\u20ac \\ud83d\\ude00 \\u0000 end\","
	    "\"options\":[\"a\",\"b\"],\"number\":1,\"k\\\"ey\":2}",
	    "{\"r\":1.5,\"s\":\"real numbers go through json_dumps\"}",
	};
	size_t i;
	int sorted;

	(void)state;
	for (i = 0; i < sizeof(docs) / sizeof(docs[0]); i++)
		for (sorted = 0; sorted < 2; sorted++) {
			json_t *j = json_loads(docs[i], JSON_ALLOW_NUL, NULL);
			size_t f = JSON_COMPACT | (sorted ? JSON_SORT_KEYS : 0);
			char *want, *got;

			assert_non_null(j);
			want = json_dumps(j, f);
			got = cmd_json_text(j, sorted);
			assert_non_null(want);
			assert_non_null(got);
			assert_string_equal(got, want);
			free(want);
			free(got);
			json_decref(j);
		}
	assert_null(cmd_json_text(NULL, 0));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_basic),
	    cmocka_unit_test(test_json_text),
	    cmocka_unit_test(test_case_and_prefixes),
	    cmocka_unit_test(test_incident_shortcut),
	    cmocka_unit_test(test_quotes),
	    cmocka_unit_test(test_errors),
	    cmocka_unit_test(test_person_forms),
	    cmocka_unit_test(test_safe_text),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

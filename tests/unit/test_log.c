/* Unit tests of the log line formatter (text and JSON). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "../../base/log.h"

static const time_t T = 1795000000; /* 2026-11-18T11:06:40Z */

static char *
line(enum log_format f, const char *level, const char *msg)
{
	struct buf b = {0};

	log_format_line(&b, f, T, level, msg);
	return buf_steal(&b);
}

static void
test_text(void **state)
{
	char *t;

	(void)state;
	t = line(LOG_TEXT, "info", "hello");
	assert_string_equal(t, "2026-11-18T11:06:40Z info hello\n");
	free(t);
	/* one event, one line: breaks joined, trailing ones dropped */
	t = line(LOG_TEXT, "error",
		 "reload refused:\nconf:3: bad\r\nconf:4: worse\n\n");
	assert_string_equal(t, "2026-11-18T11:06:40Z error reload refused:; "
			       "conf:3: bad; conf:4: worse\n");
	free(t);
	t = line(LOG_TEXT, "warn", "tab\there\x1b[0m");
	assert_string_equal(t, "2026-11-18T11:06:40Z warn tab here [0m\n");
	free(t);
}

static void
test_json(void **state)
{
	char *t;

	(void)state;
	t = line(LOG_JSON, "info", "hello");
	assert_string_equal(t, "{\"time\":\"2026-11-18T11:06:40Z\",\"level\":"
			       "\"info\",\"msg\":\"hello\"}\n");
	free(t);
	t = line(LOG_JSON, "warn",
		 "a \"quote\", a \\ and\na break\t\x01 caf\xc3\xa9\n");
	assert_string_equal(t, "{\"time\":\"2026-11-18T11:06:40Z\",\"level\":"
			       "\"warn\",\"msg\":\"a \\\"quote\\\", a \\\\ "
			       "and\\na break\\t\\u0001 caf\xc3\xa9\"}\n");
	free(t);
	/* bytes that are not UTF-8 become U+FFFD */
	t = line(LOG_JSON, "info", "x\xff\xc3(\xed\xa0\x80y");
	assert_string_equal(t, "{\"time\":\"2026-11-18T11:06:40Z\",\"level\":"
			       "\"info\",\"msg\":\"x\\ufffd\\ufffd(\\ufffd"
			       "\\ufffd\\ufffdy\"}\n");
	free(t);
}

static void
test_parse(void **state)
{
	enum log_format f;
	enum log_level l;

	(void)state;
	assert_int_equal(log_format_parse("json", &f), 0);
	assert_int_equal(f, LOG_JSON);
	assert_int_equal(log_format_parse("text", &f), 0);
	assert_int_equal(f, LOG_TEXT);
	assert_int_equal(log_format_parse("xml", &f), -1);
	assert_int_equal(log_level_parse("warn", &l), 0);
	assert_int_equal(l, LOG_WARN);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_text),
	    cmocka_unit_test(test_json),
	    cmocka_unit_test(test_parse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

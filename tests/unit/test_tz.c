/* Unit tests of time zones: DST gaps and folds, parsing, working time. */
#include "testutil.h"

#include "../../base/tz.h"
#include "../../commands/worktime.h"

/* Expected instants computed independently (Python zoneinfo). */
#define BERLIN_SPRING_0130Z  1774747800 /* 2026-03-29 01:30Z = 03:30 CEST */
#define BERLIN_AUTUMN_CEST   1792888200 /* 2026-10-25 02:30 CEST = 00:30Z */
#define NY_SPRING_0730Z	     1772955000 /* 2026-03-08 03:30 EDT */
#define NY_AUTUMN_EDT	     1793511000 /* 2026-11-01 01:30 EDT = 05:30Z */
#define BERLIN_MON_0900_CEST 1774854000 /* 2026-03-30 09:00 = 07:00Z */
#define BERLIN_MON_0900_CET  1774252800 /* 2026-03-23 09:00 = 08:00Z */

static int64_t
parse(const char *zone, const char *text)
{
	int64_t t = -1;

	assert_int_equal(tz_parse(zone, text, &t), 0);
	return t;
}

static void
test_valid(void **state)
{
	(void)state;
	assert_true(tz_valid("Europe/Berlin"));
	assert_true(tz_valid("America/New_York"));
	assert_true(tz_valid("UTC"));
	assert_false(tz_valid(""));
	assert_false(tz_valid(NULL));
	assert_false(tz_valid("Mars/Olympus_Mons"));
	assert_false(tz_valid("../../etc/passwd"));
	assert_false(tz_valid("/etc/localtime"));
	assert_false(tz_valid("Europe/Berlin;rm"));
	assert_false(tz_valid("Europe")); /* a directory, not a zone */
}

static void
test_spring_gap(void **state)
{
	struct tm lt;

	(void)state;
	/* 02:30 does not exist: read with the offset before the gap */
	assert_int_equal(parse("Europe/Berlin", "2026-03-29 02:30"),
			 BERLIN_SPRING_0130Z);
	assert_int_equal(parse("Europe/Berlin", "2026-03-29 03:30"),
			 BERLIN_SPRING_0130Z);
	assert_int_equal(parse("America/New_York", "2026-03-08 02:30"),
			 NY_SPRING_0730Z);
	/* one second before and at the switch */
	tz_local("Europe/Berlin", 1774745999, &lt); /* 00:59:59Z */
	assert_int_equal(lt.tm_hour, 1);
	assert_int_equal(lt.tm_min, 59);
	assert_int_equal(lt.tm_isdst, 0);
	tz_local("Europe/Berlin", 1774746000, &lt); /* 01:00:00Z */
	assert_int_equal(lt.tm_hour, 3);
	assert_int_equal(lt.tm_min, 0);
	assert_int_equal(lt.tm_isdst, 1);
}

static void
test_autumn_fold(void **state)
{
	(void)state;
	/* 02:30 happens twice: the earlier (summer time) is taken */
	assert_int_equal(parse("Europe/Berlin", "2026-10-25 02:30"),
			 BERLIN_AUTUMN_CEST);
	assert_int_equal(parse("America/New_York", "2026-11-01 01:30"),
			 NY_AUTUMN_EDT);
	/* an hour later is unambiguous standard time */
	assert_int_equal(parse("Europe/Berlin", "2026-10-25 03:30"),
			 BERLIN_AUTUMN_CEST + 2 * 3600);
}

static void
test_parse_errors(void **state)
{
	static const char *bad[] = {
	    "2026-02-30 10:00", "2026-1-05 10:00",
	    "2026-01-05T10:00", "2026-01-05 24:00",
	    "2026-01-05 10:60", "2026-01-05 10:00:00",
	    "yesterday",	"",
	    "2026-13-01",	" 2026-01-05 10:00",
	};
	size_t i;
	int64_t t;

	(void)state;
	for (i = 0; i < ARRAY_LEN(bad); i++)
		assert_int_equal(tz_parse("UTC", bad[i], &t), -1);
	assert_int_equal(parse("UTC", "2026-01-05"), 1767571200);
	assert_int_equal(parse("UTC", "2026-01-05 09:00"), 1767603600);
	/* an unknown zone reads as UTC */
	assert_int_equal(parse("Nowhere/Land", "2026-01-05 09:00"), 1767603600);
}

static void
test_day_start(void **state)
{
	int64_t noon = parse("Europe/Berlin", "2026-03-29 12:00");
	char out[40];

	(void)state;
	/* the 23-hour day of the spring switch */
	assert_int_equal(tz_day_start("Europe/Berlin", noon, 0), 1774738800);
	assert_int_equal(tz_day_start("Europe/Berlin", noon, 1), 1774821600);
	assert_int_equal(tz_day_start("Europe/Berlin", noon, 1) -
			     tz_day_start("Europe/Berlin", noon, 0),
			 23 * 3600);
	/* local dates: 00:30 in Berlin is still the previous day in UTC */
	assert_int_equal(
	    tz_day_number("Europe/Berlin",
			  parse("Europe/Berlin", "2026-03-29 00:30")),
	    1774742400 / 86400);
	assert_int_equal(
	    tz_day_number("UTC", parse("Europe/Berlin", "2026-03-29 00:30")),
	    1774742400 / 86400 - 1);
	tz_format("Europe/Berlin", noon, out);
	assert_string_equal(out, "2026-03-29 12:00 CEST");
	tz_format("America/New_York", NY_AUTUMN_EDT + 3600, out);
	assert_string_equal(out, "2026-11-01 01:30 EST");
}

static void
test_working_time(void **state)
{
	struct config cfg;
	struct tz_work w;
	struct person p = {0};

	(void)state;
	config_defaults(&cfg); /* 09:00-17:30 mon-fri, org UTC */
	free(cfg.org_timezone);
	cfg.org_timezone = strdup("Europe/Berlin");
	/* Monday 09:00 in summer time is 07:00Z, a week earlier 08:00Z */
	tz_work_init(&w, &cfg, BERLIN_MON_0900_CEST);
	assert_true(tz_work_zone(&w, NULL));
	assert_true(tz_work_zone(&w, "Europe/Berlin"));
	assert_false(tz_work_zone(&w, "America/New_York")); /* 03:00 */
	assert_false(tz_work_zone(&w, "Europe/London"));    /* 08:00 */
	/* a person's zone overrides; an unknown one falls back to the org */
	snprintf(p.timezone, sizeof(p.timezone), "America/New_York");
	assert_false(tz_work_person(&w, &p));
	snprintf(p.timezone, sizeof(p.timezone), "Bogus/Zone");
	assert_true(tz_work_person(&w, &p));
	p.timezone[0] = '\0';
	assert_true(tz_work_person(&w, &p));
	tz_work_free(&w);
	tz_work_init(&w, &cfg, BERLIN_MON_0900_CEST - 1);
	assert_false(tz_work_zone(&w, NULL)); /* 08:59:59 */
	tz_work_free(&w);
	tz_work_init(&w, &cfg, BERLIN_MON_0900_CET);
	assert_true(tz_work_zone(&w, NULL));
	assert_false(tz_work_zone(&w, "Europe/London")); /* 08:00 GMT */
	tz_work_free(&w);
	/* end of the day is exclusive; Saturday is off */
	tz_work_init(&w, &cfg, parse("Europe/Berlin", "2026-03-30 17:29"));
	assert_true(tz_work_zone(&w, NULL));
	tz_work_free(&w);
	tz_work_init(&w, &cfg, parse("Europe/Berlin", "2026-03-30 17:30"));
	assert_false(tz_work_zone(&w, NULL));
	tz_work_free(&w);
	tz_work_init(&w, &cfg, parse("Europe/Berlin", "2026-03-28 11:00"));
	assert_false(tz_work_zone(&w, NULL));
	tz_work_free(&w);
	config_free(&cfg);
}

static void
test_tz_restored(void **state)
{
	struct tm lt;
	int64_t t;

	(void)state;
	setenv("TZ", "Asia/Tokyo", 1);
	tzset();
	tz_local("Europe/Berlin", 0, &lt);
	assert_int_equal(tz_parse("America/New_York", "2026-01-05 09:00", &t),
			 0);
	assert_string_equal(getenv("TZ"), "Asia/Tokyo");
	unsetenv("TZ");
	tzset();
	tz_local("Europe/Berlin", 0, &lt);
	assert_null(getenv("TZ"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_valid),
	    cmocka_unit_test(test_spring_gap),
	    cmocka_unit_test(test_autumn_fold),
	    cmocka_unit_test(test_parse_errors),
	    cmocka_unit_test(test_day_start),
	    cmocka_unit_test(test_working_time),
	    cmocka_unit_test(test_tz_restored),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * Unit tests of time zones: DST gaps and folds, parsing, working time,
 * the footer rule, and every transition zdump reports for a set of zones.
 */
#include "testutil.h"

#include <pthread.h>

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

/* After the last transition of the file: the POSIX rule of its footer. */
static void
test_footer_rule(void **state)
{
	static const struct {
		const char *zone;
		int64_t t;
		const char *text;
		int isdst;
	} cases[] = {
	    {"Europe/Berlin", 4118126400, "2100-07-01 14:00 CEST", 1},
	    {"Australia/Sydney", 4102444800, "2100-01-01 11:00 AEDT", 1},
	    /* Irish winter time is the negative DST of the rule */
	    {"Europe/Dublin", 4102444800, "2100-01-01 00:00 GMT", 1},
	    {"Europe/Dublin", 4118083200, "2100-07-01 01:00 IST", 0},
	    /* half an hour of summer time */
	    {"Australia/Lord_Howe", 4102444800, "2100-01-01 11:00 +11", 1},
	    {"Australia/Lord_Howe", 4118083200, "2100-07-01 10:30 +1030", 0},
	    {"Asia/Kathmandu", 4102444800, "2100-01-01 05:45 +0545", 0},
	    {"America/Sao_Paulo", 4102444800, "2099-12-31 21:00 -03", 0},
	    {"America/St_Johns", 4118126400, "2100-07-01 09:30 NDT", 1},
	    {"Pacific/Auckland", 4102444800, "2100-01-01 13:00 NZDT", 1},
	    {"Asia/Tokyo", 1768435200, "2026-01-15 09:00 JST", 0},
	    {"UTC", 1768435200, "2026-01-15 00:00 UTC", 0},
	};
	char out[40];
	struct tm lt;
	int64_t back;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_LEN(cases); i++) {
		tz_format(cases[i].zone, cases[i].t, out);
		assert_string_equal(out, cases[i].text);
		tz_local(cases[i].zone, cases[i].t, &lt);
		assert_int_equal(lt.tm_isdst, cases[i].isdst);
		assert_int_equal(tz_make(cases[i].zone, &lt, &back), 0);
		assert_int_equal(back, cases[i].t);
	}
}

static void
test_odd_offsets(void **state)
{
	(void)state;
	/* Lord Howe: 02:00 -> 02:30 in spring, 02:00 -> 01:30 in autumn */
	assert_int_equal(parse("Australia/Lord_Howe", "2026-10-04 02:15"),
			 1791042300);
	assert_int_equal(parse("Australia/Lord_Howe", "2026-04-05 01:45"),
			 1775313900);
	/* Dublin: the gap and the fold with negative DST */
	assert_int_equal(parse("Europe/Dublin", "2026-10-25 01:30"),
			 1792888200);
	assert_int_equal(parse("Europe/Dublin", "2026-03-29 01:30"),
			 1774747800);
	assert_int_equal(parse("Asia/Kathmandu", "2026-01-05 09:00"),
			 1767603600 - 5 * 3600 - 45 * 60);
}

static int
same_wall(const struct tm *a, const struct tm *b)
{
	return a->tm_year == b->tm_year && a->tm_mon == b->tm_mon &&
	       a->tm_mday == b->tm_mday && a->tm_hour == b->tm_hour &&
	       a->tm_min == b->tm_min && a->tm_sec == b->tm_sec;
}

static int
month_index(const char *name)
{
	static const char *months[] = {"Jan", "Feb", "Mar", "Apr",
				       "May", "Jun", "Jul", "Aug",
				       "Sep", "Oct", "Nov", "Dec"};
	size_t i;

	for (i = 0; i < ARRAY_LEN(months); i++)
		if (strcmp(months[i], name) == 0)
			return (int)i;
	return -1;
}

/* One line of zdump -v: "Zone  Sun Mar 30 00:59:59 2025 UT = ...". */
struct zline {
	int64_t t;
	struct tm local;
	char abbr[16];
	long gmtoff;
};

static int
zline_parse(const char *line, struct zline *z)
{
	char zone[64], wd1[4], mon1[4], wd2[4], mon2[4];
	struct tm ut = {0};
	int isdst;

	memset(z, 0, sizeof(*z));
	if (sscanf(line,
		   "%63s %3s %3s %d %d:%d:%d %d UT = %3s %3s %d %d:%d:%d %d "
		   "%15s isdst=%d gmtoff=%ld",
		   zone, wd1, mon1, &ut.tm_mday, &ut.tm_hour, &ut.tm_min,
		   &ut.tm_sec, &ut.tm_year, wd2, mon2, &z->local.tm_mday,
		   &z->local.tm_hour, &z->local.tm_min, &z->local.tm_sec,
		   &z->local.tm_year, z->abbr, &isdst, &z->gmtoff) != 18)
		return -1;
	ut.tm_mon = month_index(mon1);
	z->local.tm_mon = month_index(mon2);
	if (ut.tm_mon < 0 || z->local.tm_mon < 0)
		return -1;
	ut.tm_year -= 1900;
	z->local.tm_year -= 1900;
	z->local.tm_isdst = isdst;
	z->t = (int64_t)timegm(&ut);
	return 0;
}

/* tz_local agrees with zdump's line; tz_make finds the instant again. */
static void
zline_check(const char *zone, const struct zline *z)
{
	struct tm lt, back;
	int64_t made;

	tz_local(zone, z->t, &lt);
	if (!same_wall(&lt, &z->local) || lt.tm_isdst != z->local.tm_isdst ||
	    lt.tm_gmtoff != z->gmtoff || lt.tm_zone == NULL ||
	    strcmp(lt.tm_zone, z->abbr) != 0)
		fail_msg("%s at %lld: %04d-%02d-%02d %02d:%02d:%02d %s dst=%d "
			 "off=%ld, zdump says %s isdst=%d gmtoff=%ld",
			 zone, (long long)z->t, lt.tm_year + 1900,
			 lt.tm_mon + 1, lt.tm_mday, lt.tm_hour, lt.tm_min,
			 lt.tm_sec, lt.tm_zone ? lt.tm_zone : "(null)",
			 lt.tm_isdst, (long)lt.tm_gmtoff, z->abbr,
			 z->local.tm_isdst, z->gmtoff);
	/* the minute of the instant, or its earlier twin in a fold */
	assert_int_equal(tz_make(zone, &lt, &made), 0);
	if (made != z->t - lt.tm_sec) {
		assert_true(made < z->t - lt.tm_sec);
		tz_local(zone, made, &back);
		back.tm_sec = lt.tm_sec;
		if (!same_wall(&back, &lt))
			fail_msg(
			    "%s: tz_make of the wall time at %lld gave %lld",
			    zone, (long long)z->t, (long long)made);
	}
}

/*
 * A transition from zdump's pair of lines (before, after): a gap reads
 * its first minute with the offset before it, a fold takes the earlier.
 */
static void
zpair_check(const char *zone, const struct zline *before,
	    const struct zline *after)
{
	int64_t made, jump = after->gmtoff - before->gmtoff;
	struct tm wall;

	if (after->t % 60 != 0 || jump % 60 != 0)
		return; /* local mean time: not on a minute */
	if (jump > 0) {
		wall = before->local;
		/* from hh:mm:59 to the first minute of the gap */
		wall.tm_sec = 0;
		wall.tm_min += 1;
		assert_int_equal(tz_make(zone, &wall, &made), 0);
		assert_int_equal(made, after->t);
	} else if (jump < 0) {
		assert_int_equal(tz_make(zone, &after->local, &made), 0);
		assert_int_equal(made, after->t + jump);
	}
}

/* Every transition zdump knows between 1970 and 2100 (zdump -v). */
static void
test_zdump(void **state)
{
	static const char *zones[] = {
	    "Europe/Berlin",
	    "Europe/London",
	    "Europe/Dublin",
	    "America/New_York",
	    "America/Sao_Paulo",
	    "America/St_Johns",
	    "Australia/Sydney",
	    "Australia/Lord_Howe",
	    "Asia/Kathmandu",
	    "Asia/Tokyo",
	    "Pacific/Auckland",
	    "Africa/Casablanca",
	    "Pacific/Chatham",
	    "America/Santiago",
	    "Asia/Tehran",
	    "America/Los_Angeles",
	    "UTC",
	};
	char cmd[160], line[512];
	struct zline z, prev = {0};
	size_t i, lines, total = 0;
	int have_prev;
	FILE *fp;

	(void)state;
	if (system("zdump -v -c 2000,2001 UTC >/dev/null 2>&1") != 0) {
		print_message("zdump not found: comparison skipped\n");
		skip();
	}
	for (i = 0; i < ARRAY_LEN(zones); i++) {
		snprintf(cmd, sizeof(cmd), "zdump -v -c 1970,2100 %s",
			 zones[i]);
		fp = popen(cmd, "r");
		assert_non_null(fp);
		lines = 0;
		have_prev = 0;
		while (fgets(line, sizeof(line), fp) != NULL) {
			if (zline_parse(line, &z) < 0) {
				have_prev = 0;
				continue;
			}
			zline_check(zones[i], &z);
			/* zdump prints each transition as t - 1, t */
			if (have_prev && z.t == prev.t + 1)
				zpair_check(zones[i], &prev, &z);
			prev = z;
			have_prev = 1;
			lines++;
		}
		assert_int_equal(pclose(fp), 0);
		print_message("%-20s %zu instants\n", zones[i], lines);
		total += lines;
	}
	print_message("zdump: %zu instants in %zu zones agree\n", total,
		      ARRAY_LEN(zones));
	assert_true(total > 1000);
}

struct worker {
	const char *zone;
	int64_t t;
	struct tm first;
	int64_t sum;
};

static void *
worker_run(void *arg)
{
	struct worker *w = arg;
	struct tm lt;
	int i;

	w->sum = 0;
	for (i = 0; i < 20000; i++) {
		tz_local(w->zone, w->t + (int64_t)i * 3600, &lt);
		if (i == 0)
			w->first = lt;
		w->sum += lt.tm_gmtoff + lt.tm_hour;
	}
	return NULL;
}

/* Conversions from several threads share the cache (clean under ASan). */
static void
test_threads(void **state)
{
	static const char *zones[] = {"Europe/Paris", "Asia/Kolkata",
				      "America/Chicago", "Europe/Paris"};
	struct worker w[ARRAY_LEN(zones)];
	pthread_t th[ARRAY_LEN(zones)];
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_LEN(zones); i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].zone = zones[i];
		w[i].t = 1767603600;
	}
	/* the first conversion of each zone races on the cache */
	for (i = 0; i < ARRAY_LEN(zones); i++)
		assert_int_equal(
		    pthread_create(&th[i], NULL, worker_run, &w[i]), 0);
	for (i = 0; i < ARRAY_LEN(zones); i++)
		assert_int_equal(pthread_join(th[i], NULL), 0);
	/* the same answers again, now from the filled cache */
	for (i = 0; i < ARRAY_LEN(zones); i++) {
		struct worker again = w[i];

		worker_run(&again);
		assert_true(same_wall(&again.first, &w[i].first));
		assert_int_equal(again.sum, w[i].sum);
	}
}

/* Past the cache's bound zones are still right, read per call. */
static void
test_cache_full(void **state)
{
	char name[32], out[40];
	struct tm lt;
	int i;

	(void)state;
	for (i = 0; i < 200; i++) {
		snprintf(name, sizeof(name), "Nowhere/Zone%03d", i);
		tz_local(name, 0, &lt);
		assert_int_equal(lt.tm_gmtoff, 0);
	}
	tz_local("Pacific/Chatham", 1768435200, &lt);
	assert_int_equal(lt.tm_gmtoff, 13 * 3600 + 45 * 60);
	assert_int_equal(lt.tm_isdst, 1);
	tz_format("Pacific/Chatham", 1768435200, out);
	assert_string_equal(out, "2026-01-15 13:45 +1345");
	assert_true(tz_valid("Pacific/Chatham"));
	assert_false(tz_valid("Nowhere/Zone250"));
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
	    cmocka_unit_test(test_footer_rule),
	    cmocka_unit_test(test_odd_offsets),
	    cmocka_unit_test(test_zdump),
	    cmocka_unit_test(test_threads),
	    /* last: it fills the zone cache */
	    cmocka_unit_test(test_cache_full),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_slack_refusals.c - requests refused for their signature are
 * counted and logged in one line at most once a minute; a line says the
 * local clock may be off when most were correctly signed but stale.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <uv.h>

#include "../../adapters/slack_refusals.h"
#include "../../adapters/slack_sig.h"

#define SECRET "8f2b4d6e0a1c3e5f7b9d2f4a6c8e0b1d"
#define BODY   "token=x&command=%2Fincident&text=hello"

/* stderr goes to a file while a test runs; its text is read back */
struct capture {
	char path[64];
	int saved;
};

static void
capture_start(struct capture *c)
{
	int fd;

	snprintf(c->path, sizeof(c->path), "/tmp/refusals-XXXXXX");
	fd = mkstemp(c->path);
	assert_true(fd >= 0);
	fflush(stderr);
	c->saved = dup(2);
	dup2(fd, 2);
	close(fd);
}

/* the captured text (caller frees); stderr restored */
static char *
capture_stop(struct capture *c)
{
	FILE *fp;
	char *text = calloc(1, 65536);
	size_t n;

	fflush(stderr);
	dup2(c->saved, 2);
	close(c->saved);
	fp = fopen(c->path, "r");
	assert_non_null(fp);
	n = fread(text, 1, 65535, fp);
	text[n] = '\0';
	fclose(fp);
	unlink(c->path);
	return text;
}

static int
count_of(const char *hay, const char *needle)
{
	int n = 0;

	for (; (hay = strstr(hay, needle)) != NULL; hay++)
		n++;
	return n;
}

static void
note_stale(struct slack_refusals *r, int64_t now, int64_t age, int right)
{
	char ts[32], sig[SLACK_SIG_LEN + 1];

	snprintf(ts, sizeof(ts), "%lld", (long long)(now - age));
	slack_sig_compute(right ? SECRET : "another secret", ts, BODY,
			  strlen(BODY), sig);
	assert_int_equal(
	    slack_sig_verify(SECRET, ts, sig, BODY, strlen(BODY), now),
	    SLACK_SIG_STALE);
	slack_refusals_note(r, SLACK_SIG_STALE, SECRET, ts, sig, BODY,
			    strlen(BODY), now);
}

static void
test_counted_once_a_minute(void **state)
{
	struct capture cap;
	uv_loop_t loop;
	struct slack_refusals *r;
	int64_t now = (int64_t)time(NULL);
	char *log;
	int i;

	(void)state;
	uv_loop_init(&loop);
	r = slack_refusals_new(&loop);
	capture_start(&cap);
	/* the first is logged at once */
	slack_refusals_note(r, SLACK_SIG_MISSING, SECRET, NULL, NULL, BODY,
			    strlen(BODY), now);
	assert_int_equal(slack_refusals_lines(r), 1);
	/* the next ones within the minute only counted */
	for (i = 0; i < 100; i++)
		slack_refusals_note(r, SLACK_SIG_BAD, SECRET, "1", "v0=00",
				    BODY, strlen(BODY), now);
	note_stale(r, now, 400, 0); /* stale, and not signed by us */
	uv_run(&loop, UV_RUN_NOWAIT);
	assert_int_equal(slack_refusals_lines(r), 1);
	assert_int_equal(slack_refusals_count(r), 102);
	/* stopping writes what is still uncounted */
	slack_refusals_stop(r);
	uv_run(&loop, UV_RUN_DEFAULT);
	log = capture_stop(&cap);
	assert_int_equal(count_of(log, "slack: refused"), 2);
	assert_non_null(strstr(log,
			       "slack: refused 1 request without a valid "
			       "signature (1 missing, 0 stale, 0 forged)"));
	assert_non_null(strstr(log, "slack: refused 101 requests without a "
				    "valid signature (0 missing, 1 stale, 100 "
				    "forged); counted"));
	assert_null(strstr(log, "clock"));
	assert_null(strstr(log, BODY));
	free(log);
	assert_int_equal(uv_loop_close(&loop), 0);
}

static void
test_clock_hint(void **state)
{
	struct capture cap;
	uv_loop_t loop;
	struct slack_refusals *r;
	int64_t now = (int64_t)time(NULL);
	char *log;

	(void)state;
	uv_loop_init(&loop);
	r = slack_refusals_new(&loop);
	capture_start(&cap);
	/* Slack's requests, rightly signed, look 10 minutes old here */
	note_stale(r, now, 600, 1);
	note_stale(r, now, 601, 1);
	note_stale(r, now, 602, 1);
	slack_refusals_note(r, SLACK_SIG_BAD, SECRET, "1", "v0=00", BODY,
			    strlen(BODY), now);
	note_stale(r, now, -700, 1); /* and one from the future */
	slack_refusals_stop(r);
	uv_run(&loop, UV_RUN_DEFAULT);
	log = capture_stop(&cap);
	assert_non_null(strstr(log, "slack: refused 1 request without a valid "
				    "signature (0 missing, 1 stale, 0 forged); "
				    "1 correctly signed but stale (the latest "
				    "600 s behind the local clock): the local "
				    "clock may be off (check NTP)"));
	assert_non_null(strstr(log,
			       "slack: refused 4 requests without a valid "
			       "signature (0 missing, 3 stale, 1 forged); "
			       "3 correctly signed but stale (the latest "
			       "700 s ahead of the local clock): the local "
			       "clock may be off"));
	free(log);
	assert_int_equal(uv_loop_close(&loop), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_counted_once_a_minute),
	    cmocka_unit_test(test_clock_hint),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Unit tests of the metric registry and its Prometheus rendering. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "../../base/metrics.h"

static char *
render(struct metrics *m)
{
	struct buf b = {0};

	metrics_render(m, &b);
	return buf_steal(&b);
}

static void
test_counter_and_gauge(void **state)
{
	struct metrics *m = metrics_new();
	struct metric *c, *g;
	char *t;

	(void)state;
	c = metrics_declare(m, "x_requests_total", "Requests.", METRIC_COUNTER,
			    "transport,result", NULL, 0);
	g = metrics_declare(m, "x_up", "Up.", METRIC_GAUGE, NULL, NULL, 0);
	assert_non_null(c);
	assert_non_null(g);
	/* declaring again gives the same family */
	assert_ptr_equal(metrics_declare(m, "x_requests_total", "",
					 METRIC_GAUGE, NULL, NULL, 0),
			 c);
	metrics_inc(m, "x_requests_total", "slack", "ok", NULL);
	metrics_inc(m, "x_requests_total", "slack", "ok", NULL);
	metric_add(c, 3, "mail", "refused", NULL);
	metric_add(c, -1, "mail", "refused", NULL); /* counters only go up */
	metric_set(g, 2, NULL, NULL, NULL);
	metric_set(g, 1, NULL, NULL, NULL);
	metric_set(c, 99, "slack", "ok", NULL); /* not on a counter */
	assert_true(metric_value(c, "slack", "ok", NULL) == 2);
	assert_true(metric_value(c, "mail", "refused", NULL) == 3);
	assert_true(metric_value(c, "matrix", "ok", NULL) == 0);
	t = render(m);
	assert_string_equal(
	    t, "# HELP x_requests_total Requests.\n"
	       "# TYPE x_requests_total counter\n"
	       "x_requests_total{transport=\"slack\",result=\"ok\"} 2\n"
	       "x_requests_total{transport=\"mail\",result=\"refused\"} 3\n"
	       "# HELP x_up Up.\n"
	       "# TYPE x_up gauge\n"
	       "x_up 1\n");
	free(t);
	metric_reset(g);
	t = render(m);
	assert_null(strstr(t, "x_up 1"));
	free(t);
	metrics_free(m);
}

static void
test_escaping_and_values(void **state)
{
	struct metrics *m = metrics_new();
	struct metric *g;
	char *t;

	(void)state;
	g = metrics_declare(m, "x_info", "Back\\slash and\nline.", METRIC_GAUGE,
			    "v", NULL, 0);
	metric_set(g, 0.25, "a\"b\\c\nd", NULL, NULL);
	metric_set(g, 1e20, "big", NULL, NULL);
	metric_set(g, -3, "neg", NULL, NULL);
	t = render(m);
	assert_non_null(strstr(t, "# HELP x_info Back\\\\slash and\\nline.\n"));
	assert_non_null(strstr(t, "x_info{v=\"a\\\"b\\\\c\\nd\"} 0.25\n"));
	assert_non_null(strstr(t, "x_info{v=\"big\"} 1e+20\n"));
	assert_non_null(strstr(t, "x_info{v=\"neg\"} -3\n"));
	free(t);
	/* bad names and labels are refused */
	assert_null(metrics_declare(m, "9x", "", METRIC_GAUGE, NULL, NULL, 0));
	assert_null(metrics_declare(m, "x-y", "", METRIC_GAUGE, NULL, NULL, 0));
	assert_null(
	    metrics_declare(m, "x_z", "", METRIC_GAUGE, "a:b", NULL, 0));
	assert_null(metrics_declare(m, "x_h", "", METRIC_HISTOGRAM, "le",
				    (const double[]){1}, 1));
	assert_null(metrics_declare(m, "x_h", "", METRIC_HISTOGRAM, NULL,
				    (const double[]){2, 1}, 2));
	/* NULL families are ignored */
	metric_add(NULL, 1, NULL, NULL, NULL);
	metrics_inc(m, "no_such_total", NULL, NULL, NULL);
	metrics_free(m);
}

static void
test_histogram(void **state)
{
	static const double bounds[] = {0.1, 1, 10};
	struct metrics *m = metrics_new();
	struct metric *h;
	char *t;

	(void)state;
	h = metrics_declare(m, "x_seconds", "Latency.", METRIC_HISTOGRAM, NULL,
			    bounds, 3);
	assert_non_null(h);
	metric_observe(h, 0.05, NULL, NULL, NULL);
	metric_observe(h, 0.1, NULL, NULL, NULL); /* le is inclusive */
	metric_observe(h, 5, NULL, NULL, NULL);
	metric_observe(h, 50, NULL, NULL, NULL);
	assert_true(metric_value(h, NULL, NULL, NULL) == 4);
	t = render(m);
	assert_string_equal(t, "# HELP x_seconds Latency.\n"
			       "# TYPE x_seconds histogram\n"
			       "x_seconds_bucket{le=\"0.1\"} 2\n"
			       "x_seconds_bucket{le=\"1\"} 2\n"
			       "x_seconds_bucket{le=\"10\"} 3\n"
			       "x_seconds_bucket{le=\"+Inf\"} 4\n"
			       "x_seconds_sum 55.149999999999999\n"
			       "x_seconds_count 4\n");
	free(t);
	metrics_free(m);
}

static void
test_histogram_labels(void **state)
{
	static const double bounds[] = {1, 2};
	struct metrics *m = metrics_new();
	struct metric *h;
	char *t;

	(void)state;
	h = metrics_declare(m, "x_size", "Sizes.", METRIC_HISTOGRAM, "t",
			    bounds, 2);
	metric_observe(h, 2, "a", NULL, NULL);
	t = render(m);
	assert_non_null(strstr(t, "x_size_bucket{t=\"a\",le=\"1\"} 0\n"
				  "x_size_bucket{t=\"a\",le=\"2\"} 1\n"
				  "x_size_bucket{t=\"a\",le=\"+Inf\"} 1\n"
				  "x_size_sum{t=\"a\"} 2\n"
				  "x_size_count{t=\"a\"} 1\n"));
	free(t);
	metrics_free(m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_counter_and_gauge),
	    cmocka_unit_test(test_escaping_and_values),
	    cmocka_unit_test(test_histogram),
	    cmocka_unit_test(test_histogram_labels),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

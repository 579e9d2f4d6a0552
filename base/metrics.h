/*
 * A small metric registry: counters, gauges and fixed-bucket histograms
 * with labels, rendered in the Prometheus text exposition format 0.0.4.
 * No I/O and no globals: the daemon owns one registry and lends it to
 * whoever counts; rendering appends to a struct buf. Loop thread only.
 */
#ifndef ISMS_METRICS_H
#define ISMS_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

enum metric_type { METRIC_COUNTER, METRIC_GAUGE, METRIC_HISTOGRAM };

#define METRIC_MAX_LABELS  3
#define METRIC_MAX_BUCKETS 16

struct metrics;
struct metric;

struct metrics *metrics_new(void);
void metrics_free(struct metrics *m);

/*
 * Declares a family (name, help text, type, its label names separated by
 * commas or NULL, and for histograms the upper bounds, ascending, without
 * +Inf). Declaring the same name again returns the existing family.
 * Families render in the order declared. Names must match
 * [a-zA-Z_:][a-zA-Z0-9_:]* (checked: NULL when not).
 */
struct metric *metrics_declare(struct metrics *m, const char *name,
			       const char *help, enum metric_type type,
			       const char *labels, const double *bounds,
			       size_t nbounds);

/* The family of that name, or NULL. */
struct metric *metrics_find(struct metrics *m, const char *name);

/*
 * The sample operations take the label values in the order of the
 * family's label names (as many as it has; NULL is the empty string).
 * A NULL family is ignored, so callers need not check.
 */
void metric_add(struct metric *f, double v, const char *l1, const char *l2,
		const char *l3);
void metric_set(struct metric *f, double v, const char *l1, const char *l2,
		const char *l3);
void metric_observe(struct metric *f, double v, const char *l1, const char *l2,
		    const char *l3);
/* A sample's value (histograms: the count), 0 when it does not exist. */
double metric_value(struct metric *f, const char *l1, const char *l2,
		    const char *l3);
/* Forgets every sample of a gauge family (before it is set anew). */
void metric_reset(struct metric *f);

/* Shorthands: counters by one, by name. */
void metrics_inc(struct metrics *m, const char *name, const char *l1,
		 const char *l2, const char *l3);

/* Appends the exposition of every family to out. */
void metrics_render(const struct metrics *m, struct buf *out);

/* A label value escaped for the exposition (\\, \" and \n). */
void metrics_escape_label(struct buf *out, const char *v);

#endif

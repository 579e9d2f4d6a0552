/*
 * Working-time policy: a recipient's zone and whether an instant falls
 * inside the organisation's working days and hours there. The arithmetic
 * is base/tz; this adds the configuration and the directory.
 */
#ifndef ISMS_WORKTIME_H
#define ISMS_WORKTIME_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "../base/tz.h"
#include "../config/config.h"
#include "../store/store.h"

/* A person's zone: their own when set and valid, else the organisation's. */
const char *tz_zone_of(const struct config *cfg, const struct person *p);

/* Inside cfg's working days and hours at local time lt. */
int tz_in_hours(const struct config *cfg, const struct tm *lt);

/*
 * Working time of recipients as of one instant, memoised per zone (a
 * scheduler pass asks for thousands of people in a handful of zones).
 * cfg is borrowed for the life of w; release with tz_work_free.
 */
struct tz_memo;

struct tz_work {
	const struct config *cfg;
	int64_t now;
	struct tz_memo *memo;
	size_t n, cap;
};

void tz_work_init(struct tz_work *w, const struct config *cfg, int64_t now);
void tz_work_free(struct tz_work *w);
/* 1 when it is working time in zone (NULL or "": the org zone), else 0. */
int tz_work_zone(struct tz_work *w, const char *zone);
/* Same for a person (their zone, else the org zone). */
int tz_work_person(struct tz_work *w, const struct person *p);

#endif

/*
 * Time zones and working time: an instant in an IANA zone and back, and
 * whether a recipient is inside the working days and hours. Loop thread
 * only (switches TZ with setenv/tzset and restores it).
 */
#ifndef ISMS_TZ_H
#define ISMS_TZ_H

#include <stdint.h>
#include <time.h>

#include "../config/config.h"
#include "../store/store.h"

/* 1 when zone names an installed IANA zone (e.g. Europe/Berlin), else 0. */
int tz_valid(const char *zone);

/* Local broken-down time of t in zone (UTC when zone is unknown). */
void tz_local(const char *zone, int64_t t, struct tm *out);

/*
 * The instant of a local wall-clock time (tm_year .. tm_min). A time that
 * occurs twice (autumn) is the earlier; one in a spring gap is read with
 * the offset before the gap (02:30 becomes 03:30). 0 or -1.
 */
int tz_make(const char *zone, const struct tm *local, int64_t *out);

/* "YYYY-MM-DD HH:MM" (or "YYYY-MM-DD", meaning 00:00) in zone. 0 or -1. */
int tz_parse(const char *zone, const char *text, int64_t *out);

/* "2026-01-05 09:00 CET" */
void tz_format(const char *zone, int64_t t, char out[40]);

/* The local date of t in zone as days since 1970-01-01. */
int64_t tz_day_number(const char *zone, int64_t t);

/* Midnight at the start of the local day of t, plus days days. */
int64_t tz_day_start(const char *zone, int64_t t, int days);

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

/*
 * Time-zone arithmetic: an instant in an IANA zone and back, read from
 * the system's zone files (TZif) without touching the process's TZ.
 * Pure functions, safe from any thread; zones are loaded once and cached.
 */
#ifndef ISMS_BASE_TZ_H
#define ISMS_BASE_TZ_H

#include <stdint.h>
#include <time.h>

/* 1 when zone names an installed IANA zone (e.g. Europe/Berlin), else 0. */
int tz_valid(const char *zone);

/*
 * Local broken-down time of t in zone (UTC when zone is unknown), with
 * tm_isdst, tm_gmtoff and tm_zone (the abbreviation, borrowed from the
 * zone cache for the life of the process).
 */
void tz_local(const char *zone, int64_t t, struct tm *out);

/*
 * The instant of a local wall-clock time (tm_year .. tm_min, normalised
 * like mktime; tm_sec and tm_isdst are ignored). A time that occurs twice
 * (autumn) is the earlier; one in a spring gap is read with the offset
 * before the gap (02:30 becomes 03:30). 0 or -1.
 */
int tz_make(const char *zone, const struct tm *local, int64_t *out);

/* "YYYY-MM-DD HH:MM" (or "YYYY-MM-DD", meaning 00:00) in zone. 0 or -1. */
int tz_parse(const char *zone, const char *text, int64_t *out);

/* "2026-01-05 09:00 CET": the zone's own abbreviation at t. */
void tz_format(const char *zone, int64_t t, char out[40]);

/* The local date of t in zone as days since 1970-01-01. */
int64_t tz_day_number(const char *zone, int64_t t);

/* Midnight at the start of the local day of t, plus days days. */
int64_t tz_day_start(const char *zone, int64_t t, int days);

#endif

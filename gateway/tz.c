/*
 * Time zones through the C library: TZ is set for the duration of one
 * conversion and restored afterwards. Working time is memoised per zone
 * for one instant.
 */
#include "tz.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define TZ_DIR "/usr/share/zoneinfo"

struct tz_memo {
	char zone[64];
	int working;
};

int
tz_valid(const char *zone)
{
	char path[512];
	struct stat sb;
	const char *p;

	if (zone == NULL || *zone == '\0' || strlen(zone) > 60 ||
	    strstr(zone, "..") != NULL || zone[0] == '/')
		return 0;
	for (p = zone; *p; p++)
		if (!isalnum((unsigned char)*p) && strchr("/_+-", *p) == NULL)
			return 0;
	/* where the zone database is installed, the zone must exist */
	if (stat(TZ_DIR, &sb) != 0)
		return 1;
	snprintf(path, sizeof(path), TZ_DIR "/%s", zone);
	return stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
}

/* Switches to zone; returns the previous TZ for tz_leave (may be NULL). */
static char *
tz_enter(const char *zone)
{
	const char *old = getenv("TZ");
	char *saved = old ? xstrdup(old) : NULL;

	setenv("TZ", tz_valid(zone) ? zone : "UTC", 1);
	tzset();
	return saved;
}

static void
tz_leave(char *saved)
{
	if (saved != NULL)
		setenv("TZ", saved, 1);
	else
		unsetenv("TZ");
	tzset();
	free(saved);
}

void
tz_local(const char *zone, int64_t t, struct tm *out)
{
	char *saved = tz_enter(zone);
	time_t tt = (time_t)t;

	localtime_r(&tt, out);
	tz_leave(saved);
}

static int
same_minute(const struct tm *a, const struct tm *b)
{
	return a->tm_year == b->tm_year && a->tm_mon == b->tm_mon &&
	       a->tm_mday == b->tm_mday && a->tm_hour == b->tm_hour &&
	       a->tm_min == b->tm_min;
}

int
tz_make(const char *zone, const struct tm *local, int64_t *out)
{
	char *saved = tz_enter(zone);
	int64_t best = 0;
	int found = 0, dst, rc = 0;

	/* try both offsets; keep the earliest that reads back unchanged */
	for (dst = 1; dst >= 0; dst--) {
		struct tm in = *local, back;
		time_t t;

		in.tm_sec = 0;
		in.tm_isdst = dst;
		t = mktime(&in);
		if (t == (time_t)-1)
			continue;
		localtime_r(&t, &back);
		if (same_minute(&back, local) && (!found || t < best)) {
			best = (int64_t)t;
			found = 1;
		}
	}
	if (!found) {
		/* a spring gap: read with the standard (earlier) offset */
		struct tm in = *local;
		time_t t;

		in.tm_sec = 0;
		in.tm_isdst = 0;
		t = mktime(&in);
		if (t == (time_t)-1)
			rc = -1;
		best = (int64_t)t;
	}
	tz_leave(saved);
	if (rc == 0)
		*out = best;
	return rc;
}

int
tz_parse(const char *zone, const char *text, int64_t *out)
{
	struct tm tm = {0};
	int y, mo, d, h = 0, mi = 0, n = 0;
	size_t len;

	if (text == NULL)
		return -1;
	len = strlen(text);
	if (len == 10) {
		if (sscanf(text, "%4d-%2d-%2d%n", &y, &mo, &d, &n) != 3 ||
		    n != 10)
			return -1;
	} else if (len == 16) {
		if (sscanf(text, "%4d-%2d-%2d %2d:%2d%n", &y, &mo, &d, &h, &mi,
			   &n) != 5 ||
		    n != 16 || text[10] != ' ' || text[13] != ':')
			return -1;
	} else {
		return -1;
	}
	if (y < 1970 || y > 9999 || mo < 1 || mo > 12 || d < 1 || d > 31 ||
	    h > 23 || mi > 59 || !isdigit((unsigned char)text[0]))
		return -1;
	{
		char date[16];
		int64_t check;

		/* reject 2026-02-31 and friends */
		snprintf(date, sizeof(date), "%.10s", text);
		if (time_parse_date(date, &check) < 0)
			return -1;
	}
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	return tz_make(zone, &tm, out);
}

void
tz_format(const char *zone, int64_t t, char out[40])
{
	char *saved = tz_enter(zone);
	time_t tt = (time_t)t;
	struct tm tm;

	localtime_r(&tt, &tm);
	strftime(out, 40, "%Y-%m-%d %H:%M %Z", &tm);
	tz_leave(saved);
}

int64_t
tz_day_number(const char *zone, int64_t t)
{
	struct tm lt, day = {0};

	tz_local(zone, t, &lt);
	day.tm_year = lt.tm_year;
	day.tm_mon = lt.tm_mon;
	day.tm_mday = lt.tm_mday;
	return (int64_t)timegm(&day) / 86400;
}

int64_t
tz_day_start(const char *zone, int64_t t, int days)
{
	struct tm lt;
	int64_t r;

	tz_local(zone, t, &lt);
	lt.tm_mday += days;
	lt.tm_hour = lt.tm_min = lt.tm_sec = 0;
	/* normalise the date in UTC arithmetic, then place it in the zone */
	{
		time_t u = timegm(&lt);

		gmtime_r(&u, &lt);
	}
	if (tz_make(zone, &lt, &r) < 0)
		return t;
	return r;
}

const char *
tz_zone_of(const struct config *cfg, const struct person *p)
{
	if (p != NULL && p->timezone[0] != '\0')
		return p->timezone;
	return cfg->org_timezone;
}

int
tz_in_hours(const struct config *cfg, const struct tm *lt)
{
	int min = lt->tm_hour * 60 + lt->tm_min;

	return (cfg->work_days & (1u << lt->tm_wday)) != 0 &&
	       min >= cfg->work_start_min && min < cfg->work_end_min;
}

void
tz_work_init(struct tz_work *w, const struct config *cfg, int64_t now)
{
	memset(w, 0, sizeof(*w));
	w->cfg = cfg;
	w->now = now;
}

void
tz_work_free(struct tz_work *w)
{
	free(w->memo);
	w->memo = NULL;
	w->n = w->cap = 0;
}

int
tz_work_zone(struct tz_work *w, const char *zone)
{
	struct tm lt;
	size_t i;

	if (zone == NULL || *zone == '\0')
		zone = w->cfg->org_timezone;
	for (i = 0; i < w->n; i++)
		if (strcmp(w->memo[i].zone, zone) == 0)
			return w->memo[i].working;
	/* an unknown zone (a stale directory entry) reads as the org's */
	tz_local(tz_valid(zone) ? zone : w->cfg->org_timezone, w->now, &lt);
	if (w->n == w->cap) {
		w->cap = w->cap ? w->cap * 2 : 8;
		w->memo = xrealloc(w->memo, w->cap * sizeof(*w->memo));
	}
	snprintf(w->memo[w->n].zone, sizeof(w->memo[w->n].zone), "%s", zone);
	w->memo[w->n].working = tz_in_hours(w->cfg, &lt);
	return w->memo[w->n++].working;
}

int
tz_work_person(struct tz_work *w, const struct person *p)
{
	return tz_work_zone(w, tz_zone_of(w->cfg, p));
}

/*
 * Time zones from the system's zone files (RFC 8536 TZif, versions 1-3):
 * transitions by binary search, and the POSIX TZ rule of the footer for
 * instants after the last one. Each zone is read once into a bounded
 * cache shared by all threads; the process's TZ is never consulted.
 */
#include "tz.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define TZ_DIR	     "/usr/share/zoneinfo"
#define TZ_NAME_MAX  60
#define TZ_ABBR_MAX  16
#define TZ_CACHE_MAX 128
#define TZ_FILE_MAX  (256 * 1024)
#define DAY	     86400

struct tz_type {
	int32_t off; /* seconds east of UTC */
	int isdst;
	char abbr[TZ_ABBR_MAX];
};

/* A POSIX rule date (Jn, n or Mm.w.d) and the local time of the switch. */
struct tz_date {
	char kind; /* 'J': 1-365 without Feb 29, 'D': 0-365, 'M': weekday */
	int day, mon, week, wday;
	int32_t secs;
};

/* A footer such as "CET-1CEST,M3.5.0,M10.5.0/3". */
struct tz_rule {
	struct tz_type std, dst;
	int has_dst;
	struct tz_date start, end;
};

struct tz_zone {
	int64_t *trans; /* ascending UTC instants */
	uint8_t *idx;	/* the type in effect from each transition on */
	size_t ntrans;
	struct tz_type *types;
	size_t ntypes;
	int has_rule; /* the footer governs after the last transition */
	struct tz_rule rule;
};

static struct tz_type tz_utc_type[1] = {{0, 0, "UTC"}};
static struct tz_zone tz_utc = {.types = tz_utc_type, .ntypes = 1};

/*
 * The zone cache: the one piece of shared state, because reading a zone
 * file per conversion would put file I/O in every scheduler pass. Entries
 * are never freed or changed once added, so a zone found under the lock
 * is used without it. A name that could not be read maps to UTC.
 */
struct tz_entry {
	char name[TZ_NAME_MAX + 1];
	struct tz_zone *zone;
};

static pthread_mutex_t tz_lock = PTHREAD_MUTEX_INITIALIZER;
static struct tz_entry tz_cache[TZ_CACHE_MAX];
static size_t tz_ncache;

static void *
tz_alloc(size_t n)
{
	void *p = calloc(1, n ? n : 1);

	if (p == NULL) {
		fputs("tz: out of memory\n", stderr);
		abort();
	}
	return p;
}

/* Calendar arithmetic on days since 1970-01-01 (proleptic Gregorian). */

static int64_t
floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static int
is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int
month_days(int64_t y, int m)
{
	static const int days[] = {31, 28, 31, 30, 31, 30,
				   31, 31, 30, 31, 30, 31};

	return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

/* m is 1-12, d 1-31. */
static int64_t
days_from_civil(int64_t y, int m, int d)
{
	int64_t era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = floor_div(y, 400);
	yoe = (unsigned)(y - era * 400);
	doy = (unsigned)((153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1);
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static void
civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	int64_t era;
	unsigned doe, yoe, doy, mp;

	z += 719468;
	era = floor_div(z, 146097);
	doe = (unsigned)(z - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = (int64_t)yoe + era * 400 + (*m <= 2);
}

/* 0 = Sunday; 1970-01-01 was a Thursday. */
static int
weekday(int64_t days)
{
	return (int)(days - floor_div(days + 4, 7) * 7 + 4);
}

/* The POSIX TZ string of the footer. */

static const char *
rule_name(const char *s, char out[TZ_ABBR_MAX])
{
	size_t n = 0, len = 0;

	if (*s == '<') {
		for (s++; *s != '>'; s++, len++) {
			if (!isalnum((unsigned char)*s) && *s != '+' &&
			    *s != '-')
				return NULL;
			if (n < TZ_ABBR_MAX - 1)
				out[n++] = *s;
		}
		s++;
	} else {
		for (; isalpha((unsigned char)*s); s++, len++)
			if (n < TZ_ABBR_MAX - 1)
				out[n++] = *s;
	}
	out[n] = '\0';
	return len >= 3 ? s : NULL;
}

/* [+-]hh[:mm[:ss]], hours up to 167 (RFC 8536 extends POSIX's 24). */
static const char *
rule_time(const char *s, int32_t *out)
{
	int32_t sign = 1, part[3] = {0, 0, 0};
	int i, digits;

	if (*s == '+' || *s == '-')
		sign = *s++ == '-' ? -1 : 1;
	for (i = 0; i < 3; i++) {
		if (i > 0) {
			if (*s != ':')
				break;
			s++;
		}
		for (digits = 0; isdigit((unsigned char)*s); s++, digits++) {
			part[i] = part[i] * 10 + (*s - '0');
			if (digits == 3)
				return NULL;
		}
		if (digits == 0 || (i == 0 && part[0] > 167) ||
		    (i > 0 && part[i] > 59))
			return NULL;
	}
	*out = sign * (part[0] * 3600 + part[1] * 60 + part[2]);
	return s;
}

static const char *
rule_number(const char *s, int min, int max, int *out)
{
	int n = 0, digits = 0;

	for (; isdigit((unsigned char)*s) && digits < 3; s++, digits++)
		n = n * 10 + (*s - '0');
	if (digits == 0 || n < min || n > max)
		return NULL;
	*out = n;
	return s;
}

static const char *
rule_date(const char *s, struct tz_date *d)
{
	memset(d, 0, sizeof(*d));
	if (*s == 'J') {
		d->kind = 'J';
		s = rule_number(s + 1, 1, 365, &d->day);
	} else if (*s == 'M') {
		d->kind = 'M';
		s = rule_number(s + 1, 1, 12, &d->mon);
		if (s == NULL || *s != '.')
			return NULL;
		s = rule_number(s + 1, 1, 5, &d->week);
		if (s == NULL || *s != '.')
			return NULL;
		s = rule_number(s + 1, 0, 6, &d->wday);
	} else {
		d->kind = 'D';
		s = rule_number(s, 0, 365, &d->day);
	}
	if (s == NULL)
		return NULL;
	d->secs = 2 * 3600;
	if (*s == '/')
		s = rule_time(s + 1, &d->secs);
	return s;
}

static int
rule_parse(const char *s, struct tz_rule *r)
{
	int32_t off;

	memset(r, 0, sizeof(*r));
	s = rule_name(s, r->std.abbr);
	if (s == NULL)
		return -1;
	s = rule_time(s, &off);
	if (s == NULL)
		return -1;
	/* POSIX counts hours west of Greenwich */
	r->std.off = -off;
	if (*s == '\0')
		return 0;
	s = rule_name(s, r->dst.abbr);
	if (s == NULL)
		return -1;
	r->dst.isdst = 1;
	r->dst.off = r->std.off + 3600;
	if (*s != ',' && *s != '\0') {
		s = rule_time(s, &off);
		if (s == NULL)
			return -1;
		r->dst.off = -off;
	}
	if (*s == '\0') {
		/* POSIX leaves the dates to the implementation: the US rule */
		rule_date("M3.2.0", &r->start);
		rule_date("M11.1.0", &r->end);
	} else {
		if (*s != ',')
			return -1;
		s = rule_date(s + 1, &r->start);
		if (s == NULL || *s != ',')
			return -1;
		s = rule_date(s + 1, &r->end);
		if (s == NULL || *s != '\0')
			return -1;
	}
	r->has_dst = 1;
	return 0;
}

/* The UTC instant of date d in year y, its time read with offset off. */
static int64_t
rule_instant(const struct tz_date *d, int64_t y, int32_t off)
{
	int64_t day = days_from_civil(y, 1, 1);

	if (d->kind == 'J') {
		day += d->day - 1 + (is_leap(y) && d->day >= 60);
	} else if (d->kind == 'D') {
		day += d->day;
	} else {
		int64_t first = days_from_civil(y, d->mon, 1);
		int md =
		    1 + (d->wday - weekday(first) + 7) % 7 + 7 * (d->week - 1);

		/* week 5 is the last such weekday of the month */
		if (md > month_days(y, d->mon))
			md -= 7;
		day = first + md - 1;
	}
	return day * DAY + d->secs - off;
}

/*
 * The type of t under the rule: the latest switch at or before t among
 * the years around t, so Southern-hemisphere rules (DST across the new
 * year) and negative DST need no special case. On a tie (DST all year:
 * the end of one year is the start of the next) DST wins.
 */
static const struct tz_type *
rule_type(const struct tz_rule *r, int64_t t)
{
	const struct tz_type *type = &r->std;
	int64_t y, year, best = INT64_MIN, start, end;
	int m, d;

	if (!r->has_dst)
		return &r->std;
	civil_from_days(floor_div(t + r->std.off, DAY), &year, &m, &d);
	for (y = year - 1; y <= year + 1; y++) {
		start = rule_instant(&r->start, y, r->std.off);
		end = rule_instant(&r->end, y, r->dst.off);
		if (end <= t && end > best) {
			best = end;
			type = &r->std;
		}
		if (start <= t && start >= best) {
			best = start;
			type = &r->dst;
		}
	}
	return type;
}

/* Reading a TZif file. */

static uint32_t
be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static int64_t
be64(const unsigned char *p)
{
	return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

static void
zone_free(struct tz_zone *z)
{
	if (z == NULL)
		return;
	free(z->trans);
	free(z->idx);
	free(z->types);
	free(z);
}

struct tzif_counts {
	size_t isut, isstd, leap, time, type, chars;
};

/* The header at p; the size of the data block that follows, or 0. */
static size_t
tzif_header(const unsigned char *p, size_t len, size_t tsize,
	    struct tzif_counts *c)
{
	if (len < 44 || memcmp(p, "TZif", 4) != 0)
		return 0;
	c->isut = be32(p + 20);
	c->isstd = be32(p + 24);
	c->leap = be32(p + 28);
	c->time = be32(p + 32);
	c->type = be32(p + 36);
	c->chars = be32(p + 40);
	/* each count is bounded by the file, so the sum cannot overflow */
	if (c->type == 0 || c->type > 256 || c->chars == 0 || c->time > len ||
	    c->leap > len || c->chars > len || c->isut > len || c->isstd > len)
		return 0;
	return c->time * (tsize + 1) + c->type * 6 + c->chars +
	       c->leap * (tsize + 4) + c->isstd + c->isut;
}

static struct tz_zone *
zone_decode(const unsigned char *p, size_t len)
{
	struct tzif_counts c;
	struct tz_zone *z;
	const unsigned char *d, *ti, *types, *chars, *end;
	size_t body, tsize = 4, i;
	char footer[128];

	body = tzif_header(p, len, 4, &c);
	if (body == 0 || len - 44 < body)
		return NULL;
	if (p[4] >= '2') {
		/* skip the 32-bit block: the 64-bit one follows */
		p += 44 + body;
		len -= 44 + body;
		tsize = 8;
		body = tzif_header(p, len, 8, &c);
		if (body == 0 || len - 44 < body)
			return NULL;
	}
	d = p + 44;
	end = p + len;
	ti = d + c.time * tsize;
	types = ti + c.time;
	chars = types + c.type * 6;
	if (chars[c.chars - 1] != '\0')
		return NULL;

	z = tz_alloc(sizeof(*z));
	z->ntrans = c.time;
	z->ntypes = c.type;
	z->trans = tz_alloc(c.time * sizeof(*z->trans));
	z->idx = tz_alloc(c.time);
	z->types = tz_alloc(c.type * sizeof(*z->types));
	for (i = 0; i < c.time; i++) {
		z->trans[i] =
		    tsize == 8 ? be64(d + i * 8) : (int32_t)be32(d + i * 4);
		z->idx[i] = ti[i];
		if (ti[i] >= c.type ||
		    (i > 0 && z->trans[i] <= z->trans[i - 1]))
			goto bad;
	}
	for (i = 0; i < c.type; i++) {
		const unsigned char *tp = types + i * 6;
		struct tz_type *t = &z->types[i];

		t->off = (int32_t)be32(tp);
		t->isdst = tp[4] != 0;
		if (t->off == INT32_MIN || tp[5] >= c.chars)
			goto bad;
		snprintf(t->abbr, sizeof(t->abbr), "%s",
			 (const char *)chars + tp[5]);
	}
	/* version 2+: "\nTZ string\n" after the data; empty means none */
	p = d + body;
	if (tsize == 8 && p < end && *p == '\n') {
		const unsigned char *nl = memchr(p + 1, '\n', end - p - 1);

		if (nl != NULL && nl > p + 1 &&
		    (size_t)(nl - p - 1) < sizeof(footer)) {
			memcpy(footer, p + 1, nl - p - 1);
			footer[nl - p - 1] = '\0';
			z->has_rule = rule_parse(footer, &z->rule) == 0;
		}
	}
	return z;
bad:
	zone_free(z);
	return NULL;
}

static struct tz_zone *
zone_read(const char *name)
{
	char path[sizeof(TZ_DIR) + TZ_NAME_MAX + 2];
	unsigned char *data = NULL;
	struct tz_zone *z = NULL;
	struct stat sb;
	FILE *fp;
	size_t len;

	snprintf(path, sizeof(path), TZ_DIR "/%s", name);
	fp = fopen(path, "rb");
	if (fp == NULL)
		return NULL;
	if (fstat(fileno(fp), &sb) != 0 || !S_ISREG(sb.st_mode) ||
	    sb.st_size > TZ_FILE_MAX)
		goto out;
	data = tz_alloc(TZ_FILE_MAX + 1);
	len = fread(data, 1, TZ_FILE_MAX + 1, fp);
	if (len <= TZ_FILE_MAX)
		z = zone_decode(data, len);
out:
	free(data);
	fclose(fp);
	return z;
}

/* A name the zone directory may hold: no "..", no absolute path. */
static int
zone_name_ok(const char *zone)
{
	const char *p;

	if (zone == NULL || *zone == '\0' || strlen(zone) > TZ_NAME_MAX ||
	    strstr(zone, "..") != NULL || zone[0] == '/')
		return 0;
	for (p = zone; *p; p++)
		if (!isalnum((unsigned char)*p) && strchr("/_+-", *p) == NULL)
			return 0;
	return 1;
}

/*
 * The zone called name, UTC when it cannot be read. Read on first use
 * under the lock (the rare slow path). When the cache is full the zone
 * is read for this call only and *tmp is set for the caller to free.
 */
static const struct tz_zone *
zone_get(const char *name, struct tz_zone **tmp)
{
	struct tz_zone *z;
	size_t i;

	*tmp = NULL;
	if (!zone_name_ok(name))
		return &tz_utc;
	pthread_mutex_lock(&tz_lock);
	for (i = 0; i < tz_ncache; i++)
		if (strcmp(tz_cache[i].name, name) == 0) {
			z = tz_cache[i].zone;
			pthread_mutex_unlock(&tz_lock);
			return z;
		}
	z = zone_read(name);
	if (tz_ncache < TZ_CACHE_MAX) {
		snprintf(tz_cache[tz_ncache].name,
			 sizeof(tz_cache[tz_ncache].name), "%s", name);
		tz_cache[tz_ncache++].zone = z != NULL ? z : &tz_utc;
	} else {
		*tmp = z;
	}
	pthread_mutex_unlock(&tz_lock);
	return z != NULL ? z : &tz_utc;
}

/* The type in effect at t: O(log n) in the zone's transitions. */
static const struct tz_type *
zone_type(const struct tz_zone *z, int64_t t)
{
	size_t lo = 0, hi = z->ntrans, mid;

	/* before the first transition, type 0 (RFC 8536) */
	if (z->ntrans == 0)
		return z->has_rule ? rule_type(&z->rule, t) : &z->types[0];
	if (t < z->trans[0])
		return &z->types[0];
	/* trans[lo] <= t always; narrow to the last such transition */
	while (hi - lo > 1) {
		mid = lo + (hi - lo) / 2;
		if (z->trans[mid] <= t)
			lo = mid;
		else
			hi = mid;
	}
	if (lo == z->ntrans - 1 && z->has_rule)
		return rule_type(&z->rule, t);
	return &z->types[z->idx[lo]];
}

static void
tm_fill(int64_t t, const struct tz_type *type, struct tm *out)
{
	int64_t secs = t + type->off, days = floor_div(secs, DAY), y;
	int64_t rem = secs - days * DAY;
	int m, d;

	civil_from_days(days, &y, &m, &d);
	memset(out, 0, sizeof(*out));
	out->tm_year = (int)(y - 1900);
	out->tm_mon = m - 1;
	out->tm_mday = d;
	out->tm_hour = (int)(rem / 3600);
	out->tm_min = (int)(rem / 60 % 60);
	out->tm_sec = (int)(rem % 60);
	out->tm_wday = weekday(days);
	out->tm_yday = (int)(days - days_from_civil(y, 1, 1));
	out->tm_isdst = type->isdst;
	out->tm_gmtoff = type->off;
}

int
tz_valid(const char *zone)
{
	struct tz_zone *tmp;
	struct stat sb;
	int ok;

	if (!zone_name_ok(zone))
		return 0;
	/* where no zone database is installed, every zone reads as UTC */
	if (stat(TZ_DIR, &sb) != 0)
		return 1;
	ok = zone_get(zone, &tmp) != &tz_utc;
	zone_free(tmp);
	return ok;
}

void
tz_local(const char *zone, int64_t t, struct tm *out)
{
	struct tz_zone *tmp;
	const struct tz_type *type = zone_type(zone_get(zone, &tmp), t);

	tm_fill(t, type, out);
	/* a zone beyond the cache is freed below: no name to lend then */
	out->tm_zone = tmp == NULL ? type->abbr : NULL;
	zone_free(tmp);
}

int
tz_make(const char *zone, const struct tm *local, int64_t *out)
{
	struct tz_zone *tmp;
	const struct tz_zone *z = zone_get(zone, &tmp);
	int64_t y, wall, t, best = 0;
	int32_t off[4];
	int mon, i, found = 0;

	/* the wall-clock time as seconds, normalised like mktime */
	y = (int64_t)local->tm_year + 1900 + floor_div(local->tm_mon, 12);
	mon = (int)(local->tm_mon - floor_div(local->tm_mon, 12) * 12);
	wall = (days_from_civil(y, mon + 1, 1) + local->tm_mday - 1) * DAY +
	       (int64_t)local->tm_hour * 3600 + (int64_t)local->tm_min * 60;
	/*
	 * The offsets that can apply: those a day either side (no zone is
	 * a day from UTC) and those at the instants they give. Each offset
	 * that reads back as the same wall time is a solution; the earliest
	 * wins. None is a spring gap: the offset before it.
	 */
	off[0] = zone_type(z, wall - DAY)->off;
	off[1] = zone_type(z, wall + DAY)->off;
	off[2] = zone_type(z, wall - off[0])->off;
	off[3] = zone_type(z, wall - off[1])->off;
	for (i = 0; i < 4; i++) {
		t = wall - off[i];
		if (zone_type(z, t)->off == off[i] && (!found || t < best)) {
			best = t;
			found = 1;
		}
	}
	if (!found)
		best = wall - off[0];
	zone_free(tmp);
	*out = best;
	return 0;
}

/* Digits where pattern has '9', else the same character. */
static int
text_matches(const char *text, const char *pattern)
{
	for (; *pattern; text++, pattern++)
		if (*pattern == '9' ? !isdigit((unsigned char)*text)
				    : *text != *pattern)
			return 0;
	return *text == '\0';
}

int
tz_parse(const char *zone, const char *text, int64_t *out)
{
	struct tm tm = {0};
	int y, mo, d, h = 0, mi = 0;

	if (text == NULL)
		return -1;
	if (text_matches(text, "9999-99-99")) {
		sscanf(text, "%4d-%2d-%2d", &y, &mo, &d);
	} else if (text_matches(text, "9999-99-99 99:99")) {
		sscanf(text, "%4d-%2d-%2d %2d:%2d", &y, &mo, &d, &h, &mi);
	} else {
		return -1;
	}
	/* reject 2026-02-31 and friends */
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > month_days(y, mo) ||
	    h > 23 || mi > 59)
		return -1;
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
	struct tz_zone *tmp;
	const struct tz_type *type = zone_type(zone_get(zone, &tmp), t);
	char buf[96];
	struct tm tm;
	size_t n;

	tm_fill(t, type, &tm);
	snprintf(buf, sizeof(buf), "%04d-%02d-%02d %02d:%02d %s",
		 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		 tm.tm_min, type->abbr);
	/* only a year past 9999 could be longer */
	n = strlen(buf);
	if (n > 39)
		n = 39;
	memcpy(out, buf, n);
	out[n] = '\0';
	zone_free(tmp);
}

int64_t
tz_day_number(const char *zone, int64_t t)
{
	struct tz_zone *tmp;
	const struct tz_type *type = zone_type(zone_get(zone, &tmp), t);
	int64_t day = floor_div(t + type->off, DAY);

	zone_free(tmp);
	return day;
}

int64_t
tz_day_start(const char *zone, int64_t t, int days)
{
	struct tm lt;
	int64_t r;

	tz_local(zone, t, &lt);
	lt.tm_mday += days;
	lt.tm_hour = lt.tm_min = lt.tm_sec = 0;
	if (tz_make(zone, &lt, &r) < 0)
		return t;
	return r;
}

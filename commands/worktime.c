/*
 * Working-time policy over base/tz: a recipient's zone and the working
 * days and hours of the configuration, memoised per zone for one instant.
 */
#include "worktime.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/util.h"

struct tz_memo {
	char zone[64];
	int working;
};

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

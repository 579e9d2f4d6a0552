/*
 * The metric registry and its Prometheus text rendering (format 0.0.4).
 * Families and samples are small arrays searched linearly: the gateway
 * has a few dozen samples, and labels come from fixed sets (transport
 * names, results), never from what people type.
 */
#include "metrics.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct sample {
	char *lv[METRIC_MAX_LABELS];
	double value; /* counter, gauge; histograms: the sum */
	uint64_t count;
	uint64_t buckets[METRIC_MAX_BUCKETS]; /* not cumulative */
};

struct metric {
	char *name, *help;
	enum metric_type type;
	char *ln[METRIC_MAX_LABELS];
	size_t nlabels;
	double bounds[METRIC_MAX_BUCKETS];
	size_t nbounds;
	struct sample *samples;
	size_t nsamples, cap;
};

struct metrics {
	struct metric **f;
	size_t n;
};

struct metrics *
metrics_new(void)
{
	return xcalloc(1, sizeof(struct metrics));
}

static void
sample_clear(struct sample *s)
{
	size_t i;

	for (i = 0; i < METRIC_MAX_LABELS; i++)
		free(s->lv[i]);
}

void
metric_reset(struct metric *f)
{
	size_t i;

	if (f == NULL)
		return;
	for (i = 0; i < f->nsamples; i++)
		sample_clear(&f->samples[i]);
	f->nsamples = 0;
}

void
metrics_free(struct metrics *m)
{
	size_t i, k;

	if (m == NULL)
		return;
	for (i = 0; i < m->n; i++) {
		struct metric *f = m->f[i];

		metric_reset(f);
		free(f->samples);
		for (k = 0; k < f->nlabels; k++)
			free(f->ln[k]);
		free(f->name);
		free(f->help);
		free(f);
	}
	free(m->f);
	free(m);
}

static int
name_ok(const char *s, int colon)
{
	const char *p;

	if (s == NULL || *s == '\0' || (*s >= '0' && *s <= '9'))
		return 0;
	for (p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '_' ||
		      (colon && *p == ':')))
			return 0;
	return 1;
}

struct metric *
metrics_find(struct metrics *m, const char *name)
{
	size_t i;

	for (i = 0; m != NULL && i < m->n; i++)
		if (strcmp(m->f[i]->name, name) == 0)
			return m->f[i];
	return NULL;
}

struct metric *
metrics_declare(struct metrics *m, const char *name, const char *help,
		enum metric_type type, const char *labels, const double *bounds,
		size_t nbounds)
{
	struct metric *f = metrics_find(m, name);
	const char *p = labels;
	size_t i;

	if (f != NULL)
		return f;
	if (!name_ok(name, 1) || nbounds > METRIC_MAX_BUCKETS)
		return NULL;
	for (i = 1; i < nbounds; i++)
		if (!(bounds[i] > bounds[i - 1]))
			return NULL;
	f = xcalloc(1, sizeof(*f));
	f->name = xstrdup(name);
	f->help = xstrdup(help != NULL ? help : "");
	f->type = type;
	while (p != NULL && *p != '\0') {
		size_t n = strcspn(p, ",");
		char *l = xcalloc(1, n + 1);

		memcpy(l, p, n);
		if (f->nlabels == METRIC_MAX_LABELS || !name_ok(l, 0) ||
		    strcmp(l, "le") == 0) {
			free(l);
			f->name[0] = '\0'; /* rejected below */
			break;
		}
		f->ln[f->nlabels++] = l;
		p += n;
		if (*p == ',')
			p++;
	}
	if (f->name[0] == '\0') {
		for (i = 0; i < f->nlabels; i++)
			free(f->ln[i]);
		free(f->name);
		free(f->help);
		free(f);
		return NULL;
	}
	if (type == METRIC_HISTOGRAM && nbounds > 0) {
		memcpy(f->bounds, bounds, nbounds * sizeof(double));
		f->nbounds = nbounds;
	}
	m->f = xrealloc(m->f, (m->n + 1) * sizeof(*m->f));
	m->f[m->n++] = f;
	return f;
}

static struct sample *
sample_get(struct metric *f, const char *l1, const char *l2, const char *l3,
	   int make)
{
	const char *lv[METRIC_MAX_LABELS] = {l1, l2, l3};
	struct sample *s;
	size_t i, k;

	for (k = 0; k < METRIC_MAX_LABELS; k++)
		if (k >= f->nlabels || lv[k] == NULL)
			lv[k] = "";
	for (i = 0; i < f->nsamples; i++) {
		s = &f->samples[i];
		for (k = 0; k < f->nlabels; k++)
			if (strcmp(s->lv[k], lv[k]) != 0)
				break;
		if (k == f->nlabels)
			return s;
	}
	if (!make)
		return NULL;
	if (f->nsamples == f->cap) {
		f->cap = f->cap ? f->cap * 2 : 4;
		f->samples = xrealloc(f->samples, f->cap * sizeof(*f->samples));
	}
	s = &f->samples[f->nsamples++];
	memset(s, 0, sizeof(*s));
	for (k = 0; k < f->nlabels; k++)
		s->lv[k] = xstrdup(lv[k]);
	return s;
}

void
metric_add(struct metric *f, double v, const char *l1, const char *l2,
	   const char *l3)
{
	if (f == NULL || f->type == METRIC_HISTOGRAM)
		return;
	/* counters only go up */
	if (f->type == METRIC_COUNTER && !(v >= 0))
		return;
	sample_get(f, l1, l2, l3, 1)->value += v;
}

void
metric_set(struct metric *f, double v, const char *l1, const char *l2,
	   const char *l3)
{
	if (f == NULL || f->type != METRIC_GAUGE)
		return;
	sample_get(f, l1, l2, l3, 1)->value = v;
}

void
metric_observe(struct metric *f, double v, const char *l1, const char *l2,
	       const char *l3)
{
	struct sample *s;
	size_t i;

	if (f == NULL || f->type != METRIC_HISTOGRAM || isnan(v))
		return;
	s = sample_get(f, l1, l2, l3, 1);
	for (i = 0; i < f->nbounds; i++)
		if (v <= f->bounds[i]) {
			s->buckets[i]++;
			break;
		}
	s->count++;
	s->value += v;
}

double
metric_value(struct metric *f, const char *l1, const char *l2, const char *l3)
{
	struct sample *s;

	if (f == NULL || (s = sample_get(f, l1, l2, l3, 0)) == NULL)
		return 0;
	return f->type == METRIC_HISTOGRAM ? (double)s->count : s->value;
}

void
metrics_inc(struct metrics *m, const char *name, const char *l1, const char *l2,
	    const char *l3)
{
	metric_add(metrics_find(m, name), 1, l1, l2, l3);
}

/* ---- rendering ---- */

void
metrics_escape_label(struct buf *out, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\')
			buf_puts(out, "\\\\");
		else if (*v == '"')
			buf_puts(out, "\\\"");
		else if (*v == '\n')
			buf_puts(out, "\\n");
		else
			buf_putc(out, *v);
	}
}

static void
escape_help(struct buf *out, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\')
			buf_puts(out, "\\\\");
		else if (*v == '\n')
			buf_puts(out, "\\n");
		else
			buf_putc(out, *v);
	}
}

static void
put_value(struct buf *out, double v)
{
	if (isnan(v))
		buf_puts(out, "NaN");
	else if (isinf(v))
		buf_puts(out, v > 0 ? "+Inf" : "-Inf");
	else if (v > -1e15 && v < 1e15 && v == (double)(long long)v)
		buf_printf(out, "%.0f", v);
	else
		buf_printf(out, "%.17g", v);
}

/* {a="x",b="y"[,le="..."]}, or nothing without labels */
static void
put_labels(struct buf *out, const struct metric *f, const struct sample *s,
	   const char *le)
{
	size_t k;

	if (f->nlabels == 0 && le == NULL)
		return;
	buf_putc(out, '{');
	for (k = 0; k < f->nlabels; k++) {
		buf_printf(out, "%s%s=\"", k ? "," : "", f->ln[k]);
		metrics_escape_label(out, s->lv[k]);
		buf_putc(out, '"');
	}
	if (le != NULL)
		buf_printf(out, "%sle=\"%s\"", f->nlabels ? "," : "", le);
	buf_putc(out, '}');
}

static void
render_family(const struct metric *f, struct buf *out)
{
	static const char *const types[] = {"counter", "gauge", "histogram"};
	size_t i, b;

	buf_printf(out, "# HELP %s ", f->name);
	escape_help(out, f->help);
	buf_printf(out, "\n# TYPE %s %s\n", f->name, types[f->type]);
	for (i = 0; i < f->nsamples; i++) {
		const struct sample *s = &f->samples[i];
		uint64_t cum = 0;
		char le[64];

		if (f->type != METRIC_HISTOGRAM) {
			buf_puts(out, f->name);
			put_labels(out, f, s, NULL);
			buf_putc(out, ' ');
			put_value(out, s->value);
			buf_putc(out, '\n');
			continue;
		}
		for (b = 0; b < f->nbounds; b++) {
			cum += s->buckets[b];
			snprintf(le, sizeof(le), "%g", f->bounds[b]);
			buf_printf(out, "%s_bucket", f->name);
			put_labels(out, f, s, le);
			buf_printf(out, " %llu\n", (unsigned long long)cum);
		}
		buf_printf(out, "%s_bucket", f->name);
		put_labels(out, f, s, "+Inf");
		buf_printf(out, " %llu\n%s_sum", (unsigned long long)s->count,
			   f->name);
		put_labels(out, f, s, NULL);
		buf_putc(out, ' ');
		put_value(out, s->value);
		buf_printf(out, "\n%s_count", f->name);
		put_labels(out, f, s, NULL);
		buf_printf(out, " %llu\n", (unsigned long long)s->count);
	}
}

void
metrics_render(const struct metrics *m, struct buf *out)
{
	size_t i;

	for (i = 0; m != NULL && i < m->n; i++)
		render_family(m->f[i], out);
}

/*
 * The management summary (`report`, also `ismsctl report`, and mailed by
 * the scheduler): risk levels and matrix, open incidents, overdue actions,
 * awareness and the reviews coming up in the next 30 days.
 */
#include <stdlib.h>
#include <string.h>

#include "../base/log.h"
#include "../store/mapping.h"
#include "context.h"
#include "delivery.h"
#include "due.h"
#include "evidence_cmd.h"
#include "finding.h"
#include "objective.h"
#include "register.h"
#include "training.h"
#include "soa.h"
#include "supplier.h"

#define REPORT_AHEAD_DAYS 30

int
report_incidents_write(struct cmd_ctx *ctx, int64_t since)
{
	static const char *const severities[] = {"critical", "high", "medium",
						 "low"};
	int64_t n, total = 0, clocks = 0, recent = 0;
	size_t k;

	cmd_reply(ctx, "Open incidents:");
	for (k = 0; k < ARRAY_LEN(severities); k++) {
		if (db_int(ctx->st, &n,
			   "SELECT COUNT(*) FROM incidents WHERE status != "
			   "'closed' AND severity = ?",
			   "t", severities[k]) != 1)
			return cmd_error(ctx, "database error");
		cmd_reply(ctx, "%s %s %lld", k ? "," : "", severities[k],
			  (long long)n);
		total += n;
	}
	if (db_int(
		ctx->st, &clocks,
		"SELECT COUNT(*) FROM incidents WHERE personal_data <> 0 AND "
		"breach_outcome IS NULL AND status != 'closed'",
		NULL) != 1 ||
	    db_int(ctx->st, &recent,
		   "SELECT COUNT(*) FROM incidents WHERE created_at >= ?", "i",
		   since) != 1)
		return cmd_error(ctx, "database error");
	cmd_reply(ctx, " (%lld open; %lld with a running 72-hour clock)",
		  (long long)total, (long long)clocks);
	if (since > 0)
		cmd_reply(ctx, "; %lld reported in the period",
			  (long long)recent);
	else
		cmd_reply(ctx, "; %lld reported in all", (long long)recent);
	cmd_reply(ctx, ".");
	return 0;
}

/* Risks, documents, management reviews and audits due within 30 days. */
static int
report_upcoming(struct cmd_ctx *ctx)
{
	int64_t until = ctx->now + REPORT_AHEAD_DAYS * 86400;
	struct db_stmt *s;
	int n = 0;

	s = db_prepare(
	    ctx->st,
	    "SELECT at, what FROM ("
	    "SELECT next_review_at AS at, 'risk review RSK-' || id || ' [' || "
	    "level || '] ' || title AS what FROM risks WHERE next_review_at "
	    "<= ?1 "
	    "UNION ALL SELECT next_review_at, 'document review DOC-' || id || "
	    "' ' || title FROM docs WHERE next_review_at <= ?1 "
	    "UNION ALL SELECT planned_at, 'management review MR-' || id FROM "
	    "reviews WHERE status = 'planned' AND planned_at <= ?1 "
	    "UNION ALL SELECT planned_at, 'internal audit AUD-' || id || ' ' "
	    "|| scope FROM audits WHERE status = 'planned' AND planned_at <= "
	    "?1) x ORDER BY at, what",
	    "i", until);
	if (s == NULL)
		return cmd_error(ctx, "database error");
	cmd_reply(ctx, "Reviews due in the next %d days:", REPORT_AHEAD_DAYS);
	while (db_step(s) == DB_ROW) {
		int64_t at = db_col_int(s, 0);
		char date[16];

		time_date(at, date);
		cmd_reply(ctx, "\n  %s %s%s", date,
			  at + 86400 <= ctx->now ? "OVERDUE " : "",
			  db_col(s, 1));
		n++;
	}
	db_finish(ctx->st, s);
	if (n == 0)
		cmd_reply(ctx, " none");
	return 0;
}

/* The head a verifier can check with "ismsctl audit verify --head". */
static int
report_audit_head(struct cmd_ctx *ctx)
{
	char hash[65];
	int64_t seq;
	int rc = store_audit_head(ctx->st, &seq, hash);

	if (rc < 0)
		return cmd_error(ctx, "database error");
	if (rc == 1)
		cmd_reply(ctx, "Audit log head: %lld:%s", (long long)seq, hash);
	return 0;
}

static int
report_all_incidents(struct cmd_ctx *ctx)
{
	return report_incidents_write(ctx, 0);
}

/* Messages no transport could deliver (the daily digest lists them). */
static int
report_delivery(struct cmd_ctx *ctx)
{
	int64_t n = delivery_undelivered_count(ctx->st);

	if (n < 0)
		return cmd_error(ctx, "database error");
	if (n == 0)
		cmd_reply(ctx, "Undelivered messages: none.");
	else
		cmd_reply(ctx,
			  "Undelivered messages: %lld (every transport "
			  "refused them; ismsctl outbox failed lists them).",
			  (long long)n);
	return 0;
}

/* Obligations due for review, the overdue ones by name. */
static int
report_obligations(struct cmd_ctx *ctx)
{
	return obligation_report_write(ctx, REPORT_AHEAD_DAYS);
}

static int
report_awareness(struct cmd_ctx *ctx)
{
	return report_awareness_write(ctx, "no campaigns yet");
}

struct coverage {
	struct cmd_ctx *ctx;
	struct buf gaps;	/* " 21(2)(a)" for each article without one */
	char article[32];	/* the article being counted */
	char label[16];		/* "NIS2" */
	int covered;		/* it has an implemented control so far */
	int articles, done, rc; /* rc: -1 on a database error */
};

/* Ends the article counted so far: a gap unless a control covered it. */
static void
coverage_close(struct coverage *c)
{
	if (c->article[0] == '\0')
		return;
	c->articles++;
	if (c->covered)
		c->done++;
	else
		buf_printf(&c->gaps, " %s", c->article);
	c->article[0] = '\0';
	c->covered = 0;
}

static int
coverage_row(void *arg, const struct mapping_row *r)
{
	struct coverage *c = arg;
	int64_t ok = 0;

	snprintf(c->label, sizeof(c->label), "%s", r->label);
	if (strcmp(c->article, r->article) != 0) {
		coverage_close(c);
		snprintf(c->article, sizeof(c->article), "%s", r->article);
	}
	if (c->covered)
		return 0;
	if (db_int(c->ctx->st, &ok,
		   "SELECT COUNT(*) FROM controls WHERE id = ? AND applicable "
		   "= 1 AND status = 'implemented'",
		   "t", r->control) < 0) {
		c->rc = -1;
		return -1;
	}
	c->covered = ok > 0;
	return 0;
}

/*
 * Per framework beside ISO 27001 (config/mappings/), how many of its
 * articles have an applicable, implemented control, and which have none.
 */
static int
report_frameworks(struct cmd_ctx *ctx)
{
	struct coverage c;
	const char *fw;
	char err[128];
	int i, rc = 0;

	cmd_reply(ctx, "Frameworks (articles with an implemented control):");
	for (i = 0; rc == 0 && (fw = mapping_framework(i)) != NULL; i++) {
		memset(&c, 0, sizeof(c));
		c.ctx = ctx;
		if (mapping_each(fw, coverage_row, &c, err, sizeof(err)) < 0) {
			rc = c.rc < 0 ? cmd_error(ctx, "database error")
				      : cmd_error(ctx, "%s", err);
			buf_free(&c.gaps);
			break;
		}
		coverage_close(&c);
		cmd_reply(ctx, "%s %s %d of %d", i ? ";" : "",
			  c.label[0] ? c.label : fw, c.done, c.articles);
		if (c.gaps.len > 0)
			cmd_reply(ctx, ", none for%s", buf_str(&c.gaps));
		buf_free(&c.gaps);
	}
	if (rc == 0)
		cmd_reply(ctx, ".");
	return rc;
}

/*
 * The summary's sections in order: each writes reply text; html, when
 * set, is the section's own mail rendering (else its text is used).
 */
static const struct report_section {
	const char *title;
	int (*write)(struct cmd_ctx *ctx);
	int (*html)(struct cmd_ctx *ctx, struct buf *out);
	const char *after; /* separator in the text */
} report_sections[] = {
    {"Risk levels", risk_summary_write, NULL, "\n"},
    {"Heat map", risk_matrix_write, risk_matrix_html, "\n\n"},
    {"Incidents", report_all_incidents, NULL, "\n"},
    {"NIS2", incident_nis2_report_write, NULL, "\n"},
    {"Actions", action_summary_write, NULL, "\n"},
    {"Nonconformities", finding_report_write, NULL, "\n"},
    {"Statement of Applicability", soa_report_write, NULL, "\n"},
    {"Frameworks", report_frameworks, NULL, "\n"},
    {"Evidence", evidence_report_write, NULL, "\n"},
    {"Awareness", report_awareness, NULL, "\n"},
    {"Training", training_report_write, NULL, "\n"},
    {"Coming up", report_upcoming, NULL, "\n"},
    {"Obligations", report_obligations, NULL, "\n"},
    {"Suppliers", supplier_report_write, NULL, "\n"},
    {"Objectives", objective_report_write, NULL, "\n"},
    {"Management review", review_report_write, NULL, "\n"},
    {"Delivery", report_delivery, NULL, "\n"},
    {"Audit log", report_audit_head, NULL, ""},
};

/*
 * Writes the summary as reply text and, with html set, as the HTML part
 * of a mail: one implementation, two renderings. 0 or -1.
 */
static int
report_render(struct cmd_ctx *ctx, struct buf *html)
{
	const char *org = ctx->cfg->org_name ? ctx->cfg->org_name : "";
	struct buf *text = &ctx->rp->text;
	char today[16];
	size_t k;

	time_date(ctx->now, today);
	cmd_reply(ctx, "ISMS management summary, %s, %s\n\n", org, today);
	if (html != NULL) {
		buf_puts(html, "<html><body style=\"font-family:sans-serif\">"
			       "\n<h1>ISMS management summary</h1>\n<p>");
		buf_put_html(html, org);
		buf_printf(html, ", %s</p>\n", today);
	}
	for (k = 0; k < ARRAY_LEN(report_sections); k++) {
		const struct report_section *sec = &report_sections[k];
		size_t from = text->len;

		if (sec->write(ctx) < 0)
			return -1;
		if (html != NULL) {
			buf_printf(html, "<h2>%s</h2>\n", sec->title);
			if (sec->html != NULL) {
				if (sec->html(ctx, html) < 0)
					return -1;
			} else {
				buf_puts(html, "<p style=\"white-space:"
					       "pre-wrap\">");
				buf_put_html(html, text->data + from);
				buf_puts(html, "</p>\n");
			}
		}
		cmd_reply(ctx, "%s", sec->after);
	}
	if (html != NULL)
		buf_puts(html, "</body></html>\n");
	return 0;
}

static int
report(struct cmd_ctx *ctx)
{
	if (ctx->cl->npos != 0)
		return reg_usage(ctx);
	ctx->rp->confidential = 1;
	return report_render(ctx, NULL);
}

/*
 * The report mailed every [report] every to [report] recipients: e-mail
 * addresses get a bare-address message, handles that person's. Once per
 * period and recipient, in the recipient's working time.
 */
int
report_job_mail(struct cmd_ctx *ctx, struct tz_work *w)
{
	struct nudge n = {
	    .kind = "report", .object = "org", .msg_kind = MSG_REPORT};
	struct isms_reply scratch = {0};
	struct cmd_ctx rctx = *ctx;
	struct buf html = {0};
	char key[16], *list = NULL, *tok, *save = NULL, *subject = NULL;
	int64_t start;
	int rc, composed = 0;

	rc = nudge_period(ctx, ctx->cfg->report_every, &start, key);
	if (rc <= 0 || str_is_blank(ctx->cfg->report_recipients))
		return rc < 0 ? -1 : 0;
	n.period = key;
	rctx.rp = &scratch;
	list = xstrdup(ctx->cfg->report_recipients);
	rc = 0;
	for (tok = strtok_r(list, ",", &save); tok != NULL && rc == 0;
	     tok = strtok_r(NULL, ",", &save)) {
		char *r = str_trim(tok);
		int address = strchr(r, '@') != NULL && r[0] != '@';
		struct person p;
		int ready;

		if (*r == '\0')
			continue;
		if (!address &&
		    store_person_find(ctx->st, "handle",
				      r[0] == '@' ? r + 1 : r, &p) != 1) {
			/* said once a period, not every minute */
			if (nudge_claim(ctx, "report.unknown", r, key) == 1)
				log_warnx("report.recipients: no person %s in "
					  "the directory",
					  r);
			continue;
		}
		ready = address ? nudge_ready_address(ctx, w, &n, r)
				: nudge_ready(ctx, w, &n, &p);
		if (ready <= 0) {
			rc = ready;
			continue;
		}
		if (!composed) {
			char today[16];

			if (report_render(&rctx, &html) < 0) {
				rc = -1;
				break;
			}
			time_date(ctx->now, today);
			subject = xasprintf(
			    "ISMS management report, %s, %s",
			    ctx->cfg->org_name ? ctx->cfg->org_name : "",
			    today);
			composed = 1;
		}
		rc = nudge_mail(ctx, w, &n, address ? NULL : &p, r, subject,
				buf_str(&scratch.text), buf_str(&html)) < 0
			 ? -1
			 : 0;
	}
	free(list);
	free(subject);
	buf_free(&html);
	reply_free(&scratch);
	return rc;
}

static const struct cmd_entry report_commands[] = {
    {
	.roles = REG_READERS | ROLE_ADMIN,
	.flags = CMD_READONLY,
	.usage = "",
	.help = "the management summary",
	.exec = report,
    },
    {0},
};

const struct cmd_object report_object = {
    .name = "report",
    .help = "the management summary",
    .commands = report_commands,
};

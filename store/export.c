/*
 * Exports for auditors. Each export is one read-only query; the writer
 * turns any result into CSV (RFC 4180), JSON (array of objects) or a
 * Markdown table. Adding an export is adding a line to the table.
 */
#include "export.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "mapping.h"
#include "store_impl.h"

struct export
{
	const char *name;
	const char *sql;
};

static const struct export exports[] = {
    {"incidents",
     "SELECT 'INC-' || i.id AS id, i.title, i.severity, i.status, "
     "COALESCE(i.category, '') AS category, "
     "CASE i.personal_data WHEN 1 THEN 'yes' ELSE 'no' END AS personal_data, "
     "r.handle AS reporter, COALESCE(h.handle, '') AS handler, i.via, "
     "strftime('%Y-%m-%dT%H:%M:%SZ', i.created_at, 'unixepoch') AS created, "
     "COALESCE(strftime('%Y-%m-%dT%H:%M:%SZ', i.closed_at, 'unixepoch'), '') "
     "AS closed, COALESCE(i.lessons, '') AS lessons, "
     "COALESCE(i.breach_outcome, '') AS breach_outcome, i.description "
     ", CASE i.significant WHEN 1 THEN 'yes' ELSE 'no' END AS significant, "
     "COALESCE(strftime('%Y-%m-%dT%H:%M:%SZ', i.significant_at, "
     "'unixepoch'), '') AS significant_since, "
     "COALESCE((SELECT strftime('%Y-%m-%dT%H:%M:%SZ', x.reported_at, "
     "'unixepoch') || ' ' || p.handle FROM incident_reports x JOIN people p "
     "ON p.id = x.reported_by WHERE x.incident_id = i.id AND x.stage = "
     "'early'), '') AS early_warning, "
     "COALESCE((SELECT strftime('%Y-%m-%dT%H:%M:%SZ', x.reported_at, "
     "'unixepoch') || ' ' || p.handle FROM incident_reports x JOIN people p "
     "ON p.id = x.reported_by WHERE x.incident_id = i.id AND x.stage = "
     "'notification'), '') AS notification, "
     "COALESCE((SELECT strftime('%Y-%m-%dT%H:%M:%SZ', x.reported_at, "
     "'unixepoch') || ' ' || p.handle FROM incident_reports x JOIN people p "
     "ON p.id = x.reported_by WHERE x.incident_id = i.id AND x.stage = "
     "'final'), '') AS final_report, "
     "COALESCE(i.subjects_informed, '') AS subjects_informed, "
     "COALESCE(i.subjects_reason, '') AS subjects_reason "
     "FROM incidents i JOIN people r ON r.id = i.reporter_id "
     "LEFT JOIN people h ON h.id = i.handler_id ORDER BY i.id"},
    {"audit-log",
     "SELECT seq, at, actor, action, object, details, prev_hash, hash "
     "FROM audit_log ORDER BY seq"},
    {"approvals",
     "SELECT 'APR-' || a.id AS id, a.kind, a.object, a.summary, a.status, "
     "r.handle AS requester, p.handle AS approver, "
     "COALESCE(d.handle, '') AS decided_by, COALESCE(a.decided_via, '') "
     "AS decided_via, COALESCE(a.comment, '') AS comment, "
     "strftime('%Y-%m-%dT%H:%M:%SZ', a.created_at, 'unixepoch') AS created, "
     "COALESCE(strftime('%Y-%m-%dT%H:%M:%SZ', a.decided_at, 'unixepoch'), "
     "'') AS decided FROM approvals a JOIN people r ON r.id = "
     "a.requester_id JOIN people p ON p.id = a.approver_id LEFT JOIN "
     "people d ON d.id = a.decided_by ORDER BY a.id"},
    {"risks",
     "SELECT 'RSK-' || r.id AS id, r.title, COALESCE('AST-' || r.asset_id, "
     "'') AS asset, o.handle AS owner, COALESCE(r.threat, '') AS threat, "
     "COALESCE(r.vulnerability, '') AS vulnerability, r.likelihood, "
     "r.impact, r.score, r.level, CASE WHEN ap.id IS NOT NULL THEN "
     "'accept pending APR-' || ap.id ELSE COALESCE(r.treatment, "
     "'untreated') END AS treatment, COALESCE(r.plan, '') AS plan, "
     "r.residual_likelihood, r.residual_impact, r.residual_score, "
     "COALESCE(r.residual_level, '') AS residual_level, "
     "COALESCE((SELECT group_concat(x.id, ' ') FROM (SELECT c.id FROM "
     "risk_controls rc JOIN controls c ON c.id = rc.control_id WHERE "
     "rc.risk_id = r.id ORDER BY c.seq) x), '') AS controls, "
     "COALESCE('APR-' || r.accept_approval_id, '') AS acceptance_approval, "
     "date(r.next_review_at, 'unixepoch') AS next_review, "
     "strftime('%Y-%m-%dT%H:%M:%SZ', r.created_at, 'unixepoch') AS created, "
     "strftime('%Y-%m-%dT%H:%M:%SZ', r.updated_at, 'unixepoch') AS updated "
     "FROM risks r JOIN people o ON o.id = r.owner_id LEFT JOIN approvals "
     "ap ON ap.object = 'RSK-' || r.id AND ap.kind = 'risk.accept' AND "
     "ap.status = 'pending' ORDER BY r.id"},
    {"actions",
     "SELECT 'ACT-' || a.id AS id, a.text, p.handle AS owner, "
     "date(a.due_at, 'unixepoch') AS due, a.status, "
     "COALESCE(a.source_kind || '-' || a.source_id, '') AS source, "
     "COALESCE('FND-' || a.finding_id, '') AS corrects, "
     "COALESCE(a.evidence, '') AS evidence, COALESCE(d.handle, '') AS "
     "done_by, COALESCE(strftime('%Y-%m-%dT%H:%M:%SZ', a.done_at, "
     "'unixepoch'), '') AS done, c.handle AS created_by, "
     "strftime('%Y-%m-%dT%H:%M:%SZ', a.created_at, 'unixepoch') AS created "
     "FROM actions a JOIN people p ON p.id = a.owner_id JOIN people c ON "
     "c.id = a.created_by LEFT JOIN people d ON d.id = a.done_by "
     "ORDER BY a.id"},
    /* findings with what they cite, the root cause (clause 10.2 b) and
       the last effectiveness check (10.2 d): "" when none yet */
    {"findings",
     "SELECT 'FND-' || f.id AS id, 'AUD-' || f.audit_id AS audit, f.kind, "
     "f.status, f.text, COALESCE(f.clause, '') AS clause, "
     "COALESCE(f.control_id, '') AS control, COALESCE(f.cause, '') AS "
     "cause, COALESCE(cb.handle, '') AS cause_by, COALESCE((SELECT "
     "group_concat(x.id, ' ') FROM (SELECT 'ACT-' || a.id || ':' || "
     "a.status AS id FROM actions a WHERE a.finding_id = f.id ORDER BY "
     "a.id) x), '') AS actions, COALESCE((SELECT CASE c.effective WHEN 1 "
     "THEN 'yes' ELSE 'no' END FROM finding_checks c WHERE c.finding_id = "
     "f.id ORDER BY c.id DESC LIMIT 1), '') AS effective, "
     "COALESCE((SELECT c.note FROM finding_checks c WHERE c.finding_id = "
     "f.id ORDER BY c.id DESC LIMIT 1), '') AS check_note, "
     "COALESCE((SELECT date(c.checked_at, 'unixepoch') FROM finding_checks "
     "c WHERE c.finding_id = f.id ORDER BY c.id DESC LIMIT 1), '') AS "
     "checked, r.handle AS recorded_by, "
     "strftime('%Y-%m-%dT%H:%M:%SZ', f.created_at, 'unixepoch') AS created, "
     "COALESCE(strftime('%Y-%m-%dT%H:%M:%SZ', f.closed_at, 'unixepoch'), "
     "'') AS closed, COALESCE(f.close_reason, '') AS close_reason "
     "FROM findings f JOIN people r ON r.id = f.created_by LEFT JOIN people "
     "cb ON cb.id = f.cause_by ORDER BY f.id"},
    /* the current SoA; soa is "approved vN" where the row is as version
       N was approved, else "draft" */
    {"soa",
     "SELECT c.control, c.theme, c.title, c.applicable, c.status, "
     "c.justification, c.owner, c.risks, c.updated, c.custom, c.reason, "
     "c.implementation, c.evidence, CASE WHEN d.change = '' THEN "
     "'approved v' || d.version ELSE 'draft' END AS soa FROM soa_current "
     "c JOIN soa_draft d ON d.control = c.control ORDER BY c.seq"},
    {"assets",
     "SELECT 'AST-' || a.id AS id, a.name, a.type, p.handle AS owner, "
     "a.classification, a.conf AS c, a.integ AS i, a.avail AS a, "
     "(SELECT COUNT(*) FROM risks r WHERE r.asset_id = a.id) AS risks, "
     "strftime('%Y-%m-%dT%H:%M:%SZ', a.created_at, 'unixepoch') AS created "
     "FROM assets a JOIN people p ON p.id = a.owner_id ORDER BY a.id"},
    {"suppliers",
     "SELECT 'SUP-' || s.id AS id, s.name, s.status, s.criticality, s.data, "
     "COALESCE(s.service, '') AS service, p.handle AS owner, "
     "COALESCE(s.contract_url, '') AS contract, COALESCE(s.dpa, 'unknown') "
     "AS dpa, s.review_every, COALESCE((SELECT date(r.at, 'unixepoch') FROM "
     "supplier_reviews r WHERE r.supplier_id = s.id ORDER BY r.id DESC "
     "LIMIT 1), '') AS last_review, COALESCE((SELECT q.handle FROM "
     "supplier_reviews r JOIN people q ON q.id = r.reviewer_id WHERE "
     "r.supplier_id = s.id ORDER BY r.id DESC LIMIT 1), '') AS reviewer, "
     "COALESCE((SELECT r.result FROM supplier_reviews r WHERE "
     "r.supplier_id = s.id ORDER BY r.id DESC LIMIT 1), '') AS result, "
     "CASE s.status WHEN 'active' THEN date(s.next_review_at, 'unixepoch') "
     "ELSE '' END AS next_review, COALESCE((SELECT group_concat(x.id, ' ') "
     "FROM (SELECT 'RSK-' || k.id AS id FROM risks k WHERE k.supplier_id = "
     "s.id ORDER BY k.id) x), '') AS risks, COALESCE(s.retired_reason, '') "
     "AS retired_reason, "
     "strftime('%Y-%m-%dT%H:%M:%SZ', s.created_at, 'unixepoch') AS created "
     "FROM suppliers s JOIN people p ON p.id = s.owner_id ORDER BY s.id"},
    {"staff", "SELECT handle, name, COALESCE(email, '') AS email, "
	      "COALESCE(team, '') AS team, role_names(roles) AS roles FROM "
	      "people WHERE active <> 0 "
	      "ORDER BY handle"},
    {"context",
     "SELECT 'CTX-' || c.id AS id, c.kind, c.text, c.status, "
     "COALESCE((SELECT group_concat('RSK-' || x.risk_id, ' ') FROM (SELECT "
     "risk_id FROM context_risks WHERE issue_id = c.id ORDER BY risk_id) "
     "x), '') AS risks, COALESCE(c.retired_reason, '') AS retired_reason, "
     "COALESCE(r.handle, '') AS retired_by, "
     "COALESCE(strftime('%Y-%m-%dT%H:%M:%SZ', c.retired_at, 'unixepoch'), "
     "'') AS retired, p.handle AS created_by, "
     "strftime('%Y-%m-%dT%H:%M:%SZ', c.created_at, 'unixepoch') AS created "
     "FROM context_issues c JOIN people p ON p.id = c.created_by LEFT JOIN "
     "people r ON r.id = c.retired_by ORDER BY c.id"},
    {"parties",
     "SELECT 'PTY-' || t.id AS id, t.name, t.needs, COALESCE((SELECT "
     "group_concat('OBL-' || x.obligation_id, ' ') FROM (SELECT "
     "obligation_id FROM party_obligations WHERE party_id = t.id ORDER BY "
     "obligation_id) x), '') AS obligations, (SELECT COUNT(*) FROM "
     "party_needs_history h WHERE h.party_id = t.id) AS needs_changes, "
     "p.handle AS created_by, "
     "strftime('%Y-%m-%dT%H:%M:%SZ', t.created_at, 'unixepoch') AS created, "
     "strftime('%Y-%m-%dT%H:%M:%SZ', t.updated_at, 'unixepoch') AS updated "
     "FROM parties t JOIN people p ON p.id = t.created_by ORDER BY t.id"},
    {"obligations",
     "SELECT 'OBL-' || o.id AS id, o.title, o.source, o.ref, p.handle AS "
     "owner, COALESCE((SELECT group_concat(x.control_id, ' ') FROM (SELECT "
     "c.control_id FROM obligation_controls c JOIN controls k ON k.id = "
     "c.control_id WHERE c.obligation_id = o.id ORDER BY k.seq) x), '') AS "
     "controls, COALESCE((SELECT group_concat('PTY-' || x.party_id, ' ') "
     "FROM (SELECT party_id FROM party_obligations WHERE obligation_id = "
     "o.id ORDER BY party_id) x), '') AS parties, o.review_every, "
     "COALESCE(date(o.last_reviewed_at, 'unixepoch'), '') AS last_review, "
     "date(o.next_review_at, 'unixepoch') AS next_review, "
     "strftime('%Y-%m-%dT%H:%M:%SZ', o.created_at, 'unixepoch') AS created "
     "FROM obligations o JOIN people p ON p.id = o.owner_id ORDER BY o.id"},
    {"training", "SELECT r.ref AS id, p.handle AS person, r.course, "
		 "date(r.completed_at, 'unixepoch') AS completed, "
		 "COALESCE(date(r.expires_at, 'unixepoch'), '') AS expires, "
		 "COALESCE(b.handle, '') AS recorded_by "
		 "FROM training_records r JOIN people p ON p.id = r.person_id "
		 "LEFT JOIN people b ON b.id = r.recorded_by "
		 "ORDER BY p.handle, r.completed_at, r.ref"},
    {"documents",
     "SELECT 'DOC-' || d.id AS id, d.title, o.handle AS owner, d.version, "
     "COALESCE(d.url, '') AS url, COALESCE(a.handle, '') AS approver, "
     "date(v.approved_at, 'unixepoch') AS approved, "
     "CASE WHEN d.retired_at IS NULL THEN 'in force' ELSE 'retired' END "
     "AS status, d.review_every, "
     "CASE WHEN d.retired_at IS NULL THEN date(d.next_review_at, "
     "'unixepoch') ELSE '' END AS next_review, "
     "CASE WHEN d.ack_required <> 0 THEN (SELECT COUNT(*) FROM doc_acks k JOIN "
     "people q ON q.id = k.person_id WHERE k.doc_id = d.id AND q.active <> 0) "
     "|| '/' || (SELECT COUNT(*) FROM people WHERE active <> 0) ELSE '' END "
     "AS acknowledged, COALESCE(d.retired_reason, '') AS retired_reason "
     "FROM docs d JOIN people o ON o.id = d.owner_id LEFT JOIN "
     "doc_versions v ON v.doc_id = d.id AND v.version = d.version LEFT "
     "JOIN people a ON a.id = v.approver_id ORDER BY d.id"},
    {"evidence",
     "SELECT 'EV-' || e.id AS id, e.title, CASE e.ref_kind WHEN 'control' "
     "THEN CASE WHEN c.custom <> 0 THEN e.ref_id ELSE 'A.' || e.ref_id END "
     "WHEN 'action' THEN 'ACT-' || e.ref_id WHEN 'risk' THEN 'RSK-' || "
     "e.ref_id ELSE 'SUP-' || e.ref_id END AS ref, COALESCE(e.url, '') AS "
     "url, p.handle AS owner, COALESCE(date(e.expires_at, 'unixepoch'), "
     "'') AS expires, CASE WHEN e.expires_at + 86400 <= ?1 THEN "
     "'yes' ELSE 'no' END AS stale, k.handle AS created_by, "
     "strftime('%Y-%m-%dT%H:%M:%SZ', e.created_at, 'unixepoch') AS created, "
     "COALESCE(strftime('%Y-%m-%dT%H:%M:%SZ', e.renewed_at, 'unixepoch'), "
     "'') AS renewed FROM evidence_items e JOIN people p ON p.id = "
     "e.owner_id JOIN people k ON k.id = e.created_by LEFT JOIN controls c "
     "ON e.ref_kind = 'control' AND c.id = e.ref_id ORDER BY e.id"},
    /* who acknowledged which version of a document: the version in force
       (doc_acks) and the earlier ones (doc_ack_history) */
    {"acknowledgements",
     "SELECT 'DOC-' || k.doc_id AS doc, d.title, k.version, p.handle AS "
     "person, strftime('%Y-%m-%dT%H:%M:%SZ', k.at, 'unixepoch') AS "
     "acknowledged, CASE WHEN k.version = d.version THEN 'in force' ELSE "
     "'earlier' END AS status FROM (SELECT doc_id, (SELECT version FROM "
     "docs WHERE id = doc_id) AS version, person_id, at FROM doc_acks "
     "UNION ALL SELECT doc_id, version, person_id, at FROM "
     "doc_ack_history) k JOIN docs d ON d.id = k.doc_id JOIN people p ON "
     "p.id = k.person_id ORDER BY k.doc_id, k.version, p.handle"},
    {"quiz-results",
     "SELECT 'QZ-' || q.campaign_id AS quiz, p.handle AS person, q.team, "
     "c.questions, (SELECT COUNT(*) FROM quiz_items i WHERE i.campaign_id "
     "= q.campaign_id AND i.person_id = q.person_id AND i.answered_at IS "
     "NOT NULL) AS answered, (SELECT COUNT(*) FROM quiz_items i WHERE "
     "i.campaign_id = q.campaign_id AND i.person_id = q.person_id AND "
     "i.correct <> 0) AS correct, COALESCE(strftime('%Y-%m-%dT%H:%M:%SZ', "
     "q.completed_at, 'unixepoch'), '') AS completed, "
     "date(c.deadline_at, 'unixepoch') AS deadline, c.status "
     "FROM quiz_participants q JOIN quiz_campaigns c ON c.id = "
     "q.campaign_id JOIN people p ON p.id = q.person_id "
     "ORDER BY q.campaign_id, p.handle"},
    /* one row per (article, control) pair of the framework, run once per
       pair: ?1 framework, ?2 article, ?3 its title, ?4 control, ?5 the
       store's time, ?6 gap ("yes" on every row of an article none of
       whose controls is applicable and implemented) */
    {"mapping",
     "SELECT ?1 AS framework, ?2 AS article, ?3 AS article_title, ?4 AS "
     "control, COALESCE(c.title, '') AS control_title, CASE c.applicable "
     "WHEN 1 THEN 'yes' ELSE 'no' END AS applicable, COALESCE(c.status, "
     "'') AS status, (SELECT COUNT(*) FROM evidence_items e WHERE "
     "e.ref_kind = 'control' AND e.ref_id = ?4) AS evidence, (SELECT "
     "COUNT(*) FROM evidence_items e WHERE e.ref_kind = 'control' AND "
     "e.ref_id = ?4 AND e.expires_at + 86400 <= ?5) AS stale_evidence, ?6 "
     "AS gap FROM (SELECT 1 AS one) x LEFT JOIN controls c ON c.id = ?4"},
    {"objective-measurements",
     "SELECT 'OBJ-' || o.id AS objective, o.text, o.target, o.status, "
     "date(o.due_at, 'unixepoch') AS due, printf('%g', m.value) AS value, "
     "date(m.measured_at, 'unixepoch') AS measured, COALESCE(m.note, '') "
     "AS note, p.handle AS recorded_by, strftime('%Y-%m-%dT%H:%M:%SZ', "
     "m.recorded_at, 'unixepoch') AS recorded FROM objective_measurements "
     "m JOIN objectives o ON o.id = m.objective_id JOIN people p ON p.id = "
     "m.recorded_by ORDER BY o.id, m.measured_at, m.id"},
    {"reviews",
     "SELECT 'MR-' || r.id AS id, date(r.planned_at, 'unixepoch') AS "
     "planned, r.status, COALESCE(date(r.held_at, 'unixepoch'), '') AS "
     "held, COALESCE(q.handle, '') AS recorded_by, COALESCE((SELECT "
     "group_concat(handle, ' ') FROM (SELECT p.handle FROM "
     "review_attendees a JOIN people p ON p.id = a.person_id WHERE "
     "a.review_id = r.id ORDER BY a.id) x), '') AS attendees, "
     "COALESCE(r.decisions, '') AS decisions, COALESCE((SELECT "
     "group_concat(x, ' ') FROM (SELECT 'ACT-' || a.id AS x FROM actions a "
     "WHERE a.source_kind = 'MR' AND a.source_id = r.id ORDER BY a.id) x), "
     "'') AS actions FROM reviews r LEFT JOIN people q ON q.id = "
     "r.recorded_by ORDER BY r.id"},
    {"party-feedback",
     "SELECT 'PTY-' || p.id AS party, p.name, f.text AS feedback, "
     "q.handle AS recorded_by, strftime('%Y-%m-%dT%H:%M:%SZ', "
     "f.recorded_at, 'unixepoch') AS recorded FROM party_feedback f JOIN "
     "parties p ON p.id = f.party_id JOIN people q ON q.id = f.recorded_by "
     "ORDER BY f.id"},
};

/* Exports that keep versions: the same columns as of version ?1. */
static const struct export versioned[] = {
    {"soa", "SELECT control, theme, title, applicable, status, justification, "
	    "owner, risks, updated, custom, reason, implementation, evidence, "
	    "'approved v' || version_id AS soa FROM soa_version_controls WHERE "
	    "version_id = ?1 ORDER BY seq"},
};

const char *
export_names(void)
{
	static char names[512];
	struct buf b = {0};
	size_t i;

	if (names[0] == '\0') {
		for (i = 0; i < ARRAY_LEN(exports); i++)
			buf_printf(&b, "%s%s", i ? "|" : "", exports[i].name);
		snprintf(names, sizeof(names), "%s", buf_str(&b));
		buf_free(&b);
	}
	return names;
}

const char *
export_name(size_t i)
{
	return i < ARRAY_LEN(exports) ? exports[i].name : NULL;
}

/*
 * A cell as RFC 4180 has it. A leading = + - @ (a formula), TAB or CR (a
 * formula once a spreadsheet trims them) is defused with a quote; what a
 * terminal would act on is shown escaped, newlines kept inside quotes.
 */
static void
csv_field(FILE *out, const char *v)
{
	int defuse = v[0] == '=' || v[0] == '+' || v[0] == '-' || v[0] == '@' ||
		     v[0] == '\t' || v[0] == '\r';
	struct buf b = {0};
	const char *p;

	buf_put_printable(&b, v, PRINT_KEEP_NL);
	p = buf_str(&b);
	if (defuse || strpbrk(p, ",\"\r\n") != NULL) {
		fputc('"', out);
		if (defuse)
			fputc('\'', out);
		for (; *p; p++) {
			if (*p == '"')
				fputc('"', out);
			fputc(*p, out);
		}
		fputc('"', out);
	} else {
		fputs(p, out);
	}
	buf_free(&b);
}

/* A Markdown table cell: HTML escaped, pipes and line ends kept inside */
static void
md_field(FILE *out, const char *v)
{
	struct buf b = {0}, h = {0};
	const char *p;

	buf_put_printable(&b, v, PRINT_KEEP_NL);
	buf_put_html_lines(&h, buf_str(&b), "<br>");
	for (p = buf_str(&h); *p; p++) {
		if (*p == '|')
			fputs("\\|", out);
		else
			fputc(*p, out);
	}
	buf_free(&b);
	buf_free(&h);
}

/* Exports of a framework's mapping to the controls: --framework. */
static const char *const framed[] = {"mapping"};

/* The framework's pairs in the file's order, with each article's gap. */
struct framed_row {
	char *label, *article, *title, *control;
	int done; /* the control is applicable and implemented */
};

struct framed_rows {
	struct framed_row *v;
	size_t n, cap;
};

static int
framed_add(void *arg, const struct mapping_row *r)
{
	struct framed_rows *rows = arg;
	struct framed_row *x;

	if (rows->n == rows->cap) {
		rows->cap = rows->cap ? rows->cap * 2 : 64;
		rows->v = xrealloc(rows->v, rows->cap * sizeof(*rows->v));
	}
	x = &rows->v[rows->n++];
	x->label = xstrdup(r->label);
	x->article = xstrdup(r->article);
	x->title = xstrdup(r->title);
	x->control = xstrdup(r->control);
	x->done = 0;
	return 0;
}

static void
framed_free(struct framed_rows *rows)
{
	size_t i;

	for (i = 0; i < rows->n; i++) {
		free(rows->v[i].label);
		free(rows->v[i].article);
		free(rows->v[i].title);
		free(rows->v[i].control);
	}
	free(rows->v);
	memset(rows, 0, sizeof(*rows));
}

/* "yes" when no control of row i's article is done. */
static const char *
framed_gap(const struct framed_rows *rows, size_t i)
{
	size_t k;

	for (k = 0; k < rows->n; k++)
		if (rows->v[k].done &&
		    strcmp(rows->v[k].article, rows->v[i].article) == 0)
			return "no";
	return "yes";
}

/*
 * The framework's rows for a framed export into rows (rows->n stays 0 and
 * *is_framed 0 for an export that is not framed). 0, or -1 with err.
 */
static int
framed_rows(struct store *st, const char *name, const char *framework,
	    struct framed_rows *rows, int *is_framed, char *err, size_t errlen)
{
	size_t i;

	*is_framed = 0;
	for (i = 0; i < ARRAY_LEN(framed); i++)
		if (strcmp(framed[i], name) == 0)
			break;
	if (i == ARRAY_LEN(framed) && framework != NULL) {
		snprintf(err, errlen, "export %s has no --framework", name);
		return -1;
	}
	if (i == ARRAY_LEN(framed))
		return 0; /* not framed: nothing to bind */
	if (framework == NULL) {
		snprintf(err, errlen, "export %s needs --framework %s", name,
			 mapping_framework_names());
		return -1;
	}
	*is_framed = 1;
	if (mapping_each(framework, framed_add, rows, err, errlen) != 0)
		return -1;
	for (i = 0; i < rows->n; i++) {
		int64_t done = 0;

		if (db_int(st, &done,
			   "SELECT COUNT(*) FROM controls WHERE id = ? AND "
			   "applicable = 1 AND status = 'implemented'",
			   "t", rows->v[i].control) < 0) {
			snprintf(err, errlen, "database error: %s",
				 db_errmsg(st));
			return -1;
		}
		rows->v[i].done = done > 0;
	}
	return 0;
}

/* Exports whose ?1 is the store's time. */
static const char *const timed[] = {"evidence"};

/* An export's statement, its ?1 bound to the store's time if it has one. */
static struct db_stmt *
export_prepare(struct store *st, const struct export *e)
{
	size_t i;

	for (i = 0; i < ARRAY_LEN(timed); i++)
		if (strcmp(timed[i], e->name) == 0)
			return db_prepare(st, e->sql, "i", store_now(st));
	return db_prepare(st, e->sql, NULL);
}

int
export_write(struct store *st, const char *name, const char *format, FILE *out,
	     char *err, size_t errlen)
{
	return export_write_version(st, name, format, 0, out, err, errlen);
}

int
export_write_version(struct store *st, const char *name, const char *format,
		     int64_t version, FILE *out, char *err, size_t errlen)
{
	return export_write_framework(st, name, format, version, NULL, out, err,
				      errlen);
}

/* The header of the result's columns in format. */
static void
write_header(FILE *out, const char *format, struct db_stmt *s, int ncol)
{
	int c;

	if (format[0] == 'j')
		return;
	for (c = 0; c < ncol; c++) {
		if (format[0] == 'm')
			fputs("| ", out);
		else if (c)
			fputc(',', out);
		fputs(db_col_name(s, c), out);
		if (format[0] == 'm')
			fputc(' ', out);
	}
	if (format[0] == 'm') {
		fputs("|\n", out);
		for (c = 0; c < ncol; c++)
			fputs("|---", out);
		fputs("|\n", out);
	} else {
		fputs("\r\n", out);
	}
}

/* The row s is on: appended to arr (json) or written to out. */
static void
write_row(FILE *out, const char *format, struct db_stmt *s, int ncol,
	  json_t *arr)
{
	json_t *obj = arr ? json_object() : NULL;
	int k;

	for (k = 0; k < ncol; k++) {
		const char *v = db_col(s, k);

		if (obj) {
			json_t *jv = db_col_type(s, k) == DB_INTEGER
					 ? json_integer(db_col_int(s, k))
					 : json_string(v);

			if (jv == NULL) /* not UTF-8: never in the store */
				jv = json_null();
			json_object_set_new(obj, db_col_name(s, k), jv);
		} else if (format[0] == 'm') {
			fputs("| ", out);
			md_field(out, v);
			fputc(' ', out);
		} else {
			if (k)
				fputc(',', out);
			csv_field(out, v);
		}
	}
	if (obj)
		json_array_append_new(arr, obj);
	else
		fputs(format[0] == 'm' ? "|\n" : "\r\n", out);
}

int
export_write_framework(struct store *st, const char *name, const char *format,
		       int64_t version, const char *framework, FILE *out,
		       char *err, size_t errlen)
{
	struct db_stmt *s = NULL;
	json_t *arr = NULL;
	struct framed_rows rows = {0};
	size_t i, r, vi = 0;
	int c = DB_DONE, ncol, rc = -1, is_framed;

	for (i = 0; i < ARRAY_LEN(exports); i++)
		if (strcmp(exports[i].name, name) == 0)
			break;
	if (i == ARRAY_LEN(exports)) {
		snprintf(err, errlen, "unknown export \"%s\" (expected %s)",
			 name, export_names());
		return -1;
	}
	if (strcmp(format, "csv") != 0 && strcmp(format, "json") != 0 &&
	    strcmp(format, "md") != 0) {
		snprintf(err, errlen, "unknown format \"%s\" (csv, json or md)",
			 format);
		return -1;
	}
	for (vi = 0; version > 0 && vi < ARRAY_LEN(versioned); vi++)
		if (strcmp(versioned[vi].name, name) == 0)
			break;
	if (version > 0 && vi == ARRAY_LEN(versioned)) {
		snprintf(err, errlen, "export %s has no versions", name);
		return -1;
	}
	if (framed_rows(st, name, framework, &rows, &is_framed, err, errlen) <
	    0) {
		framed_free(&rows);
		return -1;
	}
	if (is_framed)
		s = db_prepare(st, exports[i].sql, NULL);
	else
		s = version > 0
			? db_prepare(st, versioned[vi].sql, "i", version)
			: export_prepare(st, &exports[i]);
	if (s == NULL) {
		snprintf(err, errlen, "database error: %s", db_errmsg(st));
		framed_free(&rows);
		return -1;
	}
	/* a version always has rows: none means there is no such version */
	if (version > 0 && db_step(s) != DB_ROW) {
		snprintf(err, errlen, "no version %lld of %s",
			 (long long)version, name);
		goto out;
	}
	db_reset(s);
	ncol = db_col_count(s);
	if (strcmp(format, "json") == 0)
		arr = json_array();
	write_header(out, format, s, ncol);
	if (is_framed) {
		/* one run of the statement per pair, in the file's order */
		for (r = 0; r < rows.n && c == DB_DONE; r++) {
			const struct framed_row *x = &rows.v[r];

			if (db_rebind(s, "ttttit", x->label, x->article,
				      x->title, x->control, store_now(st),
				      framed_gap(&rows, r)) < 0 ||
			    (c = db_step(s)) != DB_ROW)
				break;
			write_row(out, format, s, ncol, arr);
			c = DB_DONE;
		}
		if (r < rows.n)
			c = DB_ERROR;
	} else {
		while ((c = db_step(s)) == DB_ROW)
			write_row(out, format, s, ncol, arr);
	}
	if (c != DB_DONE) {
		snprintf(err, errlen, "database error: %s", db_errmsg(st));
		goto out;
	}
	if (arr) {
		json_dumpf(arr, out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		fputc('\n', out);
	}
	rc = 0;
out:
	json_decref(arr);
	framed_free(&rows);
	db_finish(st, s);
	return rc;
}

int
export_each(struct store *st, const char *name, int64_t version,
	    export_row_fn fn, void *arg, char *err, size_t errlen)
{
	const char **names = NULL, **values = NULL;
	struct db_stmt *s = NULL;
	size_t i, vi;
	int c, k, ncol, n = 0;

	for (i = 0; i < ARRAY_LEN(exports); i++)
		if (strcmp(exports[i].name, name) == 0)
			break;
	for (vi = 0; vi < ARRAY_LEN(versioned); vi++)
		if (strcmp(versioned[vi].name, name) == 0)
			break;
	if (i == ARRAY_LEN(exports) ||
	    (version > 0 && vi == ARRAY_LEN(versioned))) {
		snprintf(err, errlen, "no export \"%s\"%s", name,
			 version > 0 ? " with versions" : "");
		return -1;
	}
	for (k = 0; k < (int)ARRAY_LEN(framed); k++)
		if (strcmp(framed[k], name) == 0) {
			snprintf(err, errlen, "export %s needs a framework",
				 name);
			return -1;
		}
	s = version > 0 ? db_prepare(st, versioned[vi].sql, "i", version)
			: export_prepare(st, &exports[i]);
	if (s == NULL) {
		snprintf(err, errlen, "database error: %s", db_errmsg(st));
		return -1;
	}
	ncol = db_col_count(s);
	names = xcalloc((size_t)ncol + 1, sizeof(*names));
	values = xcalloc((size_t)ncol + 1, sizeof(*values));
	while ((c = db_step(s)) == DB_ROW) {
		/* copied: a statement prepared again frees its names */
		for (k = 0; k < ncol && names[k] == NULL; k++)
			names[k] = xstrdup(db_col_name(s, k));
		for (k = 0; k < ncol; k++)
			values[k] = db_col(s, k);
		n++;
		if (fn(arg, ncol, names, values) != 0) {
			c = DB_DONE;
			break;
		}
	}
	if (c != DB_DONE) {
		snprintf(err, errlen, "database error: %s", db_errmsg(st));
		n = -1;
	}
	for (k = 0; k < ncol; k++)
		free((char *)names[k]);
	free(names);
	free(values);
	db_finish(st, s);
	return n;
}

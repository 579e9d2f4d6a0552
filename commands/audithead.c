/*
 * The audit log's head, published: once a day the isms_managers and
 * auditors are sent SEQ:HASH of the newest audit row, so that a copy lives
 * outside the database; "ismsctl audit verify --head SEQ:HASH" then shows
 * that no row up to it was removed or rewritten.
 */
#include <stdio.h>
#include <stdlib.h>

#include "due.h"

int
audit_head_job(struct cmd_ctx *ctx, struct tz_work *w)
{
	struct nudge n = {
	    .kind = "audit.head", .object = "audit_log", .msg_kind = MSG_AUDIT};
	char key[16], hash[65], *subject = NULL, *body = NULL;
	int64_t start, seq, *ids = NULL;
	size_t nids = 0, i;
	int rc;

	if (!ctx->cfg->store_publish_head)
		return 0;
	if (nudge_period(ctx, "1d", &start, key) != 1)
		return -1;
	n.period = key;
	rc = store_audit_head(ctx->st, &seq, hash);
	if (rc <= 0)
		return rc;
	if (nudge_rows(ctx->st,
		       db_prepare(ctx->st,
				  "SELECT id FROM people WHERE active <> 0 AND "
				  "(roles & ?) != 0 ORDER BY handle",
				  "i",
				  (int64_t)(ROLE_ISMS_MANAGER | ROLE_AUDITOR)),
		       1, &ids, &nids) < 0)
		return -1;
	subject = xasprintf("Audit log head, %s: %lld:%.12s...", key,
			    (long long)seq, hash);
	body = xasprintf(
	    "The audit log of %s ends at row %lld:\n%lld:%s\n\nKeep this "
	    "message outside the ISMS. \"ismsctl audit verify --head "
	    "%lld:%s\" shows later that no row up to this one was removed "
	    "or rewritten.",
	    ctx->cfg->org_name ? ctx->cfg->org_name : "the ISMS",
	    (long long)seq, (long long)seq, hash, (long long)seq, hash);
	rc = 0;
	for (i = 0; i < nids && rc == 0; i++) {
		struct person p;

		if (store_person_by_id(ctx->st, ids[i], &p) != 1 ||
		    nudge_send(ctx, w, &n, &p, subject, body,
			       json_pack("{s:I,s:s}", "seq", (json_int_t)seq,
					 "hash", hash)) < 0)
			rc = -1;
	}
	free(ids);
	free(subject);
	free(body);
	return rc;
}

/*
 * /isms portal: a one-time link into the read-only web portal, answered
 * privately; and the link making it shares with ismsctl portal-link.
 */
#include "portal.h"

#include <stdio.h>
#include <string.h>

#include "cmd.h"

int
portal_enabled(const struct config *cfg)
{
	return cfg->portal_listen != NULL && cfg->portal_listen[0] != '\0';
}

void
portal_base_url(const struct config *cfg, char *out, size_t len)
{
	size_t n;

	if (cfg->portal_url != NULL && cfg->portal_url[0] != '\0')
		snprintf(out, len, "%s", cfg->portal_url);
	else
		snprintf(out, len, "%s://%s",
			 cfg->portal_tls_cert != NULL &&
				 cfg->portal_tls_cert[0] != '\0'
			     ? "https"
			     : "http",
			 cfg->portal_listen ? cfg->portal_listen : "");
	n = strlen(out);
	while (n > 0 && out[n - 1] == '/')
		out[--n] = '\0';
}

int
portal_link_make(struct store *st, const struct config *cfg, const char *actor,
		 const char *via, const struct person *who, int64_t now,
		 int64_t seconds, char *url, size_t len, char *err,
		 size_t errlen)
{
	char secret[PORTAL_SECRET_LEN + 1], base[512], details[160];
	char when[32];
	int64_t id;

	url[0] = '\0';
	if (!who->active) {
		snprintf(err, errlen,
			 "%s has left: no portal link (their sessions no "
			 "longer work)",
			 who->handle);
		return -1;
	}
	if (seconds <= 0 || seconds > PORTAL_LINK_MAX_HOURS * 3600) {
		snprintf(err, errlen,
			 "a link is valid for 1 to %d hours at most",
			 PORTAL_LINK_MAX_HOURS);
		return -1;
	}
	id = portal_token_add(st, who->id, via, now, now + seconds, secret);
	if (id < 0) {
		snprintf(err, errlen, "database error");
		return -1;
	}
	time_iso(now + seconds, when);
	snprintf(details, sizeof(details),
		 "{\"for\":\"%s\",\"expires\":\"%s\",\"via\":\"%s\"}",
		 who->handle, when, via);
	if (store_audit(st, actor, "portal.link", who->handle, details) < 0) {
		snprintf(err, errlen, "database error");
		return -1;
	}
	portal_base_url(cfg, base, sizeof(base));
	snprintf(url, len, "%s/l/%s", base, secret);
	memset(secret, 0, sizeof(secret));
	return 0;
}

static int
portal_cmd(struct cmd_ctx *ctx)
{
	char url[768], err[160];

	if (!portal_enabled(ctx->cfg))
		return cmd_error(ctx, "the web portal is not enabled here (an "
				      "administrator sets [portal] listen)");
	if (portal_link_make(ctx->st, ctx->cfg, ctx->me.handle,
			     ctx->rq ? ctx->rq->via : "internal", &ctx->me,
			     ctx->now, PORTAL_LINK_SECONDS, url, sizeof(url),
			     err, sizeof(err)) < 0)
		return cmd_error(ctx, "%s", err);
	/* the link opens a session as the sender: never in a channel */
	ctx->rp->confidential = 1;
	cmd_reply(ctx,
		  "Your portal link (valid 15 minutes, once; do not share "
		  "it): %s",
		  url);
	return 0;
}

static const struct cmd_entry portal_commands[] = {
    {
	.flags = CMD_SELF,
	.usage = "",
	.help = "a one-time link into the read-only web portal, sent "
		"privately",
	.exec = portal_cmd,
    },
    {0},
};

const struct cmd_object portal_object = {
    .name = "portal",
    .help = "a link into the read-only web portal",
    .commands = portal_commands,
};

/*
 * export audit-pack in chat. The pack is a file, and no transport here
 * carries files (mail goes out as text and HTML only), so the answer says
 * how to make it on the server and which audit-log head it will hold, so
 * that the auditor can check the pack they are handed against it.
 */
#include <stdio.h>
#include <string.h>

#include "../store/export.h"
#include "../store/pack.h"
#include "register.h"

static int
export_pack(struct cmd_ctx *ctx)
{
	struct buf names = {0};
	const char *name;
	char hash[65];
	int64_t seq = 0;
	size_t i;
	int rc;

	rc = store_audit_head(ctx->st, &seq, hash);
	if (rc < 0)
		return cmd_error(ctx, "cannot read the audit log: %s",
				 db_errmsg(ctx->st));
	/* the audit log is packed on its own, not as a register */
	for (i = 0; (name = export_name(i)) != NULL; i++)
		if (strcmp(name, "audit-log") != 0)
			buf_printf(&names, "%s%s", names.len ? ", " : "", name);
	cmd_reply(ctx,
		  "The audit pack is a file, which cannot be sent over chat. "
		  "On the ISMS server, run:\n"
		  "  ismsctl export audit-pack FILE.tar.gz\n"
		  "It holds every register in CSV, JSON and Markdown (%s), "
		  "each approved SoA version, the audit log in JSON, the "
		  "output of \"ismsctl audit verify\" (verify.txt), the audit "
		  "log's head (HEAD.txt) and MANIFEST.sha256 over all of them "
		  "(check it with \"sha256sum -c MANIFEST.sha256\" in the "
		  "unpacked %s folder).",
		  buf_str(&names), PACK_DIR);
	buf_free(&names);
	if (ctx->cfg->portal_listen != NULL && ctx->cfg->portal_listen[0])
		cmd_reply(
		    ctx, "\nOr download it: /isms portal gives you a link into "
			 "the web portal, whose audit log page lists the "
			 "pack and every register.");
	if (rc == 1)
		cmd_reply(ctx,
			  "\nThe audit log's head now is %lld:%s; the pack's "
			  "HEAD.txt names this row or a later one.",
			  (long long)seq, hash);
	return 0;
}

static const struct cmd_entry export_commands[] = {
    {
	.verb = "audit-pack",
	.roles = ROLE_AUDITOR | ROLE_ISMS_MANAGER,
	.flags = CMD_READONLY,
	.usage = "",
	.help = "how to make the auditor's pack of every register, the SoA "
		"versions and the audit log",
	.exec = export_pack,
    },
    {0},
};

const struct cmd_object export_object = {
    .name = "export",
    .help = "the audit pack for auditors",
    .commands = export_commands,
};

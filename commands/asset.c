/*
 * Assets (AST-n): the inventory with type, owner, classification and
 * confidentiality / integrity / availability ratings (1-3).
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "register.h"

#define ASSET_TYPE_MAX 64

static const char *const classifications[] = {"public", "internal",
					      "confidential", "restricted"};

struct asset {
	char name[REG_NAME_MAX + 1];
	char type[ASSET_TYPE_MAX + 1];
	struct person owner;
	int classification; /* index in classifications */
	int c, i, a;
};

static int
asset_load(struct cmd_ctx *ctx, int64_t id, struct asset *as)
{
	struct db_stmt *s = db_prepare(ctx->st,
				       "SELECT name, type, owner_id, "
				       "classification, conf, integ, avail "
				       "FROM assets WHERE id = ?",
				       "i", id);
	int rc = -1;

	memset(as, 0, sizeof(*as));
	if (s == NULL || db_step(s) != DB_ROW)
		goto out;
	snprintf(as->name, sizeof(as->name), "%s", db_col(s, 0));
	snprintf(as->type, sizeof(as->type), "%s", db_col(s, 1));
	as->classification = reg_one_of(db_col(s, 3), classifications, 4);
	as->c = (int)db_col_int(s, 4);
	as->i = (int)db_col_int(s, 5);
	as->a = (int)db_col_int(s, 6);
	if (store_person_by_id(ctx->st, db_col_int(s, 2), &as->owner) == 1)
		rc = 0;
out:
	db_finish(ctx->st, s);
	return rc < 0 ? cmd_error(ctx, "database error") : 0;
}

/*
 * Reads the options into as; with required set, every one but owner= must
 * be there. Returns how many were given, or -1 with an error reply.
 */
static int
asset_keys(struct cmd_ctx *ctx, struct asset *as, int required)
{
	const char *type = NULL, *name = NULL;

	if (reg_key_text(ctx, "name", REG_NAME_MAX, 0, &name) < 0 ||
	    reg_key_text(ctx, "type", ASSET_TYPE_MAX, required, &type) < 0 ||
	    reg_key_person(ctx, "owner", &as->owner) < 0 ||
	    reg_key_enum(ctx, "classification", classifications, 4, required,
			 &as->classification) < 0 ||
	    reg_key_int(ctx, "c", 1, 3, required, &as->c) < 0 ||
	    reg_key_int(ctx, "i", 1, 3, required, &as->i) < 0 ||
	    reg_key_int(ctx, "a", 1, 3, required, &as->a) < 0)
		return -1;
	if (name != NULL)
		snprintf(as->name, sizeof(as->name), "%s", name);
	if (type != NULL)
		snprintf(as->type, sizeof(as->type), "%s", type);
	/* the engine let through only these keys */
	return (int)ctx->cl->nkv;
}

static int
asset_add(struct cmd_ctx *ctx)
{
	struct asset as = {0};
	char obj[32], *name, *subject = NULL;
	int rc = -1;
	int64_t id;

	name = reg_text(ctx, 0, REG_NAME_MAX, "a name");
	if (name == NULL)
		return -1;
	snprintf(as.name, sizeof(as.name), "%s", name);
	if (asset_keys(ctx, &as, 1) < 0 ||
	    reg_may_own(ctx, &as.owner, "an asset") < 0)
		goto out;
	if (db_exec(ctx->st,
		    "INSERT INTO assets(name, type, owner_id, classification, "
		    "conf, integ, avail, created_by, created_at, updated_at) "
		    "VALUES (?,?,?,?,?,?,?,?,?,?)",
		    "ttitiiiiii", as.name, as.type, as.owner.id,
		    classifications[as.classification], (int64_t)as.c,
		    (int64_t)as.i, (int64_t)as.a, ctx->me.id, ctx->now,
		    ctx->now) < 0)
		goto out;
	id = db_last_id(ctx->st);
	reg_obj(obj, "AST", id);
	if (cmd_audit(ctx, "asset.add", obj,
		      json_pack("{s:s,s:s,s:s,s:s,s:i,s:i,s:i}", "name",
				as.name, "type", as.type, "owner",
				as.owner.handle, "classification",
				classifications[as.classification], "c", as.c,
				"i", as.i, "a", as.a)) < 0)
		goto out;
	subject = xasprintf("You own asset %s: %s", obj, as.name);
	if (reg_tell(ctx, as.owner.id, subject, subject) < 0)
		goto out;
	cmd_reply(ctx, "Asset %s added: %s (%s, %s, C%d I%d A%d), owner %s.",
		  obj, as.name, as.type, classifications[as.classification],
		  as.c, as.i, as.a, as.owner.handle);
	rc = 0;
out:
	free(name);
	free(subject);
	return rc;
}

static int
asset_update(struct cmd_ctx *ctx)
{
	struct reg_ref ref;
	struct asset old, as;
	json_t *changes = NULL;
	int n;

	if (ctx->cl->npos > 1)
		return reg_usage(ctx);
	if (reg_arg(ctx, 0, "AST", &ref) < 0 ||
	    reg_may_change(ctx, ref.owner_id, ref.obj, "owner") < 0 ||
	    asset_load(ctx, ref.id, &old) < 0)
		return -1;
	as = old;
	n = asset_keys(ctx, &as, 0);
	if (n < 0)
		return -1;
	if (n == 0)
		return cmd_error(ctx,
				 "nothing to change (usage: asset update "
				 "%s)",
				 ctx->entry->usage);
	if (as.owner.id != old.owner.id &&
	    !has_role(&ctx->me, ROLE_ISMS_MANAGER))
		return cmd_error(ctx, "not allowed: only an isms_manager may "
				      "give an asset to another owner");
	changes = json_object();
	reg_diff(changes, "name", old.name, as.name);
	reg_diff(changes, "type", old.type, as.type);
	reg_diff(changes, "owner", old.owner.handle, as.owner.handle);
	reg_diff(changes, "classification", classifications[old.classification],
		 classifications[as.classification]);
	reg_diff_int(changes, "c", old.c, as.c);
	reg_diff_int(changes, "i", old.i, as.i);
	reg_diff_int(changes, "a", old.a, as.a);
	if (json_object_size(changes) == 0) {
		json_decref(changes);
		return cmd_error(ctx, "%s already has these values", ref.obj);
	}
	if (db_exec(ctx->st,
		    "UPDATE assets SET name = ?, type = ?, owner_id = ?, "
		    "classification = ?, conf = ?, integ = ?, avail = ?, "
		    "updated_at = ? WHERE id = ?",
		    "ttitiiiii", as.name, as.type, as.owner.id,
		    classifications[as.classification], (int64_t)as.c,
		    (int64_t)as.i, (int64_t)as.a, ctx->now, ref.id) < 0 ||
	    cmd_audit(ctx, "asset.update", ref.obj,
		      json_pack("{s:o}", "changes", changes)) < 0)
		return -1;
	cmd_reply(ctx, "%s updated: %s (%s, %s, C%d I%d A%d), owner %s.",
		  ref.obj, as.name, as.type, classifications[as.classification],
		  as.c, as.i, as.a, as.owner.handle);
	return 0;
}

static int
asset_list(struct cmd_ctx *ctx)
{
	struct db_stmt *s;
	int n = 0, mine;

	if (ctx->cl->npos > 1 ||
	    (ctx->cl->npos == 1 && strcasecmp(ctx->cl->pos[0], "mine") != 0))
		return reg_usage(ctx);
	mine = ctx->cl->npos == 1;
	s = db_prepare(ctx->st,
		       "SELECT a.id, a.name, a.type, a.classification, a.conf, "
		       "a.integ, a.avail, p.handle, (SELECT COUNT(*) FROM "
		       "risks r WHERE r.asset_id = a.id) FROM assets a JOIN "
		       "people p ON p.id = a.owner_id WHERE ? = 0 OR "
		       "a.owner_id = ? ORDER BY a.id",
		       "ii", (int64_t)mine, ctx->me.id);
	if (s == NULL)
		return cmd_error(ctx, "database error");
	while (db_step(s) == DB_ROW) {
		cmd_reply(ctx,
			  "%sAST-%lld %s [%s, %s, C%d I%d A%d] owner %s, "
			  "%d risk%s",
			  n ? "\n" : "", (long long)db_col_int(s, 0),
			  db_col(s, 1), db_col(s, 2), db_col(s, 3),
			  (int)db_col_int(s, 4), (int)db_col_int(s, 5),
			  (int)db_col_int(s, 6), db_col(s, 7),
			  (int)db_col_int(s, 8),
			  (int)db_col_int(s, 8) == 1 ? "" : "s");
		n++;
	}
	db_finish(ctx->st, s);
	if (n == 0)
		cmd_reply(ctx,
			  "No assets%s yet. Add one with: /isms asset add "
			  "<name> type=... classification=... c=1-3 "
			  "i=1-3 a=1-3",
			  mine ? " of yours" : "");
	return 0;
}

static int
asset_show(struct cmd_ctx *ctx)
{
	struct reg_ref ref;
	struct asset as;
	struct db_stmt *s;
	char created[16];
	int64_t at = 0;
	int n = 0;

	if (reg_arg(ctx, 0, "AST", &ref) < 0 ||
	    asset_load(ctx, ref.id, &as) < 0)
		return -1;
	db_int(ctx->st, &at, "SELECT created_at FROM assets WHERE id = ?", "i",
	       ref.id);
	cmd_date(at, created);
	cmd_reply(ctx,
		  "%s %s\nType: %s. Owner: %s (%s). Classification: %s.\n"
		  "Confidentiality %d, integrity %d, availability %d (1-3). "
		  "Added %s.",
		  ref.obj, as.name, as.type, as.owner.handle, as.owner.name,
		  classifications[as.classification], as.c, as.i, as.a,
		  created);
	if (!has_role(&ctx->me, REG_READERS))
		return 0;
	s = db_prepare(ctx->st,
		       "SELECT id, level, score, title FROM risks WHERE "
		       "asset_id = ? ORDER BY score DESC, id",
		       "i", ref.id);
	if (s == NULL)
		return cmd_error(ctx, "database error");
	ctx->rp->confidential = 1;
	cmd_reply(ctx, "\nRisks:");
	while (db_step(s) == DB_ROW) {
		cmd_reply(ctx, "\n  RSK-%lld [%s %d] %s",
			  (long long)db_col_int(s, 0), db_col(s, 1),
			  (int)db_col_int(s, 2), db_col(s, 3));
		n++;
	}
	db_finish(ctx->st, s);
	if (n == 0)
		cmd_reply(ctx, " none recorded");
	return 0;
}

static const struct cmd_entry asset_commands[] = {
    {
	.verb = "add",
	.roles = ROLE_RISK_OWNER | ROLE_ISMS_MANAGER,
	.keys = "type,owner,classification,c,i,a",
	.usage = "<name> type=... [owner=@h] "
		 "classification=public|internal|confidential|restricted c=1-3 "
		 "i=1-3 "
		 "a=1-3",
	.help = "add an asset to the inventory (owner defaults to you)",
	.exec = asset_add,
    },
    {
	.verb = "update",
	.roles = ROLE_RISK_OWNER | ROLE_ISMS_MANAGER,
	.keys = "name,type,owner,classification,c,i,a",
	.usage =
	    "AST-n [name=...] [type=...] [owner=@h] [classification=...] [c=] "
	    "[i=] [a=]",
	.help = "change an asset (its owner or an isms_manager)",
	.exec = asset_update,
    },
    {
	.verb = "list",
	.flags = CMD_READONLY,
	.usage = "[mine]",
	.help = "the asset inventory",
	.exec = asset_list,
    },
    {
	.verb = "show",
	.flags = CMD_READONLY,
	.usage = "AST-n",
	.help = "an asset and its risks",
	.exec = asset_show,
    },
    {0},
};

const struct cmd_object asset_object = {
    .name = "asset",
    .help = "the asset inventory: owners, classification, C/I/A",
    .commands = asset_commands,
};

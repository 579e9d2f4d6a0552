/*
 * Shared by the ISMS register commands (asset, risk, control, action, doc,
 * audit, review, scope, report): loading objects by id, the "owner or
 * isms_manager" rule, key=value validation and the report sections.
 */
#ifndef ISMS_REGISTER_H
#define ISMS_REGISTER_H

#include "cmd.h"

#define REG_NAME_MAX 200  /* names and titles, bytes */
#define REG_TEXT_MAX 2000 /* free text, bytes */

/* Who may read the whole register (risks, everyone's actions, reviews). */
#define REG_READERS                                                            \
	(ROLE_MANAGER | ROLE_RISK_OWNER | ROLE_ISMS_MANAGER | ROLE_AUDITOR)

/* An action a is overdue once its due day has passed (bind ?1: now). */
#define REG_OVERDUE "(a.status = 'open' AND a.due_at + 86400 <= ?1)"

/* An object of the register found by its identifier. */
struct reg_ref {
	const char *prefix; /* "RSK"; static storage */
	const char *noun;   /* "risk"; static storage */
	int64_t id;
	int64_t owner_id; /* owner, handler or auditor; 0 when none */
	char obj[32];	  /* "RSK-3" */
	char title[256];  /* name, title or text */
	char status[32];
};

/* Loads prefix-id. 0, or -1 with an error reply ("no risk RSK-9"). */
int reg_load(struct cmd_ctx *ctx, const char *prefix, int64_t id,
	     struct reg_ref *out);
/* Loads positional word i as prefix-n (usage error when absent). */
int reg_arg(struct cmd_ctx *ctx, size_t i, const char *prefix,
	    struct reg_ref *out);
/*
 * Same for "show": holders of readers see any; anyone else only what they
 * own, and gets one refusal for "absent" and "not yours" (who_sees says
 * who may see it).
 */
int reg_arg_seen(struct cmd_ctx *ctx, size_t i, const char *prefix,
		 unsigned readers, const char *who_sees, struct reg_ref *out);
/* Loads a word "XXX-n" whose prefix is one of prefixes ("RSK,INC"). */
int reg_load_ref(struct cmd_ctx *ctx, const char *word, const char *prefixes,
		 struct reg_ref *out);

/*
 * The sender may change an object held by owner_id: they are that person
 * or an isms_manager. 0, or -1 with "not allowed: only the <role> of
 * <obj> or an isms_manager may change it".
 */
int reg_may_change(struct cmd_ctx *ctx, int64_t owner_id, const char *obj,
		   const char *role);

/* "usage: <object> <verb> <usage>" as an error reply; returns -1. */
int reg_usage(struct cmd_ctx *ctx);

/* Longest review cycle a register accepts (review_every=). */
#define REG_PERIOD_MAX_DAYS (10 * 366)

/*
 * One period such as 12m (d, w, m or y) after from: 0, or -1 with an
 * error reply when every is malformed or longer than ten years.
 */
int reg_period_after(struct cmd_ctx *ctx, const char *every, int64_t from,
		     int64_t *out);

/*
 * key=value options. Each returns 1 when given and valid, 0 when absent
 * (an error when required), -1 with a one-line error reply.
 */
int reg_key_text(struct cmd_ctx *ctx, const char *key, size_t max, int required,
		 const char **out);
int reg_key_int(struct cmd_ctx *ctx, const char *key, int min, int max,
		int required, int *out);
int reg_key_date(struct cmd_ctx *ctx, const char *key, int required,
		 int64_t *out);
/* Same, refusing a day that is already over (plans). */
int reg_key_plan_date(struct cmd_ctx *ctx, const char *key, int required,
		      int64_t *out);
/* The day starting at day (a parsed date) is over. */
int reg_date_past(const struct cmd_ctx *ctx, int64_t day);
/* out: the index in list */
int reg_key_enum(struct cmd_ctx *ctx, const char *key, const char *const *list,
		 size_t n, int required, int *out);
/* A person; out is the sender when absent. */
int reg_key_person(struct cmd_ctx *ctx, const char *key, struct person *out);
/* Index of v in list (any case), or -1. */
int reg_one_of(const char *v, const char *const *list, size_t n);

/*
 * Free text from positional word from on: a new string (caller frees), or
 * NULL with an error reply when blank (usage) or longer than max.
 */
char *reg_text(struct cmd_ctx *ctx, size_t from, size_t max, const char *what);

/* "RSK-3" into out. */
void reg_obj(char out[32], const char *prefix, int64_t id);

/*
 * The sender may create an object owned by owner: it is themselves, or
 * they are an isms_manager. what: "a risk". 0, or -1 with an error reply.
 */
int reg_may_own(struct cmd_ctx *ctx, const struct person *owner,
		const char *what);

/*
 * Records old -> new of field into the JSON object changes when they
 * differ (NULL and "" are the same). Returns 1 when changed, else 0.
 */
int reg_diff(json_t *changes, const char *field, const char *old,
	     const char *new_value);
int reg_diff_int(json_t *changes, const char *field, int64_t old,
		 int64_t new_value);

/* Queues a message for person_id unless it is the sender. 0 or -1. */
int reg_tell(struct cmd_ctx *ctx, int64_t person_id, const char *subject,
	     const char *body);

/*
 * Re-opens the acceptance of RSK-id as an approval when it has expired
 * (the scheduler). 0 (also when nothing was due) or -1.
 */
int risk_acceptance_expire(struct cmd_ctx *ctx, int64_t id);

/* Report sections, shared by report and review show (reply text). */
int risk_matrix_write(struct cmd_ctx *ctx);
/* The same matrix as a coloured HTML table (mail), appended to out. */
int risk_matrix_html(struct cmd_ctx *ctx, struct buf *out);
int risk_summary_write(struct cmd_ctx *ctx);
int action_summary_write(struct cmd_ctx *ctx);
/* Open incidents by severity; with since > 0 also how many were new. */
int report_incidents_write(struct cmd_ctx *ctx, int64_t since);
/* Quiz results (commands/quiz.c); none when there are no campaigns. */
int report_awareness_write(struct cmd_ctx *ctx, const char *none);

#endif

/*
 * The table of message kinds. Adding a kind is adding an enum constant
 * and one row; the rows are indexed by the constant, so a missing row
 * has no name and the unit test (test_kinds) says so.
 */
#include <stddef.h>
#include <string.h>

#include "msgkind.h"

static const struct msg_kind_info msg_kinds[MSG_KIND_COUNT] = {
    [MSG_NUDGE] = {.name = "nudge"},
    [MSG_NOTICE] = {.name = "notice"},
    [MSG_INCIDENT] = {.name = "incident", .flags = MSGK_FANOUT},
    [MSG_BREACH] = {.name = "breach", .flags = MSGK_FANOUT},
    [MSG_APPROVAL] = {.name = "approval",
		      .see = "approvals",
		      .flags = MSGK_FANOUT | MSGK_ASKS_DECISION},
    [MSG_DECISION] = {.name = "decision",
		      .see = "approvals",
		      .flags = MSGK_SHOWS_DECISION},
    [MSG_QUIZ] = {.name = "quiz",
		  .see = "quiz list",
		  .flags = MSGK_ASKS_ANSWER},
    [MSG_REPORT] = {.name = "report", .see = "report"},
    [MSG_REGISTER] = {.name = "register"},
    [MSG_DIGEST] = {.name = "digest"},
    [MSG_AUDIT] = {.name = "audit"},
    [MSG_REPLY] = {.name = "reply", .flags = MSGK_AUTO_REPLY},
    [MSG_PORTAL] = {.name = "portal"},
};

const struct msg_kind_info *
msg_kind_info(enum msg_kind k)
{
	/* an out-of-range value is a broken caller: behave as a notice */
	if ((unsigned)k >= MSG_KIND_COUNT)
		k = MSG_NOTICE;
	return &msg_kinds[k];
}

const char *
msg_kind_name(enum msg_kind k)
{
	return msg_kind_info(k)->name;
}

unsigned
msg_kind_flags(enum msg_kind k)
{
	return msg_kind_info(k)->flags;
}

int
msg_kind_parse(const char *name, enum msg_kind *out)
{
	size_t i;

	for (i = 0; name != NULL && i < MSG_KIND_COUNT; i++)
		if (msg_kinds[i].name != NULL &&
		    strcmp(msg_kinds[i].name, name) == 0) {
			*out = (enum msg_kind)i;
			return 0;
		}
	return -1;
}

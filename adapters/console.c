/*
 * Console transport: reads a command a line, prints the reply, then any
 * message that was queued for the console user (so a demo shows approval
 * requests and decisions as they arrive).
 */
#include "console.h"

#include <stdlib.h>
#include <string.h>

#include "../commands/cmd.h"
#include "../commands/quiz.h"

#define CONSOLE_LINE_MAX 8192

static int64_t
console_show_mail(struct store *st, int64_t person_id, int64_t after, FILE *out)
{
	struct db_stmt *s = db_prepare(st,
				       "SELECT id, subject, body FROM outbox "
				       "WHERE person_id = ? AND id > ? "
				       "ORDER BY id",
				       "ii", person_id, after);

	if (s == NULL)
		return after;
	while (db_step(s) == DB_ROW) {
		after = db_col_int(s, 0);
		fputs("\n  [message for you] ", out);
		fput_printable(out, db_col(s, 1), 0);
		fputs("\n  ", out);
		fput_printable(out, db_col(s, 2),
			       PRINT_KEEP_NL | PRINT_KEEP_TAB);
		fputc('\n', out);
	}
	db_finish(st, s);
	return after;
}

int
console_run(struct store *st, const struct config *cfg, const char *handle,
	    FILE *in, FILE *out, int interactive)
{
	struct person me;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int64_t last = 0;

	if (store_person_find(st, "handle", handle, &me) != 1) {
		fprintf(stderr,
			"ismsd: no person with handle \"%s\" in the directory "
			"(import staff with: ismsctl --db PATH staff import "
			"FILE)\n",
			handle);
		return 2;
	}
	db_int(st, &last, "SELECT COALESCE(MAX(id), 0) FROM outbox", NULL);
	if (interactive)
		fprintf(out,
			"isms-gateway console: you are %s (%s). Type help, or "
			"a command such as:\n  /incident Phishing mail asking "
			"for my password severity=high\nEnd with Ctrl-D.\n",
			me.handle, me.name);
	for (;;) {
		struct isms_request rq = {
		    .via = "console", .id_kind = "handle", .id = handle};
		struct isms_reply rp = {0};
		char *cmd, bare[32];

		if (interactive) {
			fprintf(out, "isms> ");
			fflush(out);
		}
		n = getline(&line, &cap, in);
		if (n < 0)
			break;
		if ((size_t)n > CONSOLE_LINE_MAX) {
			fprintf(out,
				"error: line too long (at most %d "
				"bytes); nothing was done\n",
				CONSOLE_LINE_MAX);
			continue;
		}
		if (memchr(line, '\0', (size_t)n) != NULL) {
			fprintf(out, "error: the line contains a NUL byte; "
				     "nothing was done\n");
			continue;
		}
		cmd = str_trim(line);
		if (*cmd == '\0' || *cmd == '#')
			continue;
		if (strcmp(cmd, "quit") == 0 || strcmp(cmd, "exit") == 0)
			break;
		/* a bare "2" answers the quiz question waiting, as in a DM */
		rq.text = quiz_bare_reply(cmd, bare) ? bare : cmd;
		cmd_run(st, cfg, &rq, &rp);
		fputs(rp.error ? "error: " : "", out);
		fput_printable(out, buf_str(&rp.text),
			       PRINT_KEEP_NL | PRINT_KEEP_TAB);
		fputc('\n', out);
		if (rp.notices.len)
			fput_printable(out, buf_str(&rp.notices),
				       PRINT_KEEP_NL | PRINT_KEEP_TAB);
		if (rp.nnotices > REPLY_NOTICES_SHOWN)
			fprintf(out, "-> ... and %d more messages\n",
				rp.nnotices - REPLY_NOTICES_SHOWN);
		last = console_show_mail(st, me.id, last, out);
		fflush(out);
		reply_free(&rp);
	}
	free(line);
	return 0;
}

/*
 * The Statement of Applicability beyond one control's row: controls found
 * by id (Annex A or the organisation's own), approved versions, and the
 * draft the current rows make against the newest version.
 */
#ifndef ISMS_SOA_H
#define ISMS_SOA_H

#include "cmd.h"

/*
 * A control named "5.15", "A.5.15" or a custom id such as "x.1" (any
 * case): its stored id into id and whether it is custom (commands/
 * control.c). 1 found, 0 no such control, -1 on a database error.
 */
int control_lookup(struct cmd_ctx *ctx, const char *word, char id[16],
		   int *custom);

/* "A.5.15" for an Annex A control, the id itself for a custom one. */
void control_obj(char out[24], const char *id, int custom);

/*
 * The SoA state of control id into out: "as approved in SoA v3",
 * "draft (changed since SoA v3)", "draft (new since SoA v3)" or "draft
 * (no approved SoA yet)". 1 when it is a draft, 0 when as approved, -1.
 */
int soa_control_state(struct cmd_ctx *ctx, const char *id, char *out,
		      size_t len);

/* The report's line on the SoA version and its draft changes. 0 or -1. */
int soa_report_write(struct cmd_ctx *ctx);

#endif

/*
 * ismsctl sub-commands that live beside the main program: init (loads
 * reference data) and the commands of later modules (report, scheduler).
 */
#ifndef ISMS_CTL_H
#define ISMS_CTL_H

#include "../config/config.h"
#include "../store/store.h"

int ctl_init(struct store *st, const struct config *cfg);
/*
 * Who writes the audit rows of ismsctl: "ismsctl:" and the name of the
 * operating-system user running it (its uid when it has none).
 */
const char *ctl_actor(void);
/* -1 when argv[0] is not one of these; else the exit code */
int ctl_extra(struct store *st, const struct config *cfg, int argc,
	      char **argv);
const char *ctl_extra_usage(void);

/* ctl_portal.c */
int ctl_portal_link(struct store *st, const struct config *cfg, int argc,
		    char **argv);
int ctl_portal_sessions(struct store *st, const struct config *cfg, int argc,
			char **argv);

/* ctl_migrate.c: migrate --to URL [--key SPEC] */
int ctl_migrate(struct store *src, const struct config *cfg, int argc,
		char **argv);

/* ctl_matrix.c */
int ctl_matrix_devices(struct store *st, const struct config *cfg, int argc,
		       char **argv);

#endif

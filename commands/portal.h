/*
 * Links into the read-only web portal: who may have one and where it
 * points. The chat command "portal" and ismsctl portal-link both make
 * them here; the portal itself (adapters/portal.c) takes them.
 */
#ifndef ISMS_PORTAL_CMD_H
#define ISMS_PORTAL_CMD_H

#include "../config/config.h"
#include "../store/portal.h"
#include "../store/store.h"

/* 1 when [portal] listen is set (the portal is served). */
int portal_enabled(const struct config *cfg);

/*
 * The base people reach the portal at, without a trailing slash:
 * [portal] url, else "http://" and [portal] listen.
 */
void portal_base_url(const struct config *cfg, char *out, size_t len);

/*
 * Makes a one-time link for who, valid for seconds from now (at most
 * PORTAL_LINK_MAX_HOURS), in the caller's transaction with an audit row
 * (actor: the person who asked; via: where). A leaver gets none. The
 * URL goes into url (size len >= 256). 0, or -1 with a reason in err.
 */
int portal_link_make(struct store *st, const struct config *cfg,
		     const char *actor, const char *via,
		     const struct person *who, int64_t now, int64_t seconds,
		     char *url, size_t len, char *err, size_t errlen);

#endif

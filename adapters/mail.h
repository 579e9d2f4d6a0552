/*
 * The mail transport: SMTP out through libesmtp, IMAP in through libcurl,
 * both in libuv's thread pool. See docs/mail.md.
 */
#ifndef ISMS_MAIL_H
#define ISMS_MAIL_H

#include "../config/config.h"
#include "adapter.h"

extern const struct adapter_ops mail_ops;

/* Warns when the configuration turns certificate checks off (at start and
 * after a reload). */
void mail_tls_warning(const struct config *cfg);

#endif

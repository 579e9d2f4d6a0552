/*
 * The mail transport: SMTP out through libesmtp, IMAP in through libcurl,
 * both in libuv's thread pool. See docs/mail.md.
 */
#ifndef ISMS_MAIL_H
#define ISMS_MAIL_H

#include "adapter.h"

extern const struct adapter_ops mail_ops;

#endif

/*
 * Matrix transport: client-server API v3 over the daemon's shared HTTP
 * client (/sync long-poll, invites, commands, DMs, idempotent sends).
 */
#ifndef ISMS_MATRIX_H
#define ISMS_MATRIX_H

#include "adapter.h"

extern const struct adapter_ops matrix_ops;

#endif

/*
 * Console transport: commands on a stream, one a line, replies on another.
 * Needs no network; it is what `make run` starts.
 */
#ifndef ISMS_CONSOLE_H
#define ISMS_CONSOLE_H

#include <stdio.h>

#include "../config/config.h"
#include "../store/store.h"

/* Runs until end of input. Returns 0, or 2 when handle is unknown. */
int console_run(struct store *st, const struct config *cfg, const char *handle,
		FILE *in, FILE *out, int interactive);

#endif

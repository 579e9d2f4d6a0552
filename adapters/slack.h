/*
 * The Slack transport: Socket Mode (or HTTP mode) in, Web API out. See
 * docs/slack.md for the app to create and the configuration.
 */
#ifndef ISMS_SLACK_H
#define ISMS_SLACK_H

#include "adapter.h"

extern const struct adapter_ops slack_ops;

#endif

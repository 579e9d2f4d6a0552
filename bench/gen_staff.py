#!/usr/bin/python3
"""Writes a staff CSV of N people for benchmarks: teams of 10 under one
manager each, a few isms_managers, Slack ids and e-mails for everyone."""
import sys

n = int(sys.argv[1]) if len(sys.argv) > 1 else 100000
out = sys.stdout
out.write("handle,name,email,slack_id,matrix_id,manager,team,timezone,roles\n")
for i in range(n):
    handle = "u%06d" % i
    manager = "" if i % 10 == 0 else "u%06d" % (i - i % 10)
    roles = "manager" if i % 10 == 0 else "staff"
    if i < 3:
        roles = "isms_manager;manager"
    out.write("%s,User %d,%s@example.org,U%08d,,%s,team%d,Europe/Berlin,%s\n"
              % (handle, i, handle, i, manager, i // 10 % 500, roles))

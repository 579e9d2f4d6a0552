#!/usr/bin/python3
"""The disk's limit: durable commits a second on this machine.

Usage: fsync_probe.py DIR SECONDS. Prints "commits_per_s=N fdatasync_per_s=M":
single-row SQLite commits in WAL mode with synchronous=FULL (what one
durable commit costs the store, each waiting for its own sync of the log),
and bare 100-byte appends each followed by fdatasync. A server that
answers only durable requests can answer at most one group of requests
per sync: with C clients, at most C x this rate.
"""
import os, sqlite3, sys, time


def commits(path, seconds):
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute("CREATE TABLE IF NOT EXISTS t(x TEXT)")
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        db.execute("BEGIN IMMEDIATE")
        db.execute("INSERT INTO t VALUES (?)", ("probe %d" % n,))
        db.execute("COMMIT")
        n += 1
    rate = n / (time.perf_counter() - t0)
    db.close()
    return rate


def appends(path, seconds):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    n, t0, rec = 0, time.perf_counter(), b"x" * 100
    while time.perf_counter() - t0 < seconds:
        os.write(fd, rec)
        os.fdatasync(fd)
        n += 1
    rate = n / (time.perf_counter() - t0)
    os.close(fd)
    return rate


def main():
    d, seconds = sys.argv[1], float(sys.argv[2])
    c = commits(os.path.join(d, "probe.db"), seconds)
    a = appends(os.path.join(d, "probe.log"), seconds)
    print("commits_per_s=%.0f fdatasync_per_s=%.0f" % (c, a))
    return 0


if __name__ == "__main__":
    sys.exit(main())

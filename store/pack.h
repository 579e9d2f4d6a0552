/*
 * The audit pack: everything an auditor asks for, in one gzip'd tar that
 * checks itself. Every export in CSV, JSON and Markdown, each approved SoA
 * version, the audit log in JSON, the text of "audit verify", the audit
 * chain's head, and MANIFEST.sha256 over all of them ("sha256sum -c").
 */
#ifndef ISMS_PACK_H
#define ISMS_PACK_H

#include <stddef.h>

#include "../base/util.h"
#include "store.h"

/* The folder every file of the pack lies in (no tarbomb). */
#define PACK_DIR "audit-pack"

/* One file of the pack: its path below PACK_DIR and its bytes. */
struct pack_file {
	char *name;
	struct buf data;
};

/*
 * Appends files[0..n)'s MANIFEST.sha256 to out: a line "HEX  NAME" each,
 * as sha256sum writes it, so that "sha256sum -c" checks them.
 */
void pack_manifest(const struct pack_file *files, size_t n, struct buf *out);

/*
 * Writes the pack of st to path: first to path.partial (mode 0600), then
 * renamed into place; an existing path is refused unless force. verify is
 * the text of "ismsctl audit verify" on the same snapshot (borrowed).
 * Everything is read in one transaction, so that the exports, the audit
 * log and HEAD.txt agree. Returns the number of files packed, or -1 with
 * err and nothing left behind.
 */
int pack_write(struct store *st, const char *path, const char *verify,
	       int force, char *err, size_t errlen);

#endif

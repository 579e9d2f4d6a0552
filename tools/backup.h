/*
 * ismsctl backup: an online copy to a file, or a timestamped copy into a
 * directory keeping the newest N (the backup timer's form).
 */
#ifndef ISMS_BACKUP_H
#define ISMS_BACKUP_H

#include "../store/store.h"

#define BACKUP_KEEP_DEFAULT 14

/* backup FILE | backup --dir DIR [--keep N] (argv[0] is "backup"). */
int ctl_backup(struct store *st, int argc, char **argv);

#endif

/*
 * ismsctl matrix-devices: the Matrix devices the gateway's end-to-end
 * encryption knows (public keys only), and marking them verified after
 * comparing the fingerprint with the one the person's client shows.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

/* An ed25519 key as clients show it: groups of four characters. */
static void
fingerprint(const char *key, char *out, size_t len)
{
	size_t i, o = 0;

	for (i = 0; key[i] != '\0' && o + 2 < len; i++) {
		if (i > 0 && i % 4 == 0)
			out[o++] = ' ';
		out[o++] = key[i];
	}
	out[o] = '\0';
}

static int
devices_list(struct store *st, const char *user)
{
	struct db_stmt *s;
	int n = 0;

	s = db_prepare(st,
		       "SELECT user_id, device_id, ed25519, verified, "
		       "first_seen, key_changed, deleted FROM e2ee_devices "
		       "WHERE ?1 IS NULL OR user_id = ?1 ORDER BY user_id, "
		       "device_id",
		       "t", user);
	if (s == NULL) {
		fprintf(stderr, "ismsctl: database error\n");
		return 1;
	}
	while (db_step(s) == DB_ROW) {
		char fp[96], seen[32];

		fingerprint(db_col(s, 2), fp, sizeof(fp));
		time_iso(db_col_int(s, 4), seen);
		printf("%s\t%s\t%s\t%s\tfirst seen %s%s%s\n", db_col(s, 0),
		       db_col(s, 1), fp,
		       db_col_int(s, 3) ? "verified" : "unverified", seen,
		       db_col_int(s, 5) ? "\tkeys changed: refused" : "",
		       db_col_int(s, 6) ? "\tremoved" : "");
		n++;
	}
	db_finish(st, s);
	if (n == 0)
		printf("no Matrix devices%s%s\n", user ? " of " : "",
		       user ? user : "");
	return 0;
}

/*
 * matrix-devices forget @u:s DEVICE: removes a device (one whose keys
 * changed, after checking with its owner) and marks the user's device
 * list stale, so the next send fetches it and takes its keys afresh.
 */
static int
device_forget(struct store *st, const char *user, const char *device,
	      const char *object, const char *details, const char *fp)
{
	if (store_begin(st) < 0)
		return 1;
	if (db_exec(st,
		    "DELETE FROM e2ee_devices WHERE user_id = ? AND "
		    "device_id = ?",
		    "tt", user, device) != 1 ||
	    db_exec(st,
		    "INSERT INTO e2ee_device_lists (user_id, stale, "
		    "updated_at) VALUES (?, 1, ?) ON CONFLICT(user_id) DO "
		    "UPDATE SET stale = 1, updated_at = excluded.updated_at",
		    "ti", user, store_now(st)) != 1 ||
	    store_audit(st, ctl_actor(), "matrix.device.forget", object,
			details) < 0 ||
	    store_commit(st) < 0) {
		store_rollback(st);
		fprintf(stderr, "ismsctl: cannot forget device %s: %s\n",
			device, db_errmsg(st));
		return 1;
	}
	printf("device %s of %s (%s) forgotten: its keys are taken afresh "
	       "at the next message to %s\n",
	       device, user, fp, user);
	return 0;
}

/*
 * matrix-devices [--user @u:s]: the devices known;
 * matrix-devices verify|unverify @u:s DEVICE: sets the verified flag;
 * matrix-devices forget @u:s DEVICE: removes it.
 */
int
ctl_matrix_devices(struct store *st, const struct config *cfg, int argc,
		   char **argv)
{
	char object[512], details[256], fp[96];
	char *ed = NULL;
	int verify, n;

	(void)cfg;
	if (argc == 1)
		return devices_list(st, NULL);
	if (argc == 3 && strcmp(argv[1], "--user") == 0)
		return devices_list(st, argv[2]);
	if (argc != 4 || (strcmp(argv[1], "verify") != 0 &&
			  strcmp(argv[1], "unverify") != 0 &&
			  strcmp(argv[1], "forget") != 0)) {
		fprintf(stderr,
			"usage: ismsctl matrix-devices [--user @user:server]\n"
			"       ismsctl matrix-devices verify|unverify|forget "
			"@user:server DEVICE\n");
		return 2;
	}
	verify = strcmp(argv[1], "verify") == 0;
	ed = db_text(st,
		     "SELECT ed25519 FROM e2ee_devices WHERE user_id = ? AND "
		     "device_id = ?",
		     "tt", argv[2], argv[3]);
	if (ed == NULL) {
		fprintf(stderr, "ismsctl: no Matrix device %s of %s\n", argv[3],
			argv[2]);
		return 2;
	}
	fingerprint(ed, fp, sizeof(fp));
	snprintf(object, sizeof(object), "%s %s", argv[2], argv[3]);
	snprintf(details, sizeof(details), "{\"ed25519\":\"%s\"}", ed);
	free(ed);
	if (strcmp(argv[1], "forget") == 0)
		return device_forget(st, argv[2], argv[3], object, details, fp);
	if (store_begin(st) < 0)
		return 1;
	n = db_exec(st,
		    "UPDATE e2ee_devices SET verified = ? WHERE user_id = ? "
		    "AND device_id = ?",
		    "itt", (int64_t)verify, argv[2], argv[3]);
	if (n != 1 ||
	    store_audit(st, ctl_actor(),
			verify ? "matrix.device.verify"
			       : "matrix.device.unverify",
			object, details) < 0 ||
	    store_commit(st) < 0) {
		store_rollback(st);
		fprintf(stderr, "ismsctl: cannot change device %s: %s\n",
			argv[3], db_errmsg(st));
		return 1;
	}
	printf("device %s of %s (%s) is %s\n", argv[3], argv[2], fp,
	       verify ? "verified" : "unverified");
	return 0;
}

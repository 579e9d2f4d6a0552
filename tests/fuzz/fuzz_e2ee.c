/*
 * libFuzzer harness for Matrix end-to-end encryption: any JSON is handed
 * to the to-device, room-event, /keys/query and /keys/claim paths of one
 * device; each refuses or handles it, with a reason when it refuses, and
 * nothing it does is kept (every input runs in a transaction rolled
 * back).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../adapters/e2ee.h"
#include "../../base/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct store *st;
static struct e2ee *dev;
static char dir[64];

static void
cleanup(void)
{
	char p[128];

	e2ee_free(dev);
	store_close(st);
	snprintf(p, sizeof(p), "%s/f.db", dir);
	unlink(p);
	snprintf(p, sizeof(p), "%s/f.db-wal", dir);
	unlink(p);
	snprintf(p, sizeof(p), "%s/f.db-shm", dir);
	unlink(p);
	snprintf(p, sizeof(p), "%s/f.db.audit-key", dir);
	unlink(p);
	snprintf(p, sizeof(p), "%s/f.db.lock", dir);
	unlink(p);
	rmdir(dir);
}

static void
setup(void)
{
	char path[128], err[256];
	json_t *b;

	log_set_level(LOG_ERROR);
	snprintf(dir, sizeof(dir), "/tmp/isms-fuzz-e2ee-XXXXXX");
	if (mkdtemp(dir) == NULL)
		abort();
	snprintf(path, sizeof(path), "%s/f.db", dir);
	st = store_open(path, err, sizeof(err));
	if (st == NULL)
		abort();
	dev = e2ee_open(st, "@isms:example.org", "ISMSDEV", "fuzz", 4,
			E2EE_TOFU, err, sizeof(err));
	if (dev == NULL)
		abort();
	b = e2ee_upload_body(dev, -1);
	if (b == NULL || e2ee_upload_done(dev) < 0)
		abort();
	json_decref(b);
	atexit(cleanup);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *j, *plain = NULL, *rq;
	char err[256], *room = NULL, *sid = NULL;
	enum e2ee_dec d;
	int rc;

	if (dev == NULL)
		setup();
	j = json_loadb((const char *)data, size, 0, NULL);
	if (j == NULL)
		return 0;
	if (store_begin(st) < 0)
		abort();
	err[0] = '\0';
	rc = e2ee_to_device(dev, j, &room, &sid, err, sizeof(err));
	if (rc < 0 && err[0] == '\0')
		abort();
	if (rc == 1 && (room == NULL || sid == NULL))
		abort();
	free(room);
	free(sid);
	err[0] = '\0';
	d = e2ee_decrypt(dev, "!r:example.org", "$ev",
			 json_object_get(j, "content"), &plain, err,
			 sizeof(err));
	if ((d == E2EE_DEC_OK) != (plain != NULL))
		abort();
	if (d != E2EE_DEC_OK && err[0] == '\0')
		abort();
	json_decref(plain);
	rq = e2ee_key_request(dev, "!r:example.org",
			      json_object_get(j, "content"));
	json_decref(rq);
	e2ee_query_done(dev, j);
	e2ee_claim_done(dev, j);
	free(e2ee_canonical(j));
	store_rollback(st);
	json_decref(j);
	return 0;
}

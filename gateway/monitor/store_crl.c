/*
 * What the CRL lists, read from the store in one query: a revoked device's
 * every certificate and session certificate, and device certificates that
 * a renewal replaced. gateway/monitor/revoke.c signs the list.
 */
#include <string.h>

#include "gateway/monitor/store_int.h"

struct st_revoked_each {
	store_revoked_cb cb;
	void *arg;
};

/* serial, revoked_at, expires_at, is_superseded */
static int
st_revoked_row(struct store *st, const struct st_row *row, void *arg, char *err,
	       size_t errlen)
{
	const struct st_revoked_each *e = arg;
	struct store_revoked r;

	memset(&r, 0, sizeof(r));
	if (st_col_text(st, row, 0, r.serial, sizeof(r.serial), err, errlen) ==
	    -1)
		return -1;
	r.revoked_at = (time_t)st_col_int(row, 1);
	r.expires_at = (time_t)st_col_int(row, 2);
	r.is_superseded = st_col_int(row, 3) != 0;
	return e->cb(&r, e->arg) != 0 ? 1 : 0;
}

int
store_revoked_list(struct store *st, store_revoked_cb cb, void *arg, char *err,
		   size_t errlen)
{
	struct st_revoked_each e = {cb, arg};

	/* A revoked device's certificates carry its revocation time, even
	 * those replaced earlier: revocation is the stronger statement. */
	return st_each_locked(
	    st,
	    "SELECT c.serial,"
	    "  CASE WHEN d.revoked_at > 0 THEN d.revoked_at"
	    "  ELSE c.replaced_at END, c.expires_at,"
	    "  CASE WHEN d.revoked_at = 0 THEN 1 ELSE 0 END"
	    " FROM device_certs c JOIN devices d ON d.id = c.device_id"
	    " WHERE d.revoked_at > 0 OR c.replaced_at > 0"
	    " UNION ALL "
	    "SELECT s.serial, d.revoked_at, s.expires_at, 0"
	    " FROM sessions s JOIN devices d ON d.id = s.device_id"
	    " WHERE d.revoked_at > 0"
	    " ORDER BY 1",
	    ST_NOARGS, st_revoked_row, &e, err, errlen);
}

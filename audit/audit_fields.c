/*
 * The tail every record builder shares: the reason and the caller's extra
 * fields, merged into the fields made so far.
 */
#include "audit/audit.h"

json_t *
audit_fields_add(json_t *f, const char *reason, json_t *extra)
{
	if (reason)
		json_object_set_new(f, "event.reason", json_string(reason));
	if (extra) {
		json_object_update(f, extra);
		json_decref(extra);
	}
	return f;
}

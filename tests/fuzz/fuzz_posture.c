/*
 * libFuzzer harness for the posture report parser (gateway/posture_parse.c):
 * the input is a POST /v1/posture body. Checks: the answer is 0 or -1; a
 * refusal has a reason of one line of printable text and leaves nothing
 * filled in; an accepted report has every field in its range and every
 * string 1..31 printable ASCII characters; nothing longer than POSTURE_MAX
 * is ever accepted. Run by tests/fuzz/run.sh with gateway/posture_parse.c,
 * audit/audit_reader.c (the RFC 3339 parser) and its helpers, -ljansson.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/posture.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
printable(const char *s, size_t min, size_t max)
{
	size_t len = strnlen(s, max + 1);

	if (len < min || len > max)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (s[i] < 0x20 || s[i] > 0x7e)
			return 0;
	return 1;
}

static int
tri_ok(enum policy_tri t)
{
	return t == POLICY_UNKNOWN || t == POLICY_NO || t == POLICY_YES;
}

static void
check_accepted(const struct policy_posture *p, size_t size)
{
	if (size > POSTURE_MAX || p->received_at != 0 ||
	    !tri_ok(p->disk_encryption) || !tri_ok(p->screen_lock) ||
	    !tri_ok(p->firewall) || p->update_age_days < -1 ||
	    p->update_age_days > 36500 || p->security_updates < -1 ||
	    p->security_updates > 100000 ||
	    !printable(p->os_id, 1, 31) || !printable(p->os_version, 1, 31) ||
	    !printable(p->client_version, 1, 31))
		abort();
}

static void
check_refused(const struct policy_posture *p, const char *err)
{
	static const struct policy_posture zero;

	if (!printable(err, 1, 255) || memcmp(p, &zero, sizeof(zero)) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct policy_posture p;
	char err[256];
	char *body;
	int rc;

	/* A copy of exactly size bytes, so reading past it is caught. */
	if ((body = malloc(size ? size : 1)) == NULL)
		abort();
	memcpy(body, data, size);
	memset(err, 0, sizeof(err));
	rc = posture_parse(body, size, &p, err, sizeof(err));
	if (rc == 0)
		check_accepted(&p, size);
	else if (rc == -1)
		check_refused(&p, err);
	else
		abort();
	free(body);
	return 0;
}

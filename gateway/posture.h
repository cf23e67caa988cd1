/*
 * Device posture on the gateway: the report a device posts (JSON, schema
 * below), checked strictly, kept newest-per-device in the store and in
 * memory for every decision.
 *
 * Report, version 1 (nothing else is accepted: an unknown field is an
 * error, so a client cannot send more than staff were told it sends):
 *   {"schema": 1,
 *    "os": {"id": "debian", "version": "12", "kernel": "6.1.0-26-amd64"},
 *    "disk_encryption": "yes" | "no" | "unknown",
 *    "screen_lock": "yes" | "no" | "unknown",
 *    "firewall": "yes" | "no" | "unknown",
 *    "update_age_days": 0..36500 | null,     (null: unknown)
 *    "security_updates": 0..100000 | null,   (pending; null: unknown)
 *    "client_version": "0.2.0",
 *    "collected_at": "2026-11-25T19:00:00Z"}
 * Strings: 1..31 bytes of printable ASCII. Whole report <= POSTURE_MAX.
 */
#ifndef MWG_GW_POSTURE_H
#define MWG_GW_POSTURE_H

#include <stddef.h>
#include <time.h>

#include <jansson.h>

#include "gateway/job.h"
#include "policy/policy.h"

#define POSTURE_MAX	4096	/* bytes of JSON */
#define POSTURE_SKEW	300	/* collected_at may be this far in the future */

/*
 * Parses and checks a report into out (received_at left 0). Returns 0, or
 * -1 with a reason naming the field ("firewall: expected \"yes\", \"no\"
 * or \"unknown\"") in err. Pure: no I/O, no globals (posture_parse.c).
 */
int posture_parse(const char *json, size_t len, struct policy_posture *out,
    char *err, size_t errlen);

/*
 * The checks p fails in itself, as a JSON array of names
 * ("disk-encryption", "screen-lock", "firewall", "os-updates-unknown",
 * "security-updates"); [] if none. Caller owns the reference.
 */
json_t *posture_failed(const struct policy_posture *p);

/* POST /v1/posture (posture.c): store, cache, audit, re-decide tunnels. */
void posture_job(const struct job_ctx *ctx, const struct job_in *in,
    struct job_out *out);

#endif

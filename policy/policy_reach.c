/*
 * What a person may reach, for GET /v1/targets: every target decided as a
 * CONNECT to it would be, now, and again with a break-glass reason. Only
 * the answers "yes" and "yes with break-glass" leave this file, so a list
 * tells no more than trying each target would.
 */
#include "policy/policy_int.h"

#include <netinet/in.h>

#include "common/addr.h"

/* Any non-empty reason: the decision only asks whether one was given. */
#define REACH_GLASS_PROBE	"listing what break-glass would allow"

size_t
policy_reachable(const struct policy *p, const struct policy_request *req,
    policy_reach_cb cb, void *arg)
{
	struct policy_request r = *req;
	struct policy_decision d;
	size_t n = 0;

	for (size_t i = 0; i < p->ntargets; i++) {
		const struct policy_target *t = &p->targets[i];

		r.target_name = t->name;
		r.practice = t->practice;
		r.port = addr_port((const struct sockaddr *)&t->addr);
		r.break_glass = NULL;
		policy_decide(p, &r, &d);
		if (!d.allow) {
			r.break_glass = REACH_GLASS_PROBE;
			policy_decide(p, &r, &d);
		}
		if (!d.allow)
			continue;
		cb(t, d.break_glass, arg);
		n++;
	}
	return n;
}

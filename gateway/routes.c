/* The monitor's API routes (gateway/routes.h). */
#include "gateway/routes.h"

#include <string.h>

#include "gateway/monitor/est.h"
#include "gateway/monitor/login.h"
#include "gateway/posture.h"
#include "gateway/monitor/revoke.h"
#include "gateway/session.h"

static const struct api_route routes[] = {
	{ "/.well-known/est/cacerts", est_cacerts_job, 1 },
	{ "/.well-known/est/simpleenroll", est_enroll_job, 1 },
	{ "/.well-known/est/simplereenroll", est_reenroll_job, 1 },
	/* /crl and /root.pem answer 404 themselves. */
	{ "/crl", revoke_crl_job, 0 },
	{ EST_PATH_ROOT_PEM, est_root_pem_job, 0 },
	{ "/v1/login", login_job, 1 },
	{ "/v1/logout", session_logout_job, 0 },
	{ "/v1/posture", posture_job, 1 },
};

const struct api_route *
api_route_find(const char *path)
{
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
		if (strcmp(path, routes[i].path) == 0)
			return &routes[i];
	return NULL;
}

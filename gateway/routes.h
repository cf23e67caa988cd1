/*
 * The API paths whose handlers run in the monitor (they need PAM, the
 * store or the CA key): one table for both processes, so the network
 * process can only ask for these, by name.
 */
#ifndef MWG_GW_ROUTES_H
#define MWG_GW_ROUTES_H

#include "gateway/job.h"

struct api_route {
	const char *path;
	job_fn fn;
	int needs_ca;		/* 503 "not-configured" without a ca-key */
};

/* The route for path, or NULL. */
const struct api_route *api_route_find(const char *path);

#endif

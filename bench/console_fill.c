/*
 * console_fill: writes N audit records with the real writer (hash chain,
 * signed checkpoints) for measuring mwg-console's search: 1000 people,
 * 200 practices, a mix of actions and outcomes, one record a second back
 * from now. The file and key are kept (unlike audit_bench).
 * usage: console_fill FILE KEY N
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "audit/audit.h"
#include "common/log.h"

static const char *const actions[] = { "tunnel.open", "tunnel.close",
    "auth.login", "tunnel.deny", "session.issue" };

static json_t *
fields(long i)
{
	char user[32], practice[16], dev[32], target[48];

	snprintf(user, sizeof(user), "user-%04ld", i % 1000);
	snprintf(practice, sizeof(practice), "K%05ld", 80000 + i % 200);
	snprintf(dev, sizeof(dev), "laptop-%04ld", i % 1500);
	snprintf(target, sizeof(target), "emis.%s", practice);
	return json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:s}", "tunnel.id",
	    (json_int_t)i, "source.ip", "192.0.2.10", "device.id", dev,
	    "user.name", user, "organization.id", practice,
	    "destination.address", target, "event.reason", i % 7 ? "allowed "
	    "by policy" : "wrong code");
}

int
main(int argc, char **argv)
{
	char err[256];
	struct audit_log *log;
	long n;

	if (argc != 4 || (n = atol(argv[3])) < 1) {
		fprintf(stderr, "usage: console_fill FILE KEY N\n");
		return 2;
	}
	log_init("console_fill", 0, 0);
	log = audit_open(&(struct audit_options){ .path = argv[1],
	    .key_path = argv[2] }, err, sizeof(err));
	if (log == NULL) {
		fprintf(stderr, "console_fill: %s\n", err);
		return 1;
	}
	for (long i = 0; i < n; i++)
		while (audit_append(log, actions[i % 5], i % 7 ? "success" :
		    "failure", fields(i)) == -1)
			usleep(100);	/* queue full: back off */
	audit_close(log);
	return 0;
}

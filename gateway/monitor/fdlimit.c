/*
 * Raises mwgd's own descriptor limit at start (see fdlimit.h), before
 * any socket is opened, and says in the log how many tunnels fit.
 */
#include <sys/resource.h>

#include <errno.h>

#include "common/log.h"
#include "gateway/monitor/fdlimit.h"

/* Descriptors that are not tunnels: listeners, the audit trail and its
 * writer, the state store, the control socket, syslog, event loops. */
#define FDLIMIT_RESERVE		64
#define FDLIMIT_PER_TUNNEL	2	/* the client's socket and the target's */

long
fdlimit_raise(void)
{
	struct rlimit rl;
	rlim_t was;
	long tunnels;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1) {
		log_warn("getrlimit RLIMIT_NOFILE");
		return -1;
	}
	was = rl.rlim_cur;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1) {
			/* EPERM: a system-call filter refused it (raising
			 * the soft limit up to the hard one is otherwise always
			 * allowed); the service manager's limit stands. */
			if (errno == EPERM)
				log_info("descriptor limit not raised from %llu "
				    "to %llu: setrlimit refused (a system-call "
				    "filter; set LimitNOFILE= instead)",
				    (unsigned long long)was,
				    (unsigned long long)rl.rlim_max);
			else
				log_warn("cannot raise the descriptor limit "
				    "from %llu to %llu", (unsigned long long)was,
				    (unsigned long long)rl.rlim_max);
			rl.rlim_cur = was;
		}
	}
	tunnels = rl.rlim_cur == RLIM_INFINITY ? -1 :
	    ((long)rl.rlim_cur - FDLIMIT_RESERVE) / FDLIMIT_PER_TUNNEL;
	if (tunnels < 0 && rl.rlim_cur != RLIM_INFINITY)
		tunnels = 0;
	if (rl.rlim_cur == RLIM_INFINITY)
		log_info("descriptor limit: unlimited");
	else
		log_info("descriptor limit %llu (was %llu): room for about %ld "
		    "tunnels at once", (unsigned long long)rl.rlim_cur,
		    (unsigned long long)was, tunnels);
	return rl.rlim_cur == RLIM_INFINITY ? -1 : (long)rl.rlim_cur;
}

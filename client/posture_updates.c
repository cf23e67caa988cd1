/*
 * Posture collector "updates": days since the package system last
 * updated, from timestamps apt and dpkg leave, in this order: the stamp
 * apt's periodic job writes after a successful update, the time apt last
 * changed its package lists, and the last write to dpkg's log (a package
 * installed, upgraded or removed). Unknown when there is none of them.
 */
#include <time.h>

#include "client/posture.h"

#define UPD_DAY		86400

int
posture_collect_updates(const char *root, struct posture_report *r)
{
	static const char *const stamps[] = {
		"var/lib/apt/periodic/update-success-stamp",
		"var/lib/apt/lists",
		"var/log/dpkg.log",
	};
	long long days;
	time_t t;

	for (size_t i = 0; i < sizeof(stamps) / sizeof(stamps[0]); i++) {
		if (posture_mtime(root, stamps[i], &t) == -1)
			continue;
		/* A stamp in the future (a clock put back) is today. */
		days = t >= r->collected_at ? 0 :
		    ((long long)r->collected_at - t) / UPD_DAY;
		r->update_age_days = days > POSTURE_AGE_MAX ? POSTURE_AGE_MAX :
		    (int)days;
		return 0;
	}
	return -1;
}

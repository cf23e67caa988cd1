/*
 * mwgctl: one function per top-level verb, each in its own file. Each takes
 * the verb's own argv (argv[0] is the verb) and returns the exit status:
 * 0 success, 1 refused or failed (one clear line on stderr), 2 bad usage.
 */
#ifndef MWG_ADMIN_H
#define MWG_ADMIN_H

#define ADMIN_EXIT_OK		0
#define ADMIN_EXIT_FAIL		1
#define ADMIN_EXIT_USAGE	2

int admin_ca(int argc, char **argv);		/* admin/ca.c */
int admin_policy(int argc, char **argv);	/* admin/policy.c */
int admin_control(int argc, char **argv);	/* admin/control.c: status,
						   sessions, kill, reload */
int admin_audit(int argc, char **argv);		/* admin/audit.c: verify,
						   query, export, prune */

#endif

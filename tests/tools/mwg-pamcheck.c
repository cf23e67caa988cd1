/*
 * mwg-pamcheck: TEST ONLY, never installed. Runs auth_pam_check, the
 * gateway's own PAM code, for one user, so that tests can drive it under
 * pam_wrapper (which must be preloaded at process start) and show that
 * checks on several threads at once do not disturb each other.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "gateway/monitor/auth.h"

#define PAMCHECK_THREADS_MAX	64
#define PAMCHECK_PASSWORD_MAX	1025

static const char usage[] =
"usage: mwg-pamcheck [-n THREADS] SERVICE USER < PASSWORD\n";

static const char help[] =
"\n"
"TEST HELPER ONLY: not installed, not for production.\n"
"\n"
"Reads a password (one line) from stdin and runs the gateway's PAM check\n"
"for USER on SERVICE, on THREADS threads at once (default 1). Prints the\n"
"outcome: \"accepted\", \"refused: WHY\" or \"error: WHY\".\n"
"\n"
"Exit status: 0 accepted, 1 refused, 3 PAM failed, 4 the threads did not\n"
"all agree, 2 bad usage.\n";

struct pamcheck {
	const char *service;
	const char *user;
	const char *password;
	pthread_t thread;
	int rc;
	char why[256];
};

static void *
pamcheck_run(void *arg)
{
	struct pamcheck *c = arg;

	c->rc = auth_pam_check(c->service, c->user, c->password, c->why,
	    sizeof(c->why));
	return NULL;
}

/* One line from stdin without its newline; 0 or -1. */
static int
read_password(char *buf, size_t size)
{
	size_t len;

	if (fgets(buf, (int)size, stdin) == NULL)
		return -1;
	len = strcspn(buf, "\n");
	if (buf[len] != '\n' && !feof(stdin))
		return -1;	/* too long */
	buf[len] = '\0';
	return 0;
}

static int
parse_threads(const char *s, long *n)
{
	char *end;

	errno = 0;
	*n = strtol(s, &end, 10);
	return errno != 0 || end == s || *end != '\0' || *n < 1 ||
	    *n > PAMCHECK_THREADS_MAX ? -1 : 0;
}

/* Runs n checks at once; the outcome all agree on, or 4. */
static int
pamcheck_threads(struct pamcheck *c, long n)
{
	int status;

	for (long i = 0; i < n; i++)
		if (pthread_create(&c[i].thread, NULL, pamcheck_run,
		    &c[i]) != 0) {
			fprintf(stderr, "mwg-pamcheck: pthread_create\n");
			exit(3);
		}
	for (long i = 0; i < n; i++)
		pthread_join(c[i].thread, NULL);
	status = c[0].rc == 0 ? 0 : c[0].rc == 1 ? 1 : 3;
	if (status == 0)
		printf("accepted\n");
	else
		printf("%s: %s\n", status == 1 ? "refused" : "error", c[0].why);
	for (long i = 1; i < n; i++)
		if (c[i].rc != c[0].rc || strcmp(c[i].why, c[0].why) != 0) {
			printf("thread %ld disagrees: %d %s\n", i, c[i].rc,
			    c[i].why);
			status = 4;
		}
	return status;
}

int
main(int argc, char **argv)
{
	static struct pamcheck c[PAMCHECK_THREADS_MAX];
	char password[PAMCHECK_PASSWORD_MAX];
	long n = 1;
	int argi = 1, status;

	if (argc == 2 && strcmp(argv[1], "--help") == 0) {
		printf("%s%s", usage, help);
		return 0;
	}
	if (argc > 2 && strcmp(argv[1], "-n") == 0) {
		if (parse_threads(argv[2], &n) == -1) {
			fprintf(stderr, "mwg-pamcheck: -n wants 1..%d\n%s",
			    PAMCHECK_THREADS_MAX, usage);
			return 2;
		}
		argi = 3;
	}
	if (argc - argi != 2) {
		fprintf(stderr, "%s", usage);
		return 2;
	}
	if (read_password(password, sizeof(password)) == -1) {
		fprintf(stderr, "mwg-pamcheck: no password on stdin (one line, "
		    "at most %d bytes)\n", PAMCHECK_PASSWORD_MAX - 1);
		return 2;
	}
	for (long i = 0; i < n; i++) {
		c[i].service = argv[argi];
		c[i].user = argv[argi + 1];
		c[i].password = password;
	}
	status = pamcheck_threads(c, n);
	OPENSSL_cleanse(password, sizeof(password));
	return status;
}

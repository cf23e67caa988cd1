/* Placeholder until the sandbox lands: confines nothing. */
#include "gateway/net/sandbox.h"

int
sandbox_confine(const char *root, char *err, size_t errlen)
{
	(void)root;
	(void)err;
	(void)errlen;
	return 0;
}

int
sandbox_seal(char *err, size_t errlen)
{
	(void)err;
	(void)errlen;
	return 0;
}

void
sandbox_before_exit(void)
{
}

#ifdef MWG_TEST_TRIGGERS
#include <signal.h>
#include <unistd.h>

void
sandbox_test_forbidden(void)
{
	raise(SIGSYS);
}
#endif

/*
 * Asking the person at the terminal: always /dev/tty, so a password never
 * comes from a pipe by accident or lands in a redirected stdout, with echo
 * off for secrets, and the terminal restored even on Ctrl-C (the signal is
 * then delivered as usual).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "client/client.h"
#include "common/errbuf.h"

static const int prompt_signals[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT,
    SIGTSTP };
#define NSIGNALS (sizeof(prompt_signals) / sizeof(prompt_signals[0]))

static volatile sig_atomic_t prompt_caught;

static void
prompt_signal_cb(int signo)
{
	prompt_caught = signo;
}

/* Handlers without SA_RESTART, so a signal ends the read with EINTR. */
static void
prompt_catch(struct sigaction *saved)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = prompt_signal_cb;
	sigemptyset(&sa.sa_mask);
	prompt_caught = 0;
	for (size_t i = 0; i < NSIGNALS; i++)
		sigaction(prompt_signals[i], &sa, &saved[i]);
}

static void
prompt_release(const struct sigaction *saved)
{
	for (size_t i = 0; i < NSIGNALS; i++)
		sigaction(prompt_signals[i], &saved[i], NULL);
}

/*
 * One line from fd into buf. 0, or -1 with errno (EINTR: a signal,
 * EMSGSIZE: too long, ENODATA: end of input before a newline).
 */
static int
prompt_read_line(int fd, char *buf, size_t buflen)
{
	size_t len = 0;
	int too_long = 0;
	ssize_t n;
	char c;

	for (;;) {
		if ((n = read(fd, &c, 1)) == -1)
			return -1;
		if (n == 0 || c == '\n')
			break;
		if (len + 1 < buflen)
			buf[len++] = c;
		else
			too_long = 1;
	}
	buf[len] = '\0';
	if (len > 0 && buf[len - 1] == '\r')
		buf[--len] = '\0';
	if (too_long || (n == 0 && len == 0)) {
		OPENSSL_cleanse(buf, buflen);
		errno = too_long ? EMSGSIZE : ENODATA;
		return -1;
	}
	return 0;
}

int
client_prompt(const char *prompt, char *buf, size_t buflen, int echo,
    char *err, size_t errlen)
{
	struct sigaction saved[NSIGNALS];
	struct termios old, quiet;
	int fd, rc, saved_errno, restore = 0;

	if ((fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC)) == -1) {
		errbuf_set(err, errlen, "no terminal to ask on");
		return -1;
	}
	prompt_catch(saved);
	if (!echo && tcgetattr(fd, &old) == 0) {
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		quiet.c_lflag |= ECHONL;
		restore = tcsetattr(fd, TCSAFLUSH, &quiet) == 0;
	}
	rc = write(fd, prompt, strlen(prompt)) == -1 ? -1 :
	    prompt_read_line(fd, buf, buflen);
	saved_errno = errno;
	if (restore)
		tcsetattr(fd, TCSAFLUSH, &old);
	close(fd);
	prompt_release(saved);
	if (prompt_caught != 0) {
		OPENSSL_cleanse(buf, buflen);
		raise(prompt_caught);	/* now with the usual handler */
		errbuf_set(err, errlen, "interrupted");
		return -1;
	}
	if (rc == -1) {
		errbuf_set(err, errlen, "%s", saved_errno == EMSGSIZE ?
		    "answer too long" : saved_errno == ENODATA ? "no answer" :
		    strerror(saved_errno));
		return -1;
	}
	return 0;
}

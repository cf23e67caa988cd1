/*
 * Logging: one line per event, to stderr with a UTC timestamp, or to syslog.
 * Thread-safe: each line is formatted whole and written with one call.
 * Every line is escaped here, at the sink, so no caller can let a client's
 * newline or terminal escape forge a line or rewrite an operator's screen.
 */
#include "common/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#define LOG_LINE_MAX 2048

static const char *log_prog = "mwg";
static int log_debug_on;
static int log_syslog;

void
log_init(const char *progname, int debug, int use_syslog)
{
	log_prog = progname;
	log_debug_on = debug;
	log_syslog = use_syslog;
	if (use_syslog)
		openlog(progname, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

int
log_is_debug(void)
{
	return log_debug_on;
}

/*
 * Copies src into dst (size > 0, always terminated), printable ASCII as it
 * is, a backslash doubled and every other byte as \xNN (a newline, CR, ESC,
 * DEL and all non-ASCII bytes), in the manner of OpenBSD's strnvis. Output
 * that would not fit is cut at a whole escape. Returns dst.
 */
char *
log_escape(char *dst, size_t size, const char *src)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;
	unsigned char ch;

	for (; (ch = (unsigned char)*src) != '\0'; src++) {
		if (ch >= 0x20 && ch < 0x7f && ch != '\\') {
			if (o + 1 >= size)
				break;
			dst[o++] = (char)ch;
		} else if (ch == '\\') {
			if (o + 2 >= size)
				break;
			dst[o++] = '\\';
			dst[o++] = '\\';
		} else {
			if (o + 4 >= size)
				break;
			dst[o++] = '\\';
			dst[o++] = 'x';
			dst[o++] = hex[ch >> 4];
			dst[o++] = hex[ch & 0xf];
		}
	}
	dst[o] = '\0';
	return dst;
}

static void
log_emit(int pri, const char *errstr, const char *fmt, va_list ap)
{
	char raw[LOG_LINE_MAX], msg[LOG_LINE_MAX], line[LOG_LINE_MAX + 128];
	char ts[32];
	struct timespec now;
	struct tm tm;
	int n;

	vsnprintf(raw, sizeof(raw), fmt, ap);
	log_escape(msg, sizeof(msg), raw);
	if (log_syslog) {
		if (errstr)
			syslog(pri, "%s: %s", msg, errstr);
		else
			syslog(pri, "%s", msg);
		return;
	}
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	n = snprintf(line, sizeof(line), "%s.%03ldZ %s[%d]: %s%s%s\n", ts,
	    now.tv_nsec / 1000000, log_prog, (int)getpid(), msg,
	    errstr ? ": " : "", errstr ? errstr : "");
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line))
		n = sizeof(line) - 1;
	(void)!write(STDERR_FILENO, line, (size_t)n);
}

#define LOG_BODY(pri, errstr)                                                  \
	do {                                                                   \
		va_list ap;                                                    \
		va_start(ap, fmt);                                             \
		log_emit(pri, errstr, fmt, ap);                                \
		va_end(ap);                                                    \
	} while (0)

void
log_warn(const char *fmt, ...)
{
	const char *e = strerror(errno);

	LOG_BODY(LOG_WARNING, e);
}

void
log_warnx(const char *fmt, ...)
{
	LOG_BODY(LOG_WARNING, NULL);
}

void
log_info(const char *fmt, ...)
{
	LOG_BODY(LOG_INFO, NULL);
}

void
log_debug(const char *fmt, ...)
{
	if (!log_debug_on)
		return;
	LOG_BODY(LOG_DEBUG, NULL);
}

void
fatal(const char *fmt, ...)
{
	const char *e = strerror(errno);

	LOG_BODY(LOG_CRIT, e);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	LOG_BODY(LOG_CRIT, NULL);
	exit(1);
}

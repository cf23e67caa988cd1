/*
 * OpenBSD-style logging for mwg programs: stderr (foreground) or syslog.
 * log_warn appends strerror(errno); fatal/fatalx are for start-up only.
 */
#ifndef MWG_LOG_H
#define MWG_LOG_H

#include <stddef.h>

#define LOG_PRINTF(a, b) __attribute__((format(printf, a, b)))

/* progname is kept by pointer; debug != 0 enables log_debug. */
void log_init(const char *progname, int debug, int use_syslog);
int log_is_debug(void);

/*
 * Every line is escaped before it is written (see log_escape): a line is
 * one event whatever the arguments hold. log_escape copies src into dst
 * (size bytes, always terminated) with printable ASCII kept, '\\' doubled
 * and any other byte written as \xNN. Returns dst.
 */
char *log_escape(char *dst, size_t size, const char *src);

void log_warn(const char *fmt, ...) LOG_PRINTF(1, 2);
void log_warnx(const char *fmt, ...) LOG_PRINTF(1, 2);
void log_info(const char *fmt, ...) LOG_PRINTF(1, 2);
void log_debug(const char *fmt, ...) LOG_PRINTF(1, 2);
void fatal(const char *fmt, ...) LOG_PRINTF(1, 2) __attribute__((noreturn));
void fatalx(const char *fmt, ...) LOG_PRINTF(1, 2) __attribute__((noreturn));

#endif

/*
 * One-line error messages into a caller's buffer: library functions
 * report why they failed this way and leave logging to the caller.
 */
#ifndef MWG_ERRBUF_H
#define MWG_ERRBUF_H

#include <stddef.h>

/* Formats into err (errlen bytes); err NULL or errlen 0: does nothing. */
void errbuf_set(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif

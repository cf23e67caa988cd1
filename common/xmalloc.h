/*
 * Allocation that cannot fail: on exhaustion these call fatal(), so callers
 * never carry an out-of-memory path. Array sizes are overflow-checked.
 */
#ifndef MWG_XMALLOC_H
#define MWG_XMALLOC_H

#include <stddef.h>

void *xmalloc(size_t size);
void *xcalloc(size_t nmemb, size_t size);
void *xreallocarray(void *ptr, size_t nmemb, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* Returns a newly allocated string; caller frees. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Wipes len bytes of ptr, then frees it; NULL is a no-op. For secrets. */
void freezero_mwg(void *ptr, size_t len);

#endif

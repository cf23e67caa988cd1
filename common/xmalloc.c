/*
 * xmalloc family, after OpenSSH's xmalloc.c: exhaustion is fatal, not a
 * code path, and nmemb * size is checked for overflow.
 */
#include "common/xmalloc.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "common/log.h"

void *
xmalloc(size_t size)
{
	void *p;

	if (size == 0)
		fatalx("xmalloc: zero size");
	if ((p = malloc(size)) == NULL)
		fatalx("xmalloc: out of memory (allocating %zu bytes)", size);
	return p;
}

void *
xcalloc(size_t nmemb, size_t size)
{
	void *p;

	if (size == 0 || nmemb == 0)
		fatalx("xcalloc: zero size");
	if (SIZE_MAX / nmemb < size)
		fatalx("xcalloc: nmemb * size > SIZE_MAX");
	if ((p = calloc(nmemb, size)) == NULL)
		fatalx("xcalloc: out of memory (allocating %zu bytes)",
		    size * nmemb);
	return p;
}

void *
xreallocarray(void *ptr, size_t nmemb, size_t size)
{
	void *p;

	if (nmemb && SIZE_MAX / nmemb < size)
		fatalx("xreallocarray: nmemb * size > SIZE_MAX");
	if ((p = realloc(ptr, nmemb * size != 0 ? nmemb * size : 1)) == NULL)
		fatalx("xreallocarray: out of memory (%zu elements of %zu bytes)",
		    nmemb, size);
	return p;
}

char *
xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *
xstrndup(const char *s, size_t n)
{
	size_t len = strnlen(s, n);
	char *p = xmalloc(len + 1);

	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

char *
xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *p;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&p, fmt, ap);
	va_end(ap);
	if (n < 0)
		fatalx("xasprintf: could not allocate memory");
	return p;
}

void
freezero_mwg(void *ptr, size_t len)
{
	if (ptr == NULL)
		return;
	OPENSSL_cleanse(ptr, len);
	free(ptr);
}

/* Base64 (RFC 4648, with padding) for bytes that travel as JSON strings. */
#ifndef MWG_B64_H
#define MWG_B64_H

#include <stddef.h>

/* len bytes as a new NUL-terminated base64 string (free it). */
char *b64_encode(const void *p, size_t len);
/*
 * The bytes of s (strlen(s) a multiple of 4) as a new buffer with a NUL
 * after them (free it), *len set; NULL if s is not base64 or decodes to
 * more than max bytes.
 */
unsigned char *b64_decode(const char *s, size_t max, size_t *len);

#endif

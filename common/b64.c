/* Base64 through OpenSSL's block coder (common/b64.h). */
#include "common/b64.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "common/xmalloc.h"

char *
b64_encode(const void *p, size_t len)
{
	char *s = xmalloc(4 * ((len + 2) / 3) + 1);

	EVP_EncodeBlock((unsigned char *)s, p, (int)len);
	return s;
}

unsigned char *
b64_decode(const char *s, size_t max, size_t *len)
{
	size_t n = strlen(s), pad;
	unsigned char *buf;
	int got;

	if (n % 4 != 0 || n / 4 > (max + 2) / 3)
		return NULL;
	/* EVP_DecodeBlock counts the padding as zero bytes. */
	pad = (n >= 1 && s[n - 1] == '=') + (n >= 2 && s[n - 2] == '=');
	buf = xmalloc(3 * (n / 4) + 1);
	if ((got = EVP_DecodeBlock(buf, (const unsigned char *)s, (int)n)) <
	    0 || (size_t)got < pad || (size_t)got - pad > max) {
		free(buf);
		return NULL;
	}
	*len = (size_t)got - pad;
	buf[*len] = '\0';
	return buf;
}

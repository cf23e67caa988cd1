/*
 * libFuzzer harness for PROXY protocol v2 headers (common/proxy_v2.c).
 * The input is what a peer sends first. It is parsed whole, and again as
 * gateway/net/proxy_accept.c reads a socket (exactly the bytes the parser
 * asks for, then again); both must agree, nothing may be read past the
 * input (ASan), and no answer may pass the 536-byte bound.
 */
#include <netinet/in.h>

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/proxy_v2.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proxy_v2_result whole, step;
	enum proxy_v2_status st_w, st_s;
	size_t have = 0;

	st_w = proxy_v2_parse(data, size, &whole);
	if (st_w == PROXY_V2_DONE && (whole.len < PROXY_V2_HDR_LEN ||
	    whole.len > size || whole.len > PROXY_V2_MAX ||
	    (!whole.is_local && whole.srclen != sizeof(struct sockaddr_in) &&
	    whole.srclen != sizeof(struct sockaddr_in6))))
		abort();
	if (st_w == PROXY_V2_MORE && (whole.need <= size ||
	    whole.need > PROXY_V2_MAX))
		abort();
	if (st_w == PROXY_V2_ERROR && whole.error == NULL)
		abort();
	/* A header, or the start of one, looks like one. */
	if (st_w != PROXY_V2_ERROR && size > 0 &&
	    !proxy_v2_looks_like(data, size))
		abort();

	/* As a socket is read: only what the parser asks for. */
	while ((st_s = proxy_v2_parse(data, have, &step)) == PROXY_V2_MORE &&
	    have < size) {
		if (step.need <= have)
			abort();
		have = step.need < size ? step.need : size;
	}
	if (st_s != st_w)
		abort();
	if (st_s == PROXY_V2_DONE && (step.len != whole.len || step.len !=
	    have || step.is_local != whole.is_local || memcmp(&step.src,
	    &whole.src, sizeof(step.src)) != 0))
		abort();
	return 0;
}

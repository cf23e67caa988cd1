/*
 * The TLS server's protocol lists (gateway/tls.c): what mwgd offers, kept
 * in one place so bench/hs_floor.c measures OpenSSL with exactly these.
 */
#ifndef MWG_GATEWAY_TLS_POLICY_H
#define MWG_GATEWAY_TLS_POLICY_H

#define TLS12_CIPHERS							\
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"	\
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-AES128-GCM-SHA256:"	\
	"ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-CHACHA20-POLY1305"
#define TLS13_SUITES							\
	"TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:"		\
	"TLS_CHACHA20_POLY1305_SHA256"
#define TLS_GROUPS	"X25519:P-256:P-384"

#endif

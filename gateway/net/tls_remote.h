/*
 * The TLS server key stays in the monitor (issue 14 item 3): the network
 * process's SSL_CTX holds a key object with only the public half, whose
 * ECDSA sign operation asks the monitor (IPC_TLS_SIGN) to sign the
 * handshake's digest. EC keys only; an RSA server key is read into the
 * network process as before (the monitor does not withhold it).
 */
#ifndef MWG_GW_TLS_REMOTE_H
#define MWG_GW_TLS_REMOTE_H

#include <openssl/evp.h>
#include <openssl/x509.h>

struct ipc;

/* The channel the signatures are asked over (set before any context). */
void tls_remote_init(struct ipc *ch);
/* A key with cert's public half that the monitor signs for; NULL if
 * cert's key is not EC or the signer is not set up. */
EVP_PKEY *tls_remote_key(X509 *cert);

#endif

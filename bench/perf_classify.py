#!/usr/bin/env python3
# bench/perf_classify.py: reads `perf script -F comm,ip,sym,dso` of mwgd
# under the handshake load (bench/README.md, "Handshake profile") and
# splits the samples into crypto, OpenSSL's own overhead, mwgd's own work
# and the kernel, by the first telling frame from the leaf up. OpenSSL's
# internal functions have no symbols without debug packages: unnamed
# frames are skipped and classed by the nearest named caller.
import re
import sys
from collections import Counter

CRYPTO = re.compile(r'EC_POINT_mul|ecp_nistz256|X25519|x25519|ECDSA|ecdsa|'
    r'EVP_PKEY_derive|EVP_PKEY_keygen|EVP_PKEY_generate|EVP_DigestSign|'
    r'EVP_DigestVerify|EVP_PKEY_sign|EVP_PKEY_verify|EVP_KDF_derive|'
    r'SHA256|SHA512|sha256|sha512|EVP_Digest|EVP_Encrypt|EVP_Decrypt|'
    r'EVP_Cipher|aesni|gcm_|RAND_bytes|RAND_priv')
OVERHEAD = re.compile(r'OSSL_DECODER|OSSL_ENCODER|ASN1_|d2i_|i2d_|_fetch|'
    r'OPENSSL_sk|CRYPTO_|pthread_rwlock|pthread_mutex|__lll_|ERR_|OSSL_PARAM|'
    r'EC_GROUP|EC_KEY|BN_MONT_CTX|X509_STORE|X509_|EVP_PKEY_|EVP_MD_|'
    r'OBJ_|OSSL_LIB_CTX|OSSL_PROVIDER|BIO_|SSL_new|SSL_free|SSL_CTX_')
# Allocation and copying: charged to whoever called them.
ALLOC = re.compile(r'malloc|free|_int_|calloc|realloc|memmove|memcpy|'
    r'memset|tcache|unlink_chunk')
PLUMBING = {'client_cb', 'conn_handshake', 'worker_main', 'event_base_loop',
    'start_thread', 'clone3', '[unknown]'}
SKIP = re.compile(r'^\[unknown\]$|^BN_|^bn_|^0x')

def classify(frames):
    if not frames:
        return 'unknown'
    if 'kernel' in frames[0][1]:
        who = next((f[0] for f in frames if 'mwgd' in f[1] and
            f[0] not in PLUMBING), 'TLS I/O or event loop')
        return 'kernel: under ' + who
    alloc = ''
    for sym, dso in frames:
        if ALLOC.search(sym) and 'mwgd' not in dso:
            alloc = ' (allocation)'
            continue
        if 'mwgd' in dso and sym not in PLUMBING:
            return 'mwgd: ' + sym + alloc
        if 'mwgd' in dso:
            return 'OpenSSL overhead: libssl, unnamed' + alloc
        if SKIP.search(sym):
            continue
        if CRYPTO.search(sym):
            return 'crypto: ' + sym + alloc
        if OVERHEAD.search(sym):
            return 'OpenSSL overhead: ' + sym + alloc
    return 'other'

def main():
    samples, frames = [], []
    for line in sys.stdin:
        line = line.rstrip('\n')
        if not line.startswith(('\t', ' ')):
            if frames:
                samples.append(frames)
            frames = []
            continue
        m = re.match(r'\s*[0-9a-f]+ (.*) \((.*)\)$', line)
        if m:
            frames.append((m.group(1), m.group(2)))
    if frames:
        samples.append(frames)
    detail, group = Counter(), Counter()
    for f in samples:
        c = classify(f)
        detail[c] += 1
        group[c.split(':')[0]] += 1
    n = len(samples)
    print('samples: %d' % n)
    for g, k in group.most_common():
        print('%-45s %5.1f %%' % (g, 100.0 * k / n))
    print('detail (>= 1 %):')
    for d, k in detail.most_common():
        if 100.0 * k / n >= 1:
            print('  %-58s %5.1f %%' % (d, 100.0 * k / n))

main()

#!/usr/bin/env python3
# Sends one hand-made TLS ClientHello to 127.0.0.1:PORT and prints the
# server's first answer: "server_hello version=0x0303 cipher=0xc02b
# compression=0", "alert level=2 description=70", or "closed".
# 11-tls-policy uses it so that each refusal is the server's (an alert it
# sent), never the client library declining to offer something.
#   tls_hello.py PORT [--version 0x0303] [--suites c02b,c02c]
#                     [--compression 0] [--no-extensions]
#   tls_hello.py --allow-early-data SESSION.pem
# The second form prints the openssl s_client session with max_early_data
# set to 16384, so that s_client really sends 0-RTT data on resumption
# whatever the server's ticket allowed: the server must then reject it.
import argparse, base64, os, socket, struct, sys

def ext(kind, body):
    return struct.pack("!HH", kind, len(body)) + body

def hello(version, suites, compression, with_ext):
    body = struct.pack("!H", version) + os.urandom(32) + b"\x00"
    cs = b"".join(struct.pack("!H", s) for s in suites)
    body += struct.pack("!H", len(cs)) + cs
    body += bytes([len(compression)]) + bytes(compression)
    if with_ext:
        groups = struct.pack("!HHH", 4, 0x001d, 0x0017)   # x25519, P-256
        sigalgs = struct.pack("!HHHHH", 8, 0x0403, 0x0503, 0x0804, 0x0401)
        exts = (ext(10, groups) + ext(11, b"\x01\x00") + ext(13, sigalgs) +
                ext(23, b"") + ext(0xff01, b"\x00"))
        body += struct.pack("!H", len(exts)) + exts
    hs = b"\x01" + struct.pack("!I", len(body))[1:] + body
    return b"\x16\x03\x01" + struct.pack("!H", len(hs)) + hs

def read_exact(s, n):
    b = b""
    while len(b) < n:
        d = s.recv(n - len(b))
        if not d:
            return None
        b += d
    return b

def der_tlv(buf, i):
    tag, n = buf[i], buf[i + 1]
    i += 2
    if n & 0x80:
        k = n & 0x7f
        n = int.from_bytes(buf[i:i + k], "big")
        i += k
    return tag, i, n

def der_len(n):
    if n < 0x80:
        return bytes([n])
    b = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(b)]) + b

# SSL_SESSION (OpenSSL ssl/ssl_asn1.c): a SEQUENCE whose optional fields
# are context tags in order; max_early_data is [15] EXPLICIT INTEGER.
def allow_early_data(path):
    lines = open(path).read().splitlines()
    der = base64.b64decode("".join(l for l in lines if not l.startswith("-----")))
    tag, start, length = der_tlv(der, 0)
    if tag != 0x30:
        sys.exit("not an SSL_SESSION")
    field = b"\xaf\x04\x02\x02\x40\x00"    # [15] INTEGER 16384
    out, i, placed = b"", start, False
    while i < start + length:
        t, vs, n = der_tlv(der, i)
        if t == 0xaf:
            sys.exit("the session already has max_early_data")
        if not placed and t >= 0xa0 and (t & 0x1f) > 15:
            out, placed = out + field, True
        out += der[i:vs + n]
        i = vs + n
    if not placed:
        out += field
    b = base64.b64encode(b"\x30" + der_len(len(out)) + out).decode()
    print("-----BEGIN SSL SESSION PARAMETERS-----")
    for k in range(0, len(b), 64):
        print(b[k:k + 64])
    print("-----END SSL SESSION PARAMETERS-----")

def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--allow-early-data":
        allow_early_data(sys.argv[2])
        return
    p = argparse.ArgumentParser()
    p.add_argument("port", type=int)
    p.add_argument("--version", default="0x0303")
    p.add_argument("--suites", default="c02b")
    p.add_argument("--compression", default="0")
    p.add_argument("--no-extensions", action="store_true")
    a = p.parse_args()
    suites = [int(x, 16) for x in a.suites.split(",")]
    comp = [int(x) for x in a.compression.split(",")]
    s = socket.create_connection(("127.0.0.1", a.port), timeout=5)
    s.sendall(hello(int(a.version, 16), suites, comp, not a.no_extensions))
    head = read_exact(s, 5)
    if head is None:
        print("closed")
        return
    kind, _, length = struct.unpack("!BHH", head)
    rec = read_exact(s, length) or b""
    if kind == 21 and len(rec) >= 2:
        print("alert level=%d description=%d" % (rec[0], rec[1]))
    elif kind == 22 and len(rec) >= 4 and rec[0] == 2:
        v = struct.unpack("!H", rec[4:6])[0]
        sid_len = rec[38]
        off = 39 + sid_len
        cipher = struct.unpack("!H", rec[off:off + 2])[0]
        print("server_hello version=0x%04x cipher=0x%04x compression=%d" %
              (v, cipher, rec[off + 2]))
    else:
        print("record type=%d" % kind)

main()

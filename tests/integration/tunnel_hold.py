#!/usr/bin/env python3
# Opens one CONNECT tunnel through mwgd with a device certificate and
# holds it until mwgd closes it: prints the answer's status line as soon
# as it comes, then "closed after N ms at EPOCH_MS" (from the 200 to the
# close, and the wall clock then); after 150 s open, "still open" and exit 1.
# Scenarios run several at once, which open_tunnel's coproc cannot.
#   tunnel_hold.py GW_PORT T DEVICE TARGET [HEADER: VALUE ...]
import socket, ssl, sys, time

port, t, dev, target = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
ctx = ssl.create_default_context(cafile=t + "/ca/root.pem")
ctx.load_cert_chain(t + "/" + dev + ".pem", t + "/" + dev + ".key")
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=10),
                    server_hostname="127.0.0.1")
head = "CONNECT %s HTTP/1.1\r\nHost: %s\r\n" % (target, target)
head += "".join(h + "\r\n" for h in sys.argv[5:]) + "\r\n"
s.sendall(head.encode())
answer = b""
while not answer.endswith(b"\r\n\r\n"):
    b = s.recv(1)
    if not b:
        break
    answer += b
print(answer.split(b"\r\n")[0].decode("ascii", "replace"), flush=True)
t0 = time.monotonic()
s.settimeout(150)	# a scenario's limit is 180 s: say so, do not hang
try:
    while s.recv(4096):
        pass
except socket.timeout:
    print("still open after %d ms" % ((time.monotonic() - t0) * 1000))
    sys.exit(1)
except (ConnectionResetError, ssl.SSLError):
    pass
print("closed after %d ms at %d" % ((time.monotonic() - t0) * 1000,
                                    time.time() * 1000), flush=True)

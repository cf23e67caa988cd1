#!/usr/bin/env python3
"""A stand-in practice web system over HTTPS, with its own certificate for
its real name: serves one page naming itself on every GET. Test helper
only. Usage: https-standin.py ADDR PORT CERT KEY NAME"""
import http.server, ssl, sys

addr, port, cert, key, name = sys.argv[1], int(sys.argv[2]), *sys.argv[3:6]
page = ("<!doctype html><html><head><title>%s</title></head><body>"
        "<h1 id=who>Stand-in practice system %s</h1></body></html>\n"
        % (name, name)).encode()

class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(page)))
        self.end_headers()
        self.wfile.write(page)

    def log_message(self, fmt, *args):
        sys.stderr.write("standin: %s\n" % (fmt % args))

ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
srv = http.server.ThreadingHTTPServer((addr, port), Handler)
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
print("listening", flush=True)
srv.serve_forever()

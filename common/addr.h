/*
 * Socket addresses: parse "IPv4:PORT" and "[IPv6]:PORT" literals (never DNS:
 * targets and listeners are addresses an operator wrote down), and format
 * them for logs and audit records.
 */
#ifndef MWG_ADDR_H
#define MWG_ADDR_H

#include <sys/socket.h>

#define ADDR_STR_MAX 64		/* "[v6]:port" with room to spare */

/* Returns 0 and fills ss/len, or -1 if s is not a literal address:port. */
int addr_parse(const char *s, struct sockaddr_storage *ss, socklen_t *len);
/* "1.2.3.4:80" / "[::1]:80" into buf (ADDR_STR_MAX bytes); returns buf. */
char *addr_format(const struct sockaddr *sa, char *buf, size_t buflen);
/* Only the IP part, without port or brackets. */
char *addr_format_ip(const struct sockaddr *sa, char *buf, size_t buflen);
int addr_port(const struct sockaddr *sa);

struct sockaddr_un;
/* Fills sun for a Unix socket path; -1 (ENAMETOOLONG) if it cannot fit. */
int addr_unix(const char *path, struct sockaddr_un *sun);
/* A connected Unix stream socket (close-on-exec), or -1 with errno set. */
int addr_unix_connect(const char *path);

#endif

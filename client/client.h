/*
 * mwg: the staff device's client. One function per verb (each in its own
 * file) plus the small pieces they share: the state directory, names and
 * addresses given on the command line, and the terminal prompt. The TLS
 * and HTTP side is in client/gw.h.
 */
#ifndef MWG_CLIENT_H
#define MWG_CLIENT_H

#include <sys/socket.h>
#include <sys/types.h>

#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <time.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#define CLIENT_EXIT_OK		0
#define CLIENT_EXIT_FAIL	1
#define CLIENT_EXIT_USAGE	2

#define CLIENT_ERR_MAX		512	/* one-line reasons */

/* ---- verbs: argv[0] is the verb; the return value is the exit status --- */

int client_enrol(int argc, char **argv);	/* client/enrol.c */
int client_login(int argc, char **argv);	/* client/login.c */
int client_connect(int argc, char **argv);	/* client/connect.c */
int client_status(int argc, char **argv);	/* client/status.c */
int client_logout(int argc, char **argv);	/* client/logout.c */
int client_posture(int argc, char **argv);	/* client/posture.c */
int client_ssh_config(int argc, char **argv);	/* client/ssh_config.c */
int client_list(int argc, char **argv);		/* client/list.c */
int client_open(int argc, char **argv);		/* client/open.c */
int client_proxy(int argc, char **argv);	/* client/proxy.c */

/* "mwg: VERB: MESSAGE" on stderr; returns CLIENT_EXIT_FAIL. (msg.c) */
int client_fail(const char *verb, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* "mwg: VERB: MESSAGE", then the verb's usage line; returns
 * CLIENT_EXIT_USAGE. (msg.c) */
int client_usage(const char *verb, const char *usage_line, const char *fmt,
    ...) __attribute__((format(printf, 3, 4)));
/* "mwg: VERB: warning: MESSAGE" on stderr. (msg.c) */
void client_warn(const char *verb, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/*
 * The usage error for what getopt_long just refused: ch ':' is an option
 * without its value, anything else an unknown option (named from argv at
 * optind - 1). Returns CLIENT_EXIT_USAGE. (msg.c)
 */
int client_bad_option(const char *verb, const char *usage_line, int ch,
    char **argv);
/*
 * After the options of a verb that takes no operands: 0 if none is left
 * at optind, else the usage error naming it and CLIENT_EXIT_USAGE. (msg.c)
 */
int client_args_left(const char *verb, const char *usage_line, int argc,
    char **argv);

/* ---- the state directory (client/state.c) ------------------------------ */

/* File names inside the state directory. */
#define STATE_GATEWAY	"gateway"	/* one line HOST:PORT */
#define STATE_CA	"ca.pem"	/* what the server certificate chains to */
#define STATE_KEY	"device.key"	/* EC P-256, made here, never sent */
#define STATE_DEVICE	"device.pem"	/* device certificate */
#define STATE_CACERTS	"cacerts.pem"	/* EST /cacerts: the issuing CAs */
#define STATE_SESSION	"session.pem"	/* session certificate */
#define STATE_SESSION_JSON "session.json" /* the login answer, minus it */

#define STATE_DIR_ENV	"MWG_DIR"
#define STATE_DIR_HOME	".config/mwg"	/* under $HOME */
#define STATE_FILE_MAX	(1024 * 1024)	/* no state file is larger */

struct client_state {
	char dir[PATH_MAX];
};

/*
 * Chooses the directory: opt (--dir) if not NULL, else $MWG_DIR if set
 * and not empty, else $HOME/.config/mwg (the password database's home
 * if HOME is unset). Creates nothing. 0, or -1 with a reason in err.
 */
int client_state_resolve(const char *opt, struct client_state *st,
    char *err, size_t errlen);
/* DIR/name into buf (PATH_MAX bytes). 0, or -1 if it does not fit. */
int client_state_path(const struct client_state *st, const char *name,
    char *buf, size_t buflen);
/*
 * Creates the directory (and missing parents, 0700) if needed. One that
 * exists must be ours and writable by no one else: files in it could be
 * swapped. 0, or -1 with a reason.
 */
int client_state_create(const struct client_state *st, char *err,
    size_t errlen);
/*
 * Writes name with len bytes, mode mode, through a temporary file renamed
 * over it (a reader sees the old file or the new one, never half). 0 or -1.
 */
int client_state_write(const struct client_state *st, const char *name,
    const void *data, size_t len, mode_t mode, char *err, size_t errlen);
/*
 * Reads name whole (at most STATE_FILE_MAX bytes), NUL-terminated; its
 * length in *lenp if lenp is not NULL. Caller frees. NULL with a reason
 * in err and errno set (ENOENT: it does not exist, EFBIG: too large).
 */
char *client_state_read(const struct client_state *st, const char *name,
    size_t *lenp, char *err, size_t errlen);
/* The same for any file path. */
char *client_read_file(const char *path, size_t *lenp, char *err,
    size_t errlen);
/* 1 if name exists in the directory, 0 if not. */
int client_state_has(const struct client_state *st, const char *name);
/* Removes name: 1 removed, 0 there was none, -1 error (reason in err). */
int client_state_remove(const struct client_state *st, const char *name,
    char *err, size_t errlen);

/* ---- names and addresses from the command line (client/authority.c) -- */

#define CLIENT_HOST_MAX		256
#define CLIENT_NAME_MAX		64	/* a target or practice name */

/* A gateway: "host:port", "1.2.3.4:port" or "[v6]:port". */
struct client_hostport {
	char	host[CLIENT_HOST_MAX];	/* without brackets */
	char	port[6];		/* 1..65535, decimal */
	int	is_ip;			/* host is an IPv4/IPv6 literal */
};

int client_parse_hostport(const char *s, struct client_hostport *hp,
    char *err, size_t errlen);
/* "host:port" again, brackets around an IPv6 literal (a Host header). */
void client_format_hostport(const struct client_hostport *hp, char *buf,
    size_t buflen);

/* A CONNECT target: NAME.PRACTICE:PORT, as the gateway names them. */
struct client_target {
	char	name[CLIENT_NAME_MAX];
	char	practice[CLIENT_NAME_MAX];	/* upper case, as in policy */
	int	port;
	char	authority[2 * CLIENT_NAME_MAX + 8]; /* name.PRACTICE:port */
};

int client_parse_target(const char *s, struct client_target *t, char *err,
    size_t errlen);
/*
 * A local listening address: a literal "ADDR:PORT" or "[V6]:PORT" (no
 * names). 0, or -1 with a reason.
 */
int client_parse_listen(const char *s, struct sockaddr_storage *ss,
    socklen_t *len, char *err, size_t errlen);
/* 1 if sa is a loopback address (127.0.0.0/8, ::1, ::ffff:127.0.0.0/104). */
int client_is_loopback(const struct sockaddr *sa);
/*
 * An enrolment code "ID:SECRET": split at the first ':'; both parts
 * non-empty, printable ASCII without spaces. 0 or -1 (the reason never
 * repeats the secret).
 */
int client_parse_code(const char *s, char *id, size_t idlen, char *secret,
    size_t secretlen, char *err, size_t errlen);
/*
 * A break-glass reason for the Mwg-Break-Glass header: 1..200 bytes of
 * printable text (no control characters, so no header injection).
 */
int client_break_glass_valid(const char *reason);

/* ---- who connects to mwg connect (client/peer.c) ---------------------- */

/*
 * The OS user owning the other end of the accepted connection fd: for a
 * Unix socket from SO_PEERCRED; for TCP from the kernel's socket table,
 * the socket whose local address is fd's peer and whose remote address
 * is fd's own (NETLINK_SOCK_DIAG, else /proc/net/tcp{,6}). 1 with *uid,
 * 0 if no socket on this host is the peer (a remote client, or one that
 * closed already), -1 with a reason.
 *
 * Linux only. Other systems need their own lookup before mwg connect can
 * be ported: on macOS and FreeBSD the pcblist sysctls
 * (net.inet.tcp.pcblist, which carry each socket's credentials) or
 * LOCAL_PEERCRED / getpeereid() for Unix sockets; on Windows
 * GetExtendedTcpTable with TCP_TABLE_OWNER_PID_ALL, then the owning
 * process's token. Until then the port must not be offered there.
 */
int client_peer_uid(int fd, uid_t *uid, char *err, size_t errlen);
/*
 * The same lookup in a /proc/net/tcp or tcp6 table read from f (the
 * address family is peer's): 1 with *uid, 0 not found, -1 unreadable.
 */
int client_peer_uid_proc(FILE *f, const struct sockaddr *peer,
    const struct sockaddr *local, uid_t *uid);

/* ---- time and text (client/text.c) ------------------------------------- */

/* Replaces every byte of s that is not printable ASCII with '?': text
 * from the gateway never drives the terminal. Returns s. */
char *client_text_clean(char *s);
/* "3d 4h", "11h 05m", "4m 10s", "9s"; negative is "0s". Returns buf. */
char *client_format_left(long long secs, char *buf, size_t buflen);
/* t as local "YYYY-MM-DD HH:MM ZONE". Returns buf. */
char *client_format_time(time_t t, char *buf, size_t buflen);
/* A certificate's validity as time_t. 0 or -1. */
int client_cert_times(X509 *cert, time_t *not_before, time_t *not_after);
/* 1 if a certificate valid [nb, na] is in the last third of its life at
 * now (renewal is due), else 0. */
int client_renew_due(time_t nb, time_t na, time_t now);
/*
 * Appends s as a JSON string (quotes included) to buf at *off, escaping
 * '"', '\\' and control characters; buf has room for 6 * strlen(s) + 2
 * more bytes and a NUL. Written by hand so that a secret has one copy,
 * in memory the caller wipes.
 */
void client_json_string(char *buf, size_t *off, const char *s);

/*
 * The strings of a JSON array joined with ", " into buf (a non-string
 * shows as "?"; what does not fit is left off). Returns how many.
 */
int client_json_join(json_t *arr, char *buf, size_t buflen);

/* ---- the terminal (client/prompt.c) ------------------------------------ */

/*
 * Asks on /dev/tty (never stdin or stdout) and reads one line into buf,
 * without the newline; with echo 0 the terminal does not show what is
 * typed. An interrupt restores the terminal first. 0, or -1 with a reason
 * (no terminal, interrupted, line too long).
 */
int client_prompt(const char *prompt, char *buf, size_t buflen, int echo,
    char *err, size_t errlen);

#endif

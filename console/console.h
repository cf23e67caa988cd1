/*
 * mwg-console: the cyber team's web console. A small HTTPS server on a
 * management listener that asks mwgd over its control socket (logins,
 * live tunnels, devices, locks, audit notes) and reads the audit files
 * itself with the audit library, as mwgctl does. Never part of mwgd.
 */
#ifndef MWG_CONSOLE_H
#define MWG_CONSOLE_H

#include <stddef.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>

#include "audit/audit.h"

#define CONSOLE_IDLE_S		900	/* a session ends after 15 min idle, */
#define CONSOLE_IDLE_MIN	10	/* or sooner with --idle */
#define CONSOLE_LIFE_S		(8 * 3600)	/* and after 8 h in any case */
#define CONSOLE_SESSIONS_MAX	256
#define CONSOLE_PAGE		50	/* records on a page */
#define CONSOLE_PAGES_MAX	200	/* pages back from the newest */
#define CONSOLE_FIELD_MAX	128	/* bytes of a search field */
#define CONSOLE_FILES_MAX	512	/* audit files read */

enum console_role { ROLE_NONE, ROLE_CYBER, ROLE_IT };

struct console_conf {
	const char *listen;		/* 127.0.0.1:8443 */
	const char *cert, *key;		/* the listener's certificate */
	const char *control;		/* mwgd's control socket */
	const char *audit;		/* the live audit file */
	const char *audit_key;		/* its public key */
	const char *cyber_group, *it_group;
	long idle_s;			/* CONSOLE_IDLE_MIN..CONSOLE_IDLE_S */
};

extern struct console_conf console_conf;
extern struct event_base *console_base;

/* ---- sessions (session.c) ----------------------------------------------- */

struct console_session {
	char id[65];		/* cookie value: 32 random bytes, hex */
	char csrf[65];		/* every change carries it */
	char user[64];
	enum console_role role;
	time_t created, last;
};

/* The request's live session (touched), or NULL. */
struct console_session *session_find(struct evhttp_request *req);
/* A new session for user with role; NULL if the table is full. */
struct console_session *session_new(const char *user, enum console_role role);
void session_end(struct console_session *s);
/* 1 if token matches s's CSRF token (constant time). */
int session_csrf_ok(const struct console_session *s, const char *token);
const char *role_name(enum console_role r);

/* ---- mwgd's control socket (ctl.c) -------------------------------------- */

/* ans is NULL if mwgd could not be asked (err says why); the callback
 * does not own ans. */
typedef void (*ctl_cb)(json_t *ans, const char *err, void *arg);
/* Sends req (reference taken) to mwgd; cb is called exactly once. */
void ctl_call(json_t *req, ctl_cb cb, void *arg);

/* ---- HTML (html.c) ------------------------------------------------------ */

/* Appends s HTML-escaped (text or a quoted attribute value). */
void html_esc(struct evbuffer *b, const char *s);
/* The page head (title escaped) with the navigation for s (may be NULL). */
void html_head(struct evbuffer *b, const char *title,
    const struct console_session *s);
void html_foot(struct evbuffer *b);
/* Sends b as a page with status and every security header; frees b. */
void http_send(struct evhttp_request *req, int status, struct evbuffer *b);
/* A short page saying msg with status. */
void http_refuse(struct evhttp_request *req, int status, const char *msg,
    const struct console_session *s);
void http_redirect(struct evhttp_request *req, const char *to);
/* Adds the security headers every answer carries. */
void http_headers(struct evhttp_request *req);
/* The decoded fields of a POST body (form) or the query; 0 or -1. */
int http_form(struct evhttp_request *req, struct evkeyvalq *q);
int http_query(struct evhttp_request *req, struct evkeyvalq *q);
/* A hidden CSRF field for s. */
void html_csrf(struct evbuffer *b, const struct console_session *s);

/* ---- audit files (search.c) --------------------------------------------- */

struct search_q {
	struct audit_filter f;
	const char *outcome;	/* NULL: any */
	int page;		/* 0: newest */
};

/* The audit files in chain order, oldest first; count into *n. Free
 * with search_files_free. */
char **search_files(size_t *n);
void search_files_free(char **files, size_t n);
/*
 * Scans files for q: *total matches, and the lines of page q->page
 * (newest first) into *lines (an array of strings; free each and it).
 * 0, or -1 with err.
 */
int search_run(char **files, size_t n, const struct search_q *q,
    unsigned long long *total, char ***lines, size_t *nlines, char *err,
    size_t errlen);
/*
 * Writes the export of f as mwgctl audit export does (csv: header and
 * rows; else the lines byte for byte) to fd. *count: records. 0 or -1.
 */
int search_export(char **files, size_t n, const struct audit_filter *f,
    int csv, int fd, unsigned long long *count, char *err, size_t errlen);
/*
 * The chain's status for files into buf: the last finished check (on a
 * thread of its own, started here when the files changed) and its time.
 */
void search_verify(char **files, size_t n, char *buf, size_t len);
/* Waits for a check under way. */
void search_verify_stop(void);

/* ---- pages (pages.c, actions.c) ----------------------------------------- */

void pages_route(struct evhttp_request *req, void *arg);

#endif

/*
 * Shared by the console's page files: a request waiting for mwgd, with a
 * copy of who asked (the session may end meanwhile), and table helpers.
 */
#ifndef MWG_CONSOLE_PAGES_H
#define MWG_CONSOLE_PAGES_H

#include "console/console.h"

struct pend {
	struct evhttp_request *req;
	char user[64];
	char csrf[65];
	enum console_role role;
	json_t *data;		/* what a later step needs (owned) */
	int flag;
};

struct pend *pend_new(struct evhttp_request *req,
    const struct console_session *s);
void pend_session(const struct pend *p, struct console_session *s);
/* Answers 502 with why and frees p. */
void pend_fail(struct pend *p, const char *why);
const char *utc_text(json_int_t t, char *buf, size_t len);
void cell(struct evbuffer *b, json_t *o, const char *key);
/* Sends a console-note for p's user; then cb. fields: reference taken. */
void note_send(struct pend *p, const char *action, const char *outcome,
    json_t *fields, ctl_cb cb);

void page_tunnels(struct evhttp_request *req, struct console_session *s);
void page_devices(struct evhttp_request *req, struct console_session *s);
void page_locks(struct evhttp_request *req, struct console_session *s);
void page_audit(struct evhttp_request *req, struct console_session *s);
void page_exports(struct evhttp_request *req, struct console_session *s);
void page_export(struct evhttp_request *req, struct console_session *s);
void page_login(struct evhttp_request *req, const char *msg, int status);
void action_login(struct evhttp_request *req);
void action_logout(struct evhttp_request *req, struct console_session *s);
void action_kill(struct evhttp_request *req, struct console_session *s,
    struct evkeyvalq *form);
void action_lock(struct evhttp_request *req, struct console_session *s,
    struct evkeyvalq *form, int add);

#endif

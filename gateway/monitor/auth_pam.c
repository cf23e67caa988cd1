/*
 * Passwords through PAM: one pam_start .. pam_end per check, answering the
 * modules' prompts from the request, so a login never needs a terminal and
 * any stack (pam_unix, pam_sss) works. No globals: each check carries its
 * own conversation data, so the auth pool's threads may run checks at once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <security/pam_appl.h>

#include "common/errbuf.h"
#include "gateway/monitor/auth.h"

/* What the conversation may answer with. */
struct pam_answers {
	const char *user;
	const char *password;
};

/* Frees n responses, wiping each (one may hold the password). */
static void
pam_responses_free(struct pam_response *r, int n)
{
	if (r == NULL)
		return;
	for (int i = 0; i < n; i++) {
		if (r[i].resp != NULL) {
			OPENSSL_cleanse(r[i].resp, strlen(r[i].resp));
			free(r[i].resp);
		}
	}
	free(r);
}

/* The answer to one message: 0 (with *text, maybe NULL) or -1. */
static int
pam_answer(const struct pam_message *m, const struct pam_answers *a,
    char **text)
{
	*text = NULL;
	switch (m->msg_style) {
	case PAM_PROMPT_ECHO_OFF:
		*text = strdup(a->password);
		return *text == NULL ? -1 : 0;
	case PAM_PROMPT_ECHO_ON:
		/* Only the user name is ever asked in the clear. */
		*text = strdup(a->user);
		return *text == NULL ? -1 : 0;
	case PAM_ERROR_MSG:
	case PAM_TEXT_INFO:
		return 0;	/* nobody to show it to */
	default:
		return -1;
	}
}

/*
 * Linux-PAM passes msg as an array of pointers. resp may be NULL (pam_matrix
 * with "verbose" sends information that way): then only messages that need
 * no answer are acceptable.
 */
static int
pam_conv_cb(int n, const struct pam_message **msg, struct pam_response **resp,
    void *appdata)
{
	const struct pam_answers *a = appdata;
	struct pam_response *r = NULL;
	char *text;

	if (n <= 0 || n > PAM_MAX_NUM_MSG)
		return PAM_CONV_ERR;
	if (resp != NULL) {
		*resp = NULL;
		if ((r = calloc((size_t)n, sizeof(*r))) == NULL)
			return PAM_BUF_ERR;
	}
	for (int i = 0; i < n; i++) {
		if (pam_answer(msg[i], a, &text) == -1)
			goto fail;
		if (r != NULL)
			r[i].resp = text;
		else if (text != NULL) {
			OPENSSL_cleanse(text, strlen(text));
			free(text);
			goto fail;	/* a prompt, and nowhere to answer */
		}
	}
	if (resp != NULL)
		*resp = r;
	return PAM_SUCCESS;
fail:
	pam_responses_free(r, n);
	return PAM_CONV_ERR;
}

/* pam_authenticate: a refusal that is the person's (1), or PAM failing. */
static int
pam_auth_refused(int rc)
{
	switch (rc) {
	case PAM_AUTH_ERR:
	case PAM_USER_UNKNOWN:
	case PAM_CRED_INSUFFICIENT:
	case PAM_MAXTRIES:
		return 1;
	default:
		return -1;
	}
}

/* pam_acct_mgmt: PAM or the stack failing (-1), or the account refused. */
static int
pam_acct_refused(int rc)
{
	switch (rc) {
	case PAM_SYSTEM_ERR:
	case PAM_BUF_ERR:
	case PAM_SERVICE_ERR:
	case PAM_ABORT:
	case PAM_CONV_ERR:
	case PAM_AUTHINFO_UNAVAIL:
	case PAM_OPEN_ERR:
	case PAM_SYMBOL_ERR:
		return -1;
	default:
		return 1;
	}
}

int
auth_pam_check(const char *service, const char *user, const char *password,
    char *why, size_t whylen)
{
	struct pam_answers a = { user, password };
	struct pam_conv conv = { pam_conv_cb, &a };
	pam_handle_t *pamh = NULL;
	int rc, ret;

	rc = pam_start(service, user, &conv, &pamh);
	if (rc != PAM_SUCCESS) {
		errbuf_set(why, whylen, "pam_start for service %s: %s",
		    service, pam_strerror(pamh, rc));
		if (pamh != NULL)
			pam_end(pamh, rc);
		return -1;
	}
	rc = pam_authenticate(pamh, PAM_SILENT | PAM_DISALLOW_NULL_AUTHTOK);
	if (rc != PAM_SUCCESS) {
		ret = pam_auth_refused(rc);
		if (ret == 1)
			errbuf_set(why, whylen,
			    "wrong password or unknown user");
		else
			errbuf_set(why, whylen, "pam_authenticate: %s",
			    pam_strerror(pamh, rc));
		pam_end(pamh, rc);
		return ret;
	}
	/* An expired or disabled account, or one not allowed this service. */
	rc = pam_acct_mgmt(pamh, PAM_SILENT | PAM_DISALLOW_NULL_AUTHTOK);
	if (rc != PAM_SUCCESS) {
		ret = pam_acct_refused(rc);
		errbuf_set(why, whylen, "%s: %s", ret == 1 ?
		    "account not permitted" : "pam_acct_mgmt",
		    pam_strerror(pamh, rc));
		pam_end(pamh, rc);
		return ret;
	}
	pam_end(pamh, PAM_SUCCESS);
	errbuf_set(why, whylen, "accepted");
	return 0;
}

/*
 * Console sessions: a random id in a Secure, HttpOnly, SameSite=Strict
 * cookie, a CSRF token for every change, 15 minutes idle and 8 hours at
 * most. Kept in memory only: a restart logs everyone out.
 */
#include <stdio.h>
#include <string.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "common/log.h"
#include "console/console.h"

#define SESSION_COOKIE	"mwgc="

static struct console_session sessions[CONSOLE_SESSIONS_MAX];

const char *
role_name(enum console_role r)
{
	return r == ROLE_IT ? "it" : r == ROLE_CYBER ? "cyber" : "none";
}

static int
random_hex(char *out, size_t outlen)
{
	unsigned char raw[32];

	if (outlen < 2 * sizeof(raw) + 1 || RAND_bytes(raw, sizeof(raw)) != 1)
		return -1;
	for (size_t i = 0; i < sizeof(raw); i++)
		snprintf(out + 2 * i, 3, "%02x", raw[i]);
	OPENSSL_cleanse(raw, sizeof(raw));
	return 0;
}

static int
session_expired(const struct console_session *s, time_t now)
{
	return now - s->last > console_conf.idle_s ||
	    now - s->created > CONSOLE_LIFE_S;
}

/* The cookie's value if it is 64 hex digits; else NULL. */
static const char *
cookie_value(struct evhttp_request *req, char *buf, size_t len)
{
	const char *c = evhttp_find_header(evhttp_request_get_input_headers(
	    req), "Cookie");
	const char *p;
	size_t n;

	for (p = c; p != NULL && (p = strstr(p, SESSION_COOKIE)) != NULL;
	    p++) {
		if (p != c && p[-1] != ' ' && p[-1] != ';')
			continue;
		p += strlen(SESSION_COOKIE);
		n = strspn(p, "0123456789abcdef");
		if (n != 64 || n >= len)
			return NULL;
		memcpy(buf, p, n);
		buf[n] = '\0';
		return buf;
	}
	return NULL;
}

struct console_session *
session_find(struct evhttp_request *req)
{
	char id[65];
	time_t now = time(NULL);

	if (cookie_value(req, id, sizeof(id)) == NULL)
		return NULL;
	for (size_t i = 0; i < CONSOLE_SESSIONS_MAX; i++) {
		struct console_session *s = &sessions[i];

		if (s->id[0] == '\0' || CRYPTO_memcmp(s->id, id, 64) != 0)
			continue;
		if (session_expired(s, now)) {
			session_end(s);
			return NULL;
		}
		s->last = now;
		return s;
	}
	return NULL;
}

struct console_session *
session_new(const char *user, enum console_role role)
{
	struct console_session *s = NULL;
	time_t now = time(NULL);

	for (size_t i = 0; i < CONSOLE_SESSIONS_MAX; i++) {
		if (sessions[i].id[0] != '\0' &&
		    session_expired(&sessions[i], now))
			session_end(&sessions[i]);
		if (s == NULL && sessions[i].id[0] == '\0')
			s = &sessions[i];
	}
	if (s == NULL)
		return NULL;
	if (random_hex(s->id, sizeof(s->id)) == -1 ||
	    random_hex(s->csrf, sizeof(s->csrf)) == -1) {
		session_end(s);
		return NULL;
	}
	snprintf(s->user, sizeof(s->user), "%s", user);
	s->role = role;
	s->created = s->last = now;
	return s;
}

void
session_end(struct console_session *s)
{
	OPENSSL_cleanse(s, sizeof(*s));
}

int
session_csrf_ok(const struct console_session *s, const char *token)
{
	return token != NULL && strlen(token) == 64 &&
	    CRYPTO_memcmp(s->csrf, token, 64) == 0;
}

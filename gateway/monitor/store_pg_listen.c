/*
 * The listener of store.h: a second PostgreSQL connection that LISTENs on
 * mwg_changes.SCHEMA (announced by the triggers of schema version 6, in
 * the schema the store's tables are found in) and turns
 * each notice into a store_change. It is made again after an outage, at
 * most once a second, and says so, since notices sent meanwhile are lost.
 */
#include <ctype.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "common/xmalloc.h"
#include "gateway/monitor/store_int.h"

#define LISTEN_CHANNEL_SQL "SELECT 'mwg_changes.' || current_schema()"
#define LISTEN_CHANNEL_MAX 64 /* NAMEDATALEN */
#define LISTEN_RETRY_SECONDS 1

struct store_listener {
	struct store *st;    /* whose own changes are told apart */
	struct st_pg *pg;    /* NULL while down */
	time_t next_try;     /* while down: no new try before this */
	char channel[LISTEN_CHANNEL_MAX];
};

struct store_listener *
store_listen_new(struct store *st)
{
	struct store_listener *l;

	if (st->pg == NULL)
		return NULL;
	l = xcalloc(1, sizeof(*l));
	l->st = st;
	return l;
}

void
store_listen_free(struct store_listener *l)
{
	if (l == NULL)
		return;
	st_pg_close(l->pg);
	free(l);
}

/* Drops the connection after a failure; the next try waits a second. */
static int
listen_lost(struct store_listener *l, const char *what, char *err,
	    size_t errlen)
{
	PGconn *conn = st_pg_conn(l->pg);
	const char *msg = PQerrorMessage(conn);

	st_count_error();
	st_err(err, errlen, "change listener: %s: %.*s", what,
	       (int)strcspn(msg, "\n"), msg);
	st_pg_close(l->pg);
	l->pg = NULL;
	l->next_try = time(NULL) + LISTEN_RETRY_SECONDS;
	return -1;
}

/* The channel of the schema the connection finds the tables in. */
static int
listen_channel(struct store_listener *l, char *err, size_t errlen)
{
	PGconn *conn = st_pg_conn(l->pg);
	PGresult *res = PQexec(conn, LISTEN_CHANNEL_SQL);
	int ok = PQresultStatus(res) == PGRES_TUPLES_OK &&
	    PQntuples(res) == 1 && !PQgetisnull(res, 0, 0) &&
	    strlen(PQgetvalue(res, 0, 0)) < sizeof(l->channel);

	if (ok)
		snprintf(l->channel, sizeof(l->channel), "%s",
			 PQgetvalue(res, 0, 0));
	PQclear(res);
	return ok ? 0 : listen_lost(l, "current_schema", err, errlen);
}

/* Connects and LISTENs: 1, or -1 (err set) until the next try. */
static int
listen_connect(struct store_listener *l, char *err, size_t errlen)
{
	char *ident, sql[LISTEN_CHANNEL_MAX * 2 + 16];
	PGresult *res;
	int ok;

	if (time(NULL) < l->next_try) {
		st_err(err, errlen, "change listener: no connection (next "
		       "try within %d s)", LISTEN_RETRY_SECONDS);
		return -1;
	}
	if ((l->pg = st_pg_connect(l->st->pg_conninfo, err, errlen)) ==
	    NULL) {
		l->next_try = time(NULL) + LISTEN_RETRY_SECONDS;
		return -1;
	}
	if (listen_channel(l, err, errlen) == -1)
		return -1;
	ident = PQescapeIdentifier(st_pg_conn(l->pg), l->channel,
				   strlen(l->channel));
	if (ident == NULL)
		return listen_lost(l, "channel name", err, errlen);
	snprintf(sql, sizeof(sql), "LISTEN %s", ident);
	PQfreemem(ident);
	res = PQexec(st_pg_conn(l->pg), sql);
	ok = PQresultStatus(res) == PGRES_COMMAND_OK;
	PQclear(res);
	if (!ok)
		return listen_lost(l, "LISTEN", err, errlen);
	return 1;
}

/* A name as the tables hold it: printable, no space, shorter than max. */
static int
listen_name(const char *s, char *out, size_t max)
{
	size_t n = strlen(s);

	if (n == 0 || n >= max)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (!isgraph((unsigned char)s[i]))
			return -1;
	memcpy(out, s, n + 1);
	return 0;
}

/* "L KIND NAME", "D ID", "S SERIAL" or "P ID" into *c: 0, or -1. */
static int
listen_parse(const char *payload, struct store_change *c)
{
	const char *rest = payload + 2;

	memset(c, 0, sizeof(*c));
	if (strlen(payload) < 3 || payload[1] != ' ')
		return -1;
	switch (payload[0]) {
	case 'L':
		if (strncmp(rest, "user ", 5) == 0)
			c->is_user = 1;
		else if (strncmp(rest, "device ", 7) != 0)
			return -1;
		c->kind = STORE_CHANGE_LOCK;
		rest = strchr(rest, ' ') + 1;
		break;
	case 'D':
		c->kind = STORE_CHANGE_DEVICE;
		break;
	case 'S':
		c->kind = STORE_CHANGE_SESSION;
		break;
	case 'P':
		c->kind = STORE_CHANGE_POSTURE;
		break;
	default:
		return -1;
	}
	return listen_name(rest, c->name, sizeof(c->name));
}

/*
 * Hands every notice read so far to fn: all of them, as libpq holds them
 * already (a cap would leave the rest unseen until the next wake-up,
 * which may be a minute away).
 */
static void
listen_deliver(struct store_listener *l, store_change_fn fn, void *arg)
{
	PGconn *conn = st_pg_conn(l->pg);
	struct store_change c;
	PGnotify *n;

	while ((n = PQnotifies(conn)) != NULL) {
		if (strcmp(n->relname, l->channel) == 0 &&
		    listen_parse(n->extra, &c) == 0) {
			c.is_own = l->st->pg != NULL &&
			    n->be_pid == st_pg_backend_pid(l->st->pg);
			fn(&c, arg);
		}
		PQfreemem(n);
	}
}

int
store_listen_wait(struct store_listener *l, int wake_fd, int timeout_ms,
		  store_change_fn fn, void *arg, char *err, size_t errlen)
{
	struct pollfd pfd[2] = {{.events = POLLIN}, {.fd = wake_fd,
						    .events = POLLIN}};

	if (l->pg == NULL) {
		if (listen_connect(l, err, errlen) == 1)
			return 1;
		/* Down: the caller's loop must not spin meanwhile. */
		(void)poll(&pfd[1], 1, timeout_ms < 1000 ? timeout_ms : 1000);
		return -1;
	}
	pfd[0].fd = PQsocket(st_pg_conn(l->pg));
	if (pfd[0].fd < 0)
		return listen_lost(l, "no socket", err, errlen);
	if (poll(pfd, 2, timeout_ms) > 0 && (pfd[0].revents & ~POLLOUT) &&
	    (PQconsumeInput(st_pg_conn(l->pg)) == 0 ||
	     PQstatus(st_pg_conn(l->pg)) != CONNECTION_OK))
		return listen_lost(l, "connection lost", err, errlen);
	listen_deliver(l, fn, arg);
	return 0;
}

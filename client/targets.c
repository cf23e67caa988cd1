/*
 * What the person may reach, from the gateway (GET /v1/targets): for mwg
 * list, mwg open and mwg proxy. The answer is checked entry by entry
 * before anything is built from it: a host name ends up in a PAC file and
 * a program's command line.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "client/tunnel.h"
#include "common/errbuf.h"
#include "common/xmalloc.h"

static const char *const reach_kinds[] = { "web", "rdp", "ssh", "tcp" };

/* A DNS name as the policy allows one: [a-z0-9.-], 1..253 bytes. */
static int
reach_host_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 253 || s[0] == '.' || s[0] == '-')
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
		    *s == '.' || *s == '-'))
			return 0;
	return 1;
}

/* One entry of the answer into r. 0, or -1 with what is wrong. */
static int
reach_entry(json_t *e, struct client_reach *r, char *err, size_t errlen)
{
	const char *name = json_string_value(json_object_get(e, "name"));
	const char *practice = json_string_value(json_object_get(e,
	    "practice"));
	const char *kind = json_string_value(json_object_get(e, "kind"));
	const char *host = json_string_value(json_object_get(e, "host"));
	const char *title = json_string_value(json_object_get(e,
	    "practice_title"));
	json_int_t port = json_integer_value(json_object_get(e, "port"));
	char text[2 * CLIENT_NAME_MAX + 16];
	size_t k;

	memset(r, 0, sizeof(*r));
	if (name == NULL || practice == NULL || kind == NULL ||
	    strlen(name) >= CLIENT_NAME_MAX ||
	    strlen(practice) >= CLIENT_NAME_MAX || port < 1 || port > 65535) {
		errbuf_set(err, errlen, "an entry lacks a name, practice, "
		    "port or kind");
		return -1;
	}
	snprintf(text, sizeof(text), "%s.%s:%d", name, practice, (int)port);
	if (client_parse_target(text, &r->t, err, errlen) == -1)
		return -1;
	for (k = 0; k < sizeof(reach_kinds) / sizeof(reach_kinds[0]); k++)
		if (strcmp(kind, reach_kinds[k]) == 0)
			break;
	if (k == sizeof(reach_kinds) / sizeof(reach_kinds[0]) ||
	    (host != NULL && !reach_host_ok(host))) {
		errbuf_set(err, errlen, "%s: an unknown kind or a bad host "
		    "name", r->t.authority);
		return -1;
	}
	snprintf(r->kind, sizeof(r->kind), "%s", kind);
	if (host != NULL)
		snprintf(r->host, sizeof(r->host), "%s", host);
	if (title != NULL) {
		snprintf(r->title, sizeof(r->title), "%s", title);
		client_text_clean(r->title);
	}
	r->is_break_glass = json_is_true(json_object_get(e, "break_glass"));
	return 0;
}

static int
reach_parse(const char *body, struct client_reach_list *out, char *err,
    size_t errlen)
{
	json_t *root, *arr, *e;
	size_t i;
	int rc = -1;

	if ((root = json_loads(body, 0, NULL)) == NULL ||
	    !json_is_array(arr = json_object_get(root, "targets")) ||
	    json_array_size(arr) > CLIENT_TARGETS_MAX) {
		errbuf_set(err, errlen, "the gateway's list of systems is not "
		    "readable");
		json_decref(root);
		return -1;
	}
	out->v = xcalloc(json_array_size(arr) + 1, sizeof(*out->v));
	json_array_foreach(arr, i, e) {
		if (reach_entry(e, &out->v[i], err, errlen) == -1)
			goto out;
		out->n++;
	}
	out->is_truncated = json_is_true(json_object_get(root, "truncated"));
	rc = 0;
out:
	json_decref(root);
	return rc;
}

int
client_reach_fetch_keep(struct client_tls *t, const struct client_state *st,
    struct client_reach_list *out, char *err, size_t errlen)
{
	struct client_answer a;
	char reason[CLIENT_ERR_MAX], e[CLIENT_ERR_MAX];
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (t == NULL) {
		errbuf_set(err, errlen, "not logged in (run mwg login)");
		return -1;
	}
	if (client_request(t, "GET", CLIENT_TARGETS_PATH, NULL, NULL, 0, &a,
	    err, errlen) == -1)
		goto out;
	if (a.status != 200) {
		client_answer_reason(&a, reason, sizeof(reason));
		client_text_clean(reason);
		errbuf_set(err, errlen, "%s (%d)", reason, a.status);
		goto out;
	}
	if ((rc = reach_parse(a.body, out, err, errlen)) == -1)
		client_reach_free(out);
	else if (st != NULL && client_state_write(st, CLIENT_TARGETS_FILE,
	    a.body, a.body_len, 0600, e, sizeof(e)) == -1)
		fprintf(stderr, "mwg: warning: %s\n", e);
out:
	client_answer_free(&a);
	return rc;
}

int
client_reach_fetch(struct client_tls *t, struct client_reach_list *out,
    char *err, size_t errlen)
{
	return client_reach_fetch_keep(t, NULL, out, err, errlen);
}

int
client_reach_load_kept(const struct client_state *st,
    struct client_reach_list *out, char *err, size_t errlen)
{
	char *text;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((text = client_state_read(st, CLIENT_TARGETS_FILE, NULL, err,
	    errlen)) == NULL)
		return -1;
	if ((rc = reach_parse(text, out, err, errlen)) == -1)
		client_reach_free(out);
	free(text);
	return rc;
}

void
client_reach_free(struct client_reach_list *l)
{
	free(l->v);
	memset(l, 0, sizeof(*l));
}

const struct client_reach *
client_reach_find(const struct client_reach_list *l, const char *name,
    const char *practice)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i].t.name, name) == 0 &&
		    strcasecmp(l->v[i].t.practice, practice) == 0)
			return &l->v[i];
	return NULL;
}

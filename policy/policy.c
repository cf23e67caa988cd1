/*
 * policy.conf: `practice CODE "Display name" { target NAME ADDR:PORT ... }`.
 * Built from the shared statement tree; every error is reported with its
 * position before the load fails. Targets are kept sorted for lookup.
 */
#include "policy/policy.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/addr.h"
#include "common/xmalloc.h"

struct policy {
	struct policy_target *targets;	/* sorted by (practice, name) */
	size_t ntargets;
	char hash[65];
};

static int
valid_name(const char *s, int upper_ok)
{
	size_t n = strlen(s);

	if (n == 0 || n >= POLICY_NAME_MAX || s[0] == '-')
		return 0;
	for (; *s; s++)
		if (!(islower((unsigned char)*s) || isdigit((unsigned char)*s) ||
		    *s == '-' || (upper_ok && isupper((unsigned char)*s))))
			return 0;
	return 1;
}

static int
target_cmp(const void *a, const void *b)
{
	const struct policy_target *x = a, *y = b;
	int c = strcmp(x->practice, y->practice);

	return c ? c : strcmp(x->name, y->name);
}

static void
parse_target(struct policy *p, const char *practice,
    const struct conf_node *n, struct conf_errors *errs)
{
	struct policy_target *t;

	if (conf_nargs(n, 2, 2, errs) == -1)
		return;
	if (!valid_name(n->args[0].text, 0)) {
		conf_error(errs, &n->args[0].pos,
		    "expected a target name of a-z, 0-9 and '-', got '%s'",
		    n->args[0].text);
		return;
	}
	for (size_t i = 0; i < p->ntargets; i++)
		if (strcmp(p->targets[i].practice, practice) == 0 &&
		    strcmp(p->targets[i].name, n->args[0].text) == 0) {
			conf_error(errs, &n->args[0].pos,
			    "target %s.%s is defined twice", n->args[0].text,
			    practice);
			return;
		}
	p->targets = xreallocarray(p->targets, p->ntargets + 1,
	    sizeof(*p->targets));
	t = &p->targets[p->ntargets];
	memset(t, 0, sizeof(*t));
	if (addr_parse(n->args[1].text, &t->addr, &t->addrlen) == -1) {
		conf_error(errs, &n->args[1].pos,
		    "expected an address IP:PORT or [IPv6]:PORT, got '%s'",
		    n->args[1].text);
		return;
	}
	snprintf(t->name, sizeof(t->name), "%s", n->args[0].text);
	snprintf(t->practice, sizeof(t->practice), "%s", practice);
	addr_format((struct sockaddr *)&t->addr, t->addr_str,
	    sizeof(t->addr_str));
	p->ntargets++;
}

static void
parse_practice(struct policy *p, const struct conf_node *n,
    struct conf_errors *errs)
{
	char code[POLICY_NAME_MAX];

	if (conf_nargs(n, 1, 2, errs) == -1)
		return;
	if (!valid_name(n->args[0].text, 1)) {
		conf_error(errs, &n->args[0].pos,
		    "expected a practice code (ODS code, e.g. K84001), got '%s'",
		    n->args[0].text);
		return;
	}
	if (n->nargs == 2 && strlen(n->args[1].text) >= POLICY_TITLE_MAX)
		conf_error(errs, &n->args[1].pos,
		    "practice name longer than %d bytes", POLICY_TITLE_MAX - 1);
	if (!n->has_block) {
		conf_error(errs, &n->name.pos,
		    "expected '{' with the practice's targets");
		return;
	}
	/* ODS codes are upper case; valid_name() bounded the length. */
	for (size_t i = 0; i <= strlen(n->args[0].text); i++)
		code[i] = (char)toupper((unsigned char)n->args[0].text[i]);
	for (size_t i = 0; i < n->nchildren; i++) {
		const struct conf_node *c = &n->children[i];

		if (strcmp(c->name.text, "target") == 0)
			parse_target(p, code, c, errs);
		else
			conf_error(errs, &c->name.pos,
			    "expected 'target' in practice %s, got '%s'", code,
			    c->name.text);
	}
}

static struct policy *
policy_build(const struct conf_tree *tree, struct conf_errors *errs)
{
	struct policy *p = xcalloc(1, sizeof(*p));
	size_t before = errs->n + errs->dropped;

	for (size_t i = 0; i < tree->root.nchildren; i++) {
		const struct conf_node *n = &tree->root.children[i];

		if (strcmp(n->name.text, "practice") == 0)
			parse_practice(p, n, errs);
		else
			conf_error(errs, &n->name.pos,
			    "expected 'practice', got '%s'", n->name.text);
	}
	if (errs->n + errs->dropped != before) {
		policy_free(p);
		return NULL;
	}
	if (p->ntargets > 0)	/* qsort and bsearch want a real array */
		qsort(p->targets, p->ntargets, sizeof(*p->targets), target_cmp);
	snprintf(p->hash, sizeof(p->hash), "%s", tree->sha256);
	return p;
}

struct policy *
policy_load_string(const char *name, const char *text, size_t len,
    struct conf_errors *errs)
{
	struct conf_tree *tree = conf_parse_string(name, text, len, errs);
	struct policy *p;

	if (tree == NULL)
		return NULL;
	p = policy_build(tree, errs);
	conf_tree_free(tree);
	return p;
}

struct policy *
policy_load(const char *path, struct conf_errors *errs)
{
	struct conf_tree *tree = conf_parse_file(path, errs);
	struct policy *p;

	if (tree == NULL)
		return NULL;
	p = policy_build(tree, errs);
	conf_tree_free(tree);
	return p;
}

void
policy_free(struct policy *p)
{
	if (p == NULL)
		return;
	free(p->targets);
	free(p);
}

const char *
policy_hash(const struct policy *p)
{
	return p->hash;
}

size_t
policy_target_count(const struct policy *p)
{
	return p->ntargets;
}

const struct policy_target *
policy_find_target(const struct policy *p, const char *name,
    const char *practice)
{
	struct policy_target key;

	if (strlen(name) >= sizeof(key.name) ||
	    strlen(practice) >= sizeof(key.practice))
		return NULL;
	snprintf(key.name, sizeof(key.name), "%s", name);
	for (size_t i = 0; i <= strlen(practice); i++)
		key.practice[i] = (char)toupper((unsigned char)practice[i]);
	if (p->ntargets == 0)
		return NULL;
	return bsearch(&key, p->targets, p->ntargets, sizeof(key), target_cmp);
}

void
policy_decide(const struct policy *p, const struct policy_request *req,
    struct policy_decision *out)
{
	memset(out, 0, sizeof(*out));
	out->target = policy_find_target(p, req->target_name, req->practice);
	if (out->target == NULL) {
		snprintf(out->rule, sizeof(out->rule), "default-deny");
		snprintf(out->reason, sizeof(out->reason),
		    "no target %s.%s is defined in policy", req->target_name,
		    req->practice);
		return;
	}
	if (req->port != addr_port((const struct sockaddr *)&out->target->addr)) {
		snprintf(out->rule, sizeof(out->rule), "default-deny");
		/* The real port stays inside: the reason reaches the client. */
		snprintf(out->reason, sizeof(out->reason),
		    "target %s.%s is not served on port %d", out->target->name,
		    out->target->practice, req->port);
		return;
	}
	/* Interim rule until roles land: any valid device, any target. */
	out->allow = 1;
	snprintf(out->rule, sizeof(out->rule), "interim-any-device");
	snprintf(out->reason, sizeof(out->reason),
	    "device certificate valid; target defined");
}

/*
 * Posture collector "firewall": is incoming traffic dropped unless
 * allowed? Evidence is configuration plus, on the live system, a sign that
 * it is in force:
 *
 * configured: etc/nftables.conf has a chain on the input hook with policy
 * drop (its includes are not followed), or ufw is enabled
 * (etc/ufw/ufw.conf ENABLED=yes) with an input policy of DROP or REJECT
 * (etc/default/ufw; DROP when unset, as ufw ships).
 * in force (live system only): `nft list ruleset`, when we are root, shows
 * an input chain with policy drop; when nft cannot be asked (not root, not
 * installed), systemd says the service that loads the configuration
 * (nftables.service, ufw.service) is active.
 *
 * yes: configured, and in force (a tree is taken as configured = in
 * force). no: ufw says ENABLED=no and nftables.conf drops nothing.
 * Everything else is unknown: firewalld, iptables scripts, a ruleset nft
 * shows without a drop policy.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client/posture.h"

#define FW_TIMEOUT_MS	2000	/* for nft and systemctl each */
#define FW_TOKEN_MAX	64
#define FW_NFT_CONF	"etc/nftables.conf"
#define FW_UFW_CONF	"etc/ufw/ufw.conf"
#define FW_UFW_DEFAULT	"etc/default/ufw"

/* Walks nft syntax a token at a time: braces and ';' are tokens. */
struct fw_scan {
	int	depth;
	int	chain_depth;	/* depth inside the current chain; 0 none */
	int	is_chain_next;	/* "chain" seen, its '{' not yet */
	int	has_input;	/* "hook input" in this chain */
	int	has_drop;	/* "policy drop" in this chain */
	int	found;
	char	prev[FW_TOKEN_MAX];
};

static void
fw_token(struct fw_scan *s, const char *tok)
{
	if (strcmp(tok, "{") == 0) {
		s->depth++;
		if (s->is_chain_next && s->chain_depth == 0) {
			s->chain_depth = s->depth;
			s->has_input = s->has_drop = 0;
		}
		s->is_chain_next = 0;
	} else if (strcmp(tok, "}") == 0) {
		if (s->chain_depth != 0 && s->depth == s->chain_depth) {
			s->found |= s->has_input && s->has_drop;
			s->chain_depth = 0;
		}
		if (s->depth > 0)
			s->depth--;
		s->is_chain_next = 0;
	} else if (strcmp(tok, ";") == 0)
		s->is_chain_next = 0;
	else if (strcmp(tok, "chain") == 0)
		s->is_chain_next = 1;
	else if (s->chain_depth != 0 && strcmp(s->prev, "hook") == 0 &&
	    strcmp(tok, "input") == 0)
		s->has_input = 1;
	else if (s->chain_depth != 0 && strcmp(s->prev, "policy") == 0 &&
	    strcmp(tok, "drop") == 0)
		s->has_drop = 1;
	snprintf(s->prev, sizeof(s->prev), "%s", tok);
}

/* 1 if an nft ruleset (a file, or nft's listing) has an input chain
 * whose policy is drop. */
static int
fw_nft_drops(const char *text)
{
	struct fw_scan s;
	char tok[FW_TOKEN_MAX];
	size_t len;

	memset(&s, 0, sizeof(s));
	while (*text != '\0') {
		if (*text == '#') {
			text += strcspn(text, "\n");
			continue;
		}
		if (strchr(" \t\r\n\\", *text) != NULL) {
			text++;
			continue;
		}
		if (strchr("{};", *text) != NULL)
			len = 1;
		else
			len = strcspn(text, " \t\r\n\\{};#");
		snprintf(tok, sizeof(tok), "%.*s", (int)len, text);
		fw_token(&s, tok);
		text += len;
	}
	return s.found;
}

static int
fw_nft_conf(const char *root)
{
	char *text = posture_read(root, FW_NFT_CONF, NULL);
	int found = text != NULL && fw_nft_drops(text);

	free(text);
	return found;
}

/* ufw: -1 not installed or silent, 0 disabled, 1 enabled with a
 * dropping input policy, 2 enabled but accepting. */
static int
fw_ufw(const char *root)
{
	char value[64], *text;
	int state = -1;

	if ((text = posture_read(root, FW_UFW_CONF, NULL)) == NULL)
		return -1;
	if (posture_shell_value(text, "ENABLED", value, sizeof(value)))
		state = strcmp(value, "yes") == 0 ? 1 : strcmp(value, "no") ==
		    0 ? 0 : -1;
	free(text);
	if (state != 1 || (text = posture_read(root, FW_UFW_DEFAULT,
	    NULL)) == NULL)
		return state;
	if (posture_shell_value(text, "DEFAULT_INPUT_POLICY", value,
	    sizeof(value)) && strcmp(value, "DROP") != 0 &&
	    strcmp(value, "REJECT") != 0)
		state = 2;
	free(text);
	return state;
}

/* The first of two places a tool lives, or NULL. */
static const char *
fw_tool(const char *a, const char *b)
{
	return access(a, X_OK) == 0 ? a : access(b, X_OK) == 0 ? b : NULL;
}

/* 1 if nft, run as root, lists an input chain that drops; 0 if it
 * lists none; -1 if it could not be asked. */
static int
fw_nft_live(void)
{
	const char *nft = fw_tool("/usr/sbin/nft", "/sbin/nft");
	char *argv[] = { (char *)nft, "list", "ruleset", NULL }, *out = NULL;
	int rc, found;

	/* Listing needs CAP_NET_ADMIN: a person's own mwg has not got it. */
	if (nft == NULL || geteuid() != 0)
		return -1;
	if ((rc = posture_run(argv, FW_TIMEOUT_MS, &out)) != 0) {
		free(out);
		return -1;
	}
	found = fw_nft_drops(out);
	free(out);
	return found;
}

static int
fw_unit_active(const char *unit)
{
	const char *sc = fw_tool("/usr/bin/systemctl", "/bin/systemctl");
	char *argv[] = { (char *)sc, "is-active", "--quiet", (char *)unit,
	    NULL };

	return sc != NULL && posture_run(argv, FW_TIMEOUT_MS, NULL) == 0;
}

int
posture_collect_firewall(const char *root, struct posture_report *r)
{
	int nft_conf = fw_nft_conf(root), ufw = fw_ufw(root), live;

	if (!nft_conf && ufw != 1) {
		if (ufw == 0)
			r->firewall = POSTURE_NO;
		return 0;
	}
	if (!posture_root_is_live(root)) {
		r->firewall = POSTURE_YES;
		return 0;
	}
	if ((live = fw_nft_live()) == -1)
		live = (nft_conf && fw_unit_active("nftables.service")) ||
		    (ufw == 1 && fw_unit_active("ufw.service"));
	if (live == 1)
		r->firewall = POSTURE_YES;
	return 0;
}

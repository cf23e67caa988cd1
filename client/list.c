/*
 * mwg list: the practice systems the person may reach now, and those only
 * with break-glass, as the gateway decides them (GET /v1/targets), with
 * what each is and how to open it.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "client/tunnel.h"

#define VERB	"list"

static const char list_usage[] = "usage: mwg list [--json] [--dir DIR]\n";

static const char list_help[] =
"NAME\n"
"     mwg list - the practice systems you may reach\n"
"\n"
"SYNOPSIS\n"
"     mwg list [--json] [--dir DIR]\n"
"\n"
"DESCRIPTION\n"
"     Asks the gateway (GET /v1/targets, with the session certificate from\n"
"     mwg login) which systems your roles allow now, from this device and\n"
"     this place, and which only with emergency (break-glass) access, and\n"
"     prints one line each:\n"
"\n"
"         NAME.PRACTICE:PORT  KIND  HOST  PRACTICE'S NAME\n"
"\n"
"     KIND is web (opened in the browser by HOST, its real name: mwg open\n"
"     or mwg proxy), rdp (remote desktop), ssh or tcp; HOST is - when the\n"
"     system has none. Open one with mwg open NAME.PRACTICE. Systems you\n"
"     may not reach are not listed. A fresh posture report is sent first\n"
"     if the last one is getting old, as mwg connect does.\n"
"\n"
"     --json  One JSON array instead, for programs (mwg-gui): objects\n"
"             with target (NAME.PRACTICE:PORT), name, practice, port,\n"
"             kind, host, practice_title and break_glass.\n"
"     --dir DIR\n"
"             State directory (default $MWG_DIR, else ~/.config/mwg).\n"
"     --help  Print this help and exit.\n"
"\n"
"EXIT STATUS\n"
"     0 listed (even if nothing may be reached); 1 not logged in, or the\n"
"     gateway refused or cannot be reached; 2 bad usage.\n"
"\n"
"EXAMPLES\n"
"     mwg list\n";

static int
list_options(int argc, char **argv, const char **dir, int *is_json)
{
	static const struct option longopts[] = {
		{ "json",	no_argument,		NULL, 'j' },
		{ "dir",	required_argument,	NULL, 'd' },
		{ "help",	no_argument,		NULL, 'h' },
		{ NULL,		0,			NULL, 0 },
	};
	int ch;

	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'j':
			*is_json = 1;
			break;
		case 'd':
			*dir = optarg;
			break;
		case 'h':
			fputs(list_help, stdout);
			return -1;
		default:
			return client_bad_option(VERB, list_usage, ch, argv);
		}
	}
	return client_args_left(VERB, list_usage, argc, argv);
}

static void
list_rows(const struct client_reach_list *l, int glass, int width,
    int hwidth)
{
	for (size_t i = 0; i < l->n; i++) {
		const struct client_reach *r = &l->v[i];

		if (r->is_break_glass != glass)
			continue;
		if (r->title[0] != '\0')
			printf("  %-*s %-4s %-*s %s\n", width, r->t.authority,
			    r->kind, hwidth, r->host[0] ? r->host : "-",
			    r->title);
		else
			printf("  %-*s %-4s %s\n", width, r->t.authority,
			    r->kind, r->host[0] ? r->host : "-");
	}
}

static void
list_print(const struct client_reach_list *l)
{
	size_t now = 0, glass = 0;
	int width = 0, hwidth = 1;

	for (size_t i = 0; i < l->n; i++) {
		int w = (int)strlen(l->v[i].t.authority);
		int h = (int)strlen(l->v[i].host);

		width = w > width ? w : width;
		hwidth = h > hwidth ? h : hwidth;
		if (l->v[i].is_break_glass)
			glass++;
		else
			now++;
	}
	if (now == 0)
		printf("you may reach no system now\n");
	else {
		printf("you may reach now:\n");
		list_rows(l, 0, width, hwidth);
	}
	if (glass > 0) {
		printf("only with break-glass (emergencies; every use is "
		    "reviewed):\n");
		list_rows(l, 1, width, hwidth);
	}
	if (l->is_truncated)
		printf("(the gateway listed only the first %zu)\n", l->n);
	if (l->n > 0)
		printf("open one with: mwg open NAME.PRACTICE\n");
}

/* The checked list as JSON: names and hosts are [A-Za-z0-9.-] already. */
static void
list_json(const struct client_reach_list *l)
{
	json_t *arr = json_array();
	char *text;

	for (size_t i = 0; i < l->n; i++) {
		const struct client_reach *r = &l->v[i];

		json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:i, "
		    "s:s, s:s, s:s, s:b}", "target", r->t.authority, "name",
		    r->t.name, "practice", r->t.practice, "port", r->t.port,
		    "kind", r->kind, "host", r->host, "practice_title",
		    r->title, "break_glass", r->is_break_glass));
	}
	if ((text = json_dumps(arr, JSON_COMPACT)) != NULL)
		printf("%s\n", text);
	free(text);
	json_decref(arr);
}

int
client_list(int argc, char **argv)
{
	static const struct client_tunnel_hooks none;
	struct client_reach_list l;
	struct client_tunnels *ts;
	char err[CLIENT_ERR_MAX];
	const char *dir = NULL;
	time_t until;
	int rc, is_json = 0;

	if ((rc = list_options(argc, argv, &dir, &is_json)) != 0)
		return rc == -1 ? CLIENT_EXIT_OK : rc;
	if ((ts = client_tunnels_prepare(VERB, dir, NULL, NULL, 0,
	    &none)) == NULL)
		return CLIENT_EXIT_FAIL;
	if (client_reach_fetch_keep(client_tunnels_session(ts, &until),
	    &client_tunnels_device(ts)->st, &l, err, sizeof(err)) == -1)
		return client_fail(VERB, "%s", err);
	if (is_json)
		list_json(&l);
	else
		list_print(&l);
	client_reach_free(&l);
	return CLIENT_EXIT_OK;
}

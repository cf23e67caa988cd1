/*
 * mwgctl audit verify | query | export | prune: the audit trail, read
 * offline. A query or export is itself recorded: mwgd must accept an
 * audit-note on its control socket before anything is shown.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "admin/admin.h"
#include "audit/audit.h"
#include "audit/audit_csv.h"
#include "common/xmalloc.h"

#define AUDIT_PUB_DEFAULT	"/var/lib/mwg/audit.key.pub"
#define AUDIT_PUB_NAME		"audit.key.pub"
#define HUMAN_FIELD_MAX		128	/* bytes shown of one field */
#define HUMAN_REASON_MAX	1200	/* a cut reason is 1024 + its note */
#define RETENTION_MIN		6	/* months a practice may keep records */
#define RETENTION_MAX		24

static const char audit_usage[] =
"usage: mwgctl audit verify [--key PUB]... FILE...\n"
"       mwgctl audit query [--user U] [--practice P] [--event E] "
"[--since T]\n"
"                          [--until T] [--json] FILE...\n"
"       mwgctl audit export (--practice P | --user U) [--since T] "
"[--until T]\n"
"                           [--format jsonl|csv] FILE...\n"
"       mwgctl audit prune [--practice P] --before DATE FILE...\n"
"       mwgctl audit prune --retention MONTHS "
"[--practice-retention P=MONTHS]...\n"
"                          [--now DATE] FILE...\n"
"       mwgctl audit VERB --help\n";

static const char verify_help[] =
"NAME\n"
"    mwgctl audit verify - check the audit trail's chain and signatures\n"
"\n"
"SYNOPSIS\n"
"    mwgctl audit verify [--key PUB]... FILE...\n"
"\n"
"DESCRIPTION\n"
"    Reads the FILEs in chain order, oldest first (audit.jsonl.2\n"
"    audit.jsonl.1 audit.jsonl), and checks each record's hash, its link\n"
"    to the record before, the sequence numbers and every checkpoint's\n"
"    signature. It finds an edited, deleted, inserted or reordered record,\n"
"    a truncated file and a forged checkpoint, and names the first bad\n"
"    record. A file may start with a checkpoint (after rotation or prune).\n"
"\n"
"    Several gateway nodes: each keeps its own chain, and each record names\n"
"    its node (observer.name). Give every node's files, in any mix: they\n"
"    are sorted into one chain per node by the node their records name,\n"
"    each node's files kept in the order given, and each chain is verified\n"
"    on its own, one line each. Files written before node names join the\n"
"    node named if only one is; with several, they are a chain of their\n"
"    own. A record of another node inside a chain fails it.\n"
"\n"
"    A redaction stub (event.action audit.redacted, written by mwgctl\n"
"    audit prune --practice or --retention) stands in for a removed\n"
"    record: it keeps that record's seq, time, practice, prev and hash\n"
"    and nothing else, so the chain still verifies. It proves a record\n"
"    stood there and was removed, not why: whoever can write the file\n"
"    can redact (visibly, and counted), not alter what remains.\n"
"\n"
"    Records after the last checkpoint are not sealed yet: whoever can\n"
"    write the file could rewrite them without trace. The live file\n"
"    normally ends so; the count is shown.\n"
"\n"
"OPTIONS\n"
"    --key PUB  the audit key's public half; give it once per node whose\n"
"               key differs: a chain's first checkpoint picks the key by\n"
"               its key id, and every later one must use that key.\n"
"               Default: " AUDIT_PUB_NAME " beside each chain's first\n"
"               FILE, else " AUDIT_PUB_DEFAULT ". For evidence,\n"
"               use copies kept away from the gateways: a key beside the\n"
"               files can be replaced with them.\n"
"\n"
"OUTPUT\n"
"    One line per chain:\n"
"    OK: N records[ of node NODE] (seq A..B) in F files, C checkpoints,\n"
"        sealed through seq S[ by key K]; U unsealed at the end\n"
"        [; R records redacted]\n"
"    FAIL: [node NODE: ]FILE:LINE: seq N: REASON\n"
"    then, with several chains:\n"
"    N chains (one per node): V verify, F fail\n"
"    (\"by key K\" when --key is given more than once.)\n"
"\n"
"EXIT STATUS\n"
"    0 every chain verifies, 1 one does not or cannot be read,\n"
"    2 bad usage\n";

static const char query_help[] =
"NAME\n"
"    mwgctl audit query - show the audit records that match a filter\n"
"\n"
"SYNOPSIS\n"
"    mwgctl audit query [--user U] [--practice P] [--event E] [--since T]\n"
"                       [--until T] [--json] [-s SOCKET] [--unrecorded]\n"
"                       FILE...\n"
"\n"
"DESCRIPTION\n"
"    Prints each matching record on one line: time, node, action,\n"
"    outcome, person/device, practice, target, source, reason. Every\n"
"    filter given must match. Several nodes' files are merged in time\n"
"    order (as mwgctl audit export). The query is recorded in the audit trail (audit.query,\n"
"    with your OS user and the filter) before anything is shown; if mwgd\n"
"    cannot record it, nothing is shown.\n"
"\n"
"OPTIONS\n"
"    --user U      user.name is U\n"
"    --practice P  organization.id is P (an ODS code, any case)\n"
"    --event E     event.action is E; E ending in '.' is a prefix\n"
"                  (--event tunnel. matches tunnel.open, tunnel.close...)\n"
"    --since T     at or after T: 2026-11-25 (midnight UTC) or\n"
"                  2026-11-25T10:00:00Z (RFC 3339, whole seconds)\n"
"    --until T     before T, same forms\n"
"    --json        the records' original lines instead\n"
"    -s SOCKET     mwgd's control socket (default $MWG_CONTROL, else\n"
"                  " ADMIN_CTL_AUDIT_DEFAULT " if it answers,\n"
"                  else " ADMIN_CTL_DEFAULT ")\n"
"    --unrecorded  if mwgd cannot record the query, warn and go on\n"
"\n"
"EXIT STATUS\n"
"    0 success (also when nothing matched), 1 failed or refused,\n"
"    2 bad usage\n";

static const char export_help[] =
"NAME\n"
"    mwgctl audit export - one practice's or one person's audit records\n"
"\n"
"SYNOPSIS\n"
"    mwgctl audit export (--practice P | --user U) [--since T] [--until T]\n"
"                        [--format jsonl|csv] [-s SOCKET] [--unrecorded]\n"
"                        FILE...\n"
"\n"
"DESCRIPTION\n"
"    Writes to standard output, for a practice (its data controller) the\n"
"    records whose organization.id is P and nothing else, or for a\n"
"    subject access request every record whose user.name is U.\n"
"    Several gateway nodes' files (any mix, each node's oldest first)\n"
"    are merged into one stream in time order: by @timestamp, then\n"
"    node (observer.name), then seq; each node's own records keep their\n"
"    order. Each record names its node in observer.name (records written\n"
"    before node names do not).\n"
"    The export is recorded in the audit trail (audit.export, with your\n"
"    OS user and the filter) before anything is written; if mwgd cannot\n"
"    record it, nothing is exported.\n"
"\n"
"OPTIONS\n"
"    --practice P  organization.id is P (an ODS code, any case)\n"
"    --user U      user.name is U\n"
"    --since T, --until T  as for mwgctl audit query\n"
"    --format jsonl  the original lines byte for byte (default): each\n"
"                  still carries its chain hash\n"
"    --format csv  RFC 4180, a header row, columns seq, @timestamp,\n"
"                  event.action, event.outcome, observer.name,\n"
"                  user.name, device.id,\n"
"                  organization.id, source.ip, destination.address,\n"
"                  destination.socket, rule.id, event.reason,\n"
"                  network.bytes_up, network.bytes_down,\n"
"                  event.duration_ms, hash. A text\n"
"                  starting with = + - @ gets a leading ' so that a\n"
"                  spreadsheet shows it instead of running it.\n"
"    -s SOCKET, --unrecorded  as for mwgctl audit query\n"
"\n"
"EXIT STATUS\n"
"    0 success, 1 failed or refused, 2 bad usage\n";

static const char prune_help[] =
"NAME\n"
"    mwgctl audit prune - remove expired records from rotated files\n"
"\n"
"SYNOPSIS\n"
"    mwgctl audit prune --before DATE FILE...\n"
"    mwgctl audit prune --practice P --before DATE FILE...\n"
"    mwgctl audit prune --retention MONTHS [--practice-retention P=MONTHS]...\n"
"                       [--now DATE] FILE...\n"
"\n"
"DESCRIPTION\n"
"    With --before alone, removes the records older than DATE (2026-11-25\n"
"    or 2026-11-25T10:00:00Z) from each FILE, cutting at the last signed\n"
"    checkpoint before DATE so that what remains starts with that\n"
"    checkpoint and still verifies. Records after the cut stay even if\n"
"    older. A FILE with no checkpoint before DATE is left alone.\n"
"\n"
"    With --practice P, removes only practice P's records (organization.id,\n"
"    any case) older than DATE: each is replaced in place by a redaction\n"
"    stub that keeps its seq, time, practice and chain hashes and nothing\n"
"    about the person, so the other practices' records still verify.\n"
"    Checkpoints are never redacted. A record whose hash does not match is\n"
"    refused (the edit is evidence): run mwgctl audit verify.\n"
"\n"
"    With --retention, applies each practice's retention as of now: the\n"
"    cut for a retention of M months is now less M calendar months (UTC;\n"
"    31 August less 6 months is 28 February). Whole records are removed\n"
"    before the cut of the longest retention given, then the records of\n"
"    each practice with a shorter retention are redacted before its own\n"
"    cut. Records of practices not listed, and records with no practice,\n"
"    follow the default MONTHS.\n"
"\n"
"    The live file is refused (mwgd holds it); prune rotated files. Each\n"
"    FILE is rewritten beside itself (FILE.prune-tmp) and renamed over.\n"
"\n"
"OPTIONS\n"
"    --before DATE    remove (or with --practice, redact) before DATE\n"
"    --practice P     redact only practice P's records; needs --before\n"
"    --retention MONTHS\n"
"                     the default retention, 6 to 24 months\n"
"    --practice-retention P=MONTHS\n"
"                     practice P's own retention, 6 to 24 months;\n"
"                     repeat for each practice that differs\n"
"    --now DATE       apply retention as of DATE instead of now\n"
"\n"
"OUTPUT\n"
"    FILE: N records removed, kept from seq S (checkpoint)\n"
"    FILE: N records of P redacted\n"
"    With --retention, per FILE:\n"
"    FILE: N records removed (before CUT, M months)[, kept from seq S\n"
"          (checkpoint)]\n"
"    FILE: N records of P redacted (before CUT, M months)\n"
"    FILE: N records under the default redacted (before CUT, M months)\n"
"\n"
"EXIT STATUS\n"
"    0 success, 1 failed or refused, 2 bad usage\n";

struct audit_args {
	const char *verb;
	const char *help;
	struct audit_filter f;
	const char *since, *until;	/* as given, for the audit note */
	const char **keys;		/* --key, each time given */
	size_t nkeys;
	const char *socket, *format;
	time_t before, now;
	unsigned retention;		/* default months; 0: not given */
	struct audit_retention *rules;	/* [0] default, then P=MONTHS */
	size_t nrules;
	int as_json, unrecorded;
	char **files;
	int nfiles;
};

static const struct option audit_opts[] = {
	{ "before", required_argument, NULL, 'b' },
	{ "event", required_argument, NULL, 'e' },
	{ "format", required_argument, NULL, 'f' },
	{ "help", no_argument, NULL, 'h' },
	{ "json", no_argument, NULL, 'j' },
	{ "key", required_argument, NULL, 'k' },
	{ "now", required_argument, NULL, 'N' },
	{ "practice", required_argument, NULL, 'p' },
	{ "practice-retention", required_argument, NULL, 'P' },
	{ "retention", required_argument, NULL, 'R' },
	{ "since", required_argument, NULL, 'S' },
	{ "socket", required_argument, NULL, 's' },
	{ "until", required_argument, NULL, 'U' },
	{ "unrecorded", no_argument, NULL, 'r' },
	{ "user", required_argument, NULL, 'u' },
	{ NULL, 0, NULL, 0 }
};

static int
usage_error(const struct audit_args *a, const char *what, const char *arg)
{
	fprintf(stderr, "mwgctl: audit %s: %s%s%s (see mwgctl audit %s "
	    "--help)\n", a->verb, what, arg ? " " : "", arg ? arg : "",
	    a->verb);
	return -1;
}

static const char *
option_name(int c)
{
	for (const struct option *o = audit_opts; o->name != NULL; o++)
		if (o->val == c)
			return o->name;
	return "?";
}

static int
time_arg(const struct audit_args *a, const char *opt, const char *s,
    time_t *t)
{
	if (audit_parse_time(s, t) == 0)
		return 0;
	fprintf(stderr, "mwgctl: audit %s: %s: expected a date (2026-11-25) "
	    "or a UTC time (2026-11-25T10:00:00Z), got '%s'\n", a->verb, opt,
	    s);
	return -1;
}

/* "6".."24" months, or -1 (said on stderr). */
static int
months_arg(const struct audit_args *a, const char *opt, const char *s,
    unsigned *months)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (*s >= '0' && *s <= '9' && *end == '\0' && errno == 0 &&
	    v >= RETENTION_MIN && v <= RETENTION_MAX) {
		*months = (unsigned)v;
		return 0;
	}
	fprintf(stderr, "mwgctl: audit %s: %s: expected %d to %d months, got "
	    "'%s'\n", a->verb, opt, RETENTION_MIN, RETENTION_MAX, s);
	return -1;
}

/* --practice-retention P=MONTHS, once per practice. */
static int
practice_retention_arg(struct audit_args *a, const char *arg)
{
	const char *eq = strrchr(arg, '=');
	struct audit_retention *r = &a->rules[a->nrules];

	if (eq == NULL || eq == arg)
		return usage_error(a, "--practice-retention: expected "
		    "P=MONTHS, got", arg);
	if (months_arg(a, "--practice-retention", eq + 1, &r->months) == -1)
		return -1;
	r->practice = xstrndup(arg, (size_t)(eq - arg));
	for (size_t i = 1; i < a->nrules; i++)
		if (strcasecmp(a->rules[i].practice, r->practice) == 0) {
			free((char *)r->practice);
			r->practice = NULL;
			return usage_error(a, "--practice-retention: given "
			    "twice for", arg);
		}
	a->nrules++;
	return 0;
}

/* One option; allowed lists the verb's option letters. */
static int
set_option(struct audit_args *a, int c, const char *arg)
{
	switch (c) {
	case 'N':
		return time_arg(a, "--now", arg, &a->now);
	case 'P':
		return practice_retention_arg(a, arg);
	case 'R':
		return months_arg(a, "--retention", arg, &a->retention);
	case 'b':
		return time_arg(a, "--before", arg, &a->before);
	case 'e':
		a->f.event = arg;
		return 0;
	case 'f':
		a->format = arg;
		return 0;
	case 'j':
		a->as_json = 1;
		return 0;
	case 'k':
		a->keys[a->nkeys++] = arg;
		return 0;
	case 'p':
		a->f.practice = arg;
		return 0;
	case 'r':
		a->unrecorded = 1;
		return 0;
	case 'S':
		a->since = arg;
		return time_arg(a, "--since", arg, &a->f.since);
	case 's':
		a->socket = arg;
		return 0;
	case 'U':
		a->until = arg;
		return time_arg(a, "--until", arg, &a->f.until);
	case 'u':
		a->f.user = arg;
		return 0;
	}
	return -1;
}

/* 0 to run, 1 for --help, -1 on bad usage (said on stderr). */
static int
parse_args(int argc, char **argv, const char *allowed, struct audit_args *a)
{
	int c;

	/* NULL: the default sockets, tried in turn (note_connect). */
	if ((a->socket = getenv("MWG_CONTROL")) != NULL && *a->socket == '\0')
		a->socket = NULL;
	optind = 0;	/* glibc: start afresh, even if called before */
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":s:h", audit_opts, NULL)) != -1) {
		if (c == '?')
			return usage_error(a, "unknown option",
			    argv[optind - 1]);
		if (c == ':')
			return usage_error(a, "this option needs a value:",
			    argv[optind - 1]);
		if (c == 'h')
			return 1;
		if (strchr(allowed, c) == NULL) {
			fprintf(stderr, "mwgctl: audit %s: --%s is not an "
			    "option of this verb (see mwgctl audit %s "
			    "--help)\n", a->verb, option_name(c), a->verb);
			return -1;
		}
		if (set_option(a, c, optarg) == -1)
			return -1;
	}
	a->files = argv + optind;
	a->nfiles = argc - optind;
	if (a->nfiles == 0)
		return usage_error(a, "which files? (give at least one)",
		    NULL);
	if (a->f.since && a->f.until && a->f.since >= a->f.until)
		return usage_error(a, "--since must be before --until", NULL);
	return 0;
}

/* Runs parse_args and answers --help and bad usage: -1 to go on. */
static int
parse_or_exit(int argc, char **argv, const char *allowed,
    struct audit_args *a)
{
	int r = parse_args(argc, argv, allowed, a);

	if (r == 1) {
		fputs(a->help, stdout);
		return ADMIN_EXIT_OK;
	}
	return r == -1 ? ADMIN_EXIT_USAGE : -1;
}

/* ---- verify ------------------------------------------------------------ */

/* audit.key.pub beside the first file if there is one. */
static const char *
default_key(const char *file, char *buf, size_t len)
{
	const char *slash = strrchr(file, '/');
	int n;

	if (slash == NULL)
		n = snprintf(buf, len, "%s", AUDIT_PUB_NAME);
	else
		n = snprintf(buf, len, "%.*s/%s", (int)(slash - file), file,
		    AUDIT_PUB_NAME);
	if (n > 0 && (size_t)n < len && access(buf, F_OK) == 0)
		return buf;
	return AUDIT_PUB_DEFAULT;
}

/* Loads each path into keys[]; -1 (said on stderr) if one cannot be. */
static int
load_keys(const char *const *paths, size_t n, struct audit_key **keys)
{
	char err[512];

	for (size_t i = 0; i < n; i++)
		if ((keys[i] = audit_key_load(paths[i], err, sizeof(err))) ==
		    NULL) {
			fprintf(stderr, "mwgctl: audit verify: %s\n", err);
			return -1;
		}
	return 0;
}

/* One chain's line: OK or FAIL, naming its node if its records do. */
static void
verify_report(const struct audit_chain_files *c,
    const struct audit_verify_result *r, unsigned long long redacted,
    int say_key)
{
	unsigned long long unsealed;

	if (!r->ok) {
		printf("FAIL: %s%s%s%s:%llu: seq %llu: %s\n", c->node[0] ?
		    "node " : "", c->node, c->node[0] ? ": " : "", r->bad_file,
		    r->bad_line, r->bad_seq, r->reason);
		return;
	}
	/* A checkpoint seals the records before it, not itself. */
	unsealed = r->checkpoints ? r->last_seq - r->sealed_seq - 1 :
	    r->records;
	printf("OK: %llu records%s%s (seq %llu..%llu) in %zu files, %llu "
	    "checkpoints, sealed through seq %llu", r->records, c->node[0] ?
	    " of node " : "", c->node, r->first_seq, r->last_seq, c->npaths,
	    r->checkpoints, r->sealed_seq);
	if (say_key && r->key_id[0] != '\0')
		printf(" by key %s", r->key_id);
	printf("; %llu unsealed at the end", unsealed);
	if (redacted > 0)
		printf("; %llu records redacted", redacted);
	putchar('\n');
}

/*
 * One chain against the keys given (--key), else the audit.key.pub
 * beside its first file: 1 if it verifies, 0 if not, -1 if no key.
 */
static int
verify_one(const struct audit_chain_files *c, struct audit_key **keys,
    size_t nkeys)
{
	struct audit_verify_result r;
	struct audit_key *own = NULL;
	unsigned long long redacted = 0;
	const char *path;
	char buf[4096];

	if (nkeys == 0) {
		path = default_key(c->paths[0], buf, sizeof(buf));
		if (load_keys(&path, 1, &own) == -1)
			return -1;
	}
	audit_verify_chain(c, (const struct audit_key *const *)(own ? &own :
	    keys), own ? 1 : nkeys, &r, &redacted);
	audit_key_free(own);
	verify_report(c, &r, redacted, nkeys > 1);
	return r.ok;
}

static int
audit_cmd_verify(int argc, char **argv)
{
	struct audit_args a = { .verb = "verify", .help = verify_help };
	struct audit_chain_files *chains = NULL;
	struct audit_key **keys;
	size_t nchains = 0, failed = 0;
	char err[1024];
	int rc, ok = 0;

	a.keys = xcalloc((size_t)argc, sizeof(*a.keys));
	keys = xcalloc((size_t)argc, sizeof(*keys));
	if ((rc = parse_or_exit(argc, argv, "k", &a)) != -1)
		goto done;
	rc = ADMIN_EXIT_FAIL;
	if (load_keys(a.keys, a.nkeys, keys) == -1)
		goto done;
	if ((chains = audit_chains_group((const char *const *)a.files,
	    (size_t)a.nfiles, &nchains, err, sizeof(err))) == NULL) {
		fprintf(stderr, "mwgctl: audit verify: %s\n", err);
		goto done;
	}
	for (size_t i = 0; i < nchains; i++) {
		if ((ok = verify_one(&chains[i], keys, a.nkeys)) == -1)
			goto done;
		failed += ok == 0;
	}
	if (nchains > 1)
		printf("%zu chains (one per node): %zu verify, %zu fail\n",
		    nchains, nchains - failed, failed);
	rc = failed ? ADMIN_EXIT_FAIL : ADMIN_EXIT_OK;
done:
	audit_chains_free(chains, nchains);
	for (size_t i = 0; i < a.nkeys; i++)
		audit_key_free(keys[i]);
	free(keys);
	free(a.keys);
	return rc;
}

/* ---- the audit note: mwgd records who read what ------------------------ */

static json_t *
note_filter(const struct audit_args *a)
{
	const char *keys[] = { "user", "practice", "event", "since", "until" };
	const char *vals[] = { a->f.user, a->f.practice, a->f.event, a->since,
	    a->until };
	json_t *f = json_object(), *v;

	for (size_t i = 0; f != NULL && i < sizeof(keys) / sizeof(keys[0]);
	    i++) {
		if (vals[i] == NULL)
			continue;
		/* NULL for text that is not UTF-8: it could match nothing. */
		if ((v = json_string(vals[i])) == NULL ||
		    json_object_set_new(f, keys[i], v) == -1) {
			json_decref(f);
			return NULL;
		}
	}
	return f;
}

/*
 * A connection for an audit note, its socket's path in *path. -s or
 * $MWG_CONTROL names one socket. Otherwise a query or an export tries the
 * audit-control socket first (all the cyber team's group can reach),
 * then the control socket; a prune needs the control socket. -1 with
 * every attempt's error in err.
 */
static int
note_connect(const struct audit_args *a, const char *action,
    const char **path, char *err, size_t errlen)
{
	const char *paths[2] = { ADMIN_CTL_AUDIT_DEFAULT, ADMIN_CTL_DEFAULT };
	size_t first = 0, used = 0;
	int fd;

	if (a->socket != NULL)
		paths[first = 1] = a->socket;
	else if (strcmp(action, "audit.prune") == 0)
		first = 1;
	err[0] = '\0';
	for (size_t i = first; i < 2; i++) {
		if ((fd = admin_ctl_connect(paths[i])) != -1) {
			*path = paths[i];
			return fd;
		}
		used += (size_t)snprintf(err + used, used < errlen ?
		    errlen - used : 0, "%smwgd at %s: %s", used ? "; " : "",
		    paths[i], strerror(errno));
		if (used >= errlen)
			used = errlen - 1;
	}
	return -1;
}

/* Asks mwgd to record this query or export: 0 once it has, or -1. */
static int
note_send(const struct audit_args *a, const char *action,
    unsigned long long records, char *err, size_t errlen)
{
	json_t *filter = note_filter(a), *req, *ans;
	const char *why, *path = NULL;
	int fd, rc = -1;

	if (filter == NULL) {
		snprintf(err, errlen, "the filter is not valid UTF-8");
		return -1;
	}
	req = json_pack("{s:s, s:s, s:o, s:I}", "cmd", "audit-note",
	    "action", action, "filter", filter, "records",
	    (json_int_t)records);
	if (req == NULL) {
		snprintf(err, errlen, "cannot build the request");
		return -1;
	}
	if ((fd = note_connect(a, action, &path, err, errlen)) == -1) {
		json_decref(req);
		return -1;
	}
	ans = admin_ctl_exchange(fd, path, req, err, errlen);
	close(fd);
	json_decref(req);
	if (json_is_true(json_object_get(ans, "ok")))
		rc = 0;
	else if (ans != NULL) {
		why = json_string_value(json_object_get(ans, "error"));
		snprintf(err, errlen, "mwgd at %s: %s", path,
		    why != NULL ? why : "no valid answer");
	}
	json_decref(ans);
	return rc;
}

/* ---- query and export: one scan, shown in one of three ways ------------ */

enum emit { EMIT_NONE, EMIT_HUMAN, EMIT_LINE, EMIT_CSV };

/* A field for a terminal: "-" if absent, control bytes shown as '?'. */
static char *
shown(json_t *rec, const char *key, char *buf, size_t len)
{
	json_t *v = json_object_get(rec, key);

	if (json_is_integer(v))
		snprintf(buf, len, "%lld", (long long)json_integer_value(v));
	else
		snprintf(buf, len, "%s", json_string_length(v) > 0 ?
		    json_string_value(v) : "-");
	for (char *p = buf; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	return buf;
}

static void
human_row(json_t *rec)
{
	char ts[HUMAN_FIELD_MAX], node[HUMAN_FIELD_MAX], act[HUMAN_FIELD_MAX],
	    out[HUMAN_FIELD_MAX],
	    user[HUMAN_FIELD_MAX], dev[HUMAN_FIELD_MAX], org[HUMAN_FIELD_MAX],
	    dst[HUMAN_FIELD_MAX], src[HUMAN_FIELD_MAX], why[HUMAN_REASON_MAX],
	    who[2 * HUMAN_FIELD_MAX];

	shown(rec, "user.name", user, sizeof(user));
	shown(rec, "device.id", dev, sizeof(dev));
	if (strcmp(dev, "-") == 0)
		snprintf(who, sizeof(who), "%s", user);
	else
		snprintf(who, sizeof(who), "%s/%s", user, dev);
	printf("%-24s %-12s %-16s %-7s %-24s %-7s %-24s %-15s %s\n",
	    shown(rec, "@timestamp", ts, sizeof(ts)),
	    shown(rec, "observer.name", node, sizeof(node)),
	    shown(rec, "event.action", act, sizeof(act)),
	    shown(rec, "event.outcome", out, sizeof(out)), who,
	    shown(rec, "organization.id", org, sizeof(org)),
	    shown(rec, "destination.address", dst, sizeof(dst)),
	    shown(rec, "source.ip", src, sizeof(src)),
	    shown(rec, "event.reason", why, sizeof(why)));
}

static void
emit_record(enum emit emit, json_t *rec, const char *line, size_t len)
{
	if (emit == EMIT_HUMAN)
		human_row(rec);
	else if (emit == EMIT_LINE)
		fwrite(line, 1, len, stdout);	/* checked by ferror later */
	else if (emit == EMIT_CSV)
		audit_csv_row(stdout, rec);
}

/*
 * Counts (with emit, shows) the matching records of every chain, merged
 * in time order, at most max[i] of chain i (max NULL: all), counted[i]
 * on return. Lines
 * that are not records are skipped: verify is for those.
 */
static int
scan(const struct audit_args *a, const struct audit_chain_files *chains,
    size_t nchains, enum emit emit, const unsigned long long *max,
    unsigned long long *counted)
{
	struct audit_merge *m = audit_merge_new(chains, nchains);
	struct audit_merge_item it;
	char err[1024];
	int r;

	memset(counted, 0, nchains * sizeof(*counted));
	for (size_t i = 0; max != NULL && i < nchains; i++)
		if (max[i] == 0)
			audit_merge_stop(m, i);
	while ((r = audit_merge_next(m, &it, err, sizeof(err))) == 1) {
		if (it.rec == NULL && emit != EMIT_NONE)
			fprintf(stderr, "mwgctl: audit %s: %s:%llu: not a "
			    "record, skipped\n", a->verb, it.path, it.lineno);
		if (it.rec == NULL || !audit_filter_match(&a->f, it.rec))
			continue;
		emit_record(emit, it.rec, it.line, it.len);
		/* A file that grows meanwhile shows no more than counted. */
		if (++counted[it.chain] == (max ? max[it.chain] : 0))
			audit_merge_stop(m, it.chain);
	}
	audit_merge_free(m);
	if (r == -1)
		fprintf(stderr, "mwgctl: audit %s: %s\n", a->verb, err);
	return r;
}

/*
 * Counts the matches, has mwgd record the query or export with that
 * count, and only then shows them. A file that grows meanwhile (the live
 * one) shows no more than was counted.
 */
static int
recorded_output(const struct audit_args *a, const char *action,
    const char *noun, const char *nothing, enum emit emit)
{
	struct audit_chain_files *chains;
	unsigned long long *count, *shown_count, total = 0;
	size_t nchains;
	char err[1024];
	int rc = ADMIN_EXIT_FAIL;

	if ((chains = audit_chains_group((const char *const *)a->files,
	    (size_t)a->nfiles, &nchains, err, sizeof(err))) == NULL) {
		fprintf(stderr, "mwgctl: audit %s: %s\n", a->verb, err);
		return ADMIN_EXIT_FAIL;
	}
	count = xcalloc(nchains, sizeof(*count));
	shown_count = xcalloc(nchains, sizeof(*shown_count));
	if (scan(a, chains, nchains, EMIT_NONE, NULL, count) == -1)
		goto done;
	for (size_t i = 0; i < nchains; i++)
		total += count[i];
	if (note_send(a, action, total, err, sizeof(err)) == -1) {
		if (!a->unrecorded) {
			fprintf(stderr, "mwgctl: audit %s: cannot record this "
			    "%s in the audit trail (%s); %s\n", a->verb, noun,
			    err, nothing);
			goto done;
		}
		fprintf(stderr, "mwgctl: audit %s: warning: this %s is not "
		    "recorded in the audit trail (%s)\n", a->verb, noun, err);
	}
	if (emit == EMIT_CSV)
		audit_csv_row(stdout, NULL);
	if (scan(a, chains, nchains, emit, count, shown_count) == -1)
		goto done;
	if (fflush(stdout) == EOF || ferror(stdout)) {
		fprintf(stderr, "mwgctl: audit %s: cannot write the output: "
		    "%s\n", a->verb, strerror(errno));
		goto done;
	}
	rc = ADMIN_EXIT_OK;
done:
	free(count);
	free(shown_count);
	audit_chains_free(chains, nchains);
	return rc;
}

static int
audit_cmd_query(int argc, char **argv)
{
	struct audit_args a = { .verb = "query", .help = query_help };
	int rc;

	if ((rc = parse_or_exit(argc, argv, "peSUujsr", &a)) != -1)
		return rc;
	return recorded_output(&a, "audit.query", "query", "nothing shown",
	    a.as_json ? EMIT_LINE : EMIT_HUMAN);
}

static int
audit_cmd_export(int argc, char **argv)
{
	struct audit_args a = { .verb = "export", .help = export_help };
	enum emit emit;
	int rc;

	if ((rc = parse_or_exit(argc, argv, "pSUufsr", &a)) != -1)
		return rc;
	if ((a.f.practice == NULL) == (a.f.user == NULL)) {
		usage_error(&a, "give exactly one of --practice and --user",
		    NULL);
		return ADMIN_EXIT_USAGE;
	}
	if (a.format == NULL || strcmp(a.format, "jsonl") == 0)
		emit = EMIT_LINE;
	else if (strcmp(a.format, "csv") == 0)
		emit = EMIT_CSV;
	else {
		usage_error(&a, "--format is jsonl or csv, not", a.format);
		return ADMIN_EXIT_USAGE;
	}
	return recorded_output(&a, "audit.export", "export",
	    "nothing exported", emit);
}

/* ---- prune ------------------------------------------------------------- */

/* The seq of path's first record, for the report; 0 if unreadable. */
static unsigned long long
first_seq(const char *path)
{
	char *buf = NULL;
	size_t cap = 0;
	json_int_t seq = 0;
	json_t *rec;
	FILE *f;

	if ((f = fopen(path, "re")) == NULL)
		return 0;
	if (getline(&buf, &cap, f) > 0 &&
	    (rec = json_loads(buf, JSON_DISABLE_EOF_CHECK, NULL)) != NULL) {
		seq = json_integer_value(json_object_get(rec, "seq"));
		json_decref(rec);
	}
	free(buf);
	fclose(f);
	return seq > 0 ? (unsigned long long)seq : 0;
}

/* --before alone: whole records, cut at a checkpoint. */
static unsigned long long prune_total;	/* records removed or redacted */

static int
prune_before(const struct audit_args *a)
{
	char err[1024];
	long long n;

	for (int i = 0; i < a->nfiles; i++) {
		if ((n = audit_prune(a->files[i], a->before, err,
		    sizeof(err))) == -1) {
			fprintf(stderr, "mwgctl: audit prune: %s\n", err);
			return ADMIN_EXIT_FAIL;
		}
		prune_total += (unsigned long long)n;
		if (n == 0)
			printf("%s: 0 records removed\n", a->files[i]);
		else
			printf("%s: %lld records removed, kept from seq %llu "
			    "(checkpoint)\n", a->files[i], n,
			    first_seq(a->files[i]));
	}
	return ADMIN_EXIT_OK;
}

static const char *
utc(time_t t, char *buf, size_t len)
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, len, "%lld", (long long)t);
	return buf;
}

/* --practice P --before DATE: P's records become stubs. */
static int
prune_practice(const struct audit_args *a)
{
	char err[1024], reason[128], day[32];
	long long n;

	snprintf(reason, sizeof(reason), "mwgctl audit prune --practice: "
	    "before %s", utc(a->before, day, sizeof(day)));
	for (int i = 0; i < a->nfiles; i++) {
		if ((n = audit_redact(a->files[i], a->f.practice, a->before,
		    reason, err, sizeof(err))) == -1) {
			fprintf(stderr, "mwgctl: audit prune: %s\n", err);
			return ADMIN_EXIT_FAIL;
		}
		prune_total += (unsigned long long)n;
		printf("%s: %lld records of %s redacted\n", a->files[i], n,
		    a->f.practice);
	}
	return ADMIN_EXIT_OK;
}

/* --retention: each practice's own, as of --now. */
static int
prune_retention(struct audit_args *a)
{
	const struct audit_retention *r;
	char err[1024], day[32];
	unsigned longest = 0;
	long long removed;

	a->rules[0].months = a->retention;
	for (size_t i = 0; i < a->nrules; i++)
		if (a->rules[i].months > longest)
			longest = a->rules[i].months;
	for (int i = 0; i < a->nfiles; i++) {
		if (audit_retain(a->files[i], a->rules, a->nrules, a->now,
		    &removed, err, sizeof(err)) == -1) {
			fprintf(stderr, "mwgctl: audit prune: %s\n", err);
			return ADMIN_EXIT_FAIL;
		}
		prune_total += (unsigned long long)removed;
		printf("%s: %lld records removed (before %s, %u months)",
		    a->files[i], removed, utc(audit_months_before(a->now,
		    longest), day, sizeof(day)), longest);
		if (removed > 0)
			printf(", kept from seq %llu (checkpoint)",
			    first_seq(a->files[i]));
		putchar('\n');
		for (size_t j = 1; j <= a->nrules; j++) {
			r = &a->rules[j % a->nrules];	/* default last */
			if (r->months == longest)
				continue;
			prune_total += (unsigned long long)r->redacted;
			printf("%s: %lld records %s%s redacted (before %s, %u "
			    "months)\n", a->files[i], r->redacted, r->practice ?
			    "of " : "under the default", r->practice ?
			    r->practice : "", utc(r->cut, day, sizeof(day)),
			    r->months);
		}
	}
	return ADMIN_EXIT_OK;
}

/*
 * Removing records is recorded too, when mwgd can be reached: prune works
 * on files and must work without the daemon, so it only warns if not.
 */
static void
prune_note(const struct audit_args *a)
{
	char err[512];

	if (note_send(a, "audit.prune", prune_total, err, sizeof(err)) == -1)
		fprintf(stderr, "mwgctl: audit prune: warning: not recorded in "
		    "the audit trail (%s)\n", err);
}

static int
audit_cmd_prune(int argc, char **argv)
{
	struct audit_args a = { .verb = "prune", .help = prune_help };
	int rc;

	/* The default and at most one rule per argument. */
	a.rules = xcalloc((size_t)argc + 1, sizeof(*a.rules));
	a.nrules = 1;
	if ((rc = parse_or_exit(argc, argv, "bpRPN", &a)) != -1)
		goto done;
	rc = ADMIN_EXIT_USAGE;
	if (a.retention == 0 && (a.nrules > 1 || a.now != 0))
		usage_error(&a, "--practice-retention and --now need "
		    "--retention", NULL);
	else if (a.retention != 0 && (a.before != 0 || a.f.practice != NULL))
		usage_error(&a, "--retention works out the dates itself: give "
		    "no --before or --practice", NULL);
	else if (a.retention == 0 && a.before == 0)
		usage_error(&a, "--before DATE or --retention MONTHS is "
		    "required", NULL);
	else if (a.retention != 0) {
		if (a.now == 0)
			a.now = time(NULL);
		rc = prune_retention(&a);
	} else
		rc = a.f.practice ? prune_practice(&a) : prune_before(&a);
	if (rc == ADMIN_EXIT_OK)
		prune_note(&a);
done:
	for (size_t i = 1; i < a.nrules; i++)
		free((char *)a.rules[i].practice);
	free(a.rules);
	return rc;
}

int
admin_audit(int argc, char **argv)
{
	static const struct {
		const char *verb;
		int (*fn)(int, char **);
	} verbs[] = {
		{ "verify", audit_cmd_verify },
		{ "query", audit_cmd_query },
		{ "export", audit_cmd_export },
		{ "prune", audit_cmd_prune },
	};

	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0)) {
		fputs(audit_usage, stdout);
		return ADMIN_EXIT_OK;
	}
	for (size_t i = 0; argc >= 2 && i < sizeof(verbs) / sizeof(verbs[0]);
	    i++)
		if (strcmp(argv[1], verbs[i].verb) == 0)
			return verbs[i].fn(argc - 1, argv + 1);
	if (argc >= 2)
		fprintf(stderr, "mwgctl: audit: unknown verb '%s'\n", argv[1]);
	fputs(audit_usage, stderr);
	return ADMIN_EXIT_USAGE;
}

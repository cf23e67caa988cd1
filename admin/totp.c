/*
 * mwgctl totp enrol | import: TOTP secrets live only in mwgd's store. enrol
 * asks mwgd for a new secret and shows it once (otpauth:// URI and QR
 * code); import moves the time-based entries of a pam_oath users file over.
 */
#include "admin/admin.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "admin/qr.h"
#include "certs/certs.h"
#include "common/xmalloc.h"

#define TOTP_ISSUER_DEFAULT	"mwg"
#define TOTP_ISSUER_MAX		64	/* bytes in --issuer */
#define TOTP_B32_MIN		16	/* base32 of an 80-bit secret */
#define TOTP_B32_MAX		104	/* base32 of a 64-byte secret */
#define TOTP_FILE_MAX		(4 * 1024 * 1024)	/* a users file */
#define TOTP_FIELDS_MAX		7	/* 4 of ours, 3 that pam_oath keeps */
#define TOTP_SECRET_MIN		10	/* bytes: 80 bits, the usual floor */
#define TOTP_SECRET_MAX		64	/* bytes: what mwgd's store keeps */
#define TOTP_DIGITS_MIN		6
#define TOTP_DIGITS_MAX		8
#define TOTP_PERIOD_MAX		300	/* seconds per step */
/*
 * Entries per totp-import request. mwgd reads request lines of at most
 * 64 KiB; an entry is at most ~250 bytes (63-byte user, 128 hex digits),
 * so 200 stay well inside. A file with more is sent in several requests.
 */
#define TOTP_BATCH		200

static const char totp_usage[] =
"usage: mwgctl totp enrol USER [--issuer NAME] [--no-qr] [--json]\n"
"       mwgctl totp import FILE\n"
"       mwgctl totp list [--json] | totp remove USER\n";

static const char totp_help[] =
"NAME\n"
"     mwgctl totp - enrol or import a person's TOTP secret\n"
"\n"
"SYNOPSIS\n"
"     mwgctl [-s SOCKET] totp enrol USER [--issuer NAME] [--no-qr] [--json]\n"
"     mwgctl [-s SOCKET] totp import FILE\n"
"     mwgctl [-s SOCKET] totp list [--json]\n"
"     mwgctl [-s SOCKET] totp remove USER [--json]\n"
"\n"
"     (list and remove: see mwgctl totp list --help)\n"
"\n"
"DESCRIPTION\n"
"     A login needs the person's PAM password and a TOTP code (RFC 6238).\n"
"     The TOTP secrets are kept by mwgd only, encrypted in its state store;\n"
"     these commands ask the running mwgd over its control socket, which\n"
"     records each one in the audit trail with your OS user.\n"
"\n"
"     enrol USER\n"
"             mwgd makes a new random 160-bit secret for USER (SHA-1, 6\n"
"             digits, 30-second steps), replacing any secret USER had:\n"
"             codes from an old authenticator stop working at once. mwgctl\n"
"             prints the otpauth:// URI and the same URI as a QR code for\n"
"             the person to scan with an authenticator app. The secret is\n"
"             shown this once and written nowhere else: clear the screen and\n"
"             the scrollback when the person has scanned it.\n"
"\n"
"     import FILE\n"
"             Reads a pam_oath users file, one token a line:\n"
"\n"
"                 HOTP/T30 alice - 3132333435363738393031323334353637383930\n"
"\n"
"             TYPE USER PIN SECRET, then optional fields pam_oath keeps\n"
"             (ignored). TYPE must be time-based: HOTP/T30, HOTP/T30/6,\n"
"             HOTP/T60/8 (step in seconds, 1 to 300; digits 6 to 8, default\n"
"             6). Counter-based tokens (HOTP, HOTP/E) are refused: mwg only\n"
"             does TOTP. PIN must be '-': mwg checks the PAM password\n"
"             instead of a token PIN. SECRET is hex, 10 to 64 bytes. One\n"
"             line per person; '#' starts a comment line.\n"
"\n"
"             The whole file is checked first and every error is printed as\n"
"             FILE:LINE: what; then nothing is sent. Otherwise every entry\n"
"             is stored, replacing the person's secret if there was one.\n"
"\n"
"OPTIONS\n"
"     --issuer NAME\n"
"             The name the authenticator app shows beside the account\n"
"             (default \"mwg\"); up to 64 bytes, no ':' or control\n"
"             characters.\n"
"     --no-qr Print the URI only, for a person typing the secret by hand.\n"
"     --json  Print mwgd's answer as JSON, with the URI as \"uri\", and no\n"
"             QR code. It holds the secret: do not keep it.\n"
"     --help  Print this help and exit.\n"
"\n"
"EXIT STATUS\n"
"     0 done; 1 refused or failed, with the reason on stderr (for import,\n"
"     one line per error in the file); 2 bad usage.\n"
"\n"
"EXAMPLES\n"
"     mwgctl totp enrol alice --issuer \"Banbury Cross HC\"\n"
"     mwgctl totp import /etc/users.oath\n";

struct totp_entry {
	char user[CERTS_ID_MAX];
	char secret_hex[2 * TOTP_SECRET_MAX + 1];	/* lowercase */
	unsigned int digits;
	unsigned int period;
	int line;
};

struct totp_file {
	struct totp_entry *v;
	size_t n;
	size_t cap;
};

/* The errors in a file, kept to be printed in line order. */
struct totp_notes {
	struct totp_note {
		int line;
		char *msg;
	} *v;
	size_t n;
};

static void totp_note(struct totp_notes *, int, const char *, ...)
    __attribute__((format(printf, 3, 4)));

static void
totp_note(struct totp_notes *notes, int line, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	notes->v = xreallocarray(notes->v, notes->n + 1, sizeof(*notes->v));
	notes->v[notes->n].line = line;
	notes->v[notes->n++].msg = xstrdup(msg);
}

static int
totp_by_line(const void *a, const void *b)
{
	const struct totp_note *x = a, *y = b;

	return (x->line > y->line) - (x->line < y->line);
}

/* Prints the notes as NAME:LINE: what, by line (one note a line at most),
 * and frees them. Returns how many there were. */
static size_t
totp_notes_flush(struct totp_notes *notes, const char *name, FILE *errs)
{
	size_t n = notes->n;

	if (n > 0)
		qsort(notes->v, n, sizeof(*notes->v), totp_by_line);
	for (size_t i = 0; i < n; i++) {
		fprintf(errs, "%s:%d: %s\n", name, notes->v[i].line,
		    notes->v[i].msg);
		free(notes->v[i].msg);
	}
	free(notes->v);
	notes->v = NULL;
	notes->n = 0;
	return n;
}

/* s for an error message: at most 32 bytes, other than printable ASCII
 * shown as '?'. Never used on a secret or a PIN. */
static const char *
totp_shown(const char *s, char buf[40])
{
	size_t i;

	for (i = 0; s[i] != '\0' && i < 32; i++)
		buf[i] = s[i] > 0x20 && s[i] < 0x7f ? s[i] : '?';
	strcpy(buf + i, s[i] != '\0' ? "..." : "");
	return buf;
}

/* ---- otpauth:// URIs ---------------------------------------------------- */

/* RFC 3986 §2.3: everything but the unreserved characters is %XX. */
static char *
totp_pct(char *out, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~')
			*out++ = (char)c;
		else {
			*out++ = '%';
			*out++ = hex[c >> 4];
			*out++ = hex[c & 15];
		}
	}
	*out = '\0';
	return out;
}

/*
 * The Key Uri Format of Google Authenticator, which the other apps read:
 * otpauth://totp/ISSUER:USER?secret=B32&issuer=ISSUER&algorithm=..&digits=
 * ..&period=.. with the label parts and the issuer percent-encoded (the
 * ':' between them stays literal). Caller wipes and frees.
 */
static char *
totp_uri(const char *issuer, const char *user, const char *secret,
    const char *algorithm, int digits, int period)
{
	size_t max = 3 * (2 * strlen(issuer) + strlen(user)) + strlen(secret) +
	    strlen(algorithm) + 128;
	char *uri = xmalloc(max), *p;

	p = stpcpy(uri, "otpauth://totp/");
	p = totp_pct(p, issuer);
	*p++ = ':';
	p = totp_pct(p, user);
	p = stpcpy(stpcpy(p, "?secret="), secret);
	p = totp_pct(stpcpy(p, "&issuer="), issuer);
	snprintf(p, max - (size_t)(p - uri),
	    "&algorithm=%s&digits=%d&period=%d", algorithm, digits, period);
	return uri;
}

/* 0 if issuer fits the label: 1..64 bytes, no ':' (it splits the label)
 * and no control characters. */
static int
totp_issuer_valid(const char *issuer)
{
	size_t len = strlen(issuer);

	if (len == 0 || len > TOTP_ISSUER_MAX)
		return -1;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)issuer[i] < 0x20 || issuer[i] == 0x7f ||
		    issuer[i] == ':')
			return -1;
	return 0;
}

/* 0 if the answer's secret is RFC 4648 base32 of a sensible length. */
static int
totp_b32_valid(const char *s)
{
	size_t len = s != NULL ? strlen(s) : 0;

	if (len < TOTP_B32_MIN || len > TOTP_B32_MAX)
		return -1;
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '2' && s[i] <= '7')))
			return -1;
	return 0;
}

/* Overwrites a string held by jansson (it owns a writable copy). */
static void
totp_json_wipe(json_t *str)
{
	if (json_is_string(str))
		explicit_bzero((char *)json_string_value(str),
		    json_string_length(str));
}

/* ---- totp enrol --------------------------------------------------------- */

static int
totp_enrol_show(const char *uri, json_t *ans, int no_qr, int as_json)
{
	char *qr;

	if (as_json) {
		json_object_set_new(ans, "uri", json_string(uri));
		admin_json_print(ans);
		totp_json_wipe(json_object_get(ans, "uri"));
		return ADMIN_EXIT_OK;
	}
	printf("%s\n", uri);
	if (!no_qr) {
		if ((qr = qr_render(uri, qr_colour_wanted(STDOUT_FILENO))) ==
		    NULL) {
			fprintf(stderr, "mwgctl: totp enrol: cannot draw the "
			    "QR code: %s (use the URI above)\n",
			    strerror(errno));
			return ADMIN_EXIT_FAIL;
		}
		printf("\n%s\n", qr);
		freezero_mwg(qr, strlen(qr));
	}
	return ADMIN_EXIT_OK;
}

/* Checks mwgd's answer, then shows the secret once. */
static int
totp_enrol_answer(json_t *ans, const char *user, const char *issuer,
    int no_qr, int as_json)
{
	json_t *secret = json_object_get(ans, "secret");
	const char *alg = json_string_value(json_object_get(ans, "algorithm"));
	json_int_t digits = json_integer_value(json_object_get(ans, "digits"));
	json_int_t period = json_integer_value(json_object_get(ans, "period"));
	const char *who = json_string_value(json_object_get(ans, "user"));
	char *uri;
	int rc;

	if (who != NULL && strcmp(who, user) != 0)
		return admin_ctl_malformed("totp enrol", "another user");
	if (totp_b32_valid(json_string_value(secret)) == -1)
		return admin_ctl_malformed("totp enrol", "secret");
	if (digits < TOTP_DIGITS_MIN || digits > TOTP_DIGITS_MAX ||
	    period < 1 || period > TOTP_PERIOD_MAX)
		return admin_ctl_malformed("totp enrol", "digits or period");
	if (alg == NULL || (strcmp(alg, "SHA1") && strcmp(alg, "SHA256") &&
	    strcmp(alg, "SHA512")))
		return admin_ctl_malformed("totp enrol", "algorithm");
	uri = totp_uri(issuer, user, json_string_value(secret), alg,
	    (int)digits, (int)period);
	rc = totp_enrol_show(uri, ans, no_qr, as_json);
	freezero_mwg(uri, strlen(uri));
	if (rc != ADMIN_EXIT_OK)
		return rc;
	if (json_is_true(json_object_get(ans, "replaced")))
		fprintf(stderr, "mwgctl: totp enrol: %s's previous secret is "
		    "replaced; codes from it no longer work\n", user);
	fprintf(stderr, "mwgctl: totp enrol: this secret is shown once: when "
	    "%s has scanned it, clear the screen and scrollback "
	    "(clear && printf '\\033[3J')\n", user);
	return ADMIN_EXIT_OK;
}

static int
totp_enrol(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "issuer",	required_argument,	NULL, 'i' },
		{ "no-qr",	no_argument,		NULL, 'n' },
		{ "json",	no_argument,		NULL, 'j' },
		{ "help",	no_argument,		NULL, 'h' },
		{ NULL,		0,			NULL, 0 },
	};
	const char *issuer = TOTP_ISSUER_DEFAULT, *user;
	int ch, no_qr = 0, as_json = 0, rc;
	json_t *ans;

	optind = 0;	/* glibc: full reset, argv is not the one main saw */
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (ch) {
		case 'i':
			issuer = optarg;
			break;
		case 'n':
			no_qr = 1;
			break;
		case 'j':
			as_json = 1;
			break;
		case 'h':
			fputs(totp_help, stdout);
			return ADMIN_EXIT_OK;
		default:
			return admin_bad_option("totp enrol", totp_usage, ch,
			    argv);
		}
	}
	if (argc - optind != 1)
		return admin_usage_error("totp enrol", totp_usage, "expected "
		    "one USER");
	user = argv[optind];
	if (certs_user_valid(user) == -1)
		return admin_usage_error("totp enrol", totp_usage, "invalid "
		    "user name (a-z, 0-9, '.', '_', '-'; 1 to 63, not starting "
		    "with '.' or '-')");
	if (totp_issuer_valid(issuer) == -1)
		return admin_usage_error("totp enrol", totp_usage, "--issuer "
		    "must be 1 to %d bytes without ':' or control characters",
		    TOTP_ISSUER_MAX);
	if ((ans = admin_ctl_request("totp enrol", json_pack("{s:s, s:s}",
	    "cmd", "totp-enrol", "user", user))) == NULL)
		return ADMIN_EXIT_FAIL;
	rc = totp_enrol_answer(ans, user, issuer, no_qr, as_json);
	totp_json_wipe(json_object_get(ans, "secret"));
	json_decref(ans);
	return rc;
}

/* ---- pam_oath users files ------------------------------------------------ */

/*
 * TYPE of a pam_oath line: "HOTP/T<step>[/<digits>]" is time-based and
 * taken; "HOTP", "HOTP/E", "HOTP/E/<digits>" count events and are not.
 * Returns 0, or -1 with why (a complete sentence) in buf.
 */
static int
totp_parse_type(const char *type, unsigned int *digits,
    unsigned int *period, char *why, size_t len)
{
	char shown[40], *end;
	unsigned long v;

	if (strcmp(type, "HOTP") == 0 || strncmp(type, "HOTP/E", 6) == 0) {
		snprintf(why, len, "counter-based token %s: mwg imports only "
		    "time-based entries (HOTP/T30, HOTP/T60/8, ...)",
		    totp_shown(type, shown));
		return -1;
	}
	if (strncmp(type, "HOTP/T", 6) != 0 || !isdigit((unsigned char)type[6]))
		goto bad;
	errno = 0;
	v = strtoul(type + 6, &end, 10);
	if (errno != 0 || v < 1 || v > TOTP_PERIOD_MAX) {
		snprintf(why, len, "time step in %s must be 1 to %d seconds",
		    totp_shown(type, shown), TOTP_PERIOD_MAX);
		return -1;
	}
	*period = (unsigned int)v;
	*digits = TOTP_DIGITS_MIN;
	if (*end == '\0')
		return 0;
	if (end[0] != '/' || end[1] < '0' || end[1] > '9' || end[2] != '\0')
		goto bad;
	if ((*digits = (unsigned int)(end[1] - '0')) < TOTP_DIGITS_MIN ||
	    *digits > TOTP_DIGITS_MAX) {
		snprintf(why, len, "%u digits in %s: 6 to 8 are supported",
		    *digits, totp_shown(type, shown));
		return -1;
	}
	return 0;
bad:
	snprintf(why, len, "unknown token type '%s': expected HOTP/T<seconds>"
	    "[/<digits>], e.g. HOTP/T30 or HOTP/T60/8",
	    totp_shown(type, shown));
	return -1;
}

/* SECRET into e->secret_hex, lowercased. The secret is never quoted. */
static int
totp_parse_secret(const char *hex, struct totp_entry *e, char *why,
    size_t len)
{
	size_t n = strlen(hex);

	for (size_t i = 0; i < n; i++)
		if (!isxdigit((unsigned char)hex[i])) {
			snprintf(why, len, "the secret for %s is not "
			    "hexadecimal", e->user);
			return -1;
		}
	if (n % 2 != 0 || n / 2 < TOTP_SECRET_MIN || n / 2 > TOTP_SECRET_MAX) {
		snprintf(why, len, "the secret for %s is %zu hex digits; %d "
		    "to %d bytes (an even count of %d to %d digits) are "
		    "accepted",
		    e->user, n, TOTP_SECRET_MIN, TOTP_SECRET_MAX,
		    2 * TOTP_SECRET_MIN, 2 * TOTP_SECRET_MAX);
		return -1;
	}
	for (size_t i = 0; i <= n; i++)
		e->secret_hex[i] = (char)tolower((unsigned char)hex[i]);
	return 0;
}

/*
 * One line, split in place. Returns 1 with *e filled, 0 for a blank or
 * comment line, -1 with why.
 */
static int
totp_parse_line(char *line, struct totp_entry *e, char *why, size_t len)
{
	char *field[TOTP_FIELDS_MAX + 1], *save = NULL, *tok, shown[40];
	size_t n = 0;

	for (tok = strtok_r(line, " \t\r", &save); tok != NULL && n <=
	    TOTP_FIELDS_MAX; tok = strtok_r(NULL, " \t\r", &save))
		field[n++] = tok;
	if (n == 0 || field[0][0] == '#')
		return 0;
	if (n < 4 || n > TOTP_FIELDS_MAX) {
		snprintf(why, len, "expected TYPE USER PIN SECRET (and at most "
		    "3 more fields), got %s%zu fields", n > TOTP_FIELDS_MAX ?
		    "more than " : "", n > TOTP_FIELDS_MAX ? n - 1 : n);
		return -1;
	}
	if (totp_parse_type(field[0], &e->digits, &e->period, why, len) == -1)
		return -1;
	if (certs_user_valid(field[1]) == -1) {
		snprintf(why, len, "invalid user name '%s' (a-z, 0-9, '.', "
		    "'_', '-'; 1 to 63, not starting with '.' or '-')",
		    totp_shown(field[1], shown));
		return -1;
	}
	strcpy(e->user, field[1]);	/* certs_user_valid: < CERTS_ID_MAX */
	if (strcmp(field[2], "-") != 0) {
		snprintf(why, len, "%s has a PIN; mwg checks the PAM password "
		    "instead: put '-' in the PIN field", e->user);
		return -1;
	}
	return totp_parse_secret(field[3], e, why, len) == -1 ? -1 : 1;
}

static void
totp_file_free(struct totp_file *f)
{
	freezero_mwg(f->v, f->cap * sizeof(*f->v));
	memset(f, 0, sizeof(*f));
}

static int
totp_by_user(const void *a, const void *b)
{
	const struct totp_entry *x = *(const struct totp_entry *const *)a;
	const struct totp_entry *y = *(const struct totp_entry *const *)b;
	int c = strcmp(x->user, y->user);

	return c != 0 ? c : (x->line > y->line) - (x->line < y->line);
}

/* A person on two lines: mwg keeps one secret each, so say where. Sorted,
 * not pairwise: a county's file has thousands of lines. */
static void
totp_duplicates(const struct totp_file *f, struct totp_notes *notes)
{
	const struct totp_entry **by;
	int *first;
	size_t i;

	if (f->n == 0)
		return;
	by = xreallocarray(NULL, f->n, sizeof(*by));
	first = xcalloc(f->n, sizeof(*first));

	for (i = 0; i < f->n; i++)
		by[i] = &f->v[i];
	qsort(by, f->n, sizeof(*by), totp_by_user);
	for (i = 1; i < f->n; i++)
		if (strcmp(by[i]->user, by[i - 1]->user) == 0)
			first[by[i] - f->v] = first[by[i - 1] - f->v] ?
			    first[by[i - 1] - f->v] : by[i - 1]->line;
	for (i = 0; i < f->n; i++)
		if (first[i] != 0)
			totp_note(notes, f->v[i].line, "%s already has a "
			    "secret at line %d (mwg keeps one per person)",
			    f->v[i].user, first[i]);
	free(by);
	free(first);
}

/* Appends e; grown by hand so that no old copy of a secret is left. */
static void
totp_file_add(struct totp_file *f, const struct totp_entry *e)
{
	struct totp_entry *v;

	if (f->n == f->cap) {
		v = xreallocarray(NULL, f->cap ? 2 * f->cap : 16, sizeof(*v));
		if (f->n > 0)
			memcpy(v, f->v, f->n * sizeof(*v));
		freezero_mwg(f->v, f->cap * sizeof(*f->v));
		f->v = v;
		f->cap = f->cap ? 2 * f->cap : 16;
	}
	f->v[f->n++] = *e;
}

/*
 * Parses a users file held in text (len bytes and room for a NUL after
 * them; modified in place). Adds the entries to f and prints each error
 * as "NAME:LINE: what" on errs, in line order. Returns the number of
 * errors; 0 means f holds at least one entry.
 */
static size_t
totp_parse_users(const char *name, char *text, size_t len,
    struct totp_file *f, FILE *errs)
{
	struct totp_notes notes = { NULL, 0 };
	struct totp_entry e;
	char why[256], *line = text, *nl;
	size_t errors;
	int lineno = 0, r;

	while (line < text + len) {
		lineno++;
		if ((nl = memchr(line, '\n', (size_t)(text + len - line))) ==
		    NULL)
			nl = text + len;
		*nl = '\0';
		if (strlen(line) != (size_t)(nl - line))
			r = -1, snprintf(why, sizeof(why), "NUL byte in line");
		else
			r = totp_parse_line(line, &e, why, sizeof(why));
		if (r == -1)
			totp_note(&notes, lineno, "%s", why);
		else if (r == 1) {
			e.line = lineno;
			totp_file_add(f, &e);
		}
		line = nl + 1;
	}
	explicit_bzero(&e, sizeof(e));
	totp_duplicates(f, &notes);
	if ((errors = totp_notes_flush(&notes, name, errs)) == 0 && f->n == 0) {
		fprintf(errs, "%s: no TOTP entries\n", name);
		errors++;
	}
	return errors;
}

/* Reads path whole (at most TOTP_FILE_MAX bytes) into *textp. */
static int
totp_read_file(const char *path, char **textp, size_t *lenp)
{
	struct stat st;
	char *text;
	ssize_t n;
	size_t len = 0;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1 ||
	    fstat(fd, &st) == -1) {
		fprintf(stderr, "mwgctl: totp import: %s: %s\n", path,
		    strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > TOTP_FILE_MAX) {
		fprintf(stderr, "mwgctl: totp import: %s: %s\n", path,
		    S_ISREG(st.st_mode) ? "larger than 4 MiB" :
		    "not a regular file");
		close(fd);
		return -1;
	}
	text = xmalloc((size_t)st.st_size + 1);
	while (len <= (size_t)st.st_size && (n = read(fd, text + len,
	    (size_t)st.st_size + 1 - len)) > 0)
		len += (size_t)n;
	close(fd);
	if (len > (size_t)st.st_size) {
		fprintf(stderr, "mwgctl: totp import: %s: changed while being "
		    "read\n", path);
		freezero_mwg(text, (size_t)st.st_size + 1);
		return -1;
	}
	*textp = text;
	*lenp = len;
	return 0;
}

/* The request for entries [from, from + n); the caller wipes and frees. */
static json_t *
totp_import_request(const struct totp_file *f, size_t from, size_t n)
{
	json_t *entries = json_array(), *e;

	for (size_t i = from; i < from + n; i++) {
		e = json_pack("{s:s, s:s, s:i, s:i}", "user", f->v[i].user,
		    "secret_hex", f->v[i].secret_hex, "digits",
		    (int)f->v[i].digits, "period", (int)f->v[i].period);
		if (e == NULL || json_array_append_new(entries, e) == -1) {
			json_decref(entries);
			return NULL;
		}
	}
	return json_pack("{s:s, s:o}", "cmd", "totp-import", "entries",
	    entries);
}

static void
totp_request_wipe(json_t *req)
{
	json_t *e;
	size_t i;

	json_array_foreach(json_object_get(req, "entries"), i, e)
		totp_json_wipe(json_object_get(e, "secret_hex"));
	json_decref(req);
}

/* Sends f in batches of TOTP_BATCH; 0 with the count in *imported. */
static int
totp_import_send(const struct totp_file *f, long long *imported)
{
	json_t *req, *ans, *count;
	size_t from, n;

	*imported = 0;
	for (from = 0; from < f->n; from += n) {
		n = f->n - from < TOTP_BATCH ? f->n - from : TOTP_BATCH;
		if ((req = totp_import_request(f, from, n)) == NULL) {
			fprintf(stderr, "mwgctl: totp import: cannot build the "
			    "request\n");
			return -1;
		}
		ans = admin_ctl_answer("totp import", admin_ctl_call(req));
		totp_request_wipe(req);
		if (ans == NULL)
			goto partial;
		count = json_object_get(ans, "imported");
		if (!json_is_integer(count) || json_integer_value(count) < 0) {
			admin_ctl_malformed("totp import", "imported");
			json_decref(ans);
			goto partial;
		}
		*imported += json_integer_value(count);
		json_decref(ans);
	}
	return 0;
partial:
	if (from > 0)
		fprintf(stderr, "mwgctl: totp import: %lld of %zu entries were "
		    "imported before this (lines up to %d); run the import "
		    "again once fixed: it replaces\n", *imported, f->n,
		    f->v[from - 1].line);
	return -1;
}

static int
totp_import(int argc, char **argv)
{
	struct totp_file f = { NULL, 0, 0 };
	long long imported;
	char *text;
	size_t len, errors;
	int rc;

	if (argc == 2 && (strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0)) {
		fputs(totp_help, stdout);
		return ADMIN_EXIT_OK;
	}
	if (argc != 2 || argv[1][0] == '-')
		return admin_usage_error("totp import", totp_usage, "expected "
		    "one FILE");
	if (totp_read_file(argv[1], &text, &len) == -1)
		return ADMIN_EXIT_FAIL;
	errors = totp_parse_users(argv[1], text, len, &f, stderr);
	freezero_mwg(text, len + 1);
	if (errors > 0) {
		fprintf(stderr, "mwgctl: totp import: %zu error%s in %s; "
		    "nothing was imported\n", errors, errors == 1 ? "" : "s",
		    argv[1]);
		totp_file_free(&f);
		return ADMIN_EXIT_FAIL;
	}
	rc = totp_import_send(&f, &imported);
	totp_file_free(&f);
	if (rc == -1)
		return ADMIN_EXIT_FAIL;
	printf("imported %lld secret%s\n", imported, imported == 1 ? "" : "s");
	return ADMIN_EXIT_OK;
}

int
admin_totp(int argc, char **argv)
{
	static const struct admin_cmd cmds[] = {
		{ "enrol",	totp_enrol },
		{ "import",	totp_import },
		{ "list",	admin_totp_list },
		{ "remove",	admin_totp_remove },
	};

	return admin_subcommand("totp", cmds, sizeof(cmds) / sizeof(cmds[0]),
	    totp_help, totp_usage, argc, argv);
}

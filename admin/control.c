/*
 * mwgctl status | sessions | kill ID | reload: one JSON request line to
 * mwgd's control socket, one JSON answer line back, shown for people.
 * Also the client side every live verb shares (totp, lock, enrol-code,
 * device): the call, the refusal line, and checks and formats for fields.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "admin/admin.h"
#include "common/addr.h"
#include "common/xmalloc.h"

#define CTL_ANSWER_MAX	(4 * 1024 * 1024)
#define CTL_TIMEOUT_S	30	/* mwgd itself gives up after 10 s */
#define CTL_ERR_MAX	512	/* bytes of why a call failed */

static const char usage_text[] =
"usage: mwgctl [-s SOCKET] status | sessions | kill ID | reload [--json]\n"
"    -s SOCKET   mwgd's control socket (default $MWG_CONTROL or "
ADMIN_CTL_DEFAULT ")\n";

int
admin_ctl_connect(const char *path)
{
	struct timeval tv = { CTL_TIMEOUT_S, 0 };
	int fd = addr_unix_connect(path);

	if (fd != -1) {
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	}
	return fd;
}

static int
ctl_send(int fd, const char *path, json_t *req, char *err, size_t errlen)
{
	char *text = json_dumps(req, JSON_COMPACT);
	int rc = 0;

	if (text == NULL) {
		snprintf(err, errlen, "cannot encode the request");
		return -1;
	}
	if (write(fd, text, strlen(text)) == -1 || write(fd, "\n", 1) == -1) {
		snprintf(err, errlen, "write to %s: %s", path, strerror(errno));
		rc = -1;
	}
	freezero_mwg(text, strlen(text));	/* may carry TOTP secrets */
	return rc;
}

/*
 * Reads the one answer line (up to CTL_ANSWER_MAX bytes, or to EOF from an
 * older mwgd). The buffer is wiped: answers may carry secrets.
 */
static json_t *
ctl_receive(int fd, char *err, size_t errlen)
{
	char *buf = xmalloc(CTL_ANSWER_MAX);
	size_t len = 0;
	ssize_t n = 0;
	json_error_t jerr;
	json_t *ans = NULL;

	while (len < CTL_ANSWER_MAX &&
	    (n = read(fd, buf + len, CTL_ANSWER_MAX - len)) > 0) {
		len += (size_t)n;
		if (memchr(buf + len - (size_t)n, '\n', (size_t)n) != NULL)
			break;
	}
	if (n == -1)
		snprintf(err, errlen, "no answer from mwgd: %s",
		    errno == EAGAIN ? "timed out" : strerror(errno));
	else if (len == 0 ||
	    (ans = json_loadb(buf, len, JSON_DISABLE_EOF_CHECK, &jerr)) == NULL)
		snprintf(err, errlen, "no valid answer from mwgd");
	freezero_mwg(buf, CTL_ANSWER_MAX);
	return ans;
}

json_t *
admin_ctl_exchange(int fd, const char *path, json_t *req, char *err,
    size_t errlen)
{
	if (ctl_send(fd, path, req, err, errlen) == -1)
		return NULL;
	return ctl_receive(fd, err, errlen);
}

/* Sends req, returns the decoded answer or NULL (message printed). */
static json_t *
ctl_call(const char *path, json_t *req)
{
	char err[CTL_ERR_MAX];
	json_t *ans;
	int fd;

	if ((fd = admin_ctl_connect(path)) == -1) {
		fprintf(stderr, "mwgctl: cannot reach mwgd at %s: %s\n", path,
		    strerror(errno));
		return NULL;
	}
	if ((ans = admin_ctl_exchange(fd, path, req, err, sizeof(err))) ==
	    NULL)
		fprintf(stderr, "mwgctl: %s\n", err);
	close(fd);
	return ans;
}

json_t *
admin_ctl_call(json_t *req)
{
	const char *path = getenv("MWG_CONTROL");

	return ctl_call(path != NULL && *path ? path : ADMIN_CTL_DEFAULT, req);
}

int
admin_ctl_refused(const char *verb, json_t *ans)
{
	const char *error = json_string_value(json_object_get(ans, "error"));

	if (error == NULL || *error == '\0')
		error = "refused (mwgd gave no reason)";
	fprintf(stderr, "mwgctl: %s: %s\n", verb, error);
	return ADMIN_EXIT_FAIL;
}

int
admin_ctl_malformed(const char *verb, const char *what)
{
	fprintf(stderr, "mwgctl: %s: mwgd sent a malformed answer (%s)\n",
	    verb, what);
	return ADMIN_EXIT_FAIL;
}

json_t *
admin_ctl_answer(const char *verb, json_t *ans)
{
	if (ans == NULL)
		return NULL;
	if (!json_is_object(ans))
		admin_ctl_malformed(verb, "not an object");
	else if (!json_is_true(json_object_get(ans, "ok")))
		admin_ctl_refused(verb, ans);
	else
		return ans;
	json_decref(ans);
	return NULL;
}

json_t *
admin_ctl_request(const char *verb, json_t *req)
{
	json_t *ans;

	if (req == NULL) {
		fprintf(stderr, "mwgctl: %s: cannot build the request\n", verb);
		return NULL;
	}
	ans = admin_ctl_call(req);
	json_decref(req);
	return admin_ctl_answer(verb, ans);
}

void
admin_json_print(json_t *v)
{
	json_dumpf(v, stdout, JSON_INDENT(2));
	putchar('\n');
}

int
admin_ctl_show(const char *verb, json_t *req, int as_json,
    int (*print)(json_t *ans))
{
	json_t *ans;
	int rc = ADMIN_EXIT_OK;

	if ((ans = admin_ctl_request(verb, req)) == NULL)
		return ADMIN_EXIT_FAIL;
	if (as_json)
		admin_json_print(ans);
	else
		rc = print(ans);
	json_decref(ans);
	return rc;
}

int
admin_ctl_list(const char *verb, const char *cmd, const char *help,
    const char *usage, int argc, char **argv, int (*print)(json_t *ans))
{
	int as_json = 0, rc;

	if ((rc = admin_json_help(verb, help, usage, argc, argv,
	    &as_json)) != -1)
		return rc;
	if (optind < argc)
		return admin_usage_error(verb, usage, "unexpected argument %s",
		    argv[optind]);
	return admin_ctl_show(verb, json_pack("{s:s}", "cmd", cmd), as_json,
	    print);
}

int
admin_reason_check(const char *verb, const char *reason)
{
	size_t len = strlen(reason);

	if (len == 0 || len > ADMIN_REASON_MAX) {
		fprintf(stderr, "mwgctl: %s: --reason must be 1 to %d "
		    "characters, got %zu\n", verb, ADMIN_REASON_MAX, len);
		return -1;
	}
	for (size_t i = 0; i < len; i++)
		if (reason[i] < 0x20 || reason[i] > 0x7e) {
			fprintf(stderr, "mwgctl: %s: --reason must be "
			    "printable ASCII (character %zu is not)\n", verb,
			    i + 1);
			return -1;
		}
	return 0;
}

char *
admin_time_text(time_t t, char *buf, size_t len)
{
	struct tm tm;

	if (t <= 0 || gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%d %H:%M UTC", &tm) == 0)
		snprintf(buf, len, "-");
	return buf;
}

const char *
admin_field(json_t *obj, const char *key, char *buf, size_t len)
{
	const char *s = json_string_value(json_object_get(obj, key));
	size_t i;

	if (s == NULL || *s == '\0' || len == 0)
		return "-";
	for (i = 0; s[i] != '\0' && i + 1 < len; i++)
		buf[i] = s[i] >= 0x20 && s[i] <= 0x7e ? s[i] : '?';
	buf[i] = '\0';
	return buf;
}

static void
print_sessions(json_t *ans)
{
	json_t *s;
	size_t i;

	printf("%-8s %-20s %-12s %-16s %-22s %-10s %12s %12s\n", "ID",
	    "DEVICE", "PERSON", "SOURCE", "TARGET", "AGE", "BYTES-UP",
	    "BYTES-DOWN");
	json_array_foreach(json_object_get(ans, "sessions"), i, s) {
		long age = (long)(time(NULL) -
		    json_integer_value(json_object_get(s, "since")));

		printf("%-8lld %-20s %-12s %-16s %-22s %-10ld %12lld %12lld\n",
		    (long long)json_integer_value(json_object_get(s, "id")),
		    json_string_value(json_object_get(s, "device")),
		    *json_string_value(json_object_get(s, "user")) ?
		    json_string_value(json_object_get(s, "user")) : "-",
		    json_string_value(json_object_get(s, "source")),
		    json_string_value(json_object_get(s, "target")), age,
		    (long long)json_integer_value(json_object_get(s, "bytes_up")),
		    (long long)json_integer_value(json_object_get(s,
		    "bytes_down")));
	}
}

static void
print_status(json_t *ans)
{
	const char *k;
	json_t *v;

	json_object_foreach(ans, k, v) {
		if (strcmp(k, "ok") == 0)
			continue;
		if (json_is_string(v))
			printf("%-16s %s\n", k, json_string_value(v));
		else if (json_is_boolean(v))
			printf("%-16s %s\n", k, json_is_true(v) ? "yes" : "no");
		else
			printf("%-16s %lld\n", k,
			    (long long)json_integer_value(v));
	}
}

static int
ctl_run(const char *path, const char *verb, json_t *req, int as_json)
{
	json_t *ans = admin_ctl_answer(verb, ctl_call(path, req));

	json_decref(req);
	if (ans == NULL)
		return ADMIN_EXIT_FAIL;
	if (as_json)
		admin_json_print(ans);
	else if (strcmp(verb, "sessions") == 0)
		print_sessions(ans);
	else if (strcmp(verb, "status") == 0)
		print_status(ans);
	else
		printf("%s: done\n", verb);
	json_decref(ans);
	return ADMIN_EXIT_OK;
}

/* Options may stand before or after the verb: -s SOCKET, --json. */
static int
parse_args(int argc, char **argv, const char **path, int *as_json,
    char **pos, int *npos)
{
	*npos = 0;
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "-s") == 0 && i + 1 < argc)
			*path = argv[++i];
		else if (strcmp(argv[i], "--json") == 0)
			*as_json = 1;
		else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
			return 1;
		else if (argv[i][0] == '-' || *npos == 2)
			return -1;
		else
			pos[(*npos)++] = argv[i];
	}
	return 0;
}

int
admin_control(int argc, char **argv)
{
	const char *path = getenv("MWG_CONTROL");
	char *pos[2], *end;
	int as_json = 0, npos, r;
	long long id;

	if (path == NULL)
		path = ADMIN_CTL_DEFAULT;
	if ((r = parse_args(argc, argv, &path, &as_json, pos, &npos)) != 0) {
		fputs(usage_text, r == 1 ? stdout : stderr);
		return r == 1 ? ADMIN_EXIT_OK : ADMIN_EXIT_USAGE;
	}
	if (npos == 2 && strcmp(pos[0], "kill") == 0) {
		if ((id = strtoll(pos[1], &end, 10)) <= 0 || *end) {
			fputs("usage: mwgctl kill ID (a tunnel id from mwgctl "
			    "sessions)\n", stderr);
			return ADMIN_EXIT_USAGE;
		}
		return ctl_run(path, "kill", json_pack("{s:s, s:I}", "cmd",
		    "kill", "id", (json_int_t)id), as_json);
	}
	if (npos != 1 || (strcmp(pos[0], "status") &&
	    strcmp(pos[0], "sessions") && strcmp(pos[0], "reload"))) {
		fputs(usage_text, stderr);
		return ADMIN_EXIT_USAGE;
	}
	return ctl_run(path, pos[0], json_pack("{s:s}", "cmd", pos[0]),
	    as_json);
}

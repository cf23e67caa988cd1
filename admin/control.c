/*
 * mwgctl status | sessions | kill ID | reload: one JSON request line to
 * mwgd's control socket, one JSON answer line back, shown for people.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "admin/admin.h"
#include "common/addr.h"

#define CTL_ANSWER_MAX	(4 * 1024 * 1024)
#define CTL_DEFAULT	"/run/mwg/control"

static const char usage_text[] =
"usage: mwgctl [-s SOCKET] status | sessions | kill ID | reload [--json]\n"
"    -s SOCKET   mwgd's control socket (default $MWG_CONTROL or "
CTL_DEFAULT ")\n";

static int
ctl_connect(const char *path)
{
	struct timeval tv = { 30, 0 };
	int fd = addr_unix_connect(path);

	if (fd != -1)
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

/* Sends req, returns the decoded answer or NULL (message printed). */
static json_t *
ctl_call(const char *path, json_t *req)
{
	char *text = json_dumps(req, JSON_COMPACT), *buf;
	size_t len = 0;
	ssize_t n;
	json_error_t jerr;
	json_t *ans;
	int fd;

	if ((fd = ctl_connect(path)) == -1) {
		fprintf(stderr, "mwgctl: cannot reach mwgd at %s: %s\n", path,
		    strerror(errno));
		free(text);
		return NULL;
	}
	if (write(fd, text, strlen(text)) == -1 || write(fd, "\n", 1) == -1) {
		fprintf(stderr, "mwgctl: write to %s: %s\n", path,
		    strerror(errno));
		free(text);
		close(fd);
		return NULL;
	}
	free(text);
	buf = malloc(CTL_ANSWER_MAX + 1);
	while (buf && len < CTL_ANSWER_MAX &&
	    (n = read(fd, buf + len, CTL_ANSWER_MAX - len)) > 0)
		len += (size_t)n;
	close(fd);
	if (buf == NULL || (ans = json_loadb(buf, len, 0, &jerr)) == NULL) {
		fprintf(stderr, "mwgctl: no valid answer from mwgd\n");
		free(buf);
		return NULL;
	}
	free(buf);
	return ans;
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
	json_t *ans = ctl_call(path, req);
	int rc = ADMIN_EXIT_FAIL;

	json_decref(req);
	if (ans == NULL)
		return ADMIN_EXIT_FAIL;
	if (!json_is_true(json_object_get(ans, "ok")))
		fprintf(stderr, "mwgctl: %s: %s\n", verb,
		    json_string_value(json_object_get(ans, "error")));
	else {
		rc = ADMIN_EXIT_OK;
		if (as_json) {
			json_dumpf(ans, stdout, JSON_INDENT(2));
			putchar('\n');
		} else if (strcmp(verb, "sessions") == 0)
			print_sessions(ans);
		else if (strcmp(verb, "status") == 0)
			print_status(ans);
		else
			printf("%s: done\n", verb);
	}
	json_decref(ans);
	return rc;
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
		path = CTL_DEFAULT;
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

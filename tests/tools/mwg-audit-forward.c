/*
 * mwg-audit-forward: drives the audit forwarder without mwgd, for
 * tests/integration/syslog-check.sh. Test-only; never installed.
 *
 *   mwg-audit-forward --write N [--start SEQ] FILE
 *	appends N sealed records to FILE, continuing the chain of its last
 *	line (or starting at SEQ, default 1); some carry '"', '\' and ']'.
 *   mwg-audit-forward [--ca CA] [--seconds S] URL FILE STATE
 *	follows FILE and forwards it to URL for S seconds (default 30) or
 *	until SIGTERM/SIGINT, then stops cleanly and prints
 *	"sent N connected C".
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "audit/audit_format.h"
#include "audit/audit_syslog.h"
#include "common/log.h"

#define TAIL_MAX	65536	/* bytes read to find the last record */
#define KICK_MS		100

static volatile sig_atomic_t stop_asked;

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: mwg-audit-forward --write N [--start SEQ] FILE\n"
	    "       mwg-audit-forward [--ca CA] [--seconds S] URL FILE STATE\n");
	exit(2);
}

static unsigned long long
number(const char *s, unsigned long long max)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (*s < '0' || *s > '9' || *end != '\0' || errno != 0 || v > max)
		usage();
	return v;
}

/* Seq and hash of FILE's last record; 0 if it has none. */
static int
last_record(const char *path, unsigned long long *seq, char *hash)
{
	static char buf[TAIL_MAX + 1];
	struct stat st;
	char *line, *end;
	json_t *rec;
	ssize_t n;
	off_t from;
	int fd, ok;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1 || fstat(fd, &st) ==
	    -1 || st.st_size == 0) {
		if (fd != -1)
			close(fd);
		return 0;
	}
	from = st.st_size > TAIL_MAX ? st.st_size - TAIL_MAX : 0;
	n = pread(fd, buf, TAIL_MAX, from);
	close(fd);
	if (n <= 1 || buf[n - 1] != '\n')
		return 0;
	buf[n - 1] = '\0';
	end = strrchr(buf, '\n');
	line = end ? end + 1 : buf;
	rec = json_loads(line, 0, NULL);
	ok = json_is_integer(json_object_get(rec, "seq")) &&
	    json_is_string(json_object_get(rec, "hash"));
	if (ok) {
		*seq = (unsigned long long)json_integer_value(
		    json_object_get(rec, "seq"));
		snprintf(hash, AUDIT_HASH_HEX + 1, "%s",
		    json_string_value(json_object_get(rec, "hash")));
	}
	json_decref(rec);
	return ok;
}

static void
now_rfc3339(char *buf, size_t len)
{
	struct timespec ts;
	struct tm tm;
	char sec[32];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(sec, sizeof(sec), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%s.%03dZ", sec, (int)(ts.tv_nsec / 1000000) % 1000);
}

/* One record's body (without "hash"), in the order audit_format.h says. */
static char *
record_body(unsigned long long seq, const char *prev)
{
	char ts[64];
	int deny = seq % 3 == 0, tricky = seq % 7 == 0;
	json_t *o = json_object();
	char *s;

	now_rfc3339(ts, sizeof(ts));
	json_object_set_new(o, "seq", json_integer((json_int_t)seq));
	json_object_set_new(o, "@timestamp", json_string(ts));
	json_object_set_new(o, "event.action",
	    json_string(deny ? "tunnel.deny" : "tunnel.open"));
	json_object_set_new(o, "event.outcome",
	    json_string(deny ? "failure" : "success"));
	json_object_set_new(o, "source.ip", json_string("127.0.0.2"));
	json_object_set_new(o, "device.id", json_string("laptop-7f3a"));
	json_object_set_new(o, "user.name",
	    json_string(tricky ? "al\"i\\ce]" : "alice"));
	json_object_set_new(o, "organization.id", json_string("K84001"));
	json_object_set_new(o, "destination.address",
	    json_string(tricky ? "emis].K84001" : "emis.K84001"));
	json_object_set_new(o, "prev", json_string(prev));
	s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (s == NULL) {
		fprintf(stderr, "mwg-audit-forward: cannot serialise\n");
		exit(1);
	}
	return s;
}

static int
write_records(const char *path, unsigned long long n, unsigned long long seq)
{
	char prev[AUDIT_HASH_HEX + 1] = AUDIT_GENESIS, line[4096];
	size_t len;
	char *body;
	int fd;

	if (last_record(path, &seq, prev))
		seq++;
	if ((fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
	    0640)) == -1) {
		fprintf(stderr, "mwg-audit-forward: %s: %s\n", path,
		    strerror(errno));
		return 1;
	}
	for (; n > 0; n--, seq++) {
		body = record_body(seq, prev);
		len = audit_seal(body, strlen(body), line, sizeof(line), prev);
		free(body);
		if (len == 0 || write(fd, line, len) != (ssize_t)len) {
			fprintf(stderr, "mwg-audit-forward: cannot write %s\n",
			    path);
			close(fd);
			return 1;
		}
	}
	return close(fd) == 0 ? 0 : 1;
}

static void
on_signal(int sig)
{
	(void)sig;
	stop_asked = 1;
}

static int
follow(const char *url, const char *ca, const char *path, const char *state,
    unsigned long long seconds)
{
	struct timespec tick = { 0, KICK_MS * 1000000L };
	struct audit_forwarder *f;
	struct sigaction sa;
	unsigned long long sent, ticks = seconds * (1000 / KICK_MS);
	char err[256];
	int connected;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	if (sigaction(SIGTERM, &sa, NULL) == -1 ||
	    sigaction(SIGINT, &sa, NULL) == -1)
		return 1;
	if ((f = audit_forwarder_start(url, ca, path, state, err,
	    sizeof(err))) == NULL) {
		fprintf(stderr, "mwg-audit-forward: %s\n", err);
		return 1;
	}
	/* As the writer would after each group commit. */
	for (; ticks > 0 && !stop_asked; ticks--) {
		nanosleep(&tick, NULL);
		audit_forwarder_kick(f);
	}
	/* Let the last batch be acknowledged, so the count is final. */
	audit_forwarder_stats(f, &sent, &connected);
	for (int i = 0; i < 40; i++) {
		unsigned long long before = sent;

		nanosleep(&tick, NULL);
		audit_forwarder_stats(f, &sent, &connected);
		if (sent == before && audit_forwarder_backlog(f) == 0)
			break;
	}
	audit_forwarder_stop(f);
	printf("sent %llu connected %d\n", sent, connected);
	return 0;
}

int
main(int argc, char **argv)
{
	unsigned long long n = 0, start = 1, seconds = 30;
	const char *ca = NULL;
	int write_mode = 0, i;

	log_init("mwg-audit-forward", getenv("MWG_DEBUG") != NULL, 0);
	for (i = 1; i < argc && argv[i][0] == '-' && argv[i][1] == '-'; i++) {
		if (i + 1 >= argc)
			usage();
		if (strcmp(argv[i], "--write") == 0) {
			write_mode = 1;
			n = number(argv[++i], 100000000);
		} else if (strcmp(argv[i], "--start") == 0)
			start = number(argv[++i], 1ULL << 62);
		else if (strcmp(argv[i], "--ca") == 0)
			ca = argv[++i];
		else if (strcmp(argv[i], "--seconds") == 0)
			seconds = number(argv[++i], 86400);
		else
			usage();
	}
	if (write_mode) {
		if (argc - i != 1)
			usage();
		return write_records(argv[i], n, start);
	}
	if (argc - i != 3)
		usage();
	return follow(argv[i], ca, argv[i + 1], argv[i + 2], seconds);
}

/*
 * Audit writer, first cut: serialise, then one write(2) of the whole line
 * under a mutex so that records from different threads never interleave
 * and sequence numbers follow file order.
 */
#include "audit/audit.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/xmalloc.h"

struct audit_log {
	int fd;
	pthread_mutex_t lock;
	unsigned long long seq;
};

#define AUDIT_REASON_CUT 1024	/* an over-long reason is cut to this */

/*
 * Continues numbering after the records already in the file. A last line
 * without its newline (a torn write) is ended, so the next record starts
 * on a line of its own; the audit issue adds proper recovery.
 */
static unsigned long long
count_lines(const char *path, int *torn)
{
	char buf[65536], last = '\n';
	unsigned long long n = 0;
	ssize_t r;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	*torn = 0;
	if (fd == -1)
		return 0;
	while ((r = read(fd, buf, sizeof(buf))) > 0) {
		for (ssize_t i = 0; i < r; i++)
			n += buf[i] == '\n';
		last = buf[r - 1];
	}
	close(fd);
	*torn = last != '\n';
	return n + (unsigned long long)*torn;
}

struct audit_log *
audit_open(const char *path, char *err, size_t errlen)
{
	struct audit_log *log;
	int fd, torn;

	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (fd == -1) {
		snprintf(err, errlen, "cannot open audit file %s: %s", path,
		    strerror(errno));
		return NULL;
	}
	log = xcalloc(1, sizeof(*log));
	log->fd = fd;
	log->seq = count_lines(path, &torn);
	if (torn) {
		log_warnx("audit: %s ends in a torn line; ended it (record "
		    "%llu is incomplete)", path, log->seq);
		(void)!write(fd, "\n", 1);
	}
	pthread_mutex_init(&log->lock, NULL);
	return log;
}

void
audit_close(struct audit_log *log)
{
	if (log == NULL)
		return;
	close(log->fd);
	pthread_mutex_destroy(&log->lock);
	free(log);
}

void
audit_timestamp(char *buf, size_t len)
{
	struct timespec ts;
	struct tm tm;
	char base[24];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%s.%03ldZ", base, ts.tv_nsec / 1000000);
}

static int
write_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t w = write(fd, p, len);

		if (w == -1 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

/* Serialises rec into line; cuts an over-long reason once if needed. */
static size_t
audit_serialise(json_t *rec, char *line)
{
	const char *reason;
	size_t len;
	char *cut;

	len = json_dumpb(rec, line, AUDIT_RECORD_MAX,
	    JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
	if (len <= AUDIT_RECORD_MAX)
		return len;
	reason = json_string_value(json_object_get(rec, "event.reason"));
	if (reason == NULL || strlen(reason) <= AUDIT_REASON_CUT)
		return 0;
	cut = xasprintf("%.*s... (%zu bytes cut)", AUDIT_REASON_CUT, reason,
	    strlen(reason) - AUDIT_REASON_CUT);
	json_object_set_new(rec, "event.reason", json_string(cut));
	free(cut);
	len = json_dumpb(rec, line, AUDIT_RECORD_MAX,
	    JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
	return len <= AUDIT_RECORD_MAX ? len : 0;
}

int
audit_append(struct audit_log *log, const char *action, const char *outcome,
    json_t *fields)
{
	char ts[32], line[AUDIT_RECORD_MAX + 2];
	json_t *rec = json_object();
	size_t len;
	int rc = -1;

	pthread_mutex_lock(&log->lock);
	/* Time and sequence under one lock: both follow file order. */
	audit_timestamp(ts, sizeof(ts));
	json_object_set_new(rec, "seq", json_integer((json_int_t)log->seq + 1));
	json_object_set_new(rec, "@timestamp", json_string(ts));
	json_object_set_new(rec, "event.action", json_string(action));
	json_object_set_new(rec, "event.outcome", json_string(outcome));
	if (fields)
		json_object_update(rec, fields);
	if ((len = audit_serialise(rec, line)) == 0)
		log_warnx("audit: record for %s could not be serialised", action);
	else {
		line[len++] = '\n';
		rc = write_all(log->fd, line, len);
		if (rc == 0)
			log->seq++;
		else
			log_warn("audit: write failed for %s", action);
	}
	pthread_mutex_unlock(&log->lock);
	json_decref(rec);
	json_decref(fields);
	return rc;
}

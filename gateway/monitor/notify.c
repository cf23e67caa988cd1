/*
 * sd_notify(3) for mwgd: the datagrams systemd's Type=notify expects.
 * libsystemd sends nothing when NOTIFY_SOCKET is unset, so a plain start
 * (tests, a shell) pays only the call.
 */
#include "gateway/monitor/notify.h"

#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include <event2/event.h>
#include <systemd/sd-daemon.h>

#include "common/log.h"

#define NOTIFY_STATUS_MAX 200

/* A status line: printable ASCII, one line (it ends at a newline). */
static void
notify_send(const char *what, const char *status)
{
	char msg[NOTIFY_STATUS_MAX + 64], clean[NOTIFY_STATUS_MAX];
	int r;

	if (status == NULL)
		r = sd_notify(0, what);
	else {
		log_escape(clean, sizeof(clean), status);
		snprintf(msg, sizeof(msg), "%s\nSTATUS=%s", what, clean);
		r = sd_notify(0, msg);
	}
	if (r < 0)
		log_debug("%s: %s: %d", __func__, what, r);
}

void
notify_ready(const char *status)
{
	notify_send("READY=1", status);
}

void
notify_reloading(void)
{
	struct timespec ts;
	char msg[64];

	clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(msg, sizeof(msg), "RELOADING=1\nMONOTONIC_USEC=%llu",
	    (unsigned long long)ts.tv_sec * 1000000ULL +
	    (unsigned long long)ts.tv_nsec / 1000ULL);
	notify_send(msg, NULL);
}

void
notify_reloaded(const char *status)
{
	notify_send("READY=1", status);
}

void
notify_stopping(void)
{
	notify_send("STOPPING=1", "stopping: closing tunnels");
}

static void
watchdog_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	notify_send("WATCHDOG=1", NULL);
}

struct event *
notify_watchdog_start(struct event_base *base)
{
	uint64_t usec = 0;
	struct event *ev;
	struct timeval half;

	if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0)
		return NULL;
	half.tv_sec = (time_t)(usec / 2 / 1000000);
	half.tv_usec = (suseconds_t)(usec / 2 % 1000000);
	if ((ev = event_new(base, -1, EV_PERSIST, watchdog_cb, NULL)) == NULL ||
	    event_add(ev, &half) == -1) {
		log_warnx("the service manager wants a watchdog, but its timer "
		    "could not be set");
		if (ev)
			event_free(ev);
		return NULL;
	}
	notify_send("WATCHDOG=1", NULL);
	return ev;
}

/*
 * The service manager's view of mwgd (sd_notify(3)): ready once the
 * listeners and the store are up, reloading around a reload with its
 * outcome, stopping, and a watchdog ping from the main loop. Without
 * NOTIFY_SOCKET (not under systemd) every call does nothing.
 */
#ifndef MWG_GW_NOTIFY_H
#define MWG_GW_NOTIFY_H

struct event_base;

/* READY=1 with STATUS=status. */
void notify_ready(const char *status);
/* RELOADING=1, with the monotonic time systemd 253+ wants. */
void notify_reloading(void);
/* READY=1 again after a reload; status says how it went. */
void notify_reloaded(const char *status);
/* STOPPING=1. */
void notify_stopping(void);
/*
 * If the manager asks for a watchdog (WATCHDOG_USEC), pings it from base's
 * loop at half that period, so a main loop that stops turning gets mwgd
 * restarted. Returns the event to free at exit, or NULL.
 */
struct event *notify_watchdog_start(struct event_base *base);

#endif

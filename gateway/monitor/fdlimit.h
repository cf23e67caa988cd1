/*
 * mwgd's descriptor limit: each tunnel holds two sockets (the client's
 * and the target's), so the soft RLIMIT_NOFILE a service manager or shell
 * hands over (often 1,024) would cap the gateway near 500 tunnels.
 */
#ifndef MWG_GW_FDLIMIT_H
#define MWG_GW_FDLIMIT_H

/*
 * Raises the soft descriptor limit to the hard one and logs how many
 * tunnels that allows; returns the soft limit now in force (-1 if it
 * cannot be read). Never fails the start: a lower limit still runs.
 */
long fdlimit_raise(void);

#endif

/*
 * The network process (DESIGN §10): TLS and SSH listeners, workers,
 * HTTP heads, CONNECT and direct-tcpip decisions on its own copy of the
 * policy, splicing. It holds no CA key, no audit key, no secrets.key and
 * no store; it cannot open files; everything it needs comes from the
 * monitor over the channel on fd. mwgd runs it as
 *
 *     mwgd --network-process FD ROOT [-d]
 *
 * (ROOT "-": no empty root, when mwgd was not started as root).
 */
#ifndef MWG_GW_NET_MAIN_H
#define MWG_GW_NET_MAIN_H

/* Never returns. */
void net_main(int fd, const char *root, int debug);

#endif

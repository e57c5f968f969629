/*
 * ctl — the control socket's client side, used by the CLI (blocking POSIX sockets, no
 * libuv). The server side is in node/daemon/ctl.c; the protocol is described there.
 */
#ifndef KK_CTL_H
#define KK_CTL_H

#include <stddef.h>
#include <stdint.h>

#define CTL_SOCKET "control.sock"
#define CTL_FRAME_MAX (1u << 25) /* a batch of own records (import) fits */

/* Connects to the node running in dir. Returns a socket, or -ENOENT / -ECONNREFUSED
 * when no node runs there, or another -errno. */
int ctl_client_connect(const char *dir);

/* Asks the node to sign and append a record with this body (header fields are the
 * node's to fill). *rc gets the node's verdict, id the record id. Returns 0 when the
 * node answered, or a -errno when the exchange itself failed. */
int ctl_client_append(int fd, const uint8_t *body, size_t len, int *rc, uint8_t id[32]);

/* Hands the node records this member signed itself, in feed order from the head the
 * caller read: the node ingests them together (INGEST_LOCAL: all or none). *rc gets the
 * verdict — KK_E_BUSY when the node's head has moved since (nothing written: plan and
 * sign again) — and *failed the index of the record refused (n when none). Returns 0
 * when the node answered, or a -errno. KK_E_TOO_LARGE when the batch does not fit in
 * one frame (CTL_FRAME_MAX). */
int ctl_client_append_batch(int fd, const uint8_t *const *envs, const size_t *lens, size_t n, int *rc, size_t *failed);

/* Asks for the node's status; *json is a mem_alloc'd NUL-terminated string. */
int ctl_client_status(int fd, char **json);

#endif

/*
 * version — the release this build is, as `kiroku --version` and `kiroku-node --version`
 * print it (with the store layout and the handshake version beside it).
 */
#ifndef KK_VERSION_H
#define KK_VERSION_H

#define KIROKU_VERSION "0.10.0"
/* The peer handshake's version (node/daemon/hs.h): peers of another version are refused. */
#define KIROKU_HANDSHAKE_VERSION 1

#endif

/*
 * codec_pb — what codec.c and wire.c share of protobuf-c: an allocator through mem
 * that tells a failed allocation from bad bytes, and a bytes field pointing at a
 * buffer. Private to proto/.
 */
#ifndef KK_CODEC_PB_H
#define KK_CODEC_PB_H

#include "kiroku.pb-c.h"

#include <stddef.h>
#include <stdint.h>

/* protobuf-c allocates through mem, so decoding takes part in fault injection. Its
 * unpack answers NULL both for bad bytes and for a failed allocation: each unpack gets
 * its own allocator (struct codec_pb) that notes the latter, so a decoder can answer
 * -ENOMEM (try again) rather than KK_E_DECODE (the peer sent garbage). */
struct codec_pb { ProtobufCAllocator a; int oom; };

/* An allocator for one unpack (pb lives as long as the unpack's call). */
ProtobufCAllocator *codec_pb_init(struct codec_pb *pb);

/* The error for a NULL unpack: -ENOMEM or KK_E_DECODE. */
int codec_pb_fail(const struct codec_pb *pb);

/* For *_free_unpacked: freeing needs no per-call state. */
extern ProtobufCAllocator mem_protobuf;

/* A bytes field over p[0..n) (not copied). */
ProtobufCBinaryData codec_bin(const uint8_t *p, size_t n);

#endif

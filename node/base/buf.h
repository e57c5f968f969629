/*
 * buf — growable byte writer and bounds-checked reader for Kiroku's own stored values.
 *
 * Derived state (lots, transfers, members) is stored in a fixed little-endian layout
 * written and read with these helpers, so its bytes are identical on every node and the
 * state digest can hash them as they are. Errors are sticky: write or read on, check
 * `err` once at the end (-ENOMEM for the writer, KK_E_CORRUPT for the reader).
 */
#ifndef KK_BUF_H
#define KK_BUF_H

#include <stddef.h>
#include <stdint.h>

struct buf { uint8_t *p; size_t len, cap; int err; };
struct rd { const uint8_t *p; size_t len, off; int err; };

void buf_init(struct buf *b);
void buf_free(struct buf *b);               /* frees the bytes; accepts a zeroed buf */
void buf_put(struct buf *b, const void *p, size_t n);
void buf_u8(struct buf *b, uint8_t v);
void buf_u32(struct buf *b, uint32_t v);
void buf_u64(struct buf *b, uint64_t v);
void buf_str(struct buf *b, const char *s); /* u32 length + bytes */
/* Compact forms for values written many times (a lot per record): an unsigned LEB128
 * varint (1 to 10 bytes, always the shortest), and a string with a varint length. */
void buf_varint(struct buf *b, uint64_t v);
#define BUF_VARINT_MAX 10
size_t buf_varint_encode(uint8_t p[BUF_VARINT_MAX], uint64_t v); /* the same into p; returns its length */
void buf_vstr(struct buf *b, const char *s);
/* Text: buf_text appends s (no terminator); buf_cstr terminates what was written and
 * hands it over as a C string (the caller's, mem_free), or NULL after a failed
 * allocation (the buffer freed either way: b is empty again). */
void buf_text(struct buf *b, const char *s);
char *buf_cstr(struct buf *b);

void rd_init(struct rd *r, const void *p, size_t len);
void rd_get(struct rd *r, void *out, size_t n);
uint8_t rd_u8(struct rd *r);
uint32_t rd_u32(struct rd *r);
uint64_t rd_u64(struct rd *r);
/* Reads a string written by buf_str into out[cap+1]; longer is corruption. */
void rd_str(struct rd *r, char *out, size_t cap);
/* Reads what buf_varint / buf_vstr wrote; a varint that is not the shortest, or runs past
 * 64 bits, is corruption (so equal values are always equal bytes). */
uint64_t rd_varint(struct rd *r);
void rd_vstr(struct rd *r, char *out, size_t cap);
/* 0 when every read fitted and all bytes were consumed, else KK_E_CORRUPT. */
int rd_done(const struct rd *r);

/* Big-endian u64/u32 for keys, so LMDB's byte order is numeric order. */
void be64_put(uint8_t *p, uint64_t v);
uint64_t be64_get(const uint8_t *p);
void be32_put(uint8_t *p, uint32_t v);
uint32_t be32_get(const uint8_t *p);
void be16_put(uint8_t *p, uint16_t v);
uint16_t be16_get(const uint8_t *p);

#endif

/*
 * frame — length-prefixed frames out of a byte stream sliced any way.
 *
 * A frame is a 4-byte big-endian length (1 … max) and that many bytes. The declared
 * length is checked against the cap before anything is allocated for it, so a peer
 * cannot make us reserve memory it never sends. The reader keeps whatever part of a
 * frame has arrived and completes it from later slices.
 */
#ifndef KK_FRAME_H
#define KK_FRAME_H

#include <stddef.h>
#include <stdint.h>

struct frame_rd {
  size_t max;            /* largest acceptable frame */
  uint8_t hdr[4];
  size_t hdr_got;
  uint8_t *buf;          /* the frame being assembled */
  size_t len, got;
};

/* Called for each complete frame; the frame's bytes are the callee's to keep (free
 * them with mem_free()) only if it returns FRAME_KEEP; otherwise the reader frees them.
 * Any other non-zero return stops reading and is returned by frame_feed. */
#define FRAME_KEEP 1
typedef int (*frame_cb)(void *ctx, uint8_t *frame, size_t len);

void frame_rd_init(struct frame_rd *r, size_t max);
/* Feeds n bytes. 0, KK_E_TOO_LARGE (a declared length beyond max), KK_E_DECODE (a zero
 * length), -ENOMEM, or the callback's result. After an error the reader is spent. */
int frame_feed(struct frame_rd *r, const uint8_t *p, size_t n, frame_cb cb, void *ctx);
void frame_rd_free(struct frame_rd *r);

/* Writes the 4-byte header for a frame of len bytes. */
void frame_header(uint8_t hdr[4], size_t len);

#endif

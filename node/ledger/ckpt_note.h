/*
 * ckpt_note — what a checkpoint says, as text: the origin line naming a feed
 * ("kiroku/<network id hex>/<author hex>"), a witness's key name
 * ("kiroku-witness/<key hex>") and the parse of a checkpoint note's text (C2SP signed
 * note, crypto/note.h; no signature checked). No store: what checkpoints and evidence
 * of forked checkpoints (node/ledger/ckpt.h, evidence.h) both read. Pure functions.
 */
#ifndef KK_CKPT_NOTE_H
#define KK_CKPT_NOTE_H

#include <stddef.h>
#include <stdint.h>

#define CKPT_ORIGIN_MAX 160
#define CKPT_WITNESS_NAME_MAX 96

/* The origin line of feed author's checkpoints in network; a witness's key name. */
void ckpt_origin(char out[CKPT_ORIGIN_MAX], const uint8_t network[32], const uint8_t author[32]);
void ckpt_witness_name(char out[CKPT_WITNESS_NAME_MAX], const uint8_t pk[32]);
/* The key in a witness name, or -1 when it is not one. */
int ckpt_witness_key(const char *name, size_t len, uint8_t pk[32]);

/* A parsed checkpoint note. */
struct ckpt_view {
  uint8_t network[32], author[32];
  uint64_t size;
  uint8_t root[32];
  size_t text_len;             /* the checkpoint text is note[0 .. text_len) */
};

/* Parses a note's checkpoint text and origin (no signature checked). 0 or KK_E_CHECKPOINT. */
int ckpt_parse(const char *note, size_t len, struct ckpt_view *v);

#endif

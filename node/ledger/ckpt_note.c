/*
 * ckpt_note — the text of a checkpoint note (node/ledger/ckpt_note.h).
 */
#include "ckpt_note.h"
#include "../base/err.h"
#include "../../crypto/note.h"
#include "../../crypto/sig.h"

#include <stdio.h>
#include <string.h>

#define CKPT_PREFIX "kiroku/"
#define CKPT_WITNESS_PREFIX "kiroku-witness/"

void ckpt_origin(char out[CKPT_ORIGIN_MAX], const uint8_t network[32], const uint8_t author[32])
{
  char n[65], a[65];
  sig_hex(n, network, 32);
  sig_hex(a, author, 32);
  snprintf(out, CKPT_ORIGIN_MAX, CKPT_PREFIX "%s/%s", n, a);
}

void ckpt_witness_name(char out[CKPT_WITNESS_NAME_MAX], const uint8_t pk[32])
{
  char h[65];
  sig_hex(h, pk, 32);
  snprintf(out, CKPT_WITNESS_NAME_MAX, CKPT_WITNESS_PREFIX "%s", h);
}

int ckpt_witness_key(const char *name, size_t len, uint8_t pk[32])
{
  size_t pl = strlen(CKPT_WITNESS_PREFIX);
  char hex[65];
  if (len != pl + 64 || memcmp(name, CKPT_WITNESS_PREFIX, pl) != 0) return -1;
  memcpy(hex, name + pl, 64);
  hex[64] = 0;
  return sig_unhex(pk, 32, hex) ? -1 : 0;
}

int ckpt_parse(const char *note, size_t len, struct ckpt_view *v)
{
  char origin[CKPT_ORIGIN_MAX];
  size_t pl = strlen(CKPT_PREFIX);
  if (note_split(note, len, &v->text_len) ||
      note_checkpoint_parse(note, v->text_len, origin, sizeof origin, &v->size, v->root) ||
      strlen(origin) != pl + 64 + 1 + 64 || memcmp(origin, CKPT_PREFIX, pl) != 0 || origin[pl + 64] != '/')
    return KK_ERR(CHECKPOINT);
  origin[pl + 64] = 0;
  if (sig_unhex(v->network, 32, origin + pl) || sig_unhex(v->author, 32, origin + pl + 65)) return KK_ERR(CHECKPOINT);
  /* Only lower-case hex is the one spelling: reject anything that does not round-trip. */
  char again[CKPT_ORIGIN_MAX];
  ckpt_origin(again, v->network, v->author);
  origin[pl + 64] = '/';
  if (strcmp(again, origin) != 0) return KK_ERR(CHECKPOINT);
  /* Exactly three lines of text: no extension lines in Kiroku checkpoints. */
  size_t lines = 0;
  for (size_t i = 0; i < v->text_len; i++) lines += note[i] == '\n';
  return lines == 3 ? 0 : KK_ERR(CHECKPOINT);
}

/*
 * forker — a deliberately misbehaving author, for the equivocation tests only.
 *
 *   forker DIR FEED.rec OUT_A.rec OUT_B.rec
 *
 * Loads the identity key of data directory DIR, finds the newest record of that key's
 * feed in FEED.rec (a file from `kiroku export-records --feed ...`), and signs two
 * different records for the next seq — an Issue of lot FORK-A and one of lot FORK-B —
 * writing each to its own records file, so each can be handed to a different node.
 */
#include "recgen.h"
#include "../../crypto/keys.h"
#include "../../crypto/sig.h"
#include "../../node/base/buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void die(const char *m) { fprintf(stderr, "forker: %s\n", m); exit(1); }

static uint8_t *slurp(const char *path, size_t *len)
{
  FILE *f = fopen(path, "rb");
  if (!f) die("cannot read the feed file");
  size_t cap = 1 << 16, n = 0, r;
  uint8_t *p = malloc(cap);
  while (p && (r = fread(p + n, 1, cap - n, f)) > 0) {
    n += r;
    if (n == cap) p = realloc(p, cap *= 2);
  }
  fclose(f);
  if (!p) die("out of memory");
  *len = n;
  return p;
}

static void write_rec(const char *path, const uint8_t *env, size_t len)
{
  FILE *f = fopen(path, "wb");
  uint8_t hdr[4];
  be32_put(hdr, (uint32_t)len);
  if (!f || fwrite("KIROKU-RECORDS-1\n", 1, 17, f) != 17 || fwrite(hdr, 1, 4, f) != 4 || fwrite(env, 1, len, f) != len ||
      fclose(f))
    die("cannot write a records file");
}

int main(int argc, char **argv)
{
  if (argc != 5) die("usage: forker DIR FEED.rec OUT_A.rec OUT_B.rec");
  if (sig_init()) die("libsodium failed to initialise");
  struct gen_member m;
  memset(&m, 0, sizeof m);
  if (keys_load(argv[1], m.pk, m.sk)) die("cannot load the identity key");
  size_t len;
  uint8_t *file = slurp(argv[2], &len);
  if (len < 17 || memcmp(file, "KIROKU-RECORDS-1\n", 17) != 0) die("not a records file");
  uint8_t network[32];
  int have_network = 0;
  struct kk_body *b = malloc(sizeof *b);
  for (size_t off = 17; off + 4 <= len;) {
    uint32_t rl = be32_get(file + off);
    if (rl > len - off - 4) die("truncated records file");
    const uint8_t *env = file + off + 4;
    struct kk_envelope_view ev;
    if (codec_envelope_split(env, rl, &ev) || codec_body_decode(ev.body, ev.body_len, b)) die("undecodable record");
    if (memcmp(b->author, m.pk, 32) == 0 && b->seq > m.seq) {
      m.seq = b->seq;
      sig_sha256(m.last, env, rl);
      memcpy(network, b->network, 32);
      have_network = 1;
    }
    off += 4 + rl;
  }
  if (!have_network) die("the feed file holds no record of this key's feed");
  struct gen_member a = m, bm = m;
  uint8_t *ea, *eb;
  size_t la, lb;
  gen_issue(b, "FORK-A", 7000000000ull);
  gen_sign(&a, network, b, &ea, &la, NULL);
  gen_issue(b, "FORK-B", 7000000000ull);
  gen_sign(&bm, network, b, &eb, &lb, NULL);
  write_rec(argv[3], ea, la);
  write_rec(argv[4], eb, lb);
  printf("signed two records for seq %llu of feed %02x%02x%02x%02x…\n", (unsigned long long)(m.seq + 1), m.pk[0], m.pk[1],
         m.pk[2], m.pk[3]);
  free(ea);
  free(eb);
  free(b);
  free(file);
  return 0;
}

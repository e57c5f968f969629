/*
 * kkgen — writes synthetic networks as records files, for tests and benchmarks.
 *
 *   kkgen DIR issues N   a recycler issuing N lots
 *   kkgen DIR chain N    a provenance chain of about N records between two
 *                        processors (transfer, receive, transform, ...), ending in a lot
 *                        whose provenance spans all of them
 *   kkgen DIR dag N      a wide DAG: N certificates shipped to a processor, blended
 *                        (32 inputs a transform, in a tree) into one lot, which is split
 *                        (32 outputs a transform) into N products
 *
 * Writes DIR/genesis.bin, DIR/records.rec (genesis, admissions, then the workload) and
 * the members' identity files DIR/{registry,recycler,proc-a,proc-b}.key, and prints the
 * final lot's code (chain) or the last product's (dag) to stdout. Uses the library directly, never
 * the store: it only signs.
 */
#include "../../crypto/sig.h"
#include "../../node/base/buf.h"
#include "../../proto/codec.h"
#include "recgen.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static uint8_t network[32];
static FILE *out;

/* Signs b as m's next record and appends it to the records file. */
static void emit(struct gen_member *m, struct kk_body *b, uint8_t id[32])
{
  uint8_t *env, rid[32];
  size_t elen;
  gen_sign(m, network, b, &env, &elen, rid);
  if (id) memcpy(id, rid, 32);
  uint8_t hdr[4];
  be32_put(hdr, (uint32_t)elen);
  fwrite(hdr, 1, 4, out);
  fwrite(env, 1, elen, out);
  free(env);
}

static void admit(struct gen_member *reg, struct gen_member *m, const char *name, uint32_t roles, struct kk_body *b)
{
  memset(b, 0, sizeof *b);
  b->kind = KK_PL_ADMIT;
  memcpy(b->u.admit.member, m->pk, 32);
  strcpy(b->u.admit.name, name);
  b->u.admit.roles = roles;
  strcpy(b->u.admit.country, "JP");
  emit(reg, b, NULL);
}

static void issue(struct gen_member *m, struct kk_body *b, const char *code, uint64_t mass, uint8_t id[32])
{
  gen_issue(b, code, mass);
  emit(m, b, id);
}

/* Blends lots[0..n) (each mass_each mg, index 0 of record lots[i]) in transforms of up
 * to CODEC_IO_MAX inputs, level by level, into one lot; returns its record in out. */
static void blend(struct gen_member *m, struct kk_body *b, uint8_t (*lots)[32], long n, uint64_t *mass, uint8_t out[32])
{
  int level = 0;
  while (n > 1) {
    long groups = (n + CODEC_IO_MAX - 1) / CODEC_IO_MAX;
    for (long g = 0; g < groups; g++) {
      long from = g * CODEC_IO_MAX, to = from + CODEC_IO_MAX < n ? from + CODEC_IO_MAX : n;
      uint64_t sum = 0;
      memset(b, 0, sizeof *b);
      b->kind = KK_PL_TRANSFORM;
      b->u.transform.model = KK_MODEL_CONTROLLED_BLENDING;
      b->u.transform.n_inputs = (size_t)(to - from);
      for (long i = from; i < to; i++) {
        memcpy(b->u.transform.inputs[i - from].lot.record, lots[i], 32);
        b->u.transform.inputs[i - from].mass_mg = mass[i];
        sum += mass[i];
      }
      b->u.transform.n_outputs = 1;
      snprintf(b->u.transform.outputs[0].lot_code, CODEC_CODE_MAX, "B%d-%ld", level, g);
      strcpy(b->u.transform.outputs[0].material, "PET");
      b->u.transform.outputs[0].mass_mg = sum;
      emit(m, b, lots[g]);
      mass[g] = sum;
    }
    n = groups;
    level++;
  }
  memcpy(out, lots[0], 32);
}

static void dag(struct gen_member *a, struct gen_member *p, struct kk_body *b, long n)
{
  uint8_t (*lots)[32] = calloc((size_t)n, 32), id[32], x[32], blended[32];
  uint64_t *mass = calloc((size_t)n, sizeof *mass);
  if (!lots || !mass) exit(1);
  for (long i = 0; i < n; i++) {
    char code[32];
    snprintf(code, sizeof code, "D%ld", i);
    issue(a, b, code, 1000000000ull, id);
    memset(b, 0, sizeof *b);
    b->kind = KK_PL_TRANSFER;
    memcpy(b->u.transfer.lot.record, id, 32);
    b->u.transfer.mass_mg = 1000000000ull;
    memcpy(b->u.transfer.to, p->pk, 32);
    emit(a, b, x);
    memset(b, 0, sizeof *b);
    b->kind = KK_PL_RECEIVE;
    memcpy(b->u.receive.transfer, x, 32);
    emit(p, b, lots[i]);
    mass[i] = 1000000000ull;
  }
  blend(p, b, lots, n, mass, blended);
  /* Split the blend into n products: a transform of the blend into up to 32 parts,
   * then each part into up to 32 products. */
  uint64_t total = (uint64_t)n * 1000000000ull, each = 1000000000ull;
  long parts = (n + CODEC_IO_MAX - 1) / CODEC_IO_MAX;
  uint8_t part_rec[32];
  memset(b, 0, sizeof *b);
  b->kind = KK_PL_TRANSFORM;
  b->u.transform.model = KK_MODEL_CONTROLLED_BLENDING;
  b->u.transform.n_inputs = 1;
  memcpy(b->u.transform.inputs[0].lot.record, blended, 32);
  b->u.transform.inputs[0].mass_mg = total;
  b->u.transform.n_outputs = (size_t)parts;
  for (long j = 0; j < parts; j++) {
    long in_part = j < parts - 1 ? CODEC_IO_MAX : n - (parts - 1) * CODEC_IO_MAX;
    snprintf(b->u.transform.outputs[j].lot_code, CODEC_CODE_MAX, "S%ld", j);
    strcpy(b->u.transform.outputs[j].material, "PET/sheet");
    b->u.transform.outputs[j].mass_mg = (uint64_t)in_part * each;
  }
  emit(p, b, part_rec);
  for (long j = 0; j < parts; j++) {
    long in_part = j < parts - 1 ? CODEC_IO_MAX : n - (parts - 1) * CODEC_IO_MAX;
    memset(b, 0, sizeof *b);
    b->kind = KK_PL_TRANSFORM;
    b->u.transform.model = KK_MODEL_CONTROLLED_BLENDING;
    b->u.transform.n_inputs = 1;
    memcpy(b->u.transform.inputs[0].lot.record, part_rec, 32);
    b->u.transform.inputs[0].lot.index = (uint32_t)j;
    b->u.transform.inputs[0].mass_mg = (uint64_t)in_part * each;
    b->u.transform.n_outputs = (size_t)in_part;
    for (long k = 0; k < in_part; k++) {
      snprintf(b->u.transform.outputs[k].lot_code, CODEC_CODE_MAX, "P%ld", j * CODEC_IO_MAX + k);
      strcpy(b->u.transform.outputs[k].material, "PET/trays");
      b->u.transform.outputs[k].mass_mg = each;
    }
    emit(p, b, id);
  }
  printf("P%ld\n", n - 1);
  free(lots);
  free(mass);
}

int main(int argc, char **argv)
{
  if (argc != 4 || sig_init()) { fprintf(stderr, "usage: kkgen DIR issues|chain|dag N\n"); return 2; }
  const char *dir = argv[1], *mode = argv[2];
  long n = atol(argv[3]);
  char path[4200];
  struct gen_member reg, a, p, q;
  struct kk_body *b = calloc(1, sizeof *b);
  gen_member_init(&reg);
  gen_member_init(&a);
  gen_member_init(&p);
  gen_member_init(&q);

  snprintf(path, sizeof path, "%s/records.rec", dir);
  out = fopen(path, "wb");
  if (!out) { perror(path); return 1; }
  fwrite("KIROKU-RECORDS-1\n", 1, 17, out);
  /* Genesis first: its id is the network id every later record names. */
  b->kind = KK_PL_GENESIS;
  strcpy(b->u.genesis.name, "kkgen");
  emit(&reg, b, network);
  {
    /* genesis.bin: re-read the record just written */
    fflush(out);
    FILE *in = fopen(path, "rb");
    uint8_t hdr[4], env[65536];
    fseek(in, 17, SEEK_SET);
    if (fread(hdr, 1, 4, in) != 4) return 1;
    uint32_t len = be32_get(hdr);
    if (fread(env, 1, len, in) != len) return 1;
    fclose(in);
    snprintf(path, sizeof path, "%s/genesis.bin", dir);
    FILE *g = fopen(path, "wb");
    fwrite(env, 1, len, g);
    fclose(g);
  }
  /* Identity files for the members, so tests can run nodes as them. */
  struct { const char *name; struct gen_member *m; } ids[] = { { "registry", &reg }, { "recycler", &a }, { "proc-a", &p }, { "proc-b", &q } };
  for (size_t i = 0; i < 4; i++) {
    char kp[4200], hex[129];
    snprintf(kp, sizeof kp, "%s/%s.key", dir, ids[i].name);
    FILE *kf = fopen(kp, "w");
    if (!kf) { perror(kp); return 1; }
    sig_hex(hex, ids[i].m->sk, 64);
    fprintf(kf, "kiroku-ed25519-v1 %s\n", hex);
    fclose(kf);
    chmod(kp, 0600);
  }
  admit(&reg, &a, "recycler", 0x01, b);
  admit(&reg, &p, "proc-a", 0x02 | 0x04, b);
  admit(&reg, &q, "proc-b", 0x02 | 0x04, b);

  if (strcmp(mode, "issues") == 0) {
    for (long i = 0; i < n; i++) {
      char code[32];
      snprintf(code, sizeof code, "L%ld", i);
      issue(&a, b, code, 1000000000ull + (uint64_t)i, NULL);
    }
  } else if (strcmp(mode, "chain") == 0) {
    /* Many certificates feed one lot that then moves back and forth between two
     * processors, blended with a fresh certified lot at every step. */
    uint8_t lot[32], id[32], x[32];
    uint32_t lot_idx = 0;
    struct gen_member *holder = &p, *other = &q;
    issue(&a, b, "SEED", 1000000000000ull, id);
    memset(b, 0, sizeof *b);
    b->kind = KK_PL_TRANSFER;
    memcpy(b->u.transfer.lot.record, id, 32);
    b->u.transfer.mass_mg = 1000000000000ull;
    memcpy(b->u.transfer.to, p.pk, 32);
    emit(&a, b, x);
    memset(b, 0, sizeof *b);
    b->kind = KK_PL_RECEIVE;
    memcpy(b->u.receive.transfer, x, 32);
    emit(&p, b, lot);
    long steps = n / 6 > 0 ? n / 6 : 1;
    for (long s = 0; s < steps; s++) {
      char code[32];
      uint8_t fresh[32], frx[32];
      snprintf(code, sizeof code, "F%ld", s);
      issue(&a, b, code, 1000000000ull, fresh);
      memset(b, 0, sizeof *b);
      b->kind = KK_PL_TRANSFER;
      memcpy(b->u.transfer.lot.record, fresh, 32);
      b->u.transfer.mass_mg = 1000000000ull;
      memcpy(b->u.transfer.to, holder->pk, 32);
      emit(&a, b, x);
      memset(b, 0, sizeof *b);
      b->kind = KK_PL_RECEIVE;
      memcpy(b->u.receive.transfer, x, 32);
      emit(holder, b, frx);
      /* blend the chain lot with the fresh one */
      struct lot_info { uint64_t mass; } cur = { 1000000000000ull };
      memset(b, 0, sizeof *b);
      b->kind = KK_PL_TRANSFORM;
      b->u.transform.model = KK_MODEL_CONTROLLED_BLENDING;
      b->u.transform.n_inputs = 2;
      memcpy(b->u.transform.inputs[0].lot.record, lot, 32);
      b->u.transform.inputs[0].lot.index = lot_idx;
      b->u.transform.inputs[0].mass_mg = cur.mass;
      memcpy(b->u.transform.inputs[1].lot.record, frx, 32);
      b->u.transform.inputs[1].mass_mg = 1000000000ull;
      b->u.transform.n_outputs = 1;
      snprintf(b->u.transform.outputs[0].lot_code, CODEC_CODE_MAX, "C%ld", s);
      strcpy(b->u.transform.outputs[0].material, "PET");
      b->u.transform.outputs[0].mass_mg = cur.mass; /* the loss equals the fresh input */
      emit(holder, b, id);
      /* hand the blend to the other processor */
      memset(b, 0, sizeof *b);
      b->kind = KK_PL_TRANSFER;
      memcpy(b->u.transfer.lot.record, id, 32);
      b->u.transfer.mass_mg = cur.mass;
      memcpy(b->u.transfer.to, other->pk, 32);
      emit(holder, b, x);
      memset(b, 0, sizeof *b);
      b->kind = KK_PL_RECEIVE;
      memcpy(b->u.receive.transfer, x, 32);
      emit(other, b, lot);
      lot_idx = 0;
      struct gen_member *t = holder; holder = other; other = t;
      if (s == steps - 1) printf("C%ld\n", s);
    }
  } else if (strcmp(mode, "dag") == 0) {
    dag(&a, &p, b, n);
  } else {
    fprintf(stderr, "kkgen: unknown mode %s\n", mode);
    return 2;
  }
  fclose(out);
  free(b);
  return 0;
}

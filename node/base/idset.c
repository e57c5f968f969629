/* idset — see idset.h. */
#include "idset.h"
#include "mem.h"

#include <errno.h>
#include <string.h>

void idset_init(struct idset *s) { memset(s, 0, sizeof *s); }

void idset_free(struct idset *s)
{
  if (!s) return;
  mem_free(s->ids);
  mem_free(s->used);
  memset(s, 0, sizeof *s);
}

static size_t idset_slot(const struct idset *s, const uint8_t id[32])
{
  uint64_t h;
  memcpy(&h, id, 8);
  size_t i = h & (s->cap - 1);
  while (s->used[i] && memcmp(s->ids[i], id, 32) != 0) i = (i + 1) & (s->cap - 1);
  return i;
}

static int idset_grow(struct idset *s)
{
  struct idset t = { NULL, NULL, s->cap ? s->cap * 2 : 1024, 0 };
  t.ids = mem_alloc(t.cap * 32);
  t.used = mem_calloc(t.cap, 1);
  if (!t.ids || !t.used) { mem_free(t.ids); mem_free(t.used); return -ENOMEM; }
  for (size_t i = 0; i < s->cap; i++) {
    if (!s->used[i]) continue;
    size_t j = idset_slot(&t, s->ids[i]);
    t.used[j] = 1;
    memcpy(t.ids[j], s->ids[i], 32);
    t.n++;
  }
  mem_free(s->ids);
  mem_free(s->used);
  *s = t;
  return 0;
}

int idset_add(struct idset *s, const uint8_t id[32])
{
  if ((s->n + 1) * 2 > s->cap && idset_grow(s)) return -ENOMEM;
  size_t i = idset_slot(s, id);
  if (s->used[i]) return 0;
  s->used[i] = 1;
  memcpy(s->ids[i], id, 32);
  s->n++;
  return 1;
}

int idset_has(const struct idset *s, const uint8_t id[32])
{
  return s->cap && s->used[idset_slot(s, id)];
}

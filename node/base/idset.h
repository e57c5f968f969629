/*
 * idset — a set of 32-byte ids (record ids, keys): open addressing on the ids' own
 * bytes, which are hashes or keys and so spread already.
 *
 * Zero-initialise (or idset_init) before use; idset_free releases it (accepts a zeroed
 * set). Not thread-safe; allocates with node/mem.
 */
#ifndef KK_IDSET_H
#define KK_IDSET_H

#include <stddef.h>
#include <stdint.h>

struct idset { uint8_t (*ids)[32]; unsigned char *used; size_t cap, n; };

void idset_init(struct idset *s);
void idset_free(struct idset *s);
/* 1 added, 0 already there, -ENOMEM. */
int idset_add(struct idset *s, const uint8_t id[32]);
/* 1 when id is in the set, else 0. */
int idset_has(const struct idset *s, const uint8_t id[32]);

#endif

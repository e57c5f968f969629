/*
 * attrib — where lots came from: the attribution of a lot's mass and recycled mass to
 * the certificates and unledgered inputs it was made of, computed when asked.
 *
 * The rules keep per lot only what they enforce the invariants with (mass, recycled
 * mass by kind, what is left) and, per spend, what it took (node/ledger/state.h). The
 * attribution vectors are recomputed here from the provenance: a lot's vector as
 * created is the certificate, the part its transfer took from the sender's lot,
 * or its share of a transform's pool (the parts taken from every input plus the
 * unledgered inputs); what a spend takes is apportioned from what the lot had left just
 * before it, in the owner's feed order. Every movement uses attr_take (largest
 * remainder, node/ledger/state.h), exactly as the vectors would have been built had they been
 * stored, so the figures do not depend on when they are asked for.
 *
 * Cost: one pass over the provenance of the lots asked about — each lot and each spend
 * in it once, however many of the lots asked share it — with the vectors of a lot kept
 * only until the last lot that needs them is made. A chain of n blends that each add a
 * certificate costs O(n^2) entry operations (its vectors grow with it) and O(n) memory.
 *
 * Runs inside the caller's read (or write) transaction; allocates with node/mem.
 */
#ifndef KK_ATTRIB_H
#define KK_ATTRIB_H

#include <stddef.h>
#include <stdint.h>
#include "../base/idset.h"
#include "state.h"
#include "store.h"

struct attrib_walk;

/* Called once for each lot asked about: the table the vectors' entries name their
 * sources in (by rank, node/ledger/state.h; the same for every call of one attrib_lots), the
 * lot's value, its attribution as created, the
 * attribution of what is left of it (unspent, unclaimed), and whether it was made or
 * passed on by a member whose feed is frozen by evidence of equivocation (it, or any lot
 * it came from other than the certified lots themselves, belongs to one — an issuer's
 * equivocation shows in its certificates instead). The vectors are valid during the
 * call only. A non-zero return stops attrib_lots and is returned by it. */
typedef int (*attrib_fn)(void *arg, const struct attr_source *sources, const uint8_t key[STORE_LOTKEY],
                         const struct lot *l, const struct attr *created, const struct attr *left, int through_frozen);

/* What a provenance includes, for the callbacks of attrib_lots (valid during them
 * only): the records that made each lot in it (an Issue, Receive, Refuse or Transform:
 * a lot is named by its record), by position; and every owner — what incidents may be
 * about. Records are known by position because the walk never learns most of their
 * ids: a question about a record id resolves it to its position first
 * (store_record_by_id); one about a Transfer, to the record that closed it. Init before
 * use; free after. */
struct attrib_prov { struct idset owners; const struct attrib_walk *walk; };
void attrib_prov_init(struct attrib_prov *p);
void attrib_prov_free(struct attrib_prov *p);
/* 1 when the record at (author, seq) made a lot of the provenance, or the member key
 * owns one; else 0. */
int attrib_prov_has_record(const struct attrib_prov *p, const uint8_t author[32], uint64_t seq);
int attrib_prov_has_owner(const struct attrib_prov *p, const uint8_t key[32]);

/* Computes the attribution of the n lots of keys (duplicates allowed: reported once),
 * in one pass over their joint provenance, calling fn for each in an order where a lot
 * comes after the lots it was made from. When prov is not NULL (initialised by the
 * caller), the provenance is added to it before the first call of fn. 0; STORE_ABSENT
 * when a key names no lot; KK_E_CORRUPT when the stored spends do not add up or the
 * record of what a lot was made from is missing; -ENOMEM; a storage error; or fn's
 * result. */
int attrib_lots(struct store_txn *txn, struct store *s, const uint8_t (*keys)[STORE_LOTKEY], size_t n, attrib_fn fn,
                void *arg, struct attrib_prov *prov);

#endif

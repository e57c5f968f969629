/*
 * store — the node's LMDB environment: the log, its indexes and the derived state.
 *
 * One environment per data directory (data.mdb), default (durable) sync flags, a 1 TiB
 * map (address space; the file grows as it is used) so a running node rarely has to
 * grow it under its reading threads (halved at open until it fits where address space
 * is limited); a scratch store starts small. A write transaction that hits
 * STORE_MAP_FULL is aborted, the map grown and the transaction run again — in place for
 * a single-threaded store, by the owner at a safe moment for a shared one (see
 * store_write, store_set_shared). Named databases:
 *
 *   log (never changes once written, except by appending)
 *     log       arrival(8, BE)                    -> envelope bytes: every record in the
 *                                                    order it was stored here (a local
 *                                                    counter), always appended, so the log's
 *                                                    pages are full
 *     runs      author(32) || first seq(8, BE)    -> arrival(8, BE) || count(8, BE): seqs
 *                                                    first .. first+count-1 of the feed are at
 *                                                    arrivals arrival .. arrival+count-1 (a
 *                                                    batch of a feed's records is one run)
 *     byid      record id's first 8 bytes         -> arrival (varint), duplicates (an id
 *                                                    is settled by hashing the record)
 *     heads     author(32)                        -> struct store_head
 *     merkle    author(32) || last leaf(8) || level(1) -> 32-byte Merkle node (node/ledger/tree.h)
 *     keys      author(32) || seq(8, BE)          -> key(32) that signs after that record
 *                                                    (one entry per RotateKey)
 *   what peers said of the log (node/ledger/ckpt.h, node/ledger/evidence.h)
 *     ckpts     author(32) || size(8, BE)         -> checkpoint note (author's signature)
 *     cosigs    author(32) || size(8) || witness(32) -> cosignature line
 *     evidence  evidence id(32)                   -> encoded Equivocation
 *     frozen    author(32)                        -> fork seq(8, BE): records from there on
 *                                                    are held, not applied
 *     unverified author(32) || seq(8, BE)         -> "": taken on a cosigned checkpoint's
 *                                                    word (checkpoint sync); its own
 *                                                    signature is still to be checked
 *   derived state (a pure function of the log: rebuilt by audit, hashed by the digest;
 *   status and lots are keyed by the position of the record they are about, so that a
 *   batch's entries fall on a few pages at the right edge of each B-tree)
 *     status    author(32) || seq(8, BE)          -> i32 error, u8 payload kind: invalid records
 *                                                    only (evaluated = at or before the feed's
 *                                                    cursor; valid = evaluated, not here)
 *     members   key(32)                           -> struct member (node/ledger/state.h)
 *     lots      author(32) || seq(8, BE) || index(4, BE) -> struct lot (of the lot whose
 *                                                    key is that record's id || index)
 *     codes     SHA-256(owner || code)[0..8) || lot key(36) -> "" (rules_code_lots)
 *     transfers transfer id(32)                   -> struct xfer
 *     claims    lot key(36) || seq(8, BE)         -> claim
 *     attests   record id(32) || attest id(32)    -> ""
 *     revoked   record id(32) || revoking record id(32) -> "" (a set: rules_revocations)
 *     spends    lot position(44) || seq(8, BE)    -> struct spend: what the owner's record at
 *                                                    that seq took from the lot (node/ledger/state.h)
 *     cursors   author(32)                        -> applied seq(8, BE)
 *     incidents what it is about(32) || incident id(32) -> "": valid incident reports by what
 *                                                    they name (a record, a lot's record, a member)
 *     made      author(32) || seq(8, BE) || input(2, BE) -> what the lots of that Receive,
 *                                                    Refuse or Transform were made from:
 *                                                    the source lot's position and the
 *                                                    spending record's seq (node/ledger/rules.h,
 *                                                    rules_made_each)
 *   local (arrival-dependent, never in the digest)
 *     pending   dependency(33) || author(32)      -> ""
 *     meta      name                              -> value ("network", "registry",
 *                                                    "layout": STORE_LAYOUT, u32 BE,
 *                                                    STORE_META_CONFIRMED)
 *     witnessed author(32)                        -> size(8, BE) || root(32) of the last
 *                                                    checkpoint this node cosigned
 *
 * Never open one environment twice in a process (LMDB forbids it). A store handle may
 * be used by one thread at a time; reading threads need their own read transactions.
 */
#ifndef KK_STORE_H
#define KK_STORE_H

#include "../base/err.h"

#include <stddef.h>
#include <stdint.h>

/* meta "own_head_confirmed": "\1" once a peer has vouched for the node's own feed head
 * during its current (or last) run, "\0" from the run's start until then (the node
 * writes it; the CLI writing with no node warns on "\0"). */
#define STORE_META_CONFIRMED "own_head_confirmed"

/* One of LMDB's limits was reached (readers, transaction size, databases). */
#define STORE_LIMIT KK_ERR(STORE_LIMIT)

#define STORE_LOTKEY 36
#define STORE_LOTPOS 44          /* the lots database's key: author || seq || index */
#define STORE_SPENDKEY 52        /* the spends database's key: lot position || seq */
/* Layout of the derived state; a store written with an earlier one is rebuilt from its
 * log when first opened for writing (rules_upgrade). 2: status and lots keyed by
 * position (author, seq) instead of record id. 3: revocations a set, keyed by
 * target || revoking record; lots without attribution vectors, spends with their
 * amounts (attribution is computed when asked, node/ledger/attrib.h); incidents indexed.
 * 4: `made`, what each lot made by a Receive, Refuse or Transform was made from, by
 * position (attribution discovers provenance without looking up ids). 5: members carry
 * successions (node/ledger/state.h). */
#define STORE_LAYOUT 5

/* The store's databases (what each holds: the table above), named for the functions
 * that read and write them. The order is the store's own (its digest hashes the
 * derived ones in it). */
enum store_db {
  STORE_DB_LOG, STORE_DB_RUNS, STORE_DB_BYID, STORE_DB_HEADS, STORE_DB_MERKLE, STORE_DB_KEYS,
  STORE_DB_CKPTS, STORE_DB_COSIGS, STORE_DB_EVIDENCE, STORE_DB_FROZEN, STORE_DB_UNVERIFIED,
  STORE_DB_STATUS, STORE_DB_MEMBERS, STORE_DB_LOTS, STORE_DB_CODES, STORE_DB_TRANSFERS, STORE_DB_CLAIMS,
  STORE_DB_ATTESTS, STORE_DB_REVOKED, STORE_DB_SPENDS, STORE_DB_CURSORS, STORE_DB_INCIDENTS, STORE_DB_MADE,
  STORE_DB_PENDING, STORE_DB_META, STORE_DB_WITNESSED,
  STORE_DB__COUNT,
  STORE_DB_OLD_TREE = STORE_DB__COUNT /* a store before layout 3: the tree by level, while it is moved */
};

/* A transaction (store_read's or store_write's): opaque, only the store module reaches
 * LMDB through it. */
struct store_txn;

/* A store: opaque; store_open's, closed with store_close. */
struct store;

/* What the log says of one feed. */
struct store_head {
  uint64_t seq;                 /* last stored seq (0: none) */
  uint8_t last_id[32];          /* id of the record at seq */
  uint8_t key[32];              /* key that signs the next record (changes on RotateKey) */
  uint64_t run_first, run_arrival; /* the feed's last run (store's own bookkeeping) */
};

/* Opens (creating when !readonly) the store in dir. On success *out is the caller's to
 * store_close(). Errors: -errno, LMDB codes, KK_E_NOT_INIT when readonly and absent,
 * KK_E_OLD_STORE when readonly and its derived state has an earlier layout (opened for
 * writing, such a store has derived_stale set: the opener runs rules_upgrade). */
int store_open(struct store **out, const char *dir, int readonly);
void store_close(struct store *s);

/* 1 when the store's derived state has an earlier layout and must be rebuilt before it
 * is read (rules_upgrade does it, then calls store_derived_rebuilt). */
int store_derived_stale(const struct store *s);
void store_derived_rebuilt(struct store *s);

/* Opens a new store for a throw-away computation (audit's replay, a proof bundle's
 * check): written through the map, never synced — nothing in it needs to survive a
 * crash, and the copies and fsyncs dominated those runs. */
int store_open_scratch(struct store **out, const char *dir);

/* Runs fn(txn, ctx) in one write transaction and commits it. If fn or the commit fails
 * with STORE_MAP_FULL, the transaction is aborted, and — unless the store is shared — the
 * map doubled and fn run again, so fn must not keep side effects outside the
 * transaction between tries (reset them at its start). A shared store returns
 * STORE_MAP_FULL with nothing written: its owner calls store_grow when no thread holds a
 * transaction, then runs the work again (STORE_MAP_RESIZED likewise, store_read). Any other non-zero result from fn aborts and
 * is returned. The commit is durable when this returns 0. */
int store_write(struct store *s, int (*fn)(struct store_txn *txn, void *ctx), void *ctx);

/* Marks the store as used by several threads at once (a node: loop thread, ingest,
 * background checks); call before the second thread starts. */
void store_set_shared(struct store *s);

/* Doubles the map. Only while no thread of the process holds a transaction on s (LMDB's
 * rule: a map resized under a reader crashes it). 0 or a negative code. */
int store_grow(struct store *s);

/* Adopts the map size another process gave the file (after STORE_MAP_RESIZED). Same rule
 * as store_grow. 0 or a negative code. */
int store_adopt_map_size(struct store *s);

/* Sets the map size (LMDB raises it to what the file already uses). Same rule as
 * store_grow. 0 or a negative code. */
int store_set_map_size(struct store *s, size_t bytes);

/* The current map size in bytes. */
size_t store_map_size(struct store *s);

/* LMDB's result at the module boundary: system errors (LMDB returns them positive)
 * become -errno, a failed write to the disk KK_E_DISK_WRITE, and the codes that mean
 * the file is damaged KK_E_CORRUPT, so a user reads one clear message whichever way
 * LMDB noticed it. Everything a store function returns has been through it. */
int store_err(int rc);

/* Begins a read transaction (caller aborts it with mdb_txn_abort). When another
 * process has grown the map, a store that is not shared adopts the size and begins; a
 * shared one returns STORE_MAP_RESIZED (so does store_write): its owner calls
 * store_adopt_map_size when no thread holds a transaction. */
int store_read(struct store *s, struct store_txn **txn);

/* Plain get/put on a named database; *val points into the map, valid until the
 * transaction ends. get returns STORE_ABSENT when absent. */
int store_get(struct store_txn *txn, struct store *s, enum store_db db, const void *key, size_t klen, const void **val,
              size_t *vlen);
int store_put(struct store_txn *txn, struct store *s, enum store_db db, const void *key, size_t klen, const void *val,
              size_t vlen);
int store_del(struct store_txn *txn, struct store *s, enum store_db db, const void *key, size_t klen);

/* Ends a read transaction (store_read's); NULL is ignored. */
void store_txn_abort(struct store_txn *txn);

/* What store functions return for a key that is not there (a Kiroku code: LMDB's own
 * never leaves the store module), and the two map conditions a shared store's owner
 * handles (store_write, store_read), which keep LMDB's values; callers compare with these
 * names, never with LMDB's. */
#define STORE_ABSENT KK_ERR(ABSENT)
#define STORE_MAP_FULL KK_ERR(MAP_FULL)
#define STORE_MAP_RESIZED KK_ERR(MAP_RESIZED)

/* Calls fn(arg, key, klen, val, vlen) for every entry of dbi whose key begins with
 * prefix[0..plen) (every entry when plen is 0), in key order, until fn returns non-zero,
 * which is returned; 0 at the end, or a storage error. The pointers are valid during the
 * call. The one prefix scan: modules iterate through it, not with cursors of their own. */
typedef int (*store_each_fn)(void *arg, const void *key, size_t klen, const void *val, size_t vlen);
int store_each(struct store_txn *txn, struct store *s, enum store_db db, const void *prefix, size_t plen, store_each_fn fn, void *arg);
/* The same from the first key at or after start[0..slen), while keys begin with
 * prefix[0..plen) (to the last key when plen is 0): a range, or a scan done in parts,
 * each resuming where the last stopped. */
int store_each_from(struct store_txn *txn, struct store *s, enum store_db db, const void *start, size_t slen, const void *prefix, size_t plen,
                    store_each_fn fn, void *arg);

/* The last entry whose key begins with prefix[0..plen) (1 <= plen <= STORE_KEY_MAX):
 * pointers valid until the transaction writes or ends; STORE_ABSENT when none. */
#define STORE_KEY_MAX 511
int store_last(struct store_txn *txn, struct store *s, enum store_db db, const void *prefix, size_t plen, const void **key, size_t *klen,
               const void **val, size_t *vlen);

/* Deletes every entry whose key begins with prefix[0..plen); 0 also when there was none. */
int store_del_prefix(struct store_txn *txn, struct store *s, enum store_db db, const void *prefix, size_t plen);

/* How many entries a database holds, for the ones people ask about (status, members,
 * taint checks). */
enum store_counted { STORE_N_MEMBERS, STORE_N_REVOKED, STORE_N_FROZEN, STORE_N_PENDING, STORE_N_UNVERIFIED, STORE_N_EVIDENCE };
int store_entries(struct store_txn *txn, struct store *s, enum store_counted which, uint64_t *n);

/* Calls fn(arg, author, head) for every feed the store holds, in author order, until fn
 * returns non-zero (returned); 0 at the end, KK_E_CORRUPT on a malformed head, or a
 * storage error. */
typedef int (*store_head_fn)(void *arg, const uint8_t author[32], const struct store_head *h);
int store_heads_each(struct store_txn *txn, struct store *s, store_head_fn fn, void *arg);

/* Calls fn(arg, author, seq) for every record taken on a checkpoint's word whose
 * signature is still to be checked (`unverified`), in (author, seq) order; same results. */
typedef int (*store_position_fn)(void *arg, const uint8_t author[32], uint64_t seq);
int store_unverified_each(struct store_txn *txn, struct store *s, store_position_fn fn, void *arg);

/* Calls fn(arg, member, seq) for every frozen feed (frozen from seq on), in member
 * order; same results. */
typedef int (*store_frozen_fn)(void *arg, const uint8_t member[32], uint64_t seq);
int store_frozen_each(struct store_txn *txn, struct store *s, store_frozen_fn fn, void *arg);

int store_meta_get(struct store_txn *txn, struct store *s, const char *name, const void **val, size_t *vlen);
int store_meta_put(struct store_txn *txn, struct store *s, const char *name, const void *val, size_t vlen);

/* Head of a feed; STORE_ABSENT if the feed is unknown. */
int store_head_get(struct store_txn *txn, struct store *s, const uint8_t author[32], struct store_head *h);
int store_head_put(struct store_txn *txn, struct store *s, const uint8_t author[32], const struct store_head *h);
/* A heads entry's value into *h; KK_E_CORRUPT when it is not one. */
int store_head_decode(const void *v, size_t n, struct store_head *h);

/* Envelope of (author, seq) or of a record id; *env valid until the txn ends.
 * STORE_ABSENT when absent. */
int store_record_get(struct store_txn *txn, struct store *s, const uint8_t author[32], uint64_t seq,
                     const uint8_t **env, size_t *len);
int store_record_by_id(struct store_txn *txn, struct store *s, const uint8_t id[32],
                       uint8_t author[32], uint64_t *seq, const uint8_t **env, size_t *len);
/* The same for an id the store is known to hold — one a valid record names (the
 * rules found it when they judged that record, and the log never loses a record):
 * when no other record shares the id's first 8 bytes, that one is it, unhashed. For
 * reading valid state (attribution); never for an id from a peer, a user or a record
 * being judged, which may name bytes no record has. */
int store_record_by_held_id(struct store_txn *txn, struct store *s, const uint8_t id[32],
                            uint8_t author[32], uint64_t *seq, const uint8_t **env, size_t *len);

/* Calls fn(arg, id) for every stored record whose id begins with the hex digits
 * prefix[0 .. nibbles) (packed two a byte, high first; nibbles <= 64), in id order of
 * their first 8 bytes, until fn returns non-zero (returned). 0 or a storage error. */
int store_ids_with_prefix(struct store_txn *txn, struct store *s, const uint8_t *prefix, unsigned nibbles,
                          int (*fn)(void *arg, const uint8_t id[32]), void *arg);

/* Calls fn(arg, seq, env, len) for the records of a feed from seq `from` on, in seq
 * order, at most max of them, until the feed ends or fn returns non-zero (returned).
 * Reads run by run: for serving many records without a lookup each. */
int store_feed_each(struct store_txn *txn, struct store *s, const uint8_t author[32], uint64_t from, uint64_t max,
                    int (*fn)(void *arg, uint64_t seq, const uint8_t *env, size_t len), void *arg);

/* The first record of a feed at or after seq: *got its seq. STORE_ABSENT when none. */
int store_record_next(struct store_txn *txn, struct store *s, const uint8_t author[32], uint64_t seq, uint64_t *got,
                      const uint8_t **env, size_t *len);

/* Appends a record already checked by ingest at the log's next arrival; updates byid,
 * runs and heads. The feed's Merkle tree is the caller's to extend in the same
 * transaction (tree_append_record, node/ledger/tree.h). */
int store_record_append(struct store_txn *txn, struct store *s, const uint8_t id[32],
                        const uint8_t author[32], uint64_t seq, const uint8_t *env,
                        size_t len, const uint8_t next_key[32]);

/* The key that signs a feed's records after its first `seq` records (the author's own
 * key until a RotateKey): what checkpoints of size seq are signed with. */
int store_key_at(struct store_txn *txn, struct store *s, const uint8_t author[32], uint64_t seq, uint8_t key[32]);

/* The key that signs author's feed now: its id until a RotateKey, then the key the
 * newest one held named; *since (may be NULL) its seq (0: none). 0 or a storage error. */
int store_key_now(struct store_txn *txn, struct store *s, const uint8_t author[32], uint8_t key[32], uint64_t *since);

/* Calls fn(arg, seq) for each RotateKey record of author's feed, in seq order, until
 * fn returns non-zero (returned); 0 at the end, or a storage error. */
int store_rotations_each(struct store_txn *txn, struct store *s, const uint8_t author[32],
                         int (*fn)(void *arg, uint64_t seq), void *arg);

/* Seq from which a feed is frozen (held, not applied); 0 when it is not. */
int store_frozen_at(struct store_txn *txn, struct store *s, const uint8_t author[32], uint64_t *seq);

/* Puts a record into a sparse store (a proof bundle's scratch store, node/ledger/bundle.h):
 * log, runs and byid, head raised to the highest seq; no Merkle tree. A feed's records
 * go in in seq order. The caller has checked the record (signature, inclusion proof). */
int store_record_put_sparse(struct store_txn *txn, struct store *s, const uint8_t id[32], const uint8_t author[32],
                            uint64_t seq, const uint8_t *env, size_t len);

/* Empties every derived-state database (for a rebuild). */
int store_clear_derived(struct store_txn *txn, struct store *s);

/* SHA-256 over a canonical dump of the derived state: for each derived database in a
 * fixed order, its name, then every (key, value) in key order, each length-prefixed.
 * Two stores with the same records give the same digest. */
int store_digest(struct store_txn *txn, struct store *s, uint8_t out[32]);

/* Number of records in the log. */
int store_count_records(struct store_txn *txn, struct store *s, uint64_t *n);

/* The newest arrival number (0 when the log is empty). */
int store_log_last(struct store_txn *txn, struct store *s, uint64_t *arrival);

/* Calls fn(arg, arrival, env, len) for every record that arrived after `after`, in
 * arrival order (each feed's records in seq order); env is valid during the call. Stops
 * at fn's first non-zero result and returns it; else 0 or a storage error. */
int store_log_each(struct store_txn *txn, struct store *s, uint64_t after,
                   int (*fn)(void *arg, uint64_t arrival, const uint8_t *env, size_t len), void *arg);

/* Moves the log of a store written before it was kept by arrival (s->log_stale, set by
 * store_open for writing) into the current layout, in transactions of bounded size
 * (resumable if interrupted). 0 at once when there is nothing to do; progress(arg, done,
 * total) after each transaction when not NULL; then has move_tree (the Merkle tree's
 * tree_migrate, node/ledger/tree.h, handed in so the store knows nothing of the tree)
 * move the nodes the old layout kept, from key `from` (zeroed at first), at most max a
 * call, *more set while some are left; then drops the old databases. Run before
 * anything reads the log. */
typedef int (*store_tree_move_fn)(struct store_txn *txn, struct store *s, uint8_t *from, size_t max, int *more);
int store_migrate_log(struct store *s, store_tree_move_fn move_tree, void (*progress)(void *arg, uint64_t done, uint64_t total),
                      void *arg);

#endif

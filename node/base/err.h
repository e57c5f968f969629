/*
 * err — Kiroku's error codes and their messages.
 *
 * Every function in Kiroku returns 0 on success or a negative code. System errors stay
 * -errno; LMDB's own codes pass through unchanged (they live around -30800); Kiroku's
 * codes live in the band starting at KK_ERR_BASE, clear of both and of libuv's. One
 * function, kk_strerror(), reads any of them.
 *
 * Each message says what was wrong, in words a user can act on.
 */
#ifndef KK_ERR_H
#define KK_ERR_H

#define KK_ERR_BASE (-20000)

/* X(name, class, message). class: 'I' input/rule error (exit 2), 'S' storage/internal
 * (exit 3). The order fixes the numbers: append only, numbers are stored in the ledger's
 * derived state (the reason a record was marked invalid). */
#define KK_ERRORS(X) \
  X(DECODE,        'I', "malformed record: the bytes do not decode as a Kiroku record") \
  X(NONCANONICAL,  'I', "record is not in its one canonical encoding") \
  X(TOO_LARGE,     'I', "record or field exceeds its size limit") \
  X(FIELD,         'I', "a field has an invalid length or value") \
  X(UTF8,          'I', "text is not valid UTF-8 or contains control characters") \
  X(VERSION,       'I', "unsupported record version") \
  X(NETWORK,       'I', "record belongs to another network") \
  X(SIGNATURE,     'I', "signature does not verify against the feed's key") \
  X(SEQ_GAP,       'I', "record leaves a gap in its feed (an earlier record is missing)") \
  X(PREV,          'I', "prev does not name the id of the feed's previous record") \
  X(FORK,          'I', "a different record already exists at this feed position (equivocation)") \
  X(NO_PAYLOAD,    'I', "record carries no payload") \
  X(GENESIS,       'I', "genesis record is invalid or not the first record of the registry") \
  X(NOT_MEMBER,    'I', "author is not an admitted member of the network") \
  X(SUSPENDED,     'I', "author is suspended from this point of its feed") \
  X(ROLE,          'I', "author does not hold the role this record needs") \
  X(NOT_REGISTRY,  'I', "only the registry may admit or suspend members") \
  X(ALREADY_MEMBER,'I', "that key is already an admitted member") \
  X(UNKNOWN_MEMBER,'I', "no admitted member has that key or name") \
  X(ZERO_MASS,     'I', "mass must be greater than zero") \
  X(RC_EXCEEDS,    'I', "recycled mass exceeds the lot's mass (per-lot cap)") \
  X(COUNTRY,       'I', "country must be an ISO 3166-1 alpha-2 code such as JP or DE") \
  X(MODEL,         'I', "unknown or unsuitable chain-of-custody model") \
  X(DUP_CODE,      'I', "this member already has a lot with that code") \
  X(UNKNOWN_LOT,   'I', "no such lot") \
  X(NOT_OWNER,     'I', "only the lot's owner may spend or claim it") \
  X(OVERSPEND,     'I', "spend exceeds the mass still available in the lot (spend once)") \
  X(SELF_TRANSFER, 'I', "a transfer must go to another member") \
  X(UNKNOWN_TRANSFER,'I', "no such transfer") \
  X(NOT_RECIPIENT, 'I', "only the transfer's recipient may receive or refuse it") \
  X(TRANSFER_CLOSED,'I', "transfer was already received or refused") \
  X(CONSERVATION,  'I', "outputs exceed inputs (conservation of mass)") \
  X(MB_OVERDRAFT,  'I', "declared recycled content exceeds the mass-balance credit after yield") \
  X(DECLARED_RC,   'I', "per-output recycled content may be declared only under mass balance") \
  X(MATERIAL_MIX,  'I', "mass balance moves credit only within one material group (the part of the material before /): every input and output must share it") \
  X(SEGREGATED_UNLEDGERED,'I', "the segregated model admits no unledgered (non-qualifying) input") \
  X(DUP_INPUT,     'I', "the same lot is listed twice as an input") \
  X(CLAIM_EXCEEDS, 'I', "claim exceeds the lot's unclaimed recycled content") \
  X(SHARE,         'I', "share must be more than 0 % and at most 100 %") \
  X(UNKNOWN_RECORD,'I', "no such record") \
  X(REVOKE_TARGET, 'I', "only certificates (issue), attestations and claims can be revoked, by a certifier or their author") \
  X(ALREADY_REVOKED,'I', "that record is already revoked") \
  X(OVERFLOW,      'I', "quantity overflows 64-bit milligrams") \
  X(ROTATE_PROOF,  'I', "key rotation lacks a valid proof by the new key") \
  X(USAGE,         'I', "usage error") \
  X(NOT_INIT,      'I', "data directory holds no ledger: run `kiroku init` or `kiroku join` first") \
  X(KEY_PERMS,     'I', "identity key file is readable by other users: chmod 600 it") \
  X(NO_KEY,        'I', "no identity key in the data directory: run `kiroku keygen` first") \
  X(EXISTS,        'I', "already exists") \
  X(AMBIGUOUS,     'I', "reference matches more than one lot or record: use a longer id prefix") \
  X(QUANTITY,      'I', "bad quantity: use a number with a unit t, kg, g or mg (e.g. 312.4kg)") \
  X(RECFILE,       'I', "not a Kiroku records file, or it is truncated") \
  X(PENDING,       'I', "the record waits for records this node does not have yet") \
  X(CORRUPT,       'S', "stored data is corrupt: restore the data directory from a backup, or move it aside and re-sync from peers (docs/operations.md)") \
  X(INTERNAL,      'S', "internal error") \
  X(CHECKPOINT,    'I', "checkpoint is malformed, names another feed or network, or its signature does not verify") \
  X(EVIDENCE,      'I', "not valid evidence of equivocation") \
  X(BUNDLE,        'I', "proof bundle does not verify") \
  X(OLD_STORE,     'I', "the store was made by an earlier version: run kiroku upgrade (or start the node) to upgrade it") \
  X(DISK_WRITE,    'S', "the data file could not be written (disk full, over quota, or failing): free space and retry; nothing after the last acknowledged record was committed") \
  X(DIR_PERMS,     'I', "the data directory or a file in it is owned by another user or writable by others: chown it to the node's user and chmod go-w it") \
  X(MATERIAL,      'I', "a material is GROUP or GROUP/FORM (e.g. PET/flake, aluminium/ingot): a group, then optionally one / and a form, neither empty") \
  X(BUSY,          'S', "other writers kept appending to the same feeds while these records were checked: nothing was written; try again") \
  X(FROZEN,        'I', "your feed is frozen by evidence of equivocation (two records at one seq signed with your key): nothing was written") \
  X(NO_FILE,       'I', "cannot open the file named: it does not exist, is a directory, or is not readable") \
  X(UNCONFIRMED,   'S', "no peer has told this node yet what it holds of this member's own feed, so a newer copy of the feed elsewhere (a restored backup) cannot be ruled out: nothing was written. Make a peer reachable and try again, or run a network of one with standalone = 1") \
  X(ABSENT,        'S', "not found in the store (what was looked up is not held here)") \
  X(MAP_FULL,      'S', "the data file's map is full: it is grown and the write run again (if this is reported, the map cannot grow: free address space or memory)") \
  X(MAP_RESIZED,   'S', "another process grew the data file's map: it is adopted and the work run again") \
  X(NOTHING_NEW,   'S', "nothing new to write: the transaction was not committed (not an error)") \
  X(DUPLICATE,     'S', "that record is held already (the same bytes at the same feed position): nothing to store") \
  X(SUCCEEDED,     'I', "that member has a successor already: a member is succeeded once (succeed its successor instead)") \
  X(STORE_LIMIT,   'S', "the data file's engine reached one of its limits (too many processes reading it at once, or a transaction too large): stop other kiroku processes on this directory and retry")

/* Kiroku's codes: KK_ERR(DECODE) == KK_ERR_BASE - 1, and so on downwards. */
#define KK_X_ENUM(name, cls, msg) KK_EI_##name,
enum kk_err_index { KK_ERRORS(KK_X_ENUM) KK_EI__COUNT };
#undef KK_X_ENUM
#define KK_ERR(name) (KK_ERR_BASE - 1 - KK_EI_##name)

/* Message for any code this program can return (Kiroku, -errno, a registered library's).
 * Never NULL;
 * the string is static. */
const char *kk_strerror(int code);

/* Short symbolic name ("OVERSPEND") for a Kiroku code, the registered library's name
 * (kk_err_register_library) for its codes, "ERRNO" otherwise. */
const char *kk_errname(int code);

/* The codes of a library that passes its own through (LMDB's, which the store registers
 * when it opens one), so that kk_strerror can read them without the base layer knowing
 * the library: codes lo..hi are named `name` and read by msg. One library; call before
 * a second thread starts. */
void kk_err_register_library(int lo, int hi, const char *name, const char *(*msg)(int code));

/* 1 for input/rule errors (exit 2), 0 for storage/internal ones (exit 3). */
int kk_err_is_input(int code);

#endif

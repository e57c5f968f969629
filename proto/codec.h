/*
 * codec — the only door between Kiroku and protobuf-c.
 *
 * Decodes untrusted record bytes into plain C structs and encodes them back. No
 * protobuf-c type crosses this header. The codec enforces what protobuf-c does not:
 *   - size limits (a record is at most CODEC_MAX_RECORD bytes; each string and list has
 *     its own cap below) — checked before anything is allocated for the input;
 *   - canonical form: an envelope is exactly field 1 (body) then field 2 (sig, 64 bytes);
 *     a body must re-encode to the same bytes and carry no unknown fields, so every
 *     record has exactly one encoding and its id (SHA-256 of the envelope) is stable;
 *   - text is valid UTF-8 without control characters;
 *   - fixed-length fields (keys, ids) have exactly their length.
 * The codec checks form, not meaning: whether a record is allowed is node/rules' job.
 *
 * All functions are reentrant and thread-safe.
 */
#ifndef KK_CODEC_H
#define KK_CODEC_H

#include <stddef.h>
#include <stdint.h>

#define CODEC_VERSION 1
#define CODEC_MAX_RECORD 65536   /* envelope bytes */
#define CODEC_ROTATIONS_MAX 16   /* RotateKey records a handshake may carry */
#define CODEC_ID 32              /* record ids, feed ids, keys, hashes */

#define CODEC_CODE_MAX 64        /* lot codes (bytes) */
#define CODEC_NAME_MAX 128       /* member names, facility names */
#define CODEC_MATERIAL_MAX 32
#define CODEC_SCHEME_MAX 64
#define CODEC_CERT_MAX 128
#define CODEC_TEXT_MAX 1024      /* reasons, statements, scopes, incident text */
#define CODEC_IO_MAX 32          /* inputs, outputs of a transform */
#define CODEC_UNLEDGERED_MAX 16
#define CODEC_EVIDENCE_MAX 16
#define CODEC_FACILITIES_MAX 8

/* Member roles (bit set). The registry role is never admitted: it belongs to the
 * genesis author alone. */
#define KK_ROLE_RECYCLER     0x01u
#define KK_ROLE_PROCESSOR    0x02u
#define KK_ROLE_MANUFACTURER 0x04u
#define KK_ROLE_CERTIFIER    0x08u
#define KK_ROLE_AUDITOR      0x10u
#define KK_ROLE_ALL          0x1fu
#define KK_ROLE_REGISTRY     0x80u

/* Chain-of-custody models, ordered from weakest to strongest claim on physical
 * content: a lot made from several models carries the minimum. */
enum kk_model {
  KK_MODEL_NONE = 0,
  KK_MODEL_MASS_BALANCE = 1,
  KK_MODEL_CONTROLLED_BLENDING = 2,
  KK_MODEL_SEGREGATED = 3,
  KK_MODEL_IDENTITY_PRESERVED = 4,
};

enum kk_payload {
  KK_PL_NONE = 0,
  KK_PL_GENESIS, KK_PL_ADMIT, KK_PL_SUSPEND, KK_PL_ROTATE_KEY, KK_PL_ISSUE,
  KK_PL_TRANSFER, KK_PL_RECEIVE, KK_PL_REFUSE, KK_PL_TRANSFORM, KK_PL_CLAIM,
  KK_PL_ATTEST, KK_PL_REVOKE, KK_PL_INCIDENT,
  KK_PL__COUNT
};

struct kk_lotref { uint8_t record[CODEC_ID]; uint32_t index; };

struct kk_genesis { char name[CODEC_NAME_MAX + 1]; };
struct kk_admit {
  uint8_t member[CODEC_ID];
  char name[CODEC_NAME_MAX + 1];
  uint32_t roles;
  char country[3];                /* "" or two upper-case letters (checked by rules) */
  size_t n_facilities;
  char facilities[CODEC_FACILITIES_MAX][CODEC_NAME_MAX + 1];
  int has_succeeds;               /* a succession: this key takes the place of `succeeds` */
  uint8_t succeeds[CODEC_ID];
  uint64_t from_seq;              /* with has_succeeds: its first seq no longer valid */
  char gln[14];                   /* "" or the party GLN: 13 digits (the CLI checks its check digit) */
};
struct kk_suspend { uint8_t member[CODEC_ID]; uint64_t from_seq; char reason[CODEC_TEXT_MAX + 1]; };
struct kk_rotate_key { uint8_t new_key[CODEC_ID]; uint8_t proof[64]; };
struct kk_issue {
  char lot_code[CODEC_CODE_MAX + 1];
  char material[CODEC_MATERIAL_MAX + 1];
  uint64_t mass_mg, post_mg, pre_mg;
  char origin[3];
  char facility[CODEC_NAME_MAX + 1];
  char scheme[CODEC_SCHEME_MAX + 1];
  char certificate[CODEC_CERT_MAX + 1];
  size_t n_evidence;
  uint8_t evidence[CODEC_EVIDENCE_MAX][CODEC_ID];
  uint32_t model;
};
struct kk_transfer { struct kk_lotref lot; uint64_t mass_mg; uint8_t to[CODEC_ID]; };
struct kk_receive { uint8_t transfer[CODEC_ID]; };
struct kk_refuse { uint8_t transfer[CODEC_ID]; char reason[CODEC_TEXT_MAX + 1]; };
struct kk_input { struct kk_lotref lot; uint64_t mass_mg; };
struct kk_unledgered { char material[CODEC_MATERIAL_MAX + 1]; uint64_t mass_mg; char origin[3]; };
struct kk_output {
  char lot_code[CODEC_CODE_MAX + 1];
  char material[CODEC_MATERIAL_MAX + 1];
  uint64_t mass_mg, post_mg, pre_mg;
};
struct kk_transform {
  uint32_t model;
  size_t n_inputs, n_unledgered, n_outputs;
  struct kk_input inputs[CODEC_IO_MAX];
  struct kk_unledgered unledgered[CODEC_UNLEDGERED_MAX];
  struct kk_output outputs[CODEC_IO_MAX];
  char process[CODEC_NAME_MAX + 1];
};
struct kk_claim { struct kk_lotref lot; uint32_t share_ppm; char scope[CODEC_TEXT_MAX + 1]; };
struct kk_attest { uint8_t record[CODEC_ID]; char statement[CODEC_TEXT_MAX + 1]; };
struct kk_revoke { uint8_t record[CODEC_ID]; char reason[CODEC_TEXT_MAX + 1]; };
struct kk_incident { char kind[CODEC_NAME_MAX + 1]; uint8_t about[CODEC_ID]; char text[CODEC_TEXT_MAX + 1]; };

/* A decoded record body. Plain data: copy it, zero it, free it with mem_free(). */
struct kk_body {
  uint32_t version;
  int has_network;                /* 0 only in the genesis record */
  uint8_t network[CODEC_ID];
  uint8_t author[CODEC_ID];
  uint64_t seq;
  int has_prev;                   /* 0 exactly when seq == 1 */
  uint8_t prev[CODEC_ID];
  uint64_t time_ms;
  int has_source_event;           /* imported from an EPCIS event (kiroku import --epcis) */
  uint8_t source_event[CODEC_ID]; /* its CBV 2.0 event hash (SHA-256) */
  enum kk_payload kind;
  union {
    struct kk_genesis genesis;
    struct kk_admit admit;
    struct kk_suspend suspend;
    struct kk_rotate_key rotate_key;
    struct kk_issue issue;
    struct kk_transfer transfer;
    struct kk_receive receive;
    struct kk_refuse refuse;
    struct kk_transform transform;
    struct kk_claim claim;
    struct kk_attest attest;
    struct kk_revoke revoke;
    struct kk_incident incident;
  } u;
};

/* A record as bytes, split into its parts. Pointers point into the envelope buffer the
 * caller passed to codec_envelope_split(), and live as long as it does. */
struct kk_envelope_view {
  const uint8_t *body;
  size_t body_len;
  const uint8_t *sig;             /* 64 bytes */
};

/* Checks that env[0..len) is a canonical envelope and splits it. 0 or KK_E_DECODE,
 * KK_E_NONCANONICAL, KK_E_TOO_LARGE. Allocates nothing. */
int codec_envelope_split(const uint8_t *env, size_t len, struct kk_envelope_view *out);

/* A record's feed position and payload kind, read from its bytes without decoding
 * them all (the body's fields 3 and 4, and the number of its payload field): for the
 * store, which keeps records by arrival. 0, or a decoding error for bytes that are not
 * a record. Allocates nothing. */
int codec_record_position(const uint8_t *env, size_t len, uint8_t author[32], uint64_t *seq, int *kind);

/* A body restamped at the feed position its appender knows (the node, for a body the CLI
 * encoded): its header fields (version, network, author, seq, prev, time) give way to
 * version CODEC_VERSION, network, the body's own author, seq, prev (none at seq 1) and
 * time_ms, and the payload's bytes follow unchanged — the payload is neither decoded
 * nor encoded again. The result is what codec_body_encode gives for the same body with
 * that header (canonical bytes in, canonical bytes out). *out is the caller's
 * (mem_free); author and *kind: the body's author and payload kind. 0, KK_E_DECODE for
 * bytes that are not a body with an author and one payload, or -ENOMEM. */
int codec_body_restamp(const uint8_t *body, size_t len, const uint8_t network[32], uint64_t seq, const uint8_t prev[32],
                       uint64_t time_ms, uint8_t **out, size_t *outlen, uint8_t author[32], int *kind);

/* Builds the canonical envelope for body||sig into a new mem_alloc'd buffer (*out, *outlen;
 * the caller frees). 0, KK_E_TOO_LARGE or -ENOMEM. */
int codec_envelope_join(const uint8_t *body, size_t body_len, const uint8_t sig[64],
                        uint8_t **out, size_t *outlen);

/* Decodes body bytes into *out (caller-owned, may be on the heap: it is ~10 KiB).
 * Checks canonical form, unknown fields, lengths, caps and UTF-8, not meaning.
 * 0 or KK_E_DECODE, KK_E_NONCANONICAL, KK_E_TOO_LARGE, KK_E_FIELD, KK_E_UTF8,
 * KK_E_NO_PAYLOAD, -ENOMEM. *out is unspecified on error. */
int codec_body_decode(const uint8_t *buf, size_t len, struct kk_body *out);

/* The same for bytes this node already checked with codec_body_decode (records read
 * back from the store): skips the re-encoding comparison, which is what makes the full
 * decode twice as expensive. Never use it on bytes from outside. */
int codec_body_decode_stored(const uint8_t *buf, size_t len, struct kk_body *out);
/* The body of an envelope read back from the store: codec_envelope_split, then
 * codec_body_decode_stored. 0, -ENOMEM, or the codec's error (which, for stored bytes,
 * callers report as corruption). */
int codec_envelope_body_stored(const uint8_t *env, size_t len, struct kk_body *out);

/* Encodes *in into a new mem_alloc'd buffer (the caller frees). Fails with KK_E_FIELD,
 * KK_E_UTF8 or KK_E_TOO_LARGE for a body the decoder would refuse, so every encoded body
 * decodes. 0 or negative code. */
int codec_body_encode(const struct kk_body *in, uint8_t **out, size_t *outlen);

/* Name of a payload kind ("issue", "transfer", ...) or "unknown". Static string. */
const char *codec_payload_name(enum kk_payload kind);

/* Name of a model ("mass-balance", ...) or "none"; and back: 0 or KK_E_MODEL. */
const char *codec_model_name(uint32_t model);
int codec_model_parse(const char *name, uint32_t *model);

/* 0 when s is valid UTF-8 without control characters (tab excepted), else KK_E_UTF8. */
int codec_check_text(const char *s, size_t len);

/* ---- peer protocol messages -------------------------------------------------------
 * Decoded from untrusted bytes like records: lengths and caps are checked here. A
 * decoded message's pointers (admission, records) point into memory owned by the
 * message, valid until codec_wire_free(). Unknown fields are ignored (forward
 * compatible); the messages are not signed, so their encoding need not be canonical. */

#define CODEC_WIRE_MAX_FEEDS 100000   /* feeds in one Have */
#define CODEC_WIRE_MAX_RECORDS 4096   /* records in one Records */
#define CODEC_WIRE_MAX 4194304        /* bytes in one frame */

#define CODEC_WIRE_MAX_PROOF 128      /* hashes in a consistency proof */
#define CODEC_WIRE_MAX_NOTE 8192      /* bytes in one checkpoint note, cosignatures included (= NOTE_MAX) */
#define CODEC_MAX_EVIDENCE (2 * CODEC_MAX_RECORD + 2 * CODEC_WIRE_MAX_NOTE + 256)

enum kk_wire_kind { KK_W_NONE, KK_W_HELLO, KK_W_AUTH, KK_W_HAVE, KK_W_WANT, KK_W_RECORDS, KK_W_PING,
                    KK_W_CHECKPOINT, KK_W_EVIDENCE };

struct kk_feedhead { uint8_t author[CODEC_ID]; uint64_t seq; int has_last; uint8_t last[CODEC_ID]; };

struct kk_wire {
  enum kk_wire_kind kind;
  struct { uint32_t version; uint8_t network[32], identity[32], ephemeral[32]; } hello;
  struct {
    uint8_t signature[64]; const uint8_t *admission; size_t admission_len; uint8_t stream[24];
    size_t n_rotations;                                   /* at most CODEC_ROTATIONS_MAX */
    struct { const uint8_t *env; size_t len; } rotations[CODEC_ROTATIONS_MAX];
  } auth;
  struct { size_t n; struct kk_feedhead *feeds; } have;
  struct { uint8_t author[32]; uint64_t from_seq; uint32_t max; } want;
  struct {
    size_t n;
    const uint8_t **recs;
    size_t *lens;
    uint8_t author[32];
    uint64_t checkpoint;            /* checkpoint sync: size of the checkpoint, 0: none */
    size_t n_proof;                 /* consistency proof to it (at most CODEC_WIRE_MAX_PROOF) */
    uint8_t (*proof)[32];
  } records;
  struct { uint64_t nonce; int reply; } ping;
  struct { const uint8_t *note; size_t len; } checkpoint;
  struct { const uint8_t *data; size_t len; } evidence;
  void *priv_;                    /* codec-owned memory */
};

/* Decodes one message. 0, KK_E_DECODE, KK_E_FIELD, KK_E_TOO_LARGE or -ENOMEM. On
 * success release it with codec_wire_free(). */
int codec_wire_decode(const uint8_t *buf, size_t len, struct kk_wire *out);
void codec_wire_free(struct kk_wire *w);

/* Encodes a message (fields as for decode; have.feeds, records.recs/lens read from the
 * caller's memory) into a new mem_alloc'd buffer. 0, KK_E_TOO_LARGE or -ENOMEM. */
int codec_wire_encode(const struct kk_wire *w, uint8_t **out, size_t *len);

/* ---- evidence of equivocation (node/ledger/evidence.h gives it meaning) -------------------
 * Decoded from untrusted bytes: the encoding must be canonical (re-encoding gives the
 * same bytes), so an evidence object has exactly one id. A decoded object's pointers
 * live until codec_equivocation_free(). Exactly one of three shapes: records a and b;
 * checkpoints a and b; record a, checkpoint a and a proof. */
#define CODEC_EVIDENCE_MAX_PROOF 64

struct kk_equivocation {
  uint8_t network[32], author[32];
  const uint8_t *record_a, *record_b, *checkpoint_a, *checkpoint_b;
  size_t record_a_len, record_b_len, checkpoint_a_len, checkpoint_b_len;
  size_t n_proof;
  uint8_t (*proof)[32];
  void *priv_;
};

/* 0, KK_E_DECODE (not protobuf, not canonical, or none of the shapes), KK_E_FIELD,
 * KK_E_TOO_LARGE. */
int codec_equivocation_decode(const uint8_t *buf, size_t len, struct kk_equivocation *out);
void codec_equivocation_free(struct kk_equivocation *e);
/* Encodes e (a pair put in byte order) into a new mem_alloc'd buffer. */
int codec_equivocation_encode(const struct kk_equivocation *e, uint8_t **out, size_t *len);

/* ---- proof bundles (node/ledger/bundle.h gives them meaning) -------------------------------
 * Decoded from untrusted bytes: both the Bundle and its BundleBody must be canonical;
 * every hash of a proof is 32 bytes. A decoded bundle's pointers live until
 * codec_bundle_free(). For encoding, fill network, lot and feeds. */
#define CODEC_BUNDLE_MAX_PROOF 64

struct kk_bundle_record {
  const uint8_t *env;
  size_t len;
  size_t n_proof;
  uint8_t (*proof)[32];
};

struct kk_bundle_feed {
  uint8_t author[32];
  const char *note;
  size_t note_len;
  size_t n;
  struct kk_bundle_record *recs;
};

struct kk_bundle {
  uint8_t network[32], lot[36];
  size_t n_feeds;
  struct kk_bundle_feed *feeds;
  /* the signed envelope */
  const uint8_t *body;
  size_t body_len;
  uint8_t prover[32], sig[64];
  void *priv_;
};

int codec_bundle_decode(const uint8_t *buf, size_t len, struct kk_bundle *out);
void codec_bundle_free(struct kk_bundle *b);
/* The BundleBody of b (network, lot, feeds) into a new mem_alloc'd buffer. */
int codec_bundle_body_encode(const struct kk_bundle *b, uint8_t **out, size_t *len);
/* The Bundle: body, prover and signature. */
int codec_bundle_encode(const uint8_t *body, size_t blen, const uint8_t prover[32], const uint8_t sig[64],
                        uint8_t **out, size_t *len);

#endif

/*
 * cli — what every `kiroku` subcommand shares: the data directory, the store, the
 * identity, appending own records, resolving references, printing and exit codes.
 *
 * Exit codes (docs/cli.md has the table): 0 ok, 1 verification failed (the lot fails: a
 * taint, a flag, a claim that does not hold), 2 usage or input error (nothing written),
 * 3 storage or internal error, 4 the proof offered does not verify (verify-bundle).
 */
#ifndef KK_CLI_H
#define KK_CLI_H

#include <jansson.h>
#include <stdint.h>
#include "../node/ledger/store.h"
#include "../node/view/view.h"
#include "../proto/codec.h"

#define CLI_OK 0
#define CLI_FAILED 1
#define CLI_USAGE 2
#define CLI_INTERNAL 3
#define CLI_UNPROVEN 4          /* verify-bundle: the bundle itself does not verify */

struct cli {
  const char *dir;             /* data directory */
  int json;                    /* --json given */
  struct store *s;
  int have_key;
  uint8_t pk[32], sk[64];
  int have_network;
  uint8_t network[32], registry[32];
  int upgraded;                /* cli_open rebuilt a store written by an earlier version */
  char why[1024];              /* the figures behind cli_append's last refusal ("" if none) */
  uint64_t frozen_at;          /* cli_append refused with KK_E_FROZEN: the feed's fork seq */
  const uint8_t *rotate_sk;    /* a RotateKey being appended: the new key, which signs its proof */
};

/* Open flags. */
#define CLI_WRITE 0x1          /* open the store read-write (creating it) */
#define CLI_KEY 0x2            /* load the identity key (required) */
#define CLI_NETWORK 0x4        /* require a network (init or join done) */

/* Opens what the flags ask for; prints the error and returns it on failure. */
int cli_open(struct cli *c, int flags);
void cli_close(struct cli *c);

/* Fills the envelope fields of b (version, network, author, seq, prev, time), signs
 * and appends it through ingest as a local record: the rules must accept it, or nothing
 * is written and the rule's error returns (c->why then says why, with figures, where
 * the rules can). id gets the new record's id. */
int cli_append(struct cli *c, struct kk_body *b, uint8_t id[32]);
/* The parts of cli_append a caller that signs several records itself (import) shares:
 * b's header at a feed position of this member (prev NULL at seq 1), and an encoded
 * body signed into its envelope (*env mem_alloc'd). */
void cli_stamp(struct cli *c, struct kk_body *b, uint64_t seq, const uint8_t prev[32], uint64_t time_ms);
int cli_sign_body(struct cli *c, const uint8_t *body, size_t len, uint8_t **env, size_t *envlen);
/* cli_fail for cli_append's error: the refusal, then c->why on a line of its own. */
int cli_refused(struct cli *c, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* ingest_batch for records written by this process: with the identity key loaded, the
 * same transaction signs this member's checkpoint and witnesses the feeds that grew, as
 * the node does (node/ledger/ckpt.h). */
struct ingest_item;
int cli_ingest(struct cli *c, struct ingest_item *items, size_t n, int flags, int threads);

/* References (view_resolve_*, node/view/view.h) with this node's member preferred for
 * lot codes; c->why says what a refused lot reference may have meant. */
int cli_resolve_lot(struct cli *c, struct store_txn *txn, const char *ref, uint8_t key[36]); /* sets c->why */
int cli_resolve_member(struct cli *c, struct store_txn *txn, const char *ref, uint8_t key[32]);
int cli_resolve_record(struct cli *c, struct store_txn *txn, const char *ref, uint8_t id[32]);

/* "kiroku: <what>: <message of rc>" on stderr; returns the exit code for rc. */
int cli_fail(int rc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Reads a whole file ("-": stdin) of at most max bytes into a malloc'd buffer (one
 * spare NUL byte after it). 0, -errno, or KK_E_TOO_LARGE. */
int cli_read_file(const char *path, size_t max, uint8_t **data, size_t *len);
/* fopen for a file the user named: NULL with *rc KK_E_NO_FILE (an input error, exit 2)
 * when it is missing, a directory or unreadable, else -errno. */
FILE *cli_open_arg(const char *path, int *rc);

/* A new empty directory under $TMPDIR (or /tmp) for a scratch store, named after what
 * it is for; -1 (errno set) on failure. cli_scratch_remove deletes the store in it and
 * the directory. */
int cli_scratch_dir(char dir[4096], const char *what);
void cli_scratch_remove(const char *dir);

/* The text of `verify` (tools/cmd_verify.c), shared by verify-bundle; its JSON is
 * view_verify_json. */
struct verify_report;
void cli_verify_text(const struct verify_report *r);

/* The options a command needs: pairs of (const char *option, int given), then NULL.
 * The first missing one is named ("missing --mass Q"), with the usage line; an argument
 * left over (argv[optind] when optind < argc) is named too. 0 when all is there, else
 * CLI_USAGE. */
int cli_require(const char *use, int argc, char **argv, int optind_, ...);

/* Countries: op_check_country (node/ops/ops.h). */

/* Usage error with a message; returns CLI_USAGE. */
int cli_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int cli_exit_code(int rc);

/* Prints j to stdout (indented) and releases it. */
void cli_print_json(json_t *j);

/* Subcommands: int cmd_X(struct cli *c, int argc, char **argv), argv[0] is the name;
 * each with its synopsis, what it does and an example (kiroku help COMMAND). */
#define CLI_COMMANDS(X) \
  X(init, "init --network NAME", "create a network: registry identity and genesis", "kiroku -C registry init --network pet-eu") \
  X(keygen, "keygen", "create this directory's identity; print its public key", "kiroku -C recycler keygen") \
  X(rotate_key, "rotate-key", "sign your feed with a new key from now on (the node stopped)", "kiroku -C recycler rotate-key") \
  X(join, "join FILE", "join a network, given its genesis record file", "kiroku -C recycler join registry/genesis.bin") \
  X(admit, "admit --key HEX --name NAME --role R[,R...] [--country CC] [--gln GLN] [--facility F]...", "registry: admit a member", "kiroku -C registry admit --key 3f9a…(64 hex) --name recycler --role recycler --country JP --facility \"Osaka works\"") \
  X(succeed, "succeed --member NAME|HEX --key HEX [--from-seq N] [--name NAME] [--role R[,R...]] [--country CC] [--facility F]...", "registry: admit a new key in a member's place (its feed frozen or its key lost)", "kiroku -C registry succeed --member recycler --key 7be2…(64 hex, from keygen in the member's new directory)") \
  X(suspend, "suspend --member NAME|HEX --reason TEXT [--from-seq N]", "registry: suspend a member", "kiroku -C registry suspend --member recycler --reason \"certificate withdrawn by the scheme\"") \
  X(issue, "issue --lot CODE --material M --mass Q --post-consumer Q [--pre-consumer Q] --origin CC --scheme S --certificate ID [--evidence FILE]... [--facility F] [--model segregated|identity-preserved|controlled-blending|mass-balance]", "recycler: certify a lot", "kiroku -C recycler issue --lot FLAKE-1 --material PET/flake --mass 20t --post-consumer 20t --origin JP --scheme GRS --certificate GRS-1") \
  X(transfer, "transfer --lot REF --mass Q --to NAME|HEX", "ship part or all of a lot", "kiroku -C recycler transfer --lot FLAKE-1 --mass 20t --to processor") \
  X(receive, "receive [--transfer ID | --all]", "accept incoming transfers", "kiroku -C processor receive --all") \
  X(refuse, "refuse --transfer ID [--reason TEXT]", "refuse an incoming transfer", "kiroku -C processor refuse --transfer 9c2e41 --reason \"contaminated bales\"") \
  X(transform, "transform --model segregated|controlled-blending|mass-balance --in REF=Q... [--unledgered MATERIAL=Q@CC]... --out CODE:MATERIAL=Q[,post=Q][,pre=Q]... [--process TEXT]", "blend, split, convert lots", "kiroku -C processor transform --model controlled-blending --in FLAKE-1=20t --unledgered PET=30t@DE --out SHEET-1:PET/sheet=47.5t") \
  X(claim, "claim --lot REF --recycled P --scope TEXT", "public recycled-content claim", "kiroku -C manufacturer claim --lot TRAYS-1 --recycled 40% --scope \"EU market 2026\"") \
  X(attest, "attest --record ID --statement TEXT", "certifier: attest a record", "kiroku -C certifier attest --record 4be1d0 --statement \"audited on site, 2026-11\"") \
  X(revoke, "revoke --record ID --reason TEXT", "revoke a certificate, attestation or claim", "kiroku -C certifier revoke --record 4be1d0 --reason \"certificate withdrawn\"") \
  X(incident, "incident --kind K --about ID --text TEXT", "report an incident", "kiroku -C manufacturer incident --kind quality --about 4be1d0 --text \"PVC found in the flake\"") \
  X(lots, "lots [--all] [--json]", "lots this member holds (--all: every lot)", "kiroku -C processor lots --all") \
  X(log, "log [--feed NAME|HEX] [--json]", "records, with their verdicts", "kiroku -C processor log --feed recycler") \
  X(show, "show ID [--json]", "one record in full", "kiroku -C processor show 4be1d0 --json") \
  X(members, "members [--json]", "admitted members", "kiroku -C registry members") \
  X(verify, "verify REF [--claim P] [--json]", "recycled content, origins, certificates, taint, claims", "kiroku -C manufacturer verify TRAYS-1 --claim 40%") \
  X(trace, "trace REF [--down] [--json]", "provenance tree", "kiroku -C manufacturer trace TRAYS-1") \
  X(audit, "audit [--json]", "replay every record from genesis and compare the state", "kiroku -C certifier audit") \
  X(upgrade, "upgrade [--json]", "bring a store written by an earlier version to this one's layout", "kiroku -C processor upgrade") \
  X(merkle_check, "merkle-check FILE", "verify an RFC 9162 inclusion or consistency proof (transparency-dev JSON)", "kiroku merkle-check proof.json") \
  X(export, "export --epcis [REF] > FILE", "the ledger, or a lot's provenance, as one EPCIS 2.0 JSON-LD document", "kiroku -C manufacturer export --epcis TRAYS-1 > trays.jsonld") \
  X(import, "import --epcis FILE [--dry-run] [--json]", "an EPCIS 2.0 document's events as this member's records, through the rules, all or nothing", "kiroku -C processor import --epcis erp-export.jsonld --dry-run") \
  X(masterdata, "masterdata load FILE | masterdata list [--json]", "the net mass of one piece of a product class, for EPCIS quantities in pieces", "kiroku -C processor masterdata load classes.csv") \
  X(epcis_hash, "epcis-hash FILE [--prehash] [--json]", "the CBV 2.0 event hash (ni:///sha-256;…) of each event of an EPCIS 2.0 JSON-LD document", "kiroku epcis-hash shipment.jsonld --prehash") \
  X(checkpoints, "checkpoints [--json]", "each feed's newest checkpoint and the witnesses that cosigned it", "kiroku -C processor checkpoints") \
  X(evidence, "evidence [ID > FILE] [--json]", "evidence of equivocation held (ID: write that one to stdout)", "kiroku -C processor evidence 7d0a33 > fork.evidence") \
  X(verify_evidence, "verify-evidence FILE [--json]", "check an evidence file offline", "kiroku verify-evidence fork.evidence") \
  X(prove, "prove REF > FILE", "write a proof bundle: everything needed to check the lot's verification offline", "kiroku -C manufacturer prove TRAYS-1 > trays.bundle") \
  X(passport, "passport REF --html FILE [--json]", "one self-contained page for a buyer: the verified figures, the provenance graph, certificates, taint, incidents and the proof bundle with how to check it (exit 1 when the lot fails)", "kiroku -C manufacturer passport TRAYS-1 --html trays-passport.html") \
  X(verify_bundle, "verify-bundle FILE --genesis GENESIS [--witnesses K] [--json]", "check a proof bundle with no node: same figures as verify", "kiroku verify-bundle trays.bundle --genesis genesis.bin --witnesses 3") \
  X(status, "status [--json]", "the running node: peers, lag per feed, feeds, waiting records", "kiroku -C processor status") \
  X(http_token, "http-token [--rotate] [--json]", "the bearer token that authorises HTTP writes (made if there is none; --rotate: a new one, the old refused at once)", "kiroku -C processor http-token --rotate") \
  X(export_records, "export-records [--since N] [--feed NAME|HEX] > FILE", "write records to a file", "kiroku -C recycler export-records --since 120 > recycler.rec") \
  X(import_records, "import-records FILE", "ingest records from a file", "kiroku -C processor import-records recycler.rec")

#define CLI_DECL(name, usage, help, example) int cmd_##name(struct cli *c, int argc, char **argv);
CLI_COMMANDS(CLI_DECL)
#undef CLI_DECL

#endif

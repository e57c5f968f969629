/*
 * masterdata — the net mass of one piece of a product class, which a member loads so that
 * EPCIS quantities in pieces (uom H87, or none) become mass on import (docs/epcis.md,
 * "Master data").
 *
 * Read from an EPCIS 2.0 master data document (a vocabularyList — at
 * epcisHeader.epcisMasterData, at the top, or the list itself — whose EPCClass elements
 * carry a net weight attribute: cbvmda:netWeight or gs1:netWeight, in any of their
 * spellings, as kilograms or as {"value", "unitCode"}), or from CSV: a header line
 * `class,net_mass`, then `CLASS,MASS` with a unit (`0.5kg`, `12 g`). Classes are kept in
 * their canonical form (a GS1 key as its Digital Link), so any notation finds them.
 *
 * Ownership: the struct owns its entries (epcis_masterdata_free). Thread-safe per
 * struct. Errors: KK_E_USAGE with why (the line or element at fault: nothing is taken
 * from a file with an error), -ENOMEM.
 */
#ifndef KK_MASTERDATA_H
#define KK_MASTERDATA_H

#include <stddef.h>
#include <stdint.h>

struct epcis_md_entry { char *cls; uint64_t mg; };
struct epcis_masterdata { struct epcis_md_entry *e; size_t n, cap; };

/* Adds what text[0..len) declares to md (a class given again takes the new mass): 0 and
 * *added, or an error with md unchanged. */
int epcis_masterdata_read(struct epcis_masterdata *md, const char *text, size_t len, size_t *added, char *why,
                          size_t whylen);

/* The net mass of one piece of cls (any notation): 1 and *mg, or 0. */
int epcis_masterdata_get(const struct epcis_masterdata *md, const char *cls, uint64_t *mg);

/* md as the CSV epcis_masterdata_read reads back (classes sorted): new string or NULL. */
char *epcis_masterdata_csv(const struct epcis_masterdata *md);

/* The master data a member keeps in its data directory (kiroku masterdata load). */
#define EPCIS_MASTERDATA_FILE "masterdata.csv"
#define EPCIS_MASTERDATA_MAX (64u << 20)
/* Reads dir's master data into md (no file: none, 0). KK_E_USAGE with why when the file
 * is damaged, KK_E_TOO_LARGE, -errno. */
int epcis_masterdata_load(struct epcis_masterdata *md, const char *dir, char *why, size_t whylen);

void epcis_masterdata_free(struct epcis_masterdata *md);

#endif

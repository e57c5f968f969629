/*
 * recfile — the records file: the offline path between nodes, and what an auditor is
 * handed (`kiroku export-records` / `import-records`).
 *
 *   "KIROKU-RECORDS-1\n", then for each record a 4-byte big-endian length and the
 *   envelope bytes.
 *
 * The file is untrusted input: every length is checked against the size cap and the
 * bytes left before it is used.
 */
#ifndef KK_RECFILE_H
#define KK_RECFILE_H

#include <stddef.h>
#include <stdint.h>
#include "ingest.h"

#define RECFILE_MAGIC "KIROKU-RECORDS-1\n"
#define RECFILE_MAGIC_LEN 17

/* Splits a records file held in buf into *n ingest items (mem_alloc'd; their envelopes
 * point into buf). 0, KK_E_RECFILE (bad magic, a zero, oversized or truncated record)
 * or -ENOMEM; nothing is allocated on error. */
int recfile_split(const uint8_t *buf, size_t len, struct ingest_item **items, size_t *n);

#endif

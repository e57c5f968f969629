/*
 * material — what a lot is made of: `GROUP` or `GROUP/FORM`.
 *
 * The group is the material that recycled credit belongs to (`aluminium`, `PET`); the
 * form describes the product (`ingot`, `billet`, `flake`, `sheet`) and may change in
 * any transform. Mass balance and the no-cross-kind rule (DOMAIN.md invariant 6) act on
 * the group: credit moves between `aluminium/ingot` and `aluminium/billet`, never to
 * `PET`. Groups compare without regard to ASCII case ("PET" is "pet"); forms are free.
 *
 * Pure functions on NUL-terminated strings (the codec has checked UTF-8 and length).
 */
#ifndef KK_MATERIAL_H
#define KK_MATERIAL_H

#include <stddef.h>

/* 0 when m is GROUP or GROUP/FORM: a non-empty group, then optionally one '/' and a
 * non-empty form, neither starting or ending with a space; else KK_E_MATERIAL. */
int material_check(const char *m);

/* The group part of m: its length (the bytes before the '/', or all of m). */
size_t material_group_len(const char *m);

/* The form part of m ("" when there is none); points into m. */
const char *material_form(const char *m);

/* 1 when a and b name the same group, else 0. */
int material_same_group(const char *a, const char *b);

#endif

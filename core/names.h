/* Validation of type names, namespaces, resource tags; sanitising names for paths. */
#ifndef JOBQ_NAMES_H
#define JOBQ_NAMES_H

#include <stddef.h>

#define NAME_TYPE_MAX 64
#define NAME_TEXT_MAX 256 /* bytes of a namespace or a batch name */
#define NAME_TAG_MAX 64

/* Type: [a-z0-9][a-z0-9_-]{0,63}. Returns 1 if valid, 0 otherwise. */
int name_type_valid(const char *s);

/* Namespace: non-empty valid UTF-8, at most NAME_TEXT_MAX bytes, no control characters. 1 valid, 0
 * not. */
int name_namespace_valid(const char *s);

/* Resource tag name: [a-z0-9][a-z0-9_.-]{0,63}. 1 valid, 0 not. */
int name_tag_valid(const char *s);

/*
 * Parse a tag "name" or "name:N" (1 <= N <= 1000000). name is copied into name_out
 * (NAME_TAG_MAX + 1 bytes). Returns 0, or -EINVAL.
 */
int tag_parse(const char *s, char *name_out, int *units_out);

/*
 * A path-safe slug of any string: [A-Za-z0-9_-] kept, other bytes as '_', at most 48 bytes,
 * then '-' and 8 hex digits of a hash of the whole input (FNV-1a, 32 bits), so distinct names
 * stay distinct and "..", "/", "" or 10 KB of input cannot escape a folder. A leading '-' is
 * written '_' and an empty prefix is "_", so a slug never starts with '-' or '.'
 * ("" -> "_-811c9dc5", "../.." -> "_____-ff09c962"). s NULL counts as "". out should hold 64
 * bytes (58 are used); a shorter out is cut, still NUL-terminated.
 */
void name_slug(const char *s, char *out, size_t len);

/* Room for any result of name_shown(): 64 bytes, "..." and the NUL fit in it. */
#define NAME_SHOWN_SIZE 72

/*
 * Any user string made fit to quote in a one-line message: control bytes become '?', and past
 * 64 bytes it is cut (at a UTF-8 character boundary) and ends in "...", so a 100 KB type name
 * or option value cannot flood a terminal or a log. s NULL counts as "". Writes at most len
 * bytes (NAME_SHOWN_SIZE hold any result) into out and returns out.
 */
const char *name_shown(const char *s, char *out, size_t len);

/*
 * The name among names[0..n-1] closest to s, for a "did you mean" hint: the first at the
 * smallest edit distance (insert, delete, substitute, swap two neighbours), if that distance is
 * at most 1 for an s of 4 or 5 bytes, 2 up to 11, 3 beyond (an s of 3 bytes or fewer gets no
 * hint: 'tpu' is one letter from 'cpu' and 'gpu' alike); else NULL. Entries equal to s and NULL
 * entries are skipped.
 */
const char *name_closest(const char *s, const char *const *names, size_t n);

#endif

/*
 * Masking of secrets: the values of the ${ENV} references an http handler sends in headers are
 * kept out of what is stored or logged of the answer (the result, the error). A secret is looked
 * for in several forms, each in the text as it is, JSON-unescaped (\/, \", \\, \n..., \uXXXX in
 * either case, surrogate pairs) and percent-decoded (%XX in either case):
 *
 *   - as it is;
 *   - base64, standard and url-safe alphabets, at each of the three places it can take in the
 *     3-byte groups of a larger blob: the characters that depend on the secret alone, plus the
 *     one before and the one after that carry some of its bits;
 *   - hex, lower and upper case.
 *
 * Every byte of a match becomes '*' (the length is kept). A mask is widened to whole JSON escapes,
 * so masking JSON text leaves valid JSON. What cannot be masked is listed in docs/configuration.md
 * (http): other or nested encodings (base64 of a percent-encoded secret, HTML entities, MIME line
 * breaks inside base64, form encoding's '+' for a space), any transformation (hash, case change),
 * and a secret the server splits up.
 */
#ifndef JOBQ_MASK_H
#define JOBQ_MASK_H

#include <stddef.h>

/* A text cut short (at output_max) that ends with at least this many bytes of the start of a
 * secret's form has them masked; fewer stay, as they would match ordinary text too often. */
#define MASK_PREFIX_MIN 3
/* Encoded forms (base64, hex) shorter than this are not looked for: they would match ordinary
 * text. Secrets themselves are masked at any length; callers refuse short ones
 * (config_check_env(): CONFIG_SECRET_MIN). */
#define MASK_FORM_MIN 4

struct mask_form;

/* The secrets of one request and their forms; starts zeroed (or mask_init()). */
struct mask {
	struct mask_form *forms;
	size_t nforms;
	unsigned char first[256]; /* first[c]: some form starts with byte c */
};

void mask_init(struct mask *m);

/* Add secret[0..len) and its forms. An empty secret adds nothing. Returns 0 or -ENOMEM. */
int mask_add(struct mask *m, const char *secret, size_t len);

/*
 * Overwrite with '*' every byte of s[0..len) that belongs to a form of a secret of m. With cut
 * (s is the start of a longer text), also the tail of s that is the start of a form, from
 * MASK_PREFIX_MIN bytes of it. Returns 0, or -ENOMEM after overwriting the whole of s: what
 * could not be checked is not kept.
 */
int mask_apply(const struct mask *m, char *s, size_t len, int cut);

/* Wipe and free the forms; m is left empty. NULL and repeated calls are safe. */
void mask_release(struct mask *m);

#endif

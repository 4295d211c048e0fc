/* Text fit for a terminal, a log line or a UTF-8 store, and NUL characters hidden in JSON text. */
#ifndef JOBQ_TEXT_H
#define JOBQ_TEXT_H

#include <stddef.h>
#include <stdint.h>

/* The longest escape text_escape() writes for one character ("\u2028"). */
#define TEXT_ESCAPE_MAX 6

/*
 * Decode one well-formed UTF-8 character at s (len bytes available): no overlong form, no
 * surrogate, nothing above U+10FFFF. Returns its length (1 to 4) with the code point in *cp, or
 * 0 when s does not start with one (len 0, a stray or cut byte).
 */
size_t text_utf8_decode(const char *s, size_t len, uint32_t *cp);

/*
 * Text that any UTF-8 store can hold (PostgreSQL's TEXT): s[0..len) with every byte that is not
 * part of a well-formed UTF-8 character (text_utf8_decode()), and every NUL byte, replaced by
 * U+FFFD (EF BF BD), one for each such byte, as `jobq show --json` writes them; all else kept.
 * Returns 0 when s needs no change (*out NULL), 1 with *out a NUL-terminated copy of *outlen
 * bytes (at most 3 * len; caller frees), -ENOMEM.
 */
int text_utf8_repair(const char *s, size_t len, char **out, size_t *outlen);

/*
 * 1 when code point cp must not reach a terminal or a log as it is: C0 controls but tab, DEL,
 * C1 controls (U+0080 to U+009F), the line and paragraph separators U+2028 and U+2029, and the
 * bidirectional controls (U+200E, U+200F, U+202A to U+202E, U+2066 to U+2069) that reorder what
 * a terminal shows. Else 0.
 */
int text_is_control(uint32_t cp);

/*
 * Escape s[0..len) for a terminal or a log line: \n \r and other controls (text_is_control())
 * as "\n", "\r", "\x1b", "\x7f", C1 and the other code points as "\u009b", "\u2028", and every
 * byte that is not part of a well-formed UTF-8 character as "\xHH". Tab, backslash and all
 * other text are kept. The result is for people: it is not meant to be decoded back.
 *
 * Writes whole escapes only, at most outlen - 1 bytes and a NUL, into out (outlen >= 1).
 * Returns the bytes written (without the NUL); *used (may be NULL) gets how many bytes of s
 * they stand for, len when all fitted. An embedded NUL byte is escaped as "\x00".
 */
size_t text_escape(const char *s, size_t len, char *out, size_t outlen, size_t *used);

/*
 * Find the first \u0000 escape inside a string (a key or a value) of the JSON text json[0..len)
 * (which should be valid JSON; other text gives an answer but no error). jobq's C strings, argv
 * and environment cannot carry that NUL character. Returns its byte offset, or -1 when there is
 * none. When found and path is not NULL, writes the field path of the string there: root
 * followed by ".key" and "[index]" steps ("payload.messages[2].text"; without a root the first
 * key has no dot), keys as written in the JSON text (escapes kept) with control characters
 * escaped as by text_escape(), cut to pathlen.
 */
long text_json_nul(const char *json, size_t len, const char *root, char *path, size_t pathlen);

/*
 * The line of s[0..len) that best says what happened, for a one-line summary of a command's
 * stderr: the last line that holds a letter (lines of only digits, punctuation, progress bars,
 * box drawing or spinners are passed over; a line ends at \n or \r), else the last line that is
 * not blank, with terminal escape sequences (colours, titles) removed and white space trimmed at
 * both ends. Written to out (outlen >= 1, NUL-terminated, cut at a character boundary); returns
 * its length, 0 when s holds nothing visible.
 */
size_t text_last_line(const char *s, size_t len, char *out, size_t outlen);

#endif

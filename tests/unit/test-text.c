/* Unit tests of core/text.c: escapes for terminals and logs, UTF-8 decoding and repair, \u0000
 * in JSON. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "text.h"

/* text_escape of s[0..len) into a buffer big enough for all of it. */
static const char *
esc(const char *s, size_t len)
{
	static char out[1024];
	size_t used;

	text_escape(s, len, out, sizeof(out), &used);
	assert_int_equal(used, len);
	return out;
}

#define ESC(lit) esc((lit), sizeof(lit) - 1)

static void
test_escape_controls(void **state)
{
	(void)state;
	assert_string_equal(ESC("plain text, {\"json\": 1} \\ kept"),
	                    "plain text, {\"json\": 1} \\ kept");
	assert_string_equal(ESC("tab\tkept"), "tab\tkept");
	assert_string_equal(ESC("a\nb\r\n"), "a\\nb\\r\\n");
	/* What a hostile command prints: clear screen, set the title, bell. */
	assert_string_equal(ESC("\033[2J\033]0;pwned\007"), "\\x1b[2J\\x1b]0;pwned\\x07");
	assert_string_equal(ESC("\x01\x08\x0b\x0c\x1f\x7f"), "\\x01\\x08\\x0b\\x0c\\x1f\\x7f");
	/* An embedded NUL byte, when the caller passes a length. */
	assert_string_equal(ESC("a\0b"), "a\\x00b");
	/* C1 controls as UTF-8 (CSI U+009B, NEL U+0085), separators, bidi overrides. */
	assert_string_equal(ESC("\xc2\x9b"
	                        "2J \xc2\x85"),
	                    "\\u009b2J \\u0085");
	assert_string_equal(ESC("x\xe2\x80\xa8y\xe2\x80\xa9"), "x\\u2028y\\u2029");
	assert_string_equal(ESC("\xe2\x80\xae"
	                        "evil\xe2\x81\xa6"),
	                    "\\u202eevil\\u2066");
	/* Other UTF-8 is kept: accents, CJK, emoji, U+00A0. */
	assert_string_equal(ESC("caf\xc3\xa9 \xe6\x97\xa5 \xf0\x9f\x98\x80 \xc2\xa0"),
	                    "caf\xc3\xa9 \xe6\x97\xa5 \xf0\x9f\x98\x80 \xc2\xa0");
}

static void
test_escape_bad_utf8(void **state)
{
	(void)state;
	/* A raw 8-bit C1 byte, a stray continuation, a cut sequence, an overlong ESC (C0 9B), an
	 * encoded surrogate, past U+10FFFF, 0xFF: each byte as \xHH. */
	assert_string_equal(ESC("\x9b"
	                        "2J"),
	                    "\\x9b2J");
	assert_string_equal(ESC("\x80"), "\\x80");
	assert_string_equal(ESC("\xe6\x97"), "\\xe6\\x97");
	assert_string_equal(ESC("\xc0\x9b"), "\\xc0\\x9b");
	assert_string_equal(ESC("\xed\xa0\x80"), "\\xed\\xa0\\x80");
	assert_string_equal(ESC("\xf4\x90\x80\x80"), "\\xf4\\x90\\x80\\x80");
	assert_string_equal(ESC("\xff"), "\\xff");
	/* A sequence cut by the length given is not read past it. */
	char out[32];
	size_t used;

	assert_int_equal(text_escape("\xc3\xa9", 1, out, sizeof(out), &used), 4);
	assert_string_equal(out, "\\xc3");
	assert_int_equal(used, 1);
}

static void
test_escape_bounds(void **state)
{
	char out[8];
	size_t used, n;

	(void)state;
	/* Whole escapes only: "ab" fits, "\x1b" (4 bytes) does not after it in 7 bytes - 2. */
	n = text_escape("ab\033cd", 5, out, 6, &used);
	assert_int_equal(n, 2);
	assert_string_equal(out, "ab");
	assert_int_equal(used, 2);
	/* ... and goes on where it stopped. */
	n = text_escape("\033cd", 3, out, sizeof(out), &used);
	assert_string_equal(out, "\\x1bcd");
	assert_int_equal(n, 6);
	assert_int_equal(used, 3);
	/* A UTF-8 character is never split. */
	n = text_escape("a\xe6\x97\xa5", 4, out, 4, &used);
	assert_string_equal(out, "a");
	assert_int_equal(used, 1);
	/* outlen 1: only the NUL; 0: nothing at all. */
	n = text_escape("abc", 3, out, 1, &used);
	assert_int_equal(n, 0);
	assert_string_equal(out, "");
	assert_int_equal(used, 0);
	out[0] = 'x';
	assert_int_equal(text_escape("abc", 3, out, 0, &used), 0);
	assert_int_equal(out[0], 'x');
	assert_int_equal(text_escape("", 0, out, sizeof(out), NULL), 0);
	assert_string_equal(out, "");
}

static void
test_utf8_decode(void **state)
{
	uint32_t cp;

	(void)state;
	assert_int_equal(text_utf8_decode("A", 1, &cp), 1);
	assert_int_equal(cp, 'A');
	assert_int_equal(text_utf8_decode("\xc2\x9b", 2, &cp), 2);
	assert_int_equal(cp, 0x9B);
	assert_int_equal(text_utf8_decode("\xe2\x80\xa8", 3, &cp), 3);
	assert_int_equal(cp, 0x2028);
	assert_int_equal(text_utf8_decode("\xf4\x8f\xbf\xbf", 4, &cp), 4);
	assert_int_equal(cp, 0x10FFFF);
	assert_int_equal(text_utf8_decode("", 0, &cp), 0);
	assert_int_equal(text_utf8_decode("\xc2", 1, &cp), 0);
	assert_int_equal(text_utf8_decode("\xc1\xbf", 2, &cp), 0);         /* overlong */
	assert_int_equal(text_utf8_decode("\xe0\x80\x80", 3, &cp), 0);     /* overlong */
	assert_int_equal(text_utf8_decode("\xf0\x80\x80\x80", 4, &cp), 0); /* overlong */
	assert_int_equal(text_utf8_decode("\xed\xbf\xbf", 3, &cp), 0);     /* surrogate */
	assert_int_equal(text_utf8_decode("\xc3\x28", 2, &cp), 0);         /* bad continuation */

	assert_true(text_is_control(0));
	assert_true(text_is_control(0x1B));
	assert_false(text_is_control('\t'));
	assert_false(text_is_control(' '));
	assert_true(text_is_control(0x7F));
	assert_true(text_is_control(0x80));
	assert_true(text_is_control(0x9F));
	assert_false(text_is_control(0xA0));
	assert_true(text_is_control(0x200F));
	assert_false(text_is_control(0x2010));
	assert_true(text_is_control(0x202E));
	assert_false(text_is_control(0x202F));
	assert_true(text_is_control(0x2069));
	assert_false(text_is_control(0x206A));
}

/* text_json_nul of a C string: the offset, and the path in *path. */
static long
nul_at(const char *json, const char *root, char *path, size_t len)
{
	return text_json_nul(json, strlen(json), root, path, len);
}

static void
test_json_nul(void **state)
{
	char path[128];

	(void)state;
	/* None: no escape, an escaped backslash before "u0000", other \u escapes. */
	assert_int_equal(nul_at("{\"a\": \"b\"}", "payload", path, sizeof(path)), -1);
	assert_int_equal(nul_at("{\"a\": \"\\\\u0000\"}", "payload", path, sizeof(path)), -1);
	assert_int_equal(nul_at("[\"\\u0001\", \"\\u00000\"]", NULL, path, sizeof(path)), 12);
	assert_string_equal(path, "[1]");
	assert_int_equal(nul_at("\"\\u0041\"", NULL, path, sizeof(path)), -1);
	assert_int_equal(nul_at("", NULL, path, sizeof(path)), -1);

	/* Paths: nested keys and indexes, a root or none, the top-level value itself. */
	assert_int_equal(
	        nul_at("{\"a\": {\"b\": [\"x\", \"y\\u0000z\"]}}", "payload", path, sizeof(path)),
	        20);
	assert_string_equal(path, "payload.a.b[1]");
	assert_int_equal(nul_at("{\"types\": {\"t\": {\"exec\": [\"echo\", \"a\\u0000\"], "
	                        "\"env\": {}}}}",
	                        NULL, path, sizeof(path)),
	                 36);
	assert_string_equal(path, "types.t.exec[1]");
	assert_int_equal(nul_at("\"\\u0000\"", "payload", path, sizeof(path)), 1);
	assert_string_equal(path, "payload");
	/* Later members and elements: the path follows commas and closed containers. */
	assert_int_equal(nul_at("{\"a\": [1, {\"k\": \"v\"}, [2, 3]], \"b\": {\"c\": 1}, "
	                        "\"d\": [[], {}, \"\\u0000\"]}",
	                        "p", path, sizeof(path)),
	                 61);
	assert_string_equal(path, "p.d[2]");
	/* In a key: the path names that key as written. */
	assert_int_equal(nul_at("{\"env\": {\"A\\u0000B\": \"x\"}}", NULL, path, sizeof(path)), 11);
	assert_string_equal(path, "env.A\\u0000B");
	/* A key holding quotes, colons and commas as escapes does not derail the path. */
	assert_int_equal(nul_at("{\"k\\\",:[\": {\"x\": \"\\u0000\"}}", NULL, path, sizeof(path)),
	                 18);
	assert_string_equal(path, "k\\\",:[.x");
	/* A raw control in a key (cJSON takes it) is escaped in the path. */
	assert_int_equal(nul_at("{\"a\x1b\": \"\\u0000\"}", "p", path, sizeof(path)), 8);
	assert_string_equal(path, "p.a\\x1b");
	/* Only the first one; a NULL path or a short buffer is fine. */
	assert_int_equal(nul_at("[\"\\u0000\", \"\\u0000\"]", "r", NULL, 0), 2);
	assert_int_equal(nul_at("{\"long_key\": \"\\u0000\"}", "payload", path, 8), 14);
	assert_string_equal(path, "payload");
	/* A text cut in the middle, or not JSON at all: an answer, no crash. */
	assert_int_equal(nul_at("{\"a\": [\"\\u0000", NULL, path, sizeof(path)), 8);
	assert_string_equal(path, "a[0]");
	assert_int_equal(nul_at("]]}}\"\\u0000\"", NULL, path, sizeof(path)), 5);
	assert_int_equal(nul_at("\"\\u000", NULL, path, sizeof(path)), -1);
}

static void
test_json_nul_deep(void **state)
{
	size_t depth = 1500, n = 0;
	char *json = malloc(depth * 2 + 32), path[512];

	(void)state;
	assert_non_null(json);
	/* Deeper than the path keeps: the path ends in "...". */
	for (size_t i = 0; i < 100; i++)
		json[n++] = '[';
	memcpy(json + n, "\"\\u0000\"", 8);
	n += 8;
	for (size_t i = 0; i < 100; i++)
		json[n++] = ']';
	assert_int_equal(text_json_nul(json, n, "p", path, sizeof(path)), 101);
	assert_non_null(strstr(path, "[0][0]"));
	assert_non_null(strstr(path, "..."));
	/* Deeper than cJSON's limit: still found, nothing overrun. */
	n = 0;
	for (size_t i = 0; i < depth; i++)
		json[n++] = '{';
	memcpy(json + n, "\"\\u0000\"", 8);
	n += 8;
	assert_int_equal(text_json_nul(json, n, "p", path, sizeof(path)), (long)depth + 1);
	free(json);
}

/* text_last_line of a string literal. */
static const char *
last_line(const char *s, size_t outlen)
{
	static char out[256];

	assert_true(outlen <= sizeof(out));
	text_last_line(s, strlen(s), out, outlen);
	return out;
}

static void
test_last_line(void **state)
{
	(void)state;
	/* The cause comes last, not the banner of the first line (issue 12, item 2). */
	assert_string_equal(last_line("fake-claude: starting job 487 ...\nworking\n"
	                              "Error: rate limit exceeded\n",
	                              256),
	                    "Error: rate limit exceeded");
	/* Blank lines, trailing white space and CRLF endings are passed over. */
	assert_string_equal(last_line("first\r\n  the cause \t\r\n\n  \n", 256), "the cause");
	/* Progress bars, counters, rules and spinners say nothing: the line before them. */
	assert_string_equal(last_line("upload failed: 502\n[#####.....] 50%\n=====\n3/10\n", 256),
	                    "upload failed: 502");
	assert_string_equal(last_line("bad token\n\xe2\x96\x88\xe2\x96\x88\xe2\x96\x91 42%\n"
	                              "\xe2\xa0\x8b\n",
	                              256),
	                    "bad token");
	/* A progress bar redrawn with \r: its last state is one line among others. */
	assert_string_equal(last_line("done 1\rdone 2\rdone 3", 256), "done 3");
	/* Words in other scripts count. */
	assert_string_equal(last_line("erreur: d\xc3\xa9j\xc3\xa0 vu\n----\n", 256),
	                    "erreur: d\xc3\xa9j\xc3\xa0 vu");
	/* Colours are removed, whatever their place. */
	assert_string_equal(last_line("\033[31mError:\033[0m disk full\033[K\n", 256),
	                    "Error: disk full");
	assert_string_equal(last_line("\033]0;title\007oops\n", 256), "oops");
	/* Nothing with a letter: the last visible line; nothing visible: empty. */
	assert_string_equal(last_line("42\n---\n", 256), "---");
	assert_string_equal(last_line(" \n\t\r\n", 256), "");
	assert_string_equal(last_line("", 256), "");
	/* Cut to the buffer, at a character boundary. */
	assert_string_equal(last_line("abcdef", 4), "abc");
	assert_string_equal(last_line("ab\xc3\xa9", 4), "ab");
}

/* text_utf8_repair of a literal: r its return, the text it stands for (the input when 0). */
static char *
repair(const char *s, size_t len, int want)
{
	static char keep[1024];
	char *out = NULL;
	size_t outlen = 99;
	int r = text_utf8_repair(s, len, &out, &outlen);

	assert_int_equal(r, want);
	if (r == 0) {
		assert_null(out);
		assert_int_equal(outlen, 0);
		memcpy(keep, s, len);
		keep[len] = '\0';
		return keep;
	}
	assert_non_null(out);
	assert_int_equal(strlen(out), outlen);
	assert_true(outlen <= 3 * len);
	memcpy(keep, out, outlen + 1);
	free(out);
	return keep;
}

#define REPAIR(lit, want) repair((lit), sizeof(lit) - 1, (want))

static void
test_utf8_repair(void **state)
{
	(void)state;
	/* Well-formed text, ASCII or not, controls included, is kept as it is. */
	assert_string_equal(REPAIR("", 0), "");
	assert_string_equal(REPAIR("plain \x1b[2J\t\r\n", 0), "plain \x1b[2J\t\r\n");
	assert_string_equal(REPAIR("\xc2\x9b \xe2\x82\xac \xf0\x9f\x98\x80 \xef\xbf\xbd", 0),
	                    "\xc2\x9b \xe2\x82\xac \xf0\x9f\x98\x80 \xef\xbf\xbd");
	/* Each byte that is not part of a character becomes one U+FFFD: stray, at the start and at
	 * the end, two in a row, continuation bytes alone, 0xff and 0xfe. */
	assert_string_equal(REPAIR("\xff", 1), "\xef\xbf\xbd");
	assert_string_equal(REPAIR("a\x9bz", 1), "a\xef\xbf\xbdz");
	assert_string_equal(REPAIR("\xff\xfe", 1), "\xef\xbf\xbd\xef\xbf\xbd");
	assert_string_equal(REPAIR("\x80\xbfx", 1), "\xef\xbf\xbd\xef\xbf\xbdx");
	/* A cut character (its lead and what followed), overlong forms, surrogates, past U+10FFFF:
	 * byte by byte, and what follows them is kept. */
	assert_string_equal(REPAIR("\xe2\x82z", 1), "\xef\xbf\xbd\xef\xbf\xbdz");
	assert_string_equal(REPAIR("\xc0\xaf", 1), "\xef\xbf\xbd\xef\xbf\xbd");
	assert_string_equal(REPAIR("\xed\xa0\x80", 1), "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
	assert_string_equal(REPAIR("\xf4\x90\x80\x80", 1),
	                    "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
	assert_string_equal(REPAIR("ok\xe2\x82\xac\xff\xe2\x82\xac", 1),
	                    "ok\xe2\x82\xac\xef\xbf\xbd\xe2\x82\xac");
	/* A NUL byte cannot be stored as text either. */
	assert_string_equal(REPAIR("a\0z", 1), "a\xef\xbf\xbdz");
	/* The longest it grows: every byte replaced, three times the length. */
	{
		char bad[300], *out = NULL;
		size_t outlen;

		memset(bad, 0xff, sizeof(bad));
		assert_int_equal(text_utf8_repair(bad, sizeof(bad), &out, &outlen), 1);
		assert_int_equal(outlen, 3 * sizeof(bad));
		for (size_t i = 0; i < outlen; i += 3)
			assert_memory_equal(out + i, "\xef\xbf\xbd", 3);
		free(out);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_escape_controls), cmocka_unit_test(test_last_line),
	        cmocka_unit_test(test_escape_bad_utf8), cmocka_unit_test(test_escape_bounds),
	        cmocka_unit_test(test_utf8_decode),     cmocka_unit_test(test_json_nul),
	        cmocka_unit_test(test_json_nul_deep),   cmocka_unit_test(test_utf8_repair),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

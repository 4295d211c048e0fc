/* Unit tests of worker/mask.c: secrets masked as they are, JSON-escaped, percent-encoded, in
 * base64 (both alphabets, every alignment) and hex, and at the end of a text cut short. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mask.h"

/* Special characters for JSON and urls; ">>?" gives '+' and '/' in base64. */
#define SECRET "k3y/s3cr+t=\"q\\z~>>?"

static struct mask m;

static int
setup(void **state)
{
	mask_init(&m);
	return mask_add(&m, SECRET, strlen(SECRET));
}

static int
teardown(void **state)
{
	mask_release(&m);
	return 0;
}

/* Mask a copy of text (cut or not) and return it (static). */
static const char *
masked(const char *text, int cut)
{
	static char buf[4096];
	size_t n = strlen(text);

	assert_true(n < sizeof(buf));
	memcpy(buf, text, n + 1);
	assert_int_equal(mask_apply(&m, buf, n, cut), 0);
	assert_int_equal(strlen(buf), n); /* the length is kept */
	return buf;
}

static void
assert_masked(const char *text, const char *want)
{
	const char *got = masked(text, 0);

	if (strcmp(got, want) != 0)
		fail_msg("masking '%s'\n  got:  '%s'\n  want: '%s'", text, got, want);
}

/* before + enc + after, masked, is before, as many '*' as enc has bytes, after. */
static void
assert_hidden(const char *before, const char *enc, const char *after)
{
	char text[1024], want[1024];
	size_t b = strlen(before), e = strlen(enc);

	snprintf(text, sizeof(text), "%s%s%s", before, enc, after);
	memcpy(want, text, strlen(text) + 1);
	memset(want + b, '*', e);
	assert_masked(text, want);
}

static void
test_raw(void **state)
{
	assert_masked("a k3y/s3cr+t=\"q\\z~>>? b k3y/s3cr+t=\"q\\z~>>?",
	              "a ******************* b *******************");
	assert_masked("nothing secret here", "nothing secret here");
	assert_masked("k3y/s3cr+t=\"q\\z~>> (one short)", "k3y/s3cr+t=\"q\\z~>> (one short)");

	/* Overlapping occurrences are masked whole: matches are found before anything is masked. */
	assert_int_equal(mask_add(&m, "abcdabcd", 8), 0);
	assert_masked("xabcdabcdabcdx", "x************x");
	/* A second secret, and an empty one (nothing to mask). */
	assert_int_equal(mask_add(&m, "", 0), 0);
	assert_int_equal(mask_add(&m, "second-secret", 13), 0);
	assert_masked("[second-secret|abcdabcd]", "[*************|********]");
}

static void
test_json_escapes(void **state)
{
	/* What json.dumps, PHP's json_encode and others write for it. */
	assert_hidden("{\"t\": \"", "k3y\\/s3cr+t=\\\"q\\\\z~>>?", "\"}");
	assert_hidden("{\"t\": \"", "k3y/s3cr+t=\\\"q\\\\z~>>?", "\"}");
	/* \u escapes of the special characters, lower and upper case hex. */
	assert_hidden("\"",
	              "k3y\\u002fs3cr\\u002Bt\\u003d\\u0022q\\u005cz\\u007e\\u003e\\u003E\\u003f",
	              "\"");

	/* Non-ASCII secrets written as \u escapes, with a surrogate pair. */
	const char *utf = "p\xc3\xa4ssw\xc3\xb6rd-\xf0\x9f\x98\x80-1";
	assert_int_equal(mask_add(&m, utf, strlen(utf)), 0);
	assert_hidden("[", "p\\u00e4ssw\\u00F6rd-\\ud83d\\ude00-1", "]");
	assert_hidden("[", "p\xc3\xa4ssw\xc3\xb6rd-\\uD83D\\uDE00-1", "]");
	assert_hidden("[", utf, "]");
}

static void
test_json_stays_valid(void **state)
{
	/* A match that starts right after a backslash takes the whole escape, so the text stays
	 * JSON ("\*" would not be). */
	assert_int_equal(mask_add(&m, "nsecret-value", 13), 0);
	const char *got =
	        masked("{\"a\": \"x\\nsecret-value\", \"b\": \"\\u006esecret-value\"}", 0);
	cJSON *j = cJSON_Parse(got);

	/* "\nsecret-value" and "\u006esecret-value" whole */
	assert_string_equal(got, "{\"a\": \"x**************\", \"b\": \"******************\"}");
	assert_non_null(j);
	cJSON_Delete(j);
}

static void
test_percent(void **state)
{
	assert_hidden("?key=", "k3y%2Fs3cr%2Bt%3D%22q%5Cz~%3E%3E%3F", "&x=1");
	assert_hidden("?key=", "k3y%2fs3cr%2bt%3d%22q%5cz%7e%3e%3e%3f", "&x=1");
	/* Only some characters encoded, every character encoded. */
	assert_hidden("", "k3y/s3cr%2Bt=%22q\\z~>>?", ".");
	assert_hidden("", "%6B%33%79%2F%73%33%63%72%2B%74%3D%22%71%5C%7A%7E%3E%3E%3F", "|");
}

/* Standard base64 of in[0..n), into out (NUL-terminated); url-safe alphabet with url. */
static void
b64(const unsigned char *in, size_t n, char *out, int url)
{
	const char *a = url ? "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	                    : "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t o = 0;

	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16;

		if (i + 1 < n)
			v |= (uint32_t)in[i + 1] << 8;
		if (i + 2 < n)
			v |= in[i + 2];
		out[o++] = a[v >> 18];
		out[o++] = a[(v >> 12) & 63];
		out[o++] = i + 1 < n ? a[(v >> 6) & 63] : '=';
		out[o++] = i + 2 < n ? a[v & 63] : '=';
	}
	out[o] = '\0';
}

/*
 * The secret inside a larger base64 blob, at each of its three alignments, followed by 0 to 2
 * bytes, in both alphabets: every character that carries a bit of the secret is masked, and
 * every other one is kept.
 */
static void
test_base64(void **state)
{
	const size_t n = strlen(SECRET);
	char text[256], want[256], blob[128];
	unsigned char in[64];

	for (int url = 0; url < 2; url++) {
		for (size_t pre = 0; pre < 3; pre++) {
			for (size_t post = 0; post < 3; post++) {
				size_t len = pre + n + post, bits0 = 8 * pre, bits1 = 8 * (pre + n);

				memcpy(in, "<<<", pre); /* '<' gives '+' / '/' too */
				memcpy(in + pre, SECRET, n);
				memcpy(in + pre + n, "???", post);
				b64(in, len, blob, url);
				snprintf(text, sizeof(text), "data:%s;", blob);
				strcpy(want, text);
				for (size_t k = 0; blob[k] != '\0'; k++) {
					if (6 * k < bits1 && 6 * k + 6 > bits0)
						want[5 + k] = '*';
				}
				assert_masked(text, want);
			}
		}
	}
	/* base64 as JSON writes it ("\/") and percent-encoded ("%2B", "%2F"). */
	memcpy(in, "<<", 2);
	memcpy(in + 2, SECRET, n);
	b64(in, n + 2, blob, 0); /* "PD" then 26 characters that are the secret's alone */
	assert_non_null(strchr(blob, '/'));
	assert_non_null(strchr(blob, '+'));
	char esc[128] = "", pct[128] = "";
	for (size_t k = 0; blob[k] != '\0'; k++) {
		strcat(esc, blob[k] == '/' ? "\\/" : (char[2]){blob[k], 0});
		strcat(pct, blob[k] == '/'   ? "%2F"
		            : blob[k] == '+' ? "%2B"
		                             : (char[2]){blob[k], 0});
	}
	snprintf(text, sizeof(text), "\"%s\"", esc);
	const char *got = masked(text, 0);
	assert_true(strncmp(got, "\"PD", 3) == 0);
	assert_null(strpbrk(got + 3,
	                    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	                    "\\"));
	snprintf(text, sizeof(text), "?b=%s&", pct);
	got = masked(text, 0);
	assert_true(strncmp(got, "?b=PD", 5) == 0);
	assert_null(strpbrk(got + 5,
	                    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789%"));
}

static void
test_hex(void **state)
{
	assert_hidden("<", "6b33792f733363722b743d22715c7a7e3e3e3f", ">");
	assert_hidden("<", "6B33792F733363722B743D22715C7A7E3E3E3F", ">");
}

/* A text cut short ends inside a secret: the start of the secret or of a form is masked from
 * MASK_PREFIX_MIN bytes of it on. */
static void
test_cut(void **state)
{
	char text[128], want[128];
	const size_t n = strlen(SECRET);

	for (size_t keep = 1; keep < n; keep++) {
		snprintf(text, sizeof(text), "result: %.*s", (int)keep, SECRET);
		strcpy(want, text);
		if (keep >= MASK_PREFIX_MIN)
			memset(want + 8, '*', keep);
		if (strcmp(masked(text, 1), want) != 0)
			fail_msg("cut after %zu bytes: got '%s', want '%s'", keep, masked(text, 1),
			         want);
		/* Not cut: the text is whole, a start of the secret is not the secret. */
		assert_string_equal(masked(text, 0), text);
	}
	/* The cut falls inside an escape. */
	assert_string_equal(masked("?key=k3y%2", 1), "?key=*****");
	assert_string_equal(masked("?key=k3y%", 1), "?key=****");
	assert_string_equal(masked("{\"t\": \"k3y\\u00", 1), "{\"t\": \"*******");
	assert_string_equal(masked("{\"t\": \"k3y\\", 1), "{\"t\": \"****");
	/* A base64 form and a hex form cut short. */
	assert_string_equal(masked("b64: azN5L3Mz", 1), "b64: ********");
	assert_string_equal(masked("hex: 6b3379", 1), "hex: ******");
	/* Fewer than MASK_PREFIX_MIN bytes stay. */
	assert_string_equal(masked("hex: 6b", 1), "hex: 6b");
}

/* A one-byte secret (callers refuse those; masked anyway) matches as it is only: its hex and
 * base64 forms are too short to tell from ordinary text. */
static void
test_short_secret(void **state)
{
	struct mask s = {0};
	char text[] = "Zebra 5a Wg== Z";

	assert_int_equal(mask_add(&s, "Z", 1), 0);
	assert_int_equal(mask_apply(&s, text, strlen(text), 1), 0);
	assert_string_equal(text, "*ebra 5a Wg== *");
	mask_release(&s);
	mask_release(&s);
	mask_release(NULL);
	/* An empty mask changes nothing. */
	assert_int_equal(mask_apply(&s, text, strlen(text), 1), 0);
	assert_string_equal(text, "*ebra 5a Wg== *");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_raw, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_json_escapes, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_json_stays_valid, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_percent, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_base64, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_hex, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_cut, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_short_secret, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

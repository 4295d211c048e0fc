/* Unit tests of core/names.c: type, namespace and tag validation, tag parsing, slugs. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "names.h"

/* A string of n copies of c (static buffer, n < 20000). */
static const char *
repeat(char c, size_t n)
{
	static char buf[20000];

	memset(buf, c, n);
	buf[n] = '\0';
	return buf;
}

static void
test_type_names(void **state)
{
	const char *good[] = {"a", "0", "enrich", "story-gen", "a_b", "x9", "9x", "a-", "a_"};
	const char *bad[] = {"",    "-a", "_a",  "A", "Enrich", "a.b",   "a b",
	                     "a/b", "..", "a:b", "é", "a\n",    "a\x7f", NULL};

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (!name_type_valid(good[i]))
			fail_msg("type '%s' rejected", good[i]);
	for (size_t i = 0; bad[i] != NULL; i++)
		if (name_type_valid(bad[i]))
			fail_msg("type '%s' accepted", bad[i]);
	assert_false(name_type_valid(NULL));
	assert_true(name_type_valid(repeat('a', 64)));
	assert_false(name_type_valid(repeat('a', 65)));
}

static void
test_tag_names(void **state)
{
	assert_true(name_tag_valid("ollama"));
	assert_true(name_tag_valid("claude-api"));
	assert_true(name_tag_valid("gpu.0"));
	assert_true(name_tag_valid("a_b"));
	assert_true(name_tag_valid(repeat('z', 64)));
	assert_false(name_tag_valid(repeat('z', 65)));
	assert_false(name_tag_valid(""));
	assert_false(name_tag_valid(".hidden"));
	assert_false(name_tag_valid("-x"));
	assert_false(name_tag_valid("GPU"));
	assert_false(name_tag_valid("cpu:2"));
	assert_false(name_tag_valid("a/b"));
	assert_false(name_tag_valid(NULL));
}

static void
test_namespace_names(void **state)
{
	assert_true(name_namespace_valid("default"));
	assert_true(name_namespace_valid("../.."));
	assert_true(name_namespace_valid("/"));
	assert_true(name_namespace_valid("user 42 / project \"x\""));
	assert_true(name_namespace_valid("café"));
	assert_true(name_namespace_valid("日本語"));
	assert_true(name_namespace_valid("\xf0\x9f\x98\x80")); /* U+1F600 */
	assert_true(name_namespace_valid(repeat('n', 256)));
	assert_false(name_namespace_valid(repeat('n', 257)));
	assert_false(name_namespace_valid(repeat('n', 10240)));
	assert_false(name_namespace_valid(""));
	assert_false(name_namespace_valid(NULL));
	assert_false(name_namespace_valid("a\nb"));
	assert_false(name_namespace_valid("a\tb"));
	assert_false(name_namespace_valid("a\x7f"));
	assert_false(name_namespace_valid("a\xc2\x85"));        /* C1 control U+0085 */
	assert_false(name_namespace_valid("\xff"));             /* not UTF-8 */
	assert_false(name_namespace_valid("caf\xe9"));          /* Latin-1 */
	assert_false(name_namespace_valid("\xc0\xaf"));         /* overlong '/' */
	assert_false(name_namespace_valid("\xe0\x80\xaf"));     /* overlong '/' */
	assert_false(name_namespace_valid("\xed\xa0\x80"));     /* surrogate */
	assert_false(name_namespace_valid("\xf4\x90\x80\x80")); /* above U+10FFFF */
	assert_false(name_namespace_valid("\xe6\x97"));         /* truncated */
	assert_false(name_namespace_valid("\x80"));             /* lone continuation */
}

static void
assert_tag(const char *s, const char *want_name, int want_units)
{
	char name[NAME_TAG_MAX + 1];
	int units = -1;

	if (tag_parse(s, name, &units) != 0)
		fail_msg("tag_parse(\"%s\") failed", s);
	assert_string_equal(name, want_name);
	assert_int_equal(units, want_units);
}

static void
test_tag_parse(void **state)
{
	const char *bad[] = {"",       ":2",          "cpu:",
	                     "cpu:0",  "cpu:-1",      "cpu:+2",
	                     "cpu:2x", "cpu:1000001", "cpu:99999999999999999999",
	                     "CPU",    "cpu:2:3",     "cpu :2",
	                     "cpu: 2", "cpu:02",      "/etc:1",
	                     NULL};
	char name[NAME_TAG_MAX + 1] = "untouched";
	int units = -1;
	char long_tag[NAME_TAG_MAX + 8];

	assert_tag("cpu", "cpu", 1);
	assert_tag("cpu:2", "cpu", 2);
	assert_tag("claude-api:3", "claude-api", 3);
	assert_tag("gpu.0:1", "gpu.0", 1);
	assert_tag("x:1000000", "x", 1000000);
	assert_tag(repeat('t', 64), repeat('t', 64), 1);
	for (size_t i = 0; bad[i] != NULL; i++) {
		if (tag_parse(bad[i], name, &units) != -EINVAL)
			fail_msg("tag_parse(\"%s\") accepted", bad[i]);
	}
	memset(long_tag, 't', 65);
	memcpy(long_tag + 65, ":2", 3);
	assert_int_equal(tag_parse(long_tag, name, &units), -EINVAL);
	assert_int_equal(tag_parse(NULL, name, &units), -EINVAL);
	assert_string_equal(name, "untouched");
	assert_int_equal(units, -1);
}

/* A slug is short, made of [A-Za-z0-9_-], never "." or "..", never starting with '-'. */
static void
assert_slug_safe(const char *slug)
{
	size_t n = strlen(slug);

	assert_true(n > 9);
	assert_true(n <= 48 + 9);
	assert_true(slug[0] != '-' && slug[0] != '.');
	for (size_t i = 0; i < n; i++) {
		char c = slug[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-'))
			fail_msg("slug '%s' holds '%c'", slug, c);
	}
	assert_int_equal(slug[n - 9], '-');
}

static void
test_slug(void **state)
{
	const char *inputs[] = {"default", "../..", "/",      "",    "..",  ".",
	                        "a/b",     "a_b",   "a?b",    "A",   "a",   "-rf",
	                        "--",      "café",  "日本語", "a b", "a\nb"};
	size_t n = sizeof(inputs) / sizeof(inputs[0]);
	char slugs[sizeof(inputs) / sizeof(inputs[0]) + 2][64];
	char *big1 = malloc(10241), *big2 = malloc(10241);

	assert_non_null(big1);
	assert_non_null(big2);
	memset(big1, 'x', 10240);
	big1[10240] = '\0';
	memcpy(big2, big1, 10241);
	big2[10239] = 'y'; /* differs only past the kept prefix */

	for (size_t i = 0; i < n; i++) {
		name_slug(inputs[i], slugs[i], sizeof(slugs[i]));
		assert_slug_safe(slugs[i]);
	}
	name_slug(big1, slugs[n], sizeof(slugs[n]));
	name_slug(big2, slugs[n + 1], sizeof(slugs[n + 1]));
	assert_slug_safe(slugs[n]);
	assert_slug_safe(slugs[n + 1]);
	/* All distinct, even those whose readable parts are the same ("a/b", "a_b", "a?b"). */
	for (size_t i = 0; i < n + 2; i++)
		for (size_t j = i + 1; j < n + 2; j++)
			if (strcmp(slugs[i], slugs[j]) == 0)
				fail_msg("slug collision: '%s'", slugs[i]);

	/* Readable and stable between calls. */
	char again[64];
	name_slug("default", again, sizeof(again));
	assert_string_equal(again, slugs[0]);
	assert_memory_equal(slugs[0], "default-", 8);
	assert_string_equal(slugs[3], "_-811c9dc5"); /* FNV-1a of "" is its offset basis */

	/* Each slug works as a file name inside a folder and stays inside it. */
	char dir[] = "/tmp/jobq-test-names-XXXXXX";
	assert_non_null(mkdtemp(dir));
	for (size_t i = 0; i < n + 2; i++) {
		char path[4096];
		struct stat st;
		FILE *fp;

		assert_true(snprintf(path, sizeof(path), "%s/%s", dir, slugs[i]) <
		            (int)sizeof(path));
		fp = fopen(path, "wx");
		assert_non_null(fp);
		fclose(fp);
		assert_int_equal(stat(path, &st), 0);
		assert_true(S_ISREG(st.st_mode));
		assert_int_equal(unlink(path), 0);
	}
	assert_int_equal(rmdir(dir), 0);

	/* A short buffer is cut but NUL-terminated; NULL is treated as "". */
	char small[8];
	name_slug("abcdefghijkl", small, sizeof(small));
	assert_string_equal(small, "abcdefg");
	name_slug(NULL, again, sizeof(again));
	assert_string_equal(again, slugs[3]);
	free(big1);
	free(big2);
}

static void
test_shown(void **state)
{
	static char big[100001];
	char out[NAME_SHOWN_SIZE], tiny[4];

	/* Short text is kept as it is; NULL is "". */
	assert_string_equal(name_shown("enrich", out, sizeof(out)), "enrich");
	assert_string_equal(name_shown(NULL, out, sizeof(out)), "");
	/* Control bytes become '?'. */
	assert_string_equal(name_shown("a\nb\x1b[2Jc\x7f", out, sizeof(out)), "a?b?[2Jc?");
	/* 100 KB is cut to 64 bytes and "..." (issue 14). */
	memset(big, 'a', 100000);
	big[100000] = '\0';
	name_shown(big, out, sizeof(out));
	assert_int_equal(strlen(out), 67);
	assert_string_equal(out + 64, "...");
	/* Exactly 64 bytes are not cut. */
	big[64] = '\0';
	assert_string_equal(name_shown(big, out, sizeof(out)), big);
	big[64] = 'a';
	/* Never in the middle of a UTF-8 character: "é" (2 bytes) straddling byte 64 goes. */
	memcpy(big + 63, "\xc3\xa9", 2);
	name_shown(big, out, sizeof(out));
	assert_int_equal(strlen(out), 63 + 3);
	assert_string_equal(out + 63, "...");
	/* ... but a whole one that ends at byte 64 stays. */
	memset(big, 'a', 100000);
	memcpy(big + 62, "\xc3\xa9", 2);
	name_shown(big, out, sizeof(out));
	assert_int_equal(strlen(out), 64 + 3);
	assert_memory_equal(out + 62, "\xc3\xa9...", 5);
	/* A 4-byte character cut after 2 of its bytes goes whole. */
	memset(big, 'a', 100000);
	memcpy(big + 62, "\xf0\x9f\x98\x80", 4);
	name_shown(big, out, sizeof(out));
	assert_string_equal(out + 62, "...");
	/* A short buffer: still NUL-terminated, never overrun. */
	name_shown("abcdef", tiny, sizeof(tiny));
	assert_true(strlen(tiny) < sizeof(tiny));
}

/* The "did you mean" of unknown types and pools (issue 12). */
static void
test_closest(void **state)
{
	const char *const types[] = {"enrich", "story", "research", NULL, "summarize"};
	const char *const pools[] = {"cpu", "gpu", "claude-api"};

	assert_string_equal(name_closest("enrch", types, 5), "enrich");  /* a letter left out */
	assert_string_equal(name_closest("enrihc", types, 5), "enrich"); /* two swapped */
	assert_string_equal(name_closest("stroy", types, 5), "story");
	assert_string_equal(name_closest("reserach", types, 5), "research");
	assert_string_equal(name_closest("summarise", types, 5), "summarize");
	assert_null(name_closest("zzz", types, 5));
	assert_null(name_closest("enrich", types, 5)); /* itself: nothing else is close */
	assert_null(name_closest("", types, 5));
	assert_null(name_closest(NULL, types, 5));
	assert_null(name_closest("enrch", types, 0));
	/* Short names: two typos in five bytes is another word; three bytes get no hint. */
	assert_null(name_closest("stxrx", types, 5));
	assert_string_equal(name_closest("gpus", pools, 3), "gpu");
	assert_null(name_closest("tpu", pools, 3));
	assert_string_equal(name_closest("claude_api", pools, 3), "claude-api");
	/* Too long to compare: no hint, no overrun. */
	char big[300];
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_null(name_closest(big, types, 5));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_type_names),
	        cmocka_unit_test(test_tag_names),
	        cmocka_unit_test(test_namespace_names),
	        cmocka_unit_test(test_tag_parse),
	        cmocka_unit_test(test_slug),
	        cmocka_unit_test(test_shown),
	        cmocka_unit_test(test_closest),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Output of the command line: aligned tables for people, JSON (cJSON) for scripts. */
#ifndef JOBQ_OUTPUT_H
#define JOBQ_OUTPUT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cjson/cJSON.h>

#include "store.h"

enum col_align { COL_LEFT, COL_RIGHT };

/* A table whose column widths come from its content. Cells are copied. */
struct table {
	size_t ncols;
	const char *const *headers;
	const enum col_align *align; /* ncols entries, or NULL: all left */
	char **cells;                /* nrows * ncols */
	size_t nrows;
	size_t cap;
	int oom; /* an allocation failed: table_print reports -ENOMEM */
};

/* Start a table of ncols columns; headers and align are borrowed and must outlive it. */
void table_init(struct table *t, size_t ncols, const char *const *headers,
                const enum col_align *align);

/* Append one row of t->ncols cells (NULL is printed as "-"). Returns 0 or -ENOMEM. */
int table_add(struct table *t, const char *const *cells);

/* Print the header and rows, columns separated by two spaces, the last left-aligned column not
 * padded. Returns 0, or -ENOMEM if a row could not be added. */
int table_print(const struct table *t, FILE *fp);

/* Free the cells; NULL-safe. */
void table_release(struct table *t);

/* s escaped for a terminal (text_escape(): controls as "\n", "\x1b", "\u009b"; bytes that are
 * not UTF-8 as "\xHH"), malloc'd (caller frees); NULL when out of memory. Every table cell
 * and every value of job_print_human() goes through text_escape(). */
char *text_escape_dup(const char *s);

/* Display width of UTF-8 text in columns (code points; control bytes count 0). */
size_t text_width(const char *s);

/* One-line summary of s: control characters and runs of white space become one space, cut to
 * at most width columns with "..." at the end when cut. out holds len bytes (NUL-terminated). */
void text_summary(const char *s, size_t width, char *out, size_t len);

/* An age or elapsed time rounded to seconds ("3s", "5m3s", "2h10m", "3d4h"). */
void format_age(int64_t ms, char *buf, size_t len);

/* Add key: an integer, exact for all int64 values. Returns 0 or -ENOMEM. */
int json_add_int(cJSON *obj, const char *key, int64_t v);

/* Add key: an RFC 3339 UTC string, or null when ms is 0. */
int json_add_time(cJSON *obj, const char *key, int64_t ms);

/* Add key: text embedded as a JSON value when it parses as JSON, else as a string; null when
 * text is NULL. JSON holding a \u0000 escape is embedded as written (raw, minified). */
int json_add_text_or_json(cJSON *obj, const char *key, const char *text);

/* Add key: a string, or null when s is NULL. */
int json_add_string_or_null(cJSON *obj, const char *key, const char *s);

/*
 * The job as a JSON object whose keys are the field names of the data model: id type namespace
 * payload state priority run_at attempts max_attempts timeout resources unique_key batch result
 * error exit_code created_at started_at finished_at orphans_reaped worker_pid pgid lease_until
 * token, cancel_requested, truncated and stderr. Times are RFC 3339 strings or null, payload and
 * result embedded as JSON (a truncated result as a string). Returns a new object (caller deletes)
 * or NULL when out of memory.
 */
cJSON *job_to_json(const struct job *job);

/* Print v compactly and a newline to stdout. Besides cJSON's escapes of C0 controls, DEL, C1
 * controls, U+2028, U+2029 and bidirectional controls are written as \uXXXX, and bytes that
 * are not UTF-8 as \ufffd. Returns 0 or -ENOMEM. */
int json_print(const cJSON *v);

/* Print v compactly as one element of a JSON array written piece by piece: "," before it unless
 * it is the first. Returns 0 or -ENOMEM. */
int json_print_item(const cJSON *v, int first);

/* Print a job: "key: value" lines for people. Values are escaped (text_escape()) but for their
 * newlines, which continue the value on lines indented by two spaces. */
void job_print_human(const struct job *job, FILE *fp);

#endif

/*
 * exoctl's rendering of result records: table, list, json, ndjson, csv,
 * tsv and yaml.
 */
#ifndef EXOCTL_OUTPUT_H
#define EXOCTL_OUTPUT_H

#include <stddef.h>
#include <stdio.h>

#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#define OUTPUT_MAX_DEPTH 128            /* nesting re-emitted from a parsed value */
#define OUTPUT_TABLE_MAX_BUFFER 1000    /* rows held back to size table columns */
#define OUTPUT_TABLE_MAX_COLUMNS 6      /* columns a table picks by itself */
#define OUTPUT_TABLE_MAX_CELL 1024      /* bytes of one table cell kept */
#define OUTPUT_TABLE_KEEP_WIDTH 16      /* columns are squeezed to this before any is dropped */
#define OUTPUT_TABLE_MIN_WIDTH 6        /* a column is not squeezed below this */
#define OUTPUT_LIST_MIN_VALUE 20        /* a list value wraps at no fewer columns */
#define OUTPUT_SELECT_MAX_FIELDS 128    /* names in one --select */
#define OUTPUT_SELECT_MAX_NAME 256      /* bytes of one --select name */

enum output_format {
	OUTPUT_TABLE,
	OUTPUT_JSON,
	OUTPUT_NDJSON,
	OUTPUT_CSV,
	OUTPUT_LIST,
	OUTPUT_TSV,
	OUTPUT_YAML,
	OUTPUT_AUTO,    /* a table, or a list when the result is exactly one record */
};

struct output_options {
	enum output_format fmt;
	int width;                      /* terminal columns for table and list; 0: no limit */
	int pretty;                     /* json indented, for a terminal */
	const char *const *columns;     /* NULL-terminated: fixes table, csv and tsv columns */
	const char *const *select;      /* NULL-terminated: --select, for every format */
};

struct output;

/* "table", "list", "json", "ndjson", "csv", "tsv" or "yaml"; -1 for anything else. */
int output_parse_format(const char *name, enum output_format *fmt);

/*
 * Splits --select's "Name,Alias" into a NULL-terminated list for
 * output_options.select (names trimmed of spaces); free it with
 * output_select_free.  -1 with a message in err for an empty name, a
 * name given twice (names match case-insensitively) or too many.
 */
int output_parse_select(const char *arg, char ***fields, char *err, size_t errlen);
void output_select_free(char **fields);

/* Starts rendering to fp; NULL when memory runs out. */
struct output *output_new(FILE *fp, const struct output_options *opt);
/*
 * Renders one record.  -1 when fp cannot be written (errno tells why),
 * memory runs out or a library is missing, with a message in err.
 */
int output_record(struct output *o, yajl_val rec, char *err, size_t errlen);
/*
 * 1 when records can be written as exod sent them (ndjson, compact json,
 * no --select): the caller may pass their bytes to output_record_raw
 * instead of a tree.
 */
int output_takes_raw(const struct output *o);
/* A record's JSON text, checked by the caller, written as it is. */
int output_record_raw(struct output *o, const char *json, size_t len, char *err, size_t errlen);
/* Ends the document (closes the json array, prints a buffered table or the one-record list). */
int output_finish(struct output *o, char *err, size_t errlen);
size_t output_count(const struct output *o);
/* 1 while records are held back (a table sizing its columns), so nothing reaches fp. */
int output_holds_back(const struct output *o);
void output_free(struct output *o);

/* Re-emits a parsed value into g; -1 when nested too deep or g refuses. */
int output_gen_tree(yajl_gen g, yajl_val v);
/* A value as one line of compact JSON, malloc'ed; NULL on failure. */
char *output_compact(yajl_val v);
/* Writes s with control characters replaced, safe for a terminal. */
void output_put_text(FILE *fp, const char *s);

#endif

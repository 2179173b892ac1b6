/*
 * exoctl's rendering of result records: table, json, ndjson and csv.
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
#define OUTPUT_TABLE_MIN_WIDTH 6        /* a column is not squeezed below this */

enum output_format {
	OUTPUT_TABLE,
	OUTPUT_JSON,
	OUTPUT_NDJSON,
	OUTPUT_CSV,
};

struct output;

/* "table", "json", "ndjson" or "csv"; -1 for anything else. */
int output_parse_format(const char *name, enum output_format *fmt);

/*
 * Starts rendering to fp.  width is the terminal's width for tables
 * (0: no limit).  columns, a NULL-terminated list, fixes the table and
 * csv columns; NULL lets the first record choose them.
 */
struct output *output_new(FILE *fp, enum output_format fmt, int width,
			  const char *const *columns);
/*
 * Renders one record.  -1 when fp cannot be written (errno tells why) or
 * memory runs out, with a message in err.
 */
int output_record(struct output *o, yajl_val rec, char *err, size_t errlen);
/* Ends the document (closes the json array, prints a buffered table). */
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

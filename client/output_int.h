/*
 * What the parts of exoctl's renderer share, and nobody else uses:
 * output.c (the entry points, --select, json, csv and tsv),
 * output_text.c (display width, cutting and cleaning text for a
 * terminal), output_table.c (table and list) and output_yaml.c.
 */
#ifndef EXOCTL_OUTPUT_INT_H
#define EXOCTL_OUTPUT_INT_H

#include <stddef.h>
#include <stdio.h>

#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#include "client/output.h"

#define OUTPUT_ELLIPSIS "\xe2\x80\xa6"  /* U+2026, one column */

struct output_yaml;

struct output {
	FILE *fp;
	enum output_format fmt;         /* OUTPUT_AUTO until the second record decides */
	int width;
	int pretty;
	size_t count;
	yajl_gen gen;                   /* json and ndjson */
	char **cols;
	size_t ncols;
	int cols_fixed;
	/* --select: each record seen through a view of the fields picked */
	char **select;
	size_t nselect;
	const char **view_keys;
	yajl_val *view_values;
	struct yajl_val_s view;
	char *first;                    /* auto: the first record, as compact JSON */
	int list_last_object;           /* list: the record before was an object */
	size_t nshown;                  /* table columns that fit the width */
	size_t *widths;
	char **rows;                    /* table: buffered cells, ncols a row */
	size_t nrows;
	int table_started;              /* header printed; rows now stream */
	struct output_yaml *yaml;
};

/* output.c */
yajl_val output_field(yajl_val rec, const char *key);
char *output_cell_text(yajl_val v);
int output_choose_columns(struct output *o, yajl_val rec);
void output_free_cells(char **cells, size_t n);

/* output_text.c: s is UTF-8 (exod checks what it relays) */
size_t output_text_width(const char *s);
/* Bytes of the longest prefix of s[0..len) within cols columns; *used gets its columns. */
size_t output_text_fit(const char *s, size_t len, size_t cols, size_t *used);
/*
 * Replaces in place what would drive a terminal (C0 and C1 controls,
 * DEL) with spaces; newlines stay when keep_newlines (a carriage return
 * before one goes).  Returns s.
 */
char *output_text_clean(char *s, int keep_newlines);
/* Cuts s in place to at most max bytes, at a character, ending it with an ellipsis. */
void output_text_bound(char *s, size_t max);
void output_text_pad(FILE *fp, size_t n);

/* output_table.c */
int output_table_record(struct output *o, yajl_val rec);
int output_table_finish(struct output *o);
void output_table_free(struct output *o);
int output_list_record(struct output *o, yajl_val rec);

/* output_yaml.c */
int output_yaml_record(struct output *o, yajl_val rec, char *err, size_t errlen);
int output_yaml_finish(struct output *o, char *err, size_t errlen);
void output_yaml_free(struct output *o);

#endif

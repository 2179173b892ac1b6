/*
 * The two layouts for people at a terminal: a table (columns sized from
 * the first rows, fitted to the terminal's width) and a list in the look
 * of PowerShell's Format-List (one "Name : Value" a line).
 */
#include "client/output_int.h"

#include <stdlib.h>
#include <string.h>

#define OUTPUT_TABLE_SEP 1      /* spaces between table columns */
#define OUTPUT_LIST_SEP " : "

/* Text of a cell, cleaned for a terminal and bounded. */
static char *output_cell_clean(yajl_val v)
{
	char *s = output_cell_text(v);

	if (s == NULL)
		return NULL;
	output_text_clean(s, 0);
	output_text_bound(s, OUTPUT_TABLE_MAX_CELL);
	return s;
}

static char **output_row_cells(const struct output *o, yajl_val rec)
{
	char **cells = calloc(o->ncols, sizeof(*cells));

	if (cells == NULL)
		return NULL;
	for (size_t c = 0; c < o->ncols; c++) {
		if ((cells[c] = output_cell_clean(output_field(rec, o->cols[c]))) == NULL) {
			output_free_cells(cells, c);
			return NULL;
		}
	}
	return cells;
}

/* A cell in w columns: cut with an ellipsis when too wide, then padded unless last. */
static void output_table_cell(struct output *o, const char *s, size_t w, int last)
{
	size_t n = output_text_width(s);

	/* without a terminal to fit, a late long value is shown whole */
	if (n > w && o->width > 0) {
		size_t used = 0, keep = w > 0 ? output_text_fit(s, strlen(s), w - 1, &used) : 0;

		fwrite(s, 1, keep, o->fp);
		if (w > 0)
			fputs(OUTPUT_ELLIPSIS, o->fp);
		/* a wide character that did not fit leaves a column to pad */
		n = w > 0 ? used + 1 : 0;
	} else {
		fputs(s, o->fp);
	}
	if (!last)
		output_text_pad(o->fp, (n > w ? 0 : w - n) + OUTPUT_TABLE_SEP);
}

/* A row ends at its last cell with text: no spaces at the end of a line. */
static void output_table_row(struct output *o, char *const *cells)
{
	size_t end = o->nshown;

	while (end > 0 && cells[end - 1][0] == '\0')
		end--;
	for (size_t c = 0; c < end; c++)
		output_table_cell(o, cells[c], o->widths[c], c + 1 == end);
	putc('\n', o->fp);
}

static size_t output_table_total(const struct output *o)
{
	size_t total = 0;

	for (size_t c = 0; c < o->nshown; c++)
		total += o->widths[c] + (c > 0 ? OUTPUT_TABLE_SEP : 0);
	return total;
}

/* Narrows the widest columns, one column at a time, while the table is too wide. */
static void output_table_squeeze(struct output *o, size_t *total, size_t floor)
{
	while (*total > (size_t)o->width) {
		size_t widest = 0;

		for (size_t c = 1; c < o->nshown; c++)
			if (o->widths[c] > o->widths[widest])
				widest = c;
		if (o->widths[widest] <= floor)
			return;
		o->widths[widest]--;
		(*total)--;
	}
}

/*
 * Squeezes wide columns to a readable width, then drops columns off the
 * right (as Format-Table does) while the rest would have to give up more
 * than half a column for them, and only then squeezes what is left.
 */
static void output_table_fit(struct output *o)
{
	size_t total = output_table_total(o);

	output_table_squeeze(o, &total, OUTPUT_TABLE_KEEP_WIDTH);
	while (total > (size_t)o->width && o->nshown > 1 &&
	       total - (size_t)o->width > o->widths[o->nshown - 1] / 2) {
		o->nshown--;
		total -= o->widths[o->nshown] + OUTPUT_TABLE_SEP;
	}
	output_table_squeeze(o, &total, OUTPUT_TABLE_MIN_WIDTH);
	if (total > (size_t)o->width)
		o->widths[0] = (size_t)o->width;
}

/* The header: the column names cleaned like cells, since record keys come from the network too. */
static char **output_table_heads(const struct output *o)
{
	char **heads = calloc(o->ncols, sizeof(*heads));

	for (size_t c = 0; heads != NULL && c < o->ncols; c++) {
		if ((heads[c] = strdup(o->cols[c])) == NULL) {
			output_free_cells(heads, c);
			return NULL;
		}
		output_text_clean(heads[c], 0);
		output_text_bound(heads[c], OUTPUT_TABLE_MAX_CELL);
	}
	return heads;
}

static void output_table_widths(struct output *o, char *const *heads)
{
	o->nshown = o->ncols;
	for (size_t c = 0; c < o->ncols; c++) {
		o->widths[c] = output_text_width(heads[c]);
		for (size_t r = 0; r < o->nrows; r++) {
			size_t n = output_text_width(o->rows[r * o->ncols + c]);

			if (n > o->widths[c])
				o->widths[c] = n;
		}
	}
	if (o->width > 0)
		output_table_fit(o);
}

/* Dashes under each name, as long as the name shows. */
static void output_table_rule(struct output *o, char *const *heads)
{
	for (size_t c = 0; c < o->nshown; c++) {
		size_t n = output_text_width(heads[c]);

		if (n > o->widths[c])
			n = o->widths[c];
		for (size_t i = 0; i < n; i++)
			putc('-', o->fp);
		if (c + 1 < o->nshown)
			output_text_pad(o->fp, o->widths[c] - n + OUTPUT_TABLE_SEP);
	}
	putc('\n', o->fp);
}

static int output_table_start(struct output *o)
{
	char **heads = output_table_heads(o);

	o->widths = calloc(o->ncols, sizeof(*o->widths));
	if (o->widths == NULL || heads == NULL) {
		free(o->widths);
		o->widths = NULL;
		if (heads != NULL)
			output_free_cells(heads, o->ncols);
		return -1;
	}
	output_table_widths(o, heads);
	output_table_row(o, heads);
	output_table_rule(o, heads);
	output_free_cells(heads, o->ncols);
	for (size_t r = 0; r < o->nrows; r++)
		output_table_row(o, o->rows + r * o->ncols);
	output_table_free(o);
	o->table_started = 1;
	return 0;
}

int output_table_record(struct output *o, yajl_val rec)
{
	char **cells = output_row_cells(o, rec);
	char **rows;

	if (cells == NULL)
		return -1;
	if (o->table_started) {
		output_table_row(o, cells);
		output_free_cells(cells, o->ncols);
		return 0;
	}
	rows = realloc(o->rows, (o->nrows + 1) * o->ncols * sizeof(*rows));
	if (rows == NULL) {
		output_free_cells(cells, o->ncols);
		return -1;
	}
	o->rows = rows;
	memcpy(rows + o->nrows * o->ncols, cells, o->ncols * sizeof(*cells));
	free(cells);
	o->nrows++;
	if (o->nrows >= OUTPUT_TABLE_MAX_BUFFER)
		return output_table_start(o);
	return 0;
}

int output_table_finish(struct output *o)
{
	if (o->table_started || o->nrows == 0)
		return 0;
	return output_table_start(o);
}

void output_table_free(struct output *o)
{
	for (size_t i = 0; i < o->nrows * o->ncols; i++)
		free(o->rows[i]);
	free(o->rows);
	o->rows = NULL;
	o->nrows = 0;
}

/* ---- list ---- */

/* Appends s to *buf (of *len bytes, NUL-terminated); -1 when memory runs out. */
static int output_list_append(char **buf, size_t *len, const char *s)
{
	size_t n = strlen(s);
	char *b = realloc(*buf, *len + n + 1);

	if (b == NULL)
		return -1;
	memcpy(b + *len, s, n + 1);
	*buf = b;
	*len += n;
	return 0;
}

/* A multi-valued value as PowerShell shows one: {a, b, c}. */
static char *output_list_array(yajl_val v)
{
	char *buf = strdup("{");
	size_t len = 1;

	for (size_t i = 0; buf != NULL && i < v->u.array.len; i++) {
		char *item = output_cell_text(v->u.array.values[i]);

		if (item == NULL || (i > 0 && output_list_append(&buf, &len, ", ") < 0) ||
		    output_list_append(&buf, &len, item) < 0) {
			free(item);
			free(buf);
			return NULL;
		}
		free(item);
	}
	if (buf != NULL && output_list_append(&buf, &len, "}") < 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

static char *output_list_text(yajl_val v)
{
	char *s = YAJL_IS_ARRAY(v) ? output_list_array(v) : output_cell_text(v);

	return s != NULL ? output_text_clean(s, 1) : NULL;
}

/* Bytes of the next piece of a line that fits cols, broken after a space when one is near. */
static size_t output_list_break(const char *s, size_t len, size_t cols)
{
	size_t used, fit = output_text_fit(s, len, cols, &used);

	if (fit == len)
		return len;
	if (s[fit] == ' ')
		return fit + 1;
	for (size_t i = fit; i > fit / 2; i--)
		if (s[i - 1] == ' ')
			return i;
	/* a character wider than cols still goes out whole, or the line would never end */
	if (fit == 0)
		fit = output_text_fit(s, len, 2, &used);
	return fit > 0 ? fit : len;
}

/* Writes text from the current column indent: long lines wrap at the width, continuing at indent. */
static void output_list_value(struct output *o, const char *text, size_t indent)
{
	size_t avail = 0;
	int first = 1;

	if (o->width > 0) {
		avail = (size_t)o->width > indent ? (size_t)o->width - indent : 0;
		if (avail < OUTPUT_LIST_MIN_VALUE)
			avail = OUTPUT_LIST_MIN_VALUE;
	}
	for (;;) {
		const char *nl = strchr(text, '\n');
		size_t len = nl != NULL ? (size_t)(nl - text) : strlen(text);

		do {
			size_t n = avail > 0 ? output_list_break(text, len, avail) : len;

			if (!first) {
				putc('\n', o->fp);
				output_text_pad(o->fp, indent);
			}
			first = 0;
			/* the space a line was broken after is not shown at its end */
			fwrite(text, 1, n > 0 && n < len && text[n - 1] == ' ' ? n - 1 : n, o->fp);
			text += n;
			len -= n;
		} while (len > 0);
		if (nl == NULL)
			break;
		text = nl + 1;
	}
	putc('\n', o->fp);
}

static size_t output_list_name_width(char *const *names, size_t n)
{
	size_t w = 0;

	for (size_t i = 0; i < n; i++) {
		size_t nw = output_text_width(names[i]);

		if (nw > w)
			w = nw;
	}
	return w;
}

static int output_list_object(struct output *o, yajl_val rec)
{
	size_t n = rec->u.object.len, w;
	char **names = calloc(n + 1, sizeof(*names));

	if (names == NULL)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if ((names[i] = strdup(rec->u.object.keys[i])) == NULL) {
			output_free_cells(names, i);
			return -1;
		}
		output_text_clean(names[i], 0);
	}
	w = output_list_name_width(names, n);
	for (size_t i = 0; i < n; i++) {
		char *text = output_list_text(rec->u.object.values[i]);

		if (text == NULL) {
			output_free_cells(names, n);
			return -1;
		}
		fputs(names[i], o->fp);
		output_text_pad(o->fp, w - output_text_width(names[i]));
		/* no space after the colon when nothing follows it */
		fputs(text[0] != '\0' ? OUTPUT_LIST_SEP : " :", o->fp);
		output_list_value(o, text, w + sizeof(OUTPUT_LIST_SEP) - 1);
		free(text);
	}
	output_free_cells(names, n);
	return 0;
}

/*
 * Records are separated by a blank line, as Format-List separates them;
 * values that are not objects (from --query) are one line each.
 */
int output_list_record(struct output *o, yajl_val rec)
{
	int object = YAJL_IS_OBJECT(rec);
	char *text;

	if (o->count > 0 && (object || o->list_last_object))
		putc('\n', o->fp);
	o->list_last_object = object;
	if (object)
		return output_list_object(o, rec);
	if ((text = output_list_text(rec)) == NULL)
		return -1;
	output_list_value(o, text, 0);
	free(text);
	return 0;
}

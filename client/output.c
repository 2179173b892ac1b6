/* Rendering of result records as a table, a json array, ndjson or csv. */
#include "output.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define OUTPUT_TABLE_SEP 1      /* spaces between table columns */

struct output {
	FILE *fp;
	enum output_format fmt;
	int width;
	size_t count;
	yajl_gen gen;           /* json and ndjson */
	char **cols;
	size_t ncols;
	int cols_fixed;
	size_t nshown;          /* table columns that fit the width */
	size_t *widths;
	char **rows;            /* table: buffered cells, ncols a row */
	size_t nrows;
	int table_started;      /* header printed; rows now stream */
};

static const char *const output_preferred[] = {
	"Name", "DisplayName", "Identity", "Alias", "PrimarySmtpAddress",
	"RecipientTypeDetails",
};

static const struct {
	const char *name;
	enum output_format fmt;
} output_formats[] = {
	{ "table", OUTPUT_TABLE },
	{ "json", OUTPUT_JSON },
	{ "ndjson", OUTPUT_NDJSON },
	{ "csv", OUTPUT_CSV },
};

int output_parse_format(const char *name, enum output_format *fmt)
{
	for (size_t i = 0; i < sizeof(output_formats) / sizeof(output_formats[0]); i++) {
		if (strcmp(name, output_formats[i].name) == 0) {
			*fmt = output_formats[i].fmt;
			return 0;
		}
	}
	return -1;
}

static int output_gen_depth(yajl_gen g, yajl_val v, int depth)
{
	yajl_gen_status st = yajl_gen_status_ok;

	if (depth > OUTPUT_MAX_DEPTH)
		return -1;
	if (v == NULL)
		return yajl_gen_null(g) == yajl_gen_status_ok ? 0 : -1;
	switch (v->type) {
	case yajl_t_string:
		st = yajl_gen_string(g, (const unsigned char *)v->u.string,
				     strlen(v->u.string));
		break;
	case yajl_t_number:
		st = yajl_gen_number(g, v->u.number.r, strlen(v->u.number.r));
		break;
	case yajl_t_object:
		if (yajl_gen_map_open(g) != yajl_gen_status_ok)
			return -1;
		for (size_t i = 0; i < v->u.object.len; i++) {
			const char *k = v->u.object.keys[i];

			if (yajl_gen_string(g, (const unsigned char *)k, strlen(k)) != yajl_gen_status_ok ||
			    output_gen_depth(g, v->u.object.values[i], depth + 1) < 0)
				return -1;
		}
		st = yajl_gen_map_close(g);
		break;
	case yajl_t_array:
		if (yajl_gen_array_open(g) != yajl_gen_status_ok)
			return -1;
		for (size_t i = 0; i < v->u.array.len; i++)
			if (output_gen_depth(g, v->u.array.values[i], depth + 1) < 0)
				return -1;
		st = yajl_gen_array_close(g);
		break;
	case yajl_t_true:
		st = yajl_gen_bool(g, 1);
		break;
	case yajl_t_false:
		st = yajl_gen_bool(g, 0);
		break;
	case yajl_t_null:
		st = yajl_gen_null(g);
		break;
	default:
		return -1;
	}
	return st == yajl_gen_status_ok ? 0 : -1;
}

int output_gen_tree(yajl_gen g, yajl_val v)
{
	return output_gen_depth(g, v, 0);
}

char *output_compact(yajl_val v)
{
	yajl_gen g = yajl_gen_alloc(NULL);
	const unsigned char *buf;
	size_t len;
	char *s = NULL;

	if (g == NULL)
		return NULL;
	if (output_gen_tree(g, v) < 0 || yajl_gen_get_buf(g, &buf, &len) != yajl_gen_status_ok)
		goto out;
	s = strndup((const char *)buf, len);
out:
	yajl_gen_free(g);
	return s;
}

void output_put_text(FILE *fp, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		/* a message from the network must not drive the terminal */
		if (c == '\n' || c == '\r' || c == '\t')
			c = ' ';
		else if (c < 0x20 || c == 0x7f)
			c = '?';
		putc(c, fp);
	}
}

static void output_print_cb(void *ctx, const char *s, size_t len)
{
	fwrite(s, 1, len, (FILE *)ctx);
}

struct output *output_new(FILE *fp, enum output_format fmt, int width,
			  const char *const *columns)
{
	struct output *o = calloc(1, sizeof(*o));

	if (o == NULL)
		return NULL;
	o->fp = fp;
	o->fmt = fmt;
	o->width = width > 0 ? width : 0;
	if (fmt == OUTPUT_JSON || fmt == OUTPUT_NDJSON) {
		o->gen = yajl_gen_alloc(NULL);
		if (o->gen == NULL ||
		    !yajl_gen_config(o->gen, yajl_gen_print_callback, output_print_cb, fp))
			goto fail;
	}
	for (size_t i = 0; columns != NULL && columns[i] != NULL; i++) {
		char **cols = realloc(o->cols, (o->ncols + 1) * sizeof(*cols));

		if (cols == NULL)
			goto fail;
		o->cols = cols;
		if ((o->cols[o->ncols] = strdup(columns[i])) == NULL)
			goto fail;
		o->ncols++;
		o->cols_fixed = 1;
	}
	return o;
fail:
	output_free(o);
	return NULL;
}

size_t output_count(const struct output *o)
{
	return o->count;
}

static void output_free_rows(struct output *o)
{
	for (size_t i = 0; i < o->nrows * o->ncols; i++)
		free(o->rows[i]);
	free(o->rows);
	o->rows = NULL;
	o->nrows = 0;
}

void output_free(struct output *o)
{
	if (o == NULL)
		return;
	output_free_rows(o);
	for (size_t i = 0; i < o->ncols; i++)
		free(o->cols[i]);
	free(o->cols);
	free(o->widths);
	if (o->gen != NULL)
		yajl_gen_free(o->gen);
	free(o);
}

static int output_write_check(struct output *o, char *err, size_t errlen)
{
	int saved = errno;

	if (!ferror(o->fp))
		return 0;
	snprintf(err, errlen, "cannot write output: %s", strerror(saved));
	errno = saved;
	return -1;
}

static yajl_val output_field(yajl_val rec, const char *key)
{
	if (!YAJL_IS_OBJECT(rec))
		return strcmp(key, "Value") == 0 ? rec : NULL;
	for (size_t i = 0; i < rec->u.object.len; i++)
		if (strcmp(rec->u.object.keys[i], key) == 0)
			return rec->u.object.values[i];
	return NULL;
}

/* The text of a value in a table or csv cell: nested values as compact JSON. */
static char *output_cell_text(yajl_val v)
{
	if (v == NULL || YAJL_IS_NULL(v))
		return strdup("");
	if (YAJL_IS_STRING(v))
		return strdup(v->u.string);
	if (YAJL_IS_NUMBER(v))
		return strdup(v->u.number.r);
	if (YAJL_IS_TRUE(v))
		return strdup("true");
	if (YAJL_IS_FALSE(v))
		return strdup("false");
	return output_compact(v);
}

static int output_has_column(const struct output *o, const char *key)
{
	for (size_t i = 0; i < o->ncols; i++)
		if (strcmp(o->cols[i], key) == 0)
			return 1;
	return 0;
}

static int output_add_column(struct output *o, const char *key)
{
	char **cols;

	if (output_has_column(o, key))
		return 0;
	cols = realloc(o->cols, (o->ncols + 1) * sizeof(*cols));
	if (cols == NULL)
		return -1;
	o->cols = cols;
	if ((o->cols[o->ncols] = strdup(key)) == NULL)
		return -1;
	o->ncols++;
	return 0;
}

static int output_is_scalar(yajl_val v)
{
	return !YAJL_IS_OBJECT(v) && !YAJL_IS_ARRAY(v);
}

/*
 * A table shows the keys an administrator recognises first, then fills
 * up with the record's first plain keys; csv keeps every key.
 */
static int output_choose_columns(struct output *o, yajl_val rec)
{
	size_t n, i;

	if (!YAJL_IS_OBJECT(rec))
		return output_add_column(o, "Value");
	n = rec->u.object.len;
	if (o->fmt == OUTPUT_CSV) {
		for (i = 0; i < n; i++)
			if (output_add_column(o, rec->u.object.keys[i]) < 0)
				return -1;
		return 0;
	}
	for (i = 0; i < sizeof(output_preferred) / sizeof(output_preferred[0]); i++)
		if (output_field(rec, output_preferred[i]) != NULL &&
		    output_add_column(o, output_preferred[i]) < 0)
			return -1;
	for (i = 0; i < n && o->ncols < OUTPUT_TABLE_MAX_COLUMNS; i++)
		if (output_is_scalar(rec->u.object.values[i]) &&
		    output_add_column(o, rec->u.object.keys[i]) < 0)
			return -1;
	for (i = 0; i < n && o->ncols == 0; i++)
		if (output_add_column(o, rec->u.object.keys[i]) < 0)
			return -1;
	if (o->ncols == 0)
		return output_add_column(o, "Value");
	return 0;
}

static size_t output_utf8_cols(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		if (((unsigned char)*s & 0xC0) != 0x80)
			n++;
	return n;
}

/* Bytes of s that hold its first cols characters. */
static size_t output_utf8_prefix(const char *s, size_t cols)
{
	size_t i = 0, n = 0;

	for (; s[i]; i++) {
		if (((unsigned char)s[i] & 0xC0) != 0x80) {
			if (n == cols)
				break;
			n++;
		}
	}
	return i;
}

/* Makes a cell fit for a terminal line and bounds what a table keeps. */
static void output_cell_clean(char *s)
{
	size_t i;

	for (i = 0; i < OUTPUT_TABLE_MAX_CELL && s[i]; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			s[i] = ' ';
	if (s[i] == '\0')
		return;
	while (i > 0 && ((unsigned char)s[i] & 0xC0) == 0x80)
		i--;
	s[i] = '\0';
}

static char **output_row_cells(const struct output *o, yajl_val rec)
{
	char **cells = calloc(o->ncols, sizeof(*cells));

	if (cells == NULL)
		return NULL;
	for (size_t c = 0; c < o->ncols; c++) {
		cells[c] = output_cell_text(output_field(rec, o->cols[c]));
		if (cells[c] == NULL) {
			for (size_t j = 0; j < c; j++)
				free(cells[j]);
			free(cells);
			return NULL;
		}
		output_cell_clean(cells[c]);
	}
	return cells;
}

static void output_table_cell(struct output *o, const char *s, size_t w, int last)
{
	size_t n = output_utf8_cols(s);

	/* without a terminal to fit, a late long value is shown whole */
	if (n > w && o->width > 0) {
		size_t keep = w > 3 ? w - 3 : w;

		fwrite(s, 1, output_utf8_prefix(s, keep), o->fp);
		if (w > 3)
			fputs("...", o->fp);
		n = w;
	} else {
		fputs(s, o->fp);
	}
	if (last)
		return;
	for (size_t pad = (n > w ? n : w) + OUTPUT_TABLE_SEP; n < pad; n++)
		putc(' ', o->fp);
}

static void output_table_row(struct output *o, char *const *cells)
{
	for (size_t c = 0; c < o->nshown; c++)
		output_table_cell(o, cells[c], o->widths[c], c + 1 == o->nshown);
	putc('\n', o->fp);
}

static size_t output_table_total(const struct output *o)
{
	size_t total = 0;

	for (size_t c = 0; c < o->nshown; c++)
		total += o->widths[c] + (c > 0 ? OUTPUT_TABLE_SEP : 0);
	return total;
}

/* Squeezes the widest columns first, then drops columns off the right. */
static void output_table_fit(struct output *o)
{
	size_t width = (size_t)o->width, total = output_table_total(o);

	while (total > width) {
		size_t widest = 0;

		for (size_t c = 1; c < o->nshown; c++)
			if (o->widths[c] > o->widths[widest])
				widest = c;
		if (o->widths[widest] <= OUTPUT_TABLE_MIN_WIDTH)
			break;
		o->widths[widest]--;
		total--;
	}
	while (total > width && o->nshown > 1) {
		o->nshown--;
		total -= o->widths[o->nshown] + OUTPUT_TABLE_SEP;
	}
	if (total > width)
		o->widths[0] = width;
}

/* The header: the column names cleaned like cells, since record keys come from the network too. */
static char **output_table_heads(const struct output *o)
{
	char **heads = calloc(o->ncols, sizeof(*heads));

	for (size_t c = 0; heads != NULL && c < o->ncols; c++) {
		heads[c] = strdup(o->cols[c]);
		if (heads[c] == NULL) {
			for (size_t j = 0; j < c; j++)
				free(heads[j]);
			free(heads);
			return NULL;
		}
		output_cell_clean(heads[c]);
	}
	return heads;
}

static int output_table_start(struct output *o)
{
	char **heads = output_table_heads(o);

	o->widths = calloc(o->ncols, sizeof(*o->widths));
	if (o->widths == NULL || heads == NULL) {
		free(o->widths);
		o->widths = NULL;
		for (size_t c = 0; heads != NULL && c < o->ncols; c++)
			free(heads[c]);
		free(heads);
		return -1;
	}
	o->nshown = o->ncols;
	for (size_t c = 0; c < o->ncols; c++) {
		o->widths[c] = output_utf8_cols(heads[c]);
		for (size_t r = 0; r < o->nrows; r++) {
			size_t n = output_utf8_cols(o->rows[r * o->ncols + c]);

			if (n > o->widths[c])
				o->widths[c] = n;
		}
	}
	if (o->width > 0)
		output_table_fit(o);
	output_table_row(o, heads);
	for (size_t c = 0; c < o->nshown; c++) {
		size_t n = output_utf8_cols(heads[c]);

		for (size_t i = 0; i < n && i < o->widths[c]; i++)
			putc('-', o->fp);
		for (size_t i = n; c + 1 < o->nshown && i < o->widths[c] + OUTPUT_TABLE_SEP; i++)
			putc(' ', o->fp);
	}
	putc('\n', o->fp);
	for (size_t c = 0; c < o->ncols; c++)
		free(heads[c]);
	free(heads);
	for (size_t r = 0; r < o->nrows; r++)
		output_table_row(o, o->rows + r * o->ncols);
	output_free_rows(o);
	o->table_started = 1;
	return 0;
}

static int output_table_record(struct output *o, yajl_val rec)
{
	char **cells = output_row_cells(o, rec);
	char **rows;

	if (cells == NULL)
		return -1;
	if (o->table_started) {
		output_table_row(o, cells);
		for (size_t c = 0; c < o->ncols; c++)
			free(cells[c]);
		free(cells);
		return 0;
	}
	rows = realloc(o->rows, (o->nrows + 1) * o->ncols * sizeof(*rows));
	if (rows == NULL) {
		for (size_t c = 0; c < o->ncols; c++)
			free(cells[c]);
		free(cells);
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

static void output_csv_field(FILE *fp, const char *s)
{
	if (strpbrk(s, ",\"\r\n") == NULL) {
		fputs(s, fp);
		return;
	}
	putc('"', fp);
	for (; *s; s++) {
		if (*s == '"')
			putc('"', fp);
		putc(*s, fp);
	}
	putc('"', fp);
}

static int output_csv_record(struct output *o, yajl_val rec)
{
	for (size_t c = 0; c < o->ncols; c++) {
		char *s = output_cell_text(output_field(rec, o->cols[c]));

		if (s == NULL)
			return -1;
		if (c > 0)
			putc(',', o->fp);
		output_csv_field(o->fp, s);
		free(s);
	}
	putc('\n', o->fp);
	return 0;
}

static int output_csv_header(struct output *o)
{
	for (size_t c = 0; c < o->ncols; c++) {
		if (c > 0)
			putc(',', o->fp);
		output_csv_field(o->fp, o->cols[c]);
	}
	putc('\n', o->fp);
	return 0;
}

static int output_json_record(struct output *o, yajl_val rec)
{
	if (o->fmt == OUTPUT_JSON)
		fputs(o->count == 0 ? "[" : ",\n", o->fp);
	yajl_gen_reset(o->gen, NULL);
	if (output_gen_tree(o->gen, rec) < 0)
		return -1;
	if (o->fmt == OUTPUT_NDJSON)
		putc('\n', o->fp);
	return 0;
}

int output_record(struct output *o, yajl_val rec, char *err, size_t errlen)
{
	int rc = 0;

	if (o->count == 0 && (o->fmt == OUTPUT_TABLE || o->fmt == OUTPUT_CSV)) {
		if (!o->cols_fixed && output_choose_columns(o, rec) < 0) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		if (o->fmt == OUTPUT_CSV)
			output_csv_header(o);
	}
	switch (o->fmt) {
	case OUTPUT_TABLE:
		rc = output_table_record(o, rec);
		break;
	case OUTPUT_CSV:
		rc = output_csv_record(o, rec);
		break;
	default:
		rc = output_json_record(o, rec);
		break;
	}
	if (rc < 0) {
		snprintf(err, errlen, "cannot render a record (out of memory or nested too deeply)");
		return -1;
	}
	o->count++;
	return output_write_check(o, err, errlen);
}

int output_finish(struct output *o, char *err, size_t errlen)
{
	if (o->fmt == OUTPUT_JSON)
		fputs(o->count == 0 ? "[]\n" : "]\n", o->fp);
	if (o->fmt == OUTPUT_TABLE && !o->table_started && o->nrows > 0 &&
	    output_table_start(o) < 0) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	fflush(o->fp);
	return output_write_check(o, err, errlen);
}

int output_holds_back(const struct output *o)
{
	return o->fmt == OUTPUT_TABLE && !o->table_started;
}

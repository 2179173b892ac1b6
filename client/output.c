/*
 * Rendering of result records: the entry points, --select, the auto
 * format's choice, and json, ndjson, csv and tsv.  Tables and lists are
 * in output_table.c, yaml in output_yaml.c.
 */
#include "client/output_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define OUTPUT_JSON_INDENT 2    /* spaces a level in pretty json */

static const char *const output_preferred[] = {
	"Name", "DisplayName", "Identity", "Alias", "PrimarySmtpAddress",
	"RecipientTypeDetails",
};

static const struct {
	const char *name;
	enum output_format fmt;
} output_formats[] = {
	{ "table", OUTPUT_TABLE },
	{ "list", OUTPUT_LIST },
	{ "json", OUTPUT_JSON },
	{ "ndjson", OUTPUT_NDJSON },
	{ "csv", OUTPUT_CSV },
	{ "tsv", OUTPUT_TSV },
	{ "yaml", OUTPUT_YAML },
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

void output_select_free(char **fields)
{
	for (size_t i = 0; fields != NULL && fields[i] != NULL; i++)
		free(fields[i]);
	free(fields);
}

/* The name in s[0..len) with spaces around it trimmed, checked against those before it. */
static int output_select_name(char **fields, size_t n, const char *s, size_t len, char *err,
			      size_t errlen)
{
	while (len > 0 && (*s == ' ' || *s == '\t')) {
		s++;
		len--;
	}
	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	if (len == 0) {
		snprintf(err, errlen, "--select: an empty field name (--select Name,Alias)");
		return -1;
	}
	if (len > OUTPUT_SELECT_MAX_NAME) {
		snprintf(err, errlen, "--select: a field name is at most %d bytes",
			 OUTPUT_SELECT_MAX_NAME);
		return -1;
	}
	if ((fields[n] = strndup(s, len)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		if (strcasecmp(fields[i], fields[n]) == 0) {
			snprintf(err, errlen, "--select: %.64s is named twice", fields[n]);
			return -1;
		}
	}
	return 0;
}

int output_parse_select(const char *arg, char ***fields, char *err, size_t errlen)
{
	char **f = calloc(OUTPUT_SELECT_MAX_FIELDS + 1, sizeof(*f));
	size_t n = 0;

	*fields = NULL;
	if (f == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (const char *p = arg;; n++) {
		const char *comma = strchr(p, ',');
		size_t len = comma != NULL ? (size_t)(comma - p) : strlen(p);

		if (n == OUTPUT_SELECT_MAX_FIELDS) {
			snprintf(err, errlen, "--select: at most %d fields", OUTPUT_SELECT_MAX_FIELDS);
			goto fail;
		}
		if (output_select_name(f, n, p, len, err, errlen) < 0)
			goto fail;
		if (comma == NULL)
			break;
		p = comma + 1;
	}
	*fields = f;
	return 0;
fail:
	output_select_free(f);
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

static int output_copy_list(const char *const *list, char ***out, size_t *n)
{
	for (size_t i = 0; list != NULL && list[i] != NULL; i++) {
		char **l = realloc(*out, (*n + 1) * sizeof(*l));

		if (l == NULL)
			return -1;
		*out = l;
		if ((l[*n] = strdup(list[i])) == NULL)
			return -1;
		(*n)++;
	}
	return 0;
}

static int output_view_init(struct output *o)
{
	if (o->nselect == 0)
		return 0;
	o->view_keys = calloc(o->nselect, sizeof(*o->view_keys));
	o->view_values = calloc(o->nselect, sizeof(*o->view_values));
	return o->view_keys != NULL && o->view_values != NULL ? 0 : -1;
}

struct output *output_new(FILE *fp, const struct output_options *opt)
{
	struct output *o = calloc(1, sizeof(*o));

	if (o == NULL)
		return NULL;
	o->fp = fp;
	o->fmt = opt->fmt;
	o->width = opt->width > 0 ? opt->width : 0;
	o->pretty = opt->pretty;
	if (o->fmt == OUTPUT_JSON || o->fmt == OUTPUT_NDJSON) {
		o->gen = yajl_gen_alloc(NULL);
		/* pretty json is laid out from the compact text, record by record */
		if (o->gen == NULL || (!(o->pretty && o->fmt == OUTPUT_JSON) &&
		    !yajl_gen_config(o->gen, yajl_gen_print_callback, output_print_cb, fp)))
			goto fail;
	}
	/* what the user picked wins over a command's own columns */
	if (output_copy_list(opt->select, &o->select, &o->nselect) < 0 || output_view_init(o) < 0 ||
	    (o->nselect == 0 && output_copy_list(opt->columns, &o->cols, &o->ncols) < 0))
		goto fail;
	o->cols_fixed = o->ncols > 0;
	return o;
fail:
	output_free(o);
	return NULL;
}

size_t output_count(const struct output *o)
{
	return o->count;
}

void output_free_cells(char **cells, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(cells[i]);
	free(cells);
}

void output_free(struct output *o)
{
	if (o == NULL)
		return;
	output_table_free(o);
	output_yaml_free(o);
	output_free_cells(o->cols, o->ncols);
	output_free_cells(o->select, o->nselect);
	free(o->view_keys);
	free(o->view_values);
	free(o->first);
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

/* The index of key in an object: the exact spelling first, then any case, as PowerShell matches. */
static ssize_t output_key_index(yajl_val rec, const char *key)
{
	if (!YAJL_IS_OBJECT(rec))
		return -1;
	for (size_t i = 0; i < rec->u.object.len; i++)
		if (strcmp(rec->u.object.keys[i], key) == 0)
			return (ssize_t)i;
	for (size_t i = 0; i < rec->u.object.len; i++)
		if (strcasecmp(rec->u.object.keys[i], key) == 0)
			return (ssize_t)i;
	return -1;
}

yajl_val output_field(yajl_val rec, const char *key)
{
	ssize_t i;

	if (!YAJL_IS_OBJECT(rec))
		return strcmp(key, "Value") == 0 ? rec : NULL;
	i = output_key_index(rec, key);
	return i >= 0 ? rec->u.object.values[i] : NULL;
}

/* The text of a value in a cell: nested values as compact JSON, null as nothing. */
char *output_cell_text(yajl_val v)
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

static int output_add_column(struct output *o, const char *key)
{
	char **cols;

	for (size_t i = 0; i < o->ncols; i++)
		if (strcmp(o->cols[i], key) == 0)
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
 * up with the record's first plain keys; csv and tsv keep every key, and
 * so does every format for the fields --select picked.
 */
int output_choose_columns(struct output *o, yajl_val rec)
{
	size_t n, i;

	if (!YAJL_IS_OBJECT(rec))
		return output_add_column(o, "Value");
	n = rec->u.object.len;
	if (o->fmt == OUTPUT_CSV || o->fmt == OUTPUT_TSV || o->nselect > 0) {
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

/*
 * --select: the record as an object of the fields picked, in their
 * order, spelt as the record spells them; a field it lacks is null, as
 * Select-Object makes it.  A view into rec, valid until the next record.
 */
static yajl_val output_view(struct output *o, yajl_val rec)
{
	if (o->nselect == 0)
		return rec;
	for (size_t i = 0; i < o->nselect; i++) {
		ssize_t k = output_key_index(rec, o->select[i]);

		o->view_keys[i] = k >= 0 ? rec->u.object.keys[k] : o->select[i];
		o->view_values[i] = k >= 0 ? rec->u.object.values[k] : NULL;
	}
	o->view.type = yajl_t_object;
	o->view.u.object.keys = o->view_keys;
	o->view.u.object.values = o->view_values;
	o->view.u.object.len = o->nselect;
	return &o->view;
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

/*
 * tsv, as az writes it: tab, newline, carriage return and backslash
 * escaped; other control characters as \xHH, so nothing in a field can
 * drive a terminal and every byte can be recovered.
 */
static void output_tsv_field(FILE *fp, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '\t')
			fputs("\\t", fp);
		else if (c == '\n')
			fputs("\\n", fp);
		else if (c == '\r')
			fputs("\\r", fp);
		else if (c == '\\')
			fputs("\\\\", fp);
		else if (c < 0x20 || c == 0x7f)
			fprintf(fp, "\\x%02x", c);
		else if (c == 0xC2 && (unsigned char)s[1] >= 0x80 && (unsigned char)s[1] <= 0x9F)
			fprintf(fp, "\\xc2\\x%02x", (unsigned char)*++s);
		else
			putc(c, fp);
	}
}

/* csv and tsv: the record's values in the columns' order, one line. */
static int output_delimited_record(struct output *o, yajl_val rec)
{
	for (size_t c = 0; c < o->ncols; c++) {
		char *s = output_cell_text(output_field(rec, o->cols[c]));

		if (s == NULL)
			return -1;
		if (c > 0)
			putc(o->fmt == OUTPUT_TSV ? '\t' : ',', o->fp);
		if (o->fmt == OUTPUT_TSV)
			output_tsv_field(o->fp, s);
		else
			output_csv_field(o->fp, s);
		free(s);
	}
	putc('\n', o->fp);
	return 0;
}

static void output_csv_header(struct output *o)
{
	for (size_t c = 0; c < o->ncols; c++) {
		if (c > 0)
			putc(',', o->fp);
		output_csv_field(o->fp, o->cols[c]);
	}
	putc('\n', o->fp);
}

static void output_json_newline(FILE *fp, int depth)
{
	putc('\n', fp);
	output_text_pad(fp, (size_t)depth * OUTPUT_JSON_INDENT);
}

/*
 * Lays out yajl's compact text as jq does: a member or element a line,
 * empty containers as {} and [] (yajl's own beautifier breaks them).
 * The text is yajl's, so a string holds no raw newline.
 */
static void output_json_pretty(FILE *fp, const char *s, size_t len, int depth)
{
	int in_string = 0;

	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (in_string) {
			putc(c, fp);
			if (c == '\\' && i + 1 < len)
				putc(s[++i], fp);
			else if (c == '"')
				in_string = 0;
		} else if ((c == '{' || c == '[') && i + 1 < len && s[i + 1] == (c == '{' ? '}' : ']')) {
			putc(c, fp);
			putc(s[++i], fp);
		} else if (c == '{' || c == '[') {
			putc(c, fp);
			output_json_newline(fp, ++depth);
		} else if (c == '}' || c == ']') {
			output_json_newline(fp, --depth);
			putc(c, fp);
		} else if (c == ',') {
			putc(c, fp);
			output_json_newline(fp, depth);
		} else {
			putc(c, fp);
			if (c == ':')
				putc(' ', fp);
			in_string = c == '"';
		}
	}
}

/* What goes before a record in json (the array's opening or a separator) and after one in ndjson. */
static void output_json_before(struct output *o)
{
	if (o->fmt == OUTPUT_JSON && o->pretty)
		fputs(o->count == 0 ? "[\n  " : ",\n  ", o->fp);
	else if (o->fmt == OUTPUT_JSON)
		fputs(o->count == 0 ? "[" : ",\n", o->fp);
}

static void output_json_after(struct output *o)
{
	if (o->fmt == OUTPUT_NDJSON)
		putc('\n', o->fp);
}

static int output_json_record(struct output *o, yajl_val rec)
{
	const unsigned char *buf;
	size_t len;

	output_json_before(o);
	yajl_gen_reset(o->gen, NULL);
	if (output_gen_tree(o->gen, rec) < 0)
		return -1;
	output_json_after(o);
	if (o->fmt == OUTPUT_JSON && o->pretty) {
		if (yajl_gen_get_buf(o->gen, &buf, &len) != yajl_gen_status_ok)
			return -1;
		output_json_pretty(o->fp, (const char *)buf, len, 1);
		yajl_gen_clear(o->gen);
	}
	return 0;
}

static void output_json_finish(struct output *o)
{
	if (o->count == 0)
		fputs("[]\n", o->fp);
	else
		fputs(o->pretty ? "\n]\n" : "]\n", o->fp);
}

static int output_uses_columns(enum output_format fmt)
{
	return fmt == OUTPUT_TABLE || fmt == OUTPUT_CSV || fmt == OUTPUT_TSV;
}

/* One record in a decided format; the first one fixes the columns. */
static int output_render(struct output *o, yajl_val rec, char *err, size_t errlen)
{
	int rc;

	if (o->count == 0 && output_uses_columns(o->fmt)) {
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
	case OUTPUT_LIST:
		rc = output_list_record(o, rec);
		break;
	case OUTPUT_CSV:
	case OUTPUT_TSV:
		rc = output_delimited_record(o, rec);
		break;
	case OUTPUT_YAML:
		return output_yaml_record(o, rec, err, errlen);
	default:
		rc = output_json_record(o, rec);
		break;
	}
	if (rc < 0)
		snprintf(err, errlen, "cannot render a record (out of memory or nested too deeply)");
	return rc;
}

/* auto: the first record is held (as text: the caller frees its tree) until the format is known. */
static int output_auto_decide(struct output *o, enum output_format fmt, char *err, size_t errlen)
{
	yajl_val first = yajl_tree_parse(o->first, NULL, 0);
	int rc;

	free(o->first);
	o->first = NULL;
	o->fmt = fmt;
	if (first == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	o->count = 0;
	rc = output_render(o, first, err, errlen);
	o->count = 1;
	yajl_tree_free(first);
	return rc;
}

static int output_auto_record(struct output *o, yajl_val rec, char *err, size_t errlen)
{
	if (o->count == 0) {
		if ((o->first = output_compact(rec)) != NULL)
			return 0;
		snprintf(err, errlen, "cannot render a record (out of memory or nested too deeply)");
		return -1;
	}
	if (output_auto_decide(o, OUTPUT_TABLE, err, errlen) < 0)
		return -1;
	return output_render(o, rec, err, errlen);
}

int output_record(struct output *o, yajl_val rec, char *err, size_t errlen)
{
	int rc;

	rec = output_view(o, rec);
	if (o->fmt == OUTPUT_AUTO)
		rc = output_auto_record(o, rec, err, errlen);
	else
		rc = output_render(o, rec, err, errlen);
	if (rc < 0)
		return -1;
	o->count++;
	return output_write_check(o, err, errlen);
}

int output_takes_raw(const struct output *o)
{
	return o->nselect == 0 &&
	       (o->fmt == OUTPUT_NDJSON || (o->fmt == OUTPUT_JSON && !o->pretty));
}

int output_record_raw(struct output *o, const char *json, size_t len, char *err, size_t errlen)
{
	output_json_before(o);
	fwrite(json, 1, len, o->fp);
	output_json_after(o);
	o->count++;
	return output_write_check(o, err, errlen);
}

int output_finish(struct output *o, char *err, size_t errlen)
{
	int rc = 0;

	if (o->fmt == OUTPUT_AUTO && o->first != NULL)
		rc = output_auto_decide(o, OUTPUT_LIST, err, errlen);
	if (rc == 0 && o->fmt == OUTPUT_JSON)
		output_json_finish(o);
	if (rc == 0 && o->fmt == OUTPUT_YAML)
		rc = output_yaml_finish(o, err, errlen);
	if (rc == 0 && o->fmt == OUTPUT_TABLE && output_table_finish(o) < 0) {
		snprintf(err, errlen, "out of memory");
		rc = -1;
	}
	fflush(o->fp);
	return rc < 0 ? -1 : output_write_check(o, err, errlen);
}

int output_holds_back(const struct output *o)
{
	return o->fmt == OUTPUT_AUTO || (o->fmt == OUTPUT_TABLE && !o->table_started);
}

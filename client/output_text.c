/*
 * Text for a terminal: how many columns it takes (CJK and emoji take
 * two), where to cut it, and what must not reach the terminal.
 */
#include "client/output_int.h"

#include <locale.h>
#include <stdint.h>
#include <string.h>
#include <wchar.h>

#include "common/utf8.h"

/*
 * Widths come from a C.UTF-8 locale object used only around the
 * computation, so they do not depend on the user's LANG and exoctl's
 * own locale stays "C".  Loaded at the first non-ASCII text; without
 * it every character counts one column.
 */
static locale_t output_text_locale(void)
{
	static locale_t loc;
	static int tried;

	if (!tried) {
		tried = 1;
		loc = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
	}
	return loc;
}

/* Bytes in the UTF-8 sequence that starts with c (1 for a stray byte). */
static size_t output_text_seq(unsigned char c)
{
	if (c >= 0xF0)
		return 4;
	if (c >= 0xE0)
		return 3;
	return c >= 0xC0 ? 2 : 1;
}

/* The character at s[0..len): its bytes in *step, its columns in *cols. */
static void output_text_char(const char *s, size_t len, locale_t loc, size_t *step,
			     size_t *cols)
{
	mbstate_t st;
	wchar_t wc;
	size_t n;
	int w;

	*step = output_text_seq((unsigned char)s[0]);
	if (*step > len)
		*step = 1;
	*cols = 1;
	if (loc == (locale_t)0)
		return;
	memset(&st, 0, sizeof(st));
	n = mbrtowc(&wc, s, len, &st);
	if (n == (size_t)-1 || n == (size_t)-2 || n == 0)
		return;
	*step = n;
	w = wcwidth(wc);
	/* what wcwidth does not know a terminal still shows, as one column */
	*cols = w < 0 ? 1 : (size_t)w;
}

size_t output_text_fit(const char *s, size_t len, size_t cols, size_t *used)
{
	locale_t loc = (locale_t)0, old = (locale_t)0;
	size_t i = 0, n = 0;

	while (i < len) {
		size_t step = 1, w = 1;

		if ((unsigned char)s[i] >= 0x80) {
			if (loc == (locale_t)0 && (loc = output_text_locale()) != (locale_t)0)
				old = uselocale(loc);
			output_text_char(s + i, len - i, loc, &step, &w);
		}
		if (n + w > cols)
			break;
		n += w;
		i += step;
	}
	if (old != (locale_t)0)
		uselocale(old);
	*used = n;
	return i;
}

size_t output_text_width(const char *s)
{
	size_t used;

	output_text_fit(s, strlen(s), SIZE_MAX, &used);
	return used;
}

char *output_text_clean(char *s, int keep_newlines)
{
	unsigned char *r = (unsigned char *)s, *w = (unsigned char *)s;

	while (*r != '\0') {
		if (keep_newlines && r[0] == '\r' && r[1] == '\n') {
			r++;
		} else if (keep_newlines && r[0] == '\n') {
			*w++ = *r++;
		} else if (r[0] < 0x20 || r[0] == 0x7f) {
			*w++ = ' ';
			r++;
		} else if (r[0] == 0xC2 && r[1] >= 0x80 && r[1] <= 0x9F) {
			/* C1 controls: some terminals act on them in UTF-8 too */
			*w++ = ' ';
			r += 2;
		} else {
			*w++ = *r++;
		}
	}
	*w = '\0';
	return s;
}

void output_text_bound(char *s, size_t max)
{
	size_t len = strlen(s), keep;

	if (len <= max || max < sizeof(OUTPUT_ELLIPSIS) - 1)
		return;
	keep = utf8_cut(s, len, max - (sizeof(OUTPUT_ELLIPSIS) - 1));
	memcpy(s + keep, OUTPUT_ELLIPSIS, sizeof(OUTPUT_ELLIPSIS));
}

void output_text_pad(FILE *fp, size_t n)
{
	while (n-- > 0)
		putc(' ', fp);
}

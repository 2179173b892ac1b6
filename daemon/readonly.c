/*
 * The read-only cmdlet list (daemon/readonly_cmdlets.inc, generated) and
 * the look-up in it.  The list is sorted in strcasecmp order, so a binary
 * search with the same folding finds a name in a few comparisons.
 */
#include "daemon/readonly.h"

static const char *const readonly_names[] = {
#include "daemon/readonly_cmdlets.inc"
};

#define READONLY_N (sizeof(readonly_names) / sizeof(readonly_names[0]))

/* ASCII only, as the list is: a locale must not change what matches. */
static int readonly_fold(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

/*
 * Orders name (len bytes) against a list entry as strcasecmp would order
 * two strings; a NUL inside name is just the lowest byte, never an end.
 */
static int readonly_compare(const char *name, size_t len, const char *entry)
{
	size_t i;

	for (i = 0; i < len && entry[i] != '\0'; i++) {
		int d = readonly_fold((unsigned char)name[i]) - readonly_fold((unsigned char)entry[i]);

		if (d != 0)
			return d;
	}
	if (i < len)
		return 1;
	return entry[i] == '\0' ? 0 : -1;
}

int readonly_cmdlet(const char *name, size_t len)
{
	/* Clients repeat their cmdlets: the last one found is tried first (exod has one thread). */
	static size_t last;
	size_t lo = 0, hi = READONLY_N;

	if (name == NULL || len == 0)
		return 0;
	if (readonly_compare(name, len, readonly_names[last]) == 0)
		return 1;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = readonly_compare(name, len, readonly_names[mid]);

		if (c == 0) {
			last = mid;
			return 1;
		}
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return 0;
}

size_t readonly_count(void)
{
	return READONLY_N;
}

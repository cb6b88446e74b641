/* target_journal.c - fuzz the undo journal's line parser: whatever it
 * accepts must format back to exactly the input (the format is canonical)
 * and parse again to the same bytes; whatever it rejects must come with a
 * one-line reason and a zeroed entry. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vpn/journal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
	if (!ok)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct journal_entry zero;
	char err[JOURNAL_ERR_MAX], line[JOURNAL_LINE_MAX + 1];
	struct journal_entry e, again;
	int n;

	if (journal_parse((const char *)data, size, &e, err) != 0) {
		check(memchr(err, '\0', sizeof(err)) != NULL);
		check(err[0] != '\0');
		check(strchr(err, '\n') == NULL);
		check(memcmp(&e, &zero, sizeof(e)) == 0);
		return 0;
	}
	check(err[0] == '\0');
	n = journal_format(&e, line, sizeof(line));
	check(n >= 0 && (size_t)n == size);
	check(memcmp(line, data, size) == 0);
	check(journal_parse(line, (size_t)n, &again, err) == 0);
	check(memcmp(&e, &again, sizeof(e)) == 0);
	/* A buffer one byte short is refused, not overrun. */
	check(journal_format(&e, line, (size_t)n) == -ENOSPC);
	return 0;
}

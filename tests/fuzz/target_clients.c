/* target_clients.c - fuzz the named clients file (vpn/clients.h): a
 * refused file leaves an empty list and one line; an accepted one keeps
 * its invariants (valid unique names, unique keys, the key index finds
 * every entry) and serialises to text that parses back to the same list. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vpn/clients.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
	if (!ok)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct clients list, back;
	static char text[(CLIENTS_MAX + 1) * CLIENTS_LINE_MAX];
	char err[CLIENTS_ERR_MAX];
	size_t len;

	if (clients_parse(&list, (const char *)data, size, err) != 0) {
		check(err[0] != '\0' && strchr(err, '\n') == NULL);
		check(clients_count(&list) == 0);
		return 0;
	}
	for (size_t i = 0; i < clients_count(&list); i++) {
		const struct client_entry *e = clients_at(&list, i);

		check(clients_name_valid(e->name, strlen(e->name)));
		check(clients_find_key(&list, e->key) == e);
		check(clients_find_name(&list, e->name) == e);
	}
	check(clients_serialise(&list, text, sizeof(text), &len) == 0);
	check(clients_parse(&back, text, len, err) == 0);
	check(clients_count(&back) == clients_count(&list));
	for (size_t i = 0; i < clients_count(&list); i++)
		check(memcmp(clients_at(&list, i), clients_at(&back, i),
			     sizeof(struct client_entry)) == 0);
	return 0;
}

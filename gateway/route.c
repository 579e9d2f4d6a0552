/*
 * Outbox routing decisions: a message refused for good by one transport
 * goes to the recipient's next transport that has not been tried.
 */
#include "route.h"

#include <string.h>

int
route_next(const char *const *reach, size_t nreach,
	   const struct route_try *tried, size_t ntried)
{
	size_t i, k;

	/* still on its way, or already there: nothing to add */
	for (k = 0; k < ntried; k++)
		if (strcmp(tried[k].status, "failed") != 0)
			return ROUTE_DONE;
	for (i = 0; i < nreach; i++) {
		for (k = 0; k < ntried; k++)
			if (strcmp(reach[i], tried[k].transport) == 0)
				break;
		if (k == ntried)
			return (int)i;
	}
	return ROUTE_UNDELIVERABLE;
}

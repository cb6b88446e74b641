/* parse.h - small bounded parsers shared by the text formats (UAPI, wg
 * config files, endpoints). */
#ifndef WEFT_CORE_PARSE_H
#define WEFT_CORE_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* s/len is an unsigned decimal (digits only: no sign, space or prefix)
 * whose value lies in [min, max]; *out is set only on success. */
__attribute__((warn_unused_result))
bool parse_decimal(const char *s, size_t len, uint64_t min, uint64_t max,
		   uint64_t *out);

/* The same for values that fit 32 bits, in at most ten digits. */
__attribute__((warn_unused_result))
bool parse_decimal32(const char *s, size_t len, uint32_t min, uint32_t max,
		     uint32_t *out);

#endif

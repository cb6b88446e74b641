/* encoding.h - 32-byte keys as base64 (44 chars, as wg prints them) and as
 * hex (64 chars, as the UAPI carries them), both in constant time. */
#ifndef WEFT_CORE_ENCODING_H
#define WEFT_CORE_ENCODING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum key_encoding_lengths {
	KEY_LEN = 32,
	KEY_BASE64_LEN = 44,	/* without NUL */
	KEY_HEX_LEN = 64,	/* without NUL */
};

void key_to_base64(char out[KEY_BASE64_LEN + 1], const uint8_t key[KEY_LEN]);
__attribute__((warn_unused_result))
bool key_from_base64(uint8_t key[KEY_LEN], const char *s, size_t len);
void key_to_hex(char out[KEY_HEX_LEN + 1], const uint8_t key[KEY_LEN]);
__attribute__((warn_unused_result))
bool key_from_hex(uint8_t key[KEY_LEN], const char *s, size_t len);

#endif

/* keyfile.h - a static identity in a file: one base64 private key, as
 * `weft genkey` prints it, readable by its owner only. Like OpenSSH with
 * its host keys, a key file others can read is refused: a key another user
 * has read is no longer an identity. */
#ifndef WEFT_VPN_KEYFILE_H
#define WEFT_VPN_KEYFILE_H

#include <stdint.h>

enum keyfile_values {
	KEYFILE_KEY_LEN = 32,
	KEYFILE_ERR_MAX = 256,
};

/* Read the key in path. 0, or -errno with one line in err: -ENOENT (no
 * such file), -EPERM (group/other may read or write it), -EINVAL (not one
 * base64 key, where the fault is), -EFBIG. */
__attribute__((warn_unused_result))
int keyfile_read(const char *path, uint8_t key[KEYFILE_KEY_LEN],
		 char err[KEYFILE_ERR_MAX]);

/* Read path, or create it (mode 0600, O_EXCL, fsynced) with a new key if
 * it does not exist. *created says which. 0 or -errno with err. */
__attribute__((warn_unused_result))
int keyfile_load_or_create(const char *path, uint8_t key[KEYFILE_KEY_LEN],
			   int *created, char err[KEYFILE_ERR_MAX]);

/* A key given as base64 text (--sk). 0 or -EINVAL with err. */
__attribute__((warn_unused_result))
int keyfile_parse(const char *text, uint8_t key[KEYFILE_KEY_LEN],
		  char err[KEYFILE_ERR_MAX]);

#endif

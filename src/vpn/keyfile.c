/* keyfile.c - see keyfile.h. */
#define _GNU_SOURCE
#include "vpn/keyfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/encoding.h"
#include "crypto/ct.h"
#include "crypto/x25519.h"

enum { KEYFILE_MAX_BYTES = 256 };

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

int keyfile_parse(const char *text, uint8_t key[KEYFILE_KEY_LEN],
		  char err[KEYFILE_ERR_MAX])
{
	size_t len = strnlen(text, KEYFILE_MAX_BYTES + 1);
	size_t a = 0, b = len;

	while (a < b && is_space(text[a]))
		a++;
	while (b > a && is_space(text[b - 1]))
		b--;
	if (len > KEYFILE_MAX_BYTES || !key_from_base64(key, text + a, b - a)) {
		snprintf(err, KEYFILE_ERR_MAX,
			 "not a base64 private key (make one with: weft genkey)");
		crypto_wipe(key, KEYFILE_KEY_LEN);
		return -EINVAL;
	}
	return 0;
}

int keyfile_read(const char *path, uint8_t key[KEYFILE_KEY_LEN],
		 char err[KEYFILE_ERR_MAX])
{
	char buf[KEYFILE_MAX_BYTES + 1];
	struct stat st;
	ssize_t n;
	int fd, ret;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 && errno == ELOOP)
		fd = open(path, O_RDONLY | O_CLOEXEC);	/* a symlink is fine */
	if (fd < 0) {
		ret = -errno;
		snprintf(err, KEYFILE_ERR_MAX, "%s: %s%s", path, strerror(errno),
			 ret == -ENOENT ? " (create it: weft genkey > FILE; chmod 600 FILE)" : "");
		return ret;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, KEYFILE_ERR_MAX, "%s: not a regular file", path);
		close(fd);
		return -EINVAL;
	}
	if (st.st_mode & (S_IRWXG | S_IRWXO)) {
		snprintf(err, KEYFILE_ERR_MAX,
			 "%s: permissions %04o are too open: others can read the key (chmod 600 %s)",
			 path, (unsigned)(st.st_mode & 07777), path);
		close(fd);
		return -EPERM;
	}
	n = read(fd, buf, sizeof(buf));
	ret = n < 0 ? -errno : 0;
	close(fd);
	if (ret) {
		snprintf(err, KEYFILE_ERR_MAX, "%s: %s", path, strerror(-ret));
		return ret;
	}
	if ((size_t)n > KEYFILE_MAX_BYTES) {
		crypto_wipe(buf, sizeof(buf));
		snprintf(err, KEYFILE_ERR_MAX, "%s: too long for one key", path);
		return -EFBIG;
	}
	buf[n] = '\0';
	ret = keyfile_parse(buf, key, err);
	crypto_wipe(buf, sizeof(buf));
	if (ret)
		snprintf(err, KEYFILE_ERR_MAX,
			 "%s: not a base64 private key (make one with: weft genkey)",
			 path);
	return ret;
}

int keyfile_load_or_create(const char *path, uint8_t key[KEYFILE_KEY_LEN],
			   int *created, char err[KEYFILE_ERR_MAX])
{
	char text[KEY_BASE64_LEN + 2];
	int fd, ret;

	*created = 0;
	ret = keyfile_read(path, key, err);
	if (ret != -ENOENT)
		return ret;
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		ret = -errno;
		snprintf(err, KEYFILE_ERR_MAX, "cannot create %s: %s", path,
			 strerror(errno));
		return ret;
	}
	x25519_generate_private(key);
	key_to_base64(text, key);
	text[KEY_BASE64_LEN] = '\n';
	text[KEY_BASE64_LEN + 1] = '\0';
	if (write(fd, text, KEY_BASE64_LEN + 1) != KEY_BASE64_LEN + 1 ||
	    fsync(fd) < 0) {
		ret = errno ? -errno : -EIO;
		snprintf(err, KEYFILE_ERR_MAX, "cannot write %s: %s", path,
			 strerror(-ret));
		close(fd);
		unlink(path);
		crypto_wipe(text, sizeof(text));
		crypto_wipe(key, KEYFILE_KEY_LEN);
		return ret;
	}
	close(fd);
	crypto_wipe(text, sizeof(text));
	*created = 1;
	return 0;
}

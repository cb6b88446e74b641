/* replay.c - runs a fuzz target over regression inputs without libFuzzer:
 * every argument is a file or a directory, walked recursively in sorted
 * order so that runs are reproducible. */
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
/* Optional in a target; weak so that the address is NULL when absent. */
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

enum replay_limits {
	MAX_INPUT_SIZE = 1 << 20,	/* bigger is a mistake, not an input */
	MAX_DEPTH = 32,			/* also stops symlink loops */
};

static int fail(const char *path, const char *why)
{
	fprintf(stderr, "replay: %s: %s\n", path, why);
	return -1;
}

static int replay_file(const char *path, size_t *count)
{
	struct stat st;
	uint8_t *buf;
	size_t got;
	FILE *f;
	int ret = 0;

	f = fopen(path, "rb");
	if (!f)
		return fail(path, strerror(errno));
	if (fstat(fileno(f), &st) != 0) {
		ret = fail(path, strerror(errno));
		goto out_close;
	}
	if (st.st_size > MAX_INPUT_SIZE) {
		ret = fail(path, "larger than 1 MiB; not a fuzz input");
		goto out_close;
	}
	/* Exactly size bytes on the heap, so that ASan sees any overread. */
	buf = malloc(st.st_size ? (size_t)st.st_size : 1);
	if (!buf) {
		ret = fail(path, "out of memory");
		goto out_close;
	}
	got = fread(buf, 1, (size_t)st.st_size, f);
	if (ferror(f))
		ret = fail(path, strerror(errno));
	else if (got != (size_t)st.st_size || fgetc(f) != EOF)
		ret = fail(path, "changed while being read");
	if (ret == 0) {
		LLVMFuzzerTestOneInput(buf, got);
		(*count)++;
	}
	free(buf);
out_close:
	fclose(f);
	return ret;
}

static int skip_dots(const struct dirent *d)
{
	return strcmp(d->d_name, ".") != 0 && strcmp(d->d_name, "..") != 0;
}

/* strcmp, not alphasort: the order must not depend on the locale. */
static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

static int replay_path(const char *path, size_t *count, int depth);

static int replay_dir(const char *path, size_t *count, int depth)
{
	struct dirent **names;
	int n, ret = 0;

	if (depth > MAX_DEPTH)
		return fail(path, "directories nested too deep (a symlink loop?)");
	n = scandir(path, &names, skip_dots, by_name);
	if (n < 0)
		return fail(path, strerror(errno));
	for (int i = 0; i < n; i++) {
		size_t len = strlen(path) + 1 + strlen(names[i]->d_name) + 1;
		char *child = ret == 0 ? malloc(len) : NULL;

		if (ret == 0 && !child)
			ret = fail(path, "out of memory");
		if (ret == 0) {
			snprintf(child, len, "%s/%s", path, names[i]->d_name);
			ret = replay_path(child, count, depth + 1);
		}
		free(child);
		free(names[i]);
	}
	free(names);
	return ret;
}

static int replay_path(const char *path, size_t *count, int depth)
{
	struct stat st;

	if (stat(path, &st) != 0)
		return fail(path, strerror(errno));
	if (S_ISDIR(st.st_mode))
		return replay_dir(path, count, depth);
	if (S_ISREG(st.st_mode))
		return replay_file(path, count);
	return fail(path, "neither a regular file nor a directory");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s FILE-OR-DIRECTORY...\n",
			argc > 0 ? argv[0] : "replay");
		return 1;
	}
	if (LLVMFuzzerInitialize)
		LLVMFuzzerInitialize(&argc, &argv);

	for (int i = 1; i < argc; i++) {
		size_t count = 0;

		if (replay_path(argv[i], &count, 0) != 0)
			return 1;
		printf("replayed %zu inputs from %s\n", count, argv[i]);
	}
	return 0;
}

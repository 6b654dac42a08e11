/*
 * rst_exec: runs a program that no one here wrote as a restore target. Writes its pid to DIR/ready, then
 * execs PROGRAM with its arguments (same pid).
 *
 * usage: rst_exec DIR PROGRAM [ARGS...]
 */
#include <stdio.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 3)
		return 2;
	char path[4200], tmp[4300];
	snprintf(path, sizeof(path), "%s/ready", argv[1]);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	FILE *f = fopen(tmp, "w");
	if (!f)
		return 1;
	fprintf(f, "%d\n", getpid());
	fclose(f);
	rename(tmp, path);
	execvp(argv[2], argv + 2);
	perror("rst_exec: execvp");
	return 127;
}

/*
 * zombie: leaves one exited child unreaped and writes that child's pid to DIR/zombie, then sleeps.
 * usage: zombie DIR
 */
#include <stdio.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	char path[4200];
	pid_t child = fork();
	if (child == 0)
		_exit(0);
	sleep(1); /* let the child exit */
	snprintf(path, sizeof(path), "%s/zombie", argv[1]);
	FILE *f = fopen(path, "w");
	fprintf(f, "%d\n", child);
	fclose(f);
	snprintf(path, sizeof(path), "%s/ready", argv[1]);
	f = fopen(path, "w");
	fprintf(f, "%d\n", getpid());
	fclose(f);
	for (;;)
		pause();
}

/* mwg: the staff device's client (being written). */
#include <stdio.h>

int
main(void)
{
	fputs("mwg: not built yet\n", stderr);
	return 1;
}

/*
 * QR codes on a terminal for `mwgctl totp enrol`, with libqrencode. Two
 * module rows share one text line through the half blocks, so the code is
 * square on a terminal whose cells are about twice as tall as wide.
 */
#include "admin/qr.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <qrencode.h>

#include "common/xmalloc.h"

/*
 * Which modules are drawn. Scanners want dark modules on a light ground;
 * a terminal draws a block in its foreground colour and a space in its
 * background colour, and we cannot know which of the two is light. So
 * light modules (and the quiet zone) are blocks, dark modules spaces: on
 * the usual light-on-dark terminal that is already dark-on-light. With
 * colour on we also set the foreground to bright white and the background
 * to black, which makes it dark-on-light on a light terminal too; without
 * colour (a pipe, TERM=dumb, NO_COLOR) a light terminal shows the code
 * inverted, which most phone cameras still read.
 */
static const char *const qr_cells[4] = {
	" ",		/* top dark, bottom dark */
	"\u2584",	/* ▄ top dark, bottom light */
	"\u2580",	/* ▀ top light, bottom dark */
	"\u2588",	/* █ both light */
};
#define QR_CELL_MAX	3	/* bytes of the longest cell in UTF-8 */

/* 1 if module (x, y) of the drawing (quiet zone included) is light. */
static int
qr_light(const QRcode *qr, int x, int y)
{
	x -= QR_QUIET;
	y -= QR_QUIET;
	if (x < 0 || y < 0 || x >= qr->width || y >= qr->width)
		return 1;
	return (qr->data[y * qr->width + x] & 1) == 0;
}

static char *
qr_draw(const QRcode *qr, int colour)
{
	int n = qr->width + 2 * QR_QUIET, lines = (n + 1) / 2;
	size_t per_line = (size_t)n * QR_CELL_MAX + sizeof(QR_SGR_ON) +
	    sizeof(QR_SGR_OFF) + 1;
	char *out = xreallocarray(NULL, (size_t)lines, per_line), *p = out;

	for (int y = 0; y < n; y += 2) {
		if (colour)
			p = stpcpy(p, QR_SGR_ON);
		for (int x = 0; x < n; x++) {
			int top = qr_light(qr, x, y);
			/* Below the last row is nothing: a space there. */
			int bottom = y + 1 < n && qr_light(qr, x, y + 1);

			p = stpcpy(p, qr_cells[top << 1 | bottom]);
		}
		if (colour)
			p = stpcpy(p, QR_SGR_OFF);
		*p++ = '\n';
	}
	*p = '\0';
	return out;
}

char *
qr_render(const char *text, int colour)
{
	QRcode *qr;
	char *out;

	if (text == NULL || *text == '\0' || strlen(text) > QR_TEXT_MAX) {
		errno = EINVAL;
		return NULL;
	}
	/* Version 0: the smallest that fits; case-sensitive 8-bit mode. */
	if ((qr = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8,
	    1)) == NULL)
		return NULL;
	out = qr_draw(qr, colour);
	/* The modules spell the text: wipe them, the text may be secret. */
	explicit_bzero(qr->data, (size_t)qr->width * (size_t)qr->width);
	QRcode_free(qr);
	return out;
}

int
qr_colour_wanted(int fd)
{
	const char *term = getenv("TERM");
	const char *no_colour = getenv("NO_COLOR");

	if (!isatty(fd) || (no_colour != NULL && *no_colour != '\0'))
		return 0;
	return term != NULL && *term != '\0' && strcmp(term, "dumb") != 0;
}

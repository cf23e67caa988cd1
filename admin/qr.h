/*
 * A QR code drawn with text, for `mwgctl totp enrol`: two module rows per
 * line with the half blocks, so a phone can scan it off the terminal.
 */
#ifndef MWG_ADMIN_QR_H
#define MWG_ADMIN_QR_H

#define QR_QUIET	2	/* modules of light margin on every side */
#define QR_TEXT_MAX	2048	/* bytes of text we encode (an otpauth URI) */

/* SGR around each line when colour is on: bright white on black. */
#define QR_SGR_ON	"\033[97;40m"
#define QR_SGR_OFF	"\033[0m"

/*
 * Encodes text (8-bit mode, error correction M) and draws it: lines ending
 * in '\n', each wrapped in QR_SGR_ON/QR_SGR_OFF when colour is non-zero.
 * Returns a string the caller frees (it holds the text in a form a camera
 * reads: wipe it if the text is secret), or NULL with errno set (EINVAL:
 * empty or too long; ERANGE: too much for a QR code; ENOMEM).
 */
char *qr_render(const char *text, int colour);
/* Whether to colour the QR code on fd: a terminal, TERM not "dumb" and
 * NO_COLOR unset. */
int qr_colour_wanted(int fd);

#endif

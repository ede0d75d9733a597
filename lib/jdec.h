/*
 * jdec: a JSON string's bytes decoded as cJSON 1.7 decodes them, one
 * byte at a time, so that a string can be read in pieces (jscan.c reads
 * lines back from the spool 64 KiB at a time) and still decode as the
 * releases that parsed whole lines with cJSON did.
 *
 * cJSON reads a string in two passes, both copied here as machines fed
 * a byte at a time: the first finds the closing quote (a backslash
 * escapes the next byte, whatever it is), the second decodes what lies
 * before it. They can disagree, as on "\u12\"x", whose \u takes in the
 * escaped quote. Also kept: a \u with a bad hex digit is U+0000. Not
 * kept: cJSON refuses a lone UTF-16 surrogate, which Node's
 * JSON.stringify writes for a cut emoji and prints, in text mode, as
 * U+FFFD; so do we (JDEC_OUT bytes at most per input byte).
 */
#ifndef CW_JDEC_H
#define CW_JDEC_H

#include <stdbool.h>

#define JDEC_OUT	8
enum jd_state { JD_CHAR, JD_ESC, JD_HEX, JD_LOW_BS, JD_LOW_U, JD_LOW_HEX };

struct jdec {
	bool		 esc;		/* first pass: this byte is escaped */
	enum jd_state	 st;		/* second pass */
	int		 nhex;
	bool		 badhex;
	unsigned	 code;
	unsigned	 high;		/* the high surrogate read */
};

/* First pass: does byte c close the string? */
static inline bool
jdec_closes(struct jdec *d, unsigned char c)
{
	if (!d->esc && c == '"')
		return true;
	d->esc = !d->esc && c == '\\';
	return false;
}

/* Cut here and closed with a quote, the string decodes as so far. */
static inline bool
jdec_at_rest(const struct jdec *d)
{
	return !d->esc && d->st == JD_CHAR;
}

/* Second pass: the bytes c decodes to, into out[JDEC_OUT]: how many, or -1. */
int	jdec_put(struct jdec *, unsigned char c, unsigned char *out);
/* The closing quote came: what is still to decode, or -1. */
int	jdec_end(const struct jdec *, unsigned char *out);

#endif

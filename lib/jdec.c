/* jdec: cJSON's string decoding, a byte at a time (see jdec.h). */
#include "jdec.h"

#include <string.h>

static int
utf8_put(unsigned long cp, unsigned char *out)
{
	if (cp < 0x80) {
		out[0] = (unsigned char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (unsigned char)(0xc0 | cp >> 6);
		out[1] = (unsigned char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (unsigned char)(0xe0 | cp >> 12);
		out[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
		out[2] = (unsigned char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (unsigned char)(0xf0 | cp >> 18);
	out[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3f));
	out[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
	out[3] = (unsigned char)(0x80 | (cp & 0x3f));
	return 4;
}

static void
jdec_start_hex(struct jdec *d, enum jd_state st)
{
	d->st = st;
	d->nhex = 0;
	d->code = 0;
	d->badhex = false;
}

#define REPLACEMENT	0xfffdUL	/* what Node prints for a lone one */

/* A code point on its own (not the low half of a pair). */
static int
jdec_code(struct jdec *d, unsigned code, unsigned char *out)
{
	if (code >= 0xd800 && code <= 0xdbff) {
		d->high = code;
		d->st = JD_LOW_BS;
		return 0;
	}
	d->st = JD_CHAR;
	return utf8_put(code >= 0xdc00 && code <= 0xdfff ? REPLACEMENT : code,
	    out);
}

/* Four hex digits are in: a code point, or a high surrogate to pair. */
static int
jdec_hex_done(struct jdec *d, unsigned char *out)
{
	unsigned code = d->badhex ? 0 : d->code;
	int k;

	if (d->st == JD_HEX)
		return jdec_code(d, code, out);
	if (code >= 0xdc00 && code <= 0xdfff) {
		d->st = JD_CHAR;
		return utf8_put(0x10000 + (((unsigned long)(d->high & 0x3ff) <<
		    10) | (code & 0x3ff)), out);
	}
	/* The high one was alone; this code stands on its own. */
	k = utf8_put(REPLACEMENT, out);
	return k + jdec_code(d, code, out + k);
}

static int
jdec_hex(struct jdec *d, unsigned char c, unsigned char *out)
{
	int v = -1;

	if (c >= '0' && c <= '9')
		v = c - '0';
	else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
		v = (c | 0x20) - 'a' + 10;
	if (v < 0)
		d->badhex = true;
	else
		d->code = d->code << 4 | (unsigned)v;
	if (++d->nhex < 4)
		return 0;
	return jdec_hex_done(d, out);
}

static int
jdec_escape(struct jdec *d, unsigned char c, unsigned char *out)
{
	static const char from[] = "bfnrt\"\\/", to[] = "\b\f\n\r\t\"\\/";
	const char *k;

	d->st = JD_CHAR;
	if (c == 'u') {
		jdec_start_hex(d, JD_HEX);
		return 0;
	}
	if (c == '\0' || (k = strchr(from, c)) == NULL)
		return -1;
	out[0] = (unsigned char)to[k - from];
	return 1;
}

int
jdec_put(struct jdec *d, unsigned char c, unsigned char *out)
{
	int k;

	switch (d->st) {
	case JD_CHAR:
		if (c == '\\') {
			d->st = JD_ESC;
			return 0;
		}
		out[0] = c;
		return 1;
	case JD_ESC:
		return jdec_escape(d, c, out);
	case JD_HEX:
	case JD_LOW_HEX:
		return jdec_hex(d, c, out);
	case JD_LOW_BS:
		if (c != '\\') {
			/* A lone high surrogate, then a plain byte. */
			k = utf8_put(REPLACEMENT, out);
			out[k] = c;
			d->st = JD_CHAR;
			return k + 1;
		}
		d->st = JD_LOW_U;
		return 0;
	case JD_LOW_U:
		if (c != 'u') {
			/* A lone high surrogate, then another escape. */
			k = utf8_put(REPLACEMENT, out);
			int e = jdec_escape(d, c, out + k);
			return e < 0 ? -1 : k + e;
		}
		jdec_start_hex(d, JD_LOW_HEX);
		return 0;
	}
	return -1;
}

int
jdec_end(const struct jdec *d, unsigned char *out)
{
	if (d->st == JD_CHAR)
		return 0;
	if (d->st == JD_LOW_BS)
		return utf8_put(REPLACEMENT, out);
	if (d->st != JD_ESC)
		return -1;
	/* The passes disagreed: cJSON decodes the closing quote itself. */
	out[0] = '"';
	return 1;
}

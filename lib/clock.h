/* Time: CLOCK_MONOTONIC for every timeout, wall time only for records. */
#ifndef CW_CLOCK_H
#define CW_CLOCK_H

#include <stdint.h>

#define CLOCK_ISO_LEN	32

int64_t	clock_mono_ms(void);
int64_t	clock_real_ms(void);
/* 2026-11-23T08:40:00.123Z */
void	clock_iso(int64_t epoch_ms, char buf[CLOCK_ISO_LEN]);

#endif

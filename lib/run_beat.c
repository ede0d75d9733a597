/*
 * --heartbeat: the file a watchdog reads, rewritten as the run goes
 * from phase to phase and every interval within one; and how often the
 * run's loops must wake for it, the status line and the fleet's leases.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "fleet.h"
#include "io.h"
#include "run_int.h"

/* Rewrites the --heartbeat file; a failure is one warning, not an end. */
void
run_beat(struct run *r, enum hb_phase ph, int64_t next_wake_ms)
{
	struct heartbeat hb;
	cJSON *ev;

	if (r->o->heartbeat == NULL)
		return;
	memset(&hb, 0, sizeof(hb));
	hb.run = log_run_id(r->lg);
	hb.tag = r->o->tag;
	hb.pid = getpid();
	hb.attempt = r->attempts;
	hb.phase = ph;
	hb.next_wake_ms = next_wake_ms;
	r->hb.next = clock_mono_ms() + r->o->heartbeat_interval_ms;
	if (heartbeat_write(r->o->heartbeat, &hb) == -1 && !r->hb.warned) {
		r->hb.warned = true;
		ev = log_begin(r->lg, LV_WARN, "warn");
		log_str(ev, "reason", "heartbeat");
		log_str(ev, "path", r->o->heartbeat);
		log_str(ev, "error", io_strerror(errno));
		log_end(r->lg, ev);
	}
}

/* A heartbeat when one is due; the next is promised an interval on. */
void
run_beat_if_due(struct run *r, enum hb_phase ph)
{
	/* Every loop that beats also renews the fleet's leases. */
	fleet_tick(r->fl);
	if (r->o->heartbeat != NULL && clock_mono_ms() >= r->hb.next)
		run_beat(r, ph, clock_real_ms() + r->o->heartbeat_interval_ms);
}

/* How often the loops must wake for the status line and the heartbeat. */
int64_t
run_tick_interval(const struct run *r)
{
	int64_t t = log_live(r->lg) ? 1000 : 0;

	if (r->o->heartbeat != NULL && (t == 0 || r->o->heartbeat_interval_ms < t))
		t = r->o->heartbeat_interval_ms;
	if (fleet_tick_ms(r->fl) > 0 && (t == 0 || fleet_tick_ms(r->fl) < t))
		t = fleet_tick_ms(r->fl);
	return t;
}

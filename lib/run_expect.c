/*
 * --expect-tool: the tools (and skills) the model called in the last
 * attempt, and after a good answer whether every expected one is among
 * them (48 when not).
 */
#include <stdlib.h>
#include <string.h>

#include "run_int.h"

/* A tool_use event: the tool (and the skill it runs) noted once each. */
void
run_expect_note(struct run *r, const struct pl_event *ev)
{
	const char *name;

	if (ev->kind != PLE_TOOL_USE)
		return;
	name = ev->skill != NULL ? ev->skill : ev->tool;
	if (name == NULL || r->exp.ntools == MAX_TOOLS)
		return;
	for (int i = 0; i < r->exp.ntools; i++)
		if (strcmp(r->exp.tools[i], name) == 0)
			return;
	if (ev->skill != NULL && ev->tool != NULL &&
	    r->exp.ntools + 1 < MAX_TOOLS &&
	    (r->exp.tools[r->exp.ntools] = strdup(ev->tool)) != NULL)
		r->exp.ntools++;
	if ((r->exp.tools[r->exp.ntools] = strdup(name)) != NULL)
		r->exp.ntools++;
}

void
run_expect_forget(struct run *r)
{
	for (int i = 0; i < r->exp.ntools; i++)
		free(r->exp.tools[i]);
	r->exp.ntools = 0;
}

static bool
tool_called(const struct run *r, const char *name)
{
	for (int i = 0; i < r->exp.ntools; i++)
		if (strcmp(r->exp.tools[i], name) == 0)
			return true;
	return false;
}

/* After a good answer: every --expect-tool was called, or 48. */
bool
run_expect_met(struct run *r)
{
	char names[160] = "", called[160] = "none";

	r->exp.nmissing = 0;
	for (size_t i = 0; i < r->o->n_expect_tool; i++) {
		if (tool_called(r, r->o->expect_tool[i]))
			continue;
		if (r->exp.nmissing > 0)
			strlcat(names, ",", sizeof(names));
		strlcat(names, r->o->expect_tool[i], sizeof(names));
		r->exp.missing[r->exp.nmissing++] = r->o->expect_tool[i];
	}
	if (r->exp.nmissing == 0)
		return true;
	for (int i = 0; i < r->exp.ntools; i++) {
		if (i == 0)
			called[0] = '\0';
		else
			strlcat(called, ",", sizeof(called));
		strlcat(called, r->exp.tools[i], sizeof(called));
	}
	set_end(r, ST_EXPECTATION_FAILED, "expected tool not called: %s "
	    "(called: %s)", names, called);
	return false;
}

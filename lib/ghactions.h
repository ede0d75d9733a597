/*
 * GitHub Actions, when GITHUB_ACTIONS=true: a failed run becomes one
 * `::error title=claudewrap STATUS::DETAIL` workflow command on stderr
 * (an annotation on the job), and every run appends a markdown row to
 * $GITHUB_STEP_SUMMARY (the table's header first when the file is
 * empty). Outside Actions, nothing.
 */
#ifndef CW_GHACTIONS_H
#define CW_GHACTIONS_H

#include <cjson/cJSON.h>

/* Called with the done event, after the done line is written. */
void	gha_done(const cJSON *ev);

#endif

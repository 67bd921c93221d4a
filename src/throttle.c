/*-------------------------------------------------------------------------
 *
 * throttle.c
 *	  Pacing between the batches of a transition: a pause after every
 *	  batch, a cap on rows changed per second, a batch size that adapts
 *	  toward a target batch duration, and a wait while any standby's replay
 *	  lag exceeds a cap.
 *
 * All of it runs after a batch has committed, so no row lock is held while
 * it waits.  The replay lag is read from the walsenders' shared memory
 * (the figure pg_stat_replication shows as replay_lag), under each
 * walsender's spinlock, so that it works for roles that may not read
 * pg_stat_replication's lag columns.  Only physical walsenders (standbys)
 * count; a standby that is disconnected, or that sends no replies
 * (wal_receiver_status_interval = 0), reports no lag.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "miscadmin.h"
#include "pgstat.h"
#include "replication/walsender.h"
#include "replication/walsender_private.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "storage/procarray.h"
#include "storage/spin.h"
#include "utils/timestamp.h"

#include "bulk_status.h"

/* How often a wait for the replay lag looks again. */
#define LAG_POLL_MS		250

/* A batch size changes at most once in this many batches. */
#define RESIZE_EVERY	4

/* Set up the throttle of one run. */
void
bulk_throttle_init(BulkThrottle *t, const BulkTransitionArgs *args)
{
	memset(t, 0, sizeof(BulkThrottle));
	t->args = args;
	INSTR_TIME_SET_CURRENT(t->start);
}

/* Milliseconds since the run started. */
static double
elapsed_ms(BulkThrottle *t)
{
	instr_time	now;

	INSTR_TIME_SET_CURRENT(now);
	INSTR_TIME_SUBTRACT(now, t->start);
	return INSTR_TIME_GET_MILLISEC(now);
}

/*
 * Sleep ms milliseconds (any length), answering interrupts and postmaster
 * death at once, and ending early when the driver (if any) was asked to
 * stop; a latch set for another reason does not cut it short.
 */
void
bulk_sleep(double ms, const BulkDriver *driver)
{
	instr_time	start;
	instr_time	now;
	double		left = ms;

	INSTR_TIME_SET_CURRENT(start);
	/* never less than asked: a fraction of a millisecond left is slept too */
	while (left > 0)
	{
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 (long) ceil(Min(left, 60000.0)), PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
		if (bulk_driver_stopping(driver))
			return;
		INSTR_TIME_SET_CURRENT(now);
		INSTR_TIME_SUBTRACT(now, start);
		left = ms - INSTR_TIME_GET_MILLISEC(now);
	}
}

/*
 * The largest replay lag any streaming standby reports, in milliseconds,
 * or -1 if none reports one.
 */
int64
bulk_max_replay_lag_ms(void)
{
	int64		lag = -1;
	int			i;

	if (WalSndCtl == NULL)
		return -1;
	for (i = 0; i < max_wal_senders; i++)
	{
		WalSnd	   *walsnd = &WalSndCtl->walsnds[i];
		pid_t		pid;
		WalSndState state;
		TimeOffset	apply_lag;
		PGPROC	   *proc;

		SpinLockAcquire(&walsnd->mutex);
		pid = walsnd->pid;
		state = walsnd->state;
		apply_lag = walsnd->applyLag;
		SpinLockRelease(&walsnd->mutex);

		if (pid == 0 || state != WALSNDSTATE_STREAMING || apply_lag < 0)
			continue;
		/* a walsender for logical replication is connected to a database */
		proc = BackendPidGetProc(pid);
		if (proc == NULL || OidIsValid(proc->databaseId))
			continue;
		lag = Max(lag, apply_lag / 1000);
	}
	return lag;
}

/*
 * Pause after a committed batch that changed "changed" rows: at least
 * sleep_ms, longer if needed to keep under max_rows_per_sec on average
 * since the run started (without a burst to catch up after a slow spell),
 * then for as long as a standby's replay lag exceeds the cap (without a
 * limit: a cancel ends the wait).
 */
void
bulk_throttle_pause(BulkThrottle *t, int64 changed, bool report)
{
	const BulkDriver *driver = t->args->driver;
	double		now = elapsed_ms(t);
	double		wait = t->args->sleep_ms;
	int64		cap_ms = t->args->max_replication_lag_ms;

	if (t->args->max_rows_per_sec > 0)
	{
		/* the earliest time the rows so far may have been changed */
		t->next_ok_ms = Max(t->next_ok_ms, t->last_end_ms) +
			changed * 1000.0 / t->args->max_rows_per_sec;
		wait = Max(wait, t->next_ok_ms - now);
	}
	if (wait >= 1)
	{
		bulk_driver_phase(driver, "sleeping");
		bulk_sleep(wait, driver);
	}

	if (cap_ms > 0)
	{
		int64		lag;
		bool		told = false;

		while ((lag = bulk_max_replay_lag_ms()) > cap_ms)
		{
			if (bulk_driver_stopping(driver))
				break;
			bulk_driver_phase(driver, "lag_wait");
			if (report && !told)
				ereport(NOTICE,
						(errmsg("waiting while a standby's replay lag (" INT64_FORMAT " ms) exceeds max_replication_lag (" INT64_FORMAT " ms)",
								lag, cap_ms)));
			told = true;
			bulk_sleep(LAG_POLL_MS, driver);
		}
	}
	t->last_end_ms = elapsed_ms(t);
}

/*
 * The batch size for the next batch, given that the last one (of size
 * "size") took batch_ms from its start to its commit.  With a target batch
 * duration, the size moves toward it by at most a factor of two, only when
 * the change is worth it (25% or more), at most every RESIZE_EVERY
 * batches, and within [min_batch_size, max_batch_size].
 */
int
bulk_throttle_batch_size(BulkThrottle *t, int size, double batch_ms)
{
	const BulkTransitionArgs *args = t->args;
	double		wanted;

	if (args->target_batch_ms <= 0 || ++t->since_resize < RESIZE_EVERY)
		return size;
	wanted = (double) size * args->target_batch_ms / Max(batch_ms, 0.01);
	wanted = Max(wanted, size / 2.0);
	wanted = Min(wanted, size * 2.0);
	wanted = Max(wanted, args->min_batch_size);
	wanted = Min(wanted, args->max_batch_size);
	if (wanted < size * 1.25 && wanted > size * 0.8)
		return size;
	t->since_resize = 0;
	return (int) wanted;
}

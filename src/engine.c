/*-------------------------------------------------------------------------
 *
 * engine.c
 *	  The batch loop of a status transition (or purge, or stamp): change
 *	  rows whose status is "from" to "to", one bounded batch per
 *	  transaction, walking each target in key (or block) order from a
 *	  remembered position.  The files it is made of are listed in engine.h.
 *
 * A run checks its arguments and prepares every target's statements once
 * (SPI_prepare + SPI_keepplan), so that any error comes before the first
 * batch; then it is either a dry run (dryrun.c) or it loops: run one
 * batch, remember the new position, commit, report progress, pause as the
 * throttle says.  bulk_transition_plan() stops after the checks and tells
 * a background job's submit what the run would walk.
 *
 * Drivers: CALL commits through SPI; a background job passes a BulkDriver
 * (bulk_status.h), whose after_batch writes the job's position inside the
 * batch's transaction, so that it commits with the batch.
 *
 * skip_locked: rows locked by other transactions are skipped (FOR UPDATE
 * SKIP LOCKED); a batch that left some behind is noticed by re-checking
 * its range, and a second pass starting at the first such batch then
 * waits for them.  lock_timeout_ms: each batch runs in a subtransaction
 * under that lock_timeout and is retried with exponential backoff when it
 * times out; after max_retries the error is raised.
 *
 * Memory: see BulkEngine in engine.h.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "miscadmin.h"
#include "utils/guc.h"
#include "utils/memutils.h"

#include "engine.h"

/* Longest pause between two attempts of a batch that could not lock rows. */
#define MAX_BACKOFF_MS	30000

/* Tell a driver (if any) what the engine is doing now. */
void
bulk_driver_phase(const BulkDriver *driver, const char *phase)
{
	if (driver && driver->phase)
		driver->phase(driver->arg, phase);
}

/* Whether a driver (if any) was asked to stop. */
bool
bulk_driver_stopping(const BulkDriver *driver)
{
	return driver && driver->stop_requested && driver->stop_requested(driver->arg);
}

/* What SPI reports for a batch's UPDATE, or a purge's DELETE. */
static int
change_result(BulkEngine *e)
{
	return e->args->delete_rows ? SPI_OK_DELETE : SPI_OK_UPDATE;
}

/*
 * Run a kept plan with the engine's parameters; return SPI_processed.
 * SPI leaves its own procedure context current on return; go back to the
 * caller's (the batch context), so per-batch allocations stay per batch.
 */
uint64
bulk_execute_plan(BulkEngine *e, SPIPlanPtr plan, int expected)
{
	MemoryContext cxt = CurrentMemoryContext;
	int			jit = bulk_jit_off();
	int			rc = SPI_execute_plan(plan, e->values, e->nulls, false, 0);

	bulk_jit_restore(jit);
	MemoryContextSwitchTo(cxt);
	if (rc != expected)
		elog(ERROR, "unexpected SPI result %s", SPI_result_code_string(rc));
	return SPI_processed;
}

/*
 * After a skip_locked batch, check whether its range still holds rows
 * with the from status: rows that other transactions had locked.
 */
static void
check_skipped(BulkEngine *e, bool lower, bool upper)
{
	bool		isnull;

	bulk_execute_plan(e, bulk_plan(e, BULK_STMT_EXISTS, lower, upper, false), SPI_OK_SELECT);
	if (DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc,
								   1, &isnull)))
		bulk_note_skipped(e);
	SPI_freetuptable(SPI_tuptable);
}

/*
 * Run one batch in the current transaction; return the rows it changed.
 * On return the next position is in pos_cxt[1 - cur] (key strategies) and
 * e->done says whether this was the last batch.
 */
static int64
run_batch(BulkEngine *e, bool skip)
{
	int64		changed = 0;
	bool		lower = e->has_pos;

	/* The next position's context is free again: no upper bound yet. */
	MemoryContextReset(e->pos_cxt[1 - e->cur]);
	bulk_set_bound_nulls(e, e->nbound, 'n');

	/* Under this batch's lock_timeout, and retried like its rows' locks. */
	if (!bulk_lock_target(e))
	{
		e->done = true;
		return 0;
	}

	if (WALKS_BLOCKS(e))
	{
		BlockNumber upper = e->pos_block + Min(e->blocks_per_batch,
											   e->nblocks - e->pos_block);

		bulk_set_tid_param(e, PARAM_LOWER, e->pos_block);
		bulk_set_tid_param(e, PARAM_LOWER + 1, upper);
		changed = bulk_execute_plan(e, bulk_plan(e, BULK_STMT_CHANGE, true, true, skip),
									 change_result(e));
		if (skip)
			check_skipped(e, true, true);
		e->done = upper >= e->nblocks;
	}
	else if (e->strategy == BULK_STRATEGY_RANGE)
	{
		bool		upper;

		upper = bulk_execute_plan(e, bulk_plan(e, BULK_STMT_UPPER, lower, false, false),
								  SPI_OK_SELECT) > 0;
		if (upper)
			bulk_take_upper_key(e, 1);
		SPI_freetuptable(SPI_tuptable);
		changed = bulk_execute_plan(e, bulk_plan(e, BULK_STMT_CHANGE, lower, upper, skip),
									 change_result(e));
		if (skip)
			check_skipped(e, lower, upper);
		e->done = !upper;
	}
	else
	{
		/* limit: the statement returns (changed, locked, last key...) */
		if (bulk_execute_plan(e, bulk_plan(e, BULK_STMT_CHANGE, lower, false, skip),
							  SPI_OK_SELECT) == 0)
			e->done = true;
		else
		{
			bool		isnull;

			changed = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0],
												  SPI_tuptable->tupdesc, 1, &isnull));
			bulk_take_upper_key(e, 3);
			e->done = false;
		}
		SPI_freetuptable(SPI_tuptable);

		/*
		 * With skip_locked, a batch that locked nothing may still have
		 * skipped rows: every remaining match may be locked by others.
		 */
		if (skip)
			check_skipped(e, lower, !e->done);
	}
	return changed;
}

/*
 * Run one batch under lock_timeout_ms in a subtransaction, retrying with
 * exponential backoff when it cannot get its locks in time.  Any other
 * error, or the last timeout, is raised: the batch changed nothing.
 */
static int64
run_batch_with_retries(BulkEngine *e, bool skip)
{
	int			attempt;

	if (e->args->lock_timeout_ms == 0)
		return run_batch(e, skip);

	for (attempt = 0;; attempt++)
	{
		MemoryContext cxt = CurrentMemoryContext;
		ResourceOwner owner = CurrentResourceOwner;
		volatile int64 changed = 0;
		ErrorData  *edata = NULL;

		BeginInternalSubTransaction(NULL);
		MemoryContextSwitchTo(cxt);
		PG_TRY();
		{
			changed = run_batch(e, skip);
			ReleaseCurrentSubTransaction();
		}
		PG_CATCH();
		{
			MemoryContextSwitchTo(cxt);
			edata = CopyErrorData();
			FlushErrorState();
			RollbackAndReleaseCurrentSubTransaction();
		}
		PG_END_TRY();
		MemoryContextSwitchTo(cxt);
		CurrentResourceOwner = owner;

		if (edata == NULL)
			return changed;
		if (edata->sqlerrcode != ERRCODE_LOCK_NOT_AVAILABLE ||
			attempt >= e->args->max_retries)
			ReThrowError(edata);
		else
		{
			int64		backoff = (int64) e->args->lock_timeout_ms << Min(attempt, 20);
			int			delay = (int) Min(backoff, MAX_BACKOFF_MS);

			ereport(NOTICE,
					(errmsg("a batch of %s could not lock its rows within %d ms, retry %d of %d",
							e->relname, e->args->lock_timeout_ms,
							attempt + 1, e->args->max_retries)));
			FreeErrorData(edata);
			bulk_driver_phase(e->args->driver, "lock_retry");
			bulk_sleep(delay, e->args->driver);
			bulk_driver_phase(e->args->driver, "running");
		}
	}
}

/* Emit a progress NOTICE if the interval has passed (or if final). */
static void
report_progress(BulkEngine *e, bool final)
{
	instr_time	now;
	double		since_last;
	double		elapsed;

	if (bulk_status_progress_interval <= 0)
		return;
	INSTR_TIME_SET_CURRENT(now);
	since_last = INSTR_TIME_GET_MILLISEC(now) - INSTR_TIME_GET_MILLISEC(e->last_progress);
	if (!final && since_last < bulk_status_progress_interval)
		return;
	e->last_progress = now;
	INSTR_TIME_SUBTRACT(now, e->start);
	elapsed = INSTR_TIME_GET_DOUBLE(now);
	ereport(NOTICE,
			(errmsg("%s of %s: %s" INT64_FORMAT " rows %s in " INT64_FORMAT " batches, %.1f s, %.0f rows/s",
					e->args->delete_rows ? "purge" :
					e->args->any_from ? "stamp" : "transition",
					e->relname, final ? "done, " : "",
					e->stats.rows, e->args->delete_rows ? "deleted" : "changed",
					e->stats.batches, elapsed,
					elapsed > 0 ? e->stats.rows / elapsed : 0.0)));
}

/*
 * Use batches of "size" from now on: forget the plans that have the size
 * written into them (range's upper bound, limit's batch), to be prepared
 * again when next needed, or resize ctid's block ranges.
 */
static void
resize_batches(BulkEngine *e, int size)
{
	if (size == e->batch_size)
		return;
	e->batch_size = size;
	if (WALKS_BLOCKS(e))
		e->blocks_per_batch = (BlockNumber) Max(1.0, size / e->rows_per_block);
	else
		bulk_forget_sized_plans(e);
}

/*
 * Commit the current transaction and start the next, with batch_cxt
 * current: committing a transaction that wrote rows leaves a small
 * allocation in the current context (PostgreSQL 15 asks pgstat for the
 * stats to drop with palloc(0)), which would otherwise pile up, one per
 * batch, in a context that lives on.  Leaves run_cxt current.
 */
static void
commit(BulkEngine *e)
{
	MemoryContextSwitchTo(e->batch_cxt);
	if (e->args->driver)
		e->args->driver->commit(e->args->driver->arg);
	else
		SPI_commit();
	MemoryContextSwitchTo(e->run_cxt);
	MemoryContextReset(e->batch_cxt);
}

/* Walk from the current position to the end, committing every batch. */
static void
run_pass(BulkEngine *e, bool skip)
{
	char		timeout[32];

	e->done = WALKS_BLOCKS(e) && e->pos_block >= e->nblocks;
	snprintf(timeout, sizeof(timeout), "%d", e->args->lock_timeout_ms);

	while (!e->done)
	{
		int64		changed;
		instr_time	batch_start;

		/*
		 * Pause before every batch but the run's first: also between two
		 * leaves and before a second pass, so caps hold across them.
		 */
		if (e->stats.batches > 0)
			bulk_throttle_pause(&e->throttle, e->last_changed,
								bulk_status_progress_interval > 0);
		CHECK_FOR_INTERRUPTS();
		if (e->args->driver && !e->args->driver->before_batch(e->args->driver->arg))
		{
			e->stopped = true;
			break;
		}
		INSTR_TIME_SET_CURRENT(batch_start);
		MemoryContextSwitchTo(e->batch_cxt);
		if (e->args->lock_timeout_ms > 0)
			(void) set_config_option("lock_timeout", timeout, PGC_USERSET,
									 PGC_S_SESSION, GUC_ACTION_LOCAL,
									 true, 0, false);

		changed = run_batch_with_retries(e, skip);

		/* The batch is done: its end becomes the position. */
		bulk_advance_position(e);
		e->stats.rows += changed;
		e->stats.batches++;
		bulk_stats_sample(&e->stats, e->run_cxt);
		if (e->args->driver)
			bulk_report_position(e, changed);

		commit(e);
		bulk_stats_finish(&e->stats, e->start);
		bulk_vacuum_after_batch(e, changed);

		report_progress(e, false);
		if (!e->done)
		{
			instr_time	now;

			INSTR_TIME_SET_CURRENT(now);
			INSTR_TIME_SUBTRACT(now, batch_start);
			resize_batches(e, bulk_throttle_batch_size(&e->throttle, e->batch_size,
													   INSTR_TIME_GET_MILLISEC(now)));
		}
		e->last_changed = changed;
	}
}

/*
 * Start a run: its memory contexts (under the caller's portal context, so
 * that they survive the commits between batches, or under run_parent), the
 * throttle and the figures.  Leaves run_cxt current.
 */
static BulkEngine *
engine_create(BulkTransitionArgs *args, bool atomic)
{
	MemoryContext parent;
	MemoryContextCallback *cb;
	BulkEngine *e;

	parent = args->run_parent ? args->run_parent :
		(atomic || PortalContext == NULL) ? CurrentMemoryContext : PortalContext;
	e = MemoryContextAllocZero(parent, sizeof(BulkEngine));
	e->run_cxt = AllocSetContextCreate(parent, "bulk_status transition",
									   ALLOCSET_DEFAULT_SIZES);
	MemoryContextSwitchTo(e->run_cxt);
	e->target_cxt = AllocSetContextCreate(e->run_cxt, "bulk_status target",
										  ALLOCSET_SMALL_SIZES);
	e->batch_cxt = AllocSetContextCreate(e->run_cxt, "bulk_status batch",
										 ALLOCSET_DEFAULT_SIZES);
	e->pos_cxt[0] = AllocSetContextCreate(e->run_cxt, "bulk_status position",
										  ALLOCSET_SMALL_SIZES);
	e->pos_cxt[1] = AllocSetContextCreate(e->run_cxt, "bulk_status position",
										  ALLOCSET_SMALL_SIZES);
	cb = palloc(sizeof(MemoryContextCallback));
	cb->func = bulk_free_plan_callback;
	cb->arg = &e->plans;
	MemoryContextRegisterResetCallback(e->run_cxt, cb);
	e->args = args;
	e->atomic = atomic;
	e->batch_size = args->batch_size;
	if (args->target_batch_ms > 0)
		e->batch_size = Min(Max(e->batch_size, args->min_batch_size),
							args->max_batch_size);
	bulk_throttle_init(&e->throttle, args);
	bulk_vacuum_init(e);
	bulk_stats_start(&e->stats, args->delete_rows ? "purge" :
					 args->any_from ? "stamp" : "transition");
	INSTR_TIME_SET_CURRENT(e->start);
	e->last_progress = e->start;
	return e;
}

/* End a run: publish its figures, free its memory, back to caller_cxt. */
static void
engine_destroy(BulkEngine *e, MemoryContext caller_cxt)
{
	bulk_stats_sample(&e->stats, e->run_cxt);
	bulk_stats_finish(&e->stats, e->start);
	MemoryContextSwitchTo(caller_cxt);
	MemoryContextDelete(e->run_cxt);
	pfree(e);
}

/*
 * Check everything and prepare every target's statements, so that an
 * error in any of them (a filter that does not fit a leaf, say) comes
 * before the first batch.  With info, also say what the run would walk.
 */
static List *
plan_run(BulkEngine *e, BulkPlanInfo *info)
{
	List	   *targets = bulk_check_run(e);
	ListCell   *lc;

	foreach(lc, targets)
	{
		if (!bulk_open_target(e, lfirst_oid(lc)))
			continue;
		bulk_prepare_target(e);
		if (info == NULL)
			continue;
		if (lc == list_head(targets))
		{
			info->strategy = e->strategy;
			info->has_key = e->key != NULL;
		}
		info->rows_estimated += bulk_estimated_changes(e);
	}
	return targets;
}

/*
 * Walk every target from where the run starts (a job's resume), each in
 * one or two passes, committing every batch; return the rows changed.
 */
static int64
execute_run(BulkEngine *e, List *targets)
{
	const BulkDriver *driver = e->args->driver;

	if (e->atomic)
		elog(ERROR, "a transition that changes rows needs a non-atomic context");

	for (e->target_index = bulk_first_target(e, targets);
		 e->target_index < list_length(targets) && !e->stopped;
		 e->target_index++)
	{
		if (driver)
			driver->begin(driver->arg);
		if (!bulk_open_target(e, list_nth_oid(targets, e->target_index)))
			continue;
		bulk_apply_resume(e);

		/*
		 * Commit the set-up, so that no lock it took is held through a
		 * pause before the target's first batch: a DDL statement queued
		 * behind such a lock would stall every query on the table.
		 */
		commit(e);
		if (e->pass == 1)
			run_pass(e, e->args->skip_locked);
		if (e->skipped && !e->stopped)
		{
			/* Now wait for the rows that were locked the first time. */
			if (e->pass == 1)
				bulk_rewind_to_skipped(e);
			e->pass = 2;
			run_pass(e, false);
		}
	}
	e->relname = e->parent_name;
	report_progress(e, true);
	return e->stats.rows;
}

/*
 * Check a run's arguments against the table and prepare its statements,
 * as bulk_transition_run() would, but run nothing: fill info with the
 * relations it would walk (in the caller's memory context), the first
 * one's strategy, whether it has a key, and the rows the planner expects
 * it to change.  The caller must be connected to SPI.
 */
void
bulk_transition_plan(BulkTransitionArgs *args, BulkPlanInfo *info)
{
	MemoryContext caller_cxt = CurrentMemoryContext;
	BulkEngine *e = engine_create(args, true);
	List	   *targets;

	memset(info, 0, sizeof(BulkPlanInfo));
	targets = plan_run(e, info);
	MemoryContextSwitchTo(caller_cxt);
	info->targets = list_copy(targets);
	engine_destroy(e, caller_cxt);
}

/*
 * Check the arguments against the table, then change every matching row
 * from from_status to to_status, committing after every batch (unless this
 * is a dry run).  The caller must be connected to SPI, non-atomically
 * unless atomic is true.  Returns the rows changed (or, for a dry run,
 * that would change).
 */
int64
bulk_transition_run(BulkTransitionArgs *args, bool atomic)
{
	MemoryContext caller_cxt = CurrentMemoryContext;
	BulkEngine *e = engine_create(args, atomic);
	List	   *targets = plan_run(e, NULL);
	int64		result;

	if (args->dry_run)
		result = bulk_dry_run(e, targets);
	else
		result = execute_run(e, targets);
	engine_destroy(e, caller_cxt);
	return result;
}

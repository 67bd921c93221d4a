/*-------------------------------------------------------------------------
 *
 * position.c
 *	  Where a walk is: the bound parameters of its batches, the next
 *	  position after a batch, where skip_locked's second pass starts, a
 *	  background job's slice of the walk, where a job resumes, and what its
 *	  driver is told after each batch.
 *
 * A key walk's position is the last key done: the lower bound parameters
 * ($3...), in pos_cxt[cur].  A batch puts its upper bound in the next
 * position context and only a committed batch makes it the position
 * (bulk_advance_position).  A block walk's position is the next block to
 * do.  Positions a job stores are key values in text form, written and
 * read under the fixed output settings of bulk_key_text_settings(); the
 * part of a job walks after range_lo up to range_hi, or blocks
 * [block_lo, block_hi).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "storage/itemptr.h"
#include "utils/memutils.h"
#include "utils/datum.h"

#include "engine.h"

/*
 * Mark the lower (first 0) or upper (first nbound) bound parameters as
 * NULL ('n') or set (' ').  A bound not in use must be NULL: a parallel
 * plan serialises every parameter, including ones the statement ignores,
 * and a stale one may point into a context that was reset.
 */
void
bulk_set_bound_nulls(BulkEngine *e, int first, char flag)
{
	if (!WALKS_BLOCKS(e))
		memset(e->nulls + PARAM_LOWER + first, flag, e->nbound);
}

/*
 * Copy the key in columns first_col... of the first result row into the
 * next position context, and point the upper-bound parameters at it.
 */
void
bulk_take_upper_key(BulkEngine *e, int first_col)
{
	int			next = 1 - e->cur;
	MemoryContext old = MemoryContextSwitchTo(e->pos_cxt[next]);
	int			i;

	for (i = 0; i < e->nbound; i++)
	{
		bool		isnull;
		Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc,
									  first_col + i, &isnull);

		if (isnull)
			elog(ERROR, "key column of a batch bound is null");
		e->values[PARAM_LOWER + e->nbound + i] =
			datumCopy(d, e->key_typbyval[i], e->key_typlen[i]);
		e->nulls[PARAM_LOWER + e->nbound + i] = ' ';
	}
	MemoryContextSwitchTo(old);
}

/* Set a tid parameter to (block, 0). */
void
bulk_set_tid_param(BulkEngine *e, int param, BlockNumber block)
{
	ItemPointer tid = (ItemPointer) palloc(sizeof(ItemPointerData));

	ItemPointerSet(tid, block, 0);
	e->values[param] = PointerGetDatum(tid);
	e->nulls[param] = ' ';
}

/*
 * Remember, once per run, where a batch that left locked rows behind
 * started; the second pass starts there.
 */
void
bulk_note_skipped(BulkEngine *e)
{
	MemoryContext old;
	int			i;

	if (e->skipped)
		return;
	e->skipped = true;
	e->retry_has_pos = e->has_pos;
	e->retry_block = e->pos_block;
	if (e->key == NULL || !e->has_pos)
		return;
	old = MemoryContextSwitchTo(e->target_cxt);
	e->retry_pos = palloc(sizeof(Datum) * e->nbound);
	for (i = 0; i < e->nbound; i++)
		e->retry_pos[i] = datumCopy(e->values[PARAM_LOWER + i],
									e->key_typbyval[i], e->key_typlen[i]);
	MemoryContextSwitchTo(old);
}

/* Set the position back to where the first batch with skipped rows began. */
void
bulk_rewind_to_skipped(BulkEngine *e)
{
	int			i;

	e->has_pos = e->retry_has_pos;
	e->pos_block = e->retry_block;
	if (e->retry_pos)
		for (i = 0; i < e->nbound; i++)
			e->values[PARAM_LOWER + i] = e->retry_pos[i];
	bulk_set_bound_nulls(e, 0, e->has_pos ? ' ' : 'n');
}

/*
 * Key values from their text forms (a stored position or part bound),
 * into the current memory context; a key of another width is an error.
 */
static void
key_from_text(BulkEngine *e, char **text, int n, Datum *values)
{
	if (n != e->nbound)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("a stored position of %s has %d values for a key of %d columns",
						e->relname, n, e->nbound),
				 errdetail("The key of the table changed since the job was submitted.")));
	bulk_key_from_text(e->key, text, values);
}

/*
 * A background job's part covers a slice of the walk: the keys after
 * range_lo up to range_hi, or the blocks [block_lo, block_hi).  Called by
 * setup_target() with target_cxt current.
 */
void
bulk_set_part_bounds(BulkEngine *e)
{
	const BulkTransitionArgs *args = e->args;

	if (WALKS_BLOCKS(e))
	{
		if (args->part.range_lo || args->part.range_hi)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("job part of %s was split by key, but the relation is now walked by blocks",
							e->relname)));
		if (args->part.block_lo > 0)
			e->pos_block = (BlockNumber) Min(args->part.block_lo, (int64) e->nblocks);
		if (args->part.block_hi > 0)
			e->nblocks = (BlockNumber) Min(args->part.block_hi, (int64) e->nblocks);
		return;
	}
	if (args->part.block_lo > 0 || args->part.block_hi > 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("job part of %s was split by blocks, but the relation is now walked by key",
						e->relname)));
	if (args->part.range_hi)
	{
		key_from_text(e, args->part.range_hi, args->part.range_nkeys,
					  e->values + PARAM_LOWER + 2 * e->nbound);
		memset(e->nulls + PARAM_LOWER + 2 * e->nbound, ' ', e->nbound);
	}
	if (args->part.range_lo)
	{
		MemoryContext old = MemoryContextSwitchTo(e->pos_cxt[e->cur]);

		key_from_text(e, args->part.range_lo, args->part.range_nkeys, e->values + PARAM_LOWER);
		MemoryContextSwitchTo(old);
		e->has_pos = true;
		bulk_set_bound_nulls(e, 0, ' ');
	}
}

/*
 * Resume the current target where a background job's stored position
 * says, if it is for this target and strategy; otherwise the target is
 * walked from its start (safe: rows already changed no longer match).
 */
void
bulk_apply_resume(BulkEngine *e)
{
	const BulkPosition *r = e->args->part.resume;
	MemoryContext old;

	if (r == NULL || r->target != e->target_relid ||
		r->target_index != e->target_index)
		return;
	if (r->strategy != e->strategy)
	{
		ereport(LOG,
				(errmsg("bulk_status: %s is now walked with strategy %s, not %s: starting it again from the beginning",
						e->relname, bulk_strategy_name(e->strategy),
						bulk_strategy_name(r->strategy))));
		return;
	}
	e->pass = r->pass;
	if (WALKS_BLOCKS(e))
		e->pos_block = (BlockNumber) Min(r->position_block, (int64) e->nblocks);
	else if (r->position)
	{
		old = MemoryContextSwitchTo(e->pos_cxt[e->cur]);
		key_from_text(e, r->position, r->npos, e->values + PARAM_LOWER);
		MemoryContextSwitchTo(old);
		e->has_pos = true;
		bulk_set_bound_nulls(e, 0, ' ');
	}
	if (r->skipped)
	{
		e->skipped = true;
		e->retry_block = (BlockNumber) r->retry_block;
		e->retry_has_pos = r->retry_position != NULL;
		if (e->retry_has_pos && e->key != NULL)
		{
			old = MemoryContextSwitchTo(e->target_cxt);
			e->retry_pos = palloc(sizeof(Datum) * e->nbound);
			key_from_text(e, r->retry_position, r->npos, e->retry_pos);
			MemoryContextSwitchTo(old);
		}
	}
}

/*
 * Hand the driver where the run is after a batch, in the batch's
 * transaction.  When the batch finished its target, the position is the
 * start of the next one.
 */
void
bulk_report_position(BulkEngine *e, int64 changed)
{
	BulkPosition pos;
	bool		finished = e->done && !(e->pass == 1 && e->skipped);

	memset(&pos, 0, sizeof(pos));
	pos.target = finished ? InvalidOid : e->target_relid;
	pos.target_index = e->target_index + (finished ? 1 : 0);
	pos.strategy = e->strategy;
	pos.pass = e->pass;
	pos.position_block = e->pos_block;
	if (!finished && e->key != NULL && e->has_pos)
	{
		pos.npos = e->nbound;
		pos.position = bulk_key_to_text(e->key, e->values + PARAM_LOWER);
	}
	pos.skipped = !finished && e->skipped;
	if (pos.skipped)
	{
		pos.retry_block = e->retry_block;
		if (e->key != NULL && e->retry_has_pos && e->retry_pos)
			pos.retry_position = bulk_key_to_text(e->key, e->retry_pos);
	}
	pos.changed = changed;
	pos.rows = e->stats.rows;
	pos.batches = e->stats.batches;
	pos.batch_size = e->batch_size;
	pos.engine_peak = e->stats.engine_peak;
	bulk_vacuum_figures(e, &pos.vacuum_passes, &pos.vacuum_ms);
	pos.vacuum_note = e->vacuum.note;
	e->args->driver->after_batch(e->args->driver->arg, &pos);
}

/*
 * Make the end of the batch that just committed the position: the next
 * block, or the upper bound it wrote into the next position context.
 */
void
bulk_advance_position(BulkEngine *e)
{
	int			i;

	if (WALKS_BLOCKS(e))
	{
		e->pos_block = Min(e->pos_block + e->blocks_per_batch, e->nblocks);
		return;
	}
	if (e->done)
		return;
	e->cur = 1 - e->cur;
	for (i = 0; i < e->nbound; i++)
		e->values[PARAM_LOWER + i] = e->values[PARAM_LOWER + e->nbound + i];
	bulk_set_bound_nulls(e, 0, ' ');
	e->has_pos = true;
}

/*
 * A new target is walked from its start (or from its part's first key),
 * in the first pass.  Called by the target's set-up with target_cxt
 * current.
 */
void
bulk_reset_position(BulkEngine *e)
{
	e->has_pos = false;
	e->pos_block = 0;
	e->skipped = false;
	e->retry_pos = NULL;
	e->pass = 1;
	MemoryContextReset(e->pos_cxt[0]);
	MemoryContextReset(e->pos_cxt[1]);
	bulk_set_part_bounds(e);
}

/*
 * The index of the target a run starts with: a job resumes at the target
 * its position names (if the list of targets still has it there),
 * skipping those before it; otherwise the first.
 */
int
bulk_first_target(BulkEngine *e, List *targets)
{
	const BulkPosition *r = e->args->part.resume;

	if (r && r->target_index > 0 && r->target_index <= list_length(targets) &&
		(!OidIsValid(r->target) ||
		 (r->target_index < list_length(targets) &&
		  list_nth_oid(targets, r->target_index) == r->target)))
		return r->target_index;
	return 0;
}

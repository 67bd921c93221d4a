/*-------------------------------------------------------------------------
 *
 * engine.h
 *	  The batch engine's private state, shared by the files that make it up
 *	  (and by nothing else):
 *
 *	  engine.c		the batch loop: one batch per transaction, retries,
 *					progress, the run's life from plan to end
 *	  target.c		what a run walks: the table and its checks, the leaves
 *					of a partitioned table, each target's key, strategy,
 *					blocks, estimates and prepared statements
 *	  batchsql.c	the SQL of each strategy's batch statement, and its
 *					kept plans
 *	  position.c	where a walk is: its bounds, the next position, a job
 *					part's slice, resume, and what a driver is told
 *	  dryrun.c		a dry run: counts, batches, the first statement, its plan
 *	  vacuum.c		vacuum passes behind the run
 *
 *-------------------------------------------------------------------------
 */
#ifndef BULK_STATUS_ENGINE_H
#define BULK_STATUS_ENGINE_H

#include "bulk_status.h"

#include "postmaster/bgworker.h"
#include "storage/block.h"
#include "utils/relcache.h"

/* Parameters of every batch statement: $1 to, $2 from, then the bounds. */
#define PARAM_TO		0
#define PARAM_FROM		1
#define PARAM_LOWER		2

/* Whether batches are block ranges (of the table, or of the source). */
#define WALKS_BLOCKS(e) \
	((e)->strategy == BULK_STRATEGY_CTID || (e)->strategy == BULK_STRATEGY_SOURCE)

/* The statements of a batch, each prepared once per target (batchsql.c). */
typedef enum BulkStatement
{
	BULK_STMT_CHANGE,			/* the UPDATE (DELETE) of a batch */
	BULK_STMT_UPPER,			/* range: the key batch_size keys ahead */
	BULK_STMT_EXISTS			/* skip_locked: did the batch leave rows? */
} BulkStatement;

/*
 * The vacuum passes behind a run (vacuum.c): one in flight at a time, on
 * the current target, started when dead reaches threshold.
 */
typedef struct BulkVacuum
{
	Oid			role;			/* the helper connects as this role */
	Oid			relid;			/* the current target */
	int64		threshold;		/* dead rows that start a pass; 0: none */
	int64		dead;			/* left dead since the last pass started */
	BackgroundWorkerHandle *handle; /* the pass in flight, or NULL */
	instr_time	started;		/* when it started */
	int			passes;
	double		ms;				/* time of the passes that ended */
	const char *relname;		/* the current target, quoted (target_cxt) */
	const char *why_not;		/* why the role may not vacuum it, or NULL */
	char	   *note;			/* what was said about it (run_cxt), or NULL */
	bool		no_slot_told;	/* "no worker slot" was said */
} BulkVacuum;

/*
 * A run of the engine.  Memory: run_cxt owns everything that lives for the
 * run (parameters, the kept-plan list, position contexts); target_cxt what
 * lives for the current target; batch_cxt all per-batch allocations, reset
 * after every batch.  The position lives in one of two small contexts,
 * pos_cxt[cur]; a batch writes the next position into pos_cxt[!cur], and
 * only a committed batch makes it current.  So the engine's memory after
 * batch 10 and after batch 10,000 is the same.
 */
typedef struct BulkEngine
{
	BulkTransitionArgs *args;
	bool		atomic;			/* no commits: only a plan or a dry run */

	MemoryContext run_cxt;		/* the whole run */
	MemoryContext target_cxt;	/* the relation being walked */
	MemoryContext batch_cxt;	/* one batch; reset after each */
	MemoryContext pos_cxt[2];	/* positions: current and next */
	int			cur;			/* which pos_cxt holds the current one */
	List	   *plans;			/* kept plans, freed with run_cxt */
	List	   *refreshed;		/* relations whose statistics it refreshed */

	char	   *parent_name;	/* the table named by the caller, quoted */
	char	   *parent_alias;	/* its unqualified name, quoted */
	char	   *relname;		/* the relation being walked, quoted */
	char	   *target;			/* the same, as the statements name it */
	char	   *alias;			/* what they qualify its columns with */
	char	   *alias_clause;	/* "" or " AS <the named table's name>" */
	Oid			target_relid;
	Oid			target_nsp;
	char	   *target_name;	/* unquoted, to notice a rename */
	char	   *source;			/* source relation as the statements name it */
	Oid			source_nsp;		/* and where it was, to notice a rename */
	char	   *source_name;
	char	   *status;			/* quoted status column */
	Oid			status_type;
	int32		status_typmod;
	Datum		from_value;		/* in run_cxt */
	Datum		to_value;
	BulkStrategy strategy;
	const char *why_strategy;	/* why auto chose it, for a dry run */
	BulkKey    *key;			/* NULL for ctid */
	int16	   *key_typlen;
	bool	   *key_typbyval;

	/* the bounds: nkeys key values each, or one tid each for ctid */
	int			nbound;
	int			nparams;
	Oid		   *argtypes;
	Datum	   *values;
	char	   *nulls;

	/* position: the last key done, or the next block to do */
	bool		has_pos;
	BlockNumber pos_block;
	BlockNumber nblocks;		/* blocks to walk */
	BlockNumber blocks_per_batch;
	double		rows_per_block; /* rows a block holds, across leaves */
	bool		done;

	int			batch_size;		/* now: adapts with target_batch_ms */
	int64		last_changed;	/* rows the last batch changed */
	BulkThrottle throttle;

	/* skip_locked: where the second pass must start */
	bool		skipped;
	bool		retry_has_pos;
	Datum	   *retry_pos;
	BlockNumber retry_block;

	/* kept plans: [statement][has lower bound][has upper][skip] */
	SPIPlanPtr	plan[3][2][2][2];

	BulkRunStats stats;
	instr_time	start;
	instr_time	last_progress;

	BulkVacuum	vacuum;

	/* a background job's part */
	bool		has_part_hi;	/* key bounds end at the part's last key */
	int			target_index;	/* of the current target in the run */
	int			pass;			/* 1, or 2 for skip_locked's second pass */
	bool		stopped;		/* the driver stopped the run */
} BulkEngine;

/* target.c */
extern List *bulk_check_run(BulkEngine *e);
extern bool bulk_open_target(BulkEngine *e, Oid relid);
extern void bulk_prepare_target(BulkEngine *e);
extern bool bulk_lock_target(BulkEngine *e);
extern double bulk_estimated_changes(BulkEngine *e);

/* batchsql.c */
extern char *bulk_change_sql(BulkEngine *e, bool lower, bool upper, bool skip);
extern SPIPlanPtr bulk_plan(BulkEngine *e, BulkStatement stmt, bool lower,
							bool upper, bool skip);
extern void bulk_forget_sized_plans(BulkEngine *e);
extern void bulk_forget_all_plans(BulkEngine *e);
extern void bulk_append_status_match(BulkEngine *e, StringInfo sql);
extern void bulk_append_source_exists(BulkEngine *e, StringInfo sql);

/* position.c */
extern void bulk_set_bound_nulls(BulkEngine *e, int first, char flag);
extern void bulk_take_upper_key(BulkEngine *e, int first_col);
extern void bulk_set_tid_param(BulkEngine *e, int param, BlockNumber block);
extern void bulk_advance_position(BulkEngine *e);
extern void bulk_note_skipped(BulkEngine *e);
extern void bulk_rewind_to_skipped(BulkEngine *e);
extern void bulk_reset_position(BulkEngine *e);
extern void bulk_set_part_bounds(BulkEngine *e);
extern void bulk_apply_resume(BulkEngine *e);
extern int	bulk_first_target(BulkEngine *e, List *targets);
extern void bulk_report_position(BulkEngine *e, int64 changed);

/* vacuum.c */
extern void bulk_vacuum_init(BulkEngine *e);
extern void bulk_vacuum_target(BulkEngine *e, Relation rel);
extern void bulk_vacuum_after_batch(BulkEngine *e, int64 changed);
extern void bulk_vacuum_figures(BulkEngine *e, int *passes, double *ms);

/* dryrun.c */
extern int64 bulk_dry_run(BulkEngine *e, List *targets);

/* engine.c */
extern uint64 bulk_execute_plan(BulkEngine *e, SPIPlanPtr plan, int expected);

#endif							/* BULK_STATUS_ENGINE_H */

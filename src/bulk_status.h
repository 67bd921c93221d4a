/*-------------------------------------------------------------------------
 *
 * bulk_status.h
 *	  Declarations shared by the files of the bulk_status extension.
 *
 * The extension is split by concern:
 *	  bulk_status.c	module magic, GUCs, the session's last-run figures
 *	  compat.h		every difference between PostgreSQL majors
 *	  keyset.c		relation checks, key discovery, SQL fragments, filters,
 *					statements on the extension's own tables
 *	  options.c		the options of a run, said once: read from SQL, written
 *					to and read from the job tables
 *	  engine.c		the batch loop (one engine, shared by CALL and jobs);
 *					with target.c, batchsql.c, position.c and dryrun.c,
 *					behind engine.h
 *	  throttle.c	pauses, rows/s cap, adaptive batch size, replay lag cap
 *	  vacuum.c		vacuum passes behind a run (a helper background worker)
 *	  generation.c	generations of a sync cycle (begin, end, current)
 *	  transition.c	CALL bulk_status.transition, purge and stamp
 *	  scan.c		bulk_status.scan: value-per-call keyset scan
 *	  cursor.c		durable named cursors
 *	  jobs.c		background jobs, the SQL side: submit, control, views,
 *					shared memory (jobs.h)
 *	  worker.c		background jobs, the processes: launcher, sweepers,
 *					job workers
 *
 *-------------------------------------------------------------------------
 */
#ifndef BULK_STATUS_H
#define BULK_STATUS_H

#include "postgres.h"

#include "executor/spi.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "portability/instr_time.h"
#include "postmaster/bgworker.h"
#include "storage/block.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"
#include "utils/guc.h"
#include "utils/relcache.h"

/* GUCs (bulk_status.c) */
extern int	bulk_status_progress_interval;

/*
 * The key a relation is walked by: its primary key, or else its narrowest
 * valid, immediate, non-partial unique btree index on NOT NULL columns.
 * Everything here is allocated in the caller's memory context.
 */
typedef struct BulkKey
{
	int			nkeys;
	AttrNumber *attnums;		/* key columns, in index order */
	char	  **names;			/* their names, already quoted */
	Oid		   *types;			/* their type OIDs */
	Oid		   *collations;		/* their collations */
} BulkKey;

/* What the engine measured during one scan or transition. */
typedef struct BulkRunStats
{
	const char *kind;			/* "scan", "cursor_fetch", "transition" */
	int64		rows;
	int64		batches;
	Size		engine_peak;	/* peak of the engine's own memory contexts */
	Size		backend_peak;	/* peak of all of the backend's contexts,
								 * sampled between batches */
	double		elapsed_ms;
} BulkRunStats;

/* bulk_status.c */
extern BulkRunStats bulk_last_run;
extern void bulk_stats_start(BulkRunStats *stats, const char *kind);
extern void bulk_stats_sample(BulkRunStats *stats, MemoryContext engine_cxt);
extern void bulk_stats_finish(BulkRunStats *stats, instr_time start);

/* keyset.c */
extern Relation bulk_open_table(Oid relid, const char *what);
extern BulkKey *bulk_find_key(Relation rel);
extern char *bulk_quoted_relname(Relation rel);
extern void bulk_check_select_privilege(Relation rel);
extern void bulk_check_filter(Relation rel, const char *filter);
extern void bulk_append_filter(StringInfo buf, const char *filter);
extern void bulk_append_key_list(StringInfo buf, BulkKey *key,
								 const char *alias, bool descending);
extern void bulk_append_key_cmp(StringInfo buf, BulkKey *key,
								const char *alias, const char *op,
								int first_param);
extern SPIPlanPtr bulk_prepare(const char *sql, int nargs, Oid *argtypes);
extern SPIPlanPtr bulk_prepare_opts(const char *sql, int nargs, Oid *argtypes,
									int options);
extern void bulk_key_from_text(BulkKey *key, char **text, Datum *values);
extern char **bulk_key_to_text(BulkKey *key, Datum *values);
extern int	bulk_key_text_settings(void);
extern void bulk_set_key_text_settings(GucAction action);
extern int	bulk_jit_off(void);
extern void bulk_jit_restore(int level);
extern void bulk_free_plan_callback(void *arg);
extern void bulk_require_arg(bool isnull, const char *argname);
extern uint64 bulk_state_execute(const char *table, const char *sql, int nargs,
								 Oid *argtypes, Datum *values, const char *nulls,
								 int expected);
extern uint64 bulk_state_execute_kept(const char *table, SPIPlanPtr *kept,
									  const char *sql, int nargs, Oid *argtypes,
									  Datum *values, const char *nulls,
									  int expected);
extern bool bulk_state_has_column(const char *table, const char *column);
extern void bulk_append_status_literal(StringInfo buf, const char *alias,
									   const char *column, const char *op,
									   const char *value, Oid type, int32 typmod);
extern Datum bulk_text_array(char **values, int n);
extern List *bulk_key_boundaries(Relation rel, BulkKey *key, bool only,
								 const char *where, int n);
extern char **bulk_text_array_values(Datum array, int *n);

/*
 * A keyset read of a table's rows in key order, shared by scans and
 * cursors: "SELECT <live columns> FROM tbl WHERE key > $1... [AND key <=
 * $k+1...] AND (filter) ORDER BY key LIMIT n".  bulk_keyset_query_run()
 * hands each result row, as the executor produces it, to a tuplestore or
 * into an array of composite datums of the table's row type, and keeps the
 * last row's key.
 */
typedef struct BulkKeysetQuery
{
	Oid			relid;
	char	   *relname;		/* quoted, schema-qualified */
	bool		only;			/* read ONLY this table */
	char	   *filter;			/* checked filter, or NULL */
	BulkKey    *key;
	char	   *columns;		/* quoted select list */
	TupleDesc	rowdesc;		/* the table's row type */
	int			natts;
	bool		direct;			/* no dropped columns: a result row is laid
								 * out as a row of the table */
	int		   *src_col;		/* per attribute: result column, 0 if dropped */
	int		   *key_col;		/* per key column: result column */
	int16	   *key_typlen;
	bool	   *key_typbyval;
	Datum	   *values;			/* workspace for forming rows */
	bool	   *isnull;
	MemoryContext cxt;			/* where the query lives */
	Datum	   *last_key;		/* the key of the last row run() returned */
	char	   *keybuf;			/* its by-reference values, in cxt */
	Size		keybuf_size;
} BulkKeysetQuery;

/* Where bulk_keyset_query_run() puts a batch's rows. */
typedef struct BulkKeysetBatch
{
	Tuplestorestate *store;		/* rows go here, in the row type, or */
	MemoryContext row_cxt;		/* as composite datums allocated here */
	Datum	   *rows;			/* into this array, allocated by the caller
								 * for capacity rows (and grown in place) */
	uint64		capacity;
	uint64		nrows;			/* rows in this batch */
} BulkKeysetBatch;

/* scan.c */
extern Relation bulk_open_rowtype_table(FunctionCallInfo fcinfo, int argno,
										const char *what);
extern void bulk_keyset_query_init(BulkKeysetQuery *q, Relation rel,
								   const char *filter, const char *what);
extern char *bulk_keyset_query_sql(BulkKeysetQuery *q, bool after_pos,
								   bool upper, int64 limit);
extern uint64 bulk_keyset_query_run(BulkKeysetQuery *q, SPIPlanPtr plan,
									Datum *params, int nparams,
									BulkKeysetBatch *batch);

/* options.c, engine.c */
typedef enum BulkStrategy
{
	BULK_STRATEGY_AUTO,
	BULK_STRATEGY_RANGE,		/* key ranges of batch_size keys */
	BULK_STRATEGY_LIMIT,		/* next batch_size matching rows by key */
	BULK_STRATEGY_CTID,			/* block ranges, for tables without a key */
	BULK_STRATEGY_SOURCE		/* block ranges of a source relation whose
								 * keys say which rows change */
} BulkStrategy;

struct BulkDriver;
struct BulkPosition;

/*
 * A background job's part covers a slice of the run: the keys after
 * range_lo up to range_hi, or the blocks [block_lo, block_hi), or every
 * count-th of several leaves; it resumes where its stored position says.
 * All zero for CALL.
 */
typedef struct BulkPartSpec
{
	int			index;			/* this part, of count */
	int			count;
	char	  **range_lo;		/* after this key (text form), or NULL */
	char	  **range_hi;		/* ... up to and including this one */
	int			range_nkeys;
	int64		block_lo;		/* 0 for the start */
	int64		block_hi;		/* 0 for an open end */
	const struct BulkPosition *resume;	/* where to resume, or NULL */
} BulkPartSpec;

/*
 * What a run does.  The options (options.c says which SQL argument and
 * which job column fills each) come first.
 */
typedef struct BulkTransitionArgs
{
	Oid			relid;
	char	   *from_status;
	char	   *to_status;
	char	   *filter;			/* NULL for none */
	char	   *status_column;
	int			batch_size;
	BulkStrategy strategy;
	int			sleep_ms;
	int			lock_timeout_ms;	/* 0: wait as long as lock_timeout says */
	int			max_retries;
	bool		skip_locked;
	bool		dry_run;
	int			max_rows_per_sec;	/* 0: no cap */
	int			target_batch_ms;	/* 0: fixed batch size */
	int			min_batch_size;
	int			max_batch_size;
	int64		max_replication_lag_ms; /* 0: no cap */
	Oid			source;			/* InvalidOid: every matching row */
	int			workers;		/* a job's parts (0 for CALL) */
	int64		vacuum_threshold;	/* dead rows between vacuum passes:
									 * -1 auto (NULL), 0 never */

	bool		any_from;		/* a stamp: change rows with any other value
								 * (from_status unused) */
	bool		delete_rows;	/* a purge: delete the rows (to_status unused) */

	/* Set by a background job's worker; all zero for CALL. */
	const struct BulkDriver *driver;
	MemoryContext run_parent;	/* where the run's memory lives */
	BulkPartSpec part;
} BulkTransitionArgs;

/* What a run would walk (bulk_transition_plan), for a job's submit. */
typedef struct BulkPlanInfo
{
	List	   *targets;		/* OIDs of the relations, in walk order */
	BulkStrategy strategy;		/* the first one's strategy */
	bool		has_key;		/* whether it has a key */
	double		rows_estimated; /* rows the planner expects to change */
} BulkPlanInfo;

/*
 * Where a run is: written after every batch (in the batch's transaction)
 * by a background job, and handed back to resume.  Key positions are in
 * text form, one element per key column, written under the fixed output
 * settings of bulk_key_text_settings().
 */
typedef struct BulkPosition
{
	Oid			target;			/* relation being walked */
	int			target_index;	/* its place in the run's list of targets */
	BulkStrategy strategy;
	int			pass;			/* 1, or 2: skip_locked's second pass */
	int			npos;			/* key columns in position, 0 if none */
	char	  **position;		/* last key done, or NULL */
	int64		position_block; /* next block to do (ctid, source) */
	bool		skipped;		/* skip_locked left rows behind ... */
	char	  **retry_position; /* ... from after this key (or NULL) */
	int64		retry_block;	/* ... or from this block */

	/* figures, after a batch */
	int64		changed;		/* by this batch */
	int64		rows;			/* by the run */
	int64		batches;
	int			batch_size;
	Size		engine_peak;
	int			vacuum_passes;	/* started by the run */
	double		vacuum_ms;		/* their time so far */
	const char *vacuum_note;	/* why there are none, or NULL */
} BulkPosition;

/*
 * The one channel between the engine and a background job's worker, whose
 * state is arg.  before_batch may stop the run (returning false) or raise
 * an error; after_batch runs in the batch's transaction just before it
 * commits, so what it writes commits with the batch; commit ends the
 * transaction, and no transaction is open during the pause after it: begin
 * (which before_batch also calls) starts the next one.  phase tells the
 * job's live figures what the engine does ("running", "sleeping", ...);
 * stop_requested ends pauses early.  CALL has no driver.
 */
typedef struct BulkDriver
{
	void	   *arg;
	void		(*begin) (void *arg);	/* start a transaction if none */
	bool		(*before_batch) (void *arg);
	void		(*after_batch) (void *arg, const BulkPosition *pos);
	void		(*commit) (void *arg);
	void		(*phase) (void *arg, const char *phase);
	bool		(*stop_requested) (void *arg);
} BulkDriver;

extern void bulk_driver_phase(const BulkDriver *driver, const char *phase);
extern bool bulk_driver_stopping(const BulkDriver *driver);

/* options.c */
extern BulkStrategy bulk_parse_strategy(const char *name);
extern const char *bulk_strategy_name(BulkStrategy s);
extern double bulk_interval_ms(const Interval *iv);
extern void bulk_read_options(FunctionCallInfo fcinfo, BulkTransitionArgs *args);
extern int	bulk_job_options_count(void);
extern void bulk_job_options_write(const BulkTransitionArgs *args, StringInfo cols,
								   Oid *types, Datum *values, char *nulls, int *n);
extern void bulk_job_options_select(StringInfo sql, const char *alias);
extern void bulk_job_options_read(HeapTuple tup, TupleDesc desc, int first_col,
								  BulkTransitionArgs *args);

/* throttle.c */
typedef struct BulkThrottle
{
	const BulkTransitionArgs *args;
	instr_time	start;			/* when the run started */
	double		next_ok_ms;		/* rows/s cap: when the rows so far may be done */
	double		last_end_ms;	/* when the last pause ended */
	int			since_resize;	/* batches since the batch size changed */
} BulkThrottle;

extern void bulk_throttle_init(BulkThrottle *t, const BulkTransitionArgs *args);
extern void bulk_throttle_pause(BulkThrottle *t, int64 changed, bool report);
extern int	bulk_throttle_batch_size(BulkThrottle *t, int size, double batch_ms);
extern int64 bulk_max_replay_lag_ms(void);
extern void bulk_sleep(double ms, const BulkDriver *driver);

/* engine.c, target.c */
typedef struct BulkBlocks
{
	BlockNumber nblocks;		/* of the longest relation */
	int			nonempty;		/* relations with any block */
	double		tuples;			/* rows and pages their statistics count */
	double		pages;
} BulkBlocks;

extern void bulk_transition_plan(BulkTransitionArgs *args, BulkPlanInfo *info);
extern int64 bulk_transition_run(BulkTransitionArgs *args, bool atomic);
extern double bulk_estimated_rows(const char *sql);
extern void bulk_count_blocks(Oid relid, bool with_children, BulkBlocks *b);

/* jobs.c, worker.c */
extern void bulk_jobs_init(void);
extern void bulk_worker_init(BackgroundWorker *worker, const char *function,
							 const char *name, const char *type);

/* background worker entry points: the postmaster looks them up by name */
extern PGDLLEXPORT void bulk_job_worker_main(Datum arg);
extern PGDLLEXPORT void bulk_launcher_main(Datum arg);
extern PGDLLEXPORT void bulk_sweeper_main(Datum arg);
extern PGDLLEXPORT void bulk_vacuum_main(Datum arg);

#endif							/* BULK_STATUS_H */

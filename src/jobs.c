/*-------------------------------------------------------------------------
 *
 * jobs.c
 *	  Background jobs, the SQL side: submit, cancel, pause, resume, wait,
 *	  the live figures, and the shared memory they use.
 *
 * submit checks everything a CALL would check (same errors, same
 * SQLSTATEs), splits the work into parts, and inserts the job and its
 * parts in the caller's transaction.  Nothing else can see them before
 * that transaction commits; a commit callback then asks the launcher to
 * sweep the database, and the sweeper starts a worker per part (up to
 * bulk_status.max_workers in the whole cluster; more wait their turn).
 * A rolled-back submit leaves nothing to find.
 *
 * Who may do what: a job is seen by roles that have the privileges of its
 * owner, and by pg_monitor; it is controlled by roles that have the
 * privileges of its owner, and by pg_signal_backend (but not a
 * superuser's job).  To the others it does not exist.
 *
 * Lock order on the job tables: a transaction that changes a job's row or
 * its parts' rows (a control function, a sweep of one part, a worker
 * starting or ending its part) first locks the job's row with
 * bulk_job_lock() (FOR NO KEY UPDATE), and only then its parts' rows.  So
 * no two of them can each hold what the other waits for.  The lock mode
 * lets the foreign key checks of job_part_state (FOR KEY SHARE on the job
 * row) pass without waiting.  A batch's transaction writes only its own
 * part's row, once, and takes no other lock on these tables; retention
 * skips jobs whose rows are locked.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/relation.h"
#include "access/xact.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_type.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "storage/bufmgr.h"
#include "storage/ipc.h"
#include "storage/shmem.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

#include "bulk_status.h"
#include "compat.h"
#include "jobs.h"

BulkShared *bulk_shared = NULL;
int			bulk_status_max_workers = 4;
int			bulk_status_job_retention = 7 * 24 * 3600;

static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

/* A job submitted in this transaction: wake the launcher at commit. */
static bool sweep_at_commit = false;
static bool xact_callback_registered = false;

static void
bulk_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(MAXALIGN(sizeof(BulkShared)));
	RequestNamedLWLockTranche("bulk_status", 1);
}

static void
bulk_shmem_startup(void)
{
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	bulk_shared = ShmemInitStruct("bulk_status", sizeof(BulkShared), &found);
	if (!found)
	{
		memset(bulk_shared, 0, sizeof(BulkShared));
		bulk_shared->lock = &(GetNamedLWLockTranche("bulk_status"))->lock;
		bulk_shared->sweep_all = true;
	}
	LWLockRelease(AddinShmemInitLock);
}

/*
 * GUCs of background jobs; when preloaded, the shared memory and the
 * launcher.  Called from _PG_init.
 */
void
bulk_jobs_init(void)
{
	BackgroundWorker worker;

	DefineCustomIntVariable("bulk_status.max_workers",
							"Sets the most background job workers running at once.",
							"Parts of jobs beyond it wait, in the order they were submitted. "
							"Each worker also takes one of max_worker_processes.",
							&bulk_status_max_workers,
							4, 0, BULK_MAX_SLOTS,
							PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("bulk_status.job_retention",
							"Sets how long finished background jobs are kept in bulk_status.jobs.",
							"Jobs that ended (done, failed or cancelled) longer ago are deleted.",
							&bulk_status_job_retention,
							7 * 24 * 3600, 60, INT_MAX,
							PGC_SIGHUP, GUC_UNIT_S, NULL, NULL, NULL);

	if (!process_shared_preload_libraries_in_progress)
		return;

	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = bulk_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = bulk_shmem_startup;

	bulk_worker_init(&worker, "bulk_launcher_main", "bulk_status launcher",
					 "bulk_status launcher");
	worker.bgw_restart_time = 5;
	worker.bgw_notify_pid = 0;
	RegisterBackgroundWorker(&worker);
}

/*
 * Describe one of bulk_status's background workers: entry point function,
 * its name and type (as pg_stat_activity shows them); connected to a
 * database (or none), started once recovery finished, never restarted,
 * and telling the process that registers it when it starts and stops.
 */
void
bulk_worker_init(BackgroundWorker *worker, const char *function,
				 const char *name, const char *type)
{
	memset(worker, 0, sizeof(BackgroundWorker));
	worker->bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker->bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker->bgw_restart_time = BGW_NEVER_RESTART;
	snprintf(worker->bgw_library_name, BGW_MAXLEN, "bulk_status");
	snprintf(worker->bgw_function_name, BGW_MAXLEN, "%s", function);
	snprintf(worker->bgw_name, BGW_MAXLEN, "%s", name);
	snprintf(worker->bgw_type, BGW_MAXLEN, "%s", type);
	worker->bgw_notify_pid = MyProcPid;
}

/* Add a database to a list of them, once; note when the list is full. */
void
bulk_add_db(Oid *dbs, int *n, Oid dboid, bool *overflow)
{
	int			i;

	for (i = 0; i < *n; i++)
		if (dbs[i] == dboid)
			return;
	if (*n < BULK_MAX_SWEEP_DBS)
		dbs[(*n)++] = dboid;
	else
		*overflow = true;
}

/* Ask the launcher to sweep a database (start its waiting parts). */
void
bulk_request_sweep(Oid dboid)
{
	Latch	   *latch;

	if (bulk_shared == NULL)
		return;
	LWLockAcquire(bulk_shared->lock, LW_EXCLUSIVE);
	bulk_add_db(bulk_shared->sweep_dbs, &bulk_shared->nsweep, dboid,
				&bulk_shared->sweep_all);
	latch = bulk_shared->launcher_latch;
	LWLockRelease(bulk_shared->lock);
	if (latch)
		SetLatch(latch);
}

/*
 * At commit, wake the launcher for the jobs submitted or resumed in the
 * transaction.  This runs after the commit is durable and visible, where
 * an error would be too late; nothing here can fail.
 */
static void
jobs_xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
			if (sweep_at_commit)
				bulk_request_sweep(MyDatabaseId);
			sweep_at_commit = false;
			break;
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
			sweep_at_commit = false;
			break;
		case XACT_EVENT_PRE_PREPARE:
			if (sweep_at_commit)
				ereport(ERROR,
						(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
						 errmsg("cannot PREPARE a transaction that submitted or resumed a bulk_status job")));
			break;
		default:
			break;
	}
}

static void
sweep_after_commit(void)
{
	if (!xact_callback_registered)
	{
		RegisterXactCallback(jobs_xact_callback, NULL);
		xact_callback_registered = true;
	}
	sweep_at_commit = true;
}

/*
 * Lock a job's row, before any of its parts' rows (see the lock order at
 * the top of this file); false if there is no such job.
 */
bool
bulk_job_lock(int64 job)
{
	Oid			argtypes[1] = {INT8OID};
	Datum		values[1] = {Int64GetDatum(job)};

	return bulk_state_execute("job_state",
					"SELECT FROM bulk_status.job_state WHERE id = $1 FOR NO KEY UPDATE",
					1, argtypes, values, NULL, SPI_OK_SELECT) > 0;
}

/*
 * Settle a job's state from its parts' after a part changed state: running
 * while a part runs, queued while one waits, else failed, cancelled,
 * paused or done, in that order.  The job row is locked (the caller has
 * normally done so already), so that two parts ending at once see each
 * other's new state.
 */
void
bulk_job_finalize(int64 job)
{
	Oid			argtypes[1] = {INT8OID};
	Datum		values[1] = {Int64GetDatum(job)};

	(void) bulk_job_lock(job);
	(void) bulk_state_execute("job_state",
					"WITH p AS (SELECT CASE"
					"   WHEN bool_or(state = 'running') THEN 'running'"
					"   WHEN bool_or(state = 'queued') THEN 'queued'"
					"   WHEN bool_or(state = 'failed') THEN 'failed'"
					"   WHEN bool_or(state = 'cancelled') THEN 'cancelled'"
					"   WHEN bool_or(state = 'paused') THEN 'paused'"
					"   ELSE 'done' END AS state,"
					"  (array_agg(error ORDER BY part) FILTER (WHERE error IS NOT NULL))[1] AS error"
					"  FROM bulk_status.job_part_state WHERE job = $1)"
					" UPDATE bulk_status.job_state j"
					" SET state = CASE WHEN p.state = 'queued' AND j.started IS NOT NULL"
					"                  THEN 'running' ELSE p.state END,"
					"     error = COALESCE(j.error, p.error),"
					"     requested = CASE WHEN p.state IN ('running', 'queued') THEN j.requested END,"
					"     finished = CASE WHEN p.state IN ('done', 'failed', 'cancelled')"
					"                     THEN clock_timestamp() END"
					" FROM p WHERE j.id = $1",
					1, argtypes, values, NULL, SPI_OK_UPDATE);
}

/*
 * Delete the jobs that ended longer ago than bulk_status.job_retention,
 * but none whose row another transaction holds: retention waits for
 * nobody, so it cannot take part in a deadlock.
 */
void
bulk_job_prune(void)
{
	Oid			argtypes[1] = {INT4OID};
	Datum		values[1] = {Int32GetDatum(bulk_status_job_retention)};

	(void) bulk_state_execute("job_state",
					"DELETE FROM bulk_status.job_state WHERE id IN"
					" (SELECT id FROM bulk_status.job_state"
					"   WHERE finished < clock_timestamp() - make_interval(secs => $1)"
					"   FOR UPDATE SKIP LOCKED)",
					1, argtypes, values, NULL, SPI_OK_DELETE);
}

/* Whether the current user may see, or control, a job of owner. */
static bool
may_see(Oid owner)
{
	return has_privs_of_role(GetUserId(), owner) ||
		has_privs_of_role(GetUserId(), ROLE_PG_MONITOR);
}

static bool
may_control(Oid owner)
{
	return has_privs_of_role(GetUserId(), owner) ||
		(has_privs_of_role(GetUserId(), ROLE_PG_SIGNAL_BACKEND) &&
		 !superuser_arg(owner));
}

/* Raise the error for a missing library in shared_preload_libraries. */
static void
require_preload(const char *what)
{
	if (bulk_shared == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("%s requires bulk_status in shared_preload_libraries", what),
				 errhint("Add bulk_status to shared_preload_libraries and restart the server; "
						 "CALL bulk_status.transition works without it.")));
}

/*
 * Split the keys of the rows a job will change into at most n ranges of
 * about equal numbers of rows (bulk_key_boundaries).
 */
static List *
key_boundaries(BulkTransitionArgs *args, Relation rel, BulkKey *key,
			   Oid status_type, int32 status_typmod, int n)
{
	StringInfoData where;

	initStringInfo(&where);
	bulk_append_status_literal(&where, NULL, quote_identifier(args->status_column),
							   args->any_from ? "IS DISTINCT FROM" : "=",
							   args->any_from ? args->to_status : args->from_status,
							   status_type, status_typmod);
	if (args->filter)
	{
		appendStringInfoString(&where, " AND ");
		bulk_append_filter(&where, args->filter);
	}
	return bulk_key_boundaries(rel, key, false, where.data, n);
}

/* Insert one part of a job. */
static void
insert_part(int64 job, int part, char **lo, char **hi, int nkeys,
			int64 block_lo, int64 block_hi)
{
	Oid			argtypes[6] = {INT8OID, INT4OID, TEXTARRAYOID, TEXTARRAYOID, INT8OID, INT8OID};
	Datum		values[6];
	char		nulls[6] = {' ', ' ', ' ', ' ', ' ', ' '};

	values[0] = Int64GetDatum(job);
	values[1] = Int32GetDatum(part);
	values[2] = bulk_text_array(lo, nkeys);
	nulls[2] = lo ? ' ' : 'n';
	values[3] = bulk_text_array(hi, nkeys);
	nulls[3] = hi ? ' ' : 'n';
	values[4] = Int64GetDatum(block_lo);
	nulls[4] = block_lo >= 0 ? ' ' : 'n';
	values[5] = Int64GetDatum(block_hi);
	nulls[5] = block_hi >= 0 ? ' ' : 'n';
	(void) bulk_state_execute("job_part_state",
					"INSERT INTO bulk_status.job_part_state"
					" (job, part, range_lo, range_hi, block_lo, block_hi)"
					" VALUES ($1, $2, $3, $4, $5, $6)",
					6, argtypes, values, nulls, SPI_OK_INSERT);
}

/*
 * Insist that the submitting role can own a job: its worker connects as
 * that role, which before PostgreSQL 17 needs LOGIN (BULK_NOLOGIN_OWNERS).
 */
static void
check_owner_can_connect(const char *kind)
{
	HeapTuple	roletup;
	bool		canlogin;

	roletup = SearchSysCache1(AUTHOID, ObjectIdGetDatum(GetUserId()));
	if (!HeapTupleIsValid(roletup))
		elog(ERROR, "cache lookup failed for role %u", GetUserId());
	canlogin = ((Form_pg_authid) GETSTRUCT(roletup))->rolcanlogin;
	ReleaseSysCache(roletup);
	if (!canlogin && !BULK_NOLOGIN_OWNERS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
				 errmsg("role \"%s\" cannot run background jobs because it cannot log in",
						GetUserNameFromId(GetUserId(), false)),
				 errdetail("A job's worker connects as the role that submitted it, and before PostgreSQL 17 only LOGIN roles can connect."),
				 errhint("Submit the job as a role with LOGIN, or run CALL bulk_status.%s(...) in this session.",
						 kind)));
}

/*
 * Refuse a temporary relation: a job's worker runs in a session of its
 * own, which cannot see this session's temporary tables.
 */
static void
check_not_temporary(Oid relid, const char *what, const char *kind)
{
	if (OidIsValid(relid) && get_rel_persistence(relid) == RELPERSISTENCE_TEMP)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("cannot run a background job on temporary %s \"%s\"",
						what, get_rel_name(relid)),
				 errdetail("A job's worker runs in a session of its own, which cannot see this session's temporary tables."),
				 errhint("Run CALL bulk_status.%s(...) in this session instead.", kind)));
}

/*
 * Run the job's filter once, as the caller, on no row: "SELECT FROM rel
 * WHERE (filter) LIMIT 0" starts the executor, which checks every
 * privilege the filter needs (columns, tables it reads, functions it
 * calls), so that a job that could only fail with 42501 is refused now,
 * as CALL refuses it at its first batch.
 */
static void
check_filter_privileges(BulkTransitionArgs *args)
{
	Relation	rel;
	StringInfoData sql;

	if (args->filter == NULL)
		return;
	rel = relation_open(args->relid, AccessShareLock);
	initStringInfo(&sql);
	appendStringInfo(&sql, "SELECT FROM %s AS %s WHERE true AND ", bulk_quoted_relname(rel),
					 quote_identifier(RelationGetRelationName(rel)));
	bulk_append_filter(&sql, args->filter);
	appendStringInfoString(&sql, " LIMIT 0");
	relation_close(rel, AccessShareLock);
	if (SPI_execute(sql.data, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not check the filter of the job");
	pfree(sql.data);
}

/*
 * Insert the job's row (its options, from options.c's table, and who and
 * what it is); return its id.
 */
static int64
insert_job(BulkTransitionArgs *args, const char *kind, const BulkPlanInfo *info)
{
	int			max = bulk_job_options_count() + 4;
	Oid		   *types = palloc(sizeof(Oid) * max);
	Datum	   *values = palloc(sizeof(Datum) * max);
	char	   *nulls = palloc(max);
	StringInfoData cols;
	StringInfoData sql;
	int			n = 0;
	int			i;
	bool		isnull;

	initStringInfo(&cols);
	appendStringInfoString(&cols, "kind, owner, search_path, rows_estimated");
	types[n] = TEXTOID;
	values[n] = CStringGetTextDatum(kind);
	nulls[n++] = ' ';
	types[n] = REGROLEOID;
	values[n] = ObjectIdGetDatum(GetUserId());
	nulls[n++] = ' ';
	types[n] = TEXTOID;
	values[n] = CStringGetTextDatum(GetConfigOptionByName("search_path", NULL, false));
	nulls[n++] = ' ';
	types[n] = INT8OID;
	values[n] = Int64GetDatum((int64) Min(info->rows_estimated, (double) PG_INT64_MAX));
	nulls[n++] = ' ';
	bulk_job_options_write(args, &cols, types, values, nulls, &n);

	initStringInfo(&sql);
	appendStringInfo(&sql, "INSERT INTO bulk_status.job_state (%s) VALUES (", cols.data);
	for (i = 1; i <= n; i++)
		appendStringInfo(&sql, "%s$%d", i > 1 ? ", " : "", i);
	appendStringInfoString(&sql, ") RETURNING id");
	(void) bulk_state_execute("job_state", sql.data, n, types, values, nulls,
							  SPI_OK_INSERT_RETURNING);
	return DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
}

/*
 * Insert the job's parts: leaves dealt out, block ranges, or key ranges.
 * Each part covers a fixed slice; together they cover the whole walk once.
 */
static void
insert_parts(BulkTransitionArgs *args, int64 job, const BulkPlanInfo *info)
{
	int			workers = args->workers;
	int			nparts;
	int			i;

	if (workers > 1 && list_length(info->targets) > 1)
	{
		nparts = Min(workers, list_length(info->targets));
		for (i = 0; i < nparts; i++)
			insert_part(job, i, NULL, NULL, 0, -1, -1);
	}
	else if (workers > 1 && (info->strategy == BULK_STRATEGY_CTID ||
							 info->strategy == BULK_STRATEGY_SOURCE))
	{
		BulkBlocks	b;
		int64		nblocks;

		bulk_count_blocks(OidIsValid(args->source) ? args->source : args->relid, true, &b);
		nblocks = b.nblocks;
		nparts = (int) Max(Min((int64) workers, nblocks), 1);
		for (i = 0; i < nparts; i++)
			insert_part(job, i, NULL, NULL, 0, nblocks * i / nparts,
						i == nparts - 1 ? -1 : nblocks * (i + 1) / nparts);
	}
	else if (workers > 1 && info->has_key)
	{
		List	   *bounds;
		BulkKey    *key;
		AttrNumber	attnum;
		Relation	rel;
		char	  **prev = NULL;
		ListCell   *lc;

		rel = relation_open(args->relid, AccessShareLock);
		key = bulk_find_key(rel);
		attnum = get_attnum(args->relid, args->status_column);
		bounds = key_boundaries(args, rel, key,
								TupleDescAttr(RelationGetDescr(rel), attnum - 1)->atttypid,
								TupleDescAttr(RelationGetDescr(rel), attnum - 1)->atttypmod,
								workers);
		relation_close(rel, AccessShareLock);
		nparts = 0;
		foreach(lc, bounds)
		{
			insert_part(job, nparts++, prev, lfirst(lc), key->nkeys, -1, -1);
			prev = lfirst(lc);
		}
		insert_part(job, nparts++, prev, NULL, key->nkeys, -1, -1);
	}
	else
		insert_part(job, 0, NULL, NULL, 0, -1, -1);
}

/*
 * Check a job like a CALL would, split it into parts, record it; it starts
 * when the caller's transaction commits.  Returns its id.
 */
static int64
submit_job(BulkTransitionArgs *args, const char *kind)
{
	BulkPlanInfo info;
	int64		job;

	require_preload("bulk_status.submit");
	if (args->workers < 1 || args->workers > BULK_MAX_SLOTS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("workers must be between 1 and %d", BULK_MAX_SLOTS)));
	check_owner_can_connect(kind);
	check_not_temporary(args->relid, "table", kind);
	check_not_temporary(args->source, "source relation", kind);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");

	/* Every check a CALL makes, with its errors. */
	bulk_transition_plan(args, &info);
	check_filter_privileges(args);

	job = insert_job(args, kind, &info);
	insert_parts(args, job, &info);
	bulk_job_prune();
	SPI_finish();

	sweep_after_commit();
	return job;
}

PG_FUNCTION_INFO_V1(bulk_status_submit);

Datum
bulk_status_submit(PG_FUNCTION_ARGS)
{
	BulkTransitionArgs args;

	bulk_read_options(fcinfo, &args);
	PG_RETURN_INT64(submit_job(&args, "transition"));
}

PG_FUNCTION_INFO_V1(bulk_status_submit_purge);

Datum
bulk_status_submit_purge(PG_FUNCTION_ARGS)
{
	BulkTransitionArgs args;

	bulk_read_options(fcinfo, &args);
	args.delete_rows = true;
	PG_RETURN_INT64(submit_job(&args, "purge"));
}

PG_FUNCTION_INFO_V1(bulk_status_submit_stamp);

Datum
bulk_status_submit_stamp(PG_FUNCTION_ARGS)
{
	BulkTransitionArgs args;

	bulk_read_options(fcinfo, &args);
	args.any_from = true;
	PG_RETURN_INT64(submit_job(&args, "stamp"));
}

/*
 * Look up a job for control, locking its row as bulk_job_lock() does
 * (before any part's row): its owner and state.  A job
 * the caller may neither see nor control does not exist for it; one it may
 * see but not control is an error.
 */
static void
lock_job(int64 job, const char *action, Oid *owner, char **state)
{
	Oid			argtypes[1] = {INT8OID};
	Datum		values[1] = {Int64GetDatum(job)};
	bool		isnull;

	if (bulk_state_execute("job_state",
				 "SELECT owner::oid, state FROM bulk_status.job_state WHERE id = $1"
				 " FOR NO KEY UPDATE",
				 1, argtypes, values, NULL, SPI_OK_SELECT) == 0 ||
		(*owner = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0],
												 SPI_tuptable->tupdesc, 1, &isnull)),
		 !may_see(*owner) && !may_control(*owner)))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("job " INT64_FORMAT " does not exist", job)));
	*state = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);
	if (!may_control(*owner))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to %s job " INT64_FORMAT, action, job),
				 errdetail("Only roles with the privileges of the job's owner, and members of pg_signal_backend (for jobs of roles that are not superusers), may %s it.",
						   action)));
}

/*
 * Tell the live workers of a job to cancel or pause.  A cancel also
 * interrupts what a worker is doing (a batch waiting for a lock, say):
 * the batch rolls back, nothing of it stays.
 */
static void
signal_workers(int64 job, bool cancel, bool pause)
{
	int			i;

	LWLockAcquire(bulk_shared->lock, LW_EXCLUSIVE);
	for (i = 0; i < BULK_MAX_SLOTS; i++)
	{
		BulkJobSlot *slot = &bulk_shared->slots[i];

		if (!slot->in_use || slot->dboid != MyDatabaseId || slot->job != job)
			continue;
		slot->cancel_requested = cancel;
		slot->pause_requested = pause;
		if (slot->latch)
			SetLatch(slot->latch);
		if (cancel && slot->pid != 0)
			(void) kill(slot->pid, SIGINT);
	}
	LWLockRelease(bulk_shared->lock);
}

/*
 * Set the job's request, and move its parts in state from1 (or from2) to
 * state to; then settle the job's state.
 */
static void
set_job(int64 job, const char *requested, const char *from1, const char *from2,
		const char *to)
{
	char	   *from[2] = {(char *) from1, (char *) (from2 ? from2 : from1)};
	Oid			argtypes[4] = {INT8OID, TEXTOID, TEXTARRAYOID, TEXTOID};
	Datum		values[4];
	char		nulls[4] = {' ', ' ', ' ', ' '};

	values[0] = Int64GetDatum(job);
	values[1] = requested ? CStringGetTextDatum(requested) : (Datum) 0;
	nulls[1] = requested ? ' ' : 'n';
	values[2] = bulk_text_array(from, 2);
	values[3] = CStringGetTextDatum(to);
	(void) bulk_state_execute("job_state",
					"UPDATE bulk_status.job_state SET requested = $2 WHERE id = $1",
					2, argtypes, values, nulls, SPI_OK_UPDATE);
	(void) bulk_state_execute("job_part_state",
					"UPDATE bulk_status.job_part_state SET state = $4,"
					" finished = CASE WHEN $4 = 'cancelled' THEN clock_timestamp() END"
					" WHERE job = $1 AND state = ANY ($3)",
					4, argtypes, values, nulls, SPI_OK_UPDATE);
	bulk_job_finalize(job);
}

/*
 * What cancel, pause and resume do: which jobs they act on, the job's
 * request afterwards, the new state of its parts that have no worker, and
 * what its live workers are told.
 */
typedef struct JobControl
{
	const char *action;			/* the verb, and the function's name */
	bool		on_paused;		/* acts on a paused job (all act on queued
								 * and running ones) */
	const char *requested;		/* the job's request afterwards, or NULL */
	const char *parts_from;		/* parts in this state ... */
	const char *parts_from_too; /* (or this one, or NULL) ... */
	const char *parts_to;		/* ... go to this one */
	bool		cancel;			/* the live workers cancel */
	bool		pause;			/* the live workers pause */
	bool		sweep;			/* start queued parts after commit */
} JobControl;

/*
 * cancel: a queued or paused job ends at once; a running one at once too,
 * its batch in flight rolled back (or already committed).
 */
static const JobControl cancel_control = {
	"cancel", true, "cancel", "queued", "paused", "cancelled", true, false, false
};

/*
 * pause: a running job stops after the batch in flight commits, and gives
 * its workers back; a queued one is not started.
 */
static const JobControl pause_control = {
	"pause", false, "pause", "queued", NULL, "paused", false, true, false
};

/*
 * resume: a paused job is queued again and continues from its parts'
 * positions once the transaction commits; a pause not yet taken is undone.
 */
static const JobControl resume_control = {
	"resume", true, NULL, "paused", NULL, "queued", false, false, true
};

static Datum
control_job(FunctionCallInfo fcinfo, const JobControl *c)
{
	int64		job = PG_GETARG_INT64(0);
	Oid			owner;
	char	   *state;

	require_preload(psprintf("bulk_status.%s", c->action));
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	lock_job(job, c->action, &owner, &state);
	if (strcmp(state, "queued") != 0 && strcmp(state, "running") != 0 &&
		!(c->on_paused && strcmp(state, "paused") == 0))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("cannot %s job " INT64_FORMAT " because it is %s",
						c->action, job, state)));
	/* parts without a worker change now; a worker ends its own part */
	set_job(job, c->requested, c->parts_from, c->parts_from_too, c->parts_to);
	SPI_finish();
	signal_workers(job, c->cancel, c->pause);
	if (c->sweep)
		sweep_after_commit();
	PG_RETURN_VOID();
}

PG_FUNCTION_INFO_V1(bulk_status_job_cancel);

Datum
bulk_status_job_cancel(PG_FUNCTION_ARGS)
{
	return control_job(fcinfo, &cancel_control);
}

PG_FUNCTION_INFO_V1(bulk_status_job_pause);

Datum
bulk_status_job_pause(PG_FUNCTION_ARGS)
{
	return control_job(fcinfo, &pause_control);
}

PG_FUNCTION_INFO_V1(bulk_status_job_resume);

Datum
bulk_status_job_resume(PG_FUNCTION_ARGS)
{
	return control_job(fcinfo, &resume_control);
}

PG_FUNCTION_INFO_V1(bulk_status_job_wait);

/*
 * bulk_status.wait(job, timeout): poll the job's state until it is done,
 * failed, cancelled or paused, or the timeout passed; return the state.
 * Each poll reads with a new snapshot, so this needs READ COMMITTED.
 */
Datum
bulk_status_job_wait(PG_FUNCTION_ARGS)
{
	int64		job;
	int64		timeout_ms = -1;
	TimestampTz start = GetCurrentTimestamp();
	Oid			argtypes[1] = {INT8OID};
	Datum		values[1];
	char	   *state = NULL;

	bulk_require_arg(PG_ARGISNULL(0), "job");
	job = PG_GETARG_INT64(0);
	values[0] = Int64GetDatum(job);
	if (!PG_ARGISNULL(1))
	{
		timeout_ms = (int64) bulk_interval_ms(PG_GETARG_INTERVAL_P(1));
		if (timeout_ms < 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("timeout must not be negative")));
	}
	if (IsolationUsesXactSnapshot())
		ereport(ERROR,
				(errcode(ERRCODE_ACTIVE_SQL_TRANSACTION),
				 errmsg("bulk_status.wait needs READ COMMITTED"),
				 errdetail("Under a transaction snapshot the job's state would never change.")));

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	for (;;)
	{
		bool		isnull;
		TransactionId xmin;

		if (bulk_state_execute("job_state",
					 "SELECT owner::oid, state, xmin FROM bulk_status.job_state WHERE id = $1",
					 1, argtypes, values, NULL, SPI_OK_SELECT) == 0 ||
			!may_see(DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0],
													SPI_tuptable->tupdesc, 1, &isnull))))
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_OBJECT),
					 errmsg("job " INT64_FORMAT " does not exist", job)));
		state = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);
		xmin = DatumGetTransactionId(SPI_getbinval(SPI_tuptable->vals[0],
												   SPI_tuptable->tupdesc, 3, &isnull));
		if (strcmp(state, "queued") != 0 && strcmp(state, "running") != 0)
			break;
		if (TransactionIdIsCurrentTransactionId(xmin))
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("job " INT64_FORMAT " cannot start before this transaction commits", job),
					 errhint("Commit first, then wait.")));
		if (timeout_ms >= 0 &&
			TimestampDifferenceExceeds(start, GetCurrentTimestamp(), (int) Min(timeout_ms, INT_MAX)))
			break;
		SPI_freetuptable(SPI_tuptable);
		bulk_sleep(100, NULL);
	}
	state = pstrdup(state);
	SPI_finish();
	PG_RETURN_TEXT_P(cstring_to_text(state));
}

PG_FUNCTION_INFO_V1(bulk_status_job_live);

/*
 * bulk_status._job_live(): the live figures of the running parts of this
 * database's jobs that the caller may see.
 */
Datum
bulk_status_job_live(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	BulkJobSlot copy[BULK_MAX_SLOTS];
	int			n = 0;
	int			i;

	InitMaterializedSRF(fcinfo, 0);
	if (bulk_shared == NULL)
		return (Datum) 0;

	LWLockAcquire(bulk_shared->lock, LW_SHARED);
	for (i = 0; i < BULK_MAX_SLOTS; i++)
		if (bulk_shared->slots[i].in_use && bulk_shared->slots[i].dboid == MyDatabaseId)
			copy[n++] = bulk_shared->slots[i];
	LWLockRelease(bulk_shared->lock);

	for (i = 0; i < n; i++)
	{
		Datum		values[11];
		bool		nulls[11] = {false};

		if (!may_see(copy[i].owner))
			continue;
		values[0] = Int64GetDatum(copy[i].job);
		values[1] = Int32GetDatum(copy[i].part);
		values[2] = Int32GetDatum(copy[i].pid);
		nulls[2] = copy[i].pid == 0;
		copy[i].phase[sizeof(copy[i].phase) - 1] = '\0';
		values[3] = CStringGetTextDatum(copy[i].pid == 0 ? "starting" :
										copy[i].phase[0] ? copy[i].phase : "running");
		values[4] = Int64GetDatum(copy[i].rows_done);
		values[5] = Int64GetDatum(copy[i].batches);
		values[6] = Int32GetDatum(copy[i].batch_size);
		values[7] = Float8GetDatum(copy[i].rows_per_sec);
		values[8] = Int64GetDatum(copy[i].engine_peak);
		values[9] = Int32GetDatum(copy[i].vacuum_passes);
		values[10] = Float8GetDatum(copy[i].vacuum_ms);
		/* before 0.3.0 the function declares the first 9 columns only */
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/*-------------------------------------------------------------------------
 *
 * vacuum.c
 *	  Vacuum passes behind a run, so that a long transition leaves the table
 *	  about the size it was.
 *
 * Why: every changed row leaves a dead version behind (a status is indexed,
 * so no update is HOT), and a key-ordered walk never comes back to prune
 * the pages it passed.  Autovacuum cannot help a CALL at all (PostgreSQL
 * reports a session's table statistics only between client statements, so
 * it never learns of the dead rows while the CALL runs), and helps a job
 * only as fast as its thresholds allow (20% of the table by default).  So
 * the new versions go to new pages at the end, and the table doubles.
 *
 * What: when the rows a run has left dead on its current target since the
 * last pass reach vacuum_threshold (by default 2% of the target's rows, at
 * least 10,000; 0: never), the run starts a "bulk_status vacuum" background
 * worker that connects to the database as the run's role (the caller of
 * CALL, a job's owner) and runs VACUUM (SKIP_LOCKED) of the relation being
 * walked (a leaf, for a partitioned table walked leaf by leaf), then ends.
 * The run goes on meanwhile; its next batches fill the space the pass
 * frees.  One pass at a time per run; SKIP_LOCKED skips the relation when
 * another vacuum (autovacuum, or the pass of another part of the same
 * job) works on it, so no two passes vacuum one relation at once.
 *
 * The same for CALL and jobs, and it needs no shared_preload_libraries:
 * only a free background worker slot (max_worker_processes).  No pass
 * holds a lock or snapshot of the run: the helper is a session of its own.
 *
 * Who may: the role must be allowed to VACUUM the relation (its owner, the
 * database's owner, a superuser, or from PostgreSQL 17 on a holder of
 * MAINTAIN) and, before 17, to log in (the helper connects as it).  If it
 * may not, the run says why once, when a pass would have started (a NOTICE,
 * and a job part's vacuum_note), and leaves the table to autovacuum.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_authid.h"
#include "commands/vacuum.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "parser/parse_node.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "storage/ipc.h"
#include "tcop/tcopprot.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

#include "compat.h"
#include "engine.h"

/* vacuum_threshold's auto value: this share of the target's rows ... */
#define AUTO_VACUUM_SHARE	0.02
/* ... but at least this many rows. */
#define AUTO_VACUUM_MIN		10000

/* What a vacuum helper is asked to do (in bgw_extra). */
typedef struct VacuumRequest
{
	Oid			dboid;
	Oid			role;
	Oid			relid;
} VacuumRequest;

/*
 * Why role may not have a helper vacuum relid for it, or NULL if it may:
 * VACUUM's own rule, and before PostgreSQL 17 the LOGIN the helper's
 * connection needs.
 */
static const char *
why_not_vacuum(Oid relid, Oid role)
{
	HeapTuple	tup;
	bool		canlogin;

	tup = SearchSysCache1(AUTHOID, ObjectIdGetDatum(role));
	if (!HeapTupleIsValid(tup))
		return "the role does not exist";
	canlogin = ((Form_pg_authid) GETSTRUCT(tup))->rolcanlogin;
	ReleaseSysCache(tup);
	if (!canlogin && !BULK_NOLOGIN_OWNERS)
		return "the role cannot log in, and before PostgreSQL 17 a helper connects only as a LOGIN role";
	if (!bulk_may_vacuum(relid, role))
		return BULK_VACUUM_RIGHTS_HINT;
	return NULL;
}

/* Set up a run's vacuum passes from its vacuum_threshold option. */
void
bulk_vacuum_init(BulkEngine *e)
{
	memset(&e->vacuum, 0, sizeof(BulkVacuum));
	e->vacuum.role = GetUserId();
}

/*
 * The dead rows that start a pass on the current target: the option, or
 * for auto a share of the target's rows; 0 for none.  Called once the
 * target is set up.
 */
void
bulk_vacuum_target(BulkEngine *e, Relation rel)
{
	BulkVacuum *v = &e->vacuum;
	int64		threshold = e->args->vacuum_threshold;

	v->dead = 0;
	v->relid = RelationGetRelid(rel);
	v->relname = e->relname;
	if (threshold < 0)
		threshold = (int64) Max(AUTO_VACUUM_SHARE * Max(rel->rd_rel->reltuples, 0),
								AUTO_VACUUM_MIN);
	v->threshold = threshold;
	v->why_not = threshold > 0 ? why_not_vacuum(v->relid, v->role) : NULL;
}

/*
 * Whether the pass in flight (if any) has ended; adds up its time when it
 * has.
 */
static bool
pass_ended(BulkVacuum *v)
{
	pid_t		pid;
	instr_time	now;

	if (v->handle == NULL)
		return true;
	switch (GetBackgroundWorkerPid(v->handle, &pid))
	{
		case BGWH_STARTED:
		case BGWH_NOT_YET_STARTED:
			return false;
		default:
			break;
	}
	INSTR_TIME_SET_CURRENT(now);
	INSTR_TIME_SUBTRACT(now, v->started);
	v->ms += INSTR_TIME_GET_MILLISEC(now);
	pfree(v->handle);
	v->handle = NULL;
	return true;
}

/* Start a vacuum helper for the current target; false if none could start. */
static bool
start_pass(BulkEngine *e)
{
	BulkVacuum *v = &e->vacuum;
	BackgroundWorker worker;
	VacuumRequest req;
	MemoryContext old;

	bulk_worker_init(&worker, "bulk_vacuum_main", "bulk_status vacuum",
					 "bulk_status vacuum");
	req.dboid = MyDatabaseId;
	req.role = v->role;
	req.relid = v->relid;
	memcpy(worker.bgw_extra, &req, sizeof(req));
	old = MemoryContextSwitchTo(e->run_cxt);
	if (!RegisterDynamicBackgroundWorker(&worker, &v->handle))
	{
		v->handle = NULL;
		MemoryContextSwitchTo(old);
		if (!v->no_slot_told)
			ereport(NOTICE,
					(errmsg("could not start a vacuum pass on %s: no background worker slot is free",
							e->relname),
					 errhint("Raise max_worker_processes.")));
		v->no_slot_told = true;
		return false;
	}
	MemoryContextSwitchTo(old);
	INSTR_TIME_SET_CURRENT(v->started);
	v->passes++;
	return true;
}

/*
 * After a batch committed that left "changed" rows dead: start a pass when
 * enough are dead since the last one and none is in flight.
 */
void
bulk_vacuum_after_batch(BulkEngine *e, int64 changed)
{
	BulkVacuum *v = &e->vacuum;

	v->dead += changed;
	if (!pass_ended(v) || v->threshold <= 0 || v->dead < v->threshold)
		return;
	if (v->why_not)
	{
		/* say once, when a pass would start, why none does */
		if (v->note == NULL)
		{
			v->note = MemoryContextStrdup(e->run_cxt,
										  psprintf("no vacuum passes on %s: %s; autovacuum alone cleans up behind the run",
												   v->relname, v->why_not));
			ereport(NOTICE, (errmsg("%s", v->note)));
		}
		return;
	}
	if (start_pass(e))
		v->dead = 0;
}

/*
 * The passes so far and their time (the one in flight counted to now), for
 * a job's figures.
 */
void
bulk_vacuum_figures(BulkEngine *e, int *passes, double *ms)
{
	BulkVacuum *v = &e->vacuum;

	*passes = v->passes;
	*ms = v->ms;
	if (v->handle && !pass_ended(v))
	{
		instr_time	now;

		INSTR_TIME_SET_CURRENT(now);
		INSTR_TIME_SUBTRACT(now, v->started);
		*ms += INSTR_TIME_GET_MILLISEC(now);
	}
}

/*
 * bulk_status vacuum: VACUUM (SKIP_LOCKED) of one relation as one role,
 * in the database of the run that started it; then exit.  A relation that
 * is gone meanwhile is nothing to do.
 */
void
bulk_vacuum_main(Datum arg)
{
	VacuumRequest req;
	VacuumStmt *stmt;
	char	   *relname;
	char	   *nspname;

	memcpy(&req, MyBgworkerEntry->bgw_extra, sizeof(req));
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnectionByOid(req.dboid, req.role,
											  BULK_CONNECT_AS_OWNER_FLAGS);
	pgstat_report_appname("bulk_status vacuum");

	StartTransactionCommand();
	relname = get_rel_name(req.relid);
	nspname = relname ? get_namespace_name(get_rel_namespace(req.relid)) : NULL;
	if (relname == NULL || nspname == NULL)
	{
		CommitTransactionCommand();
		proc_exit(0);
	}
	pgstat_report_activity(STATE_RUNNING,
						   psprintf("VACUUM (SKIP_LOCKED) %s",
									quote_qualified_identifier(nspname, relname)));

	stmt = makeNode(VacuumStmt);
	stmt->options = list_make1(makeDefElem("skip_locked", NULL, -1));
	stmt->rels = list_make1(makeVacuumRelation(makeRangeVar(nspname, relname, -1),
											   req.relid, NIL));
	stmt->is_vacuumcmd = true;
	PushActiveSnapshot(GetTransactionSnapshot());
	ExecVacuum(make_parsestate(NULL), stmt, true);
	if (ActiveSnapshotSet())
		PopActiveSnapshot();
	CommitTransactionCommand();
	pgstat_report_activity(STATE_IDLE, NULL);
	proc_exit(0);
}

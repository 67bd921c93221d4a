/*-------------------------------------------------------------------------
 *
 * compat.h
 *	  Every difference between the PostgreSQL majors bulk_status builds
 *	  against (15, 16, 17 and 18), and nowhere else.
 *
 * The rest of the code calls the names defined here and never tests
 * PG_VERSION_NUM itself.  Each entry says which major changed what.
 *
 *-------------------------------------------------------------------------
 */
#ifndef BULK_STATUS_COMPAT_H
#define BULK_STATUS_COMPAT_H

#include "postgres.h"

#include "catalog/pg_class.h"
#include "catalog/pg_database.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "utils/acl.h"

#if PG_VERSION_NUM < 150000
#error "bulk_status needs PostgreSQL 15 or later"
#endif

/*
 * 16 renamed the table statistics' count of rows changed since the last
 * ANALYZE (PgStat_StatTabEntry) and the pending counts of the session's
 * own changes (PgStat_TableStatus).
 */
#if PG_VERSION_NUM >= 160000
#define BULK_TAB_CHANGES_SINCE_ANALYZE(tab)	((tab)->mod_since_analyze)
#define BULK_PENDING_CHANGED_TUPLES(st)		((st)->counts.changed_tuples)
#else
#define BULK_TAB_CHANGES_SINCE_ANALYZE(tab)	((tab)->changes_since_analyze)
#define BULK_PENDING_CHANGED_TUPLES(st)		((st)->t_counts.t_changed_tuples)
#endif

/* Whether role owns relation relid (16 made the check generic). */
static inline bool
bulk_owns_relation(Oid relid, Oid role)
{
#if PG_VERSION_NUM >= 160000
	return object_ownercheck(RelationRelationId, relid, role);
#else
	return pg_class_ownercheck(relid, role);
#endif
}

/*
 * Whether role may VACUUM relation relid (a table of this database), by
 * VACUUM's own rule: the database's owner may; otherwise the table's owner
 * (superusers own everything) before PostgreSQL 17, and from 17 on any
 * holder of the MAINTAIN privilege (owners hold it unless revoked).
 */
#if PG_VERSION_NUM >= 170000
#define BULK_VACUUM_RIGHTS_HINT \
	"only the database's owner and roles with MAINTAIN on the table may vacuum it"
#else
#define BULK_VACUUM_RIGHTS_HINT \
	"only the table's owner, the database's owner and superusers may vacuum it"
#endif

static inline bool
bulk_may_vacuum(Oid relid, Oid role)
{
#if PG_VERSION_NUM >= 170000
	return object_ownercheck(DatabaseRelationId, MyDatabaseId, role) ||
		pg_class_aclcheck(relid, role, ACL_MAINTAIN) == ACLCHECK_OK;
#elif PG_VERSION_NUM >= 160000
	return object_ownercheck(DatabaseRelationId, MyDatabaseId, role) ||
		object_ownercheck(RelationRelationId, relid, role);
#else
	return pg_database_ownercheck(MyDatabaseId, role) ||
		pg_class_ownercheck(relid, role);
#endif
}

/*
 * Whether a background worker may connect as a role without LOGIN, and
 * the flag that lets it: 17 added BGWORKER_BYPASS_ROLELOGINCHECK.  Before,
 * a job's owner must be able to log in.
 */
#if PG_VERSION_NUM >= 170000
#define BULK_NOLOGIN_OWNERS			true
#define BULK_CONNECT_AS_OWNER_FLAGS	BGWORKER_BYPASS_ROLELOGINCHECK
#else
#define BULK_NOLOGIN_OWNERS			false
#define BULK_CONNECT_AS_OWNER_FLAGS	0
#endif

/*
 * The module's magic block: 18 lets it carry the module's name and
 * version (shown by pg_get_loaded_modules()).  BULK_STATUS_VERSION comes
 * from the Makefile, which reads it from bulk_status.control.
 */
#if PG_VERSION_NUM >= 180000
#define BULK_MODULE_MAGIC \
	PG_MODULE_MAGIC_EXT(.name = "bulk_status", .version = BULK_STATUS_VERSION)
#else
#define BULK_MODULE_MAGIC	PG_MODULE_MAGIC
#endif

#endif							/* BULK_STATUS_COMPAT_H */

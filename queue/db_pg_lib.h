/*
 * libpq, loaded when a PostgreSQL target is first opened (dlopen of libpq.so.5), not linked:
 * a jobq on SQLite maps none of libpq's twenty libraries (OpenSSL, Kerberos, LDAP...) into each
 * of its processes, and runs where libpq is not installed. Include this instead of
 * <libpq-fe.h>: every PQ function used is a pointer of pq_lib, under its own name.
 */
#ifndef JOBQ_QUEUE_DB_PG_LIB_H
#define JOBQ_QUEUE_DB_PG_LIB_H

#include <stddef.h>

#include <libpq-fe.h>

#define PQ_FUNCTIONS(X)                                                                            \
	X(PQbackendPID)                                                                            \
	X(PQclear)                                                                                 \
	X(PQcmdStatus)                                                                             \
	X(PQcmdTuples)                                                                             \
	X(PQconnectPoll)                                                                           \
	X(PQconnectStartParams)                                                                    \
	X(PQconnectionNeedsPassword)                                                               \
	X(PQconninfo)                                                                              \
	X(PQconninfoFree)                                                                          \
	X(PQconninfoParse)                                                                         \
	X(PQconsumeInput)                                                                          \
	X(PQerrorMessage)                                                                          \
	X(PQexec)                                                                                  \
	X(PQexecPrepared)                                                                          \
	X(PQfinish)                                                                                \
	X(PQfreemem)                                                                               \
	X(PQgetisnull)                                                                             \
	X(PQgetlength)                                                                             \
	X(PQgetvalue)                                                                              \
	X(PQnfields)                                                                               \
	X(PQnotifies)                                                                              \
	X(PQntuples)                                                                               \
	X(PQprepare)                                                                               \
	X(PQresetPoll)                                                                             \
	X(PQresetStart)                                                                            \
	X(PQresultErrorField)                                                                      \
	X(PQresultErrorMessage)                                                                    \
	X(PQresultStatus)                                                                          \
	X(PQsetErrorVerbosity)                                                                     \
	X(PQsetNoticeProcessor)                                                                    \
	X(PQsocket)                                                                                \
	X(PQstatus)                                                                                \
	X(PQtransactionStatus)

#define PQ_POINTER(name) __typeof__(name) *name;
struct pq_lib {
	PQ_FUNCTIONS(PQ_POINTER)
};
#undef PQ_POINTER
extern struct pq_lib pq_lib;

/* Load libpq once, whichever thread asks first (later calls return the first outcome).
 * Returns 0, or -ENOTSUP with the reason (dlerror's) in why. */
int pq_load(char *why, size_t len);

/* From here on, a call of PQexec(...) is one through pq_lib (but in db_pg_lib.c, which fills
 * pq_lib by these names). */
#ifndef DB_PG_LIB_FILL
#define PQbackendPID (pq_lib.PQbackendPID)
#define PQclear (pq_lib.PQclear)
#define PQcmdStatus (pq_lib.PQcmdStatus)
#define PQcmdTuples (pq_lib.PQcmdTuples)
#define PQconnectPoll (pq_lib.PQconnectPoll)
#define PQconnectStartParams (pq_lib.PQconnectStartParams)
#define PQconnectionNeedsPassword (pq_lib.PQconnectionNeedsPassword)
#define PQconninfo (pq_lib.PQconninfo)
#define PQconninfoFree (pq_lib.PQconninfoFree)
#define PQconninfoParse (pq_lib.PQconninfoParse)
#define PQconsumeInput (pq_lib.PQconsumeInput)
#define PQerrorMessage (pq_lib.PQerrorMessage)
#define PQexec (pq_lib.PQexec)
#define PQexecPrepared (pq_lib.PQexecPrepared)
#define PQfinish (pq_lib.PQfinish)
#define PQfreemem (pq_lib.PQfreemem)
#define PQgetisnull (pq_lib.PQgetisnull)
#define PQgetlength (pq_lib.PQgetlength)
#define PQgetvalue (pq_lib.PQgetvalue)
#define PQnfields (pq_lib.PQnfields)
#define PQnotifies (pq_lib.PQnotifies)
#define PQntuples (pq_lib.PQntuples)
#define PQprepare (pq_lib.PQprepare)
#define PQresetPoll (pq_lib.PQresetPoll)
#define PQresetStart (pq_lib.PQresetStart)
#define PQresultErrorField (pq_lib.PQresultErrorField)
#define PQresultErrorMessage (pq_lib.PQresultErrorMessage)
#define PQresultStatus (pq_lib.PQresultStatus)
#define PQsetErrorVerbosity (pq_lib.PQsetErrorVerbosity)
#define PQsetNoticeProcessor (pq_lib.PQsetNoticeProcessor)
#define PQsocket (pq_lib.PQsocket)
#define PQstatus (pq_lib.PQstatus)
#define PQtransactionStatus (pq_lib.PQtransactionStatus)
#endif

#endif

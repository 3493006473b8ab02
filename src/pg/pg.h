/*
 * pg.h: the seam between vecdb's C++ and PostgreSQL.
 *
 * Every source file that talks to PostgreSQL includes this header instead of
 * PostgreSQL's own, and follows three rules (design.md, "C++ inside a
 * PostgreSQL backend"):
 *
 *  1. ereport(ERROR) longjmps, so it must never unwind a C++ frame that owns
 *     an object with a destructor. Code that calls PostgreSQL keeps to plain
 *     data and palloc'd memory; RAII lives in src/core, behind calls that
 *     cannot ereport.
 *  2. No C++ exception may reach PostgreSQL. An entry point that calls code
 *     which can throw (anything allocating with new, Eigen, the STL) wraps
 *     that call in vecdb::pg::guarded(), which turns the exception into an
 *     ERROR after the C++ frames are gone.
 *  3. Long loops call CHECK_FOR_INTERRUPTS() so that a cancel stops them.
 */
#pragma once

extern "C" {
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"
#include "utils/builtins.h"
}

#include <cstddef>
#include <exception>
#include <new>
#include <utility>

/*
 * Declare and define a V1 SQL-callable function with C linkage:
 *     VECDB_FUNCTION(vector_dims) { ... return Int32GetDatum(...); }
 */
#define VECDB_FUNCTION(name)                                                                       \
	extern "C" {                                                                                   \
	PG_FUNCTION_INFO_V1(name);                                                                     \
	}                                                                                              \
	extern "C" Datum name(PG_FUNCTION_ARGS)

namespace vecdb::pg {

/*
 * Run f(), which may throw, and turn any exception into an ERROR. The
 * exception's message is copied out and the ereport happens after every C++
 * frame of f (and the exception object itself) is gone, so the longjmp
 * crosses none of them.
 */
template <typename F>
auto
guarded(F &&f) -> decltype(f())
{
	char message[256];
	int sqlstate;
	try
	{
		return f();
	}
	catch (const std::bad_alloc &)
	{
		sqlstate = ERRCODE_OUT_OF_MEMORY;
		strlcpy(message, "out of memory", sizeof(message));
	}
	catch (const std::exception &e)
	{
		sqlstate = ERRCODE_INTERNAL_ERROR;
		strlcpy(message, e.what(), sizeof(message));
	}
	catch (...)
	{
		sqlstate = ERRCODE_INTERNAL_ERROR;
		strlcpy(message, "unknown C++ exception", sizeof(message));
	}
	ereport(ERROR, (errcode(sqlstate), errmsg("vecdb: %s", message)));
	pg_unreachable();
}

/*
 * A T built in the current memory context and destroyed with it, on ERROR
 * too: for C++ objects (containers) that live across PostgreSQL calls, such
 * as an index scan's state. T's destructor runs inside a memory context
 * reset, so it must only free memory.
 */
template <typename T, typename... Args>
T *
make_owned(Args &&...args)
{
	struct Owned
	{
		MemoryContextCallback callback;
		T object;
		explicit Owned(Args &&...a) : callback(), object(std::forward<Args>(a)...) {}
	};
	void *memory = palloc(sizeof(Owned));
	Owned *owned = guarded([&] { return new (memory) Owned(std::forward<Args>(args)...); });
	owned->callback.func = [](void *arg) { static_cast<Owned *>(arg)->~Owned(); };
	owned->callback.arg = owned;
	MemoryContextRegisterResetCallback(CurrentMemoryContext, &owned->callback);
	return &owned->object;
}

} // namespace vecdb::pg

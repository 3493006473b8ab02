/*
 * page_write.h: one atomic change to index pages, WAL-logged by generic
 * WAL, or written in place while the index is being built.
 *
 * An index build that writes its pages through the ordinary insert path
 * (hnsw's, once the graph outgrows maintenance_work_mem) need not log each
 * change: nothing reads the index before CREATE INDEX commits, a crash
 * before then discards it, and the build logs every page once at its end
 * (log_newpage_range), as GiST's build does. Generic WAL would copy and
 * diff a whole page per change, a sixth of such a build's time.
 */
#pragma once

#include "pg/pg.h"

extern "C" {
#include "access/generic_xlog.h"
#include "storage/bufmgr.h"
#include "utils/rel.h"
}

namespace vecdb::index {

/* The index this backend is building without WAL (see above), or
 * InvalidOid; set only by UnloggedBuild. */
extern Oid unlogged_build;

/*
 * While one is in scope, changes to index go unlogged; its owner must log
 * every page before the build ends. Reset on ERROR too: the owner resets it
 * in PG_FINALLY (an ERROR skips destructors).
 */
inline void
begin_unlogged_build(Relation index)
{
	unlogged_build = RelationGetRelid(index);
}

inline void
end_unlogged_build()
{
	unlogged_build = InvalidOid;
}

class PageWrite
{
public:
	explicit PageWrite(Relation index)
		: logged_(RelationGetRelid(index) != unlogged_build),
		  state_(logged_ ? GenericXLogStart(index) : nullptr)
	{
	}

	/* The page of buf (locked exclusively by the caller) to change. */
	Page add(Buffer buf, bool full_image = false)
	{
		if (logged_)
			return GenericXLogRegisterBuffer(state_, buf, full_image ? GENERIC_XLOG_FULL_IMAGE : 0);
		Assert(count_ < lengthof(buffers_));
		buffers_[count_++] = buf;
		return BufferGetPage(buf);
	}

	void finish()
	{
		if (logged_)
			GenericXLogFinish(state_);
		else
			for (int i = 0; i < count_; i++)
				MarkBufferDirty(buffers_[i]);
	}

	/* Give up the change. Unlogged, the pages were changed in place: abort
	 * only before changing anything. */
	void abort()
	{
		if (logged_)
			GenericXLogAbort(state_);
	}

	bool logged() const { return logged_; }
	/* For a record that must carry more (tier::finish_write); logged only. */
	GenericXLogState *state() const { return state_; }

private:
	bool logged_;
	GenericXLogState *state_;
	Buffer buffers_[MAX_GENERIC_XLOG_PAGES];
	int count_ = 0;
};

} // namespace vecdb::index

/*
 * check.cpp: vecdb_index_check() of an ivfpq index.
 *
 * Reads every page as if it were hostile: the meta page against the column
 * and operator class, the model pages (whole runs of finite floats), the
 * directory, and every list's chain (sound list pages, each in one list
 * only, ending at the directory's tail, holding whole entries with sane heap
 * TIDs), then that every row the heap shows this transaction is indexed.
 * Each problem is one row of the result; none means the index is sound.
 */
#include "ivfpq/ivfpq.h"

#include <cmath>

namespace vecdb::ivfpq {

namespace {

using pg::report;
using Report = pg::CheckReport;

/* The meta page, checked; false if nothing further can be trusted. */
bool
check_meta(Relation index, Report &r, MetaPage *out, Shape *shape)
{
	BlockNumber nblocks = RelationGetNumberOfBlocks(index);
	if (nblocks == 0)
	{
		report(r, meta_blkno, InvalidOffsetNumber, "index has no meta page");
		return false;
	}
	Buffer buf = ReadBuffer(index, meta_blkno);
	LockBuffer(buf, BUFFER_LOCK_SHARE);
	Page page = BufferGetPage(buf);
	bool sound = page_is_sound(page, page_meta);
	MetaPage meta{};
	if (sound)
		meta = *meta_of(page);
	UnlockReleaseBuffer(buf);
	if (!sound || meta.magic != meta_magic)
	{
		report(r, meta_blkno, InvalidOffsetNumber, "meta page is damaged or not ivfpq's");
		return false;
	}
	bool flat = is_flat(index);
	if (((meta.flags & meta_flat) != 0) != flat)
	{
		report(r, meta_blkno, InvalidOffsetNumber, "meta page says %s, the index is %s",
			   (meta.flags & meta_flat) ? "ivfflat" : "ivfpq", flat ? "ivfflat" : "ivfpq");
		return false;
	}
	uint32 version = flat ? format_version_flat : format_version;
	if (meta.version != version)
	{
		report(r, meta_blkno, InvalidOffsetNumber, "meta page has format version %u, not %u",
			   meta.version, version);
		return false;
	}
	bool usable = true;
	Shape s{static_cast<int>(meta.dims), static_cast<int>(meta.lists), meta.m,
			static_cast<Metric>(meta.metric), (meta.flags & meta_trained) != 0};
	s.flat = flat;
	int32 typmod = TupleDescAttr(RelationGetDescr(index), 0)->atttypmod;
	if (static_cast<int32>(meta.dims) != typmod)
	{
		report(r, meta_blkno, InvalidOffsetNumber, "meta page has %u dimensions, the column %d",
			   meta.dims, typmod);
		usable = false;
	}
	if (meta.metric > static_cast<uint8>(Metric::l1) || index_metric(index) != s.metric)
	{
		report(r, meta_blkno, InvalidOffsetNumber,
			   "meta page's metric %u is not the operator class's", meta.metric);
		usable = false;
	}
	if (s.lists < 1 || s.lists > max_lists || (!s.trained && s.lists != 1))
	{
		report(r, meta_blkno, InvalidOffsetNumber, "meta page has %u lists", meta.lists);
		usable = false;
	}
	if ((s.flat && s.m != 0) ||
		(s.trained && !s.flat &&
		 (s.m < 1 || s.m > s.dims || s.dims % s.m != 0 || meta.nbits != code_bits)))
	{
		report(r, meta_blkno, InvalidOffsetNumber,
			   "meta page's m = %u, nbits = %u do not fit %u dimensions", meta.m, meta.nbits,
			   meta.dims);
		usable = false;
	}
	if (meta.directory_blkno == meta_blkno || meta.directory_blkno >= nblocks ||
		meta.directory_pages != (meta.lists + heads_per_page - 1) / heads_per_page ||
		meta.directory_blkno + meta.directory_pages > nblocks)
	{
		report(r, meta_blkno, InvalidOffsetNumber,
			   "meta page's directory (block %u, %u pages) is out of bounds", meta.directory_blkno,
			   meta.directory_pages);
		usable = false;
	}
	if (s.trained &&
		(meta.centroids_blkno == meta_blkno || meta.centroids_blkno >= nblocks ||
		 (!s.flat && (meta.codebooks_blkno == meta_blkno || meta.codebooks_blkno >= nblocks))))
	{
		report(r, meta_blkno, InvalidOffsetNumber, "meta page's model blocks are out of bounds");
		usable = false;
	}
	if (s.entry_size() > page_room)
	{
		report(r, meta_blkno, InvalidOffsetNumber, "meta page's entries of %zu bytes exceed a page",
			   s.entry_size());
		usable = false;
	}
	*out = meta;
	*shape = s;
	return usable;
}

/* A run of model pages holding count finite floats. */
void
check_floats(Relation index, BlockNumber start, Size count, const char *what, Report &r)
{
	BlockNumber nblocks = RelationGetNumberOfBlocks(index);
	BlockNumber blkno = start;
	for (Size done = 0; done < count; blkno++)
	{
		CHECK_FOR_INTERRUPTS();
		if (blkno >= nblocks)
		{
			report(r, blkno, InvalidOffsetNumber, "%s end before the index does", what);
			return;
		}
		Buffer buf = ReadBuffer(index, blkno);
		LockBuffer(buf, BUFFER_LOCK_SHARE);
		Page page = BufferGetPage(buf);
		Size n = 0;
		bool finite = true;
		if (page_is_sound(page, page_floats))
		{
			n = Min(static_cast<Size>(contents_end(page) - PageGetContents(page)) / sizeof(float),
					count - done);
			const auto *f = reinterpret_cast<const float *>(PageGetContents(page));
			for (Size i = 0; i < n; i++)
				finite = finite && std::isfinite(f[i]);
		}
		UnlockReleaseBuffer(buf);
		if (n == 0)
		{
			report(r, blkno, InvalidOffsetNumber, "%s page is damaged", what);
			return;
		}
		if (!finite)
			report(r, blkno, InvalidOffsetNumber, "%s page holds a value that is not finite", what);
		done += n;
	}
}

/* The first visit of key: VisitedHash may throw (bad_alloc), and its
 * caller here reads buffers, which may ERROR: only this call is guarded. */
bool
first_visit(core::VisitedHash &seen, uint64 key)
{
	return pg::guarded([&] { return seen.visit(key); });
}

/* Every list's chain, and the heap TIDs its entries hold into indexed. */
void
check_lists(Relation index, BlockNumber heap_blocks, const MetaPage &meta, const Shape &s,
			Report &r, core::VisitedHash &indexed)
{
	BlockNumber nblocks = RelationGetNumberOfBlocks(index);
	core::VisitedHash &pages_seen = *pg::make_owned<core::VisitedHash>();
	const Size size = s.entry_size();
	for (int list = 0; list < s.lists; list++)
	{
		BlockNumber dirblk = meta.directory_blkno + list / heads_per_page;
		Buffer buf = ReadBuffer(index, dirblk);
		LockBuffer(buf, BUFFER_LOCK_SHARE);
		Page page = BufferGetPage(buf);
		bool sound = page_is_sound(page, page_directory);
		ListHead head{InvalidBlockNumber, InvalidBlockNumber};
		if (sound)
			head = *list_head(page, list);
		UnlockReleaseBuffer(buf);
		if (!sound)
		{
			if (list % heads_per_page == 0)
				report(r, dirblk, InvalidOffsetNumber, "directory page is damaged");
			continue;
		}
		if ((head.head == InvalidBlockNumber) != (head.tail == InvalidBlockNumber))
		{
			report(r, dirblk, InvalidOffsetNumber, "list %d has a head or a tail, not both", list);
			continue;
		}
		BlockNumber blkno = head.head;
		BlockNumber last = InvalidBlockNumber;
		while (blkno != InvalidBlockNumber)
		{
			CHECK_FOR_INTERRUPTS();
			if (blkno >= nblocks || blkno <= meta_blkno)
			{
				report(r, last == InvalidBlockNumber ? dirblk : last, InvalidOffsetNumber,
					   "list %d links to block %u, out of bounds", list, blkno);
				break;
			}
			if (!first_visit(pages_seen, blkno))
			{
				report(r, blkno, InvalidOffsetNumber,
					   "list %d reaches a page already in a list (a cycle or a shared page)", list);
				break;
			}
			buf = ReadBuffer(index, blkno);
			LockBuffer(buf, BUFFER_LOCK_SHARE);
			page = BufferGetPage(buf);
			if (!page_is_sound(page, page_list))
			{
				UnlockReleaseBuffer(buf);
				report(r, blkno, InvalidOffsetNumber, "list %d has a damaged page", list);
				break;
			}
			Size bytes = contents_end(page) - entries_of(page);
			if (bytes % size != 0)
				report(r, blkno, InvalidOffsetNumber,
					   "list page holds %zu bytes, not whole entries of %zu", bytes, size);
			int n = static_cast<int>(bytes / size);
			for (int i = 0; i < n; i++)
			{
				const char *e = entries_of(page) + i * size;
				ItemPointerData tid;
				memcpy(&tid, e, sizeof(tid));
				OffsetNumber at = static_cast<OffsetNumber>(i + 1);
				if (!heaptid_is_sane(tid) || ItemPointerGetBlockNumber(&tid) >= heap_blocks)
					report(r, blkno, at, "entry has an invalid heap TID (%u,%u)",
						   ItemPointerGetBlockNumberNoCheck(&tid),
						   ItemPointerGetOffsetNumberNoCheck(&tid));
				else if (!first_visit(indexed, heaptid_key(tid)))
					report(r, blkno, at, "heap TID (%u,%u) is indexed twice",
						   ItemPointerGetBlockNumber(&tid), ItemPointerGetOffsetNumber(&tid));
				if (s.has_offset())
				{
					float offset;
					memcpy(&offset, e + s.offset_at(), sizeof(float));
					if (!std::isfinite(offset))
						report(r, blkno, at, "entry's distance offset is not finite");
				}
				if (s.flat)
				{
					const float *v = entry_vector(e);
					for (int d = 0; d < s.dims; d++)
						if (!std::isfinite(v[d]))
						{
							report(r, blkno, at, "entry's vector has a value that is not finite");
							break;
						}
				}
			}
			last = blkno;
			blkno = page_opaque(page)->next;
			UnlockReleaseBuffer(buf);
		}
		if (blkno == InvalidBlockNumber && last != head.tail)
			report(r, dirblk, InvalidOffsetNumber,
				   "list %d ends at block %u, the directory says %u", list, last, head.tail);
	}
}

} // namespace

void
check_index(Relation heap, Relation index, pg::CheckReport &r)
{
	MetaPage meta;
	Shape s;
	if (!check_meta(index, r, &meta, &s))
		return;
	if (s.trained)
	{
		check_floats(index, meta.centroids_blkno, static_cast<Size>(s.lists) * s.dims, "centroid",
					 r);
		if (!s.flat)
			check_floats(index, meta.codebooks_blkno,
						 static_cast<Size>(core::ProductQuantizer::ksub) * s.dims, "codebook", r);
	}
	core::VisitedHash *indexed = pg::make_owned<core::VisitedHash>();
	BlockNumber heap_blocks = RelationGetNumberOfBlocks(heap);
	/* no row moves from the tier to the lists while both are read */
	tier::Tier t = tier_of(index, s);
	tier::lock_merges(t);
	check_lists(index, heap_blocks, meta, s, r, *indexed);
	tier::check(t, r, *indexed);
	tier::unlock_merges(t);
	check_heap_rows(heap, index, s.metric, s.dims, *indexed, r);
}

} // namespace vecdb::ivfpq

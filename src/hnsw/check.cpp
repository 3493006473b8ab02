/*
 * check.cpp: vecdb_index_check(regclass), a self-check of an hnsw index.
 *
 * It reads every page as if it were hostile: page headers and the meta page,
 * every element's layout, every link (it must name an element whose level
 * reaches the link's, and not a freed one), reachability of every live
 * element from the entry point, and finally that every row the heap shows
 * this transaction is in the index. Each problem is one row of the result;
 * no row means the index is sound.
 */
#include "hnsw/hnsw.h"
#include "core/vector_format.h"
#include "pg/check_report.h"

extern "C" {
#include "access/genam.h"
#include "access/heapam.h"
#include "access/tableam.h"
#include "catalog/index.h"
#include "funcapi.h"
#include "utils/lsyscache.h"
#include "utils/snapmgr.h"
}

#include <cmath>
#include <deque>
#include <unordered_map>

namespace vecdb::hnsw {

namespace {

struct ElementInfo
{
	uint8 level;
	uint8 flags;
	uint8 heaptid_count;
};

struct Checking
{
	std::unordered_map<uint64, ElementInfo> elements;
	core::VisitedHash reached;
	core::VisitedHash indexed; /* heap TIDs */
	std::deque<uint64> queue;
	/* out of line: every element's first chunk, and the chunks read */
	std::vector<std::pair<uint64, ItemPointerData>> chains;
	core::VisitedHash chunks;
	std::vector<float> vector;
};

using Report = pg::CheckReport;
using pg::report;

/* Whether a vector's values are all numbers: its floats, or its halves;
 * a bit string's bits always are. */
bool
values_finite(const Shape &s, const float *slots)
{
	if (s.halves())
	{
		auto *halves = reinterpret_cast<const core::Half *>(slots);
		for (int i = 0; i < s.input_dims; i++)
			if (!std::isfinite(core::half_to_float(halves[i])))
				return false;
		return true;
	}
	for (int i = 0; s.slots_hold_floats() && i < s.dims; i++)
		if (!std::isfinite(slots[i]))
			return false;
	return true;
}

/* The meta page, checked; false if nothing further can be trusted. */
bool
check_meta(Relation index, Report &r, Shape *shape, Entry *entry)
{
	if (RelationGetNumberOfBlocks(index) == 0)
	{
		report(r, meta_blkno, InvalidOffsetNumber, "index has no meta page");
		return false;
	}
	Buffer buf = ReadBuffer(index, meta_blkno);
	LockBuffer(buf, BUFFER_LOCK_SHARE);
	Page page = BufferGetPage(buf);
	MetaPage meta;
	bool sound = page_is_sound(page, page_meta) && reinterpret_cast<PageHeader>(page)->pd_lower >=
													   SizeOfPageHeaderData + sizeof(MetaPage);
	if (sound)
		memcpy(&meta, meta_of(page), sizeof(meta));
	UnlockReleaseBuffer(buf);
	if (!sound)
	{
		report(r, meta_blkno, InvalidOffsetNumber, "meta page has a damaged header");
		return false;
	}
	if (meta.magic != meta_magic ||
		(meta.version != format_version && meta.version != format_version_quantized))
	{
		report(r, meta_blkno, InvalidOffsetNumber,
			   "meta page has magic %08x version %u, expected %08x version %u or %u", meta.magic,
			   meta.version, meta_magic, format_version, format_version_quantized);
		return false;
	}
	auto quantization = static_cast<Quantization>(meta.quantization);
	if ((meta.version == format_version) != (quantization == Quantization::none) ||
		(quantization != Quantization::none && quantization != Quantization::sq8 &&
		 quantization != Quantization::half))
	{
		report(r, meta_blkno, InvalidOffsetNumber, "meta page has quantization %u in version %u",
			   meta.quantization, meta.version);
		return false;
	}
	if (meta.dims < 1 || meta.m < min_m || meta.m > max_m ||
		meta.metric > static_cast<uint8>(core::last_metric) || meta.entry_level < -1 ||
		meta.entry_level > max_level ||
		core::stored_floats(static_cast<Metric>(meta.metric), meta.dims) > core::max_vector_dims)
	{
		report(r, meta_blkno, InvalidOffsetNumber, "meta page has impossible parameters");
		return false;
	}
	*shape = shape_of_meta(meta.dims, meta.m, meta.ef_construction,
						   static_cast<Metric>(meta.metric), quantization);
	set_layout(*shape);
	if (MAXALIGN(element_size(*shape, 0)) > max_element_size)
	{
		report(r, meta_blkno, InvalidOffsetNumber, "meta page has impossible parameters");
		return false;
	}
	bool usable = true;
	if (meta.ef_construction < 2 * meta.m || meta.ef_construction > max_ef_construction)
		report(r, meta_blkno, InvalidOffsetNumber, "meta page has ef_construction %u with m %u",
			   meta.ef_construction, meta.m);
	int32 typmod = TupleDescAttr(RelationGetDescr(index), 0)->atttypmod;
	if (typmod > 0 && static_cast<uint32>(typmod) != meta.dims)
	{
		report(r, meta_blkno, InvalidOffsetNumber, "meta page has %u dimensions, the column %d",
			   meta.dims, typmod);
		usable = false;
	}
	if (index_metric(index) != shape->metric)
	{
		report(r, meta_blkno, InvalidOffsetNumber,
			   "meta page's metric %u is not the operator class's", meta.metric);
		usable = false;
	}
	BlockNumber nblocks = RelationGetNumberOfBlocks(index);
	if (meta.insert_blkno != InvalidBlockNumber &&
		(meta.insert_blkno == meta_blkno || meta.insert_blkno >= nblocks))
		report(r, meta_blkno, InvalidOffsetNumber,
			   "meta page's insert page %u is not an element page", meta.insert_blkno);
	*entry = Entry{meta.entry_level, ref_of(meta.entry_blkno, meta.entry_offno), meta.insert_blkno,
				   meta.merging_blkno == InvalidBlockNumber
					   ? 0
					   : ref_of(meta.merging_blkno, meta.merging_offno)};
	return usable;
}

/* Every page and element, read once; links are checked in the walk. */
void
check_pages(Relation index, BlockNumber heap_blocks, const Shape &s, Report &r, Checking &c)
{
	BlockNumber nblocks = RelationGetNumberOfBlocks(index);
	for (BlockNumber blkno = meta_blkno + 1; blkno < nblocks; blkno++)
	{
		CHECK_FOR_INTERRUPTS();
		Buffer buf = ReadBuffer(index, blkno);
		LockBuffer(buf, BUFFER_LOCK_SHARE);
		Page page = BufferGetPage(buf);
		if (PageIsNew(page))
		{
			/* an extension a crash cut short: unused, harmless */
			UnlockReleaseBuffer(buf);
			continue;
		}
		if (page_is_sound(page, index::page_tier))
		{
			/* the hot tier's: tier::check reads them along their chain */
			UnlockReleaseBuffer(buf);
			continue;
		}
		if (s.external && page_is_sound(page, page_vectors))
		{
			/* read along each element's chain (check_chains) */
			UnlockReleaseBuffer(buf);
			continue;
		}
		if (!page_is_sound(page, page_elements))
		{
			UnlockReleaseBuffer(buf);
			report(r, blkno, InvalidOffsetNumber, "page has a damaged header");
			continue;
		}
		OffsetNumber maxoff = PageGetMaxOffsetNumber(page);
		for (OffsetNumber off = FirstOffsetNumber; off <= maxoff; off++)
		{
			ElementTuple *e = element_at(page, off, s);
			if (e == nullptr)
			{
				report(r, blkno, off, "element is damaged");
				continue;
			}
			c.elements[ref_of(blkno, off)] = ElementInfo{e->level, e->flags, e->heaptid_count};
			if (e->flags & ~(element_deleted | element_free))
				report(r, blkno, off, "element has unknown flags %02x", e->flags);
			if ((e->flags & (element_deleted | element_free)) && e->heaptid_count > 0)
				report(r, blkno, off, "deleted element still holds %d heap rows", e->heaptid_count);
			for (int i = 0; i < e->heaptid_count; i++)
			{
				const ItemPointerData &tid = e->heaptids[i];
				if (!ItemPointerIsValid(&tid) ||
					ItemPointerGetBlockNumberNoCheck(&tid) >= heap_blocks)
					report(r, blkno, off, "heap TID (%u,%u) is outside the table",
						   ItemPointerGetBlockNumberNoCheck(&tid),
						   ItemPointerGetOffsetNumberNoCheck(&tid));
				else
					c.indexed.visit(heaptid_key(tid));
			}
			if (s.external)
			{
				/* a free element keeps its chunks for the slot's reuse */
				pg::guarded([&] { c.chains.push_back({ref_of(blkno, off), *element_chunk(e)}); });
				continue;
			}
			if (s.quantized())
			{
				if (!core::sq8_header_sound(*element_code(e)))
					report(r, blkno, off, "vector code has a damaged header");
				continue;
			}
			if (!values_finite(s, e->vector))
				report(r, blkno, off, "vector holds a non-finite value");
		}
		UnlockReleaseBuffer(buf);
	}
}

/* Each out-of-line element's chunks: a sound chain of the vector's floats,
 * finite, sharing no chunk with another chain. */
void
check_chains(Relation index, const Shape &s, Report &r, Checking &c)
{
	if (!s.external)
		return;
	pg::guarded([&] { c.vector.resize(s.dims); });
	for (const auto &[ref, first] : c.chains)
	{
		ItemPointerData where;
		const char *problem = walk_vector(index, s, first, c.vector.data(), &where, &c.chunks);
		if (problem != nullptr)
		{
			report(r, ref_block(ref), ref_offset(ref), "vector chunk at (%u,%u): %s",
				   ItemPointerGetBlockNumberNoCheck(&where),
				   ItemPointerGetOffsetNumberNoCheck(&where), problem);
			continue;
		}
		if (!values_finite(s, c.vector.data()))
			report(r, ref_block(ref), ref_offset(ref), "vector holds a non-finite value");
	}
}

void
check_links_and_reach(Relation index, const Shape &s, const Entry &entry, Report &r, Checking &c)
{
	if (entry.level < 0)
	{
		for (const auto &[ref, info] : c.elements)
			if (!(info.flags & (element_free | element_deleted)) && ref != entry.merging)
			{
				report(r, ref_block(ref), ref_offset(ref),
					   "live element, but the meta page says the graph is empty");
				break;
			}
		return;
	}
	auto found = c.elements.find(entry.ref);
	if (found == c.elements.end() || (found->second.flags & element_free) ||
		found->second.level != entry.level)
	{
		report(r, ref_block(entry.ref), ref_offset(entry.ref),
			   "entry point is not an element of level %d", entry.level);
		return;
	}

	c.reached.visit(entry.ref);
	c.queue.push_back(entry.ref);
	while (!c.queue.empty())
	{
		CHECK_FOR_INTERRUPTS();
		uint64 ref = c.queue.front();
		c.queue.pop_front();
		Buffer buf = ReadBuffer(index, ref_block(ref));
		LockBuffer(buf, BUFFER_LOCK_SHARE);
		ElementTuple *e = element_at(BufferGetPage(buf), ref_offset(ref), s);
		for (int l = 0; e != nullptr && l <= e->level; l++)
		{
			const ItemPointerData *links = element_links(e, s, l);
			for (int i = 0; i < core::hnsw::max_links(s.m, l) && ItemPointerIsValid(&links[i]); i++)
			{
				uint64 to = ref_of(links[i]);
				auto target = c.elements.find(to);
				if (target == c.elements.end())
					report(r, ref_block(ref), ref_offset(ref),
						   "level %d links to (%u,%u), which is not an element", l, ref_block(to),
						   ref_offset(to));
				else if (target->second.flags & element_free)
					report(r, ref_block(ref), ref_offset(ref),
						   "level %d links to (%u,%u), which was freed", l, ref_block(to),
						   ref_offset(to));
				else if (to == ref)
					report(r, ref_block(ref), ref_offset(ref), "level %d links to itself", l);
				else if (target->second.level < l)
					report(r, ref_block(ref), ref_offset(ref),
						   "level %d links to (%u,%u), whose level is %d", l, ref_block(to),
						   ref_offset(to), target->second.level);
				else if (l == 0 && c.reached.visit(to))
					c.queue.push_back(to); /* searches end on the base level */
			}
		}
		UnlockReleaseBuffer(buf);
	}

	for (const auto &[ref, info] : c.elements)
		/* the element a merge was linking when it stopped: scans read
		 * it as a hot row until the next merge links it */
		if (!(info.flags & (element_free | element_deleted)) && !c.reached.contains(ref) &&
			ref != entry.merging)
			report(r, ref_block(ref), ref_offset(ref),
				   "live element is unreachable from the entry point on the base level");
}

} // namespace

void
check_index(Relation heap, Relation index, pg::CheckReport &r)
{
	Shape s;
	Entry entry;
	if (!check_meta(index, r, &s, &entry))
		return;
	Checking *c = pg::make_owned<Checking>();
	BlockNumber heap_blocks = RelationGetNumberOfBlocks(heap);
	/* no row moves from the tier to the graph while both are read */
	tier::Tier t = tier_of(index, s);
	tier::lock_merges(t);
	pg::guarded([&] { check_pages(index, heap_blocks, s, r, *c); });
	check_chains(index, s, r, *c);
	pg::guarded([&] { check_links_and_reach(index, s, entry, r, *c); });
	tier::check(t, r, c->indexed);
	tier::unlock_merges(t);
	check_heap_rows(heap, index, s.metric, s.input_dims, c->indexed, r);
}

} // namespace vecdb::hnsw

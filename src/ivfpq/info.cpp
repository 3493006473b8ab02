/*
 * info.cpp: what an ivfpq index's lists hold, for a user deciding whether
 * to re-train it (REINDEX): vecdb_ivfpq_lists(index), a row per list, and
 * vecdb_ivfpq_info(index), one row for the whole index.
 *
 * Lists drift out of balance as rows arrive that the centroids, trained on
 * the table as it was, do not describe well; imbalance (faiss's measure:
 * lists x sum of squared list sizes / entries^2, 1 when every list is the
 * same size) counts how many more entries a scan reads than balanced lists
 * would make it read.
 */
#include "ivfpq/ivfpq.h"
#include "pg/index_access.h"

extern "C" {
#include "access/table.h"
#include "funcapi.h"
#include "utils/tuplestore.h"
}

namespace vecdb::ivfpq {

namespace {

struct ListCount
{
	int64 entries;
	int32 pages;
};

/* Who may read an index's shape: see pg::IndexAccess::read_pages. */
pg::OpenedIndex
open_ivfpq(Oid oid)
{
	pg::OpenedIndex opened = pg::open_index(oid, pg::IndexAccess::read_pages, AccessShareLock);
	if (opened.index->rd_indam->ambuild != build)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not an ivfpq index", RelationGetRelationName(opened.index))));
	return opened;
}

/* Entries and pages of every list, from the directory and the chains. */
ListCount *
count_lists(Relation index, const MetaPage &meta, const Shape &s)
{
	auto *counts = static_cast<ListCount *>(palloc0(sizeof(ListCount) * s.lists));
	const Size size = s.entry_size();
	for (int list = 0; list < s.lists; list++)
		for_each_list_page(index, meta.directory_blkno, list, BUFFER_LOCK_SHARE,
						   [&](Buffer, Page page) {
							   counts[list].entries += entry_count(page, size);
							   counts[list].pages++;
						   });
	return counts;
}

} // namespace

} // namespace vecdb::ivfpq

using namespace vecdb::ivfpq;

/* EXECUTE is PUBLIC: pg::open_index() admits readers of the table only. */
VECDB_FUNCTION(vecdb_ivfpq_lists)
{
	InitMaterializedSRF(fcinfo, 0);
	auto *rsinfo = reinterpret_cast<ReturnSetInfo *>(fcinfo->resultinfo);
	vecdb::pg::OpenedIndex opened = open_ivfpq(PG_GETARG_OID(0));
	Relation index = opened.index;
	MetaPage meta = read_meta(index);
	Shape s = shape_of(index, meta);
	ListCount *counts = count_lists(index, meta, s);
	for (int list = 0; list < s.lists; list++)
	{
		Datum values[3] = {Int32GetDatum(list), Int64GetDatum(counts[list].entries),
						   Int32GetDatum(counts[list].pages)};
		bool nulls[3] = {false, false, false};
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	vecdb::pg::close_index(opened);
	return static_cast<Datum>(0);
}

VECDB_FUNCTION(vecdb_ivfpq_info)
{
	TupleDesc desc;
	if (get_call_result_type(fcinfo, nullptr, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "vecdb_ivfpq_info must return a record");
	vecdb::pg::OpenedIndex opened = open_ivfpq(PG_GETARG_OID(0));
	Relation index = opened.index;
	MetaPage meta = read_meta(index);
	Shape s = shape_of(index, meta);
	ListCount *counts = count_lists(index, meta, s);
	int64 entries = 0;
	int64 largest = 0;
	double squares = 0;
	for (int list = 0; list < s.lists; list++)
	{
		entries += counts[list].entries;
		largest = Max(largest, counts[list].entries);
		squares += static_cast<double>(counts[list].entries) * counts[list].entries;
	}
	vecdb::pg::close_index(opened);

	Datum values[8] = {
		Int32GetDatum(s.lists),
		Int32GetDatum(s.m),
		Int32GetDatum(code_bits),
		Int32GetDatum(s.dims),
		Int64GetDatum(entries),
		Int64GetDatum(meta.built_entries),
		Int64GetDatum(largest),
		Float8GetDatum(entries > 0 ? s.lists * squares / (static_cast<double>(entries) * entries)
								   : 0),
	};
	/* an untrained index has no sub-quantizers, nor a balance to speak of */
	bool nulls[8] = {false, !s.trained, false, false, false, false, false, entries == 0};
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(desc), values, nulls)));
}

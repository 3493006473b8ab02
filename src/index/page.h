/*
 * page.h: the page contract every vecdb index keeps, whatever its access
 * method: one special space on every page (PageOpaque), page kinds as bits
 * of its flags, and the check a reader makes before it trusts a page's
 * offsets. Page walkers (check, VACUUM) can so tell any vecdb page's kind,
 * the hot tier's pages (src/tier) included, without knowing who wrote it.
 */
#pragma once

#include "pg/pg.h"

extern "C" {
#include "storage/block.h"
#include "storage/bufpage.h"
}

#include <cstddef>

namespace vecdb::index {

/* Page special space, the same on every page of every vecdb index. */
struct PageOpaque
{
	BlockNumber next; /* the page's successor in its chain, or InvalidBlockNumber */
	uint16 flags;     /* its kind: one of the page_* bits below */
	uint16 id;        /* the access method's page id: the page's last word */
};

/* Pinned: vecdb_index_check and the corruption tests read pages by these
 * offsets. */
static_assert(offsetof(PageOpaque, next) == 0, "PageOpaque layout");
static_assert(offsetof(PageOpaque, flags) == 4, "PageOpaque layout");
static_assert(offsetof(PageOpaque, id) == 6, "PageOpaque layout");
static_assert(sizeof(PageOpaque) == 8, "PageOpaque layout");

/* Kinds every access method has: bits 0 and 8-15. Bits 1-7 are the access
 * method's own. */
constexpr uint16 page_meta = 1 << 0;
constexpr uint16 page_tier = 1 << 8; /* a hot-tier page (src/tier) */

/* The room a page has for contents. */
constexpr Size page_room = BLCKSZ - MAXALIGN(SizeOfPageHeaderData) - MAXALIGN(sizeof(PageOpaque));

inline PageOpaque *
page_opaque(Page page)
{
	return reinterpret_cast<PageOpaque *>(PageGetSpecialPointer(page));
}

inline void
init_page(Page page, uint16 flags, uint16 id)
{
	PageInit(page, BLCKSZ, sizeof(PageOpaque));
	PageOpaque *o = page_opaque(page);
	o->next = InvalidBlockNumber;
	o->flags = flags;
	o->id = id;
}

/* Initialised, its bounds in order, and our special space: a page whose
 * contents can be addressed through its header. */
inline bool
page_header_is_sound(Page page)
{
	PageHeader h = reinterpret_cast<PageHeader>(page);
	return !PageIsNew(page) && h->pd_lower >= SizeOfPageHeaderData && h->pd_lower <= h->pd_upper &&
		   h->pd_upper <= h->pd_special && h->pd_special == BLCKSZ - MAXALIGN(sizeof(PageOpaque));
}

/* A sound page of the access method whose page id is id, of kind. */
inline bool
page_is_sound(Page page, uint16 id, uint16 kind)
{
	return page_header_is_sound(page) && page_opaque(page)->id == id &&
		   (page_opaque(page)->flags & kind);
}

/* pd_lower as the end of packed contents (tier pages, ivfpq lists). */
inline char *
contents_end(Page page)
{
	return reinterpret_cast<char *>(page) + reinterpret_cast<PageHeader>(page)->pd_lower;
}

inline void
set_contents_end(Page page, const void *end)
{
	reinterpret_cast<PageHeader>(page)->pd_lower =
		static_cast<LocationIndex>(static_cast<const char *>(end) - reinterpret_cast<char *>(page));
}

} // namespace vecdb::index

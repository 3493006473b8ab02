/*
 * page.h: the check every index page reader makes before it trusts a
 * page's offsets.
 */
#pragma once

#include "pg/pg.h"

extern "C" {
#include "storage/bufpage.h"
}

namespace vecdb::pg {

/* Initialised, its bounds in order, and special_size bytes of special
 * space: a page whose contents can be addressed through its header. */
inline bool
page_header_is_sound(Page page, Size special_size)
{
	PageHeader h = reinterpret_cast<PageHeader>(page);
	return !PageIsNew(page) && h->pd_lower >= SizeOfPageHeaderData && h->pd_lower <= h->pd_upper &&
		   h->pd_upper <= h->pd_special && h->pd_special == BLCKSZ - MAXALIGN(special_size);
}

} // namespace vecdb::pg

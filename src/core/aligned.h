/*
 * aligned.h: std::vector storage that starts on a cache line.
 *
 * The column kernels (distance.h) load whole 64-byte registers from rows of
 * ld floats, ld a multiple of 16: with the array itself on a 64-byte
 * boundary, no such load straddles two cache lines.
 */
#pragma once

#include <cstddef>
#include <new>
#include <vector>

namespace vecdb::core {

template <class T> struct CacheLineAllocator
{
	using value_type = T;
	static constexpr std::align_val_t alignment{64};

	CacheLineAllocator() = default;
	template <class U> CacheLineAllocator(const CacheLineAllocator<U> &) noexcept {}

	T *allocate(std::size_t n)
	{
		return static_cast<T *>(::operator new(n * sizeof(T), alignment));
	}
	void deallocate(T *p, std::size_t) noexcept { ::operator delete(p, alignment); }

	template <class U> bool operator==(const CacheLineAllocator<U> &) const noexcept
	{
		return true;
	}
	template <class U> bool operator!=(const CacheLineAllocator<U> &) const noexcept
	{
		return false;
	}
};

using AlignedFloats = std::vector<float, CacheLineAllocator<float>>;

} // namespace vecdb::core

/*
 * visited.h: the "seen already" sets of a graph search.
 *
 * VisitedEpochs serves dense ids (the build's in-memory graph): one word per
 * element, cleared in O(1) by moving to a new epoch. VisitedHash serves
 * sparse 64-bit addresses (index pages): open addressing, linear probing,
 * grown by doubling.
 */
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

namespace vecdb::core {

class VisitedEpochs
{
public:
	explicit VisitedEpochs(std::size_t capacity = 0) : marks_(capacity, 0) {}

	void reset(std::size_t capacity)
	{
		if (marks_.size() < capacity)
			marks_.resize(capacity, 0);
		if (++epoch_ == 0)
		{
			std::fill(marks_.begin(), marks_.end(), 0);
			epoch_ = 1;
		}
	}

	/* True the first time id is seen since reset(). */
	bool visit(std::uint32_t id)
	{
		if (marks_[id] == epoch_)
			return false;
		marks_[id] = epoch_;
		return true;
	}

private:
	std::vector<std::uint32_t> marks_;
	std::uint32_t epoch_ = 0;
};

class VisitedHash
{
public:
	VisitedHash() { slots_.assign(1024, empty); }

	void clear()
	{
		if (slots_.size() > 65536)
			slots_.assign(1024, empty);
		else
			std::fill(slots_.begin(), slots_.end(), empty);
		count_ = 0;
	}

	std::size_t size() const { return count_; }

	/* True the first time key is seen since clear(). key != ~0. */
	bool visit(std::uint64_t key)
	{
		if (2 * (count_ + 1) > slots_.size())
			grow();
		std::size_t mask = slots_.size() - 1;
		for (std::size_t i = hash(key) & mask;; i = (i + 1) & mask)
		{
			if (slots_[i] == key)
				return false;
			if (slots_[i] == empty)
			{
				slots_[i] = key;
				count_++;
				return true;
			}
		}
	}

	/* Whether key was seen since clear(). */
	bool contains(std::uint64_t key) const
	{
		std::size_t mask = slots_.size() - 1;
		for (std::size_t i = hash(key) & mask;; i = (i + 1) & mask)
		{
			if (slots_[i] == key)
				return true;
			if (slots_[i] == empty)
				return false;
		}
	}

private:
	static constexpr std::uint64_t empty = ~std::uint64_t{0};

	static std::size_t hash(std::uint64_t key)
	{
		key ^= key >> 33;
		key *= 0xff51afd7ed558ccdULL;
		key ^= key >> 33;
		return static_cast<std::size_t>(key);
	}

	void grow()
	{
		std::vector<std::uint64_t> old;
		old.swap(slots_);
		slots_.assign(old.size() * 2, empty);
		count_ = 0;
		for (std::uint64_t key : old)
			if (key != empty)
				visit(key);
	}

	std::vector<std::uint64_t> slots_;
	std::size_t count_ = 0;
};

} // namespace vecdb::core

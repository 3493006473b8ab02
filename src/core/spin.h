/*
 * spin.h: the one-byte spinlocks of the build's shared graph (hnsw_graph.h),
 * and the guard that holds them.
 *
 * Several processes (parallel build participants) or threads share the
 * locks. A lock is only ever held by a guard, so that an exception
 * (bad_alloc) unwinding the holder releases it: a lock left held would make
 * every other participant spin forever. A waiter asks its StopCheck every
 * few hundred spins whether to give up, and throws Interrupted if so: a
 * backend passes one that looks at its pending cancel or termination, so
 * that a cancel stops even a participant that waits.
 *
 * Knows nothing of PostgreSQL; nothing here may ereport.
 */
#pragma once

#include <atomic>
#include <cstdint>
#include <exception>
#include <thread>

namespace vecdb::core {

/* Whether a waiter should stop waiting. It must not throw, ereport or
 * longjmp: it only looks at flags. */
using StopCheck = bool (*)();

/* What a wait throws when its StopCheck said to stop. */
class Interrupted : public std::exception
{
public:
	const char *what() const noexcept override { return "interrupted while waiting for a lock"; }
};

/* Spins between two calls of a waiter's StopCheck. */
constexpr int spins_per_check = 256;

/* Take lock, waiting as long as it takes unless stop (if any) says to give
 * up: then throws Interrupted, without the lock. */
inline void
spin_lock(std::atomic<std::uint8_t> &lock, StopCheck stop)
{
	for (int spins = 0; lock.exchange(1, std::memory_order_acquire) != 0;)
		while (lock.load(std::memory_order_relaxed) != 0)
		{
#if defined(__x86_64__) || defined(__i386__)
			__builtin_ia32_pause();
#endif
			if (++spins % 64 == 0)
				std::this_thread::yield();
			if (spins % spins_per_check == 0 && stop != nullptr && stop())
				throw Interrupted();
		}
}

/* Holds a lock from construction until release() or destruction. */
class SpinGuard
{
public:
	SpinGuard(std::atomic<std::uint8_t> &lock, StopCheck stop) : lock_(lock)
	{
		spin_lock(lock_, stop);
		held_ = true;
	}
	~SpinGuard() { release(); }
	SpinGuard(const SpinGuard &) = delete;
	SpinGuard &operator=(const SpinGuard &) = delete;

	void release()
	{
		if (held_)
			lock_.store(0, std::memory_order_release);
		held_ = false;
	}
	bool held() const { return held_; }

private:
	std::atomic<std::uint8_t> &lock_;
	bool held_ = false;
};

} // namespace vecdb::core

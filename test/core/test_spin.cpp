/*
 * test_spin.cpp: the build graph's spinlocks (core/spin.h): a guard
 * releases its lock when an exception leaves its scope, and a waiter gives
 * up when its StopCheck says so, or else waits until the lock is free.
 */
#include "core/spin.h"

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <stdexcept>
#include <thread>

namespace {

using vecdb::core::Interrupted;
using vecdb::core::SpinGuard;

std::atomic<int> stop_calls{0};

bool
always_stop()
{
	stop_calls++;
	return true;
}

bool
never_stop()
{
	stop_calls++;
	return false;
}

TEST(SpinGuard, ReleasesWhenAnExceptionLeavesItsScope)
{
	std::atomic<std::uint8_t> lock{0};
	EXPECT_THROW(
		{
			SpinGuard guard(lock, nullptr);
			EXPECT_EQ(lock.load(), 1);
			throw std::bad_alloc();
		},
		std::bad_alloc);
	EXPECT_EQ(lock.load(), 0);
	/* and the next taker gets it at once: no StopCheck call */
	stop_calls = 0;
	{
		SpinGuard guard(lock, always_stop);
		EXPECT_TRUE(guard.held());
	}
	EXPECT_EQ(stop_calls.load(), 0);
	EXPECT_EQ(lock.load(), 0);
}

TEST(SpinGuard, ReleaseIsOnceOnly)
{
	std::atomic<std::uint8_t> lock{0};
	SpinGuard guard(lock, nullptr);
	guard.release();
	EXPECT_FALSE(guard.held());
	EXPECT_EQ(lock.load(), 0);
	/* someone else takes it: the guard must not free it again */
	lock.store(1);
	guard.release();
	EXPECT_EQ(lock.load(), 1);
}

TEST(SpinGuard, WaiterGivesUpWhenToldAndLeavesTheLockToItsHolder)
{
	std::atomic<std::uint8_t> lock{0};
	SpinGuard holder(lock, nullptr);
	stop_calls = 0;
	bool threw = false;
	std::thread waiter([&] {
		try
		{
			SpinGuard guard(lock, always_stop);
		}
		catch (const Interrupted &)
		{
			threw = true;
		}
	});
	waiter.join();
	EXPECT_TRUE(threw);
	EXPECT_EQ(stop_calls.load(), 1);
	EXPECT_EQ(lock.load(), 1); /* still the holder's */
	holder.release();
	EXPECT_EQ(lock.load(), 0);
}

TEST(SpinGuard, WaiterWaitsUntilTheHolderIsDone)
{
	std::atomic<std::uint8_t> lock{0};
	std::atomic<bool> acquired{false};
	stop_calls = 0;
	auto holder = std::make_unique<SpinGuard>(lock, nullptr);
	std::thread waiter([&] {
		SpinGuard guard(lock, never_stop);
		acquired = true;
	});
	/* the waiter asks its StopCheck while it waits, and does not get in */
	while (stop_calls.load() < 3)
		std::this_thread::yield();
	EXPECT_FALSE(acquired.load());
	holder.reset();
	waiter.join();
	EXPECT_TRUE(acquired.load());
	EXPECT_EQ(lock.load(), 0);
}

} // namespace

/*
 * fuzz_check.h: how a fuzz target states an invariant. A broken one prints
 * what broke and aborts, which libFuzzer records as a crash with its input.
 */
#pragma once

#include <cstdio>
#include <cstdlib>

namespace vecdb::fuzz {

inline void
check(bool cond, const char *what)
{
	if (cond)
		return;
	std::fprintf(stderr, "fuzz target: invariant broken: %s\n", what);
	std::abort();
}

} // namespace vecdb::fuzz

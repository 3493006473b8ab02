/*
 * test/asan/init_first.c: preloaded after libasan by test/run --asan
 * (scripts/lib.sh vecdb_sanitizer_wrappers), linked with -z initfirst.
 *
 * A preloaded libasan initialises itself at its own constructor or at the
 * first malloc, whichever comes first; in postgres and psql that is a malloc
 * inside a library constructor's bindtextdomain (libgpg-error's, run before
 * libasan's), with glibc's gettext lock held. The runtime's set-up then
 * re-enters gettext, unbalances that lock, and the process hangs in the
 * next bindtextdomain. This object's constructor runs before every other
 * one and initialises the runtime while no lock is held.
 */
extern void __asan_init(void);

__attribute__((constructor)) static void
asan_init_first(void)
{
	__asan_init();
}

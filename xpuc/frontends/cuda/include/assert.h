/* xpuc stand-in for <assert.h>: a failed device assert prints where, as CUDA's does. */
#pragma once
#ifdef NDEBUG
#define assert(e) ((void)0)
#else
#define assert(e) __xpuc_assert((e), #e, __FILE__, __LINE__)
#endif

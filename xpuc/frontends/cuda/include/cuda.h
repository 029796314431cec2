/* xpuc stand-in for <cuda.h>: nothing device code needs. */
#pragma once
#ifndef NULL
#define NULL 0
#endif

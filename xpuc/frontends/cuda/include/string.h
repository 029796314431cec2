/* xpuc stand-in for <string.h>: nothing device code needs. */
#pragma once
#ifndef NULL
#define NULL 0
#endif

/* xpuc stand-in for <stdlib.h>: nothing device code needs. */
#pragma once
#ifndef NULL
#define NULL 0
#endif

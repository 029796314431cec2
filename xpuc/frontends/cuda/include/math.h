/* xpuc stand-in for <math.h>: nothing device code needs. */
#pragma once

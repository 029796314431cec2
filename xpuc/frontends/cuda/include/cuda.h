/* xpuc stand-in for <cuda.h>: nothing device code needs. */
#pragma once

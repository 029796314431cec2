/* xpuc stand-in for <stdint.h>: nothing device code needs. */
#pragma once

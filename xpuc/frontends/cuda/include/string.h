/* xpuc stand-in for <string.h>: nothing device code needs. */
#pragma once

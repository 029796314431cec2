/* xpuc stand-in for <assert.h>: nothing device code needs. */
#pragma once

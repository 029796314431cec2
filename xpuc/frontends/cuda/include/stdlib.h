/* xpuc stand-in for <stdlib.h>: nothing device code needs. */
#pragma once
